"""Forecaster protocol, registry and self-describing checkpoints.

Every forecaster (baselines in ml/baselines.py, the hackathon net in ml/hackathon.py,
the neural model in ml/train.py) implements::

    fit(events, grid, until_s, progress=None) -> self   # only events reported < until_s
        # progress: None or progress(fraction: float in [0, 1], message: str)
    predict(events, origin_s, hours) -> float32 (hours, n_cells, 2)
        # expected counts per cell-hour, channel 0 PERSON, 1 PROPERTY; only events
        # reported < origin_s may be used (origin_s is hour aligned, UTC)
    save(path); ml.forecasters.load(path)

and registers itself with ``@register("kind")`` so ``get(kind, **config)`` builds it.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import torch

# set_seed / resolve_device live in ml.device; re-exported here for existing callers.
from ml.device import resolve_device, set_seed  # noqa: F401
from ml.events import Events
from ml.grid import GridSpec

CHECKPOINT_FORMAT = 1
N_CHANNELS = 2  # PERSON, PROPERTY
# The one progress form, for every fit() in ml/: progress(fraction in [0, 1], message).
Progress = Callable[[float, str], None]

# Modules that register forecaster kinds; imported lazily by get()/load() so that
# importing ml.forecasters stays light and a missing optional module (ml.train) is not
# an error.
PLUGIN_MODULES = ("ml.baselines", "ml.hackathon", "ml.train", "ml.excitation")


@runtime_checkable
class Forecaster(Protocol):
    kind: str

    def fit(
        self,
        events: Events,
        grid: GridSpec,
        until_s: int,
        progress: Progress | None = None,
    ) -> Forecaster: ...

    def predict(self, events: Events, origin_s: int, hours: int) -> np.ndarray: ...

    def save(self, path: str | Path) -> None: ...


_REGISTRY: dict[str, type] = {}


def register(kind: str) -> Callable[[type], type]:
    """Class decorator: make ``get(kind)`` and ``load`` know this forecaster."""

    def deco(cls: type) -> type:
        cls.kind = kind
        _REGISTRY[kind] = cls
        return cls

    return deco


def _import_plugins() -> None:
    for mod in PLUGIN_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:  # a real missing dependency inside the module
                raise


def available() -> list[str]:
    _import_plugins()
    return sorted(_REGISTRY)


def get(kind: str, **config: Any) -> Forecaster:
    """Build an unfitted forecaster of ``kind`` with config overrides."""
    if kind not in _REGISTRY:
        _import_plugins()
    if kind not in _REGISTRY:
        raise KeyError(f"unknown forecaster kind {kind!r}; known: {sorted(_REGISTRY)}")
    return _REGISTRY[kind](**config)


# --- checkpoints ---------------------------------------------------------------------


def _to_tensor_tree(obj: Any) -> Any:
    # weights_only=True loading accepts tensors and plain containers, not numpy arrays.
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: _to_tensor_tree(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_to_tensor_tree(v) for v in obj)
    return obj


def save_checkpoint(
    path: str | Path,
    *,
    kind: str,
    config: dict[str, Any],
    state: dict[str, Any],
    grid: GridSpec,
    data_window: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    model_args: dict[str, Any] | None = None,
) -> None:
    """Write a self-describing checkpoint (torch.save of plain containers + tensors).

    ``state``: numpy arrays / tensors (a module's state_dict, fitted baseline arrays).
    ``data_window``: e.g. {"fit_until_s": ..., "first_event_s": ..., "n_events": ...}.
    """
    ckpt = {
        "format": CHECKPOINT_FORMAT,
        "kind": kind,
        "config": _to_tensor_tree(dict(config)),
        "model_args": _to_tensor_tree(dict(model_args or {})),
        "state": _to_tensor_tree(state),
        "grid": {
            "origin_x": float(grid.origin_x),
            "origin_y": float(grid.origin_y),
            "cell_size": float(grid.cell_size),
            "cell_ids": torch.from_numpy(grid.cell_ids.astype(np.int64)),
        },
        "data_window": _to_tensor_tree(dict(data_window or {})),
        "metrics": _to_tensor_tree(dict(metrics or {})),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint dict; ``ckpt["grid"]`` comes back as a GridSpec."""
    ckpt = torch.load(Path(path), map_location="cpu", weights_only=True)
    g = ckpt["grid"]
    ckpt["grid"] = GridSpec(
        g["origin_x"], g["origin_y"], g["cell_size"], g["cell_ids"].numpy()
    )
    return ckpt


def state_to_numpy(state: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in state.items()
    }


def load(path: str | Path) -> Forecaster:
    """Rebuild a fitted forecaster from its checkpoint (dispatch on ``kind``)."""
    ckpt = load_checkpoint(path)
    kind = ckpt["kind"]
    if kind not in _REGISTRY:
        _import_plugins()
    cls = _REGISTRY[kind]
    return cls.from_checkpoint(ckpt)


# --- a convenient base for array-state forecasters ------------------------------------


class BaseForecaster:
    """Shared plumbing: dataclass ``Config``, grid, fit window, checkpoint round trip.

    Subclasses set ``Config`` (a dataclass), implement ``_fit``/``predict`` and keep
    their fitted arrays in ``self.state`` (dict of numpy arrays) so save/load is
    automatic.
    """

    kind: ClassVar[str] = "base"
    Config: ClassVar[type] = object

    def __init__(self, **config: Any) -> None:
        self.config = self.Config(**config)
        self.grid: GridSpec | None = None
        self.state: dict[str, Any] = {}
        self.data_window: dict[str, Any] = {}
        self.metrics: dict[str, Any] = {}

    def fit(
        self,
        events: Events,
        grid: GridSpec,
        until_s: int,
        progress: Progress | None = None,
    ) -> BaseForecaster:
        self.grid = grid
        known = events.reported_before(until_s)
        self.data_window = {
            "fit_until_s": int(until_s),
            "first_event_s": int(known.event_time.min()) if len(known) else None,
            "n_events": len(known),
        }
        self._fit(known, grid, int(until_s), progress)
        return self

    def _fit(
        self, events: Events, grid: GridSpec, until_s: int, progress: Progress | None
    ) -> None:
        """Fit on events already filtered to those reported before ``until_s``."""

    def predict(self, events: Events, origin_s: int, hours: int) -> np.ndarray:
        raise NotImplementedError

    def save(self, path: str | Path) -> None:
        if self.grid is None:
            raise RuntimeError("fit before save")
        save_checkpoint(
            path,
            kind=self.kind,
            config=dataclasses.asdict(self.config),
            state=self.state,
            grid=self.grid,
            data_window=self.data_window,
            metrics=self.metrics,
        )

    @classmethod
    def from_checkpoint(cls, ckpt: dict[str, Any]) -> BaseForecaster:
        obj = cls(**ckpt["config"])
        obj.grid = ckpt["grid"]
        obj.state = state_to_numpy(ckpt["state"])
        obj.data_window = dict(ckpt["data_window"])
        obj.metrics = dict(ckpt["metrics"])
        return obj
