"""Walk-forward backtest of every forecaster: ``python -m ml.backtest``.

Each forecaster is fitted once on events reported before the first origin, then asked
for 168 hourly maps from every weekly origin (local midnight, Mondays), using only
events reported before that origin. Maps are scored on PERSON + PROPERTY events with a
location at 150 m cells and, by summing 2 x 2 blocks, at 300 m cells, over 8-hour
shifts, days and weeks.

Truth: each event at its modelling time; placeholder-time (imprecise) events are
spread evenly over the hours of their local day, because only their date is known.
Days and weeks start at local midnight, so their totals are exactly the raw counts.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ml import TARGET_CATEGORIES, forecasters
from ml.counts import build_counts, channel_of
from ml.events import Events, load_spd_csv
from ml.forecasters import Progress
from ml.grid import GridSpec
from ml.metrics import (
    CURVE_FRACTIONS,
    bootstrap_mean_ci,
    calibration,
    hit_rate,
    paired_bootstrap,
    pei,
    poisson_deviance,
    window_sums,
)
from ml.timeutil import (
    DAY,
    HOUR,
    local_hour_of_day,
    local_naive_seconds,
    local_naive_to_utc,
)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CSV = REPO.parent / "shared/data/spd/spd_crime_2012_2021.csv.gz"
DEFAULT_LIMITS = REPO.parent / "shared/data/boundaries/city_limits.geojson"
BASELINES = ("uniform", "longrun", "recent", "kde", "seasonal", "seasonal_smooth")
ALL_KINDS = (*BASELINES, "hackathon", "neural")
HEADLINE = ("pai_1", "pai_5", "hit_1", "hit_5", "pei_1", "pei_5", "deviance")


@dataclass
class BacktestConfig:
    first_origin: str = "2020-12-28"  # a Monday; 52 weeks end 2021-12-27
    n_origins: int = 52
    horizon_h: int = 168
    cell_sizes: tuple[int, ...] = (150, 300)
    windows: dict[str, int] = field(
        default_factory=lambda: {"8h": 8, "24h": 24, "7d": 168}
    )
    fractions: tuple[float, ...] = (0.01, 0.05)
    n_boot: int = 1000
    seed: int = 0


def weekly_origins(first_local_day: str, n: int) -> np.ndarray:
    """UTC instants of ``n`` consecutive local midnights, a week apart (DST-safe)."""
    d = datetime.fromisoformat(first_local_day)
    day0 = local_naive_seconds(d.year, d.month, d.day, 0, 0, 0)
    return local_naive_to_utc(day0 + 7 * DAY * np.arange(n, dtype=np.int64))


def _coarse_sum(
    values: np.ndarray, order: np.ndarray, starts: np.ndarray
) -> np.ndarray:
    """Sum (..., n_cells) into parent cells: ``order`` sorts cells by parent."""
    return np.add.reduceat(values[..., order], starts, axis=-1)


@dataclass
class _Scale:
    name: str
    grid: GridSpec
    order: np.ndarray | None = None  # None: native grid
    starts: np.ndarray | None = None

    def agg(self, v: np.ndarray) -> np.ndarray:
        return v if self.order is None else _coarse_sum(v, self.order, self.starts)


def _scales(grid: GridSpec, sizes: tuple[int, ...]) -> list[_Scale]:
    out = []
    for size in sizes:
        factor = int(round(size / grid.cell_size))
        if factor == 1:
            out.append(_Scale(f"{size}m", grid))
            continue
        coarse, parent = grid.coarsen(factor)
        order = np.argsort(parent, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(parent[order]) != 0])
        out.append(_Scale(f"{size}m", coarse, order, starts))
    return out


def score_window_block(
    pred_h: np.ndarray, obs_h: np.ndarray, window_h: int, fractions: tuple[float, ...]
) -> dict[str, np.ndarray]:
    """Per-window metrics for hourly (H, n) forecasts and observations."""
    p = window_sums(pred_h, window_h)
    o = window_sums(obs_h, window_h)
    dev = poisson_deviance(pred_h, obs_h)
    out: dict[str, np.ndarray] = {
        "deviance": window_sums(dev, window_h).mean(axis=1) / window_h,
        "curve": hit_rate(p, o, CURVE_FRACTIONS),
        "n_obs": o.sum(axis=1),
        "n_pred": p.sum(axis=1),
    }
    hr = hit_rate(p, o, fractions)
    pe = pei(p, o, fractions)
    for j, f in enumerate(fractions):
        tag = f"{round(f * 100):d}"
        out[f"hit_{tag}"] = hr[:, j]
        out[f"pai_{tag}"] = hr[:, j] / f
        out[f"pei_{tag}"] = pe[:, j]
    return out


def _scaled(progress: Progress, lo: float, hi: float, prefix: str) -> Progress:
    """A progress callback for one part of the run, mapped onto [lo, hi]."""

    def cb(fraction: float, message: str) -> None:
        progress(lo + (hi - lo) * float(fraction), prefix + message)

    return cb


def _pooled_calibration(pred: list[np.ndarray], obs: list[np.ndarray]) -> dict:
    return calibration(np.concatenate(pred), np.concatenate(obs), 10)


def run_backtest(
    events: Events,
    grid: GridSpec,
    kinds: list[str],
    cfg: BacktestConfig | None = None,
    model_config: dict[str, dict[str, Any]] | None = None,
    fitted: dict[str, Any] | None = None,
    progress: Progress | None = None,
    kind_of: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Fit (unless given in ``fitted``) and score each kind; return a JSON-able dict
    plus ``_examples`` (arrays for the report's example map, not JSON).

    ``kinds`` are labels: a label is a registered kind, or a variant whose kind is
    ``kind_of[label]`` (e.g. ``{"neural_hawkes": "neural"}``) with its own entry in
    ``model_config``, so one run can compare configurations of one forecaster.

    ``progress(fraction, message)`` covers the whole run: each kind gets an equal
    share, the first half for its fit and the second for its origins."""
    cfg = cfg or BacktestConfig()
    model_config = model_config or {}
    kind_of = kind_of or {}
    fitted = dict(fitted or {})
    emit = progress or (lambda fraction, message: None)
    origins = weekly_origins(cfg.first_origin, cfg.n_origins)
    scales = _scales(grid, cfg.cell_sizes)
    fit_until = int(origins[0])
    # Truth per origin, shared by all models: (H, n_cells) summed over both targets.
    truth = []
    for o in origins:
        c = build_counts(
            events, grid, int(o), int(o) + cfg.horizon_h * HOUR, imprecise="spread"
        )
        truth.append(c.dense().sum(axis=2))
    per_window: dict = {}
    curves: dict = {}
    calib: dict = {}
    timings: dict = {}
    examples: dict = {}
    ex_origin = len(origins) // 2
    n_kinds, n_origins = len(kinds), len(origins)
    stride = max(1, n_origins // 4)  # origin progress four times per kind
    for ki, kind in enumerate(kinds):
        share = (ki / n_kinds, (ki + 0.5) / n_kinds, (ki + 1) / n_kinds)
        t0 = time.perf_counter()
        if kind in fitted:
            model = fitted[kind]
        else:
            model = forecasters.get(
                kind_of.get(kind, kind), **model_config.get(kind, {})
            )
            fit_cb = _scaled(emit, share[0], share[1], f"{kind} fit: ")
            model.fit(events, grid, fit_until, progress=fit_cb)
        t_fit = time.perf_counter() - t0
        emit(share[1], f"{kind}: fitted in {t_fit:.1f} s")
        origins_cb = _scaled(emit, share[1], share[2], f"{kind}: ")
        acc = {s.name: {w: [] for w in cfg.windows} for s in scales}
        cal_p = {s.name: {w: [] for w in cfg.windows} for s in scales}
        cal_o = {s.name: {w: [] for w in cfg.windows} for s in scales}
        t_pred = 0.0
        for i, o in enumerate(origins):
            t1 = time.perf_counter()
            pred = model.predict(events, int(o), cfg.horizon_h)
            t_pred += time.perf_counter() - t1
            pred = np.asarray(pred, dtype=np.float64).sum(axis=2)
            if i == ex_origin:
                examples[kind] = pred[:24].sum(0).astype(np.float32)
                examples["_observed"] = truth[i][:24].sum(0).astype(np.float32)
                examples["_origin_s"] = int(o)
            for s in scales:
                ph, oh = s.agg(pred), s.agg(truth[i])
                for w, wh in cfg.windows.items():
                    m = score_window_block(ph, oh, wh, cfg.fractions)
                    m["origin"] = np.full(len(m["n_obs"]), i)
                    acc[s.name][w].append(m)
                    cal_p[s.name][w].append(
                        window_sums(ph, wh).ravel().astype(np.float32)
                    )
                    cal_o[s.name][w].append(
                        window_sums(oh, wh).ravel().astype(np.float32)
                    )
            if (i + 1) % stride == 0 or i + 1 == n_origins:
                origins_cb((i + 1) / n_origins, f"origin {i + 1}/{n_origins}")
        timings[kind] = {
            "fit_s": round(t_fit, 2),
            "predict_s_per_origin": round(t_pred / len(origins), 3),
        }
        for s in scales:
            for w in cfg.windows:
                merged = {
                    k: np.concatenate([m[k] for m in acc[s.name][w]])
                    for k in acc[s.name][w][0]
                }
                per_window.setdefault(s.name, {}).setdefault(w, {})[kind] = merged
                curves.setdefault(s.name, {}).setdefault(w, {})[kind] = np.nanmean(
                    merged["curve"], axis=0
                ).tolist()
                calib.setdefault(s.name, {}).setdefault(w, {})[kind] = (
                    _pooled_calibration(cal_p[s.name][w], cal_o[s.name][w])
                )
        if hasattr(model, "metrics") and isinstance(model.metrics, dict):
            timings[kind]["fit_metrics"] = jsonable(model.metrics)
    return {
        "per_window": per_window,
        "curves": curves,
        "calibration": calib,
        "timings": timings,
        "origins_s": [int(o) for o in origins],
        "fit_until_s": fit_until,
        "_examples": examples,
    }


def summarise(
    raw: dict[str, Any], cfg: BacktestConfig, reference: str | None = None
) -> dict[str, Any]:
    """Means with bootstrap CIs per (scale, window, kind, metric), and paired
    reference-minus-other comparisons (resampling whole weeks)."""
    summary: dict = {}
    paired: dict = {}
    for scale, by_w in raw["per_window"].items():
        for w, by_kind in by_w.items():
            for kind, m in by_kind.items():
                summary.setdefault(scale, {}).setdefault(w, {})[kind] = {
                    k: bootstrap_mean_ci(m[k], m["origin"], cfg.n_boot, cfg.seed)
                    for k in HEADLINE
                }
            if reference in by_kind:
                ref = by_kind[reference]
                for kind, m in by_kind.items():
                    if kind == reference:
                        continue
                    paired.setdefault(scale, {}).setdefault(w, {})[kind] = {
                        k: paired_bootstrap(
                            ref[k], m[k], ref["origin"], cfg.n_boot, cfg.seed
                        )
                        for k in HEADLINE
                    }
    return {"summary": summary, "paired": paired, "reference": reference}


WINDOW_ARRAYS = (*HEADLINE, "n_obs", "n_pred", "origin")


def save_windows(raw: dict[str, Any], path: str | Path) -> None:
    """Per-window scores of every model (``run_backtest``'s ``per_window``) as an npz,
    so that runs made separately (same origins) can be compared pairwise later
    (``python -m ml.ablation``)."""
    arrays = {
        f"{scale}|{w}|{kind}|{k}": np.asarray(m[k])
        for scale, by_w in raw["per_window"].items()
        for w, by_kind in by_w.items()
        for kind, m in by_kind.items()
        for k in WINDOW_ARRAYS
    }
    arrays["origins_s"] = np.asarray(raw["origins_s"], dtype=np.int64)
    np.savez_compressed(path, **arrays)


def load_windows(path: str | Path) -> dict[str, Any]:
    """{"per_window": {scale: {window: {kind: {metric: array}}}}, "origins_s": ...}"""
    out: dict[str, Any] = {"per_window": {}}
    with np.load(path) as z:
        for key in z.files:
            if key == "origins_s":
                out["origins_s"] = z[key].tolist()
                continue
            scale, w, kind, k = key.split("|")
            pw = out["per_window"].setdefault(scale, {}).setdefault(w, {})
            pw.setdefault(kind, {})[k] = z[key]
    return out


def imprecise_report(events: Events, grid: GridSpec, until_s: int) -> dict[str, Any]:
    """How many target events have placeholder times, and the hour-of-day profile
    with them, without them, and with them spread over their day (what we use)."""
    ev = events.reported_before(until_s)
    ok = (channel_of(ev.category, TARGET_CATEGORIES) >= 0) & (
        grid.index_of(ev.x, ev.y) >= 0
    )
    ev = ev.select(ok)
    hod = local_hour_of_day(ev.event_time)
    with_all = np.bincount(hod, minlength=24)
    without = np.bincount(hod[~ev.imprecise], minlength=24)
    spread = without + ev.imprecise.sum() / 24.0
    return {
        "n_events": len(ev),
        "n_imprecise": int(ev.imprecise.sum()),
        "fraction_imprecise": float(ev.imprecise.mean()) if len(ev) else 0.0,
        "hour_of_day_all": with_all.tolist(),
        "hour_of_day_precise": without.tolist(),
        "hour_of_day_spread": spread.tolist(),
        "midnight_to_1am_ratio_all": float(with_all[0] / max(with_all[1], 1)),
        "midnight_to_1am_ratio_precise": float(without[0] / max(without[1], 1)),
        "noon_to_1pm_ratio_all": float(with_all[12] / max(with_all[13], 1)),
        "noon_to_1pm_ratio_precise": float(without[12] / max(without[13], 1)),
    }


def evaluate(
    model: Any,
    events: Events,
    grid: GridSpec,
    first_origin: str,
    n_origins: int = 4,
    cell_sizes: tuple[int, ...] = (150,),
) -> dict[str, Any]:
    """A short backtest of an already fitted forecaster (for Django's train_model):
    mean metrics over ``n_origins`` weekly origins, JSON-able."""
    cfg = BacktestConfig(
        first_origin=first_origin,
        n_origins=n_origins,
        cell_sizes=cell_sizes,
        n_boot=200,
    )
    raw = run_backtest(events, grid, [model.kind], cfg, fitted={model.kind: model})
    raw.pop("_examples", None)
    s = summarise(raw, cfg)
    return jsonable(
        {"config": asdict(cfg), "summary": s["summary"], "timings": raw["timings"]}
    )


def jsonable(obj: Any, max_array_size: int | None = None) -> Any:
    """A JSON-safe copy: text keys, lists for tuples, Python values for numpy arrays
    and scalars, None for NaN and infinities. An array of more than
    ``max_array_size`` elements becomes a short "array(shape)" note."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v, max_array_size) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v, max_array_size) for v in obj]
    if isinstance(obj, np.ndarray):
        if max_array_size is not None and obj.size > max_array_size:
            return f"array{obj.shape}"
        return jsonable(obj.tolist(), max_array_size)
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def load_events(
    csv: Path, cache: Path | None, offenses: bool = False
) -> tuple[Events, dict[str, int]]:
    """Events of the SPD file, through an npz cache; with ``offenses`` they carry
    their offense groups (ml.offenses; use a separate cache file)."""
    if offenses:
        from ml.offenses import OffenseEvents, load_spd_csv_with_offenses

        cls, reader = OffenseEvents, load_spd_csv_with_offenses
    else:
        cls, reader = Events, load_spd_csv
    if cache is not None and cache.exists():
        return cls.load_npz(cache), json.loads(cache.with_suffix(".json").read_text())
    events, stats = reader(csv)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        events.save_npz(cache)
        cache.with_suffix(".json").write_text(json.dumps(stats))
    return events, stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m ml.backtest", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument(
        "--events-cache", type=Path, default=None, help="events .npz to reuse"
    )
    ap.add_argument("--city-limits", type=Path, default=DEFAULT_LIMITS)
    ap.add_argument("--out", type=Path, default=REPO / "reports/backtest")
    ap.add_argument(
        "--models",
        default="all",
        help="comma list or 'all' / 'baselines'; label=kind for a variant",
    )
    ap.add_argument("--cell-sizes", default="150,300")
    ap.add_argument("--origins", type=int, default=52)
    ap.add_argument("--first-origin", default="2020-12-28")
    ap.add_argument("--reference", default=None, help="model compared against the rest")
    ap.add_argument(
        "--model-config", default="{}", help='JSON, e.g. {"neural": {"epochs": 5}}'
    )
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument(
        "--offenses",
        action="store_true",
        help="events carry offense groups (for offense:* rate maps; own cache file)",
    )
    args = ap.parse_args(argv)

    available = forecasters.available()
    kind_of: dict[str, str] = {}
    if args.models == "all":
        kinds = [k for k in ALL_KINDS if k in available]
    elif args.models == "baselines":
        kinds = [*BASELINES, "hackathon"]
    else:
        kinds = []
        for item in args.models.split(","):
            label, _, kind = item.partition("=")
            kinds.append(label)
            if kind:
                kind_of[label] = kind
    for label in kinds:
        if kind_of.get(label, label) not in available:
            ap.error(f"unknown forecaster {label!r}; known: {', '.join(available)}")
    reference = args.reference or ("neural" if "neural" in kinds else "seasonal_smooth")
    cfg = BacktestConfig(
        first_origin=args.first_origin,
        n_origins=args.origins,
        cell_sizes=tuple(int(s) for s in args.cell_sizes.split(",")),
        n_boot=args.n_boot,
    )
    t_start = time.perf_counter()
    events, load_stats = load_events(args.csv, args.events_cache, args.offenses)
    grid = GridSpec.from_geojson(args.city_limits, float(min(cfg.cell_sizes)))
    print(
        f"{len(events):,} located events, {grid.n_cells:,} cells; "
        f"models: {', '.join(kinds)}"
    )

    def progress(fraction: float, message: str) -> None:
        t = time.perf_counter() - t_start
        print(f"  [{t:7.1f}s {fraction:6.1%}] {message}", flush=True)

    raw = run_backtest(
        events,
        grid,
        kinds,
        cfg,
        json.loads(args.model_config),
        progress=progress,
        kind_of=kind_of,
    )
    examples = raw.pop("_examples")
    args.out.mkdir(parents=True, exist_ok=True)
    save_windows(raw, args.out / "windows.npz")
    s = summarise(raw, cfg, reference)
    imp = imprecise_report(events, grid, raw["fit_until_s"])
    out = {
        "command": "python -m ml.backtest "
        + " ".join(argv if argv is not None else __import__("sys").argv[1:]),
        "config": asdict(cfg),
        "kinds": kinds,
        "kind_of": kind_of,
        "load_stats": load_stats,
        "n_cells": {sc.name: sc.grid.n_cells for sc in _scales(grid, cfg.cell_sizes)},
        "imprecise": imp,
        **s,
        "curves": raw["curves"],
        "curve_fractions": list(CURVE_FRACTIONS),
        "calibration": raw["calibration"],
        "timings": raw["timings"],
        "origins_s": raw["origins_s"],
        "fit_until_s": raw["fit_until_s"],
        "truth": (
            "PERSON+PROPERTY with location; imprecise events spread over their day"
        ),
        "elapsed_s": round(time.perf_counter() - t_start, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.json").write_text(json.dumps(jsonable(out), indent=1))
    from ml.report import headline_markdown, write_plots

    if not args.no_plots:
        write_plots(out, examples, grid, args.out)
    print(headline_markdown(out))
    print(f"wrote {args.out}/metrics.json in {out['elapsed_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
