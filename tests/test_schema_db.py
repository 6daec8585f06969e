"""The rendered schema on a real PostgreSQL: apply with psql, then read the catalog back."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import errors, sql

from generator import tenant
from generator.tables import Schema
from tests.support.rows import CHECKS, RowMaker, check_values

A, B = str(uuid.uuid4()), str(uuid.uuid4())


@pytest.fixture(scope="module")
def schema(bundled) -> Schema:
    return tenant.build(bundled)


def q(dsn: str, query: str, *args):
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, args).fetchall()


def test_bundled_migrations_apply_without_error_or_truncation_notice(bundled_template, bundled_migrations):
    out = bundled_template["psql_output"]
    assert "truncated" not in out and "ERROR" not in out, out[:2000]
    assert len(list(bundled_migrations.glob("*.sql"))) >= 3


def test_every_table_is_tenant_scoped(schema_db, schema):
    tables = q(schema_db, "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")
    assert {t for (t,) in tables} == {t.name for t in schema.tables}
    rows = q(schema_db, """
        SELECT c.relname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               (SELECT attname FROM pg_attribute WHERE attrelid = c.oid AND attnum = p.conkey[1])
        FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
        JOIN pg_constraint p ON p.conrelid = c.oid AND p.contype = 'p'
        WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace""")
    assert len(rows) == len(schema.tables)
    for table, ttype, not_null, first_pk in rows:
        assert (ttype, not_null, first_pk) == ("uuid", True, "tenant_id"), table
    ids = q(schema_db, """
        SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace AND a.attname = 'id'
          AND format_type(a.atttypid, a.atttypmod) = 'uuid' AND a.attnotnull
          AND pg_get_expr((SELECT adbin FROM pg_attrdef WHERE adrelid = c.oid AND adnum = a.attnum), c.oid)
              = 'gen_random_uuid()'""")
    relation_tables = [t for t in schema.tables if t.column("id") is None]
    assert ids[0][0] == len(schema.tables) - len(relation_tables)


FK_COLUMNS = """
SELECT c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text,
       array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY k.i),
       array_agg(a.attname::text ORDER BY k.i),
       array_agg(format_type(fa.atttypid, fa.atttypmod) ORDER BY k.i)
