#!/bin/sh
# Create Temporal's two databases and bring their schemas up to date (the layout of
# temporalio/samples-server compose/scripts/setup-postgres.sh). Safe to re-run: `create`
# tolerates an existing database and `update-schema` only applies missing versions.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${POSTGRES_PWD:?}"
export SQL_PASSWORD="$POSTGRES_PWD"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12
tool() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "${DB_PORT:-5432}" "$@"; }
for db in temporal temporal_visibility; do
  versioned=$SCHEMA_DIR/temporal/versioned
  [ "$db" = temporal_visibility ] && versioned=$SCHEMA_DIR/visibility/versioned
  tool --db "$db" create || echo "database $db exists"
  tool --db "$db" setup-schema -v 0.0 || echo "schema of $db already initialised"
  tool --db "$db" update-schema -d "$versioned"
done
