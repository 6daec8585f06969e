"""migrate / revert / status / baseline: one orchestration each over ``files`` and ``ledger``.

migrate: lock -> ensure ledger -> refuse on a dirty row, an edited or a missing applied file, or an
INVALID index -> each pending migration in its own transaction together with its ledger row (files
starting with ``-- no-transaction`` run alone) -> record execution time -> unlock in ``finally``.
A migration that fails leaves no trace; a process killed mid-migration leaves its transaction
uncommitted, so PostgreSQL rolls it back.
"""

from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psycopg
from psycopg import errors as pgerrors
from psycopg import pq

from generator import target as target_mod
from generator.errors import MigrationError, UsageError
from generator.placement import DEFAULT as DEFAULT_PLACEMENT
from generator.placement import Placement
from generator.runner import files as mfiles
from generator.runner import ledger

# lock_timeout and statement_timeout for one migration (SET LOCAL when the third value is true)
SET_TIMEOUTS = "SELECT set_config('lock_timeout', %s, %s), set_config('statement_timeout', %s, %s)"
INVALID_INDEXES = """
SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE NOT i.indisvalid AND c.relnamespace = to_regnamespace(quote_ident(current_schema())) ORDER BY 1
"""


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
    # None: as the folder's target says (fbs-target.json): "advisory" (pg_try_advisory_lock, sqlx's
    # key) or "table" (a row lock in _fbs_migration_lock, for YugabyteDB without advisory locks)
    lock: str | None = None


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


class _StatementCounter(psycopg.Cursor):
    """A cursor that keeps, for a file sent as one multi-statement query, how many of its statements
    completed before the one that failed: PostgreSQL answers each statement with its own result
    and skips the rest after an error, so that count is the failed statement's index. It is read
    from the results psycopg checks after each execute (``_check_results``), so the file still goes
    as one query, as sqlx sends it: no extra round trip, no change to what runs."""

    failed_statement: int | None = None

    def _check_results(self, results) -> None:
        self.failed_statement = next((i for i, r in enumerate(results) if r.status == pq.ExecStatus.FATAL_ERROR), None)
        super()._check_results(results)


def _execute(conn: psycopg.Connection, sql: str) -> None:
    """Run a migration file's text as one query; a failure carries the index of the statement that
    failed (``fbs_statement``), for the errors PostgreSQL gives no position (see ``_line_of``)."""
    cursor = _StatementCounter(conn)
    try:
        cursor.execute(sql)
    except psycopg.Error as exc:
        exc.fbs_statement = cursor.failed_statement
        raise
    finally:
        cursor.close()


# A DO block's frame in an error's context (the last one is the outermost: the file's own block),
# with the line of the block that failed
DO_BLOCK_LINE = re.compile(r"PL/pgSQL function inline_code_block line (\d+) at ")
DO_STATEMENT = re.compile(r"DO\b", re.I)


def _line_of(sql: str, exc: psycopg.Error) -> int | None:
    """The line of ``sql`` where the failed statement starts. PostgreSQL gives a position for the
    errors it finds parsing and analysing a statement (a syntax error, a missing table in a SELECT
    or an INSERT); for errors while running one (a division by zero, a constraint violated, ALTER
    TABLE on a missing table, an exception in a DO block) it gives none, and the line is that of the
    statement it failed on, counted by ``_execute``. In a DO block (a Citus file is one), PL/pgSQL
    names the line of the block that failed, and that line is given."""
    position = getattr(exc.diag, "statement_position", None)
    if position:
        return sql[: int(position) - 1].count("\n") + 1
    index = getattr(exc, "fbs_statement", None)
    if index is None:
        return None
    starts = mfiles.statement_starts(sql)
    if index >= len(starts):
        return None
    start = starts[index]
    line = sql[:start].count("\n") + 1
    frames = DO_BLOCK_LINE.findall(exc.diag.context or "")
    if frames and DO_STATEMENT.match(sql, start):
        body = _do_body_start(sql, start)
        if body is not None:
            return sql[:body].count("\n") + int(frames[-1])
    return line


def _do_body_start(sql: str, start: int) -> int | None:
    """Where the body of the DO statement at ``start`` begins (its string constant's opening quote
    or dollar tag: PL/pgSQL counts that line as the block's line 1)."""
    import pglast.parser

    try:
        tokens = pglast.parser.scan(sql[start:])
    except pglast.parser.ParseError:
        return None
    for token in tokens:
        if token.name == "SCONST":
            return start + token.start
        if token.name == "ASCII_59":
            break
    return None


