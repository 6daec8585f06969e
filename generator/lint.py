"""`fbs-schema lint`: the project's own semantic checks over every migration file (generated or
written by hand), in version order, plus sqlfluff and squawk with the committed configs.

Checks (each finding names file and line):
- identifier-length: an identifier longer than 63 bytes (PostgreSQL would silently truncate it);
- tenant-primary-key: a table whose primary key does not start with tenant_id;
- tenant-foreign-key: a foreign key not of the form (tenant_id, col) REFERENCES t (tenant_id, ...);
- integer-reference: an integer column referencing a uuid column, or an integer column named like
  a record id (res_id, *_res_id, *_thread_id, *_id_int: tenant.looks_like_record_id) that the
  rules file does not keep integer on purpose;
- unindexed-foreign-key: a foreign key with no index (or key) led by (tenant_id, col);
- concurrent-index: CREATE INDEX without CONCURRENTLY on a table not created in the same file;
- destructive-marker: DROP TABLE / DROP COLUMN / ALTER COLUMN TYPE in an up migration without the
  "!!! DESTRUCTIVE" header (or a "-- fbs: destructive" comment on the statement);
- syntax (postgres, citus): a file PostgreSQL's parser refuses (its other checks then come from the
  text reader).
Target rules (the folder's fbs-target.json, see generator/target.py):
- set-null-unsupported (citus, yugabyte): a foreign key with ON DELETE SET NULL / SET DEFAULT, which
  Citus refuses on a key that holds tenant_id and YugabyteDB 2024.2 cannot limit to one column (the
  generated SQL uses a trigger instead);
- citus-distribution (citus): a table created in a file that does not distribute it by tenant_id
  (create_distributed_table) in the same file;
- ybgin-multicolumn (yugabyte): a GIN index on more than one column (ybgin takes one);
- advisory-lock (yugabyte): pg_advisory_lock and friends, not implemented before 2025.1.
How the files are read (the rules themselves are lint_checks, the same for every target):
- postgres and citus (``Target.postgres_syntax``): by PostgreSQL's own parser and scanner (lint_pg,
  pglast): statements, tables, columns, keys and indexes from the parse tree, so a ``;`` or a
  keyword in a string, a comment or a dollar-quoted body is never read as SQL. A DO block that is a
  plain list of statements (a Citus file's block) is read statement by statement.
- yugabyte: its key syntax (``PRIMARY KEY ((tenant_id) HASH, id ASC)``) is not PostgreSQL's, so a
  text reader of its own (lint_text) splits on top-level ``;`` and reads the DDL forms the generated
  files use (CREATE TABLE, ALTER TABLE ... ADD COLUMN / ADD CONSTRAINT / DROP ..., CREATE INDEX)
  with regular expressions; other statements are read for identifiers only.
sqlfluff and squawk lint only what they have not found clean before: a committed migration is
immutable (sqlx's ledger holds its SHA-384), so a clean verdict is kept per SHA-384 of the file's
bytes and per tool version and config (``CleanCache``, a JSON file under ``.cache/`` beside the
migrations folder, ignored by git). A new or edited file is linted again; without the cache (CI,
``--no-cache``) everything is.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from generator import lint_pg, lint_text
from generator import target as target_mod
from generator.lint_checks import MARKER, STATEMENT_MARKER, Checks, Finding  # noqa: F401 (public names)
from generator.runner import files as mfiles
from generator.lint_text import statements, unblock  # noqa: F401


def semantic(folder: Path, integer_ids: frozenset[tuple[str, str]] = frozenset()) -> list[Finding]:
    """``integer_ids``: (table, column) pairs that the rules keep integer although named like a record id."""
    migrations = mfiles.resolve(folder)
    target = target_mod.of_folder(folder)
    checks = Checks(integer_ids, target)
    for m in migrations.up:
        if not (target.postgres_syntax and lint_pg.read(checks, str(m.path), m.sql)):
            lint_text.read(checks, str(m.path), m.sql)
    checks.finish()
    for d in migrations.down.values():  # identifiers only: a down file undoes its up, drops included
        if not (target.postgres_syntax and lint_pg.read(checks, str(d.path), d.sql, only_identifiers=True)):
            lint_text.read_identifiers(checks, str(d.path), d.sql)
    return sorted(checks.findings, key=lambda f: (f.file, f.line, f.rule))


def tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.exists() else shutil.which(name)
    if not found:
        raise FileNotFoundError(name)
    return found


UNLINTED = re.compile(r"Unable to lint (\S+) due to")  # sqlfluff's warning for a file it skipped


def run_sqlfluff(paths: list[Path], processes: int = 0) -> tuple[int, str]:
    if not paths:
        return 0, ""
    processes = processes or min(2, len(paths))  # a pool costs more than it saves for one file
    # the settings the SQL is generated to pass, wherever the files and the working directory are
    # (sqlfluff looks for config files only between the working directory and each file): a
    # .sqlfluff of the working directory, else the one that ships with fbs-schema
    config = ["--config", str(settings("sqlfluff"))]
    proc = subprocess.run([tool("sqlfluff"), "lint", *map(str, paths), *config, "--processes", str(processes),
                           "--disable-progress-bar", "--nocolor"], capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    if proc.returncode == 0 and UNLINTED.search(output):
        return 2, output  # sqlfluff skipped a file it could not lint (and still exits 0): not clean
    return proc.returncode, output


def run_squawk(paths: list[Path]) -> tuple[int, str]:
    if not paths:
        return 0, ""
    proc = subprocess.run([tool("squawk"), "--config", str(settings("squawk")), *map(str, paths)], capture_output=True,
                          text=True, env={**os.environ, "NO_COLOR": "1"})
    return proc.returncode, proc.stdout + proc.stderr


def settings(name: str) -> Path:
    """A tool's settings: the working directory's own file when there is one, else fbs-schema's."""
    from generator import layout

    own = Path(layout.LINT_SETTINGS[name])
    return own if own.is_file() else layout.lint_settings(name)


