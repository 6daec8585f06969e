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
  "!!! DESTRUCTIVE" header (or a "-- fbs: destructive" comment on the statement).
Target rules (the folder's fbs-target.json, see generator/target.py):
- set-null-unsupported (citus, yugabyte): a foreign key with ON DELETE SET NULL / SET DEFAULT, which
  Citus refuses on a key that holds tenant_id and YugabyteDB 2024.2 cannot limit to one column (the
  generated SQL uses a trigger instead);
- citus-distribution (citus): a table created in a file that does not distribute it by tenant_id
  (create_distributed_table) in the same file;
- ybgin-multicolumn (yugabyte): a GIN index on more than one column (ybgin takes one);
- advisory-lock (yugabyte): pg_advisory_lock and friends, not implemented before 2025.1.
A Citus file's DO block (templates/migration.sql.j2) is read statement by statement.
sqlfluff and squawk lint only what they have not found clean before: a committed migration is
immutable (sqlx's ledger holds its SHA-384), so a clean verdict is kept per SHA-384 of the file's
bytes and per tool version and config (``CleanCache``, a JSON file under ``.cache/`` beside the
migrations folder, ignored by git). A new or edited file is linted again; without the cache (CI,
``--no-cache``) everything is.
The statement reader understands the DDL forms migrations use (CREATE TABLE, ALTER TABLE ... ADD
COLUMN / ADD CONSTRAINT / DROP ..., CREATE INDEX); other statements are read for identifiers only.
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
from dataclasses import dataclass, field
from pathlib import Path

from generator import target as target_mod
from generator.naming import MAX_IDENTIFIER_BYTES
from generator.tenant import looks_like_record_id
from generator.runner import files as mfiles

IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
MARKER = "!!! DESTRUCTIVE"
STATEMENT_MARKER = "-- fbs: destructive"


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: [{self.rule}] {self.message}"


@dataclass
class _Table:
    columns: dict[str, str] = field(default_factory=dict)
    keys: list[tuple[str, ...]] = field(default_factory=list)  # PK, UNIQUE and index column lists


def statements(text: str) -> list[tuple[int, str, str]]:
    """(line, statement without comments, the comments just before it), split on top-level ';'."""
    out, buf, comments, i, line, start = [], [], [], 0, 1, None
    n = len(text)
    while i < n:
        ch = text[i]
        if text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            comments.append(text[i:end])
            i = end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            line += text.count("\n", i, end)
            i = end
            continue
        if ch in "'\"":
            j = i + 1
            while j < n:
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            if start is None:
                start = line
            buf.append(text[i:j + 1])
            line += text.count("\n", i, j + 1)
            i = j + 1
            continue
        m = re.match(r"\$[A-Za-z_0-9]*\$", text[i:]) if ch == "$" else None
        if m:
            end = text.find(m.group(), i + len(m.group()))
            end = n if end < 0 else end + len(m.group())
            if start is None:
                start = line
            buf.append(text[i:end])
            line += text.count("\n", i, end)
            i = end
            continue
        if ch == ";":
            if start is not None:
                out.append((start, re.sub(r"\s+", " ", "".join(buf)).strip(), "\n".join(comments)))
            buf, comments, start = [], [], None
            i += 1
            continue
        if ch == "\n":
            line += 1
        elif not ch.isspace() and start is None:
            start = line
        buf.append(ch)
        i += 1
    if start is not None and "".join(buf).strip():
        out.append((start, re.sub(r"\s+", " ", "".join(buf)).strip(), "\n".join(comments)))
    return out


BLOCK = re.compile(r"^(DO \$fbs_migration\$\nBEGIN|END\n\$fbs_migration\$;)$", re.M)


def unblock(text: str) -> str:
    """A Citus file's statements outside its DO block (same line numbers), so each is read alone."""
    return BLOCK.sub(lambda m: "\n" * m.group().count("\n"), text)


def _name(token: str) -> str:
    return token[1:-1].replace('""', '"') if token.startswith('"') else token.lower()


def _names(text: str) -> list[str]:
    return [_name(t) for t in re.findall(IDENT, text)]


def _split_top(body: str) -> list[str]:
    parts, depth, cur, quote = [], 0, [], None
    for ch in body:
        if quote:
            cur.append(ch)
            quote = None if ch == quote else quote
            continue
        if ch in "'\"":
            quote = ch
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


INTEGER_TYPES = ("integer", "int", "int4", "bigint", "int8", "smallint", "int2", "serial", "bigserial")


class _Linter:
    def __init__(self, integer_ids: frozenset[tuple[str, str]] = frozenset(),
                 target: target_mod.Target = target_mod.POSTGRES):
        self.target = target
        self.integer_ids = integer_ids  # (table, column) kept integer on purpose (rules [[record_id]])
        self.tables: dict[str, _Table] = {}
        self.fks: list[tuple[Finding, str, tuple[str, ...]]] = []  # (where, table, columns)
        self.findings: list[Finding] = []

    def add(self, file: str, line: int, rule: str, message: str) -> Finding:
        f = Finding(file, line, rule, message)
        self.findings.append(f)
        return f

    def fk(self, file, line, table, cols, ref_table, ref_cols):
        where = Finding(file, line, "unindexed-foreign-key", "")
        if not cols or cols[0] != "tenant_id" or not ref_cols or ref_cols[0] != "tenant_id":
            self.add(file, line, "tenant-foreign-key",
                     f"foreign key {table} ({', '.join(cols)}) -> {ref_table} ({', '.join(ref_cols)}) is not tenant-scoped")
        t, r = self.tables.get(table), self.tables.get(ref_table)
        if t and r:
            for c, rc in zip(cols, ref_cols):
                ctype, rtype = t.columns.get(c, ""), r.columns.get(rc, "")
                if ctype.split("(")[0] in INTEGER_TYPES and rtype == "uuid":
                    self.add(file, line, "integer-reference",
                             f"{table}.{c} is {ctype} but references {ref_table}.{rc}, a uuid")
        self.fks.append((where, table, tuple(cols)))

    def column(self, table: str, definition: str, file: str, line: int) -> None:
        m = re.match(rf"({IDENT})\s+(.+)$", definition)
        if not m:
            return
        col, rest = _name(m.group(1)), m.group(2)
        ctype = re.split(r"\s+(?:NOT|NULL|DEFAULT|REFERENCES|CONSTRAINT|PRIMARY|UNIQUE|CHECK|COLLATE|GENERATED)\b",
                         rest, flags=re.I)[0].strip().lower()
        self.tables.setdefault(table, _Table()).columns[col] = ctype
        if ctype.split("(")[0] in INTEGER_TYPES and looks_like_record_id(col) and (table, col) not in self.integer_ids:
            self.add(file, line, "integer-reference",
                     f"{table}.{col} is {ctype} but holds a record id, and ids are uuid here "
                     "(keep it integer on purpose with a [[record_id]] uuid = false rule)")
        ref = re.search(rf"REFERENCES\s+({IDENT})\s*(?:\(([^)]*)\))?", rest, re.I)
        if ref:
            self.fk(file, line, table, (col,), _name(ref.group(1)), tuple(_names(ref.group(2) or "id")))

    def constraint(self, table: str, definition: str, file: str, line: int) -> bool:
        body = re.sub(rf"^CONSTRAINT\s+{IDENT}\s+", "", definition, flags=re.I)
        # YugabyteDB's key forms: PRIMARY KEY ((tenant_id) HASH, id ASC) reads as (tenant_id, id)
        body = re.sub(r"\(\(([^()]*)\)\s+HASH\b", r"(\1", body, flags=re.I)
        body = re.sub(r"\s+(?:ASC|DESC)\b", "", body, flags=re.I)
        t = self.tables.setdefault(table, _Table())
        m = re.match(r"PRIMARY KEY\s*\(([^)]*)\)", body, re.I)
        if m:
            cols = tuple(_names(m.group(1)))
            t.keys.append(cols)
            if not cols or cols[0] != "tenant_id":
                self.add(file, line, "tenant-primary-key", f"primary key of {table} ({', '.join(cols)}) does not start with tenant_id")
            return True
        m = re.match(r"UNIQUE\s*\(([^)]*)\)", body, re.I)
        if m:
            t.keys.append(tuple(_names(m.group(1))))
            return True
        m = re.match(rf"FOREIGN KEY\s*\(([^)]*)\)\s*REFERENCES\s+({IDENT})\s*(?:\(([^)]*)\))?", body, re.I)
        if m:
            self.fk(file, line, table, tuple(_names(m.group(1))), _name(m.group(2)), tuple(_names(m.group(3) or "id")))
            return True
        return bool(re.match(r"(CHECK|EXCLUDE)\b", body, re.I))

    def identifiers(self, file: str, line: int, sql: str) -> None:
        for token in re.findall(IDENT, re.sub(r"'(?:[^']|'')*'", "''", sql)):
            if len(_name(token).encode("utf-8")) > MAX_IDENTIFIER_BYTES:
                self.add(file, line, "identifier-length",
                         f"identifier {_name(token)[:40]}... is {len(_name(token).encode('utf-8'))} bytes; "
                         f"PostgreSQL truncates it to {MAX_IDENTIFIER_BYTES}")

    def target_rules(self, file: str, line: int, sql: str) -> None:
        t = self.target
        if not t.set_null_columns and re.search(r"\bON DELETE SET (NULL|DEFAULT)\b", sql, re.I):
            self.add(file, line, "set-null-unsupported",
                     f"ON DELETE SET NULL / SET DEFAULT on target {t.name}: Citus refuses it on a key that holds "
                     "tenant_id and YugabyteDB 2024.2 has no SET NULL (col); use the FK without an action plus "
                     "the set null trigger that fbs-schema generate writes")
        if not t.gin_multicolumn:
            m = re.search(r"\bUSING (?:yb)?gin\s*\((.*)\)", sql, re.I)
            if m and len(_split_top(m.group(1))) > 1:
                self.add(file, line, "ybgin-multicolumn", "a GIN (ybgin) index on YugabyteDB takes one column only")
        if not t.advisory_locks and re.search(r"\bpg_(try_)?advisory_(xact_)?lock", sql, re.I):
            self.add(file, line, "advisory-lock", f"advisory locks are not available on target {t.name}")

    def statement(self, file: str, line: int, sql: str, comments: str, created: set[str], marked: bool):
        self.identifiers(file, line, sql)
        self.target_rules(file, line, sql)
        destructive = not marked and STATEMENT_MARKER not in comments
        m = re.match(rf"CREATE TABLE (?:IF NOT EXISTS )?({IDENT})\s*\((.*)\)\s*$", sql, re.I)
        if m:
            table = _name(m.group(1))
            created.add(table)
            self.tables[table] = _Table()
            has_pk = False
            for part in _split_top(m.group(2)):
                if re.match(r"(CONSTRAINT\s|PRIMARY KEY|UNIQUE|FOREIGN KEY|CHECK|EXCLUDE)", part, re.I):
                    has_pk |= bool(re.search(r"PRIMARY KEY", part, re.I))
                    self.constraint(table, part, file, line)
                else:
                    if re.search(r"PRIMARY KEY", part, re.I):
                        has_pk = True
                        col = _names(part)[0]
                        self.add(file, line, "tenant-primary-key", f"primary key of {table} ({col}) does not start with tenant_id")
                    self.column(table, part, file, line)
            if not has_pk:
                self.add(file, line, "tenant-primary-key", f"table {table} has no primary key")
            return
        m = re.match(rf"CREATE (UNIQUE )?INDEX (CONCURRENTLY )?(?:IF NOT EXISTS )?(?:{IDENT} )?ON (?:ONLY )?({IDENT})(?: USING \w+)?\s*\((.*?)\)(?: WHERE .*)?$", sql, re.I)
        if m:
            table = _name(m.group(3))
            cols = tuple(_name(re.match(IDENT, c.strip()).group()) for c in _split_top(m.group(4)) if re.match(IDENT, c.strip()))
            self.tables.setdefault(table, _Table()).keys.append(cols)
            if not m.group(2) and table not in created:
                self.add(file, line, "concurrent-index",
                         f"CREATE INDEX on {table}, which exists before this file: use CREATE INDEX CONCURRENTLY "
                         "alone in a '-- no-transaction' file")
            return
        m = re.match(rf"ALTER TABLE (?:IF EXISTS )?(?:ONLY )?({IDENT}) (.*)$", sql, re.I)
        if m:
            table, action = _name(m.group(1)), m.group(2)
            for part in _split_top(action):
                if re.match(r"ADD COLUMN", part, re.I):
                    self.column(table, re.sub(r"^ADD COLUMN (IF NOT EXISTS )?", "", part, flags=re.I), file, line)
                elif re.match(r"ADD ", part, re.I):
                    self.constraint(table, re.sub(r"^ADD ", "", part, flags=re.I), file, line)
                elif re.match(r"DROP COLUMN", part, re.I) and destructive:
                    self.add(file, line, "destructive-marker", f"{part} loses data but the file has no '{MARKER}' header")
                elif re.match(rf"ALTER COLUMN {IDENT} (SET DATA )?TYPE", part, re.I) and destructive:
                    self.add(file, line, "destructive-marker",
                             f"a type change on {table} may lose or reject data but the file has no '{MARKER}' header")
            return
        if re.match(r"DROP TABLE", sql, re.I) and destructive:
            self.add(file, line, "destructive-marker", f"{sql} loses data but the file has no '{MARKER}' header")

    def finish(self):
        for where, table, cols in self.fks:
            if len(cols) < 2:
                continue
            keys = self.tables.get(table, _Table()).keys
            if not any(k[:2] == cols[:2] for k in keys):
                self.add(where.file, where.line, "unindexed-foreign-key",
                         f"foreign key {table} ({', '.join(cols)}) has no index led by ({', '.join(cols[:2])})")


def semantic(folder: Path, integer_ids: frozenset[tuple[str, str]] = frozenset()) -> list[Finding]:
    """``integer_ids``: (table, column) pairs that the rules keep integer although named like a record id."""
    migrations = mfiles.resolve(folder)
    target = target_mod.of_folder(folder)
    linter = _Linter(integer_ids, target)
    for m in migrations.up:
        created: set[str] = set()
        marked = MARKER in m.sql
        for line, sql, comments in statements(unblock(m.sql)):
            linter.statement(str(m.path), line, sql, comments, created, marked)
        if target.distribute:
            distributed = {_name(t) for t in re.findall(rf"create_distributed_table\('({IDENT})'", m.sql)}
            for table in sorted(created - distributed):
                linter.add(str(m.path), 1, "citus-distribution",
                           f"table {table} is created but not distributed by tenant_id in this file "
                           "(create_distributed_table): Citus would keep it on the coordinator")
    linter.finish()
    for d in migrations.down.values():  # identifiers only: a down file undoes its up, drops included
        for line, sql, _ in statements(unblock(d.sql)):
            linter.identifiers(str(d.path), line, sql)
    return sorted(linter.findings, key=lambda f: (f.file, f.line, f.rule))


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
