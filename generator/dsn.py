"""PostgreSQL connection strings as the tool prints them (a leaf module: capture and the runner both
connect to databases and name them in messages)."""

from __future__ import annotations


def redact(dsn: str) -> str:
    """A DSN safe to print: the password is never shown."""
    import psycopg

    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparsable DSN>"
    info.pop("password", None)
    return " ".join(f"{k}={v}" for k, v in sorted(info.items()) if v is not None) or "<default connection>"