# --- the cache of clean results ------------------------------------------------------------------

CACHE_DIR = ".cache"  # beside the migrations folder; .gitignore'd
CONFIG_FILES = {"sqlfluff": (".sqlfluff", "setup.cfg", "tox.ini", "pyproject.toml"), "squawk": (".squawk.toml",)}
PACKAGES = {"sqlfluff": "sqlfluff", "squawk": "squawk-cli"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m|\x1b\]8;;[^\x1b]*\x1b\\")


def _dirty_sqlfluff(output: str) -> set[str]:
    """Files sqlfluff's human report marks ``== [path] FAIL``, or could not lint."""
    return set(re.findall(r"^== \[(.+?)\] FAIL", output, re.M)) | set(UNLINTED.findall(output))


def _dirty_squawk(output: str) -> set[str]:
    """Files squawk's report points at (``path:line:column``)."""
    return set(re.findall(r"(\S+\.sql):\d+:\d+", _ANSI.sub("", output)))


DIRTY = {"sqlfluff": _dirty_sqlfluff, "squawk": _dirty_squawk}
RUN = {"sqlfluff": run_sqlfluff, "squawk": run_squawk}


def sha384(path: Path) -> str:
    """The file's SHA-384, as sqlx's ledger checksums it: an applied migration never changes."""
    return hashlib.sha384(path.read_bytes()).hexdigest()


def config_key(name: str, folders: list[Path]) -> str:
    """What a tool's verdict depends on besides the file: its version and its config files."""
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256()
    try:
        digest.update(version(PACKAGES[name]).encode())
    except PackageNotFoundError:
        digest.update(b"?")
    seen: set[Path] = set()
    for path in (settings(name).resolve(),):
        seen.add(path)
        digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    for folder in folders:
        for config in CONFIG_FILES[name]:
            path = (folder / config).resolve()
            if path not in seen and path.is_file():
                seen.add(path)
                digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class ToolRun:
    exit_code: int
    output: str
    linted: int  # files the tool was given this time
    cached: int  # files skipped: found clean before, same bytes, same tool and config


class CleanCache:
    """Which file contents each tool already found clean, by SHA-384 of the bytes and the tool's
    version and config. A JSON file under ``.cache/`` beside the migrations folder; without it
    (CI, ``--no-cache``) every file is linted."""

    def __init__(self, path: Path | None):
        self.path = path
        self.data: dict = {}
        if path is not None and path.is_file():
            try:
                loaded = json.loads(path.read_text("utf-8"))
                self.data = loaded if isinstance(loaded, dict) and loaded.get("format") == 1 else {}
            except (OSError, ValueError):
                self.data = {}

    @classmethod
    def beside(cls, folder: Path) -> "CleanCache":
        return cls(folder.resolve().parent / CACHE_DIR / "fbs-schema-lint" / f"{folder.resolve().name}.json")

    def clean(self, name: str, key: str) -> set[str]:
        entry = self.data.get(name) or {}
        return set(entry.get("clean", ())) if entry.get("config") == key else set()

    def save(self, name: str, key: str, clean: set[str]) -> None:
        if self.path is None:
            return
        self.data = {**self.data, "format": 1, name: {"config": key, "clean": sorted(clean)}}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=self.path.parent, delete=False, encoding="utf-8") as fh:
                json.dump(self.data, fh, indent=0, sort_keys=True)
            os.replace(fh.name, self.path)
        except OSError:
            pass  # a cache that cannot be written only costs time


def run_cached(name: str, paths: list[Path], cache: CleanCache, folders: list[Path]) -> ToolRun:
    """Run tool ``name`` over the files it has not found clean before; remember the clean ones.
    Only files that are clean now are kept in the cache, so it never outgrows the folder."""
    key = config_key(name, folders)
    digests = {path: sha384(path) for path in paths}
    known = cache.clean(name, key)
    todo = [path for path in paths if digests[path] not in known]
    code, output = RUN[name](todo)
    if code == 0:
        dirty: set[Path] = set()
    elif code == 1:  # findings: every file the report does not name is clean
        named = DIRTY[name](output)
        dirty = {path for path in todo if str(path) in named}
        if not dirty:
            dirty = set(todo)  # findings we cannot place: trust none of this run
    else:
        dirty = set(todo)  # the tool itself failed
    cache.save(name, key, {digests[p] for p in paths if p not in dirty})
    return ToolRun(code, output, len(todo), len(paths) - len(todo))
