"""Celery tasks of the SPD domain. Thin: primitive arguments, re-fetch, call a service.

Both are idempotent (an import run is claimed with a conditional UPDATE; a sync
resumes from what is stored), which is what makes acks_late safe.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from core import file_store
from crimes.models import ImportRun
from crimes.services import importing, soda_sync

# An upload of the full 1.5M-row dataset takes a few minutes; an hour is generous.
IMPORT_SOFT_LIMIT_S = 3600
IMPORT_HARD_LIMIT_S = IMPORT_SOFT_LIMIT_S + 300


@shared_task(
    acks_late=True,
    soft_time_limit=IMPORT_SOFT_LIMIT_S,
    time_limit=IMPORT_HARD_LIMIT_S,
)
def import_upload(run_id: int) -> str:
    """Import the file uploaded for ImportRun `run_id` (enqueued on commit)."""
    if not importing.claim(run_id):
        return "already claimed"
    try:
        run = ImportRun.objects.get(pk=run_id)
        # The upload is in PostgreSQL (core.file_store): this worker may be on
        # another machine than the web process that received it.
        try:
            with file_store.local_copy(run.upload.name, settings.MEDIA_ROOT) as path:
                importing.run_import(run, path)
        except FileNotFoundError as exc:
            importing.give_up(run, f"cannot read the upload: {exc}")
    except importing.ImportFailed as exc:
        return f"failed: {exc}"
    finally:
        # run_import releases the run itself; this covers a failure before it (the
        # worker's connection persists, the lock must not outlive the task).
        importing.release(run_id)
    return "succeeded"


@shared_task(
    acks_late=True,
    soft_time_limit=IMPORT_SOFT_LIMIT_S,
    time_limit=IMPORT_HARD_LIMIT_S,
)
def sync_spd(since: str | None = None) -> str:
    """Fetch what SODA has after the newest stored report time (daily beat entry)."""
    run = soda_sync.sync(since=since, base_url=settings.SODA_BASE_URL)
    return f"import run {run.pk}: {run.status}"
