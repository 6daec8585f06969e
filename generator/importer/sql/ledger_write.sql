-- A table's ledger row, in the transaction that loaded it.
INSERT INTO _fbs_import (
    tenant_id, table_name, odoo_table, source_rows, loaded_rows, checksum, snapshot_sha256, done, seconds
) VALUES (
    %(tenant)s, %(table)s, %(odoo_table)s, %(source_rows)s, %(rows)s, %(checksum)s, %(sha)s, TRUE, %(seconds)s
)
ON CONFLICT (tenant_id, table_name) DO UPDATE SET
    odoo_table = excluded.odoo_table,
    source_rows = excluded.source_rows,
    loaded_rows = excluded.loaded_rows,
    checksum = excluded.checksum,
    snapshot_sha256 = excluded.snapshot_sha256,
    done = TRUE,
    loaded_at = now(),
    seconds = excluded.seconds
