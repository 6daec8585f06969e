"""sqlx's ledger, exactly, behind a small interface: the ``_sqlx_migrations`` table, its rows, the lock.

``Ledger`` is what the runner's one loop (``generator.runner.apply``) asks of a database, as sqlx's
``Migrate`` trait is: ensure the table, the dirty row, the applied rows, lock / unlock, apply one
migration with its row, revert one and delete its row, record a row without running anything.
``PostgresLedger`` implements it over one connection with the statements of sqlx-postgres
(src/migrate.rs), so that a database migrated by sqlx can be continued here and the other way round.

The lock is a strategy of the target (``Target.lock``): ``AdvisoryLock`` takes sqlx's key with
``pg_try_advisory_lock`` and polls, never a blocking wait (a blocking wait next to CREATE INDEX
CONCURRENTLY can deadlock); ``TableLock`` locks a row of a lock table, for targets without advisory
locks. ``strategy`` maps the target's ``LockKind`` to one of them.
"""

from __future__ import annotations

import time
import zlib
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator, Protocol

import psycopg
from psycopg import pq

from generator.errors import MigrationError
from generator.placement import DEFAULT as DEFAULT_PLACEMENT
from generator.placement import Placement
from generator.runner.files import MigrationFile
from generator.target import LockKind

TABLE = "_sqlx_migrations"
ENSURE = """
CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
);
"""
INSERT = """
    INSERT INTO _sqlx_migrations ( version, description, success, checksum, execution_time )
    VALUES ( %s, %s, TRUE, %s, -1 )
"""
SET_TIME = "UPDATE _sqlx_migrations SET execution_time = %s WHERE version = %s"
DELETE = "DELETE FROM _sqlx_migrations WHERE version = %s"
DIRTY = "SELECT version FROM _sqlx_migrations WHERE success = false ORDER BY version LIMIT 1"
# lock_timeout and statement_timeout for one migration (SET LOCAL when the third value is true)
SET_TIMEOUTS = "SELECT set_config('lock_timeout', %s, %s), set_config('statement_timeout', %s, %s)"
INVALID_INDEXES = """
SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE NOT i.indisvalid AND c.relnamespace = to_regnamespace(quote_ident(current_schema())) ORDER BY 1
"""

OnWait = Callable[[str], None] | None


@dataclass(frozen=True)
class Applied:
    version: int
    description: str
    installed_on: datetime
    success: bool
    checksum: bytes
    execution_time: int  # nanoseconds; -1 when the runner died before recording it


@dataclass(frozen=True)
class Timeouts:
    """lock_timeout and statement_timeout for one migration: SET LOCAL in its transaction (a
    no-transaction file: SET, and RESET after it)."""

    lock_timeout: str = "10s"
    statement_timeout: str = "0"


class MigrationLock(Protocol):
    """Keeps a second runner out while one works. ``unlock`` runs in a ``finally``, whether ``lock``
    succeeded or failed, and may run twice."""

    def lock(self, *, timeout: float, on_wait: OnWait) -> None: ...

    def unlock(self) -> None: ...


class Ledger(Protocol):
    """What the runner asks of a database (sqlx's ``Migrate`` trait). ``apply`` and ``revert`` run a
    file together with its ledger row, in one transaction unless the file is ``-- no-transaction``,
    and return the seconds it took; database errors propagate (the runner words them)."""

    def ensure(self) -> None: ...  # create the ledger table unless it is there

    def dirty(self) -> int | None: ...  # the first version whose row says it failed

    def applied(self) -> list[Applied]: ...  # every row, by version ([] without a ledger)

    def lock(self, *, timeout: float, on_wait: OnWait) -> None: ...  # the target's strategy

    def unlock(self) -> None: ...

    def apply(self, m: MigrationFile, timeouts: Timeouts) -> float: ...

    def set_execution_time(self, version: int, seconds: float) -> None: ...  # after apply's commit

    def revert(self, version: int, down: MigrationFile, timeouts: Timeouts) -> float: ...

    def record(self, m: MigrationFile) -> None: ...  # the row alone, nothing run (baseline)

    def batch(self) -> AbstractContextManager[None]: ...  # one transaction around several records

    def invalid_indexes(self) -> list[str]: ...  # left by a failed CREATE INDEX CONCURRENTLY


