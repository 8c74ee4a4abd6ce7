"""Model checkpoints in PostgreSQL (core.file_store), so a trainer on one machine
gives its model to forecast workers on others.

A version's ``checkpoint`` is the name of its stored file (``models/<kind>-...pt``,
the path relative to ARTIFACTS_DIR it had when checkpoints were files there). Each
machine fetches a checkpoint once, into its own ARTIFACTS_DIR/checkpoints/, keyed by
the content's SHA-256.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from core import file_store


def cache_dir() -> Path:
    return settings.ARTIFACTS_DIR / "checkpoints"


def store(name: str, path: Path) -> None:
    """Keep the checkpoint written at ``path`` as ``name`` (inside the caller's
    transaction: the version row and its checkpoint commit together)."""
    file_store.save_path(name, path)


def local_path(version) -> Path:
    """A local file with the checkpoint of ``version`` (a ModelVersion)."""
    name = version.checkpoint
    # A checkpoint from before the store, on the machine that has it: stored now.
    legacy = settings.ARTIFACTS_DIR / name
    if not file_store.adopt(name, legacy):
        raise FileNotFoundError(
            f"checkpoint of version {version.pk} is missing: {name!r} is neither "
            f"stored in the database nor at {legacy}"
        )
    return file_store.cached_copy(name, cache_dir())
