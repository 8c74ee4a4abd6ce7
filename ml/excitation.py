"""Self-excitation (near-repeat): a Hawkes-style triggering term on top of a background.

Burglary, robbery and vehicle crime cluster in space and time for days after an event.
In a self-exciting point process the intensity of channel k (PERSON, PROPERTY) is

    mu[t, c, k] = background[t, c, k]
                + sum_i  g(t - t_i) h(c - c_i)      over past events i of channel k

with a decaying temporal kernel g and a spatial kernel h. Here g and h are mixtures of
fixed shapes (exponential decays with times ``taus_h``, own cell or Gaussian of
``sigmas_cells``), so for a forecast made at ``origin`` from events reported before it

    sum_i g(origin + lead - t_i) h(c - c_i)
        = sum_j alpha[j, k] * exp(-lead / tau_j) * E_j[c, k],
    E_j[c, k] = sum_i exp(-(origin - t_i) / tau_j) h_j(c - c_i)

``E`` (the *excitation maps*) depends on the origin only, and the forecast is linear in
the non-negative weights ``alpha`` and a background scale: the classic EM for a Hawkes
process with fixed kernel shapes is then the multiplicative update of a non-negative
Poisson regression (``em_weights``).

Two users: the stand-alone forecaster ``hawkes`` below (seasonal_smooth background, EM
on the training window) and the neural model (``NeuralConfig.excitation``), which adds
the same term to its intensity, initialised by EM and refined by gradient.

Only events *reported* before the origin enter ``E`` (tested in tests/ml).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml import TARGET_CATEGORIES, forecasters
from ml.counts import build_counts, channel_of
from ml.events import Events
from ml.forecasters import BaseForecaster, Progress, register, state_to_numpy
from ml.grid import GridSpec
from ml.timeutil import DAY, HOUR

N_CH = len(TARGET_CATEGORIES)


def gauss_matrix(n: int, sigma_cells: float) -> np.ndarray:
    """(n, n) 1-D Gaussian kernel matrix in cells, rows summing to ~1."""
    d = np.arange(n)[:, None] - np.arange(n)[None, :]
    k = np.exp(-0.5 * (d / sigma_cells) ** 2)
    return k / (np.sqrt(2 * np.pi) * sigma_cells)


@dataclass
class KernelSet:
    """The fixed temporal x spatial shapes of the triggering kernel."""

    taus_h: tuple[float, ...] = (12.0, 72.0, 336.0)
    sigmas_cells: tuple[float, ...] = (0.0, 1.5)  # 0 = own cell only
    lookback_taus: float = 5.0  # events older than this many of the longest tau drop

    @property
    def n_kernels(self) -> int:
        return len(self.taus_h) * len(self.sigmas_cells)

    @property
    def kernel_taus_h(self) -> np.ndarray:
        """tau of each kernel j (taus outer, sigmas inner), float64 (J,)."""
        return np.repeat(
            np.asarray(self.taus_h, dtype=np.float64), len(self.sigmas_cells)
        )

    def lead_decay(self, leads_h: np.ndarray) -> np.ndarray:
        """(len(leads), J): exp(-(lead + 1/2) / tau_j), the kernel at mid-hour."""
        lead = np.asarray(leads_h, dtype=np.float64)[:, None] + 0.5
        return np.exp(-lead / self.kernel_taus_h[None, :])


class ExcitationMaps:
    """Indexes target events once; ``at(origin)`` gives the (J, n_cells, 2) maps E_j
    from events reported before ``origin``."""

    def __init__(self, events: Events, grid: GridSpec, kernels: KernelSet):
        self.kernels = kernels
        self.grid = grid
        ch = channel_of(events.category)
        cell = grid.index_of(events.x, events.y)
        ok = (ch >= 0) & (cell >= 0)
        order = np.argsort(events.event_time[ok], kind="stable")
        self.t = events.event_time[ok][order]
        self.rep = events.report_time[ok][order]
        self.key = (cell[ok] * N_CH + ch[ok])[order].astype(np.int64)
        _, _, nr, nc = grid.bbox
        self._blur = {
            s: (gauss_matrix(nr, s), gauss_matrix(nc, s))
            for s in kernels.sigmas_cells
            if s > 0
        }

    def at(self, origin_s: int) -> np.ndarray:
        k = self.kernels
        n = self.grid.n_cells
        horizon = k.lookback_taus * max(k.taus_h) * HOUR
        lo = np.searchsorted(self.t, origin_s - horizon, side="left")
        hi = np.searchsorted(self.t, origin_s, side="left")
        known = self.rep[lo:hi] < origin_s
        age_h = (origin_s - self.t[lo:hi][known]) / HOUR
        key = self.key[lo:hi][known]
        out = np.zeros((k.n_kernels, n, N_CH), dtype=np.float32)
        j = 0
        for tau in k.taus_h:
            w = np.exp(-age_h / tau)
            m = np.bincount(key, weights=w, minlength=n * N_CH).reshape(n, N_CH)
            for s in k.sigmas_cells:
                out[j] = m if s <= 0 else self._smooth(m, s)
                j += 1
        return out

    def _smooth(self, m: np.ndarray, sigma: float) -> np.ndarray:
        kr, kc = self._blur[sigma]
        r = self.grid.to_raster(m.T)  # (2, nr, nc)
        return self.grid.from_raster(kr @ r @ kc.T).T


def em_weights(
    x_event: np.ndarray,
    y: np.ndarray,
    totals: np.ndarray,
    init: np.ndarray | None = None,
    iters: int = 300,
) -> np.ndarray:
    """Non-negative Poisson regression mu = x @ theta by EM (multiplicative updates).

    ``x_event`` (n, F): the features at the cell-hours with events, ``y`` (n,) their
    counts, ``totals`` (F,): each feature summed over *every* cell-hour (the
    compensator). Each step raises the likelihood; the fixed point is its maximum.
    """
    x = np.asarray(x_event, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    totals = np.maximum(np.asarray(totals, dtype=np.float64), 1e-300)
    theta = np.ones(x.shape[1]) if init is None else np.asarray(init, np.float64)
    theta = np.maximum(theta, 1e-12)
    for _ in range(iters):
        mu = np.maximum(x @ theta, 1e-300)
        theta = theta * ((y / mu) @ x) / totals
    return theta


def sample_origins(t0: int, t1: int, stride_h: int) -> np.ndarray:
    """Hour-aligned origins every ``stride_h`` hours in [t0, t1); a stride that is not
    a multiple of 24 visits every hour of the day."""
    t0 = int(t0) - int(t0) % HOUR
    return np.arange(t0, int(t1), stride_h * HOUR, dtype=np.int64)


@dataclass
class HawkesConfig:
    taus_h: tuple[float, ...] = (12.0, 72.0, 336.0)
    sigmas_cells: tuple[float, ...] = (0.0, 1.5)
    background: str = "seasonal_smooth"
    fit_days: float = 364.0  # origins for EM: this long before the targets' end
    origin_stride_h: int = 61
    horizon_h: int = 168
    target_lag_days: float = 7.0  # targets end this long before the fit cut-off
    em_iters: int = 300

    def kernels(self) -> KernelSet:
        return KernelSet(tuple(self.taus_h), tuple(self.sigmas_cells))


@register("hawkes")
class Hawkes(BaseForecaster):
    """Self-exciting point process: ``b_k`` x a background forecaster (seasonal_smooth)
    plus the triggering term, weights fitted by EM on the last year before the fit
    cut-off (origins every ``origin_stride_h`` hours, 168-hour targets)."""

    Config = HawkesConfig

    def __init__(self, **config: Any) -> None:
        for key in ("taus_h", "sigmas_cells"):
            if key in config:
                config[key] = tuple(config[key])
        super().__init__(**config)
        self.background: Any = None

    def _fit(
        self, events: Events, grid: GridSpec, until_s: int, progress: Progress | None
    ) -> None:
        c = self.config
        self.background = forecasters.get(c.background).fit(events, grid, until_s)
        maps = ExcitationMaps(events, grid, c.kernels())
        t_end = until_s - int(c.target_lag_days * DAY)
        origins = sample_origins(
            t_end - int(c.fit_days * DAY), t_end - c.horizon_h * HOUR, c.origin_stride_h
        )
        decay = c.kernels().lead_decay(np.arange(c.horizon_h))  # (H, J)
        xs: list[list[np.ndarray]] = [[] for _ in range(N_CH)]
        ys: list[list[np.ndarray]] = [[] for _ in range(N_CH)]
        totals = np.zeros((N_CH, 1 + decay.shape[1]))
        truth = build_counts(events, grid, int(origins[0]), t_end, imprecise="spread")
        for i, o in enumerate(origins):
            o = int(o)
            bg = self.background.predict(events, o, c.horizon_h)  # (H, C, 2)
            e = maps.at(o)  # (J, C, 2)
            h0 = (o - truth.start_s) // HOUR
            a, b = np.searchsorted(truth.hour, [h0, h0 + c.horizon_h])
            h = truth.hour[a:b].astype(np.int64) - h0
            cell = truth.cell[a:b].astype(np.int64)
            k = truth.channel[a:b].astype(np.int64)
            count = truth.count[a:b]
            for ch in range(N_CH):
                sel = k == ch
                hh, cc = h[sel], cell[sel]
                x = np.concatenate(
                    [bg[hh, cc, ch][:, None], decay[hh] * e[:, cc, ch].T], 1
                )
                xs[ch].append(x)
                ys[ch].append(count[sel])
                totals[ch, 0] += bg[..., ch].sum(dtype=np.float64)
                totals[ch, 1:] += decay.sum(0) * e[:, :, ch].sum(1, dtype=np.float64)
            if progress is not None and (i + 1) % 10 == 0:
                progress((i + 1) / len(origins), f"origin {i + 1}/{len(origins)}")
        theta = np.zeros((N_CH, 1 + decay.shape[1]))
        for ch in range(N_CH):
            init = np.r_[1.0, np.full(decay.shape[1], 1e-3)]
            theta[ch] = em_weights(
                np.concatenate(xs[ch]),
                np.concatenate(ys[ch]),
                totals[ch],
                init,
                c.em_iters,
            )
        self.state["theta"] = theta
        self.state["background_state"] = dict(self.background.state)
        self.metrics["n_origins"] = len(origins)
        # Share of the fitted intensity that the triggering term carries.
        self.metrics["triggered_share"] = (
            (theta[:, 1:] * totals[:, 1:]).sum(1) / (theta * totals).sum(1)
        ).tolist()
        self.metrics["theta"] = theta.tolist()

    def predict(self, events: Events, origin_s: int, hours: int) -> np.ndarray:
        c = self.config
        theta = self.state["theta"]
        bg = self.background.predict(events, origin_s, hours)
        e = ExcitationMaps(events, self.grid, c.kernels()).at(int(origin_s))
        decay = c.kernels().lead_decay(np.arange(hours))
        out = bg * theta[None, None, :, 0]
        for ch in range(N_CH):
            w = decay * theta[ch, 1:][None]  # (H, J)
            out[..., ch] += w.astype(np.float32) @ e[:, :, ch]
        return out.astype(np.float32)

    @classmethod
    def from_checkpoint(cls, ckpt: dict[str, Any]) -> Hawkes:
        obj = super().from_checkpoint(ckpt)
        bg_state = state_to_numpy(dict(obj.state["background_state"]))
        bg = forecasters.get(obj.config.background)
        bg.grid = obj.grid
        bg.state = bg_state
        obj.background = bg
        return obj

    def describe(self) -> dict[str, Any]:
        return {"config": dataclasses.asdict(self.config), "metrics": self.metrics}
