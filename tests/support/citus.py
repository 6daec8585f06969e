"""A real Citus cluster for tests: CITUS_URL names the coordinator (e.g.
postgresql://postgres@127.0.0.1:9700/postgres), whose workers are registered in that database.

Each test database follows Citus's recipe for a new database on an existing cluster: created on
every node at once (``citus.enable_create_database_propagation``), the citus extension on each
worker first, then on the coordinator with the coordinator host and every worker registered;
dropped WITH (FORCE) on every node afterwards."""

from __future__ import annotations

import os
import time
import uuid
from contextlib import contextmanager
from typing import Iterator

import psycopg
from psycopg import sql

NOT_SET = ("CITUS_URL is not set: the tests on a real Citus cluster were not run. Point it at a coordinator "
           "with workers, e.g. CITUS_URL=postgresql://postgres@127.0.0.1:9700/postgres pytest tests/test_citus.py")


def url() -> str | None:
    return os.environ.get("CITUS_URL") or None


def with_db(dsn: str, database: str, **changes) -> str:
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    info.update(dbname=database, **changes)
    return psycopg.conninfo.make_conninfo(**info)


def workers(coordinator: str) -> list[tuple[str, int]]:
    with psycopg.connect(coordinator, autocommit=True) as conn:
        return conn.execute("SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 AND isactive "
                            "ORDER BY nodeid").fetchall()


@contextmanager
def fresh_database(prefix: str = "fbs_citus") -> Iterator[str]:
    coordinator = url()
    assert coordinator, NOT_SET
    nodes = workers(coordinator)
    assert nodes, f"no active workers in pg_dist_node at {coordinator}"
    info = psycopg.conninfo.conninfo_to_dict(coordinator)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(coordinator, autocommit=True) as conn:
        conn.execute("SET citus.enable_create_database_propagation = on")
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        for host, port in nodes:
            with psycopg.connect(with_db(coordinator, name, host=host, port=str(port)), autocommit=True) as conn:
                conn.execute("CREATE EXTENSION citus")
        dsn = with_db(coordinator, name)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION citus")
            conn.execute("SELECT citus_set_coordinator_host(%s, %s)",
                         (info.get("host") or "127.0.0.1", int(info.get("port") or 5432)))
            for host, port in nodes:
                conn.execute("SELECT citus_add_node(%s, %s)", (host, port))
        yield dsn
    finally:
        drop(coordinator, name)


def drop(coordinator: str, name: str, tries: int = 20) -> None:
    """DROP DATABASE ... WITH (FORCE) on every node; retried while a worker's Citus maintenance
    daemon still holds a session there ("is being accessed by other users"). When an earlier
    attempt already dropped it on a worker (the propagated drop then fails there), each node is
    cleaned on its own."""
    for attempt in range(tries):
        try:
            with psycopg.connect(coordinator, autocommit=True) as conn:
                conn.execute("SET citus.enable_create_database_propagation = on")
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            return
        except psycopg.errors.InvalidCatalogName:
            break
        except psycopg.errors.ObjectInUse:
            if attempt == tries - 1:
                raise
            time.sleep(1)
    nodes = [(None, None)] + workers(coordinator)
    for host, port in nodes:
        target = coordinator if host is None else with_db(coordinator, "postgres", host=host, port=str(port))
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


PLACEMENT = """
SELECT count(*), count(*) FILTER (WHERE p.partmethod = 'h'
                                  AND column_to_column_name(p.logicalrelid, p.partkey) = 'tenant_id'),
       count(DISTINCT p.colocationid)
FROM pg_class AS c
LEFT JOIN pg_dist_partition AS p ON p.logicalrelid = c.oid
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
  AND c.relname NOT IN ('_sqlx_migrations', '_fbs_import', '_fbs_import_set_aside')
"""


def placement(dsn: str) -> tuple[int, int, int]:
    """(tables, tables hash-distributed by tenant_id, colocation groups) of the public schema (the
    runner's and the import's ledgers are local tables of the coordinator)."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(PLACEMENT).fetchone()
