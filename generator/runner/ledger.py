"""sqlx's ledger, exactly: the ``_sqlx_migrations`` table, its rows, and its advisory-lock key.

Statements are those of sqlx-postgres (src/migrate.rs) so that a database migrated by sqlx can be
continued here and the other way round. The lock is taken with ``pg_try_advisory_lock`` and polled,
never a blocking wait (a blocking wait next to CREATE INDEX CONCURRENTLY can deadlock).
"""

from __future__ import annotations

import time
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import psycopg

from generator.errors import MigrationError
from generator.placement import DEFAULT as DEFAULT_PLACEMENT
from generator.placement import Placement

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


@dataclass(frozen=True)
class Applied:
    version: int
    description: str
    installed_on: datetime
    success: bool
    checksum: bytes
    execution_time: int  # nanoseconds; -1 when the runner died before recording it


def lock_key(database: str) -> int:
    """sqlx's key: 0x3d32ad9e * crc32(current_database()) as i64 (``Placement().lock_key``)."""
    return 0x3D32AD9E * zlib.crc32(database.encode("utf-8"))


def exists(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (TABLE,)).fetchone()[0]


def ensure(conn: psycopg.Connection) -> None:
    conn.execute(ENSURE)


def applied(conn: psycopg.Connection) -> list[Applied]:
    if not exists(conn):
        return []
    rows = conn.execute(
        "SELECT version, description, installed_on, success, checksum, execution_time "
        "FROM _sqlx_migrations ORDER BY version"
    ).fetchall()
    return [Applied(r[0], r[1], r[2], r[3], bytes(r[4]), r[5]) for r in rows]


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


def lock(conn: psycopg.Connection, *, timeout: float, poll: float = 0.2, on_wait=None,
         placement: Placement = DEFAULT_PLACEMENT) -> int:
    """Take the placement's key (sqlx's key unless the placement is a schema: see
    ``generator.placement``), polling until ``timeout``."""
    database = conn.execute("SELECT current_database()").fetchone()[0]
    key = placement.lock_key(database)
    where = f"database {database!r}" + (f", schema {placement.schema!r}" if placement.schema else "")
    deadline = time.monotonic() + timeout
    told = False
    while True:
        if conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
            return key
        if not told and on_wait:
            on_wait(f"waiting for the migration lock held by {holders(conn, key)}")
            told = True
        if time.monotonic() >= deadline:
            raise MigrationError(
                f"could not take the migration lock on {where} within {timeout:g} s; "
                f"held by {holders(conn, key)}"
            )
        time.sleep(poll)


def unlock(conn: psycopg.Connection, key: int) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))




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


@contextmanager
def table_lock(connect, *, timeout: float, poll: float = 0.2, on_wait=None):
    holder = connect()
    try:
        ensure_lock_table(holder)
        deadline = time.monotonic() + timeout
        told = False
        while True:
            holder.execute("BEGIN")
            try:
                holder.execute(f"SELECT id FROM {LOCK_TABLE} WHERE id = 1 FOR UPDATE NOWAIT")
                break
            except psycopg.errors.LockNotAvailable:
                holder.execute("ROLLBACK")
            if not told and on_wait:
                on_wait(f"waiting for the migration lock (row 1 of {LOCK_TABLE}) held by another runner")
                told = True
            if time.monotonic() >= deadline:
                raise MigrationError(f"could not take the migration lock (row 1 of {LOCK_TABLE}) within {timeout:g} s; "
                                     "another runner holds it")
            time.sleep(poll)
        yield
    finally:
        holder.close()  # ends the transaction, and the lock