class PostgresLedger:
    """``Ledger`` over one autocommit connection; ``locking`` is the target's strategy (None: a
    ledger only read, as by ``status``)."""

    def __init__(self, conn: psycopg.Connection, locking: MigrationLock | None = None):
        self.conn = conn
        self.locking = locking

    def exists(self) -> bool:
        return self.conn.execute("SELECT to_regclass(%s) IS NOT NULL", (TABLE,)).fetchone()[0]

    def ensure(self) -> None:
        self.conn.execute(ENSURE)

    def dirty(self) -> int | None:
        row = self.conn.execute(DIRTY).fetchone() if self.exists() else None
        return row[0] if row else None

    def applied(self) -> list[Applied]:
        if not self.exists():
            return []
        rows = self.conn.execute(
            "SELECT version, description, installed_on, success, checksum, execution_time "
            "FROM _sqlx_migrations ORDER BY version"
        ).fetchall()
        return [Applied(r[0], r[1], r[2], r[3], bytes(r[4]), r[5]) for r in rows]

    def lock(self, *, timeout: float, on_wait: OnWait) -> None:
        if self.locking is None:
            raise RuntimeError("this ledger was opened without a lock strategy")
        self.locking.lock(timeout=timeout, on_wait=on_wait)

    def unlock(self) -> None:
        if self.locking is not None:
            self.locking.unlock()

    def apply(self, m: MigrationFile, timeouts: Timeouts) -> float:
        return self._run(m, timeouts, INSERT, (m.version, m.description, m.checksum))

    def set_execution_time(self, version: int, seconds: float) -> None:
        """After the commit, as sqlx does (the row says -1 until then)."""
        self.conn.execute(SET_TIME, (int(seconds * 1e9), version))

    def revert(self, version: int, down: MigrationFile, timeouts: Timeouts) -> float:
        return self._run(down, timeouts, DELETE, (version,))

    def record(self, m: MigrationFile) -> None:
        """The row of a migration applied by other means (baseline), with execution time 0."""
        self.conn.execute(INSERT, (m.version, m.description, m.checksum))
        self.conn.execute(SET_TIME, (0, m.version))

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction around several ``record`` calls: all of them or none."""
        with self.conn.transaction():
            yield

    def invalid_indexes(self) -> list[str]:
        """INVALID indexes in the current schema (a failed CREATE INDEX CONCURRENTLY leaves one)."""
        return [r[0] for r in self.conn.execute(INVALID_INDEXES).fetchall()]

    def _run(self, m: MigrationFile, timeouts: Timeouts, row_sql: str, row_args: tuple) -> float:
        conn, start = self.conn, time.perf_counter()
        if m.no_transaction:
            conn.execute(SET_TIMEOUTS, (timeouts.lock_timeout, False, timeouts.statement_timeout, False))
            execute_file(conn, m.sql)
            conn.execute(row_sql, row_args)
            conn.execute("RESET lock_timeout; RESET statement_timeout")
        else:
            with conn.transaction():
                conn.execute(SET_TIMEOUTS, (timeouts.lock_timeout, True, timeouts.statement_timeout, True))
                execute_file(conn, m.sql)
                conn.execute(row_sql, row_args)
        return time.perf_counter() - start


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


def execute_file(conn: psycopg.Connection, sql: str) -> None:
    """Run a migration file's text as one query; a failure carries the index of the statement that
    failed (``fbs_statement``), for the errors PostgreSQL gives no position (see ``failures.line_of``)."""
    cursor = _StatementCounter(conn)
    try:
        cursor.execute(sql)
    except psycopg.Error as exc:
        exc.fbs_statement = cursor.failed_statement
        raise
    finally:
        cursor.close()


# The locks

def strategy(kind: LockKind, conn: psycopg.Connection, connect: Callable[[], psycopg.Connection],
             placement: Placement = DEFAULT_PLACEMENT) -> MigrationLock:
    """The lock strategy of a target's ``LockKind``: on the runner's connection, or on a second one
    from ``connect``."""
    if kind is LockKind.ADVISORY:
        return AdvisoryLock(conn, placement)
    if kind is LockKind.TABLE:
        return TableLock(connect)
    raise ValueError(f"no lock strategy for {kind!r}")


def lock_key(database: str) -> int:
    """sqlx's key: 0x3d32ad9e * crc32(current_database()) as i64 (``Placement().lock_key``)."""
    return 0x3D32AD9E * zlib.crc32(database.encode("utf-8"))


