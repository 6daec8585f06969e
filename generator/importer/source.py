"""The Odoo database an import reads: one REPEATABLE READ, READ ONLY transaction (a consistent picture
while Odoo keeps running), exported so that every worker reads the same snapshot
(``pg_export_snapshot``, as ``pg_dump -j`` does), and what it is checked against before anything is
written: the Odoo series, the installed modules, and every table and column the schema reads."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import psycopg
from psycopg import sql

from generator.capture.records import odoo_series
from generator.dsn import connect_error
from generator.errors import CaptureError
from generator.model import Snapshot


@lru_cache(maxsize=None)
def query(name: str) -> str:
    return resources.files("generator.importer").joinpath(f"sql/{name}.sql").read_text("utf-8")


@dataclass(frozen=True)
class Facts:
    """What the source holds that shapes the load."""

    series: str  # "17.0"
    installed: frozenset[str]  # installed modules
    columns: dict[str, dict[str, str]]  # table -> column -> type (format_type)
    # (table, column, referenced table) of every validated single-column foreign key: such a column
    # never holds an id its referenced table lacks, so no load needs to look
    validated: frozenset[tuple[str, str, str]]
    sizes: dict[str, int]  # table -> the planner's estimate of its rows


def connect(dsn: str) -> psycopg.Connection:
    """An autocommit connection (transactions are begun explicitly, see ``begin``), its settings fixed
    so that values print the same on both sides (the text checksum) and floats convert exactly."""
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=15,
                               application_name="fbs-schema import (source)")
    except psycopg.Error as exc:
        raise CaptureError(connect_error("the Odoo database", dsn, exc)) from None
    # float8 -> text gives the shortest text that reads back as the same double (PostgreSQL 12+)
    for name, value in SESSION:
        conn.execute("SELECT set_config(%s, %s, false)", (name, value))
    return conn


# Settings of every import session, source and target
SESSION = (("extra_float_digits", "1"), ("DateStyle", "ISO, YMD"), ("IntervalStyle", "postgres"))


def begin(conn: psycopg.Connection, snapshot_id: str | None = None) -> str:
    """Open the read-only snapshot transaction; with ``snapshot_id``, the one another connection
    exported. Returns the snapshot's id (for the workers)."""
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    if snapshot_id is not None:
        conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot_id)))
        return snapshot_id
    return conn.execute("SELECT pg_export_snapshot()").fetchone()[0]


def facts(conn: psycopg.Connection, tables: list[str]) -> Facts:
    """Read in the snapshot transaction: series, installed modules, columns, validated foreign keys."""
    try:
        modules = conn.execute(query("source_modules")).fetchall()
    except psycopg.errors.UndefinedTable:
        raise CaptureError("the source has no table ir_module_module: is it an Odoo database?") from None
    base = next((v for name, v in modules if name == "base"), None)
    columns: dict[str, dict[str, str]] = {}
    for table, column, ctype in conn.execute(query("source_columns"), {"tables": tables}).fetchall():
        columns.setdefault(table, {})[column] = ctype
    validated = frozenset(tuple(r) for r in conn.execute(query("source_foreign_keys")).fetchall())
    sizes = dict(conn.execute(query("source_sizes"), {"tables": tables}).fetchall())
    return Facts(odoo_series(base), frozenset(name for name, _ in modules), columns, validated, sizes)


def check(found: Facts, snapshot: Snapshot, needed: list[tuple[str, str, str]]) -> None:
    """The source must be the Odoo the migrations were made for: its series, every module of the
    snapshot installed, every (table, column, what it holds) the loads read present. CaptureError (exit 3)."""
    if found.series != snapshot.odoo_version:
        raise CaptureError(f"the Odoo database is Odoo {found.series}, but the migrations were made from a snapshot "
                           f"of Odoo {snapshot.odoo_version}; capture that database and generate its migrations first")
    wanted = set(snapshot.modules) | {m.module for m in snapshot.models if m.module}
    missing = sorted(wanted - found.installed)
    if missing:
        raise CaptureError(f"modules of the snapshot are not installed in the Odoo database: {', '.join(missing)}")
    problems: dict[str, None] = {}
    for table, column, origin in needed:
        have = found.columns.get(table)
        if have is None:
            problems[f"table {table} is missing"] = None
        elif column not in have:
            problems[f"column {table}.{column} ({origin}) is missing"] = None
    if problems:
        listed = list(problems)
        shown = "; ".join(listed[:20]) + (f"; and {len(listed) - 20} more" if len(listed) > 20 else "")
        raise CaptureError(f"the Odoo database does not hold what the snapshot describes: {shown}")
