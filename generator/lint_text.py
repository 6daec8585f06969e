"""The text reader of `fbs-schema lint`, for a target whose SQL PostgreSQL's parser does not read
(YugabyteDB: ``PRIMARY KEY ((tenant_id) HASH, id ASC)``; ``Target.postgres_syntax`` is false).

It splits a file on its top-level ``;`` (quotes, comments and dollar-quoted bodies skipped) and
reads the DDL forms the generated YugabyteDB files use (CREATE TABLE, ALTER TABLE ... ADD COLUMN /
ADD CONSTRAINT / DROP ..., CREATE INDEX) with regular expressions; other statements are read for
identifiers only. PostgreSQL-syntax targets are read from the parse tree instead (lint_pg)."""

from __future__ import annotations

import re

from generator.lint_checks import MARKER, STATEMENT_MARKER, Checks

IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'


def statements(text: str) -> list[tuple[int, str, str]]:
    """(line, statement without comments, the comments just before it), split on top-level ';'."""
    out, buf, comments, i, line, start = [], [], [], 0, 1, None
    n = len(text)

    def skip(end: int, keep: bool) -> int:
        nonlocal line, start
        if keep:
            start = line if start is None else start
            buf.append(text[i:end])
        line += text.count("\n", i, end)
        return end

    while i < n:
        ch = text[i]
        if text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            comments.append(text[i:end])
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = skip(n if end < 0 else end + 2, False)
        elif ch in "'\"":
            j = i + 1
            while j < n and not (text[j] == ch and not text.startswith(ch * 2, j)):
                j += 2 if text.startswith(ch * 2, j) else 1
            i = skip(j + 1, True)
        elif ch == "$" and (m := re.match(r"\$[A-Za-z_0-9]*\$", text[i:i + 256])):
            end = text.find(m.group(), i + len(m.group()))
            i = skip(n if end < 0 else end + len(m.group()), True)
        elif ch == ";":
            if start is not None:
                out.append((start, re.sub(r"\s+", " ", "".join(buf)).strip(), "\n".join(comments)))
            buf, comments, start = [], [], None
            i += 1
        else:
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


