#!/usr/bin/env bash
# `make bench`: every benchmark, each printing its figures and its ratios against a
# reference measured in the same run. Record results in docs/benchmarks.md.
#
# The read benchmarks need a database holding the full 2012-2021 SPD file and a forecast
# week for 2021-12-01 (BENCH_DATABASE_URL, default: the `crimepredict_full` database,
# filled here on first use with import_spd, train_model --preset tiny and
# precompute_forecasts; a real model gives the same timings).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"
bash scripts/setup.sh
PY="$VENV/bin/python"
FULL_FILE="${SPD_FULL_FILE:-$REPO/../shared/data/spd/spd_crime_2012_2021.csv.gz}"
BENCH_DB="${BENCH_DB_NAME:-crimepredict_full}"
export BENCH_DATABASE_URL="${BENCH_DATABASE_URL:-postgis://$DB_USER:$DB_PASSWORD@$PGHOST_ADDR:5432/$BENCH_DB}"
export SECRET_KEY="${SECRET_KEY:-bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz}"
export HTTPS=0 DEBUG=0
[ -f "$FULL_FILE" ] || { echo "set SPD_FULL_FILE to the 2012-2021 SPD CSV" >&2; exit 1; }

echo "### import"
"$PY" benchmarks/bench_import.py --file "$FULL_FILE"

if ! PGPASSWORD="$DB_PASSWORD" psql -h "$PGHOST_ADDR" -U "$DB_USER" -d postgres -tAc \
    "select 1 from pg_database where datname='$BENCH_DB'" | grep -q 1; then
  PGPASSWORD="$DB_PASSWORD" psql -q -h "$PGHOST_ADDR" -U "$DB_USER" -d postgres -c "CREATE DATABASE $BENCH_DB"
  DATABASE_URL="$BENCH_DATABASE_URL" "$PY" manage.py migrate --noinput >/dev/null
  DATABASE_URL="$BENCH_DATABASE_URL" "$PY" manage.py import_spd "$FULL_FILE"
  DATABASE_URL="$BENCH_DATABASE_URL" "$PY" manage.py train_model --until 2021-12-01T00:00 --activate --preset tiny
  DATABASE_URL="$BENCH_DATABASE_URL" "$PY" manage.py precompute_forecasts --start 2021-12-01T00:00 --hours 168
fi
# A bench database made before a migration landed (the street network, ...) catches up;
# pgRouting is there for the routing engine comparison.
PGPASSWORD="$DB_PASSWORD" psql -q -h "$PGHOST_ADDR" -U "$DB_USER" -d "$BENCH_DB" \
  -c "CREATE EXTENSION IF NOT EXISTS pgrouting"
DATABASE_URL="$BENCH_DATABASE_URL" "$PY" manage.py migrate --noinput >/dev/null
export DATABASE_URL="$BENCH_DATABASE_URL"
echo "### history";  "$PY" benchmarks/bench_history.py
echo "### forecast"; "$PY" benchmarks/bench_forecast.py --start 2021-12-01T00:00
echo "### commute";  "$PY" benchmarks/bench_commute.py
echo "### streets";  "$PY" benchmarks/bench_streets.py
echo "### routing";  "$PY" benchmarks/bench_routing.py
echo "### ml";       "$PY" benchmarks/bench_ml.py --events-cache var/events_2012_2021.npz
echo "### load";     "$PY" benchmarks/bench_load.py --file "$FULL_FILE"
