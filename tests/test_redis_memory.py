"""Redis memory is bounded, and the task queue is never evicted (issue 16).

Two redis-server instances of their own (tests/localstack.py), configured with the
files docker/compose.yaml and scripts/demo.sh use (docker/redis/cache.conf and
broker.conf), smaller: the cache's evicts at maxmemory, the broker's never does. The
shared Redis of the rest of the suite is not touched.
"""

from __future__ import annotations

import json

import pytest
import redis

from core import queue, redis_guard
from crimes.models import ImportRun
from crimes.services import importing
from crimes.tasks import import_upload
from tests import localstack
from tests.test_site_hardening import forget_connections

CONF = localstack.REPO / "docker" / "redis"
QUEUED = 40
# A site process with CACHE_REDIS_URL and CELERY_BROKER_URL set: it queues tasks no
# worker takes, then writes about 24 MB of cache entries (with a time to live, as
# every cached answer has) into a cache that may hold 8 MB, then one entry larger
# than the whole cache.
PRESSURE = f"""
import json, os
from django.core.cache import cache
from core import cache as versions
from core.tasks import apply_pending_cache_bumps
for _ in range({QUEUED}):
    apply_pending_cache_bumps.delay()
versions.bump(versions.DATA)
data_version = versions.versions(versions.DATA)[0]
for i in range(384):
    cache.set(f"fill:{{i}}", os.urandom(64 * 1024), 600)
seen = {{
    "kept": sum(cache.get(f"fill:{{i}}") is not None for i in range(384)),
    "data_version": data_version,
    "data_version_after": versions.versions(versions.DATA)[0],
}}
cache.set("huge", os.urandom(12 * 1024 * 1024), 600)
print(json.dumps(seen))
"""


@pytest.fixture
def servers(tmp_path):
    cache = localstack.OwnRedis(
        tmp_path / "cache", conf=CONF / "cache.conf", config={"maxmemory": "8mb"}
    )
    broker = localstack.OwnRedis(tmp_path / "broker", conf=CONF / "broker.conf")
    try:
        yield cache.start(), broker.start()
    finally:
        for server in (cache, broker):
            if server.proc is not None:
                server.stop()


def test_the_cache_evicts_under_pressure_and_the_queue_survives(servers):
    cache, broker = servers
    env = localstack.site_env(
        "postgis://postgres@127.0.0.1:1/unused",  # nothing here reads the database
        # Nobody listens here: neither role may fall back to REDIS_URL.
        f"redis://127.0.0.1:{localstack.free_port()}/0",
        CACHE_REDIS_URL=cache.url(0),
        CELERY_BROKER_URL=broker.url(0),
    )
    out = json.loads(localstack.manage(env, "shell", "-c", PRESSURE).splitlines()[-1])

    cache_client = redis.Redis.from_url(cache.url(0))
    memory = cache_client.info("memory")
    assert memory["maxmemory_policy"] == "volatile-lru"
    assert memory["used_memory"] <= memory["maxmemory"] == 8 * 1024 * 1024
    assert cache_client.info("stats")["evicted_keys"] > 0
    # Entries were evicted to make room, the one larger than the cache was refused
    # (and the process went on: no error), and the cache version counter, which
    # has no time to live, is still there: nothing cached before was retired.
    assert 0 < out["kept"] < 384 and not cache_client.keys("*huge*")
    assert out["data_version_after"] == out["data_version"] > 0
    # Every queued task is still in the broker, which evicted nothing.
    broker_client = redis.Redis.from_url(broker.url(0))
    assert broker_client.llen("default") == QUEUED
    assert broker_client.info("stats")["evicted_keys"] == 0
    assert broker_client.info("memory")["maxmemory_policy"] == "noeviction"


@pytest.mark.django_db
def test_a_full_broker_refuses_a_new_run_with_503_and_keeps_what_is_queued(
    servers, monkeypatch, django_capture_on_commit_callbacks
):
    _, broker = servers
    client = redis.Redis.from_url(broker.url(0))
    monkeypatch.setattr(import_upload.app.conf, "broker_url", broker.url(0))
    forget_connections(import_upload.app)
    redis_guard.reset()
    try:
        import_upload.apply_async(args=[0])  # queued before the broker is full
        client.config_set("maxmemory", client.info("memory")["used_memory"] + 1024)
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            for i in range(100):
                client.set(f"ballast:{i}", b"x" * 4096)
        run = importing.new_run(ImportRun.Source.UPLOAD, file_name="x.csv")
        with pytest.raises(queue.QueueUnavailable) as error:
            with django_capture_on_commit_callbacks(execute=True):
                queue.enqueue(import_upload, run.pk, importing.RUNS)
    finally:
        monkeypatch.undo()
        forget_connections(import_upload.app)
        redis_guard.reset()
    assert error.value.status == 503
    run.refresh_from_db()
    assert run.status == "failed" and "maxmemory" in run.error
    assert client.llen("default") == 1  # what was queued is still there
