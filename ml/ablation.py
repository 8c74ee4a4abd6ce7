"""The ablation table: candidates from separate backtest runs, compared pairwise.

Each ``python -m ml.backtest --out DIR`` run writes ``DIR/windows.npz`` (every model's
score on every window) next to ``DIR/metrics.json``. Runs over the same origins can be
compared window by window, so the paired bootstrap (whole weeks resampled, the same
weeks for both models) works across runs::

    python -m ml.ablation var/bt/ref var/bt/hawkes ... --reference neural

prints, for every model in those runs, PAI@1% and its relative difference to the
reference (the current model) and to ``seasonal_smooth`` with 95% intervals, for 8 h,
24 h and 7 d windows, plus deviance and calibration.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from ml.backtest import load_windows
from ml.metrics import calibration_error, paired_bootstrap

WINDOWS = ("8h", "24h", "7d")


def collect(runs: list[Path], scale: str = "150m") -> dict[str, Any]:
    """Merge the runs: {"windows": {window: {label: arrays}}, "calib": {label: {w:
    error}}, "source": {label: run}, "origins_s": [...]}; the first run that has a
    label wins (baselines repeat across runs and are deterministic)."""
    merged: dict[str, Any] = {"windows": {}, "calib": {}, "source": {}}
    truth: dict[str, np.ndarray] = {}
    for run in runs:
        raw = load_windows(run / "windows.npz")
        if "origins_s" in merged and raw["origins_s"] != merged["origins_s"]:
            raise ValueError(f"{run}: different origins from {runs[0]}")
        merged["origins_s"] = raw["origins_s"]
        # Pairing needs the same truth: runs on differently parsed events are refused.
        for w, by_kind in raw["per_window"][scale].items():
            n_obs = next(iter(by_kind.values()))["n_obs"]
            if w in truth and not np.allclose(truth[w], n_obs):
                raise ValueError(f"{run}: observed counts differ from {runs[0]}")
            truth[w] = n_obs
        meta = json.loads((run / "metrics.json").read_text())
        for w, by_kind in raw["per_window"][scale].items():
            for label, arrays in by_kind.items():
                if label in merged["source"] and merged["source"][label] != run:
                    continue
                merged["windows"].setdefault(w, {})[label] = arrays
                merged["source"][label] = run
                cal = meta["calibration"][scale][w][label]
                merged["calib"].setdefault(label, {})[w] = calibration_error(cal)
    return merged


def compare(
    merged: dict[str, Any], a: str, b: str, metric: str, w: str, n_boot: int
) -> dict[str, float]:
    ma, mb = merged["windows"][w][a], merged["windows"][w][b]
    return paired_bootstrap(ma[metric], mb[metric], ma["origin"], n_boot, 0)


def _rel(d: dict[str, float], nd: int = 1) -> str:
    mark = "" if d["rel_lo"] > 0 or d["rel_hi"] < 0 else " ◦"
    rel, lo, hi = (100 * d[k] for k in ("rel", "rel_lo", "rel_hi"))
    return f"{rel:+.{nd}f}% [{lo:+.{nd}f}, {hi:+.{nd}f}]{mark}"


def ablation_markdown(
    merged: dict[str, Any],
    reference: str,
    baseline: str = "seasonal_smooth",
    labels: list[str] | None = None,
    n_boot: int = 1000,
) -> str:
    labels = labels or list(merged["source"])
    lines = [
        "PAI@1% at 150 m, mean over the weeks, and the paired relative difference "
        f"[95% interval] to `{reference}` and to `{baseline}` (◦: interval includes "
        "zero).\n",
        "| model | window | PAI@1% | vs " + reference + " | vs " + baseline + " |",
        "|---|---|---|---|---|",
    ]
    for label in labels:
        for w in WINDOWS:
            m = merged["windows"][w][label]
            vs_ref = (
                _rel(compare(merged, label, reference, "pai_1", w, n_boot))
                if label != reference
                else "(reference)"
            )
            vs_base = (
                _rel(compare(merged, label, baseline, "pai_1", w, n_boot))
                if label != baseline
                else "(baseline)"
            )
            lines.append(
                f"| {label} | {w} | {np.nanmean(m['pai_1']):.2f} | {vs_ref} | "
                f"{vs_base} |"
            )
    lines += [
        "\nDeviance per cell-hour and calibration (decile calibration error of 24 h "
        "totals, share of events; lower is better), with the paired difference to "
        f"`{reference}`:\n",
        "| model | deviance | vs " + reference + " | PAI@5% 8 h | calibration 24 h |",
        "|---|---|---|---|---|",
    ]
    for label in labels:
        m = merged["windows"]["24h"][label]
        dev = (
            _rel(compare(merged, label, reference, "deviance", "24h", n_boot), 2)
            if label != reference
            else "(reference)"
        )
        lines.append(
            f"| {label} | {np.mean(m['deviance']):.5f} | {dev} | "
            f"{np.nanmean(merged['windows']['8h'][label]['pai_5']):.2f} | "
            f"{merged['calib'][label]['24h']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ml.ablation", description=__doc__)
    ap.add_argument("runs", nargs="+", type=Path, help="backtest --out folders")
    ap.add_argument("--reference", default="neural")
    ap.add_argument("--baseline", default="seasonal_smooth")
    ap.add_argument("--labels", default=None, help="comma list, in table order")
    ap.add_argument("--scale", default="150m")
    ap.add_argument("--n-boot", type=int, default=1000)
    args = ap.parse_args(argv)
    merged = collect(args.runs, args.scale)
    labels = args.labels.split(",") if args.labels else None
    text = ablation_markdown(merged, args.reference, args.baseline, labels, args.n_boot)
    print(text)  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
