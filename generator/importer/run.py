"""``import`` and ``import --check``: one orchestration each.

import: read the migrations folder (snapshot, rules, target) -> refuse when migrations are pending
(exit 7) -> open the source's snapshot transaction and check it is the Odoo of the snapshot (exit 3)
-> take the migration lock -> decide every row that is not carried (``integrity``; exit 7 naming
them, before anything is written) -> the tables whose Odoo rows changed since their last load (all
of them the first time) -> set their foreign keys aside (recorded in the ledger first) -> load each
table in one transaction: this tenant's earlier rows of it out, the rows in by binary COPY, the
ledger row written -> put every foreign key back NOT VALID, then VALIDATE -> unlock.

Interrupted anywhere, the tables committed so far stay (each with its ledger row), the table in
progress is rolled back, and the next run carries on: it skips the tables whose rows in the target
equal Odoo's (count and checksum of the rows an import made), loads the rest and puts the foreign
keys back. A run that finds nothing to change writes nothing and says so. So a re-run also brings
back Odoo's version of a row changed or deleted in the target since; rows the application added
(keys outside the import's range) are never touched.

--check: per table, the count and checksum of Odoo's rows as mapped against the tenant's rows; a
foreign key still set aside or NOT VALID is a difference too.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from generator import folder as folder_mod
from generator import mapping as mapping_mod
from generator import target as target_mod
from generator import tenant as tenant_rules
from generator.dsn import scrub
from generator.errors import Interrupted, MigrationError, SnapshotError, UsageError, one_line
from generator.importer import integrity as integrity_mod
from generator.importer import keys
from generator.importer import plan as plan_mod
from generator.importer import source as source_mod
from generator.importer import sql
from generator.importer.plan import Load
from generator.layout import KEPT_SNAPSHOT
from generator.placement import DEFAULT as DEFAULT_PLACEMENT
from generator.placement import Placement
from generator.runner import apply as runner
from generator.tables import ForeignKey, Schema

LEDGER = "_fbs_import"
SET_ASIDE = "_fbs_import_set_aside"
LOADED, UNCHANGED, EQUAL, DIFFERENT = "loaded", "unchanged", "equal", "different"


@dataclass(frozen=True)
class ImportOptions:
    odoo_dsn: str
    tenant: str
    database_url: str | None = None
    migrations_dir: Path = Path("migrations")
    placement: Placement = DEFAULT_PLACEMENT
    check: bool = False
    on_invalid: str = integrity_mod.STOP  # or SKIP
    skipped_path: Path | None = None  # --on-invalid skip: where the skipped rows are written (JSON lines)
    jobs: int = 2  # tables loaded at once
    wait_for_lock: float = 60.0


@dataclass(frozen=True)
class TableResult:
    table: str
    odoo_table: str
    describe: str
    action: str  # LOADED | UNCHANGED (import); EQUAL | DIFFERENT (--check)
    source_rows: int  # Odoo's rows (per-company tables: Odoo's (record, company) pairs)
    rows: int  # rows loaded; --check: the tenant's rows
    left_out: int = 0  # Odoo rows not carried (dropped with a row not carried, or skipped)
    nulled: dict[str, int] = field(default_factory=dict)  # column -> values a carried row lost
    seconds: float = 0.0
    indexes_rebuilt: int = 0  # plain indexes set aside for the load and built after it
    copy_seconds: float = 0.0  # of ``seconds``: streaming the rows
    index_seconds: float = 0.0  # of ``seconds``: building the indexes set aside
    detail: str = ""  # --check: what differs


@dataclass(frozen=True)
class ImportResult:
    tenant: str
    check: bool
    tables: tuple[TableResult, ...]
    problems: tuple[integrity_mod.Problem, ...]  # rows not carried, with why
    notes: tuple[str, ...]
    foreign_keys: int  # put back and validated (import); still set aside or NOT VALID (--check)
    seconds: float
    skipped_file: str | None = None
    phases: dict[str, float] = field(default_factory=dict)  # seconds: check, compare, set aside, load, put back, validate

    @property
    def loaded_rows(self) -> int:
        return sum(t.rows for t in self.tables if t.action == LOADED)

    @property
    def differences(self) -> tuple[TableResult, ...]:
        return tuple(t for t in self.tables if t.action == DIFFERENT)

    @property
    def ok(self) -> bool:
        return not self.differences and not (self.check and self.foreign_keys)


@dataclass
class _Context:
    options: ImportOptions
    tenant: uuid.UUID
    snapshot_sha: str
    target: target_mod.Target
    schema: Schema
    loads: tuple[Load, ...]
    snapshot_id: str
    method: str  # checksum method: "record" (PostgreSQL 14+ sources) or "text"
    excluded: dict[str, tuple[int, ...]]
    left_out: dict[str, int]
    sizes: dict[str, int]  # Odoo table -> its estimated rows
    progress: object
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase, for the report
    connections: list[psycopg.Connection] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def track(self, conn: psycopg.Connection) -> psycopg.Connection:
        with self.lock:
            self.connections.append(conn)
        return conn


def _tenant(text: str) -> uuid.UUID:
    try:
        value = uuid.UUID(text)
    except (ValueError, TypeError, AttributeError):
        raise UsageError(f"--tenant {text!r} is not a uuid (e.g. {uuid.uuid4()})") from None
    if value.int == 0:
        raise UsageError("--tenant: the nil uuid is no tenant")
    return value


def _options_checked(options: ImportOptions) -> uuid.UUID:
    if options.on_invalid not in (integrity_mod.STOP, integrity_mod.SKIP):
        raise UsageError(f"--on-invalid {options.on_invalid!r}: use stop or skip")
    if options.jobs < 1:
        raise UsageError("--jobs must be 1 or more")
    if not options.odoo_dsn:
        raise UsageError("give the Odoo database with --odoo-dsn (or ODOO_DSN)")
    return _tenant(options.tenant)


def _run_options(options: ImportOptions) -> runner.RunOptions:
    return runner.RunOptions(migrations_dir=options.migrations_dir, database_url=options.database_url,
                             placement=options.placement, wait_for_lock=options.wait_for_lock)


def _require_migrated(options: ImportOptions) -> None:
    """The target must hold every migration of the folder, unchanged: exit 7 otherwise."""
    rows = runner.status(_run_options(options))
    bad = [r for r in rows if r.state in ("changed on disk", "failed", "missing on disk")]
    if bad:
        listing = ", ".join(f"{r.version} ({r.state})" for r in bad[:5])
        raise MigrationError(f"the target's migrations do not match {options.migrations_dir}: {listing}; "
                             "see `fbs-schema status`")
    pending = [r for r in rows if r.state == "pending"]
    if pending:
        raise MigrationError(f"{len(pending)} migration(s) of {options.migrations_dir} are not applied to the target "
                             f"(the first: {pending[0].version} {pending[0].description}); run `fbs-schema migrate` "
                             "first: import loads into the schema the migrations make")


def _folder(options: ImportOptions):
    snap, rules = folder_mod.load_kept(options.migrations_dir)
    if snap is None:
        raise SnapshotError(f"{options.migrations_dir} holds no {KEPT_SNAPSHOT}: generate and migrate first")
    from generator import snapshot as snapshots

    sha = snapshots.sha256((options.migrations_dir / KEPT_SNAPSHOT).read_text("utf-8"))
    return snap, rules, sha


def run(options: ImportOptions, progress) -> ImportResult:
    """Load (or, with ``options.check``, compare) the tenant's rows; see the module doc."""
    started = time.perf_counter()
    tenant = _options_checked(options)
    snap, rules, sha = _folder(options)
    target = target_mod.of_folder(options.migrations_dir)
    schema = tenant_rules.build(snap, rules, options.placement)
    mapping = mapping_mod.of(schema)
    _require_migrated(options)
    src = source_mod.connect(options.odoo_dsn)
    try:
        snapshot_id = source_mod.begin(src)
        progress.step("reading the Odoo database (one consistent snapshot)")
        facts = source_mod.facts(src, plan_mod.needed(snap, mapping))
        source_mod.check(facts, snap, [])
        loads = plan_mod.plans(mapping, snap, facts, tenant)
        source_mod.check(facts, snap, [n for load in loads for n in load.needed])
        method = _checksum_method(src, options)
        checked = time.perf_counter()
        found = integrity_mod.check(src, loads, options.on_invalid, progress.step)
        checked = time.perf_counter() - checked
        _refuse_invalid(found, options)
        ctx = _Context(options, tenant, sha, target, schema, loads, snapshot_id, method, found.frozen(),
                       {k: len(v) for k, v in found.excluded.items()}, facts.sizes, progress, {"check": checked})
        skipped = _write_skipped(found, options) if options.on_invalid == integrity_mod.SKIP else None
        notes = _notes(src, loads, snap)
        if options.check:
            tables, fks = _check(ctx)
        else:
            with runner.locked(_run_options(options), progress) as conn:
                tables, fks = _import(ctx, conn)
        return ImportResult(str(tenant), options.check, tables, tuple(found.problems), notes, fks,
                            time.perf_counter() - started, skipped, {k: round(v, 3) for k, v in ctx.phases.items()})
    except psycopg.Error as exc:
        raise MigrationError(f"the import failed: {scrub(one_line(exc), options.odoo_dsn, options.database_url)}; "
                             "the tables loaded before stay (each with its ledger row): run the same command again "
                             "to carry on") from None
    finally:
        src.close()


