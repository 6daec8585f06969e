"""The tables of an Odoo database as PostgreSQL holds them (``compare-odoo``): columns with their
types, constraints (primary key, foreign key, UNIQUE, CHECK) and the unique indexes that back no
constraint, read from the catalog (``sql/odoo_catalog.sql``) of the same database that
``capture --odoo-dsn`` reads. The connection is read-only."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg.rows import dict_row

from generator.dsn import connect_error
from generator.errors import CaptureError, one_line

# pg_constraint.confdeltype -> the ON DELETE words
ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
KINDS = {"p": "primary key", "f": "foreign key", "u": "unique", "c": "check", "i": "unique index"}


@dataclass(frozen=True)
class PgColumn:
    name: str
    type: str  # format_type(), e.g. "integer", "character varying(3)", "double precision"
    not_null: bool = False


@dataclass(frozen=True)
class PgConstraint:
    name: str
    kind: str  # "primary key" | "foreign key" | "unique" | "check" | "unique index"
    columns: tuple[str, ...]  # "" for an expression of a unique index
    definition: str  # pg_get_constraintdef / pg_get_indexdef
    ref_table: str | None = None  # foreign key
    on_delete: str | None = None  # foreign key: CASCADE, RESTRICT, SET NULL, NO ACTION, SET DEFAULT


@dataclass(frozen=True)
class PgTable:
    name: str
    columns: tuple[PgColumn, ...]
    constraints: tuple[PgConstraint, ...]

    def column(self, name: str) -> PgColumn | None:
        return next((c for c in self.columns if c.name == name), None)


def _query() -> str:
    return resources.files("generator.capture").joinpath("sql/odoo_catalog.sql").read_text("utf-8")


def from_rows(rows: list[dict]) -> tuple[PgTable, ...]:
    tables = []
    for r in rows:
        constraints = tuple(
            PgConstraint(
                name=c["name"], kind=KINDS[c["kind"]], columns=tuple(c["columns"]), definition=c["definition"],
                ref_table=c["ref_table"], on_delete=ON_DELETE.get(c["on_delete"] or ""),
            )
            for c in (*r["constraints"], *r["unique_indexes"])
        )
        columns = tuple(PgColumn(c["name"], c["type"], bool(c["not_null"])) for c in r["columns"])
        tables.append(PgTable(r["table_name"], columns, constraints))
    return tuple(sorted(tables, key=lambda t: t.name))


def read(dsn: str) -> tuple[PgTable, ...]:
    """Every table (relkind r/p) of the public schema of the database ``dsn``."""
    try:
        conn = psycopg.connect(dsn, row_factory=dict_row, connect_timeout=15)
    except psycopg.Error as exc:
        raise CaptureError(connect_error("the Odoo database", dsn, exc)) from None
    with conn:
        conn.read_only = True
        try:
            with conn.cursor() as cur:
                cur.execute(_query())
                rows = cur.fetchall()
        except psycopg.Error as exc:
            raise CaptureError(f"reading the catalog of the Odoo database failed: {one_line(exc)}") from None
    return from_rows(rows)