def _failure(m: mfiles.MigrationFile, exc: psycopg.Error, conn: psycopg.Connection, what: str = "failed",
             transactional: bool = True) -> MigrationError:
    line = _line_of(m.sql, exc)
    where = f"{m.path}:{line}" if line else str(m.path)
    detail = f"\n  DETAIL: {exc.diag.message_detail}" if exc.diag.message_detail else ""
    hint = f"\n  HINT: {exc.diag.message_hint}" if exc.diag.message_hint else ""
    text = f"migration {m.version} ({m.name}) {what}: {where}: {exc.diag.message_primary or str(exc).strip()}{detail}{hint}"
    if isinstance(exc, psycopg.errors.OutOfMemory) and "max_locks_per_transaction" in (exc.diag.message_hint or ""):
        text += (f"\n  The server's lock table is full: {m.name} locks more objects than it has room for while "
                 "other sessions hold theirs (each lock is kept to the end of the file's transaction). Lower "
                 "`lock_budget` in the rules file's [migration] table and generate the folder again (files not "
                 "applied yet can be regenerated), or raise max_locks_per_transaction on the server (a restart).")
    if isinstance(exc, psycopg.errors.DuplicateTable | psycopg.errors.DuplicateObject):
        text += ("\n  The database already holds objects of this migration: if the migrations were applied with "
                 "psql (or another tool), record them with `fbs-schema baseline` instead of applying them again")
    if m.no_transaction:
        try:
            invalid = [r[0] for r in conn.execute(INVALID_INDEXES).fetchall()]
        except psycopg.Error:
            invalid = []
        if invalid:
            text += (f"\n  INVALID index(es) left by the failed build: {', '.join(invalid)}; drop each with "
                     "DROP INDEX CONCURRENTLY and run migrate again")
    elif transactional:
        text += "\n  Nothing of it was applied (rolled back)."
    else:
        before = f"before line {line} " if line else ""
        text += (f"\n  DDL is not transactional on this target: the statements {before}of {m.path.name} may have "
                 "been applied although its ledger row was not written. The file is written to be run again "
                 "(IF NOT EXISTS / IF EXISTS): fix the cause and run migrate again.")
    return MigrationError(text)


def _check_ledger(conn, migrations: mfiles.Migrations, ignore_missing: bool) -> dict[int, ledger.Applied]:
    dirty = conn.execute(ledger.DIRTY).fetchone() if ledger.exists(conn) else None
    if dirty:
        raise MigrationError(f"migration {dirty[0]} is partially applied; fix and remove row from `_sqlx_migrations` table")
    on_disk = migrations.by_version()
    applied = {a.version: a for a in ledger.applied(conn)}
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


def _run_one(conn, m: mfiles.MigrationFile, options: RunOptions, progress, *, sql: str, ledger_sql: str,
             ledger_args: tuple) -> float:
    attempt = 0
    while True:
        attempt += 1
        start = time.perf_counter()
        try:
            if m.no_transaction:
                conn.execute(SET_TIMEOUTS, (options.lock_timeout, False, options.statement_timeout, False))
                _execute(conn, sql)
                conn.execute(ledger_sql, ledger_args)
                conn.execute("RESET lock_timeout; RESET statement_timeout")
            else:
                with conn.transaction():
                    conn.execute(SET_TIMEOUTS, (options.lock_timeout, True, options.statement_timeout, True))
                    _execute(conn, sql)
                    conn.execute(ledger_sql, ledger_args)
            return time.perf_counter() - start
        except pgerrors.InvalidParameterValue as exc:
            raise MigrationError(f"--lock-timeout / --statement-timeout: {exc.diag.message_primary}") from None
        except pgerrors.LockNotAvailable as exc:
            if attempt > options.retries:
                raise _failure(m, exc, conn, f"could not take its locks after {attempt} attempts") from None
            _notice(progress)(f"{m.version} {m.description}: lock timeout ({lock_timeout_in_force(sql, options)}), "
                          f"retry {attempt}/{options.retries}")
            time.sleep(min(2.0 ** attempt * 0.25, 5.0))
        except psycopg.Error as exc:
            raise _failure(m, exc, conn,
                           transactional=target_mod.of_folder(options.migrations_dir).transactional_ddl) from None