def _checksum_method(src: psycopg.Connection, options: ImportOptions) -> str:
    """``record`` (hash_record_extended: each value by its type's hash, PostgreSQL 14+) where both
    servers have it, else ``text`` (the row's text, the same on both sides: the sessions' settings are
    fixed, source.SESSION)."""
    with runner.connect(options.database_url, options.placement) as conn:
        target_version = conn.info.server_version
    return "record" if min(src.info.server_version, target_version) >= 140000 else "text"


def _refuse_invalid(found: integrity_mod.Integrity, options: ImportOptions) -> None:
    invalid = found.invalid
    if not invalid or options.on_invalid == integrity_mod.SKIP:
        return
    by_table: dict[str, int] = {}
    for p in invalid:
        by_table[p.table] = by_table.get(p.table, 0) + 1
    listing = "\n".join(f"  - {p.table}: {p.describe()}" for p in invalid[:integrity_mod.SHOWN])
    more = f"\n  ... and {len(invalid) - integrity_mod.SHOWN} more" if len(invalid) > integrity_mod.SHOWN else ""
    tables = ", ".join(f"{t} ({n})" for t, n in sorted(by_table.items()))
    raise MigrationError(
        f"{len(invalid)} Odoo row(s) hold values the generated schema refuses, in {tables}; nothing was "
        f"written:\n{listing}{more}\nFix them in Odoo, or give --on-invalid skip to load everything else and "
        "write the skipped rows to a file")