class TextReader:
    """One file's statements, read with the regular expressions above, told to ``checks``."""

    def __init__(self, checks: Checks, file: str, marked: bool):
        self.checks, self.file, self.marked = checks, file, marked
        self.created: set[str] = set()

    def column(self, table: str, definition: str, line: int) -> None:
        m = re.match(rf"({IDENT})\s+(.+)$", definition)
        if not m:
            return
        col, rest = _name(m.group(1)), m.group(2)
        ctype = re.split(r"\s+(?:NOT|NULL|DEFAULT|REFERENCES|CONSTRAINT|PRIMARY|UNIQUE|CHECK|COLLATE|GENERATED)\b",
                         rest, flags=re.I)[0].strip().lower()
        self.checks.column(self.file, line, table, col, ctype)
        ref = re.search(rf"REFERENCES\s+({IDENT})\s*(?:\(([^)]*)\))?", rest, re.I)
        if ref:
            self.checks.fk(self.file, line, table, (col,), _name(ref.group(1)), tuple(_names(ref.group(2) or "id")))

    def constraint(self, table: str, definition: str, line: int) -> None:
        body = re.sub(rf"^CONSTRAINT\s+{IDENT}\s+", "", definition, flags=re.I)
        # YugabyteDB's key forms: PRIMARY KEY ((tenant_id) HASH, id ASC) reads as (tenant_id, id)
        body = re.sub(r"\(\(([^()]*)\)\s+HASH\b", r"(\1", body, flags=re.I)
        body = re.sub(r"\s+(?:ASC|DESC)\b", "", body, flags=re.I)
        m = re.match(r"PRIMARY KEY\s*\(([^)]*)\)", body, re.I)
        if m:
            self.checks.primary_key(self.file, line, table, tuple(_names(m.group(1))))
            return
        m = re.match(r"UNIQUE\s*\(([^)]*)\)", body, re.I)
        if m:
            self.checks.key(table, tuple(_names(m.group(1))))
            return
        m = re.match(rf"FOREIGN KEY\s*\(([^)]*)\)\s*REFERENCES\s+({IDENT})\s*(?:\(([^)]*)\))?", body, re.I)
        if m:
            self.checks.fk(self.file, line, table, tuple(_names(m.group(1))), _name(m.group(2)),
                           tuple(_names(m.group(3) or "id")))

    def target_rules(self, line: int, sql: str) -> None:
        if re.search(r"\bON DELETE SET (NULL|DEFAULT)\b", sql, re.I):
            self.checks.set_null(self.file, line)
        m = re.search(r"\bUSING (?:yb)?gin\s*\((.*)\)", sql, re.I)
        if m:
            self.checks.gin(self.file, line, len(_split_top(m.group(1))))
        if re.search(r"\bpg_(try_)?advisory_(xact_)?lock", sql, re.I):
            self.checks.advisory_lock(self.file, line)

    def identifiers(self, line: int, sql: str) -> None:
        for token in re.findall(IDENT, re.sub(r"'(?:[^']|'')*'", "''", sql)):
            self.checks.identifier(self.file, line, _name(token))

    def create_table(self, line: int, table: str, body: str) -> None:
        self.checks.created(table, self.created)
        has_pk = False
        for part in _split_top(body):
            if re.match(r"(CONSTRAINT\s|PRIMARY KEY|UNIQUE|FOREIGN KEY|CHECK|EXCLUDE)", part, re.I):
                has_pk |= bool(re.search(r"PRIMARY KEY", part, re.I))
                self.constraint(table, part, line)
            else:
                if re.search(r"PRIMARY KEY", part, re.I):
                    has_pk = True
                    self.checks.column_primary_key(self.file, line, table, _names(part)[0])
                self.column(table, part, line)
        if not has_pk:
            self.checks.no_primary_key(self.file, line, table)

    def alter_table(self, line: int, table: str, action: str, destructive: bool) -> None:
        for part in _split_top(action):
            if re.match(r"ADD COLUMN", part, re.I):
                self.column(table, re.sub(r"^ADD COLUMN (IF NOT EXISTS )?", "", part, flags=re.I), line)
            elif re.match(r"ADD ", part, re.I):
                self.constraint(table, re.sub(r"^ADD ", "", part, flags=re.I), line)
            elif re.match(r"DROP COLUMN", part, re.I) and destructive:
                self.checks.destructive(self.file, line, f"{part} loses data")
            elif re.match(rf"ALTER COLUMN {IDENT} (SET DATA )?TYPE", part, re.I) and destructive:
                self.checks.destructive(self.file, line, f"a type change on {table} may lose or reject data")

    def statement(self, line: int, sql: str, comments: str) -> None:
        self.identifiers(line, sql)
        self.target_rules(line, sql)
        destructive = not self.marked and STATEMENT_MARKER not in comments
        m = re.match(rf"CREATE TABLE (?:IF NOT EXISTS )?({IDENT})\s*\((.*)\)\s*$", sql, re.I)
        if m:
            return self.create_table(line, _name(m.group(1)), m.group(2))
        m = re.match(rf"CREATE (UNIQUE )?INDEX (CONCURRENTLY )?(?:IF NOT EXISTS )?(?:{IDENT} )?ON (?:ONLY )?({IDENT})"
                     r"(?: USING \w+)?\s*\((.*?)\)(?: WHERE .*)?$", sql, re.I)
        if m:
            cols = tuple(_name(re.match(IDENT, c.strip()).group()) for c in _split_top(m.group(4))
                         if re.match(IDENT, c.strip()))
            return self.checks.index(self.file, line, _name(m.group(3)), cols, bool(m.group(2)), self.created)
        m = re.match(rf"ALTER TABLE (?:IF EXISTS )?(?:ONLY )?({IDENT}) (.*)$", sql, re.I)
        if m:
            return self.alter_table(line, _name(m.group(1)), m.group(2), destructive)
        if re.match(r"DROP TABLE", sql, re.I) and destructive:
            self.checks.destructive(self.file, line, f"{sql} loses data")


def read(checks: Checks, file: str, text: str) -> None:
    """An up file: every check."""
    reader = TextReader(checks, file, MARKER in text)
    for line, sql, comments in statements(unblock(text)):
        reader.statement(line, sql, comments)
    distributed = {_name(t) for t in re.findall(rf"create_distributed_table\('({IDENT})'", text)}
    checks.distribution(file, reader.created, distributed)


def read_identifiers(checks: Checks, file: str, text: str) -> None:
    """A down file: identifiers only (it undoes its up file, drops included)."""
    reader = TextReader(checks, file, True)
    for line, sql, _ in statements(unblock(text)):
        reader.identifiers(line, sql)
