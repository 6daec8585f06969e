"""verify: does the live database hold exactly the schema that the kept snapshot describes?

The expected schema is built inside the live database, in a scratch schema of a transaction that is
always rolled back (DDL is transactional in PostgreSQL), so both sides are rendered by PostgreSQL
itself and compare by plain equality: tables, columns (type, nullability, default), constraints,
indexes, row-level security and policies. Nothing is left behind; only the new scratch objects are
locked, and never many at once: the tables are built a batch at a time, each batch in a savepoint
(with bare copies of the tables its foreign keys reference) whose catalog is read and then rolled
back, which releases its locks. A batch stays within the folder's lock budget
(``[migration] lock_budget``), so verify fits a server with a small lock table whatever the
schema's size.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import psycopg
from psycopg import sql

from generator import diff, ops, planning, render, rules
from generator import folder as folder_mod
from generator import target as target_mod
from generator.errors import MigrationError, one_line
from generator.model import Snapshot
from generator.layout import KEPT_SNAPSHOT
from generator.placement import DEFAULT as DEFAULT_PLACEMENT
from generator.placement import Placement
from generator.runner.apply import connect


@dataclass(frozen=True)
class Difference:
    # table | column | constraint | index | policy | trigger | comment | grant | view | materialized view |
    # sequence | foreign table | function | distribution
    kind: str
    table: str
    name: str
    problem: str  # "missing" | "different" | "unexpected"
    expected: str | None
    actual: str | None

    def __str__(self) -> str:
        subject = f"{self.table}.{self.name}" if self.kind in ("column", "comment") and self.name else \
            " ".join(x for x in (self.table, self.name) if x)
        what = f"{self.kind} {subject}" if subject else self.kind
        if self.problem == "missing":
            return f"missing {what}: expected {self.expected}"
        if self.problem == "unexpected":
            return f"unexpected {what}: {self.actual}"
        return f"different {what}: expected {self.expected}, found {self.actual}"


def catalog(conn: psycopg.Connection, schema: str) -> dict[tuple[str, str, str], str]:
    query = resources.files("generator.runner").joinpath("sql/catalog.sql").read_text("utf-8")
    return {(k, t, n): d for k, t, n, d in conn.execute(query, {"schema": schema}).fetchall()}


def expected_sql(snap: Snapshot, kept_rules: rules.Rules, placement: Placement = DEFAULT_PLACEMENT,
                 target: target_mod.Target = target_mod.POSTGRES) -> list[Batch]:
    """The target's SQL for the whole schema, minus distribution (built as plain local tables in the
    scratch schema; ``distribution`` checks the live tables' placement), in batches of tables that
    each lock at most the lock budget's relations: the first batch holds the statements on no table
    (extensions, functions) and is kept; each later one is built, read and rolled back."""
    plan = diff.plan(Snapshot.empty(), snap, kept_rules, placement=placement)
    local = replace(target, distribute=False)
    cost = planning.LockCost(plan.old, plan.new)
    own: dict[str, list[int]] = {}
    deps: dict[str, set[str]] = {}
    for i, op in enumerate(plan.operations):
        if op.table_name:
            own.setdefault(op.table_name, []).append(i)
            deps.setdefault(op.table_name, set()).update(cost.tables(op) - {op.table_name})
    creates = {op.table_name: i for i, op in enumerate(plan.operations) if isinstance(op, ops.CreateTable)}

    batches = [Batch((), tuple(render.statement(op, local) for op in plan.operations if not op.table_name))]
    chosen: list[str] = []
    locked: set[tuple] = set()
    referenced: set[str] = set()
    for table in own:
        mine = cost.whole(table).union(*(cost.created(t) for t in deps[table]))  # referenced: bare copies
        if chosen and len(locked | mine) > kept_rules.lock_budget:
            batches.append(_batch(plan.operations, own, creates, chosen, referenced, local))
            chosen, locked, referenced = [], set(), set()
        chosen.append(table)
        locked |= mine
        referenced |= deps[table]
    if chosen:
        batches.append(_batch(plan.operations, own, creates, chosen, referenced, local))
    return batches


@dataclass(frozen=True)
class Batch:
    tables: tuple[str, ...]  # the tables whose catalog is read from this batch ("": the kept first one)
    statements: tuple[str, ...]


def _batch(operations, own, creates, chosen: list[str], referenced: set[str], target) -> Batch:
    bare = {creates[t] for t in referenced - set(chosen) if t in creates}
    picked = sorted(bare | {i for t in chosen for i in own[t]})
    return Batch(tuple(chosen), tuple(render.statement(operations[i], target) for i in picked))


DISTRIBUTED = """
SELECT c.relname, p.partmethod, column_to_column_name(p.logicalrelid, p.partkey), p.colocationid
FROM pg_dist_partition AS p
INNER JOIN pg_class AS c ON c.oid = p.logicalrelid
WHERE c.relnamespace = to_regnamespace(quote_ident(%s))
"""


def distribution(conn: psycopg.Connection, schema: str, tables: set[str]) -> list[Difference]:
    """Citus: every table hash-distributed by tenant_id, all in one colocation group."""
    if conn.execute("SELECT to_regclass('pg_catalog.pg_dist_partition') IS NULL").fetchone()[0]:
        return [Difference("distribution", "", "", "missing", "the citus extension", "none: not a Citus database")]
    live = {t: (method, column, group) for t, method, column, group in conn.execute(DISTRIBUTED, (schema,)).fetchall()}
    groups = sorted({live[t][2] for t in tables if t in live and live[t][:2] == ("h", "tenant_id")})
    out = []
    for t in sorted(tables):
        if t not in live:
            out.append(Difference("distribution", t, "", "missing", "hash-distributed by tenant_id", "a local table"))
        elif live[t][:2] != ("h", "tenant_id"):
            method = {"h": "hash", "n": "none (a reference table or single shard)", "a": "append", "r": "range"}
            out.append(Difference("distribution", t, "", "different", "hash-distributed by tenant_id",
                                  f"{method.get(live[t][0], live[t][0])} by {live[t][1]}"))
        elif len(groups) > 1 and live[t][2] != groups[0]:
            out.append(Difference("distribution", t, "", "different", f"colocation group {groups[0]}",
                                  f"colocation group {live[t][2]}"))
    return out


def load_expected(migrations_dir: Path) -> tuple[Snapshot, rules.Rules]:
    snap, kept_rules = folder_mod.load_kept(migrations_dir)
    if snap is None:
        raise MigrationError(f"{migrations_dir / KEPT_SNAPSHOT} not found: verify compares the database with the "
                             "snapshot kept beside the migrations")
    return snap, kept_rules


def files_sql(migrations_dir: Path, up_to: int) -> list[str]:
    """The SQL of the migration files up to a version, as the expected schema of a database that
    holds only those (a no-transaction file's index is built plainly in the scratch schema; Citus's
    create_distributed_table calls are left out: the scratch tables stay local)."""
    from generator.runner import files as mfiles

    out = []
    for m in mfiles.resolve(migrations_dir).up:
        if m.version <= up_to:
            text = re.sub(r"\bCONCURRENTLY\b", "", m.sql, count=1, flags=re.I) if m.no_transaction else m.sql
            out.append(re.sub(r"^(?:SELECT|PERFORM) create_distributed_table\(.*\);$", "", text, flags=re.M))
    return out


def verify(migrations_dir: Path, database_url: str | None, up_to: int | None = None,
           placement: Placement = DEFAULT_PLACEMENT) -> list[Difference]:
    """``up_to``: compare with the schema of the migration files up to that version instead of the
    kept snapshot (baseline --target-version after a partial apply). ``placement``: the prefix the
    tables were generated with; the schema to compare (the live side is the connection's
    current_schema())."""
    target = target_mod.of_folder(migrations_dir)
    prefix = placement.prefix
    if up_to is None:
        snap, kept_rules = load_expected(migrations_dir)
        batches = expected_sql(snap, kept_rules, placement, target)
    else:
        batches = [Batch((), tuple(files_sql(migrations_dir, up_to)))]
    scratch = f"fbs_verify_{uuid.uuid4().hex[:10]}"
    with connect(database_url, placement) as conn:
        try:
            live_schema = conn.execute("SELECT current_schema()").fetchone()[0]
            live = catalog(conn, live_schema)
            with conn.transaction(force_rollback=True):
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(scratch)))
                conn.execute(sql.SQL("SET LOCAL search_path = {}, {}").format(
                    sql.Identifier(scratch), sql.Identifier(live_schema)))
                expected = _build(conn, scratch, batches)
            placement = []
            if target.distribute:
                placement = distribution(conn, live_schema, {t for (kind, t, _) in expected if kind == "table"})
        except psycopg.Error as exc:
            raise MigrationError(f"verify failed while reading the catalog: {one_line(exc)}") from None
    return compare(expected, live, prefix) + placement


def _build(conn: psycopg.Connection, scratch: str, batches: list[Batch]) -> dict[tuple[str, str, str], str]:
    """The scratch schema's catalog, batch by batch: the first batch is kept, each later one is
    built in a savepoint, read (its own tables only) and rolled back, releasing its locks."""
    first, *rest = batches
    _run(conn, first.statements)
    expected = catalog(conn, scratch)
    for batch in rest:
        with conn.transaction(force_rollback=True):
            _run(conn, batch.statements)
            mine = set(batch.tables)
            expected.update((key, d) for key, d in catalog(conn, scratch).items() if key[1] in mine)
    return expected


def _run(conn: psycopg.Connection, statements: tuple[str, ...]) -> None:
    """The statements in one round trip (each ends with its semicolon)."""
    if statements:
        conn.execute("\n".join(statements))


# Objects verify judges on their own, whether or not a table of the schema owns them
STANDALONE = ("table", "view", "materialized view", "sequence", "foreign table", "function", "grant")
# What a view, a materialized view or a SECURITY DEFINER function does with the tenant tables: the
# owner reads them past row-level security, so every tenant's rows show
PAST_RLS = "reads tenant tables as its owner, past row-level security: every tenant's rows show through it"


def compare(expected: dict, live: dict, prefix: str = "") -> list[Difference]:
    """Every object the schema should have and the database lacks or holds otherwise, and every
    object of the placement the schema does not make (with a prefix: of the prefix's names; the
    ledgers and extensions' objects are not listed, see sql/catalog.sql)."""
    tables = {t for (kind, t, _) in expected if kind == "table"}

    def judged(key) -> bool:
        kind, table, name = key
        if table in tables:
            return True
        return kind in STANDALONE and (table or name).startswith(prefix)

    out = []
    for key in sorted(expected.keys() | {k for k in live if judged(k)}):
        want, have = expected.get(key), live.get(key)
        if want == have:
            continue
        problem = "missing" if have is None else "unexpected" if want is None else "different"
        if problem == "missing" and key[0] != "table" and ("table", key[1], "") not in live:
            continue  # the whole table is reported missing once
        if problem == "missing" and key[0] == "comment" and key[2] and ("column", key[1], key[2]) not in live:
            continue  # so is a missing column, with its comment
        out.append(Difference(key[0], key[1], key[2], problem, want, _past_rls(key, have, tables)))
    return out


def _past_rls(key, have: str | None, tables: set[str]) -> str | None:
    """A view or function that lets a tenant see past row-level security is called out as such."""
    kind = key[0]
    if have is None:
        return None
    if kind in ("view", "materialized view") and "(security_invoker)" not in have and " reading " in have:
        read = have.split(" reading ", 1)[1].split(", ")
        if any(t in tables for t in read):
            return f"{have}: {PAST_RLS}"
    if kind == "function" and have == "SECURITY DEFINER":
        return f"{have}: runs as its owner, so it can read every tenant's rows past row-level security"
    return have