def _write_skipped(found: integrity_mod.Integrity, options: ImportOptions) -> str | None:
    """--on-invalid skip: every row not carried, one JSON object per line."""
    path = options.skipped_path or Path(f"fbs-import-skipped-{options.tenant}.jsonl")
    lines = [json.dumps({"table": p.table, "odoo_table": p.odoo_table, "odoo_id": p.odoo_id, "column": p.column,
                         "value": p.value, "reason": p.reason, "action": p.action}, sort_keys=True)
             for p in found.problems]
    try:
        path.write_text("".join(line + "\n" for line in lines), "utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write the skipped rows to {path}: {exc.strerror}") from None
    return str(path)


def _notes(src: psycopg.Connection, loads: tuple[Load, ...], snap) -> tuple[str, ...]:
    """What the report states besides the tables: values no table of the schema can hold."""
    out = ["binary fields and Odoo's attachment file store are not carried (no column holds them)"]
    for load in loads:
        if load.company and load.company.way == plan_mod.IR_PROPERTY:
            defaults, every = src.execute(sql.property_stats(load)).fetchone()
            if defaults:
                out.append(f"{load.company.model}: {defaults} company default(s) of its company-dependent fields "
                           "(ir_property rows without a record) are not carried: a row of "
                           f"{load.table} is one record's values for one company")
            if every:
                out.append(f"{load.company.model}: {every} ir_property row(s) without a company are not carried")
    return tuple(out)


# -- the loads ----------------------------------------------------------------------------------

def _target_connection(ctx: _Context) -> psycopg.Connection:
    conn = ctx.track(runner.connect(ctx.options.database_url, ctx.options.placement))
    for name, value in source_mod.SESSION:
        conn.execute("SELECT set_config(%s, %s, false)", (name, value))
    return conn


