"""The PostgreSQL reader of `fbs-schema lint`: each migration file as PostgreSQL's own parser and
scanner read it (pglast wraps libpg_query), for the targets whose SQL is all PostgreSQL syntax.

Statements, tables, columns, keys and indexes come from the parse tree, so a keyword or a ``;`` in
a string literal, a comment or a dollar-quoted body is never taken for SQL. What the tree does not
keep comes from the scanner's tokens: the line of a statement's first token, the comments before a
statement (the ``-- fbs: destructive`` marker, the file's ``!!! DESTRUCTIVE`` header), identifiers
as written (the parser truncates them to 63 bytes, the check is about that) and a column's type as
written. A ``DO`` block whose body is one plain ``BEGIN ... END`` list of statements (Citus: the
file's block, see the migration template) is read statement by statement, its ``PERFORM`` read as
the ``SELECT`` PL/pgSQL runs; another body is read for identifiers only. A file the parser refuses
is reported (``syntax``) and read by the text reader (lint_text) instead."""

from __future__ import annotations

import bisect
import itertools
import json
import re
from dataclasses import dataclass

from pglast import parser

from generator.lint_checks import MARKER, STATEMENT_MARKER, Checks
from generator.naming import MAX_IDENTIFIER_BYTES

COMMENTS = frozenset({"SQL_COMMENT", "C_COMMENT"})
PG_INTEGERS = frozenset({"int2", "int4", "int8", "serial", "bigserial"})  # integer, bigint, smallint, int
TYPE_END = frozenset({"NOT", "NOT_LA", "NULL_P", "DEFAULT", "REFERENCES", "CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK",
                      "COLLATE", "GENERATED", "ASCII_44", "ASCII_59"})  # what follows a column's type
ADVISORY = re.compile(r"pg_(try_)?advisory_(xact_)?lock")
DOLLAR = re.compile(r"\$[^$]*\$")
LONG = re.compile(rb'[A-Za-z0-9_$\x80-\xff]{64}|"(?:[^"]|""){64}')  # where an identifier could be over 63 bytes


class Source:
    """A text as PostgreSQL reads it. Offsets are UTF-8 byte offsets, as the parser's and scanner's;
    ``first_line``: the line of the file where the text starts (a DO block's body). The scanner is
    run only over the parts that need it (the parse tree says where they are)."""

    def __init__(self, text: str, first_line: int = 1):
        self.text, self.first_line = text, first_line
        self.data = text.encode("utf-8")
        self.newlines = [m.start() for m in re.finditer(b"\n", self.data)]

    def line(self, pos: int) -> int:
        return self.first_line + bisect.bisect_left(self.newlines, pos)

    def tokens(self, start: int = 0, stop: int | None = None) -> list[tuple[str, int, int]]:
        """(name, start, end included) of each token between two token boundaries, in bytes (the
        scanner counts characters)."""
        text = self.data[start:stop].decode("utf-8")
        if text.isascii():
            return [(t.name, t.start + start, t.end + start) for t in parser.scan(text)]
        at = list(itertools.accumulate((len(ch.encode("utf-8")) for ch in text), initial=start))
        return [(t.name, at[t.start], at[t.end + 1] - 1) for t in parser.scan(text)]

    def raw(self, start: int, end: int) -> str:
        return self.data[start:end + 1].decode("utf-8")

    def comments(self, start: int, stop: int) -> list[str]:
        return [self.raw(a, b) for name, a, b in self.tokens(start, stop) if name in COMMENTS]

    def without_comments(self, start: int, stop: int) -> str:
        """The text between two token boundaries, comments left out, spaces collapsed."""
        pieces, at = [], start
        for name, a, b in self.tokens(start, stop):
            if name in COMMENTS:
                pieces.append(self.data[at:a])
                at = b + 1
        pieces.append(self.data[at:stop])
        return " ".join(b" ".join(pieces).decode("utf-8").split())


@dataclass(frozen=True)
class Statement:
    kind: str  # the parse node's type: CreateStmt, IndexStmt, AlterTableStmt, ...
    node: dict
    start: int  # byte offset of its first token
    stop: int  # byte offset of its ';' (or the end of the text)
    lead: int  # where the statement before it stops: its comments start there
    line: int


