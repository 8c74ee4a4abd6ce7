#!/bin/sh
# Run once by the postgres image on an empty data directory, after its PostGIS script.
set -e
for db in template1 "$POSTGRES_DB"; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$db" \
    -c "CREATE EXTENSION IF NOT EXISTS pg_trgm" \
    -c "CREATE EXTENSION IF NOT EXISTS pgrouting CASCADE"
done