def _source_connection(ctx: _Context) -> psycopg.Connection:
    conn = ctx.track(source_mod.connect(ctx.options.odoo_dsn))
    source_mod.begin(conn, ctx.snapshot_id)
    return conn


def _ensure_ledger(conn: psycopg.Connection) -> None:
    conn.execute(source_mod.query("ledger"))


def _ledger_rows(conn: psycopg.Connection, tenant: uuid.UUID) -> dict[str, tuple[int, str, str]]:
    rows = conn.execute(f"SELECT table_name, loaded_rows, checksum, snapshot_sha256 FROM {LEDGER} "
                        "WHERE tenant_id = %s AND done", (tenant,)).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _import(ctx: _Context, lock_conn: psycopg.Connection) -> tuple[tuple[TableResult, ...], int]:
    _ensure_ledger(lock_conn)
    previous = _ledger_rows(lock_conn, ctx.tenant)
    results: dict[str, TableResult] = {}
    to_load = [x for x in ctx.loads if x.table not in previous or previous[x.table][2] != ctx.snapshot_sha]
    candidates = [x for x in ctx.loads if x not in to_load]
    clock = time.perf_counter()
    if candidates:
        ctx.progress.step(f"comparing {len(candidates)} loaded table(s) with Odoo's rows")
        for load, (odoo, ours) in _parallel(ctx, candidates, _fingerprints):
            if odoo == ours:
                results[load.table] = TableResult(load.table, load.odoo_table, load.describe, UNCHANGED, odoo[0],
                                                  ours[0], ctx.left_out.get(load.odoo_table, 0) if load.row_id else 0)
            else:
                to_load.append(load)
    clock = _phase(ctx, "compare", clock)
    set_aside = _set_aside(ctx, lock_conn, [x.table for x in to_load])
    clock = _phase(ctx, "set aside", clock)
    if to_load:
        ctx.progress.step(f"loading {len(to_load)} table(s), {ctx.options.jobs} at a time")
        # the largest first: the last table to finish is a small one, whatever the number of jobs
        biggest_first = sorted(to_load, key=lambda x: (-ctx.sizes.get(x.odoo_table, 0), x.table))
        for load, result in _parallel(ctx, biggest_first, _load_table):
            results[load.table] = result
    _phase(ctx, "load", clock)
    restored = _put_back(ctx, lock_conn) if set_aside or _pending_set_aside(lock_conn) else 0
    return tuple(results[x.table] for x in ctx.loads), restored


def _phase(ctx: _Context, name: str, since: float) -> float:
    now = time.perf_counter()
    ctx.phases[name] = ctx.phases.get(name, 0.0) + now - since
    return now


def _parallel(ctx: _Context, loads: list[Load], work):
    """``work(ctx, load, source, target)`` for each load on ``jobs`` workers, each with its own source
    connection (in the same snapshot) and target connection. Yields (load, result) as they finish.
    Ctrl-C cancels the statements in progress (their transactions roll back) and raises Interrupted."""
    local = threading.local()
    made: list[tuple[psycopg.Connection, psycopg.Connection]] = []
    done: list[str] = []

    def task(load: Load):
        if not hasattr(local, "pair"):
            local.pair = (_source_connection(ctx), _target_connection(ctx))
            made.append(local.pair)
        result = work(ctx, load, *local.pair)
        done.append(load.table)
        return load, result

    pool = ThreadPoolExecutor(max_workers=min(ctx.options.jobs, max(1, len(loads))), thread_name_prefix="fbs-import")
    futures = [pool.submit(task, load) for load in loads]
    try:
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
            for f in finished:
                if f.exception() is not None:
                    for other in pending:
                        other.cancel()
                    raise f.exception()
                yield f.result()
    except KeyboardInterrupt:
        for f in futures:
            f.cancel()
        for pair in made:
            for conn in pair:
                try:
                    conn.cancel()
                except psycopg.Error:
                    pass
        pool.shutdown(wait=True, cancel_futures=True)
        raise Interrupted(f"interrupted: {len(done)} table(s) committed ({', '.join(sorted(done)[:10]) or 'none'}"
                          f"{', ...' if len(done) > 10 else ''}); the table(s) in progress were rolled back. Run the "
                          "same command again to carry on.") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for pair in made:
            for conn in pair:
                conn.close()


