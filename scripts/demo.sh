#!/usr/bin/env bash
# `make demo`: set everything up and run Crime Predict with real Seattle data.
#   services + database + virtualenv (scripts/setup.sh), migrations, static files,
#   the bundled 2021 SPD extract, a trained model, a week of forecasts, the cache's own
#   bounded Redis (docker/redis/cache.conf, port DEMO_CACHE_REDIS_PORT, 6380; the Celery
#   queue stays on the Redis of scripts/setup.sh, which never evicts), a Celery worker,
#   Celery beat (which also fails runs whose worker died, with no worker alive) and the
#   web server on http://127.0.0.1:8000/ (DEMO_PORT). Safe and quick to run again.
# `bash scripts/demo.sh stop` stops beat, the worker, the web server and the cache.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"
RUN="$REPO/var/run"
mkdir -p "$RUN" var/log var/artifacts

stop() {  # the processes named, by the pid files of var/run
  for name in "$@"; do
    if [ -f "$RUN/$name.pid" ]; then
      kill "$(cat "$RUN/$name.pid")" 2>/dev/null || true
      rm -f "$RUN/$name.pid"
    fi
  done
}
if [ "${1:-}" = stop ]; then stop web worker beat mailbox cache-redis; echo "stopped"; exit 0; fi

bash scripts/setup.sh

# A local deployment: plain HTTP on the loopback, production settings otherwise.
[ -s var/secret_key ] || "$VENV/bin/python" -c "import secrets; print(secrets.token_urlsafe(50))" > var/secret_key
export SECRET_KEY="$(cat var/secret_key)"
export DEBUG=0 HTTPS=0 ALLOWED_HOSTS="${ALLOWED_HOSTS:-127.0.0.1,localhost}"
export ARTIFACTS_DIR="${ARTIFACTS_DIR:-$REPO/var/artifacts}"
# The queue on the Redis of scripts/setup.sh (noeviction); the cache on one of its own,
# bounded (maxmemory, volatile-lru: docker/redis/cache.conf).
CACHE_PORT="${DEMO_CACHE_REDIS_PORT:-6380}"
export CELERY_BROKER_URL="${CELERY_BROKER_URL:-$REDIS_URL}"
export CACHE_REDIS_URL="${CACHE_REDIS_URL:-redis://127.0.0.1:$CACHE_PORT/0}"
if ! redis-cli -p "$CACHE_PORT" ping >/dev/null 2>&1; then
  redis-server docker/redis/cache.conf --port "$CACHE_PORT" --bind 127.0.0.1 \
    --daemonize yes --pidfile "$RUN/cache-redis.pid" --dir "$RUN" \
    --logfile "$REPO/var/log/cache-redis.log"
  for _ in $(seq 30); do redis-cli -p "$CACHE_PORT" ping >/dev/null 2>&1 && break; sleep 0.2; done
fi
# The base map is the bundled OpenStreetMap streets, served by the site itself (no map
# view leaves the machine); set MAP_TILES_URL to use a tile server instead.
export MAP_TILES_URL="${MAP_TILES_URL:-}"
PORT="${DEMO_PORT:-8000}"
PY="$VENV/bin/python"
manage() { "$PY" manage.py "$@"; }
ask() { manage shell -c "$1" 2>/dev/null | tail -n 1; }

echo "==> migrate (loads the Seattle boundaries, the grid and the street network)"
manage migrate --noinput >/dev/null
manage collectstatic --noinput >/dev/null
manage build_glyphs

echo "==> the street network (data/streets; a re-run reports every edge unchanged)"
manage load_streets | tail -n 1

echo "==> import the bundled SPD extract (data/spd/spd_2021.csv.gz; a re-run reports all unchanged)"
manage import_spd data/spd/spd_2021.csv.gz

if [ ! -s var/admin_password ]; then
  "$PY" -c "import secrets; print(secrets.token_urlsafe(12))" > var/admin_password
fi
DJANGO_SUPERUSER_PASSWORD="$(cat var/admin_password)" manage shell -c "
from django.contrib.auth import get_user_model
import os
User = get_user_model()
if not User.objects.filter(username='admin').exists():
    User.objects.create_superuser('admin', 'admin@localhost', os.environ['DJANGO_SUPERUSER_PASSWORD'])
" >/dev/null

# The extract ends with 2021: the demo model is trained on everything reported before
# 2022-01-01 and forecasts the first week after the data ends.
UNTIL="${DEMO_UNTIL:-2022-01-01T00:00}"
if [ "$(ask 'from predictions.models import ModelVersion; print(ModelVersion.objects.filter(is_active=True).exists())')" != True ]; then
  echo "==> train a model on the extract (CPU, a few minutes)"
  manage train_model --until "$UNTIL" --activate ${DEMO_TRAIN_ARGS:---quick}
fi
if [ "$(ask 'from predictions.models import ForecastRun; print(ForecastRun.objects.filter(status="succeeded").exists())')" != True ]; then
  echo "==> precompute a week of forecasts"
  manage precompute_forecasts --start "$UNTIL" --hours 168
fi

# Commute notes: a local SMTP server keeps every email in var/mail/ (.eml files);
# README "Commute notes" says how to use a real relay instead.
export EMAIL_HOST="${EMAIL_HOST:-127.0.0.1}" EMAIL_PORT="${EMAIL_PORT:-${DEMO_SMTP_PORT:-8025}}"
export SITE_URL="${SITE_URL:-http://127.0.0.1:$PORT}"

echo "==> start the local mailbox, the Celery worker, Celery beat and the web server"
stop web worker beat mailbox
if [ "$EMAIL_HOST" = 127.0.0.1 ]; then
  setsid nohup "$PY" manage.py notes_mailbox --port "$EMAIL_PORT" --dir var/mail \
    >var/log/mailbox.log 2>&1 &
  echo $! > "$RUN/mailbox.pid"
fi
setsid nohup "$VENV/bin/celery" -A crimepredict_site worker -Q default,gpu -c 1 \
  --max-tasks-per-child 1 --loglevel INFO >var/log/worker.log 2>&1 &
echo $! > "$RUN/worker.pid"
setsid nohup "$VENV/bin/celery" -A crimepredict_site beat --loglevel INFO \
  -s "$RUN/celerybeat-schedule" >var/log/beat.log 2>&1 &
echo $! > "$RUN/beat.pid"
# The deployed layout (crimepredict_site/gunicorn.conf.py): 2 processes x 12 threads,
# routing in at most one thread per process (ROUTING_SLOTS).
setsid nohup "$VENV/bin/gunicorn" -c crimepredict_site/gunicorn.conf.py \
  crimepredict_site.wsgi -b "127.0.0.1:$PORT" \
  --access-logfile var/log/access.log >var/log/web.log 2>&1 &
echo $! > "$RUN/web.pid"
for _ in $(seq 40); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null && break
  sleep 0.5
done
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" || { echo "web server did not start; see var/log/web.log" >&2; exit 1; }

cat <<MSG

Crime Predict is running: http://127.0.0.1:$PORT/
  admin:  http://127.0.0.1:$PORT/admin/  (user admin, password in var/admin_password)
  API:    http://127.0.0.1:$PORT/api/v1/docs/
  notes:  emails the site sends are kept in var/mail/ (open the .eml files)
  logs:   var/log/web.log, var/log/worker.log, var/log/beat.log      stop: make stop
MSG
