"""Connection strings as the tool prints them (a leaf module: capture, the runner and import all
connect to databases and Odoo servers and name them in messages). One redaction for every form: a
URL (``postgresql://``, or an Odoo ``https://user:secret@host``) whose password holds any character,
percent-encoded or not (an unescaped ``@``, ``/``, ``%`` or space included), and a ``key=value``
PostgreSQL string. ``redact`` prints a connection string without its password;
``scrub`` removes every piece of the password from any text, such as libpq's error message, which
may echo a password it mis-parsed as a host, a port or a database name."""

from __future__ import annotations

import re
from urllib.parse import unquote

_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<rest>.*)$", re.S)
_KEYWORD_PASSWORD = re.compile(r"""(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)""", re.S)
_URL_PASSWORD = re.compile(r"[?&]password=([^&#]*)")
_SEPARATORS = re.compile(r"[@/:?#&=\s]+")
HIDDEN = "***"


def _url_parts(dsn: str) -> tuple[str, str, str] | None:
    """(scheme, userinfo, the rest) of a URL form; the userinfo runs to the last ``@``, so a password
    holding ``@`` or ``/`` unescaped is still all of it."""
    found = _URL.match(dsn.strip())
    if not found:
        return None
    rest = found.group("rest")
    if "@" not in rest:
        return found.group("scheme"), "", rest
    userinfo, _, after = rest.rpartition("@")
    return found.group("scheme"), userinfo, after


def _passwords(dsn: str) -> list[str]:
    """The passwords a connection string holds: a URL's userinfo and ``?password=`` parameter, or a
    key=value string's ``password``."""
    out = []
    parts = _url_parts(dsn)
    if parts is not None:
        user, colon, password = parts[1].partition(":")
        if colon and password:
            out.append(password)
        out += [v for v in _URL_PASSWORD.findall(parts[2]) if v]
        return out
    for value in _KEYWORD_PASSWORD.findall(dsn):
        if value.startswith("'") and value.endswith("'") and len(value) > 1:
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        if value:
            out.append(value)
    return out


def secrets(dsn: str | None) -> list[str]:
    """The passwords of ``dsn`` and every piece a parser could make of them, longest first."""
    found: set[str] = set()
    for password in _passwords(dsn or ""):
        found.update((password, unquote(password)))
    for text in list(found):
        found.update(piece for piece in _SEPARATORS.split(text) if len(piece) >= 2)
    return sorted(found, key=len, reverse=True)


def scrub(text: str, *dsns: str | None) -> str:
    """``text`` with every piece of the passwords of ``dsns`` replaced by ***."""
    for dsn in dsns:
        for secret in secrets(dsn):
            text = text.replace(secret, HIDDEN)
    return text


def redact(dsn: str) -> str:
    """A DSN safe to print: the password is never shown."""
    parts = _url_parts(dsn)
    if parts is not None:
        scheme, userinfo, rest = parts
        user = userinfo.partition(":")[0]
        rest = _URL_PASSWORD.sub(lambda m: m.group(0)[0] + "password=" + HIDDEN, rest)
        return scrub(f"{scheme}{user + '@' if user else ''}{rest}", dsn) or "<default connection>"
    import psycopg

    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparsable connection string>"
    info.pop("password", None)
    return scrub(" ".join(f"{k}={v}" for k, v in sorted(info.items()) if v is not None), dsn) or "<default connection>"


def connect_error(what: str, dsn: str, exc: BaseException) -> str:
    """``cannot connect to <what> (<dsn, redacted>): <the driver's message, scrubbed>``, on one line."""
    message = "; ".join(line.strip() for line in str(exc).strip().splitlines() if line.strip())
    return f"cannot connect to {what} ({redact(dsn)}): {scrub(message, dsn)}"


# Variables that hold a password whole (not inside a connection string)
PASSWORD_VARIABLES = ("ODOO_PASSWORD", "PGPASSWORD")


def secrets_in(arguments: list[str], environment: dict[str, str]) -> list[str]:
    """Every password the command line and the environment hold: inside connection strings (any
    argument or variable that is one: --database-url, DATABASE_URL, a solution's URL variable,
    ODOO_DSN, an Odoo URL with a user) and whole (ODOO_PASSWORD, PGPASSWORD). Longest first."""
    found: set[str] = set()
    for value in [*arguments, *environment.values()]:
        if "password" in value or "://" in value:
            found.update(secrets(value))
    for name in PASSWORD_VARIABLES:
        if len(environment.get(name, "")) >= 2:
            found.add(environment[name])
    return sorted(found, key=len, reverse=True)


def hide(text: str, found: list[str]) -> str:
    """``text`` with every one of ``found`` (``secrets_in``) replaced by ***."""
    for secret in found:
        text = text.replace(secret, HIDDEN)
    return text