def _fingerprints(ctx: _Context, load: Load, src: psycopg.Connection, tgt: psycopg.Connection):
    """(Odoo's rows as mapped, the tenant's rows an import made): (count, checksum) each. Equal when
    the table holds exactly what a load would write: nothing changed in Odoo, nothing in the target."""
    odoo = src.execute(sql.source_fingerprint(load, ctx.tenant, ctx.excluded, ctx.method)).fetchone()
    ours = tgt.execute(sql.target_fingerprint(load, ctx.tenant, ctx.method, imported_only=True)).fetchone()
    return (odoo[0], _checksum(ctx, odoo[1])), (ours[0], _checksum(ctx, ours[1]))


def _checksum(ctx: _Context, total) -> str:
    return f"{ctx.method}:{int(total) & 0xFFFFFFFFFFFFFFFF:016x}"


def _settings(conn: psycopg.Connection, target: target_mod.Target) -> None:
    for name, value in target.settings:
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))


SMALL = 10_000  # Odoo rows: a smaller table is loaded with its indexes in place (the DDL would cost more)


def _load_table(ctx: _Context, load: Load, src: psycopg.Connection, tgt: psycopg.Connection) -> TableResult:
    """One table in one transaction: this tenant's earlier rows of it out, Odoo's rows in, its ledger row."""
    start = time.perf_counter()
    stats = src.execute(sql.stats(load, ctx.tenant, ctx.excluded)).fetchone()
    source_rows, nulled = stats[0], {v.column: n for v, n in zip(sql.counted(load), stats[1:]) if n}
    rebuilt: list = []
    copy_seconds = index_seconds = 0.0
    try:
        with tgt.transaction():
            _settings(tgt, ctx.target)
            if tgt.execute(sql.any_row(load)).fetchone()[0]:
                tgt.execute(sql.delete(load, ctx.tenant))
                freeze = False
            elif source_rows >= SMALL and ctx.target.transactional_ddl:
                freeze, rebuilt = _set_indexes_aside(ctx, tgt, load)
            else:
                freeze = False
            if source_rows:
                copy_seconds = _copy(ctx, load, src, tgt, freeze)
            started = time.perf_counter()
            for index in rebuilt:
                tgt.execute(sql.create_index(index, ctx.target))
            index_seconds = time.perf_counter() - started
            rows, total = tgt.execute(sql.target_fingerprint(load, ctx.tenant, ctx.method, imported_only=True)).fetchone()
            seconds = time.perf_counter() - start
            tgt.execute(source_mod.query("ledger_write"), {
                "tenant": ctx.tenant, "table": load.table, "odoo_table": load.odoo_table, "source_rows": source_rows,
                "rows": rows, "checksum": _checksum(ctx, total), "sha": ctx.snapshot_sha, "seconds": seconds})
    except psycopg.errors.QueryCanceled:
        raise
    except psycopg.Error as exc:
        raise _load_failure(load, ctx.tenant, exc) from None
    if rows:
        ctx.progress.step(f"loaded {load.table}: {rows:,} row(s) in {seconds:.2f} s")
    left_out = ctx.left_out.get(load.odoo_table, 0) if load.row_id else max(0, source_rows - rows)
    return TableResult(load.table, load.odoo_table, load.describe, LOADED, source_rows, rows, left_out, nulled,
                       round(seconds, 3), len(rebuilt), round(copy_seconds, 3), round(index_seconds, 3))


def _set_indexes_aside(ctx: _Context, tgt: psycopg.Connection, load: Load) -> tuple[bool, list]:
    """A table no tenant has rows in yet: its plain indexes are built once after the rows are in, far
    faster than row by row, in the same transaction (never left without them). Emptied by TRUNCATE
    (it holds nothing, and its foreign keys are set aside), its rows go in frozen: the index builds
    and the validations read them without visibility checks. (freeze, the indexes set aside)"""
    tgt.execute("SET LOCAL maintenance_work_mem = '256MB'")
    freeze = ctx.target.copy_freeze
    if freeze:
        tgt.execute(sql.truncate(load))
    present = {r[0] for r in tgt.execute(source_mod.query("target_indexes"), {"table": load.table}).fetchall()}
    rebuilt = [i for i in ctx.schema.table(load.table).indexes if not i.unique and i.name in present]
    for index in rebuilt:
        tgt.execute(sql.drop_index(index, ctx.target))
    return freeze, rebuilt


