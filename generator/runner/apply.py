"""migrate / revert / baseline: one loop over a ``ledger.Ledger``; status: the ledger beside the files.

Every run: resolve the files -> lock (the target's strategy) -> its own preparation (migrate: ensure
the ledger; baseline: verify the schema, then ensure the ledger) -> refuse on a dirty row, an edited
or a missing applied file -> choose its migrations (migrate: the pending ones, after refusing on an
INVALID index; revert: the newest applied ones, each with its down file; baseline: the pending ones)
-> one step each -> unlock in ``finally``. A step of migrate runs the file in its own transaction
together with its ledger row (files starting with ``-- no-transaction`` run alone), retried when it
hits lock_timeout, and records the execution time after the commit; revert's deletes the row
instead; baseline's only writes the row, every row in one transaction. A migration that fails
leaves no trace; a process killed mid-migration leaves its transaction uncommitted, so PostgreSQL
rolls it back.
"""

from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import psycopg
from psycopg import errors as pgerrors

from generator import target as target_mod
from generator.errors import MigrationError, UsageError
from generator.placement import DEFAULT as DEFAULT_PLACEMENT
from generator.placement import Placement
from generator.runner import failures
from generator.runner import files as mfiles
from generator.runner import ledger
from generator.target import LockKind


@dataclass(frozen=True)
class RunOptions:
    migrations_dir: Path = Path("migrations")
    database_url: str | None = None
    target_version: int | None = None
    dry_run: bool = False
    ignore_missing: bool = False
    wait_for_lock: float = 60.0  # seconds to poll for the advisory lock
    lock_timeout: str = "10s"  # SET LOCAL lock_timeout for each migration
    statement_timeout: str = "0"  # SET LOCAL statement_timeout (0 = none)
    retries: int = 3  # retries of a migration that hit lock_timeout
    placement: Placement = DEFAULT_PLACEMENT  # a schema: search_path, ledger and lock key there
    # None: as the folder's target says (fbs-target.json, ``Target.lock``); else "advisory"
    # (pg_try_advisory_lock, sqlx's key) or "table" (a row lock in _fbs_migration_lock, for YugabyteDB
    # without advisory locks), or the ``LockKind`` itself
    lock: str | LockKind | None = None

    @property
    def timeouts(self) -> ledger.Timeouts:
        return ledger.Timeouts(self.lock_timeout, self.statement_timeout)


@dataclass(frozen=True)
class Step:
    version: int
    description: str
    file: str
    action: str  # "applied" | "would apply" | "reverted" | "would revert" | "recorded"
    seconds: float = 0.0


@dataclass(frozen=True)
class StatusRow:
    version: int
    description: str
    file: str | None
    state: str  # "applied" | "pending" | "changed on disk" | "missing on disk" | "failed"
    installed_on: str | None = None
    execution_ms: float | None = None


def database_url(explicit: str | None) -> str:
    if explicit:
        return explicit
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    if any(os.environ.get(k) for k in ("PGHOST", "PGDATABASE", "PGSERVICE", "PGPORT", "PGUSER")):
        return ""  # libpq reads the PG* variables
    raise MigrationError("no database: give --database-url, or set DATABASE_URL or the PG* variables (PGHOST, PGDATABASE, ...)")


def connect(url: str | None, placement: Placement = DEFAULT_PLACEMENT) -> psycopg.Connection:
    """An autocommit connection; with a schema placement, its search_path is that schema alone
    (so unqualified names, the ledger included, resolve there, as under sqlx with
    ``options=-csearch_path=<schema>``)."""
    dsn = database_url(url)
    try:
        conn = psycopg.connect(dsn, autocommit=True, application_name="fbs-schema", connect_timeout=15)
    except psycopg.Error as exc:
        from generator.dsn import connect_error

        raise MigrationError(connect_error("the database", dsn, exc)) from None
    try:  # a backend whose client died stops at once instead of finishing a long statement (PG 14+)
        conn.execute("SET client_connection_check_interval = '1s'")
    except psycopg.Error:
        pass
    if placement.schema:
        try:
            use_schema(conn, placement.schema)
        except BaseException:
            conn.close()
            raise
    return conn


