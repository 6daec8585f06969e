#!/bin/sh
# Apply the migrations of a folder with psql, in version order, the way `fbs-schema migrate` and
# `sqlx migrate run` do, but without a ledger (record it afterwards with `fbs-schema baseline`).
# Each file runs in one transaction (psql -1), except `-- no-transaction` files (one CONCURRENTLY
# statement each). Stops at the first failure with psql's exit status; nothing of that file stays.
#
#   sh scripts/psql-apply.sh [MIGRATIONS_DIR] [DATABASE_URL]     (defaults: migrations, $DATABASE_URL)
set -eu
dir=${1:-migrations}
url=${2:-${DATABASE_URL:?give DATABASE_URL or a second argument}}
# sqlx's order: numerically by version (the part of the name before the first _)
for f in $(ls "$dir" | grep -E '^[0-9]+_.*\.sql$' | grep -v '\.down\.sql$' | sort -t _ -k 1,1n); do
  one=-1
  if head -c 17 "$dir/$f" | grep -q -- '-- no-transaction'; then one=""; fi
  echo "applying $f"
  psql -X -q -v ON_ERROR_STOP=1 $one -f "$dir/$f" "$url" || { status=$?; echo "failed: $f" >&2; exit "$status"; }
done
