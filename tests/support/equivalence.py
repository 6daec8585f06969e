"""Build schemas side by side in one database (inside a transaction that is rolled back) and read
their catalogs with the same query verify uses, so equality means PostgreSQL renders them the same."""

from __future__ import annotations

import psycopg
from psycopg import sql

from generator import diff, render
from generator.model import Snapshot
from generator.runner.verify import catalog, compare


def statements(operations) -> list[str]:
    return [render.statement(op) for op in operations]


def run_in(conn: psycopg.Connection, schema: str, stmts: list[str]) -> None:
    conn.execute(sql.SQL("SET LOCAL search_path = {}, public").format(sql.Identifier(schema)))
    if stmts:
        conn.execute("\n".join(stmts))  # one round trip (simple query protocol: many statements)


def build(conn: psycopg.Connection, schema: str, snap: Snapshot, **kw) -> None:
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    run_in(conn, schema, statements(diff.diff(Snapshot.empty(), snap, **kw)))


def read(conn: psycopg.Connection, schema: str) -> dict:
    """Its catalog; names of its own tables and of public's (for references to them) print unqualified."""
    conn.execute(sql.SQL("SET LOCAL search_path = {}, public").format(sql.Identifier(schema)))
    return catalog(conn, schema)


def explain(expected: dict, actual: dict) -> str:
    return "\n".join(str(d) for d in compare(expected, actual)[:40])
