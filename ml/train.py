"""Training loop and the ``NeuralForecaster`` (registered as kind "neural").

Training samples are forecast origins, not hours: one origin per day at a random hour,
each paired with a block of target hours at a random lead (0..6 days ahead), so one
epoch over 2012-2021 is ~3,000 small samples. Features come from events reported
before each origin (see ml/features.py); targets are every event eventually reported.
The last ``val_days`` before the fit cut-off are held out for early stopping.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ml import forecasters
from ml.device import autocast, no_grad_eval, resolve_device, set_seed, set_threads
from ml.events import Events
from ml.excitation import ExcitationMaps, KernelSet, em_weights, sample_origins
from ml.features import (
    N_GROUPS,
    N_TARGETS,
    FeatureBuilder,
    FeatureConfig,
    horizon_features,
)
from ml.forecasters import Progress, register, save_checkpoint, state_to_numpy
from ml.grid import GridSpec
from ml.model import IntensityNet, ModelArgs, nb_nll, poisson_nll, window_listwise
from ml.timeutil import DAY, HOUR

HF_KEYS = ("how", "hod", "pbin", "month", "holiday", "lead")
STACK_KEY = "_stack"  # checkpoint state entry of the stacking weights and members


@dataclass
class NeuralConfig:
    device: str = "auto"
    seed: int = 0
    threads: int = 0  # torch intra-op threads; 0 = all cores
    mixed_precision: bool = True  # bf16 autocast, CUDA only
    # model
    hidden: int = 24
    rank: int = 4
    n_recency: int = 2
    pool_factors: tuple[int, ...] = (2, 4, 8)
    base_own: float = 0.75  # weight of a cell's own 1-year rate in the base (vs 300 m)
    # features
    windows_h: tuple[int, ...] = (24, 168, 672, 2184, 8760, 26280)
    base_window_h: int = 8760
    profile_window_h: int = 3 * 8760
    # sampling
    min_history_days: int = 180  # first training origin this long after the data starts
    origin_stride_h: int = 72  # one training origin per stride, at a random hour in it
    # Target hours per origin: its first day (the 8-hour shifts that matter most) plus
    # ``sample_days - 1`` other days of the week, drawn at random, so lead-time effects
    # are learned for the whole week at a fraction of the cost of 168 hours.
    sample_days: int = 2
    horizon_days: int = 7
    val_days: int = 56
    # Events can be reported weeks late; targets end this long before the cut-off so
    # they are nearly complete when we train on them.
    target_lag_days: int = 7
    profile_snapshot_days: int = 42  # training reuses profiles computed this often
    # optimisation
    batch_size: int = 8
    lr: float = 3e-3
    weight_decay: float = 1e-5
    max_epochs: int = 6
    patience: int = 2
    max_minutes: float = 12.0  # wall-clock budget for the epoch loop
    # --- options of issue 12 (docs/model.md, "Ablation"); the defaults are the
    # model as it was.
    # Self-excitation: a Hawkes triggering term added to the intensity
    # (ml/excitation.py), weights initialised by EM on the untrained (seasonal)
    # model, then trained with the net.
    excitation: bool = False
    excite_taus_h: tuple[float, ...] = (12.0, 72.0, 336.0)
    excite_sigmas_cells: tuple[float, ...] = (0.0, 1.5)
    excite_init_origins: int = 96
    # Extra rate-map groups (ml.features.EXTRA_GROUPS): "late", "placeholder".
    extra_groups: tuple[str, ...] = ()
    loss: str = "poisson"  # or "nb": negative-binomial head
    listwise_weight: float = 0.0  # weight of the window listwise term
    listwise_window_h: int = 8
    # Stacking: after training, the forecast becomes sum_m w[band, k, m] mu_m over
    # the net and these baselines, weights per lead band (hours 0-8, 8-24, 24-168)
    # and channel, fitted by EM on the validation window.
    stack: tuple[str, ...] = ()
    stack_bands_h: tuple[int, ...] = (8, 24, 168)
    stack_stride_h: int = 25

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NeuralConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in d.items() if k in names}
        for f in dataclasses.fields(cls):
            if f.name in d and f.type.startswith("tuple"):
                d[f.name] = tuple(d[f.name])
        return cls(**d)

    def kernels(self) -> KernelSet:
        return KernelSet(tuple(self.excite_taus_h), tuple(self.excite_sigmas_cells))


def _emit(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(float(fraction), message)


@dataclass
class _Sample:
    origin: int
    leads: np.ndarray  # int64 hours after the origin whose targets are scored


@dataclass(frozen=True)
class _Windows:
    """Origins in [train_start, val_start) train; [val_start, t_end) validate."""

    train_start: int
    val_start: int
    t_end: int


@dataclass(frozen=True)
class _Best:
    """The epoch with the lowest validation loss so far, and its weights."""

    val_nll: float
    state: dict
    epoch: int


@dataclass
class _Batch:
    maps: torch.Tensor
    profile: torch.Tensor
    hf: dict[str, torch.Tensor]
    idx: torch.Tensor
    w: torch.Tensor
    excite: torch.Tensor | None = None


@dataclass
class _Run:
    """What the training loop works on."""

    fb: FeatureBuilder
    train: list[_Sample]
    val_batches: list[_Batch]
    cache: dict[int, np.ndarray]
    device: torch.device
    rng: np.random.Generator
    started: float  # perf_counter at the start of fit (the time budget's clock)
    progress: Progress | None


@register("neural")
class NeuralForecaster:
    kind = "neural"

    def __init__(self, config: NeuralConfig | dict | None = None, **overrides: Any):
        if isinstance(config, dict):
            config = NeuralConfig.from_dict(config)
        cfg = config or NeuralConfig()
        # replace() rejects unknown names (a typo is an error, not a silent default);
        # from_dict turns JSON lists back into the config's tuples.
        cfg = dataclasses.replace(cfg, **overrides) if overrides else cfg
        self.config = NeuralConfig.from_dict(dataclasses.asdict(cfg))
        self.grid: GridSpec | None = None
        self.net: IntensityNet | None = None
        self.data_window: dict[str, Any] = {}
        self.metrics: dict[str, Any] = {}
        self.history: list[dict[str, float]] = []
        self._emaps: ExcitationMaps | None = None  # training-time excitation index
        self.stack_members: list[Any] = []
        self.stack_weights: np.ndarray | None = None  # (bands, 2, 1 + members)

    # --------------------------------------------------------------------- helpers

    def _feature_config(self) -> FeatureConfig:
        c = self.config
        return FeatureConfig(
            windows_h=tuple(c.windows_h),
            profile_window_h=c.profile_window_h,
            extra_groups=tuple(c.extra_groups),
        )

    def _model_args(self, grid: GridSpec) -> ModelArgs:
        c = self.config
        _, _, n_rows, n_cols = grid.bbox
        return ModelArgs(
            n_cells=grid.n_cells,
            height=n_rows,
            width=n_cols,
            n_windows=len(c.windows_h),
            base_window=list(c.windows_h).index(c.base_window_h),
            hidden=c.hidden,
            rank=c.rank,
            n_recency=c.n_recency,
            pool_factors=tuple(c.pool_factors),
            base_own=c.base_own,
            n_groups=N_GROUPS + len(c.extra_groups),
            excite_taus_h=(
                tuple(c.kernels().kernel_taus_h.tolist()) if c.excitation else ()
            ),
            nb=c.loss == "nb",
        )

    @staticmethod
    def _pixel_index(grid: GridSpec, width: int) -> torch.Tensor:
        pr, pc = grid.raster_index()
        return torch.from_numpy(pr * width + pc)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "config": dataclasses.asdict(self.config),
            "model_args": self.net.args.to_dict() if self.net else None,
            "n_parameters": (
                sum(p.numel() for p in self.net.parameters()) if self.net else 0
            ),
            "data_window": dict(self.data_window),
            "metrics": dict(self.metrics),
        }

    # ------------------------------------------------------------------- training

    def _samples(
        self, fb: FeatureBuilder, t0: int, t1: int, rng: np.random.Generator
    ) -> list[_Sample]:
        """Origins in [t0, t1) (one per stride, random hour) whose target block ends by
        t1 and does not touch a gap in the source data."""
        c = self.config
        out = []
        stride = c.origin_stride_h * HOUR
        start = t0 - t0 % HOUR
        for s in range(start, t1, stride):
            origin = s + int(rng.integers(0, c.origin_stride_h)) * HOUR
            days = np.concatenate(
                [[0], 1 + rng.permutation(c.horizon_days - 1)[: c.sample_days - 1]]
            )
            leads = (np.sort(days)[:, None] * 24 + np.arange(24)).ravel()
            b1 = origin + c.horizon_days * DAY
            if b1 > t1 or fb.covered_fraction(origin, b1) < 1.0:
                continue
            out.append(_Sample(origin, leads.astype(np.int64)))
        return out

    def _profile_at(self, fb: FeatureBuilder, t: int, cache: dict[int, np.ndarray]):
        """Training profiles are recomputed every few weeks, not per origin: a 3-year
        profile barely moves in a month and this saves most of the feature time."""
        step = self.config.profile_snapshot_days * DAY
        snap = fb.start_s + (t - fb.start_s) // step * step
        if snap not in cache:
            cache[snap] = self._profile_lp(fb, snap).astype(np.float16)
        return cache[snap]

    def _profile_lp(self, fb: FeatureBuilder, t: int) -> np.ndarray:
        """(2, 24, C, 2) profile log-ratios as of ``t`` (no parameters involved)."""
        counts = torch.from_numpy(fb.profile_counts(t)[None])
        dev = self.net.pixel_index.device
        with torch.no_grad():
            return self.net.profile_logratio(counts.to(dev))[0].cpu().numpy()

    def _batch(
        self,
        fb: FeatureBuilder,
        samples: list[_Sample],
        cache: dict[int, np.ndarray],
        device: torch.device,
    ) -> _Batch:
        horizon = self.config.horizon_days * 24
        maps = np.stack([fb.rate_maps(s.origin) for s in samples])
        prof = np.stack([self._profile_at(fb, s.origin, cache) for s in samples])
        hfs = [horizon_features(s.origin, horizon) for s in samples]
        idx_parts, w_parts = [], []
        for i, s in enumerate(samples):
            idx, w = fb.targets(s.origin, horizon)
            pos = np.full(horizon, -1)
            pos[s.leads] = np.arange(len(s.leads))
            keep = pos[idx[:, 0]] >= 0
            idx = idx[keep]
            idx[:, 0] = pos[idx[:, 0]]
            idx_parts.append(np.concatenate([np.full((len(idx), 1), i), idx], 1))
            w_parts.append(w[keep])
        hf = {
            k: np.stack([f[k][s.leads] for f, s in zip(hfs, samples, strict=True)])
            for k in HF_KEYS
        }
        excite = None
        if self._emaps is not None:
            e = np.stack([self._emaps.at(s.origin) for s in samples])
            excite = torch.from_numpy(e).to(device)
        return _Batch(
            maps=torch.from_numpy(maps).to(device),
            profile=torch.from_numpy(prof.astype(np.float32)).to(device),
            hf={k: torch.from_numpy(v).to(device) for k, v in hf.items()},
            idx=torch.from_numpy(np.concatenate(idx_parts).astype(np.int64)).to(device),
            w=torch.from_numpy(np.concatenate(w_parts)).to(device),
            excite=excite,
        )

    def _loss(self, batch: _Batch, device: torch.device) -> torch.Tensor:
        c = self.config
        with autocast(device, c.mixed_precision):
            out = self.net.forward_terms(
                batch.maps, batch.profile, batch.hf, batch.excite
            )
        log_mu = out["log_mu"]
        if c.loss == "nb":
            loss = nb_nll(log_mu, out["log_r"], batch.idx, batch.w)
        elif c.loss == "poisson":
            loss = poisson_nll(log_mu, batch.idx, batch.w)
        else:
            raise ValueError(f"loss must be poisson or nb, not {c.loss!r}")
        if c.listwise_weight:
            loss = loss + c.listwise_weight * window_listwise(
                log_mu, batch.idx, batch.w, c.listwise_window_h
            )
        return loss

    def _init_excitation(
        self,
        fb: FeatureBuilder,
        samples: list[_Sample],
        cache: dict[int, np.ndarray],
        device: torch.device,
    ) -> None:
        """EM for the triggering weights (and a background scale) with the untrained
        net, i.e. the seasonal baseline, as the background: the Hawkes fit of
        ml/excitation.py on a spread of training origins."""
        c = self.config
        net = self.net
        pick = np.linspace(
            0, len(samples) - 1, min(c.excite_init_origins, len(samples))
        )
        chosen = [samples[int(i)] for i in np.unique(pick.round())]
        n_k = len(net.args.excite_taus_h)
        xs: list[list[np.ndarray]] = [[] for _ in range(N_TARGETS)]
        ys: list[list[np.ndarray]] = [[] for _ in range(N_TARGETS)]
        totals = np.zeros((N_TARGETS, 1 + n_k))
        bs = c.batch_size
        with no_grad_eval(net):
            for i in range(0, len(chosen), bs):
                batch = self._batch(fb, chosen[i : i + bs], cache, device)
                terms = {
                    k: v.float()
                    for k, v in net.cell_terms(batch.maps, batch.profile).items()
                }
                bg = torch.exp(net.log_rate(terms, batch.hf)).cpu().numpy()
                lead = batch.hf["lead"].cpu().numpy()
                tau = net.excite_tau.cpu().numpy()
                decay = np.exp(-(lead[..., None] + 0.5) / tau)  # (B, H, J)
                e = batch.excite.cpu().numpy()  # (B, J, C, 2)
                idx = batch.idx.cpu().numpy()
                w = batch.w.cpu().numpy()
                for k in range(N_TARGETS):
                    sel = idx[:, 3] == k
                    b_, h_, c_ = idx[sel, 0], idx[sel, 1], idx[sel, 2]
                    ex = decay[b_, h_] * e[b_, :, c_, k]
                    xs[k].append(np.concatenate([bg[b_, h_, c_, k][:, None], ex], 1))
                    ys[k].append(w[sel])
                    totals[k, 0] += bg[..., k].sum(dtype=np.float64)
                    totals[k, 1:] += np.einsum(
                        "bhj,bj->j", decay, e[..., k].sum(2, dtype=np.float64)
                    )
        theta = np.zeros((N_TARGETS, 1 + n_k))
        for k in range(N_TARGETS):
            init = np.r_[1.0, np.full(n_k, 1e-3)]
            theta[k] = em_weights(
                np.concatenate(xs[k]), np.concatenate(ys[k]), totals[k], init
            )
        with torch.no_grad():
            net.bias += torch.log(torch.tensor(theta[:, 0], dtype=torch.float32)).to(
                net.bias.device
            )
            log_w = np.log(np.maximum(theta[:, 1:].T, 1e-7))
            net.excite_log_w.copy_(torch.from_numpy(log_w.astype(np.float32)))
        self.metrics["excite_em_theta"] = theta.tolist()

    def _evaluate(self, batches: list[_Batch], device: torch.device) -> float:
        with no_grad_eval(self.net):
            losses = [float(self._loss(b, device)) for b in batches]
        return float(np.mean(losses)) if losses else float("nan")

    def fit(
        self,
        events: Events,
        grid: GridSpec,
        until_s: int,
        progress: Progress | None = None,
    ) -> NeuralForecaster:
        c = self.config
        started = time.perf_counter()
        self.metrics = {}
        set_seed(c.seed)
        threads = set_threads(c.threads)
        device = resolve_device(c.device)
        rng = np.random.default_rng(c.seed)
        until_s = int(until_s)
        known = events.reported_before(until_s)
        _emit(progress, 0.0, f"indexing {len(known)} events")
        fb = FeatureBuilder(known, grid, self._feature_config())
        self._build_net(known, grid, device)
        windows = self._windows(fb, until_s)
        train = self._samples(fb, windows.train_start, windows.val_start, rng)
        val = self._samples(
            fb, windows.val_start, windows.t_end, np.random.default_rng(c.seed + 1)
        )
        cache: dict[int, np.ndarray] = {}
        if c.excitation:
            _emit(progress, 0.01, "EM for the self-excitation weights")
            self._init_excitation(fb, train, cache, device)
        val_batches = [
            self._batch(fb, val[i : i + c.batch_size], cache, device)
            for i in range(0, len(val), c.batch_size)
        ]
        run = _Run(fb, train, val_batches, cache, device, rng, started, progress)
        best, stop_reason = self._train(run)
        self.net.load_state_dict(best.state)
        self.net.eval()
        self._emaps = None
        if c.stack:
            _emit(progress, 0.98, f"stacking with {', '.join(c.stack)}")
            self._fit_stack(known, grid, fb, until_s, windows.val_start, windows.t_end)
        elapsed = time.perf_counter() - started
        self.data_window = {
            "first_event_s": fb.start_s,
            "fit_until_s": until_s,
            "train_origins_from_s": int(windows.train_start),
            "val_from_s": int(windows.val_start),
            "val_until_s": int(windows.t_end),
            "n_events": len(known),
        }
        self.metrics.update(
            {
                "train_seconds": round(elapsed, 1),
                "device": str(device),
                "torch_threads": threads,
                "epochs": len(self.history) - 1,
                "best_epoch": best.epoch,
                "stop_reason": stop_reason,
                "n_train_origins": len(train),
                "n_val_origins": len(val),
                "val_nll_untrained": self.history[0]["val"],
                "val_nll": best.val_nll,
                "history": self.history,
            }
        )
        _emit(progress, 1.0, f"done in {elapsed:.0f}s, val NLL {best.val_nll:.4f}")
        return self

    def _build_net(self, known: Events, grid: GridSpec, device: torch.device) -> None:
        self.grid = grid
        args = self._model_args(grid)
        self.net = IntensityNet(args, self._pixel_index(grid, args.width)).to(device)
        c = self.config
        self._emaps = ExcitationMaps(known, grid, c.kernels()) if c.excitation else None

    def _windows(self, fb: FeatureBuilder, until_s: int) -> _Windows:
        """Training origins, then validation origins, ending the target lag before
        ``until_s``; ValueError when there is too little history."""
        c = self.config
        t_end = until_s - c.target_lag_days * DAY
        val_start = t_end - c.val_days * DAY
        train_start = fb.start_s + c.min_history_days * DAY
        if val_start - train_start < 14 * DAY:
            raise ValueError("not enough history before until_s to train the model")
        return _Windows(train_start, val_start, t_end)

    def _train(self, run: _Run) -> tuple[_Best, str]:
        """Epochs until max_epochs, early stopping or the time budget: the best
        epoch by validation loss (epoch 0: untrained) and why training stopped."""
        c, bs = self.config, self.config.batch_size
        opt = torch.optim.AdamW(
            self.net.parameters(), lr=c.lr, weight_decay=c.weight_decay
        )
        n_steps = c.max_epochs * ((len(run.train) + bs - 1) // bs)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=c.lr, total_steps=max(n_steps, 1), pct_start=0.1
        )
        val0 = self._evaluate(run.val_batches, run.device)
        best = _Best(val0, copy.deepcopy(self.net.state_dict()), 0)
        self.history = [{"epoch": 0, "train": float("nan"), "val": val0}]
        _emit(
            run.progress,
            0.02,
            f"{len(run.train)} training origins, val NLL {val0:.4f}",
        )
        budget_s = c.max_minutes * 60
        step, stop_reason = 0, "max_epochs"
        for epoch in range(1, c.max_epochs + 1):
            order = run.rng.permutation(len(run.train))
            losses = []
            for i in range(0, len(order), bs):
                batch = self._batch(
                    run.fb,
                    [run.train[j] for j in order[i : i + bs]],
                    run.cache,
                    run.device,
                )
                loss = self._loss(batch, run.device)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.net.parameters(), 5.0)
                opt.step()
                sched.step()
                step += 1
                losses.append(loss.item())
                if step % 20 == 0:
                    _emit(
                        run.progress,
                        0.02 + 0.96 * step / n_steps,
                        f"epoch {epoch} step {step}/{n_steps} "
                        f"loss {np.mean(losses):.4f}",
                    )
                if time.perf_counter() - run.started > budget_s:
                    break
            val_loss = self._evaluate(run.val_batches, run.device)
            self.history.append(
                {"epoch": epoch, "train": float(np.mean(losses)), "val": val_loss}
            )
            _emit(
                run.progress,
                0.02 + 0.96 * step / n_steps,
                f"epoch {epoch} val {val_loss:.4f}",
            )
            if val_loss < best.val_nll:
                best = _Best(val_loss, copy.deepcopy(self.net.state_dict()), epoch)
            elif epoch - best.epoch >= c.patience:
                stop_reason = "early_stopping"
                break
            if time.perf_counter() - run.started > budget_s:
                stop_reason = "time_budget"
                break
        return best, stop_reason

    # ------------------------------------------------------------------- stacking

    def _band_of(self, hours: int) -> np.ndarray:
        """Lead band (index into stack_bands_h) of each forecast hour."""
        edges = np.asarray(self.config.stack_bands_h)
        return np.minimum(
            np.searchsorted(edges, np.arange(hours), side="right"), len(edges) - 1
        )

    def _fit_stack(
        self,
        known: Events,
        grid: GridSpec,
        fb: FeatureBuilder,
        until_s: int,
        val_start: int,
        t_end: int,
    ) -> None:
        """Weights of the net and each baseline per lead band and channel, by EM on
        origins of the validation window (targets: everything reported by until_s)."""
        c = self.config
        horizon = c.horizon_days * 24
        self.stack_members = [
            forecasters.get(kind).fit(known, grid, until_s) for kind in c.stack
        ]
        band = self._band_of(horizon)
        n_b, n_m = len(c.stack_bands_h), 1 + len(self.stack_members)
        xs = [[[] for _ in range(N_TARGETS)] for _ in range(n_b)]
        ys = [[[] for _ in range(N_TARGETS)] for _ in range(n_b)]
        totals = np.zeros((n_b, N_TARGETS, n_m))
        origins = sample_origins(val_start, t_end - horizon * HOUR, c.stack_stride_h)
        for o in origins:
            o = int(o)
            preds = [self._predict_net(known, o, horizon)] + [
                m.predict(known, o, horizon) for m in self.stack_members
            ]
            p = np.stack(preds, -1)  # (H, C, 2, M)
            idx, w = fb.targets(o, horizon)
            for bi in range(n_b):
                totals[bi] += p[band == bi].sum((0, 1), dtype=np.float64)
                for k in range(N_TARGETS):
                    sel = (band[idx[:, 0]] == bi) & (idx[:, 2] == k)
                    xs[bi][k].append(p[idx[sel, 0], idx[sel, 1], k])
                    ys[bi][k].append(w[sel])
        weights = np.zeros((n_b, N_TARGETS, n_m))
        for bi in range(n_b):
            for k in range(N_TARGETS):
                init = np.r_[1.0, np.full(n_m - 1, 1e-2)]
                weights[bi, k] = em_weights(
                    np.concatenate(xs[bi][k]),
                    np.concatenate(ys[bi][k]),
                    totals[bi, k],
                    init,
                )
        self.stack_weights = weights
        self.metrics["stack"] = {
            "members": ["neural", *c.stack],
            "bands_h": list(c.stack_bands_h),
            "n_origins": len(origins),
            "weights": weights.tolist(),
        }

    # ------------------------------------------------------------------ prediction

    def _predict_net(self, events: Events, origin_s: int, hours: int) -> np.ndarray:
        device = next(self.net.parameters()).device
        known = events.reported_before(origin_s)
        fb = FeatureBuilder(known, self.grid, self._feature_config())
        maps = torch.from_numpy(fb.rate_maps(origin_s)[None]).to(device)
        prof = torch.from_numpy(self._profile_lp(fb, origin_s)[None]).to(device)
        hf = horizon_features(origin_s, hours)
        hf_t = {k: torch.from_numpy(hf[k][None]).to(device) for k in HF_KEYS}
        excite = None
        if self.config.excitation:
            e = ExcitationMaps(known, self.grid, self.config.kernels()).at(origin_s)
            excite = torch.from_numpy(e[None]).to(device)
        with no_grad_eval(self.net), autocast(device, self.config.mixed_precision):
            log_mu = self.net(maps, prof, hf_t, excite)
        return torch.exp(log_mu.float())[0].cpu().numpy().astype(np.float32)

    def predict(self, events: Events, origin_s: int, hours: int) -> np.ndarray:
        if self.net is None or self.grid is None:
            raise RuntimeError("fit or load the model before predict")
        origin_s = int(origin_s)
        if origin_s % HOUR:
            raise ValueError("origin_s must be hour aligned")
        if self.config.threads:
            set_threads(self.config.threads)
        mu = self._predict_net(events, origin_s, hours)
        if self.stack_weights is None:
            return mu
        w = self.stack_weights[self._band_of(hours)]  # (H, 2, M)
        out = mu * w[:, None, :, 0]
        for m, member in enumerate(self.stack_members, start=1):
            out += member.predict(events, origin_s, hours) * w[:, None, :, m]
        return out.astype(np.float32)

    # ----------------------------------------------------------------- checkpoints

    def save(self, path: str | Path) -> None:
        if self.net is None or self.grid is None:
            raise RuntimeError("fit before save")
        state: dict[str, Any] = {
            k: v.detach().cpu() for k, v in self.net.state_dict().items()
        }
        if self.stack_weights is not None:
            state[STACK_KEY] = {
                "weights": self.stack_weights,
                "members": [dict(m.state) for m in self.stack_members],
            }
        save_checkpoint(
            path,
            kind=self.kind,
            config=dataclasses.asdict(self.config),
            state=state,
            grid=self.grid,
            data_window=self.data_window,
            metrics=self.metrics,
            model_args=self.net.args.to_dict(),
        )

    @classmethod
    def from_checkpoint(cls, ckpt: dict[str, Any], device: str | None = None):
        obj = cls(NeuralConfig.from_dict(ckpt["config"]))
        obj.grid = ckpt["grid"]
        args = ModelArgs.from_dict(ckpt["model_args"])
        state = dict(ckpt["state"])
        stack = state.pop(STACK_KEY, None)
        net = IntensityNet(args, state["pixel_index"])
        net.load_state_dict(state)
        if stack is not None:
            obj.stack_weights = stack["weights"].numpy()
            for kind, member_state in zip(
                obj.config.stack, stack["members"], strict=True
            ):
                member = forecasters.get(kind)
                member.grid = obj.grid
                member.state = state_to_numpy(dict(member_state))
                obj.stack_members.append(member)
        obj.net = net.to(resolve_device(device or obj.config.device)).eval()
        obj.data_window = dict(ckpt["data_window"])
        obj.metrics = dict(ckpt["metrics"])
        obj.history = list(obj.metrics.get("history", []))
        return obj


__all__ = ["N_TARGETS", "NeuralConfig", "NeuralForecaster"]
