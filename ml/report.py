"""PNG plots for a backtest (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ml.grid import GridSpec


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _style(kind: str) -> dict[str, Any]:
    if kind == "neural":
        return {"lw": 2.4, "color": "black"}
    if kind == "hackathon":
        return {"lw": 1.2, "ls": ":"}
    return {"lw": 1.2}


def _panels(by_scale: dict[str, dict[str, Any]]) -> tuple[Any, Any, list]:
    """A figure with one panel per (scale, window) of a {scale: {window: ...}} dict:
    returns (fig, axes, [(ax, scale, window), ...])."""
    plt = _plt()
    scales = list(by_scale)
    windows = list(by_scale[scales[0]])
    fig, axes = plt.subplots(
        len(scales),
        len(windows),
        figsize=(4.2 * len(windows), 3.6 * len(scales)),
        squeeze=False,
    )
    panels = [
        (axes[i, j], s, w) for i, s in enumerate(scales) for j, w in enumerate(windows)
    ]
    return fig, axes, panels


def _save(fig: Any, path: Path, dpi: int = 90) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    _plt().close(fig)


def plot_hit_rate_curves(out: dict[str, Any], path: Path) -> None:
    curves = out["curves"]
    x = np.asarray(out["curve_fractions"]) * 100
    fig, axes, panels = _panels(curves)
    for ax, s, w in panels:
        for kind, y in curves[s][w].items():
            ax.plot(x, np.asarray(y, dtype=float) * 100, label=kind, **_style(kind))
        ax.plot(x, x, color="grey", lw=0.6, ls="--")
        ax.set_title(f"{s} cells, {w} windows")
        ax.set_xlabel("% of city area (top-ranked cells)")
        ax.set_ylabel("% of events captured")
        ax.grid(alpha=0.3)
    axes[0, -1].legend(fontsize=7, loc="lower right")
    _save(fig, path)


def plot_calibration(out: dict[str, Any], path: Path) -> None:
    cal = out["calibration"]
    fig, axes, panels = _panels(cal)
    for ax, s, w in panels:
        lo, hi = np.inf, 0.0
        for kind, c in cal[s][w].items():
            p = np.maximum(np.asarray(c["mean_pred"]), 1e-5)
            o = np.maximum(np.asarray(c["mean_obs"]), 1e-5)
            ax.plot(p, o, marker="o", ms=3, label=kind, **_style(kind))
            lo, hi = min(lo, p.min(), o.min()), max(hi, p.max(), o.max())
        ax.plot([lo, hi], [lo, hi], color="grey", lw=0.6, ls="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{s}, {w}: deciles of forecast")
        ax.set_xlabel("mean forecast count")
        ax.set_ylabel("mean observed count")
        ax.grid(alpha=0.3)
    axes[0, -1].legend(fontsize=7, loc="upper left")
    _save(fig, path)


def plot_example_maps(
    examples: dict[str, Any], grid: GridSpec, kinds: list[str], path: Path
) -> None:
    """Forecast of a few models for one day next to what happened (150 m cells)."""
    plt = _plt()
    from ml.timeutil import utc_s_to_local_datetime

    shown = [k for k in kinds if k in examples][:3] + ["_observed"]
    fig, axes = plt.subplots(1, len(shown), figsize=(3.3 * len(shown), 5.2))
    day = utc_s_to_local_datetime(examples["_origin_s"]).strftime("%a %Y-%m-%d")
    for ax, kind in zip(np.atleast_1d(axes), shown, strict=True):
        r = grid.to_raster(np.asarray(examples[kind], dtype=float), fill=np.nan)
        vmax = np.nanquantile(r, 0.995) if np.nanmax(r) > 0 else 1.0
        im = ax.imshow(r, origin="lower", cmap="magma", vmin=0, vmax=vmax)
        ax.set_title(
            "observed" if kind == "_observed" else f"{kind} forecast", fontsize=9
        )
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, shrink=0.6)
    fig.suptitle(
        f"24 h from {day} (local midnight), counts per 150 m cell", fontsize=10
    )
    _save(fig, path, dpi=80)


def plot_imprecise_profile(imp: dict[str, Any], path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.4))
    h = np.arange(24)
    ax.plot(
        h, imp["hour_of_day_all"], marker="o", label="all events (placeholders at 0/12)"
    )
    ax.plot(h, imp["hour_of_day_precise"], marker="o", label="precise events only")
    ax.plot(
        h, imp["hour_of_day_spread"], ls="--", label="imprecise spread over the day"
    )
    ax.set_xticks(h[::2])
    ax.set_xlabel("local hour of day")
    ax.set_ylabel("training events")
    frac = imp["fraction_imprecise"] * 100
    ax.set_title(f"Event hour profile; {frac:.1f}% of events have placeholder times")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    _save(fig, path)


def write_plots(
    out: dict[str, Any], examples: dict[str, Any], grid: GridSpec, folder: Path
) -> list[Path]:
    folder = Path(folder)
    paths = [
        folder / "hit_rate_curves.png",
        folder / "calibration.png",
        folder / "example_forecast_map.png",
        folder / "event_hour_profile.png",
    ]
    plot_hit_rate_curves(out, paths[0])
    plot_calibration(out, paths[1])
    ref = out.get("reference")
    order = [ref] + [k for k in ("seasonal_smooth", "kde") if k != ref]
    plot_example_maps(examples, grid, [k for k in order if k], paths[2])
    plot_imprecise_profile(out["imprecise"], paths[3])
    return paths


def _ci(v: dict[str, float], fmt: str) -> str:
    return f"{fmt.format(v['mean'])} [{fmt.format(v['lo'])}, {fmt.format(v['hi'])}]"


def headline_markdown(out: dict[str, Any]) -> str:
    """Tables for docs/backtest.md: every model's means [95% CI], then the reference
    model minus each other model (paired, whole weeks resampled)."""
    lines: list[str] = []
    ref = out.get("reference")
    cols = [
        ("pai_1", "PAI@1%", "{:.2f}"),
        ("pai_5", "PAI@5%", "{:.2f}"),
        ("hit_1", "hit@1%", "{:.3f}"),
        ("hit_5", "hit@5%", "{:.3f}"),
        ("pei_5", "PEI@5%", "{:.3f}"),
        ("deviance", "deviance/cell-h", "{:.5f}"),
    ]
    for scale, by_w in out["summary"].items():
        for w, by_kind in by_w.items():
            lines.append(f"\n### {scale} cells, {w} windows\n")
            lines.append("| model | " + " | ".join(c[1] for c in cols) + " |")
            lines.append("|---" * (len(cols) + 1) + "|")
            for kind, m in by_kind.items():
                name = f"**{kind}**" if kind == ref else kind
                cells = [_ci(m[k], f) for k, _, f in cols]
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
            paired = out.get("paired", {}).get(scale, {}).get(w, {})
            if paired:
                lines.append(
                    f"\n{ref} minus baseline (paired bootstrap 95% CI; relative change "
                    "in brackets):\n"
                )
                lines.append("| vs | ΔPAI@1% | ΔPAI@5% | Δdeviance |")
                lines.append("|---|---|---|---|")
                for kind, d in paired.items():
                    cells = []
                    for k, f in (
                        ("pai_1", "{:+.2f}"),
                        ("pai_5", "{:+.2f}"),
                        ("deviance", "{:+.5f}"),
                    ):
                        v = d[k]
                        cells.append(
                            f"{f.format(v['diff'])} [{f.format(v['lo'])}, "
                            f"{f.format(v['hi'])}] ({v['rel'] * 100:+.1f}%)"
                        )
                    lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