def statements(src: Source, sql: str | None = None) -> list[Statement]:
    """The statements of ``src``, split and parsed by PostgreSQL's parser (``sql``: the text to
    parse instead, of the same length, offset for offset). Raises pglast's ParseError."""
    out, lead = [], 0
    for raw in json.loads(parser.parse_sql_json(src.text if sql is None else sql))["stmts"]:
        start = raw.get("stmt_location", 0)
        stop = start + raw["stmt_len"] if raw.get("stmt_len") else len(src.data)
        if src.data[start:start + 2] in (b"--", b"/*") or src.data[start:start + 1].isspace():
            code = [a for name, a, _ in src.tokens(start, stop) if name not in COMMENTS]
            if not code:
                continue
            start = code[0]
        [(kind, node)] = raw["stmt"].items()
        out.append(Statement(kind, node, start, stop, lead, src.line(start)))
        lead = stop
    return out


def block_sql(src: Source) -> str | None:
    """A DO body as plain SQL of the same length: ``BEGIN``/``END`` blanked, each ``PERFORM`` that
    starts a statement read as ``SELECT``; None when the body is not one plain list of statements."""
    code = [t for t in src.tokens() if t[0] not in COMMENTS]
    if code and code[-1][0] == "ASCII_59":
        code.pop()
    if len(code) < 2 or code[0][0] != "BEGIN_P" or code[-1][0] != "END_P":
        return None
    data = bytearray(src.data)
    for _, a, b in (code[0], code[-1]):
        data[a:b + 1] = b" " * (b + 1 - a)
    starts = [code[1]] + [code[n + 1] for n, t in enumerate(code[:-1]) if t[0] == "ASCII_59"]
    for _, a, b in starts:
        if src.raw(a, b).lower() == "perform":
            data[a:b + 1] = b"SELECT "
    return data.decode("utf-8")


def _names(items) -> tuple[str, ...]:
    return tuple(item["String"]["sval"] for item in items or ())


def _ident(name: str) -> str:
    return name if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) else '"' + name.replace('"', '""') + '"'