def use_schema(conn: psycopg.Connection, schema: str) -> None:
    found = conn.execute("SELECT to_regnamespace(quote_ident(%s)) IS NOT NULL", (schema,)).fetchone()[0]
    if not found:
        database = conn.execute("SELECT current_database()").fetchone()[0]
        raise MigrationError(f"schema {schema!r} does not exist in database {database!r}; "
                             "`fbs-schema setup SOLUTION` creates it")
    conn.execute("SELECT set_config('search_path', quote_ident(%s), false)", (schema,))


def _check_ledger(book: ledger.Ledger, migrations: mfiles.Migrations, ignore_missing: bool) -> dict[int, ledger.Applied]:
    dirty = book.dirty()
    if dirty is not None:
        raise MigrationError(f"migration {dirty} is partially applied; fix and remove row from `_sqlx_migrations` table")
    on_disk = migrations.by_version()
    applied = {a.version: a for a in book.applied()}
    for version, row in applied.items():
        m = on_disk.get(version)
        if m is None:
            if not ignore_missing:
                raise MigrationError(
                    f"migration {version} ({row.description}) was previously applied but is missing in the resolved "
                    "migrations (give --ignore-missing to go on without it)"
                )
        elif m.checksum != row.checksum:
            raise MigrationError(f"migration {version} was previously applied but has been modified ({m.path})")
    return applied


def _notice(progress):
    """Waits and retries are notices (shown in CI logs too); a reporter without notice() gets steps."""
    return getattr(progress, "notice", progress.step)


FILE_LOCK_TIMEOUT = re.compile(r"^SET LOCAL lock_timeout = '([^']*)';", re.M)


def lock_timeout_in_force(sql: str, options: RunOptions) -> str:
    """The runner sets --lock-timeout first; a generated file's own SET LOCAL (from the rules file's
    [migration] section, reviewed with the file and the same under psql and sqlx) comes after it and
    wins. So --lock-timeout / --statement-timeout govern files that set none (hand-written ones,
    no-transaction ones)."""
    found = FILE_LOCK_TIMEOUT.search(sql)
    return f"{found.group(1)}, set by the file" if found else options.lock_timeout


def _retried(book: ledger.Ledger, m: mfiles.MigrationFile, run: Callable[[], float], options: RunOptions,
             progress) -> float:
    """``run`` (the ledger applying or reverting ``m``), again after a lock timeout up to
    ``options.retries`` times; a database error becomes a ``MigrationError`` naming file and line."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return run()
        except pgerrors.InvalidParameterValue as exc:
            raise MigrationError(f"--lock-timeout / --statement-timeout: {exc.diag.message_primary}") from None
        except pgerrors.LockNotAvailable as exc:
            if attempt > options.retries:
                raise failures.failure(m, exc, book, f"could not take its locks after {attempt} attempts") from None
            _notice(progress)(f"{m.version} {m.description}: lock timeout ({lock_timeout_in_force(m.sql, options)}), "
                              f"retry {attempt}/{options.retries}")
            time.sleep(min(2.0 ** attempt * 0.25, 5.0))
        except psycopg.Error as exc:
            transactional = target_mod.of_folder(options.migrations_dir).transactional_ddl
            raise failures.failure(m, exc, book, transactional=transactional) from None


def lock_kind(options: RunOptions) -> LockKind:
    """The lock to take: ``options.lock`` when given, else the one of the folder's target."""
    if options.lock is None:
        return target_mod.of_folder(options.migrations_dir).lock
    try:
        return LockKind(options.lock)
    except ValueError:
        raise UsageError(f"lock {options.lock!r}: choose one of {', '.join(k.value for k in LockKind)}") from None


@contextmanager
def session(options: RunOptions, progress) -> Iterator[ledger.PostgresLedger]:
    """The ledger on a connection holding the migration lock (the target's strategy); the lock is
    released and the connection closed after."""
    kind = lock_kind(options)
    conn = connect(options.database_url, options.placement)
    book = ledger.PostgresLedger(conn, ledger.strategy(
        kind, conn, lambda: connect(options.database_url, options.placement), options.placement))
    try:
        book.lock(timeout=options.wait_for_lock, on_wait=_notice(progress))
        yield book
    finally:
        try:
            book.unlock()
        finally:
            conn.close()


