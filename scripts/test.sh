#!/usr/bin/env bash
# The whole suite against the real PostGIS, Redis, Celery worker and system Chromium.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"
# Tests use their own Redis db so a running demo's cache and queues are untouched.
export REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
"$VENV/bin/ruff" check .
set +e
"$VENV/bin/python" -m pytest "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$status"
