#!/usr/bin/env bash
# Idempotent machine set-up for Debian/Ubuntu: system packages, PostgreSQL + PostGIS,
# Redis, the database role, the virtualenv. Safe and quick to run again.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_pkgs=()
have_pg_ext() { ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; }
command -v psql >/dev/null || need_pkgs+=(postgresql postgresql-client)
# The server binaries (initdb, pg_ctl): tests/test_faults.py runs a cluster of its own.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_pkgs+=(postgresql)
have_pg_ext || need_pkgs+=(postgis "postgresql-$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1 || echo 15)-postgis-3")
# pgRouting: benchmarks/bench_routing.py measures it against the in-process router.
have_pgrouting() { ls /usr/share/postgresql/*/extension/pgrouting.control >/dev/null 2>&1; }
have_pgrouting || need_pkgs+=("postgresql-$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1 || echo 15)-pgrouting")
command -v gdalinfo >/dev/null || need_pkgs+=(gdal-bin)
ldconfig -p | grep -q libgdal || need_pkgs+=(libgdal-dev)
# redis-server: the shared one, and the fault tests start one of their own.
command -v redis-server >/dev/null || need_pkgs+=(redis-server)
[ -x /usr/bin/chromium ] || need_pkgs+=(chromium)
command -v make >/dev/null || need_pkgs+=(make)
# DejaVu: the base map's glyphs are made from it (manage.py build_glyphs).
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || need_pkgs+=(fonts-dejavu-core)
command -v curl >/dev/null || need_pkgs+=(curl)
# node + npm: the browser tests' axe-core and the benchmarks' Lighthouse (package.json).
command -v node >/dev/null || need_pkgs+=(nodejs)
command -v npm >/dev/null || need_pkgs+=(npm)
python3 -c "import venv, ensurepip" 2>/dev/null || need_pkgs+=(python3-venv)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "==> apt-get install ${need_pkgs[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  # postgresql-N-postgis-3 needed the server version; retry now that it is known.
  if ! have_pg_ext; then
    v=$(ls /usr/lib/postgresql | sort -n | tail -1)
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "postgresql-$v-postgis-3" >/dev/null
  fi
  if ! have_pgrouting; then
    v=$(ls /usr/lib/postgresql | sort -n | tail -1)
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "postgresql-$v-pgrouting" >/dev/null
  fi
fi

# --- services -----------------------------------------------------------------------
if ! pg_isready -h "$PGHOST_ADDR" -q; then
  echo "==> starting PostgreSQL"
  for cluster in $(pg_lsclusters -h | awk '{print $1"/"$2}'); do
    $SUDO pg_ctlcluster --skip-systemctl-redirect "${cluster%/*}" "${cluster#*/}" start || true
  done
  for _ in $(seq 30); do pg_isready -h "$PGHOST_ADDR" -q && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  echo "==> starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 30); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

# --- database role (superuser: it creates the postgis extension and test databases) ---
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}
if ! PGPASSWORD="$DB_PASSWORD" psql -h "$PGHOST_ADDR" -U "$DB_USER" -d postgres -tAc "select 1" >/dev/null 2>&1; then
  echo "==> creating database role $DB_USER"
  as_postgres psql -q -v ON_ERROR_STOP=1 -c \
    "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='$DB_USER') THEN CREATE ROLE $DB_USER LOGIN SUPERUSER PASSWORD '$DB_PASSWORD'; ELSE ALTER ROLE $DB_USER LOGIN SUPERUSER PASSWORD '$DB_PASSWORD'; END IF; END\$\$;"
fi
if ! PGPASSWORD="$DB_PASSWORD" psql -h "$PGHOST_ADDR" -U "$DB_USER" -d postgres -tAc \
    "select 1 from pg_database where datname='$DB_NAME'" | grep -q 1; then
  PGPASSWORD="$DB_PASSWORD" psql -q -h "$PGHOST_ADDR" -U "$DB_USER" -d postgres -c "CREATE DATABASE $DB_NAME"
fi
PGPASSWORD="$DB_PASSWORD" psql -q -h "$PGHOST_ADDR" -U "$DB_USER" -d "$DB_NAME" \
  -c "CREATE EXTENSION IF NOT EXISTS postgis" -c "CREATE EXTENSION IF NOT EXISTS pg_trgm" \
  -c "CREATE EXTENSION IF NOT EXISTS pgrouting"

# --- virtualenv -----------------------------------------------------------------------
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
stamp="$VENV/.requirements.sha256"
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> pip install -r requirements.txt"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -r requirements.txt
  echo "$want" > "$stamp"
fi

# --- npm (package-lock.json): axe-core for the browser tests, Lighthouse for the
# benchmarks, and the map library that scripts/vendor_js.sh copies into static/vendor.
npm_stamp="node_modules/.package-lock.sha256"
npm_want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$npm_stamp" ] || [ "$(cat "$npm_stamp")" != "$npm_want" ]; then
  echo "==> npm ci"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$npm_want" > "$npm_stamp"
fi
echo "==> setup done"