@contextmanager
def locked(options: RunOptions, progress) -> Iterator[psycopg.Connection]:
    """A connection holding the migration lock; the lock is released and the connection closed after."""
    how = options.lock or ("advisory" if target_mod.of_folder(options.migrations_dir).advisory_locks else "table")
    conn = connect(options.database_url, options.placement)
    if how == "table":
        try:
            with ledger.table_lock(lambda: connect(options.database_url, options.placement), timeout=options.wait_for_lock,
                                   on_wait=_notice(progress)):
                yield conn
        finally:
            conn.close()
        return
    key = None
    try:
        key = ledger.lock(conn, timeout=options.wait_for_lock, on_wait=_notice(progress), placement=options.placement)
        yield conn
    finally:
        if key is not None and not conn.closed:
            ledger.unlock(conn, key)
        conn.close()


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


def migrate(options: RunOptions, progress) -> list[Step]:
    migrations = mfiles.resolve(options.migrations_dir)
    check_target(migrations, options.target_version)
    with locked(options, progress) as conn:
        if not options.dry_run:
            ledger.ensure(conn)
        applied = _check_ledger(conn, migrations, options.ignore_missing)
        invalid = [r[0] for r in conn.execute(INVALID_INDEXES).fetchall()]
        if invalid:
            raise MigrationError(
                f"INVALID index(es) from a failed CREATE INDEX CONCURRENTLY: {', '.join(invalid)}; "
                "drop each with DROP INDEX CONCURRENTLY, then run migrate again"
            )
        pending = [m for m in migrations.up if m.version not in applied
                   and (options.target_version is None or m.version <= options.target_version)]
        steps = []
        for m in pending:
            if options.dry_run:
                steps.append(Step(m.version, m.description, m.name, "would apply"))
                continue
            _starting(progress, "applying", m)
            seconds = _run_one(conn, m, options, progress, sql=m.sql, ledger_sql=ledger.INSERT,
                               ledger_args=(m.version, m.description, m.checksum))
            conn.execute(ledger.SET_TIME, (int(seconds * 1e9), m.version))
            steps.append(_committed(progress, Step(m.version, m.description, m.name, "applied", seconds)))
        return steps


def revert(options: RunOptions, progress) -> list[Step]:
    """Run down files newest first: one migration, or every one above ``target_version``."""
    migrations = mfiles.resolve(options.migrations_dir)
    check_target(migrations, options.target_version, zero_ok=True)
    with locked(options, progress) as conn:
        applied = _check_ledger(conn, migrations, options.ignore_missing)
        versions = sorted(applied, reverse=True)
        if options.target_version is None:
            versions = versions[:1]
        else:
            versions = [v for v in versions if v > options.target_version]
        steps = []
        for version in versions:
            down = migrations.down.get(version)
            if down is None:
                name = migrations.by_version()[version].name if version in migrations.by_version() else str(version)
                raise MigrationError(f"migration {version} ({name}) has no .down.sql and cannot be reverted")
            if options.dry_run:
                steps.append(Step(version, down.description, down.name, "would revert"))
                continue
            _starting(progress, "reverting", down)
            seconds = _run_one(conn, down, options, progress, sql=down.sql, ledger_sql=ledger.DELETE,
                               ledger_args=(version,))
            steps.append(_committed(progress, Step(version, down.description, down.name, "reverted", seconds)))
        return steps


def status(options: RunOptions) -> list[StatusRow]:
    migrations = mfiles.resolve(options.migrations_dir)
    with connect(options.database_url, options.placement) as conn:
        applied = {a.version: a for a in ledger.applied(conn)}
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


def baseline(options: RunOptions, progress, verify_fn) -> list[Step]:
    """Record ledger rows for migrations applied by hand (psql), after verifying the schema matches."""
    migrations = mfiles.resolve(options.migrations_dir)
    check_target(migrations, options.target_version)
    with locked(options, progress) as conn:  # verify under the lock: nobody migrates meanwhile
        progress.step("verifying that the database holds the schema of the migrations to record")
        problems = verify_fn()
        if problems:
            listing = "\n".join(f"  - {p}" for p in problems[:50])
            what = f"the migrations up to {options.target_version}" if options.target_version else "the snapshot"
            raise MigrationError(f"the database does not match {what}, so nothing was recorded:\n{listing}")
        ledger.ensure(conn)
        applied = _check_ledger(conn, migrations, options.ignore_missing)
        steps = []
        with conn.transaction():
            for m in migrations.up:
                if m.version in applied or (options.target_version is not None and m.version > options.target_version):
                    continue
                if not options.dry_run:
                    conn.execute(ledger.INSERT, (m.version, m.description, m.checksum))
                    conn.execute(ledger.SET_TIME, (0, m.version))
                steps.append(Step(m.version, m.description, m.name, "would record" if options.dry_run else "recorded"))
        return steps
