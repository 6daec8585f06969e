"""Identifiers and literals: the one place where names and text from Odoo metadata become SQL.

- ``ident`` quotes an identifier when it needs it (always safe: embedded quotes are doubled) and
  refuses one that PostgreSQL would truncate (> 63 bytes) or cannot hold (NUL).
- ``literal`` quotes a string constant (standard_conforming_strings: backslashes are literal).
- ``shorten`` fits a name within 63 bytes deterministically and collision-free: names that fit
  are kept; longer ones keep a prefix (cut on a character boundary) and end in ``_`` plus 10 hex
  digits of the SHA-256 of the whole name, so two different long names never share a short one
  (up to a 2^-40 hash collision, which ``NameRegistry`` still reports instead of emitting).
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from generator.errors import RenderError, SnapshotError

MAX_IDENTIFIER_BYTES = 63
HASH_HEX = 10

# PostgreSQL 15 keywords that cannot be a table or column name unquoted: the reserved ones and the
# type/function-name ones (pg_get_keywords() where catcode in ('R', 'T')). Column-name keywords such
# as "position" or "name" are valid unquoted in every place generated SQL puts an identifier.
RESERVED = frozenset(
    """
    all analyse analyze and any array as asc asymmetric authorization binary both case cast 
    check collate collation column concurrently constraint create cross current_catalog 
    current_date current_role current_schema current_time current_timestamp current_user 
    default deferrable desc distinct do else end except false fetch for foreign freeze from 
    full grant group having ilike in initially inner intersect into is isnull join lateral 
    leading left like limit localtime localtimestamp natural not notnull null offset on only or 
    order outer overlaps placing primary references returning right select session_user similar 
    some symmetric table tablesample then to trailing true union unique user using variadic 
    verbose when where window with
    """.split()
)
# Columns every PostgreSQL table has already: a column of that name cannot be created.
SYSTEM_COLUMNS = frozenset(("tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"))
# Every relation of pg_catalog is named pg_*, and pg_catalog is searched before any schema of the
# search_path: an unqualified ``COMMENT ON TABLE pg_class`` reaches the system catalog. Relation
# names (tables, indexes, the indexes of keys) starting with it are refused.
SYSTEM_PREFIX = "pg_"
# At most 1600 columns per table, 32 per index (PostgreSQL's MaxHeapAttributeNumber, INDEX_MAX_KEYS).
MAX_COLUMNS = 1600
MAX_INDEX_COLUMNS = 32
_PLAIN = re.compile(r"[a-z_][a-z0-9_]*\Z")


def shorten(name: str, limit: int = MAX_IDENTIFIER_BYTES) -> str:
    if "\x00" in name:
        raise RenderError(f"name {name!r} contains a NUL character, which PostgreSQL cannot hold")
    if len(name) <= limit and name.isascii():  # a byte per character: no need to encode it
        return name
    raw = name.encode("utf-8")
    if len(raw) <= limit:
        return name
    digest = hashlib.sha256(raw).hexdigest()[:HASH_HEX]
    budget = limit - len(digest) - 1
    prefix = raw[:budget].decode("utf-8", errors="ignore")  # never split a character
    return f"{prefix}_{digest}"


@lru_cache(maxsize=None)
def ident(name: str) -> str:
    """Quote an identifier for SQL. Every identifier in generated SQL goes through here. Remembered
    without a bound (a bounded cache missed a million times at 10,000 models, whose schema has
    170,000 names); ``api.generate`` forgets them when it is done."""
    if not isinstance(name, str) or not name:
        raise RenderError(f"empty or non-text identifier: {name!r}")
    if "\x00" in name:
        raise RenderError(f"identifier {name!r} contains a NUL character")
    if len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        raise RenderError(
            f"identifier {name!r} is {len(name.encode('utf-8'))} bytes; PostgreSQL would truncate it to "
            f"{MAX_IDENTIFIER_BYTES} (it should have been shortened)"
        )
    if _PLAIN.match(name) and name not in RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    """Quote a constant. Every literal in generated SQL goes through here."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if "\x00" in text:
        raise RenderError(f"text {text!r} contains a NUL character, which PostgreSQL cannot hold")
    return "'" + text.replace("'", "''") + "'"


class NameRegistry:
    """Names within one PostgreSQL namespace: the relations of a schema (tables, indexes, and the
    indexes of primary keys and UNIQUE constraints), the constraints of one table (primary key,
    UNIQUE, CHECK, FOREIGN KEY), the columns of one table. Reports a clash instead of emitting it:
    as a SnapshotError at the JSON path ``at`` of the snapshot entry that asked for the name, or
    a RenderError when the name does not come from the snapshot."""

    def __init__(self, what: str, *, reserved: frozenset[str] = frozenset(), reserved_prefix: str | None = None):
        self.what = what
        self.reserved = reserved
        self.reserved_prefix = reserved_prefix
        self._owners: dict[str, str] = {}

    def claim(self, name: str, owner: str, at: object | None = None) -> str:
        short = shorten(name)
        problem = None
        if short in self.reserved:
            problem = f"{owner}: {self.what} name {short!r} is a PostgreSQL system column name"
        elif self.reserved_prefix and short.startswith(self.reserved_prefix):
            problem = (f"{owner}: {self.what} name {short!r} starts with {self.reserved_prefix!r}, like PostgreSQL's "
                       "system catalogs, which unqualified SQL would reach instead")
        else:
            other = self._owners.setdefault(short, owner)
            if other != owner:
                problem = f"{self.what} name {short!r} is wanted by both {other} and {owner}"
        if problem:
            raise SnapshotError(problem, at=at) if at is not None else RenderError(problem)
        return short

    def __len__(self) -> int:
        return len(self._owners)


def comment(text: object) -> str:
    """Text safe inside a ``--`` SQL comment: no line breaks or other control characters."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else " " for ch in text)
