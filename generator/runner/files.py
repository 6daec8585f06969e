"""Migration files, resolved the way sqlx resolves them, but loudly.

``<VERSION>_<DESCRIPTION>.sql`` (or ``.up.sql`` / ``.down.sql``): VERSION is the integer before the
first ``_``; DESCRIPTION is the rest without the suffix, ``_`` replaced by a space. The checksum is
SHA-384 of the exact file bytes. A file starting with ``-- no-transaction`` runs outside a transaction.
Where sqlx fails on a non-integer version and silently skips other oddities, this names each problem.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from generator.errors import MigrationError

NO_TRANSACTION = b"-- no-transaction"
MAX_VERSION = 2**63 - 1


@dataclass(frozen=True)
class MigrationFile:
    version: int
    description: str
    path: Path
    kind: str  # "simple" | "up" | "down"
    sql: str
    checksum: bytes
    no_transaction: bool

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Migrations:
    up: tuple[MigrationFile, ...]  # simple and .up.sql files, by version
    down: dict[int, MigrationFile]

    def by_version(self) -> dict[int, MigrationFile]:
        return {m.version: m for m in self.up}


def split_name(name: str) -> tuple[int, str, str] | None:
    """(version, description with ``_`` kept, kind) of a file name in sqlx's layout, or None."""
    if not name.endswith(".sql") or "_" not in name:
        return None
    version_text, rest = name.split("_", 1)
    try:
        version = int(version_text)
    except ValueError:
        return None
    for suffix, kind in ((".up.sql", "up"), (".down.sql", "down"), (".sql", "simple")):
        if rest.endswith(suffix):
            return version, rest[: -len(suffix)], kind
    return None


def _parse(path: Path) -> MigrationFile | None:
    name = path.name
    if not name.endswith(".sql"):
        return None  # e.g. fbs-snapshot.json: sqlx ignores it too
    parsed = split_name(name)
    if parsed is None:
        if "_" not in name:
            raise MigrationError(f"{path}: not a migration name (expected <VERSION>_<description>.sql)")
        version_text = name.split("_", 1)[0]
        raise MigrationError(f"{path}: version {version_text!r} is not an integer (sqlx would refuse the whole folder)")
    version, description, kind = parsed
    if not 0 <= version <= MAX_VERSION:
        raise MigrationError(f"{path}: version {version} does not fit a BIGINT")
    raw = path.read_bytes()
    try:
        sql = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MigrationError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    return MigrationFile(version, description.replace("_", " "), path, kind, sql,
                         hashlib.sha384(raw).digest(), raw.startswith(NO_TRANSACTION))


def statement_starts(sql: str) -> tuple[int, ...]:
    """Where each statement of ``sql`` starts (the character offset of its first token, comments
    before it skipped), in the order PostgreSQL runs the statements of a multi-statement query:
    split by PostgreSQL's own parser (pglast wraps libpg_query); a text that parser refuses (the
    syntax of another target, YugabyteDB's ``HASH`` keys) is split by PostgreSQL's scanner on each
    top-level ``;`` instead. () when not even the scanner reads it. Called only to name the line of
    a failed statement, never before running a file."""
    import pglast.parser

    try:
        return tuple(s.start for s in pglast.parser.split(sql, with_parser=True, only_slices=True))
    except pglast.parser.ParseError:
        pass
    try:
        tokens = pglast.parser.scan(sql)
    except pglast.parser.ParseError:
        return ()
    starts, start = [], None
    for token in tokens:
        if token.name in ("SQL_COMMENT", "C_COMMENT"):
            continue
        if token.name == "ASCII_59":  # ;
            if start is not None:
                starts.append(start)
            start = None
        elif start is None:
            start = token.start
    if start is not None:
        starts.append(start)
    return tuple(starts)


def resolve(folder: Path) -> Migrations:
    if not folder.is_dir():
        raise MigrationError(f"migrations folder {folder} does not exist")
    up: dict[int, MigrationFile] = {}
    down: dict[int, MigrationFile] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        m = _parse(path)
        if m is None:
            continue
        target = down if m.kind == "down" else up
        if m.version in target:
            raise MigrationError(f"version {m.version} is used by both {target[m.version].name} and {m.name}")
        target[m.version] = m
    for version, d in down.items():
        if version not in up or up[version].kind != "up":
            raise MigrationError(f"{d.name} has no matching {version}_<description>.up.sql")
    for version, u in up.items():
        if u.kind == "up" and version not in down:
            raise MigrationError(f"{u.name} has no matching .down.sql")
    return Migrations(tuple(up[v] for v in sorted(up)), down)
