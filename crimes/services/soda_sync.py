"""Incremental sync from the Socrata SODA API (dataset tazs-3rd5) into Incident.

It pages through records reported at or after the newest report time already stored,
in a stable order (report time, offense id), spools them to a temporary JSON file and
hands that file to the one import service (source "soda"), so validation, rejection,
idempotence and counting are exactly those of a file import.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests
from django.conf import settings
from django.db.models import Max

from core.local_time import SEATTLE
from crimes.models import ImportRun, Incident
from crimes.services import importing

log = logging.getLogger(__name__)

TRANSIENT_STATUS = {429, 500, 502, 503, 504}
MAX_BACKOFF_S = 60.0


class SyncFailed(importing.ImportFailed):
    """The API could not be read (after retries); the ImportRun says why."""


def report_time_field() -> str:
    # The 2025 republish renamed it report_date_time; the setting switches.
    return settings.SODA_REPORT_TIME_FIELD


def floating_local(moment: dt.datetime) -> str:
    """An instant as SODA's floating Seattle timestamp, 2019-01-01T00:00:00.000."""
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is required")
    return moment.astimezone(SEATTLE).strftime("%Y-%m-%dT%H:%M:%S.000")


def parse_since(value: str) -> dt.datetime:
    """ISO date or datetime; a naive one is Seattle local time (DESIGN, Time)."""
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SEATTLE)
    return moment


def resume_point() -> dt.datetime | None:
    """The newest report time stored: the next sync starts there."""
    return Incident.objects.aggregate(newest=Max("reported_at"))["newest"]


def sync(
    *,
    since: dt.datetime | str | None = None,
    base_url: str | None = None,
    page_size: int | None = None,
    app_token: str | None = None,
    retries: int = 5,
    backoff_s: float = 1.0,
    timeout_s: float = 60.0,
    progress: importing.ProgressCallback | None = None,
    on_page: Callable[[int, int], None] | None = None,
) -> ImportRun:
    """Fetch and import; returns the finished ImportRun, raises SyncFailed."""
    base_url = base_url or settings.SODA_BASE_URL
    page_size = page_size or settings.SODA_PAGE_SIZE
    app_token = settings.SODA_APP_TOKEN if app_token is None else app_token
    if isinstance(since, str):
        since = parse_since(since)
    if since is None:
        since = resume_point()
    field = report_time_field()
    where = None
    # ">=" rather than ">": records reported in the same second as the newest stored
    # one may not all have been published yet; the ones we have come back unchanged.
    if since is not None:
        where = f"{field} >= '{floating_local(since)}'"
    run = importing.new_run(
        ImportRun.Source.SODA,
        file_name=f"SODA {where or 'all records'}"[:255],
    )
    importing.claim(run.pk)
    run.refresh_from_db()
    session = requests.Session()
    session.headers["Accept"] = "application/json"
    if app_token:
        session.headers["X-App-Token"] = app_token
    with tempfile.TemporaryDirectory(prefix="soda-sync-") as tmp:
        path = Path(tmp) / "soda.json"
        try:
            fetched = _spool(
                session,
                base_url,
                path,
                where=where,
                order=f"{field},offense_id",
                page_size=page_size,
                retries=retries,
                backoff_s=backoff_s,
                timeout_s=timeout_s,
                on_page=on_page,
            )
        except SyncFailed as exc:
            importing.mark_failed(run, str(exc))
            raise
        except BaseException as exc:  # never leave the claimed run locked
            importing.mark_failed(run, exc)
            raise
        finally:
            session.close()
        log.info("SODA sync run %s: %s records fetched (%s)", run.pk, fetched, where)
        return importing.run_import(run, path, progress=progress)


def _spool(
    session: requests.Session,
    base_url: str,
    path: Path,
    *,
    where: str | None,
    order: str,
    page_size: int,
    retries: int,
    backoff_s: float,
    timeout_s: float,
    on_page: Callable[[int, int], None] | None,
) -> int:
    """Write every page into one JSON array file; constant memory (one page)."""
    fetched = 0
    offset = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write("[")
        while True:
            params = {"$limit": page_size, "$offset": offset, "$order": order}
            if where:
                params["$where"] = where
            page = _get_page(session, base_url, params, retries, backoff_s, timeout_s)
            for record in page:
                out.write(",\n" if fetched else "\n")
                json.dump(record, out, ensure_ascii=False)
                fetched += 1
            if on_page is not None:
                on_page(offset, len(page))
            if len(page) < page_size:
                break
            offset += page_size
        out.write("\n]\n")
    return fetched


def _get_page(
    session: requests.Session,
    url: str,
    params: dict,
    retries: int,
    backoff_s: float,
    timeout_s: float,
) -> list:
    """One page, retrying transient failures (5xx, 429, timeouts, resets)."""
    problem = ""
    for attempt in range(retries + 1):
        retry_after = None
        try:
            response = session.get(url, params=params, timeout=timeout_s)
        except (requests.ConnectionError, requests.Timeout) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code == 200:
                try:
                    page = response.json()
                except ValueError:
                    raise SyncFailed(
                        f"{url} answered with something not JSON"
                    ) from None
                if not isinstance(page, list):
                    raise SyncFailed(f"{url} answered {str(page)[:300]}")
                return page
            problem = f"HTTP {response.status_code}: {response.text[:200]}"
            if response.status_code not in TRANSIENT_STATUS:
                raise SyncFailed(f"{url} refused the query: {problem}")
            retry_after = response.headers.get("Retry-After")
        if attempt == retries:
            break
        delay = min(backoff_s * 2**attempt, MAX_BACKOFF_S)
        if retry_after and retry_after.isascii() and retry_after.isdigit():
            delay = min(max(delay, float(retry_after)), 5 * MAX_BACKOFF_S)
        log.warning(
            "SODA %s (offset %s), retrying in %.1fs", problem, params["$offset"], delay
        )
        time.sleep(delay)
    raise SyncFailed(f"{url}: gave up after {retries + 1} attempts; last: {problem}")
