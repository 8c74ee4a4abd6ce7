"""Device choice, seeding and mixed precision for the neural model.

Nothing here touches CUDA at import time: Celery web/default workers import ``ml``
without a GPU, and initialising CUDA in a parent process breaks forked workers.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import numpy as np
import torch


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` -> CUDA when a GPU is usable, else CPU; any other torch device string
    is taken as given (``"cpu"``, ``"cuda"``, ``"cuda:1"``)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} requested but CUDA is not available")
    return dev


def set_seed(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and torch; optionally make torch use deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        # warn_only: a few CUDA kernels have no deterministic version; CPU ones all do.
        torch.use_deterministic_algorithms(True, warn_only=True)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def set_threads(n: int | None) -> int:
    """Cap intra-op threads (the CPU is shared); ``None`` or 0 keeps every core."""
    if n:
        torch.set_num_threads(int(n))
    return torch.get_num_threads()


def autocast(
    device: torch.device, enabled: bool = True
) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA (no loss scaling needed, unlike fp16); a no-op on CPU where
    bf16 matmuls are slower than fp32 on most hardware."""
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def no_grad_eval(module: torch.nn.Module) -> Iterator[None]:
    """Evaluate in eval mode and restore the previous mode afterwards."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        module.train(was_training)
