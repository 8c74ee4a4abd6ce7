"""gunicorn's layout, the same for every deployment (scripts/demo.sh,
docker/Dockerfile, the load benchmark and probes): ``gunicorn -c
crimepredict_site/gunicorn.conf.py crimepredict_site.wsgi -b HOST:PORT``.

WEB_WORKERS processes (default 2, one per core of a small host), each with
WEB_THREADS threads (default 12; 0 = gunicorn's sync workers, one request per
process). Why threads (issue 16, docs/benchmarks.md "Routing concurrency"): with
sync workers one client routing commutes flat out held both processes and the home
page went from 20 ms to a second; with threads a cheap request always finds a free
thread, while routing runs in at most ROUTING_SLOTS threads per process
(core.work_slots; settings). One process's threads share its caches (the street
graph, forecast weeks), so more threads cost little memory; more processes would
each hold their own copy.
"""

import os

workers = int(os.environ.get("WEB_WORKERS", "2"))
_threads = int(os.environ.get("WEB_THREADS", "12"))
threads = max(1, _threads)
worker_class = "gthread" if _threads > 0 else "sync"
timeout = int(os.environ.get("WEB_TIMEOUT_S", "60"))

# Each worker builds the street graph and the forecast week before it accepts a
# request (why there and not in AppConfig.ready(): commutes.services.warm_up). The
# code is found from the working directory, as the application is: a checkout
# without the hook (a benchmark's "before", served with this file) starts cold.
try:
    from commutes.services.warm_up import post_worker_init  # noqa: F401
except ImportError:
    pass