def holders(conn: psycopg.Connection, key: int) -> str:
    """Who holds the advisory lock, for the message when waiting times out."""
    classid, objid = (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF
    rows = conn.execute(
        "SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.client_addr::text, 'local'), "
        "a.backend_start, coalesce(a.state, '') "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = %s AND l.objid::bigint = %s "
        "AND l.objsubid = 1",
        (classid, objid),
    ).fetchall()
    if not rows:
        return "no session holds it now"
    return "; ".join(f"pid {p} ({app or 'no application_name'}, {addr}, connected {start:%Y-%m-%d %H:%M:%S}, {st})"
                     for p, app, addr, start, st in rows)


def _poll(attempt: Callable[[], bool], *, timeout: float, poll: float, on_wait: OnWait,
          waiting: Callable[[], str], failed: Callable[[], str]) -> None:
    """Call ``attempt`` until it succeeds; say once that we wait; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    told = False
    while not attempt():
        if not told and on_wait:
            on_wait(waiting())
            told = True
        if time.monotonic() >= deadline:
            raise MigrationError(failed())
        time.sleep(poll)


class AdvisoryLock:
    """The placement's key (sqlx's key unless the placement is a schema: see ``generator.placement``),
    taken with ``pg_try_advisory_lock`` on the runner's connection and polled until ``timeout``."""

    def __init__(self, conn: psycopg.Connection, placement: Placement = DEFAULT_PLACEMENT, poll: float = 0.2):
        self.conn, self.placement, self.poll = conn, placement, poll
        self.key: int | None = None

    def lock(self, *, timeout: float, on_wait: OnWait = None) -> None:
        conn = self.conn
        database = conn.execute("SELECT current_database()").fetchone()[0]
        key = self.placement.lock_key(database)
        where = f"database {database!r}" + (f", schema {self.placement.schema!r}" if self.placement.schema else "")
        _poll(lambda: conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0],
              timeout=timeout, poll=self.poll, on_wait=on_wait,
              waiting=lambda: f"waiting for the migration lock held by {holders(conn, key)}",
              failed=lambda: (f"could not take the migration lock on {where} within {timeout:g} s; "
                              f"held by {holders(conn, key)}"))
        self.key = key

    def unlock(self) -> None:
        if self.key is not None and not self.conn.closed:
            self.conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        self.key = None


# The lock for targets without advisory locks (YugabyteDB before 2025.1): one row of a table, locked
# FOR UPDATE NOWAIT by a second connection whose transaction stays open while the runner works. A
# runner that dies loses its connection, and the server ends the transaction and the lock with it.
LOCK_TABLE = "_fbs_migration_lock"
ENSURE_LOCK = f"""
CREATE TABLE IF NOT EXISTS {LOCK_TABLE} (id integer PRIMARY KEY, note text NOT NULL);
INSERT INTO {LOCK_TABLE} (id, note) VALUES (1, 'locked FOR UPDATE by the running fbs-schema runner')
ON CONFLICT (id) DO NOTHING
"""


# What a runner gets when another one creates the lock table at the same moment: PostgreSQL's
# CREATE TABLE IF NOT EXISTS checks for the table before it inserts its catalog rows, so the second
# of two runners waits on the first one's rows and then fails on their unique index (pg_type's, or
# pg_class's) instead of skipping; YugabyteDB answers a DDL that races another with a
# serialization failure ("Try again"). The table is there once the first runner commits.
CREATED_MEANWHILE = (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable, psycopg.errors.DuplicateObject,
                     psycopg.errors.SerializationFailure)


def ensure_lock_table(holder: psycopg.Connection, attempts: int = 5) -> None:
    """Create the lock table and its row unless they are there, safe for runners that start together
    (nothing serialises them yet: this is the lock): when another runner created the table at the
    same time, run the idempotent statements again and find it."""
    for attempt in range(1, attempts + 1):
        try:
            holder.execute(ENSURE_LOCK)
            return
        except CREATED_MEANWHILE:
            if attempt == attempts:
                raise


class TableLock:
    """Row 1 of ``_fbs_migration_lock``, locked FOR UPDATE NOWAIT by a connection of its own (from
    ``connect``) whose transaction stays open until ``unlock`` closes it."""

    def __init__(self, connect: Callable[[], psycopg.Connection], poll: float = 0.2):
        self.connect, self.poll = connect, poll
        self.holder: psycopg.Connection | None = None

    def lock(self, *, timeout: float, on_wait: OnWait = None) -> None:
        self.holder = holder = self.connect()
        ensure_lock_table(holder)
        _poll(lambda: self._try(holder), timeout=timeout, poll=self.poll, on_wait=on_wait,
              waiting=lambda: f"waiting for the migration lock (row 1 of {LOCK_TABLE}) held by another runner",
              failed=lambda: (f"could not take the migration lock (row 1 of {LOCK_TABLE}) within {timeout:g} s; "
                              "another runner holds it"))

    @staticmethod
    def _try(holder: psycopg.Connection) -> bool:
        holder.execute("BEGIN")
        try:
            holder.execute(f"SELECT id FROM {LOCK_TABLE} WHERE id = 1 FOR UPDATE NOWAIT")
            return True
        except psycopg.errors.LockNotAvailable:
            holder.execute("ROLLBACK")
            return False

    def unlock(self) -> None:
        if self.holder is not None:
            self.holder.close()  # ends the transaction, and the lock
        self.holder = None


@contextmanager
def table_lock(connect: Callable[[], psycopg.Connection], *, timeout: float, poll: float = 0.2, on_wait: OnWait = None):
    """``TableLock`` held for a ``with`` block."""
    held = TableLock(connect, poll)
    try:
        held.lock(timeout=timeout, on_wait=on_wait)
        yield
    finally:
        held.unlock()
