"""What ``setup`` creates before the first migration: the database (through a maintenance database
of the same server) and a solution's schema. Both are idempotent and safe to run concurrently."""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from generator.dsn import redact, scrub
from generator.errors import MigrationError, one_line
from generator.runner.apply import connect

MAINTENANCE = ("postgres", "template1")


def database_name(url: str) -> str:
    try:
        name = conninfo_to_dict(url).get("dbname")
    except psycopg.Error as exc:
        raise MigrationError(f"not a PostgreSQL URL ({redact(url)}): {scrub(one_line(exc), url)}") from None
    if not name:
        raise MigrationError("the database URL names no database (…/NAME)")
    return name


def _exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def ensure_database(url: str) -> tuple[str, bool]:
    """(database name, whether it was created now). Creation goes through a maintenance database
    of the same server (postgres, else template1) and needs the CREATEDB privilege."""
    name = database_name(url)
    info = conninfo_to_dict(url)
    last = None
    for maintenance in MAINTENANCE:
        if maintenance == name:
            return name, False
        try:
            conn = psycopg.connect(make_conninfo(**{**info, "dbname": maintenance}), autocommit=True,
                                   application_name="fbs-schema", connect_timeout=15)
        except psycopg.Error as exc:
            last = exc
            continue
        with conn:
            if _exists(conn, name):
                return name, False
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                # another setup created it meanwhile: DuplicateDatabase when its CREATE DATABASE had
                # committed before ours looked, a unique violation of pg_database's name when both ran
                # at once (ours waited for its row, then failed on it)
                return name, False
            except psycopg.Error as exc:
                raise MigrationError(f"cannot create database {name!r}: {scrub(one_line(exc), url)}") from None
            return name, True
    # no maintenance database reachable: the target itself may exist
    try:
        connect(url).close()
    except MigrationError:
        raise MigrationError(f"database {name!r} cannot be reached and no maintenance database to create it from "
                             f"answered ({scrub(one_line(last), url) if last else 'none'})") from None
    return name, False


def ensure_schema(url: str, schema: str) -> bool:
    """Whether the schema was created now."""
    with connect(url) as conn:
        if conn.execute("SELECT to_regnamespace(quote_ident(%s)) IS NOT NULL", (schema,)).fetchone()[0]:
            return False
        try:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        except (psycopg.errors.DuplicateSchema, psycopg.errors.UniqueViolation):
            return False  # another setup created it meanwhile
        except psycopg.Error as exc:
            raise MigrationError(f"cannot create schema {schema!r}: {one_line(exc)}") from None
        return True


def probe(url: str, schema: str | None) -> tuple[bool, str] | None:
    """None when the database (and schema) are there; else (reachable, what is wrong)."""
    try:
        conn = connect(url)
    except MigrationError as exc:
        return "does not exist" in str(exc), str(exc)  # the server answered: the database is missing
    with conn:
        if schema and not conn.execute("SELECT to_regnamespace(quote_ident(%s)) IS NOT NULL",
                                       (schema,)).fetchone()[0]:
            return True, f"schema {schema!r} does not exist"
    return None
