"""Rows written into an Odoo database made from the trimmed fixtures (tests/fixtures/odoo-<ver>/: Odoo's
own tables and constraints, no rows but the ir.* ones), for the import tests that need no ../shared.

``insert`` writes one row: the values given, and for every other NOT NULL column a plain value of its
type (a selection column gets the first value Odoo lists for it, so the generated CHECK accepts it).
Foreign-key columns that are NOT NULL must be given: the row must reference rows that exist."""

from __future__ import annotations

from datetime import date, datetime

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb


def _not_null(conn: psycopg.Connection, table: str) -> dict[str, str]:
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull",
        (table,)).fetchall()
    return dict(rows)


def _selection(conn: psycopg.Connection, table: str, column: str) -> str | None:
    row = conn.execute(
        "SELECT s.value FROM ir_model_fields_selection s JOIN ir_model_fields f ON f.id = s.field_id "
        "WHERE replace(f.model, '.', '_') = %s AND f.name = %s ORDER BY s.sequence, s.id LIMIT 1",
        (table, column)).fetchone()
    return row[0] if row else None


def _plain(conn: psycopg.Connection, table: str, column: str, ctype: str):
    if ctype.startswith(("character varying", "text")):
        return _selection(conn, table, column) or "x"
    if ctype in ("integer", "bigint", "smallint", "numeric", "double precision", "real"):
        return 1
    if ctype == "boolean":
        return False
    if ctype == "jsonb":
        return Jsonb({"en_US": f"{column} {table}"})
    if ctype == "date":
        return date(2026, 1, 1)
    if ctype.startswith("timestamp"):
        return datetime(2026, 1, 1, 12, 0, 0)
    raise AssertionError(f"{table}.{column}: no plain value of type {ctype}")


def insert(conn: psycopg.Connection, table: str, **values) -> None:
    row = dict(values)
    for column, ctype in _not_null(conn, table).items():
        if column not in row:
            row[column] = _plain(conn, table, column, ctype)
    row = {k: Jsonb(v) if isinstance(v, (dict, list)) else v for k, v in row.items()}
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, row)),
        sql.SQL(", ").join(sql.Placeholder() * len(row)))
    conn.execute(query, list(row.values()))