def _copy(ctx: _Context, load: Load, src: psycopg.Connection, tgt: psycopg.Connection, freeze: bool) -> float:
    """Odoo's rows, mapped by the source's query, streamed into the target's COPY (binary, never a
    whole table in memory). Returns the seconds it took."""
    started = time.perf_counter()
    with src.cursor().copy(sql.copy_out_source(load, ctx.tenant, ctx.excluded)) as out, \
            tgt.cursor().copy(sql.copy_in(load, freeze)) as into:
        for data in out:
            into.write(data)
    return time.perf_counter() - started


_FAILING_ROW = re.compile(r"Failing row contains \([^,]*, ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


def _load_failure(load: Load, tenant_id: uuid.UUID, exc: psycopg.Error) -> MigrationError:
    """A row the target refused during the COPY (a constraint no check could foresee): the table, the
    Odoo row (its id read back from the key) and the constraint named; nothing of the table committed."""
    diag = exc.diag
    where = ""
    found = _FAILING_ROW.search(diag.message_detail or "")
    if found and load.row_id:
        key = uuid.UUID(found.group(1))
        if key.hex[:16] == keys.prefix(tenant_id, load.odoo_table):
            where = f", Odoo id {int(key.hex[16:], 16) & keys.LOW_62}"
    what = f", constraint {diag.constraint_name}" if diag.constraint_name else ""
    column = f", column {diag.column_name}" if diag.column_name else ""
    detail = f"; {diag.message_detail}" if diag.message_detail and not where else ""
    return MigrationError(f"loading {load.table} (from {load.odoo_table}) failed{where}{what}{column}: "
                          f"{diag.message_primary or one_line(exc)}{detail}; nothing of {load.table} was committed "
                          "(tables loaded before it stay; run the command again after fixing the cause)")


# -- foreign keys set aside and put back ---------------------------------------------------------

def _foreign_keys(schema: Schema, tables: set[str]) -> list[tuple[str, ForeignKey]]:
    """The schema's foreign keys that touch ``tables`` (from them, or to them)."""
    return [(t.name, k) for t in schema.tables for k in t.foreign_keys if t.name in tables or k.ref_table in tables]


def _pending_set_aside(conn: psycopg.Connection) -> bool:
    return bool(conn.execute(f"SELECT EXISTS (SELECT FROM {SET_ASIDE})").fetchone()[0])


def _set_aside(ctx: _Context, conn: psycopg.Connection, tables: list[str]) -> int:
    """Record, then drop, the foreign keys touching the tables to load: a table's in one transaction
    with their ledger rows. Where DDL is not transactional (YugabyteDB: each statement commits on its
    own), the ledger rows are committed first, so a key is never dropped unrecorded."""
    if not tables:
        return 0
    present = {(t, n) for t, n, _ in conn.execute(source_mod.query("target_constraints")).fetchall()}
    chosen = [(t, k) for t, k in _foreign_keys(ctx.schema, set(tables)) if (t, k.name) in present]
    if not chosen:
        return 0
    ctx.progress.step(f"setting {len(chosen)} foreign key(s) aside for the load")
    for table, batch in _by_table(chosen):  # a transaction per table: a bounded number of locks each
        with conn.transaction():
            _settings(conn, ctx.target)
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {SET_ASIDE} (table_name, constraint_name) VALUES (%s, %s) "
                                "ON CONFLICT DO NOTHING", [(table, k.name) for k in batch])
            if ctx.target.transactional_ddl:
                for k in batch:
                    conn.execute(sql.drop_foreign_key(table, k, ctx.target))
        if not ctx.target.transactional_ddl:
            for k in batch:
                conn.execute(sql.drop_foreign_key(table, k, ctx.target))
    return len(chosen)


def _by_table(pairs: list[tuple[str, ForeignKey]]) -> list[tuple[str, list[ForeignKey]]]:
    grouped: dict[str, list[ForeignKey]] = {}
    for table, k in pairs:
        grouped.setdefault(table, []).append(k)
    return sorted(grouped.items())


