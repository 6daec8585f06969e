"""The semantic checks of `fbs-schema lint`, on what a reader found in the migration files: tables,
their columns and keys, foreign keys, indexes, destructive statements. The readers (lint_pg: the
parse tree of PostgreSQL's own parser; lint_text: the text reader for YugabyteDB's syntax) say
what each statement does; the rules live here once, so both targets report the same findings."""

from __future__ import annotations

from dataclasses import dataclass, field

from generator import target as target_mod
from generator.naming import MAX_IDENTIFIER_BYTES
from generator.tenant import looks_like_record_id

MARKER = "!!! DESTRUCTIVE"
STATEMENT_MARKER = "-- fbs: destructive"
INTEGER_TYPES = ("integer", "int", "int4", "bigint", "int8", "smallint", "int2", "serial", "bigserial")


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
    columns: dict[str, str] = field(default_factory=dict)  # name -> type as written, lower case
    integers: set[str] = field(default_factory=set)  # the columns of an integer type
    keys: list[tuple[str, ...]] = field(default_factory=list)  # PK, UNIQUE and index column lists


def is_integer(ctype: str) -> bool:
    """A type as written (``integer``, ``int8``, ``bigint``) is an integer type (not an array)."""
    return ctype.split("(")[0] in INTEGER_TYPES


class Checks:
    """The findings over every file of a folder, in version order: tables and keys are kept from
    file to file (a foreign key is indexed by a later file, a column referenced across files)."""

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

    def table(self, name: str) -> _Table:
        return self.tables.setdefault(name, _Table())

    def identifier(self, file: str, line: int, name: str) -> None:
        size = len(name.encode("utf-8"))
        if size > MAX_IDENTIFIER_BYTES:
            self.add(file, line, "identifier-length",
                     f"identifier {name[:40]}... is {size} bytes; PostgreSQL truncates it to {MAX_IDENTIFIER_BYTES}")

    def created(self, name: str, created: set[str]) -> None:
        created.add(name)
        self.tables[name] = _Table()

    def column(self, file: str, line: int, table: str, col: str, ctype: str, integer: bool | None = None) -> None:
        """``ctype``: the type as written, lower case; ``integer``: whether it is an integer type
        (by default read from ``ctype``)."""
        t = self.table(table)
        t.columns[col] = ctype
        integer = is_integer(ctype) if integer is None else integer
        if integer:
            t.integers.add(col)
        if integer and looks_like_record_id(col) and (table, col) not in self.integer_ids:
            self.add(file, line, "integer-reference",
                     f"{table}.{col} is {ctype} but holds a record id, and ids are uuid here "
                     "(keep it integer on purpose with a [[record_id]] uuid = false rule)")

    def primary_key(self, file: str, line: int, table: str, cols: tuple[str, ...]) -> None:
        self.table(table).keys.append(cols)
        if not cols or cols[0] != "tenant_id":
            self.add(file, line, "tenant-primary-key", f"primary key of {table} ({', '.join(cols)}) does not start with tenant_id")

    def column_primary_key(self, file: str, line: int, table: str, col: str) -> None:
        """A PRIMARY KEY written on one column: never led by tenant_id and followed by the id."""
        self.add(file, line, "tenant-primary-key", f"primary key of {table} ({col}) does not start with tenant_id")

    def no_primary_key(self, file: str, line: int, table: str) -> None:
        self.add(file, line, "tenant-primary-key", f"table {table} has no primary key")

    def key(self, table: str, cols: tuple[str, ...]) -> None:
        self.table(table).keys.append(cols)

    def fk(self, file, line, table, cols, ref_table, ref_cols):
        where = Finding(file, line, "unindexed-foreign-key", "")
        if not cols or cols[0] != "tenant_id" or not ref_cols or ref_cols[0] != "tenant_id":
            self.add(file, line, "tenant-foreign-key",
                     f"foreign key {table} ({', '.join(cols)}) -> {ref_table} ({', '.join(ref_cols)}) is not tenant-scoped")
        t, r = self.tables.get(table), self.tables.get(ref_table)
        if t and r:
            for c, rc in zip(cols, ref_cols):
                ctype, rtype = t.columns.get(c, ""), r.columns.get(rc, "")
                if c in t.integers and rtype == "uuid":
                    self.add(file, line, "integer-reference",
                             f"{table}.{c} is {ctype} but references {ref_table}.{rc}, a uuid")
        self.fks.append((where, table, tuple(cols)))

    def index(self, file: str, line: int, table: str, cols: tuple[str, ...], concurrently: bool,
              created: set[str]) -> None:
        self.table(table).keys.append(cols)
        if not concurrently and table not in created:
            self.add(file, line, "concurrent-index",
                     f"CREATE INDEX on {table}, which exists before this file: use CREATE INDEX CONCURRENTLY "
                     "alone in a '-- no-transaction' file")

    def destructive(self, file: str, line: int, what: str) -> None:
        self.add(file, line, "destructive-marker", f"{what} but the file has no '{MARKER}' header")

    def set_null(self, file: str, line: int) -> None:
        t = self.target
        if not t.set_null_columns:
            self.add(file, line, "set-null-unsupported",
                     f"ON DELETE SET NULL / SET DEFAULT on target {t.name}: Citus refuses it on a key that holds "
                     "tenant_id and YugabyteDB 2024.2 has no SET NULL (col); use the FK without an action plus "
                     "the set null trigger that fbs-schema generate writes")

    def gin(self, file: str, line: int, columns: int) -> None:
        if not self.target.gin_multicolumn and columns > 1:
            self.add(file, line, "ybgin-multicolumn", "a GIN (ybgin) index on YugabyteDB takes one column only")

    def advisory_lock(self, file: str, line: int) -> None:
        if not self.target.advisory_locks:
            self.add(file, line, "advisory-lock", f"advisory locks are not available on target {self.target.name}")

    def distribution(self, file: str, created: set[str], distributed: set[str]) -> None:
        if self.target.distribute:
            for table in sorted(created - distributed):
                self.add(file, 1, "citus-distribution",
                         f"table {table} is created but not distributed by tenant_id in this file "
                         "(create_distributed_table): Citus would keep it on the coordinator")

    def finish(self) -> None:
        """After the last up file: the foreign keys no file has indexed."""
        for where, table, cols in self.fks:
            if len(cols) < 2:
                continue
            keys = self.table(table).keys
            if not any(k[:2] == cols[:2] for k in keys):
                self.add(where.file, where.line, "unindexed-foreign-key",
                         f"foreign key {table} ({', '.join(cols)}) has no index led by ({', '.join(cols[:2])})")