@contextmanager
def locked(options: RunOptions, progress) -> Iterator[psycopg.Connection]:
    """A connection holding the migration lock; the lock is released and the connection closed after."""
    with session(options, progress) as book:
        yield book.conn


def check_target(migrations: mfiles.Migrations, target: int | None, *, zero_ok: bool = False) -> None:
    """A --target-version must name a migration of the folder (0 for revert: every one)."""
    if target is None or (zero_ok and target == 0):
        return
    known = [m.version for m in migrations.up]
    if target not in known:
        near = ", ".join(str(v) for v in known[-3:]) or "none"
        raise UsageError(f"--target-version {target} is not the version of a migration in the folder "
                         f"(the newest: {near})")


def _starting(progress, action: str, m: mfiles.MigrationFile) -> None:
    """Say a migration starts (``progress.started``, when it has one: what an interrupt rolls back)."""
    progress.step(f"{action} {m.version} {m.description}")
    told = getattr(progress, "started", None)
    if told is not None:
        told(action, m.version, m.description, m.no_transaction)


def _committed(progress, step: Step) -> Step:
    """Tell the caller a migration committed, as it happens (``progress.committed``, when it has one):
    after a failure or Ctrl-C, what did commit has been said."""
    told = getattr(progress, "committed", None)
    if told is not None:
        told(step)
    return step


# The one loop

# (version, the file to run for it): an up file, or a down file under the version it reverts
Todo = Iterable[tuple[int, mfiles.MigrationFile]]
Perform = Callable[[ledger.Ledger, int, mfiles.MigrationFile, RunOptions, object], float]


@dataclass(frozen=True)
class Direction:
    """What a run does with each migration it chose. ``started``: the action told to progress as each
    starts, each then told as it commits; None for a run whose steps commit together at the end
    (``batch``) and are told nothing one by one."""

    started: str | None  # "applying" | "reverting"
    would: str  # the Step action of a dry run
    done: str  # the Step action once done
    perform: Perform  # the step; returns its seconds
    batch: bool = False  # every step in one transaction (baseline: all rows or none)
    zero_ok: bool = False  # --target-version 0 means every migration (revert)


def _apply(book: ledger.Ledger, version: int, m: mfiles.MigrationFile, options: RunOptions, progress) -> float:
    seconds = _retried(book, m, lambda: book.apply(m, options.timeouts), options, progress)
    book.set_execution_time(version, seconds)
    return seconds


def _revert(book: ledger.Ledger, version: int, down: mfiles.MigrationFile, options: RunOptions, progress) -> float:
    return _retried(book, down, lambda: book.revert(version, down, options.timeouts), options, progress)


def _record(book: ledger.Ledger, version: int, m: mfiles.MigrationFile, options: RunOptions, progress) -> float:
    book.record(m)
    return 0.0


UP = Direction("applying", "would apply", "applied", _apply)
DOWN = Direction("reverting", "would revert", "reverted", _revert, zero_ok=True)
RECORD = Direction(None, "would record", "recorded", _record, batch=True)


def _run(options: RunOptions, progress, direction: Direction,
         prepare: Callable[[ledger.Ledger], None],
         choose: Callable[[ledger.Ledger, mfiles.Migrations, dict[int, ledger.Applied]], Todo]) -> list[Step]:
    """The loop of migrate, revert and baseline: resolve, lock, ``prepare``, check the ledger,
    ``choose`` the migrations, then one ``direction`` step each (a dry run only lists them)."""
    migrations = mfiles.resolve(options.migrations_dir)
    check_target(migrations, options.target_version, zero_ok=direction.zero_ok)
    with session(options, progress) as book:
        prepare(book)
        todo = choose(book, migrations, _check_ledger(book, migrations, options.ignore_missing))
        with book.batch() if direction.batch else nullcontext():
            return [_step(book, direction, version, m, options, progress) for version, m in todo]


