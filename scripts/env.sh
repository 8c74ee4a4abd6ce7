# Sourced by the scripts: explicit defaults for a local machine. Anything already set in
# the environment wins. (Settings never read a .env file implicitly.)
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO
export VENV="${VENV:-$REPO/.venv}"
export PGHOST_ADDR="${PGHOST_ADDR:-127.0.0.1}"
export DB_USER="${DB_USER:-crimepredict}"
export DB_PASSWORD="${DB_PASSWORD:-crimepredict}"
export DB_NAME="${DB_NAME:-crimepredict}"
export DATABASE_URL="${DATABASE_URL:-postgis://$DB_USER:$DB_PASSWORD@$PGHOST_ADDR:5432/$DB_NAME}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export DJANGO_SETTINGS_MODULE=crimepredict_site.settings
# torch: use the cores we have, but leave the web server some air.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}"
