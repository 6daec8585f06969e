"""Real PostgreSQL for tests: the server comes from DATABASE_URL or the PG* variables, defaulting
to postgres@127.0.0.1:5432. Each test database is created fresh and dropped afterwards."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import Iterator

import psycopg
from psycopg import sql

HOW_TO = (
    "Tests need a PostgreSQL 15+ server. Set DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres) "
    "or the PG* variables (PGHOST, PGPORT, PGUSER, PGPASSWORD) to one that lets this user create databases."
)


def server_dsn() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    if any(k in os.environ for k in ("PGHOST", "PGPORT", "PGUSER", "PGSERVICE")):
        return ""  # libpq reads PG* itself
    return "postgresql://postgres@127.0.0.1:5432/postgres"


def dsn_for(database: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(server_dsn())
    info["dbname"] = database
    return psycopg.conninfo.make_conninfo(**info)


def check_server() -> str | None:
    """None when the server is reachable, else a message saying how to provide one."""
    try:
        with psycopg.connect(server_dsn(), connect_timeout=5, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"cannot reach PostgreSQL ({exc.__class__.__name__}: {str(exc).strip()}). {HOW_TO}"
    return None


@contextmanager
def fresh_database(prefix: str = "fbs_test") -> Iterator[str]:
    """Create an empty database, yield its DSN, drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield dsn_for(name)
    finally:
        with psycopg.connect(server_dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def template_copy(template: str, prefix: str = "fbs_test") -> Iterator[str]:
    """A fresh database copied from ``template`` (fast), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    try:
        yield dsn_for(name)
    finally:
        with psycopg.connect(server_dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def dbname(dsn: str) -> str:
    return psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
