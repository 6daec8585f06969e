"""Bulk-load realistic rows into the generated schema for the query benchmark.

Every NOT NULL column gets a value of its type (selection columns cycle through their allowed values);
every NOT NULL foreign key, and the nullable ones asked for, points at a row of the same tenant, so the
data is consistent across tenants. Parents are loaded first, a few rows per tenant unless asked for.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from generator.tables import Schema, Table
from tests.support.rows import CHECKS, check_values


def _values(conn, table: Table, column: str) -> list[str] | None:
    for (definition,) in conn.execute(CHECKS, (table.name,)).fetchall():
        values = check_values(definition, column)
        if values:
            return values
    return None


def _expr(conn, table: Table, column, fk_alias: str | None) -> sql.Composable:
    if fk_alias:
        return sql.SQL("{a}.ids[1 + (g.i * 7919 + t.n) %% array_length({a}.ids, 1)]").format(a=sql.Identifier(fk_alias))
    values = _values(conn, table, column.name)
    if values:
        return sql.SQL("({}::text[])[1 + g.i %% {}]").format(sql.Literal(values), sql.Literal(len(values)))
    ctype = column.type
    if ctype == "uuid":
        return sql.SQL("gen_random_uuid()")
    if ctype.startswith("character varying("):  # sized: digits only, still unique per tenant
        size = int(ctype[len("character varying("):-1])
        return sql.SQL("right(lpad(g.i::text, {n}, '0'), {n})").format(n=sql.Literal(size))
    if ctype.startswith("character varying") or ctype == "text":
        return sql.SQL("{} || g.i").format(sql.Literal(column.name[:3]))
    if ctype in ("integer", "numeric", "double precision"):
        return sql.SQL("1")
    if ctype == "boolean":
        return sql.SQL("g.i %% 2 = 0")
    if ctype.startswith(("timestamp", "date")):
        return sql.SQL("(timestamp '2026-01-01' - (g.i %% 5000) * interval '37 minutes')")
    if ctype == "jsonb":
        return sql.SQL("jsonb_build_object('en_US', {} || g.i)").format(sql.Literal(column.name[:3]))
    raise ValueError(f"{table.name}.{column.name}: {ctype}")


def load(conn: psycopg.Connection, schema: Schema, table_name: str, per_tenant: int, tenants: list[str],
         fill: tuple[str, ...] = (), loaded: set[str] | None = None, nulls: dict[str, str] | None = None) -> None:
    loaded = set() if loaded is None else loaded
    if table_name in loaded:
        return
    table = schema.table(table_name)
    fks = {fk.columns[-1]: fk.ref_table for fk in table.foreign_keys}
    wanted = [c for c in table.columns[1:] if (c.not_null and not c.default) or c.name in fill]
    for c in wanted:
        if c.name in fks and fks[c.name] != table_name:
            load(conn, schema, fks[c.name], 3, tenants, loaded=loaded)
    loaded.add(table_name)
    with_parts, exprs, joins = [], [], []
    for i, c in enumerate(wanted):
        alias = f"p{i}" if c.name in fks and fks[c.name] != table_name else None
        if alias:
            with_parts.append(sql.SQL("{a} AS (SELECT tenant_id, array_agg(id ORDER BY id) AS ids FROM {p} GROUP BY tenant_id)")
                              .format(a=sql.Identifier(alias), p=sql.Identifier(fks[c.name])))
            joins.append(sql.SQL("JOIN {a} ON {a}.tenant_id = t.tenant_id").format(a=sql.Identifier(alias)))
        exprs.append(_expr(conn, table, c, alias))
    query = sql.SQL("""
        WITH t AS (SELECT tenant_id::uuid AS tenant_id, row_number() OVER () AS n FROM unnest(%s::text[]) AS tenant_id)
        {with_parts}
        INSERT INTO {table} (tenant_id{cols})
        SELECT t.tenant_id{exprs}
        FROM t CROSS JOIN generate_series(1, %s) AS g(i) {joins}
    """).format(
        with_parts=sql.SQL("").join(sql.SQL(", ") + p for p in with_parts),
        table=sql.Identifier(table_name),
        cols=sql.SQL("").join(sql.SQL(", ") + sql.Identifier(c.name) for c in wanted),
        exprs=sql.SQL("").join(sql.SQL(", ") + e for e in exprs),
        joins=sql.SQL(" ").join(joins),
    )
    conn.execute(query, (tenants, per_tenant))