FROM pg_constraint c
CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(att, fatt, i)
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.att
JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = k.fatt
WHERE c.contype = 'f'
GROUP BY c.oid, c.conname, c.conrelid, c.confrelid
"""


def test_foreign_keys_are_uuid_tenant_scoped_counted_and_indexed(schema_db, bundled):
    fks = q(schema_db, FK_COLUMNS)
    for name, table, ref, types, cols, ref_types in fks:
        assert types == ["uuid", "uuid"] and ref_types == ["uuid", "uuid"], (name, types, ref_types)
        assert cols[0] == "tenant_id", name
    ints = [f for f in fks if any(t in ("integer", "bigint") for t in f[3])]
    assert ints == []
    # FK count = stored many2one fields whose target is in the schema + 2 x relation tables (one per end
    # that is in the schema, for many2many fields pointing outside it)
    models = {m.name: m for m in bundled.models}
    model_tables = {m.table for m in bundled.models}
    m2o = sum(1 for m in bundled.models for f in m.fields if f.type == "many2one" and f.relation in models)
    relation_tables: dict[str, int] = {}
    for m in bundled.models:
        for f in m.fields:
            if f.type == "many2many" and f.relation_table not in model_tables:
                relation_tables[f.relation_table] = 1 + (f.relation in models)
    both_ends = sum(1 for ends in relation_tables.values() if ends == 2)
    # + per-company tables (tenant rule 9): the res_id and company_id keys of each
    per_company = {m.table for m in bundled.models if any(f.company_dependent for f in m.fields)}
    assert per_company
    assert len(fks) == m2o + 2 * both_ends + sum(1 for e in relation_tables.values() if e == 1) + 2 * len(per_company)
    assert both_ends > 20 and m2o > 300
    # every FK column has an index whose first two columns are (tenant_id, col)
    indexed = {
        (t, c) for t, c in q(schema_db, """
            SELECT i.indrelid::regclass::text, a.attname
            FROM pg_index i
            JOIN pg_attribute t ON t.attrelid = i.indrelid AND t.attnum = i.indkey[0] AND t.attname = 'tenant_id'
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[1]""")
    }
    missing = [(table, cols[1]) for _, table, _, _, cols, _ in fks if (table, cols[1]) not in indexed]
    assert missing == []


def test_selection_checks_hold_exactly_the_snapshot_values(schema_db, bundled, schema):
    checked = 0
    with psycopg.connect(schema_db) as conn:
        for m in bundled.models:
            table = schema.table(tenant.shorten(m.table))
            defs = [d for (d,) in conn.execute(CHECKS, (table.name,)).fetchall()]
            for f in m.fields:
                if f.type != "selection" or not f.selection:
                    continue
                found = [check_values(d, f.name) for d in defs if check_values(d, f.name) is not None]
                assert found == [[s.value for s in f.selection]], (m.name, f.name, defs)
                checked += 1
    assert checked > 80


def test_value_outside_a_selection_is_rejected(schema_db):
    with psycopg.connect(schema_db) as conn:
        maker = RowMaker(conn)
        maker.make("sale_order", A)
        with pytest.raises(errors.CheckViolation):
            maker.make("sale_order", A, state="no-such-state")


def test_pointing_at_another_tenants_row_fails(schema_db):
    with psycopg.connect(schema_db) as conn:
        maker = RowMaker(conn)
        partner_b = maker.make("res_partner", B)
        maker.make("sale_order", A)
        with pytest.raises(errors.ForeignKeyViolation):
            maker.make("sale_order", A, partner_id=partner_b)


def _fk(dsn, action: str, child: str):
    rows = q(dsn, """
        SELECT (SELECT attname FROM pg_attribute WHERE attrelid = conrelid AND attnum = conkey[2]),
               confrelid::regclass::text
        FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass AND confdeltype = %s
        ORDER BY conname""", child, action)
    return rows[0]


@pytest.mark.parametrize("child, action", [("sale_order_line", "c"), ("sale_order", "n"), ("stock_move", "r")])
def test_delete_follows_odoo_on_delete(schema_db, child, action):
    column, parent = _fk(schema_db, action, child)
    with psycopg.connect(schema_db) as conn:
        maker = RowMaker(conn)
        parent_id = maker.make(parent, A, reuse=False)
        child_id = maker.make(child, A, **{column: parent_id})
        delete = sql.SQL("DELETE FROM {} WHERE tenant_id = %s AND id = %s").format(sql.Identifier(parent))
        select = sql.SQL("SELECT tenant_id::text, {} FROM {} WHERE id = %s").format(
            sql.Identifier(column), sql.Identifier(child))
        if action == "r":  # PostgreSQL reports RESTRICT as a foreign key violation
            with pytest.raises(errors.ForeignKeyViolation):
                conn.execute(delete, (A, parent_id))
            return
        conn.execute(delete, (A, parent_id))
        rows = conn.execute(select, (child_id,)).fetchall()
        if action == "c":
            assert rows == []
        else:
            assert rows == [(A, None)]  # SET NULL (col): tenant_id kept


def test_row_level_security_isolates_tenants_in_every_table(schema_db, schema):
    role = f"fbs_app_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(schema_db, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
            sql.Identifier(role)))
        conn.execute("SET session_replication_role = replica")  # rows without their FK parents
        maker = RowMaker(conn)
        for t in schema.tables:
            maker.make(t.name, B)
    try:
        # one transaction per table, rolled back: a single one over every table needs more locks
        # than a busy server's lock table may hold ("out of shared memory")
        with psycopg.connect(schema_db, autocommit=True) as conn:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
            for t in schema.tables:
                name = sql.Identifier(t.name)
                with conn.transaction(force_rollback=True):
                    conn.execute("SELECT set_config('app.tenant_id', %s, false)", (B,))
                    assert conn.execute(sql.SQL("SELECT count(*) FROM {}").format(name)).fetchone()[0] == 1, t.name
                    conn.execute("SELECT set_config('app.tenant_id', %s, false)", (A,))
                    assert conn.execute(sql.SQL("SELECT count(*) FROM {}").format(name)).fetchone()[0] == 0, t.name
                    cur = conn.execute(sql.SQL("UPDATE {} SET tenant_id = tenant_id").format(name))
                    assert cur.rowcount == 0, t.name
                    cur = conn.execute(sql.SQL("DELETE FROM {}").format(name))
                    assert cur.rowcount == 0, t.name
                    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
                        with conn.transaction():
                            conn.execute(sql.SQL("INSERT INTO {} (tenant_id) VALUES (%s)").format(name), (B,))
            conn.execute("SELECT set_config('app.tenant_id', %s, false)", (B,))
            conn.execute("RESET app.tenant_id")  # empty string afterwards: must fail closed, not error
            assert conn.execute("SELECT count(*) FROM sale_order").fetchone()[0] == 0
    finally:
        with psycopg.connect(schema_db, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