def _put_back(ctx: _Context, conn: psycopg.Connection) -> int:
    """Every foreign key set aside (by this run or an interrupted one) added back NOT VALID, then
    validated; the ledger forgets it only then."""
    recorded = conn.execute(f"SELECT table_name, constraint_name FROM {SET_ASIDE} ORDER BY 1, 2").fetchall()
    wanted = {(t.name, k.name): k for t in ctx.schema.tables for k in t.foreign_keys}
    present = {(t, n): v for t, n, v in conn.execute(source_mod.query("target_constraints")).fetchall()}
    ctx.progress.step(f"putting {len(recorded)} foreign key(s) back")
    clock = time.perf_counter()
    missing = [(t, wanted[(t, name)]) for t, name in recorded if (t, name) in wanted and (t, name) not in present]
    for table, batch in _by_table(missing):
        with conn.transaction():
            _settings(conn, ctx.target)
            for k in batch:
                conn.execute(sql.add_foreign_key(table, k, ctx.target))
    clock = _phase(ctx, "put back", clock)
    to_validate = [(t, wanted[(t, n)]) for t, n in recorded if (t, n) in wanted and not present.get((t, n), False)]
    odoo_of = {x.table: x.odoo_table for x in ctx.loads}
    to_validate.sort(key=lambda pair: (-ctx.sizes.get(odoo_of.get(pair[0], ""), 0), pair[0], pair[1].name))
    ctx.progress.step(f"validating {len(to_validate)} foreign key(s)")
    failures: list[str] = []
    local = threading.local()
    made: list[psycopg.Connection] = []

    def validate(pair):
        t, k = pair
        if not hasattr(local, "conn"):
            local.conn = _target_connection(ctx)
            made.append(local.conn)
        try:
            with local.conn.transaction():
                _settings(local.conn, ctx.target)
                local.conn.execute(sql.validate_foreign_key(t, k, ctx.target))
        except psycopg.Error as exc:
            detail = f" ({exc.diag.message_detail})" if exc.diag.message_detail else ""
            failures.append(f"{t}.{k.name}: {exc.diag.message_primary or one_line(exc)}{detail}")

    pool = ThreadPoolExecutor(max_workers=ctx.options.jobs, thread_name_prefix="fbs-validate")
    try:
        list(pool.map(validate, to_validate))
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        for c in made:
            c.cancel()
        raise Interrupted("interrupted while validating the foreign keys: the rows are loaded, the foreign keys are "
                          "back NOT VALID; run the same command again to validate them") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for c in made:
            c.close()
    if failures:
        raise MigrationError("foreign keys could not be validated after the load (they stay NOT VALID and are "
                             "recorded in " + SET_ASIDE + "; the next run validates them again):\n" +
                             "\n".join(f"  - {f}" for f in failures[:20]))
    conn.execute(f"DELETE FROM {SET_ASIDE}")
    _phase(ctx, "validate", clock)
    return len(recorded)


# -- --check ------------------------------------------------------------------------------------

def _check(ctx: _Context) -> tuple[tuple[TableResult, ...], int]:
    def compare(ctx: _Context, load: Load, src, tgt) -> TableResult:
        s_rows, s_sum = src.execute(sql.source_fingerprint(load, ctx.tenant, ctx.excluded, ctx.method)).fetchone()
        t_rows, t_sum = tgt.execute(sql.target_fingerprint(load, ctx.tenant, ctx.method,
                                                           imported_only=False)).fetchone()
        equal = (s_rows, s_sum) == (t_rows, t_sum)
        detail = "" if equal else (
            f"Odoo has {s_rows:,} row(s), the tenant {t_rows:,}" if s_rows != t_rows
            else f"{s_rows:,} row(s) on both sides, but their values differ (checksum)")
        return TableResult(load.table, load.odoo_table, load.describe, EQUAL if equal else DIFFERENT, s_rows, t_rows,
                           detail=detail)

    results = {load.table: r for load, r in _parallel(ctx, list(ctx.loads), compare)}
    conn = _target_connection(ctx)
    try:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (SET_ASIDE,)).fetchone()[0]
        waiting = conn.execute(f"SELECT count(*) FROM {SET_ASIDE}").fetchone()[0] if exists else 0
        wanted = {(t.name, k.name) for t in ctx.schema.tables for k in t.foreign_keys}
        not_valid = sum(1 for t, n, v in conn.execute(source_mod.query("target_constraints")).fetchall()
                        if (t, n) in wanted and not v)
    finally:
        conn.close()
    return tuple(results[x.table] for x in ctx.loads), waiting + not_valid
