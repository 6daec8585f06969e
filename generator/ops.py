"""Operations: frozen, keyword-only data, each with ``kind`` (the template that renders it) and
``phase`` (where it runs in a migration) as class constants, ``describe()``, ``reverse()`` and
``destructive``, which the operation computes from its own fields. Down migrations are computed,
never written: ``[op.reverse() for op in reversed(up)]``. Safety is a property of the operation,
never a regex. ``ALL_KINDS`` is every subclass of ``Op``; tests/test_ops.py reverses a sample of
each twice and checks it comes back equal.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from operator import attrgetter
from typing import Callable, ClassVar, Union

from generator.tables import Check, Column, ForeignKey, Index, Policy, Table, Unique

Constraint = Union[Check, Unique, ForeignKey]

# Phases order the operations of one migration so every object exists before it is named.
PHASES = (
    "extension", "drop_fk", "drop_policy", "drop_index", "drop_constraint", "rename", "create_table",
    "add_column", "alter_column", "drop_column", "drop_table", "add_constraint", "create_index", "add_fk",
    "policy", "comment", "drop_extension",
)


@dataclass(frozen=True, kw_only=True)
class Op:
    kind: ClassVar[str]
    phase: ClassVar[str]
    # True when a down migration has nothing to undo for it (left out of ``diff.reverse``)
    undoes_nothing: ClassVar[bool] = False

    # Where the operation's table name is: an attribute path ("table", "index.table"), "" for none
    table_at: ClassVar[str] = "table"
    _table_of: ClassVar[Callable[[object], str] | None] = None

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._table_of = staticmethod(attrgetter(cls.table_at)) if cls.table_at else None

    @property
    def table_name(self) -> str:
        """The table the operation is on ("" for none: an extension)."""
        return self._table_of(self) if self._table_of else ""

    @property
    def destructive(self) -> bool:
        """True when applying it may lose data already stored."""
        return False

    def reverse(self) -> "Op":
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class CreateExtension(Op):
    kind: ClassVar[str] = "create_extension"
    table_at: ClassVar[str] = ""
    name: str
    phase: ClassVar[str] = "extension"

    def reverse(self) -> Op:
        return DropExtension(name=self.name)

    def describe(self) -> str:
        return f"create extension {self.name}"


@dataclass(frozen=True, kw_only=True)
class DropExtension(Op):
    kind: ClassVar[str] = "drop_extension"
    table_at: ClassVar[str] = ""
    phase: ClassVar[str] = "drop_extension"
    name: str

    def reverse(self) -> Op:
        return CreateExtension(name=self.name)

    def describe(self) -> str:
        return f"drop extension {self.name}"


@dataclass(frozen=True, kw_only=True)
class CreateTable(Op):
    kind: ClassVar[str] = "create_table"
    table_at: ClassVar[str] = "table.name"
    phase: ClassVar[str] = "create_table"
    table: Table

    def reverse(self) -> Op:
        return DropTable(table=self.table)

    def describe(self) -> str:
        return f"create table {self.table.name} ({len(self.table.columns)} columns)"


@dataclass(frozen=True, kw_only=True)
class DropTable(Op):
    kind: ClassVar[str] = "drop_table"
    table_at: ClassVar[str] = "table.name"
    phase: ClassVar[str] = "drop_table"
    table: Table


    @property
    def destructive(self) -> bool:
        return True  # its rows are lost

    def reverse(self) -> Op:
        return CreateTable(table=self.table)

    def describe(self) -> str:
        return f"DROP table {self.table.name} (its rows are lost)"


@dataclass(frozen=True, kw_only=True)
class AddColumn(Op):
    kind: ClassVar[str] = "add_column"
    phase: ClassVar[str] = "add_column"
    table: str
    column: Column

    def reverse(self) -> Op:
        return DropColumn(table=self.table, column=self.column)

    def describe(self) -> str:
        return f"add column {self.table}.{self.column.name} {self.column.type}"


@dataclass(frozen=True, kw_only=True)
class DropColumn(Op):
    kind: ClassVar[str] = "drop_column"
    phase: ClassVar[str] = "drop_column"
    table: str
    column: Column


    @property
    def destructive(self) -> bool:
        return True  # its values are lost

    def reverse(self) -> Op:
        return AddColumn(table=self.table, column=self.column)

    def describe(self) -> str:
        return f"DROP column {self.table}.{self.column.name} (its values are lost)"


@dataclass(frozen=True, kw_only=True)
class AlterColumn(Op):
    """Type and/or nullability change of one column (before/after kept for reverse and review)."""

    kind: ClassVar[str] = "alter_column"
    phase: ClassVar[str] = "alter_column"
    table: str
    before: Column
    after: Column

    def reverse(self) -> Op:
        return AlterColumn(table=self.table, before=self.after, after=self.before)

    @property
    def destructive(self) -> bool:
        return narrows(self.before.type, self.after.type)

    @property
    def convertible(self) -> bool:
        return convertible(self.before.type, self.after.type)

    def describe(self) -> str:
        changes = []
        if self.before.type != self.after.type:
            lost = "" if self.convertible else " (no conversion: its values are lost)"
            changes.append(f"type {self.before.type} -> {self.after.type}{lost}")
        if self.before.not_null != self.after.not_null:
            changes.append("set NOT NULL" if self.after.not_null else "drop NOT NULL")
        if self.before.default != self.after.default:
            changes.append(f"default {self.after.default}" if self.after.default else "drop default")
        return f"alter column {self.table}.{self.after.name}: {', '.join(changes)}"


@dataclass(frozen=True, kw_only=True)
class AddConstraint(Op):
    """``not_valid``: added without checking existing rows (validated by a later ValidateConstraint);
    ``using_index``: a UNIQUE constraint adopting the index of the same name built concurrently before;
    ``replaces``: the constraint of the same name that the migration drops before (a changed definition);
    ``with_table``: its table is created by the same migration."""

    kind: ClassVar[str] = "add_constraint"
    table: str
    constraint: Constraint
    not_valid: bool = False
    using_index: bool = False
    replaces: Constraint | None = None
    with_table: bool = False


    @property
    def phase(self) -> str:  # type: ignore[override]
        return "add_fk" if isinstance(self.constraint, ForeignKey) else "add_constraint"

    @property
    def destructive(self) -> bool:
        """A selection CHECK that allows fewer values than the one it replaces: rows holding a value
        that is gone make it fail, and fixing them loses that value."""
        before = getattr(self.replaces, "values", None)
        after = getattr(self.constraint, "values", None)
        return before is not None and after is not None and not set(before) <= set(after)

    def reverse(self) -> Op:
        return DropConstraint(table=self.table, constraint=self.constraint, not_valid=self.not_valid,
                              using_index=self.using_index, replaced_by=self.replaces, with_table=self.with_table)

    def describe(self) -> str:
        how = " (NOT VALID)" if self.not_valid else " (using its index)" if self.using_index else ""
        return f"add {_constraint_kind(self.constraint)} {self.constraint.name} on {self.table}{how}"


@dataclass(frozen=True, kw_only=True)
class DropConstraint(Op):
    """``not_valid`` and ``using_index``: how the reverse adds it back; ``replaced_by``: the constraint
    of the same name the migration adds after it; ``with_table``: its table is dropped in the same
    migration, which drops it too (then the file says so and runs nothing for it)."""

    kind: ClassVar[str] = "drop_constraint"
    table: str
    constraint: Constraint
    not_valid: bool = False
    using_index: bool = False
    replaced_by: Constraint | None = None
    with_table: bool = False


    @property
    def phase(self) -> str:  # type: ignore[override]
        return "drop_fk" if isinstance(self.constraint, ForeignKey) else "drop_constraint"

    def reverse(self) -> Op:
        return AddConstraint(table=self.table, constraint=self.constraint, not_valid=self.not_valid,
                             using_index=self.using_index, replaces=self.replaced_by, with_table=self.with_table)

    def describe(self) -> str:
        return f"drop {_constraint_kind(self.constraint)} {self.constraint.name} on {self.table}"


@dataclass(frozen=True, kw_only=True)
class CreateIndex(Op):
    kind: ClassVar[str] = "create_index"
    table_at: ClassVar[str] = "index.table"
    phase: ClassVar[str] = "create_index"
    index: Index
    concurrently: bool = False  # then it is alone in a "-- no-transaction" file
    with_table: bool = False  # its table is created by the same migration

    def reverse(self) -> Op:
        return DropIndex(index=self.index, concurrently=self.concurrently, with_table=self.with_table)

    def describe(self) -> str:
        return f"create index {self.index.name} on {self.index.table}"


@dataclass(frozen=True, kw_only=True)
class DropIndex(Op):
    kind: ClassVar[str] = "drop_index"
    table_at: ClassVar[str] = "index.table"
    phase: ClassVar[str] = "drop_index"
    index: Index
    concurrently: bool = False
    with_table: bool = False  # its table is dropped in the same migration, which drops it too

    def reverse(self) -> Op:
        return CreateIndex(index=self.index, concurrently=self.concurrently, with_table=self.with_table)

    def describe(self) -> str:
        return f"drop index {self.index.name}"


@dataclass(frozen=True, kw_only=True)
class EnablePolicy(Op):
    """ENABLE ROW LEVEL SECURITY and the tenant policy."""

    kind: ClassVar[str] = "enable_policy"
    table: str
    policy: Policy
    with_table: bool = False  # its table is created by the same migration
    phase: ClassVar[str] = "policy"

    def reverse(self) -> Op:
        return DisablePolicy(table=self.table, policy=self.policy, with_table=self.with_table)

    def describe(self) -> str:
        return f"row-level security on {self.table} ({self.policy.setting})"


@dataclass(frozen=True, kw_only=True)
class DisablePolicy(Op):
    kind: ClassVar[str] = "disable_policy"
    table: str
    policy: Policy
    phase: ClassVar[str] = "drop_policy"
    with_table: bool = False  # its table is dropped in the same migration, which drops it too

    def reverse(self) -> Op:
        return EnablePolicy(table=self.table, policy=self.policy, with_table=self.with_table)

    def describe(self) -> str:
        return f"drop row-level security policy on {self.table}"


@dataclass(frozen=True, kw_only=True)
class SetComment(Op):
    kind: ClassVar[str] = "set_comment"
    table: str
    column: str | None = None
    before: str | None = None
    after: str | None = None
    phase: ClassVar[str] = "comment"

    def reverse(self) -> Op:
        return replace(self, before=self.after, after=self.before)

    def describe(self) -> str:
        target = f"{self.table}.{self.column}" if self.column else self.table
        return f"comment on {target}"


@dataclass(frozen=True, kw_only=True)
class RenameTable(Op):
    """Rename a table and its primary key constraint (whose name derives from the table's)."""

    kind: ClassVar[str] = "rename_table"
    table_at: ClassVar[str] = "after"
    before: str
    after: str
    before_pkey: str
    after_pkey: str
    phase: ClassVar[str] = "rename"

    def reverse(self) -> Op:
        return RenameTable(before=self.after, after=self.before, before_pkey=self.after_pkey, after_pkey=self.before_pkey)

    def describe(self) -> str:
        return f"rename table {self.before} -> {self.after} (data kept)"


@dataclass(frozen=True, kw_only=True)
class RenameColumn(Op):
    kind: ClassVar[str] = "rename_column"
    table: str
    before: str
    after: str
    phase: ClassVar[str] = "rename"

    def reverse(self) -> Op:
        return RenameColumn(table=self.table, before=self.after, after=self.before)

    def describe(self) -> str:
        return f"rename column {self.table}.{self.before} -> {self.after} (data kept)"


@dataclass(frozen=True, kw_only=True)
class ValidateConstraint(Op):
    """Check the existing rows against a NOT VALID constraint (SHARE UPDATE EXCLUSIVE: writes go on).
    Its own reverse: validating again is harmless, and a down migration drops the constraint anyway."""

    kind: ClassVar[str] = "validate_constraint"
    table: str
    name: str
    phase: ClassVar[str] = "add_fk"

    def reverse(self) -> Op:
        return self

    def describe(self) -> str:
        return f"validate constraint {self.name} on {self.table}"


@dataclass(frozen=True, kw_only=True)
class FillNulls(Op):
    """``UPDATE ... SET col = value WHERE col IS NULL``: before an existing column becomes NOT NULL,
    the rows already there get the rules file's ``[[default]]`` value. A down migration leaves it
    out (``undoes_nothing``): the filled values stay, and once the column is NOT NULL there is
    nothing left to fill; its own reverse for the algebra of operations."""

    kind: ClassVar[str] = "fill_nulls"
    undoes_nothing: ClassVar[bool] = True
    table: str
    column: str
    value: str = ""  # an SQL literal made by naming.literal (Column.backfill)
    phase: ClassVar[str] = "alter_column"

    def reverse(self) -> Op:
        return self

    def describe(self) -> str:
        return f"fill the NULLs of {self.table}.{self.column} with {self.value}"


ALL_KINDS: tuple[type[Op], ...] = tuple(Op.__subclasses__())


def _constraint_kind(c: Constraint) -> str:
    return {Check: "check", Unique: "unique", ForeignKey: "foreign key"}[type(c)]


# Type changes that keep every value (widening); anything else is narrowing.
_WIDENING = {
    ("integer", "bigint"), ("integer", "numeric"), ("integer", "double precision"), ("bigint", "numeric"),
    ("double precision", "numeric"), ("character varying", "text"), ("text", "character varying"),
    ("date", "timestamp without time zone"), ("boolean", "character varying"), ("integer", "character varying"),
    ("numeric", "character varying"), ("character varying", "jsonb"), ("text", "jsonb"),
}


_NUMBERS = {"integer", "bigint", "numeric", "double precision", "boolean"}
_TIMES = {"date", "timestamp without time zone"}
# Type pairs whose values cannot be converted at all: the column's values are lost (USING NULL).
_NO_CONVERSION = (
    {(t, "uuid") for t in _NUMBERS | _TIMES | {"jsonb"}} | {("uuid", t) for t in _NUMBERS | _TIMES | {"jsonb"}}
    | {(a, b) for a in _NUMBERS for b in _TIMES} | {(a, b) for a in _TIMES for b in _NUMBERS}
    | {("jsonb", t) for t in _NUMBERS | _TIMES}
)


def _base(t: str) -> tuple[str, int | None]:
    """A column type without its length: ('character varying', 64) for character varying(64)."""
    if t.startswith("character varying(") and t.endswith(")"):
        return "character varying", int(t[len("character varying("):-1])
    return t, None


def convertible(before: str, after: str) -> bool:
    """False when a column's values cannot be converted from ``before`` to ``after`` at all (an
    integer record id becoming a uuid, a date becoming a number): the change then loses them."""
    return (_base(before)[0], _base(after)[0]) not in _NO_CONVERSION


def narrows(before: str, after: str) -> bool:
    """True when changing a column from type ``before`` to ``after`` may lose or reject values."""
    if before == after:
        return False
    (b, bsize), (a, asize) = _base(before), _base(after)
    if b == a == "character varying":
        return asize is not None and (bsize is None or asize < bsize)
    if (b, a) in _WIDENING:
        return asize is not None  # into a sized varchar may truncate
    return True
