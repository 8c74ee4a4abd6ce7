"""The original hackathon network, reproduced faithfully as the floor.

It regressed one (lat, lon) point from (month, day, hour, minute): Linear 4-8, ReLU,
8-8, ReLU, 8-2 onto (lat - 47.6, lon + 122.3), MSE loss, Adam lr 3e-5, batch 64,
4 epochs, raw (unscaled) inputs. Its "map" for an hour is its 60 per-minute points
dropped on the grid, each carrying 1/60 of the training period's mean hourly count
(split by category share) so that it becomes an intensity comparable with the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ml.counts import channel_of
from ml.device import set_seed
from ml.events import Events, lonlat_to_utm, utm_to_lonlat
from ml.forecasters import BaseForecaster, register
from ml.grid import GridSpec
from ml.timeutil import DAY, HOUR, to_local_naive

LAT0, LON0 = 47.6, -122.3


def build_network() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2)
    )


def time_inputs(t_s: np.ndarray) -> np.ndarray:
    """(n, 4) float32 local (month, day, hour, minute), unscaled as in the original."""
    local = to_local_naive(np.asarray(t_s, dtype=np.int64))
    d = (local // DAY).astype("datetime64[D]")
    month = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    hour = (local % DAY) // HOUR
    minute = (local % HOUR) // 60
    return np.stack([month, day, hour, minute], axis=1).astype(np.float32)


@dataclass
class HackathonConfig:
    lr: float = 3e-5
    batch_size: int = 64
    epochs: int = 4
    seed: int = 0
    threads: int = 1  # a tiny network: more threads only add overhead


@register("hackathon")
class Hackathon(BaseForecaster):
    Config = HackathonConfig

    def __init__(self, **config) -> None:
        super().__init__(**config)
        self.net = build_network()

    def _fit(self, events, grid, until_s, progress) -> None:
        cfg = self.config
        # Seeded, without switching torch to deterministic kernels (as the original).
        set_seed(cfg.seed, deterministic=False)
        prev_threads = torch.get_num_threads()
        torch.set_num_threads(cfg.threads)
        ch = channel_of(events.category)
        ok = (ch >= 0) & (grid.index_of(events.x, events.y) >= 0)
        # Placeholder-time events are left out: their hour is not a real time.
        train = events.select(ok & ~events.imprecise)
        lon, lat = utm_to_lonlat(train.x, train.y)
        x = torch.from_numpy(time_inputs(train.event_time))
        y = torch.from_numpy(np.stack([lat - LAT0, lon - LON0], 1).astype(np.float32))
        self.net = build_network()
        opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        loss_fn = nn.MSELoss()
        gen = torch.Generator().manual_seed(cfg.seed)
        n = len(x)
        losses = []
        try:
            for epoch in range(cfg.epochs):
                perm = torch.randperm(n, generator=gen)
                total = 0.0
                for i in range(0, n, cfg.batch_size):
                    idx = perm[i : i + cfg.batch_size]
                    opt.zero_grad()
                    loss = loss_fn(self.net(x[idx]), y[idx])
                    loss.backward()
                    opt.step()
                    total += loss.item() * len(idx)
                losses.append(total / max(n, 1))
                if progress is not None:
                    progress(
                        (epoch + 1) / cfg.epochs,
                        f"epoch {epoch + 1}/{cfg.epochs} loss {losses[-1]:.6g}",
                    )
        finally:
            torch.set_num_threads(prev_threads)
        # Intensity scale: mean hourly count per channel over the training period.
        all_ok = events.select(ok)
        t0 = int(all_ok.report_time.min()) if len(all_ok) else until_s - HOUR
        hours = max((until_s - t0) / HOUR, 1.0)
        per_ch = np.bincount(channel_of(all_ok.category), minlength=2)[:2] / hours
        self.state = {
            "mean_hourly": per_ch.astype(np.float64),
            **{
                f"net.{k}": v.detach().numpy().copy()
                for k, v in self.net.state_dict().items()
            },
        }
        self.metrics["train_mse"] = losses

    def points(self, origin_s: int, hours: int) -> tuple[np.ndarray, np.ndarray]:
        """Predicted (x, y) EPSG:32610 of each minute: arrays (hours, 60)."""
        t = int(origin_s) + 60 * np.arange(hours * 60, dtype=np.int64)
        with torch.no_grad():
            out = self.net(torch.from_numpy(time_inputs(t))).numpy().astype(np.float64)
        x, y = lonlat_to_utm(out[:, 1] + LON0, out[:, 0] + LAT0)
        return x.reshape(hours, 60), y.reshape(hours, 60)

    def predict(self, events: Events, origin_s: int, hours: int) -> np.ndarray:
        # Uses no recent events at all, only the clock: trivially leak-free.
        x, y = self.points(origin_s, hours)
        cell = _nearest_cell(self.grid, x.ravel(), y.ravel()).reshape(hours, 60)
        out = np.zeros((hours, self.grid.n_cells, 2), dtype=np.float32)
        mass = (self.state["mean_hourly"] / 60.0).astype(np.float32)
        h = np.repeat(np.arange(hours), 60)
        for c in range(2):
            np.add.at(out[:, :, c], (h, cell.ravel()), mass[c])
        return out

    @classmethod
    def from_checkpoint(cls, ckpt):
        obj = super().from_checkpoint(ckpt)
        sd = {
            k[4:]: torch.from_numpy(np.asarray(v))
            for k, v in obj.state.items()
            if k.startswith("net.")
        }
        obj.net.load_state_dict(sd)
        return obj


def _nearest_cell(grid: GridSpec, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Grid position of each point's cell; points off the grid go to the nearest cell
    (the net regresses towards the city centre, but nothing forces it inside)."""
    idx = grid.index_of(x, y)
    off = np.flatnonzero(idx < 0)
    if len(off):
        cx, cy = grid.centers()
        d2 = (x[off, None] - cx[None]) ** 2 + (y[off, None] - cy[None]) ** 2
        idx[off] = np.argmin(d2, axis=1)
    return idx
