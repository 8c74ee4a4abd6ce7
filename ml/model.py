"""The neural intensity model: log-linear Poisson rates with a convolutional correction.

For forecast hour h, cell c and channel k (0 PERSON, 1 PROPERTY):

    log mu[h, c, k] = log base[c, k]                 smoothed 1-year cell rate (the
                                                     "long-run counts" baseline)
                    + g[c, k]                        conv-net correction (recent maps)
                    + sum_m L[lead_h, m, k] R[c, m, k]   recency terms fading with lead
                    + T[h, k]                        city hour-of-week, month, holiday
                    + sum_j U[c, j, k] V[how_h, j, k]    low-rank cell x hour-of-week
                    + a_k . lp[c, bin_h, k]          cell's own hour-of-day profile
                                                     (weekdays / weekends)

Starting from baselines and learning corrections is deliberate: with zero-initialised
heads the untrained model *is* a seasonal baseline (cell rate x citywide profile x cell
hour-of-day profile), so training only moves it where the likelihood says so. The
factorisation keeps a 168-hour, 10k-cell forecast one batched matmul plus a gather.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ml.features import N_GROUPS, N_HOLIDAYS, N_PROFILE_BINS, N_TARGETS

RATE_FLOOR = 1e-5  # events per cell-hour (~0.09 a year): keeps log finite off-hotspot


@dataclass
class ModelArgs:
    n_cells: int
    height: int  # raster rows of the grid's bounding box
    width: int  # raster cols
    n_windows: int  # trailing windows of the rate maps
    base_window: int  # index of the window that gives the long-run base rate
    hidden: int = 24
    rank: int = 4  # rank of the cell x hour-of-week interaction
    n_recency: int = 2  # recency terms whose weight depends on lead time
    # Coarser views of the rate maps: block means over 2x2, 4x4, 8x8 cells (300, 600,
    # 1200 m at 150 m cells, the project's history scales), lightly smoothed.
    pool_factors: tuple[int, ...] = (2, 4, 8)
    profile_sigma: float = 1.0  # cells; Gaussian smoothing of hour-of-day profiles
    base_own: float = 0.75  # base rate = base_own x own cell + rest x 300 m block
    profile_prior: float = 24.0  # pseudo-counts pulling a cell's profile to the city's
    max_lead: int = 168
    n_groups: int = N_GROUPS  # rate-map groups (3 + FeatureConfig.extra_groups)
    # Self-excitation term (ml/excitation.py): decay time of each kernel, in hours;
    # empty = no term.
    excite_taus_h: tuple[float, ...] = ()
    nb: bool = False  # negative-binomial head: a per-cell dispersion

    def to_dict(self) -> dict:
        d = asdict(self)
        d["pool_factors"] = list(self.pool_factors)
        d["excite_taus_h"] = list(self.excite_taus_h)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelArgs:
        d = dict(d)
        d["pool_factors"] = tuple(d["pool_factors"])
        d["excite_taus_h"] = tuple(d.get("excite_taus_h", ()))
        return cls(**d)


def _gauss_kernel(sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


class IntensityNet(nn.Module):
    def __init__(self, args: ModelArgs, pixel_index: torch.Tensor):
        super().__init__()
        self.args = args
        a = args
        # Flat raster position of each cell (row * width + col); grid-specific, so it
        # travels in the state dict with the weights.
        self.register_buffer("pixel_index", pixel_index.long().clone())
        mask = torch.zeros(a.height * a.width)
        mask[self.pixel_index] = 1.0
        self.register_buffer("mask", mask.view(1, 1, a.height, a.width))
        self.register_buffer("kernel", _gauss_kernel(a.profile_sigma), persistent=False)
        self.register_buffer(
            "blur_norm",
            self.mask / self._sep_blur(self.mask).clamp_min(1e-3),
            persistent=False,
        )
        for f in a.pool_factors:
            norm = self._pyramid(self.mask, f).clamp_min(1e-3)
            self.register_buffer(f"pool_norm{f}", self.mask / norm, persistent=False)
        n_in = a.n_windows * a.n_groups * (1 + len(a.pool_factors))
        # Neighbourhood model: fixed multi-scale blurs (cheap, wide) feed a small U-Net:
        # learned 3x3 convs (plain, then dilated) on a 2x-pooled raster, upsampled and
        # joined with the full-resolution features. Pooling keeps a CPU epoch short.
        self.reduce = nn.Linear(n_in, a.hidden)  # per cell: a 1x1 conv on cells only
        self.conv1 = nn.Conv2d(a.hidden, a.hidden, 3, padding=1)
        self.conv2 = nn.Conv2d(a.hidden, a.hidden, 3, padding=2, dilation=2)
        self.mix = nn.Linear(2 * a.hidden + n_in, a.hidden)
        n_out = N_TARGETS * (1 + a.n_recency + a.rank + a.nb)
        self.head = nn.Linear(a.hidden, n_out)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        # Citywide calendar effects (log scale, per channel).
        self.bias = nn.Parameter(torch.zeros(N_TARGETS))
        self.how = nn.Embedding(168, N_TARGETS)
        self.month = nn.Embedding(12, N_TARGETS)
        self.holiday = nn.Embedding(N_HOLIDAYS, N_TARGETS)
        self.holiday_hod = nn.Embedding(24, N_TARGETS)
        for emb in (self.how, self.month, self.holiday, self.holiday_hod):
            nn.init.zeros_(emb.weight)
        # Lead-time weights of the recency terms: start as "constant" and "fading over a
        # day" so that the zero-initialised R gets a gradient.
        lead = torch.arange(a.max_lead, dtype=torch.float32)
        init = torch.stack([torch.exp(-lead / 24.0 * m) for m in range(a.n_recency)], 1)
        self.lead = nn.Parameter(init[:, :, None].repeat(1, 1, N_TARGETS).contiguous())
        self.inter_v = nn.Parameter(0.1 * torch.randn(168, a.rank, N_TARGETS))
        # Weights of the cell's own hour-of-day profile, raw and smoothed.
        self.profile_w = nn.Parameter(torch.full((2, N_TARGETS), 0.5))
        if a.excite_taus_h:
            # log weight of each triggering kernel; set by EM before training.
            n_k = len(a.excite_taus_h)
            self.excite_log_w = nn.Parameter(torch.full((n_k, N_TARGETS), -7.0))
            self.register_buffer(
                "excite_tau", torch.tensor(a.excite_taus_h, dtype=torch.float32)
            )
        if a.nb:
            # Dispersion r = exp(log_r): NB variance mu + mu^2 / r; start near Poisson.
            self.log_r0 = nn.Parameter(torch.full((N_TARGETS,), 2.0))

    # ------------------------------------------------------------------ raster helpers

    def to_raster(self, values: torch.Tensor) -> torch.Tensor:
        """(B, Ch, C) -> (B, Ch, H, W) with zeros outside the grid."""
        b, ch, _ = values.shape
        r = values.new_zeros(b, ch, self.args.height * self.args.width)
        r[:, :, self.pixel_index] = values
        return r.view(b, ch, self.args.height, self.args.width)

    def to_cells(self, raster: torch.Tensor) -> torch.Tensor:
        """(B, Ch, H, W) -> (B, C, Ch)."""
        b, ch = raster.shape[:2]
        return raster.reshape(b, ch, -1)[:, :, self.pixel_index].transpose(1, 2)

    def _sep_blur(self, x: torch.Tensor) -> torch.Tensor:
        k, ch = self.kernel, x.shape[1]
        r = k.numel() // 2
        x = F.conv2d(
            x, k.view(1, 1, 1, -1).expand(ch, 1, 1, -1), padding=(0, r), groups=ch
        )
        return F.conv2d(
            x, k.view(1, 1, -1, 1).expand(ch, 1, -1, 1), padding=(r, 0), groups=ch
        )

    def blur(self, x: torch.Tensor) -> torch.Tensor:
        """Gaussian blur renormalised by the blurred city mask, so cells at the shore
        or the city limits are not diluted by the empty pixels beyond them."""
        return self._sep_blur(x) * self.blur_norm

    def _pyramid(self, x: torch.Tensor, f: int) -> torch.Tensor:
        # Block mean, a 3x3 mean over neighbouring blocks (no hard block edges), back to
        # full resolution. Far cheaper on CPU than a wide Gaussian (depthwise convs are
        # slow in oneDNN) and the maps need no gradient through it.
        p = F.avg_pool2d(x, f, stride=f, ceil_mode=True)
        p = F.avg_pool2d(p, 3, stride=1, padding=1, count_include_pad=False)
        p = F.interpolate(p, scale_factor=f, mode="nearest")
        return p[..., : x.shape[-2], : x.shape[-1]]

    def pyramid(self, x: torch.Tensor, f: int) -> torch.Tensor:
        """Mask-normalised coarse view of ``x`` at ``f`` x ``f`` cells."""
        return self._pyramid(x, f) * getattr(self, f"pool_norm{f}")

    # ------------------------------------------------------------------------ forward

    def cell_terms(
        self, maps: torch.Tensor, lp: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Everything that depends on the origin but not on the forecast hour.

        maps: (B, n_windows * N_GROUPS, C) rates per hour; lp: (B, 2, 48, C, 2) from
        :meth:`profile_logratio`.
        """
        a = self.args
        b, _, c = maps.shape
        r = self.to_raster(maps)
        scales = [r] + [self.pyramid(r, f) for f in a.pool_factors]
        x = torch.cat(scales, 1)
        # Rates span 1e-5..1 per hour: log-transform, roughly centred.
        feat = self.to_cells((torch.log(x + 1e-4) + 6.0) * 0.5)  # (B, C, n_in)
        h1 = F.gelu(self.reduce(feat))
        low = F.avg_pool2d(self.to_raster(h1.transpose(1, 2)), 2, ceil_mode=True)
        low = F.gelu(self.conv2(F.gelu(self.conv1(low))))
        up = F.interpolate(low, scale_factor=2, mode="nearest")[
            ..., : a.height, : a.width
        ]
        z = torch.cat([h1, self.to_cells(up), feat], 2)
        out = self.head(F.gelu(self.mix(z)))  # (B, C, n_out)
        g = out[..., :N_TARGETS]
        rec = out[..., N_TARGETS : N_TARGETS * (1 + a.n_recency)]
        u = out[
            ..., N_TARGETS * (1 + a.n_recency) : N_TARGETS * (1 + a.n_recency + a.rank)
        ]
        # Base: the 1-year cell rate, partly from its 300 m neighbourhood.
        base_ch = [a.base_window * a.n_groups + k for k in range(N_TARGETS)]
        own = a.base_own
        base = self.to_cells((own * scales[0] + (1 - own) * scales[1])[:, base_ch])
        log_base = torch.log(base + RATE_FLOOR)
        terms = {
            "level": log_base + g,
            "rec": rec.reshape(b, c, a.n_recency, N_TARGETS),
            "u": u.reshape(b, c, a.rank, N_TARGETS),
            # Raw and smoothed profile log-ratios, weighted: (B, 48, C, 2).
            "prof": lp[:, 0] * self.profile_w[0] + lp[:, 1] * self.profile_w[1],
        }
        if a.nb:
            terms["log_r"] = self.log_r0 + out[..., -N_TARGETS:]  # (B, C, 2)
        return terms

    def profile_logratio(self, profile: torch.Tensor) -> torch.Tensor:
        """log(cell share of a profile bin / city share), shrunk to 0 for sparse cells;
        raw and smoothed over neighbouring cells. (B, C, 48, 2) -> (B, 2, 48, C, 2).

        Counts are first blended with the neighbouring clock hours (within weekdays or
        weekends): hourly shapes are smooth and per-cell counts are sparse.
        Parameter-free, so training computes it once per profile snapshot."""
        b, c = profile.shape[:2]
        n = profile.reshape(b, c, 2, 24, N_TARGETS)
        n = 0.5 * n + 0.25 * (n.roll(1, 3) + n.roll(-1, 3))
        raw = n.reshape(b, c, N_PROFILE_BINS * N_TARGETS).transpose(1, 2)  # (B, 96, C)
        smooth = self.to_cells(self.blur(self.to_raster(raw))).transpose(1, 2)
        out = []
        for x in (raw, smooth):
            x = x.reshape(b, N_PROFILE_BINS, N_TARGETS, c).permute(0, 1, 3, 2)
            city = x.sum(2, keepdim=True)
            share = city / city.sum(1, keepdim=True).clamp_min(1e-6)  # (B, 48, 1, 2)
            total = x.sum(1, keepdim=True)
            prior = self.args.profile_prior
            cell_share = (x + prior * share) / (total + prior)
            out.append(torch.log(cell_share + 1e-7) - torch.log(share + 1e-7))
        return torch.stack(out, 1)

    def log_rate(self, terms: dict[str, torch.Tensor], hf: dict[str, torch.Tensor]):
        """log mu (B, H, C, 2) from :meth:`cell_terms` and hour features (B, H) each:
        how, hod, month, holiday, lead.

        The level, calendar, recency and interaction terms are all "hour coefficients x
        cell coefficients", so they are one small batched matmul; the profile term is a
        gather along the hour of day. This keeps (B, H, C, 2) temporaries to a few.
        """
        a = self.args
        b, n_h = hf["how"].shape
        c = terms["level"].shape[1]
        t = (
            self.bias
            + self.how(hf["how"])
            + self.month(hf["month"])
            + self.holiday(hf["holiday"])
            + (hf["holiday"] > 0).unsqueeze(-1) * self.holiday_hod(hf["hod"])
        )  # (B, H, 2)
        lead = self.lead[hf["lead"].clamp_max(a.max_lead - 1)]  # (B, H, m, 2)
        v = self.inter_v[hf["how"]]  # (B, H, r, 2)
        ones = torch.ones_like(t)[:, :, None]
        hour_coef = torch.cat([ones, t[:, :, None], lead, v], 2)  # (B, H, F, 2)
        level = terms["level"][:, None]
        cell_coef = torch.cat(
            [
                level,
                torch.ones_like(level),
                terms["rec"].transpose(1, 2),
                terms["u"].transpose(1, 2),
            ],
            1,
        )  # (B, F, C, 2)
        n_f = hour_coef.shape[2]
        lhs = hour_coef.permute(0, 3, 1, 2).reshape(b * N_TARGETS, n_h, n_f)
        rhs = cell_coef.permute(0, 3, 1, 2).reshape(b * N_TARGETS, n_f, c)
        out = torch.bmm(lhs, rhs).view(b, N_TARGETS, n_h, c).permute(0, 2, 3, 1)
        bidx = torch.arange(b, device=out.device)[:, None]
        return out + terms["prof"][bidx, hf["pbin"]]

    def excitation(self, excite: torch.Tensor, lead: torch.Tensor) -> torch.Tensor:
        """Triggered intensity (B, H, C, 2) from excitation maps (B, J, C, 2) and
        lead hours (B, H): sum_j w[j, k] exp(-(lead + 1/2) / tau_j) E_j[c, k]."""
        decay = torch.exp(-(lead.float()[..., None] + 0.5) / self.excite_tau)
        wd = decay[..., None] * torch.exp(self.excite_log_w)  # (B, H, J, 2)
        return torch.einsum("bhjk,bjck->bhck", wd, excite.float())

    def forward_terms(
        self,
        maps: torch.Tensor,
        lp: torch.Tensor,
        hf: dict[str, torch.Tensor],
        excite: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """{"log_mu": (B, H, C, 2)} and, with the NB head, "log_r" (B, C, 2)."""
        terms = self.cell_terms(maps, lp)  # bf16 under CUDA autocast: the conv net
        # The log-intensity is assembled in fp32: bf16 keeps ~3 significant digits,
        # i.e. a few percent of noise on exp(log mu) at log mu ~ -8.
        with torch.autocast(device_type=maps.device.type, enabled=False):
            terms = {k: v.float() for k, v in terms.items()}
            log_mu = self.log_rate(terms, hf)
            if self.args.excite_taus_h:
                # Hawkes form: background x exp(net) plus the triggered intensity.
                ex = self.excitation(excite, hf["lead"])
                log_mu = torch.logaddexp(log_mu, torch.log(ex + 1e-30))
            out = {"log_mu": log_mu}
            if "log_r" in terms:
                out["log_r"] = terms["log_r"]
            return out

    def forward(
        self,
        maps: torch.Tensor,
        lp: torch.Tensor,
        hf: dict[str, torch.Tensor],
        excite: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.forward_terms(maps, lp, hf, excite)["log_mu"]


def poisson_nll(
    log_mu: torch.Tensor, idx: torch.Tensor, w: torch.Tensor
) -> torch.Tensor:
    """Poisson negative log-likelihood (without the log y! constant) of sparse targets.

    log_mu: (B, H, C, 2); idx: (m, 4) of batch, hour, cell, channel; w: (m,) counts
    (fractional for spread placeholders). Summed over cells and channels, averaged over
    batch x hours.
    """
    mu_sum = torch.exp(log_mu.float()).sum()
    hit = log_mu[idx[:, 0], idx[:, 1], idx[:, 2], idx[:, 3]].float()
    b, h = log_mu.shape[:2]
    return (mu_sum - (w * hit).sum()) / (b * h)


def nb_nll(
    log_mu: torch.Tensor, log_r: torch.Tensor, idx: torch.Tensor, w: torch.Tensor
) -> torch.Tensor:
    """Negative-binomial NLL (without log y!) of sparse targets, mean mu, dispersion
    r (variance mu + mu^2 / r); log_r (B, C, 2) is shared by a cell's hours.

    Per cell-hour: r log(1 + mu/r) + y log(1 + r/mu) + lgamma(r) - lgamma(y + r); the
    first term covers every cell-hour, the rest only those with events. It tends to
    the Poisson NLL as r grows.
    """
    log_mu = log_mu.float()
    lr = log_r.float()[:, None]  # (B, 1, C, 2)
    dense = (torch.exp(lr) * F.softplus(log_mu - lr)).sum()
    b_, h_, c_, k_ = idx[:, 0], idx[:, 1], idx[:, 2], idx[:, 3]
    lm = log_mu[b_, h_, c_, k_]
    lr_e = log_r.float()[b_, c_, k_]
    r_e = torch.exp(lr_e)
    sparse = (
        w * F.softplus(lr_e - lm) + torch.lgamma(r_e) - torch.lgamma(w + r_e)
    ).sum()
    b, h = log_mu.shape[:2]
    return (dense + sparse) / (b * h)


def window_listwise(
    log_mu: torch.Tensor,
    idx: torch.Tensor,
    w: torch.Tensor,
    window_h: int = 8,
) -> torch.Tensor:
    """Listwise (ListNet top-1) loss on the ranking of cells over ``window_h``-hour
    windows: cross-entropy between where the window's events happened and the
    softmax of the forecast's log window totals (both channels), weighted by the
    window's event count and normalised like :func:`poisson_nll` (per batch x hour).

    The hourly Poisson NLL already contains a multinomial over cells for each hour;
    this adds one for the window sums that the headline metric ranks.
    """
    b, h, c, _ = log_mu.shape
    n_w = h // window_h
    lm = log_mu.float()[:, : n_w * window_h].reshape(b, n_w, window_h, c, -1)
    log_tot = torch.logsumexp(lm.permute(0, 1, 3, 2, 4).reshape(b, n_w, c, -1), -1)
    log_p = torch.log_softmax(log_tot, dim=-1)  # (B, W, C)
    keep = idx[:, 1] < n_w * window_h
    i = idx[keep]
    hit = log_p[i[:, 0], i[:, 1] // window_h, i[:, 2]]
    return -(w[keep] * hit).sum() / (b * h)