def _step(book: ledger.Ledger, direction: Direction, version: int, m: mfiles.MigrationFile, options: RunOptions,
          progress) -> Step:
    if options.dry_run:
        return Step(version, m.description, m.name, direction.would)
    if direction.started:
        _starting(progress, direction.started, m)
    seconds = direction.perform(book, version, m, options, progress)
    step = Step(version, m.description, m.name, direction.done, seconds)
    return _committed(progress, step) if direction.started else step


def _pending(migrations: mfiles.Migrations, applied: dict[int, ledger.Applied], target: int | None) -> Todo:
    return [(m.version, m) for m in migrations.up
            if m.version not in applied and (target is None or m.version <= target)]


def _newest_applied(migrations: mfiles.Migrations, applied: dict[int, ledger.Applied], target: int | None) -> Todo:
    """The newest applied version (every one above ``target`` when given), each with its down file;
    one without a down file stops the run when its turn comes."""
    versions = sorted(applied, reverse=True)
    versions = versions[:1] if target is None else [v for v in versions if v > target]
    for version in versions:
        down = migrations.down.get(version)
        if down is None:
            name = migrations.by_version()[version].name if version in migrations.by_version() else str(version)
            raise MigrationError(f"migration {version} ({name}) has no .down.sql and cannot be reverted")
        yield version, down


def _refuse_invalid_indexes(book: ledger.Ledger) -> None:
    invalid = book.invalid_indexes()
    if invalid:
        raise MigrationError(
            f"INVALID index(es) from a failed CREATE INDEX CONCURRENTLY: {', '.join(invalid)}; "
            "drop each with DROP INDEX CONCURRENTLY, then run migrate again"
        )


def migrate(options: RunOptions, progress) -> list[Step]:
    def prepare(book: ledger.Ledger) -> None:
        if not options.dry_run:
            book.ensure()

    def choose(book: ledger.Ledger, migrations: mfiles.Migrations, applied: dict[int, ledger.Applied]) -> Todo:
        _refuse_invalid_indexes(book)
        return _pending(migrations, applied, options.target_version)

    return _run(options, progress, UP, prepare, choose)


def revert(options: RunOptions, progress) -> list[Step]:
    """Run down files newest first: one migration, or every one above ``target_version``."""
    return _run(options, progress, DOWN, lambda book: None,
                lambda book, migrations, applied: _newest_applied(migrations, applied, options.target_version))


def baseline(options: RunOptions, progress, verify_fn) -> list[Step]:
    """Record ledger rows for migrations applied by hand (psql), after verifying the schema matches."""
    def prepare(book: ledger.Ledger) -> None:  # verify under the lock: nobody migrates meanwhile
        progress.step("verifying that the database holds the schema of the migrations to record")
        problems = verify_fn()
        if problems:
            listing = "\n".join(f"  - {p}" for p in problems[:50])
            what = f"the migrations up to {options.target_version}" if options.target_version else "the snapshot"
            raise MigrationError(f"the database does not match {what}, so nothing was recorded:\n{listing}")
        if not options.dry_run:  # a dry run writes nothing, not even the ledger table
            book.ensure()

    return _run(options, progress, RECORD, prepare,
                lambda book, migrations, applied: _pending(migrations, applied, options.target_version))


def status(options: RunOptions) -> list[StatusRow]:
    migrations = mfiles.resolve(options.migrations_dir)
    with connect(options.database_url, options.placement) as conn:
        applied = {a.version: a for a in ledger.PostgresLedger(conn).applied()}
    on_disk = migrations.by_version()
    rows = []
    for version in sorted(set(applied) | set(on_disk)):
        m, a = on_disk.get(version), applied.get(version)
        if a is None:
            state = "pending"
        elif not a.success:
            state = "failed"
        elif m is None:
            state = "missing on disk"
        elif m.checksum != a.checksum:
            state = "changed on disk"
        else:
            state = "applied"
        rows.append(StatusRow(
            version, (m.description if m else a.description), m.name if m else None, state,
            a.installed_on.isoformat(timespec="seconds") if a else None,
            (a.execution_time / 1e6 if a.execution_time >= 0 else None) if a else None,
        ))
    return rows
