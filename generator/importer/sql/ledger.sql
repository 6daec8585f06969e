-- The import ledger, beside _sqlx_migrations in the target (the placement's schema):
-- _fbs_import: per tenant and generated table, what the last load wrote (one transaction with the rows);
-- _fbs_import_set_aside: foreign keys taken off for a load and not put back yet (a load that was
-- interrupted leaves them here; the next run puts them back and validates them).
CREATE TABLE IF NOT EXISTS _fbs_import (
    tenant_id uuid NOT NULL,
    table_name text NOT NULL,
    odoo_table text NOT NULL,
    source_rows bigint NOT NULL,
    loaded_rows bigint NOT NULL,
    checksum text NOT NULL,
    snapshot_sha256 text NOT NULL,
    done boolean NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now(),
    seconds double precision NOT NULL,
    PRIMARY KEY (tenant_id, table_name)
);
CREATE TABLE IF NOT EXISTS _fbs_import_set_aside (
    table_name text NOT NULL,
    constraint_name text NOT NULL,
    set_aside_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (table_name, constraint_name)
);
