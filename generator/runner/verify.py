"""verify: does the live database hold exactly the schema that the kept snapshot describes?

The expected schema is built inside the live database, in a scratch schema of a transaction that is
always rolled back (DDL is transactional in PostgreSQL), so both sides are rendered by PostgreSQL
itself and compare by plain equality: tables, columns (type, nullability, default), constraints,
indexes, row-level security and policies. Nothing is left behind; only the new scratch objects are
locked.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import psycopg
from psycopg import sql

from generator import diff, render, rules, tenant
from generator.errors import MigrationError, one_line
from generator.model import Snapshot
from generator.layout import KEPT_SNAPSHOT
from generator.placement import DEFAULT as DEFAULT_PLACEMENT
from generator.placement import Placement
from generator.runner.apply import connect


@dataclass(frozen=True)
class Difference:
    kind: str  # table | column | constraint | index | policy
    table: str
    name: str
    problem: str  # "missing" | "different" | "unexpected"
    expected: str | None
    actual: str | None

    def __str__(self) -> str:
        what = f"{self.kind} {self.table}" + (f".{self.name}" if self.kind == "column" else f" {self.name}" if self.name else "")
        if self.problem == "missing":
            return f"missing {what}: expected {self.expected}"
        if self.problem == "unexpected":
            return f"unexpected {what}: {self.actual}"
        return f"different {what}: expected {self.expected}, found {self.actual}"


def catalog(conn: psycopg.Connection, schema: str) -> dict[tuple[str, str, str], str]:
    query = resources.files("generator.runner").joinpath("sql/catalog.sql").read_text("utf-8")
    return {(k, t, n): d for k, t, n, d in conn.execute(query, {"schema": schema}).fetchall()}


def expected_sql(snap: Snapshot, kept_rules: rules.Rules, placement: Placement = DEFAULT_PLACEMENT) -> list[str]:
    operations = diff.diff_schemas(tenant.build(Snapshot.empty()), tenant.build(snap, kept_rules, placement))
    return [render.statement(op) for op in operations]


def load_expected(migrations_dir: Path) -> tuple[Snapshot, rules.Rules]:
    snap, kept_rules = render.load_kept(migrations_dir)
    if snap is None:
        raise MigrationError(f"{migrations_dir / KEPT_SNAPSHOT} not found: verify compares the database with the "
                             "snapshot kept beside the migrations")
    return snap, kept_rules


def files_sql(migrations_dir: Path, up_to: int) -> list[str]:
    """The SQL of the migration files up to a version, as the expected schema of a database that
    holds only those (a no-transaction file's index is built plainly in the scratch schema)."""
    from generator.runner import files as mfiles

    out = []
    for m in mfiles.resolve(migrations_dir).up:
        if m.version <= up_to:
            out.append(re.sub(r"\bCONCURRENTLY\b", "", m.sql, count=1, flags=re.I) if m.no_transaction else m.sql)
    return out


def verify(migrations_dir: Path, database_url: str | None, up_to: int | None = None,
           placement: Placement = DEFAULT_PLACEMENT) -> list[Difference]:
    """``up_to``: compare with the schema of the migration files up to that version instead of the
    kept snapshot (baseline --target-version after a partial apply). ``placement``: the prefix the
    tables were generated with; the schema to compare (the live side is the connection's
    current_schema())."""
    if up_to is None:
        snap, kept_rules = load_expected(migrations_dir)
        statements = expected_sql(snap, kept_rules, placement)
    else:
        statements = files_sql(migrations_dir, up_to)
    scratch = f"fbs_verify_{uuid.uuid4().hex[:10]}"
    with connect(database_url, placement) as conn:
        try:
            live_schema = conn.execute("SELECT current_schema()").fetchone()[0]
            live = catalog(conn, live_schema)
            with conn.transaction(force_rollback=True):
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(scratch)))
                conn.execute(sql.SQL("SET LOCAL search_path = {}, {}").format(
                    sql.Identifier(scratch), sql.Identifier(live_schema)))
                for statement in statements:
                    conn.execute(statement)
                expected = catalog(conn, scratch)
        except psycopg.Error as exc:
            raise MigrationError(f"verify failed while reading the catalog: {one_line(exc)}") from None
    return compare(expected, live)


def compare(expected: dict, live: dict) -> list[Difference]:
    tables = {t for (kind, t, _) in expected if kind == "table"}
    out = []
    for key in sorted(expected.keys() | {k for k in live if k[1] in tables}):
        want, have = expected.get(key), live.get(key)
        if want == have:
            continue
        problem = "missing" if have is None else "unexpected" if want is None else "different"
        if problem == "missing" and key[0] != "table" and ("table", key[1], "") not in live:
            continue  # the whole table is reported missing once
        out.append(Difference(key[0], key[1], key[2], problem, want, have))
    return out