def _calls(node):
    """Every function call in a parse tree."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, dict):
            if "FuncCall" in n:
                yield n["FuncCall"]
            stack.extend(n.values())
        elif isinstance(n, list):
            stack.extend(n)


def _table_name(text: str) -> str:
    """A table named in a string (``create_distributed_table('x', ...)``), as a regclass reads it."""
    last = text.rsplit(".", 1)[-1] if not text.endswith('"') else text[text.rfind('"', 0, -1):]
    return last[1:-1].replace('""', '"') if last.startswith('"') else last.lower()


class Reader:
    """The statements of one file (or of a DO block in it), told to ``checks``. ``only_identifiers``:
    a down file, which undoes its up file, drops included."""

    def __init__(self, checks: Checks, file: str, src: Source, marked: bool, only_identifiers: bool = False,
                 created: set[str] | None = None, distributed: set[str] | None = None):
        self.checks, self.file, self.src, self.marked = checks, file, src, marked
        self.only_identifiers = only_identifiers
        self.created = set() if created is None else created
        self.distributed = set() if distributed is None else distributed

    def read(self, stmts: list[Statement]) -> None:
        handlers = {"CreateStmt": self.create_table, "IndexStmt": self.index, "AlterTableStmt": self.alter_table,
                    "DropStmt": self.drop, "SelectStmt": self.select}
        for st in stmts:
            self.identifiers(st)
            if st.kind == "DoStmt":
                self.do_block(st)
            elif not self.only_identifiers:
                if st.kind in handlers:
                    handlers[st.kind](st)
                if not self.checks.target.advisory_locks and any(
                        ADVISORY.match(_names(c["funcname"])[-1]) for c in _calls(st.node)):
                    self.checks.advisory_lock(self.file, st.line)

    def identifiers(self, st: Statement) -> None:
        """Identifiers as written (the parse tree holds them cut to 63 bytes), in a function's body too."""
        src = self.src
        if not LONG.search(src.data, st.start, st.stop):
            return
        for name, a, b in src.tokens(st.start, st.stop):
            if b - a < MAX_IDENTIFIER_BYTES:
                continue
            if name == "IDENT":
                self.identifier(st.line, src.raw(a, b))
            elif name == "SCONST" and st.kind == "CreateFunctionStmt" and src.data[a:a + 1] == b"$":
                self.body_identifiers(st.line, src.raw(a, b))

    def identifier(self, line: int, raw: str) -> None:
        self.checks.identifier(self.file, line, raw[1:-1].replace('""', '"') if raw.startswith('"') else raw.lower())

    def body_identifiers(self, line: int, quoted: str) -> None:
        tag = DOLLAR.match(quoted).group()
        body = Source(quoted[len(tag):-len(tag)])
        try:
            tokens = body.tokens() if LONG.search(body.data) else []
        except parser.ParseError:
            return
        for name, a, b in tokens:
            if name == "IDENT" and b - a >= MAX_IDENTIFIER_BYTES:
                self.identifier(line, body.raw(a, b))

    def unmarked(self, st: Statement) -> bool:
        """A destructive statement that neither the file's header nor a comment of its own marks."""
        return not self.marked and not any(STATEMENT_MARKER in c for c in self.src.comments(st.lead, st.stop))

    def do_block(self, st: Statement) -> None:
        options = {d["DefElem"]["defname"]: d["DefElem"] for d in st.node.get("args", ())}
        body = options.get("as")
        language = options.get("language", {}).get("arg", {}).get("String", {}).get("sval", "plpgsql")
        if body is None or language != "plpgsql":
            return
        at = body.get("arg_location", -1)
        quoted = [(a, b) for name, a, b in self.src.tokens(st.start if at < 0 else at, st.stop) if name == "SCONST"]
        if not quoted or self.src.data[quoted[0][0]:quoted[0][0] + 1] != b"$":
            return
        a, b = quoted[0]
        text = self.src.raw(a, b)
        tag = DOLLAR.match(text).group()
        try:
            src = Source(text[len(tag):-len(tag)], self.src.line(a))
            sql = block_sql(src)
            stmts = statements(src, sql) if sql is not None else None
        except parser.ParseError:
            stmts = None
        if stmts is None:  # not a plain list of SQL statements: its identifiers only
            return self.body_identifiers(st.line, text)
        Reader(self.checks, self.file, src, self.marked, self.only_identifiers, self.created,
               self.distributed).read(stmts)

    def type_text(self, location: int, bound: int) -> str:
        """A column's type as written (``integer``, ``bigint``, ``int``), lower case; ``bound``: a
        token boundary after it (what follows the column, or the statement's end)."""
        depth, text = 0, []
        for name, a, b in self.src.tokens(location, bound):
            if name == "ASCII_40":
                depth += 1
            elif name == "ASCII_41":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and name in TYPE_END:
                break
            if name not in COMMENTS:
                text.append((a, b))
        return " ".join(self.src.data[text[0][0]:text[-1][1] + 1].decode("utf-8").split()).lower()

    def column(self, st: Statement, table: str, coldef: dict, in_create: bool, bound: int) -> bool:
        """A column definition (``bound``: where what follows it starts); True when it is declared
        PRIMARY KEY itself."""
        col, type_name = coldef["colname"], coldef.get("typeName")
        if type_name is None:  # a partition's column options: the column is its parent's
            return False
        kind = type_name["names"][-1]["String"]["sval"]
        integer = kind in PG_INTEGERS and "arrayBounds" not in type_name
        constraints = [c["Constraint"] for c in coldef.get("constraints", ())]
        primary = in_create and any(c["contype"] == "CONSTR_PRIMARY" for c in constraints)
        if primary:
            self.checks.column_primary_key(self.file, st.line, table, col)
        if integer:
            after = [c.get("location", -1) for c in constraints] + [coldef.get("collClause", {}).get("location", -1)]
            kind = self.type_text(type_name["location"], min([x for x in after if x > type_name["location"]] or [bound]))
        self.checks.column(self.file, st.line, table, col, kind, integer)
        for c in constraints:
            if c["contype"] == "CONSTR_FOREIGN":
                self.foreign_key(st, table, (col,), c)
        return primary

    def constraint(self, st: Statement, table: str, c: dict) -> None:
        kind = c["contype"]
        if kind in ("CONSTR_PRIMARY", "CONSTR_UNIQUE") and "keys" in c:
            if kind == "CONSTR_PRIMARY":
                self.checks.primary_key(self.file, st.line, table, _names(c["keys"]))
            else:
                self.checks.key(table, _names(c["keys"]))
        elif kind == "CONSTR_FOREIGN":
            self.foreign_key(st, table, _names(c.get("fk_attrs")), c)

    def foreign_key(self, st: Statement, table: str, cols: tuple[str, ...], c: dict) -> None:
        if c.get("fk_del_action") in ("n", "d"):  # ON DELETE SET NULL / SET DEFAULT
            self.checks.set_null(self.file, st.line)
        ref_cols = _names(c["pk_attrs"]) if c.get("pk_attrs") else ("id",)
        self.checks.fk(self.file, st.line, table, cols, c["pktable"]["relname"], ref_cols)

    def create_table(self, st: Statement) -> None:
        if st.node["relation"].get("relpersistence") == "t":
            return  # a temporary table holds no tenant's rows past the session
        table = st.node["relation"]["relname"]
        self.checks.created(table, self.created)
        has_pk = False
        elements = [next(iter(e.items())) for e in st.node.get("tableElts", ())]
        bounds = [body.get("location", -1) for _, body in elements[1:]] + [st.stop]
        for (kind, body), bound in zip(elements, bounds):
            if kind == "ColumnDef":
                has_pk |= self.column(st, table, body, True, bound if bound >= 0 else st.stop)
            elif kind == "Constraint":
                has_pk |= body["contype"] == "CONSTR_PRIMARY"
                self.constraint(st, table, body)
        if not has_pk and "partbound" not in st.node:
            self.checks.no_primary_key(self.file, st.line, table)

    def index(self, st: Statement) -> None:
        params = [p["IndexElem"] for p in st.node.get("indexParams", ())]
        table = st.node["relation"]["relname"]
        if st.node.get("accessMethod") in ("gin", "ybgin"):
            self.checks.gin(self.file, st.line, len(params))
        cols = tuple(p.get("name", "") for p in params)  # an expression is no column
        self.checks.index(self.file, st.line, table, cols, bool(st.node.get("concurrent")), self.created)

    def alter_table(self, st: Statement) -> None:
        if st.node.get("objtype") != "OBJECT_TABLE":
            return
        table = st.node["relation"]["relname"]
        for cmd in (c["AlterTableCmd"] for c in st.node.get("cmds", ())):
            kind = cmd["subtype"]
            if kind == "AT_AddColumn":
                self.column(st, table, cmd["def"]["ColumnDef"], False, st.stop)
            elif kind == "AT_AddConstraint":
                self.constraint(st, table, cmd["def"]["Constraint"])
            elif kind == "AT_DropColumn" and self.unmarked(st):
                what = ("DROP COLUMN " + ("IF EXISTS " if cmd.get("missing_ok") else "") + _ident(cmd["name"])
                        + (" CASCADE" if cmd.get("behavior") == "DROP_CASCADE" else ""))
                self.checks.destructive(self.file, st.line, f"{what} loses data")
            elif kind == "AT_AlterColumnType" and self.unmarked(st):
                self.checks.destructive(self.file, st.line, f"a type change on {table} may lose or reject data")

    def drop(self, st: Statement) -> None:
        if st.node.get("removeType") == "OBJECT_TABLE" and self.unmarked(st):
            self.checks.destructive(self.file, st.line, f"{self.src.without_comments(st.start, st.stop)} loses data")

    def select(self, st: Statement) -> None:
        """Citus: the tables this file distributes (create_distributed_table('table', ...))."""
        if not self.checks.target.distribute:
            return
        for call in _calls(st.node):
            args = call.get("args") or ()
            if _names(call["funcname"])[-1] == "create_distributed_table" and args and "sval" in args[0].get("A_Const", {}):
                self.distributed.add(_table_name(args[0]["A_Const"]["sval"]["sval"]))


def read(checks: Checks, file: str, text: str, only_identifiers: bool = False) -> bool:
    """One file, by PostgreSQL's parser. False (and a ``syntax`` finding) when the parser refuses it."""
    try:
        if "\x00" in text:  # the server takes no NUL in a query; the parser would stop reading there
            raise parser.ParseError("a NUL character (PostgreSQL takes none in a query)", text.index("\x00"))
        src = Source(text)
        stmts = statements(src)
    except parser.ParseError as exc:
        message, index = (exc.args + (None,))[:2]
        line = text.count("\n", 0, index) + 1 if isinstance(index, int) else 1
        checks.add(file, line, "syntax", f"PostgreSQL's parser refuses this file: {message}")
        return False
    marked = MARKER in text and any(MARKER in c for c in src.comments(0, len(src.data)))
    reader = Reader(checks, file, src, marked, only_identifiers)
    reader.read(stmts)
    if not only_identifiers:
        checks.distribution(file, reader.created, reader.distributed)
    return True
