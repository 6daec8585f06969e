"""The diff: a pure function from (previous, new) to a ``Plan``: both physical schemas and the
ordered operations from one to the other.

``plan(old, new)`` builds both physical schemas with the tenant rules and compares them by set
algebra over stable keys (table, column, constraint and index names), in sorted order, through one
helper (``_pairs``). The initial schema is ``plan(Snapshot.empty(), snapshot)``. Every command that
needs a change (generate, plan, diagram --changes, verify) starts from this one plan;
``planning`` then cuts its operations into migration files.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, TypeVar

from generator import ops
from generator.model import Snapshot
from generator.naming import shorten
from generator.placement import DEFAULT as DEFAULT_PLACEMENT
from generator.placement import Placement
from generator.renames import Renames
from generator.rules import Rules
from generator.tables import RELATION_TABLE, Schema, Table
from generator.tenant import build

T = TypeVar("T")


def _pairs(old: Iterable[T], new: Iterable[T], key) -> tuple[list[T], list[tuple[T, T]], list[T]]:
    """(only in old, in both as (old, new), only in new), each sorted by key."""
    a = {key(x): x for x in old}
    b = {key(x): x for x in new}
    removed = [a[k] for k in sorted(a.keys() - b.keys())]
    both = [(a[k], b[k]) for k in sorted(a.keys() & b.keys())]
    added = [b[k] for k in sorted(b.keys() - a.keys())]
    return removed, both, added


def _name(x) -> str:
    return x.name


def _replaced(old: Iterable[T], new: Iterable[T]) -> tuple[list[T], list[T]]:
    """(to drop, to add) by name: one that changed under the same name is dropped and added again."""
    gone, kept, added = _pairs(old, new, _name)
    for before, after in kept:
        if before != after:
            gone.append(before)
            added.append(after)
    return gone, added


def _create_table(t: Table) -> list[ops.Op]:
    out: list[ops.Op] = [ops.CreateTable(table=t)]
    out += [ops.CreateIndex(index=i) for i in t.indexes]
    out += [ops.AddConstraint(table=t.name, constraint=fk) for fk in t.foreign_keys]
    if t.policy:
        out.append(ops.EnablePolicy(table=t.name, policy=t.policy))
    return out


def _drop_table(t: Table) -> list[ops.Op]:
    """The reverse of each, in reverse order."""
    return [op.reverse() for op in reversed(_create_table(t))]


@dataclass(frozen=True)
class PhysicalRenames:
    """Renames on the physical schema: old table -> new table; (new table, old column) -> new column."""

    tables: dict[str, str] = field(default_factory=dict)
    columns: dict[tuple[str, str], str] = field(default_factory=dict)


def physical_renames(old: Snapshot, new: Snapshot, old_schema: Schema, new_schema: Schema,
                     renames: Renames, placement: Placement = DEFAULT_PLACEMENT) -> PhysicalRenames:
    tables: dict[str, str] = {}
    columns: dict[tuple[str, str], str] = {}
    model_map = renames.model_map()
    for o, n in renames.models:
        tables[shorten(placement.table(old.model_map[o].table))] = shorten(placement.table(new.model_map[n].table))
    field_map = {(m, o): n for m, o, n in renames.fields}
    for model, o, n in renames.fields:
        columns[(shorten(placement.table(new.model_map[model].table)), shorten(o))] = shorten(n)
    # many2many tables follow their field: same (renamed) model.field origin, maybe a new name
    new_by_origin = {_relation_origin(t): t for t in new_schema.tables if _relation_origin(t)}
    for t in old_schema.tables:
        origin = _relation_origin(t)
        if not origin:
            continue
        model, _, fname = origin.rpartition(".")
        model = model_map.get(model, model)
        fname = field_map.get((model, fname), fname)
        target = new_by_origin.get(f"{model}.{fname}")
        if target is None or target.name == t.name or new_schema.table(t.name) is not None:
            continue
        tables[t.name] = target.name
        for before, after in zip(t.columns[1:], target.columns[1:]):
            if before.name != after.name:
                columns[(target.name, before.name)] = after.name
    return PhysicalRenames(tables, columns)


def _relation_origin(t: Table) -> str:
    """``model.field`` of the many2many that declares a relation table keyed by its two ends (the
    first field when both sides use it); "" for any other table (a shared one has an id key)."""
    p = t.provenance
    if p is None or p.kind != RELATION_TABLE or t.column("id") is not None:
        return ""
    return p.fields[0]


# Column attributes an ALTER COLUMN changes; the others that equality compares have their own
# operation (name: RenameColumn, comment: SetComment). tests/test_ops.py checks that every compared
# field of Column is in one of the two lists.
ALTERED_BY_ALTER_COLUMN = ("type", "not_null", "default")
CHANGED_ELSEWHERE = ("name", "comment")


def _altered(before, after) -> bool:
    return any(getattr(before, f) != getattr(after, f) for f in ALTERED_BY_ALTER_COLUMN)


def _alter_table(a: Table, b: Table, renames: PhysicalRenames = PhysicalRenames()) -> list[ops.Op]:
    out: list[ops.Op] = []
    if a.name != b.name:
        out.append(ops.RenameTable(before=a.name, after=b.name, before_pkey=a.primary_key_name,
                                   after_pkey=b.primary_key_name))
    renamed = {old: new for (table, old), new in renames.columns.items() if table == b.name}
    old_columns = []
    for c in a.columns:
        if c.name in renamed:
            out.append(ops.RenameColumn(table=b.name, before=c.name, after=renamed[c.name]))
            c = replace(c, name=renamed[c.name])
        old_columns.append(c)
    removed, both, added = _pairs(old_columns, b.columns, _name)
    out += [ops.AddColumn(table=b.name, column=c) for c in added]
    for before, after in both:
        if _altered(before, after):
            out.append(ops.AlterColumn(table=b.name, before=before, after=after))
        if before.comment != after.comment:
            out.append(ops.SetComment(table=b.name, column=after.name, before=before.comment, after=after.comment))
    out += [ops.DropColumn(table=b.name, column=c) for c in removed]

    for kind in ("checks", "uniques", "foreign_keys"):
        gone, new = _replaced(getattr(a, kind), getattr(b, kind))
        successor = {c.name: c for c in new}
        predecessor = {c.name: c for c in gone}
        out += [ops.DropConstraint(table=a.name, constraint=c, replaced_by=successor.get(c.name)) for c in gone]
        out += [ops.AddConstraint(table=b.name, constraint=c, replaces=predecessor.get(c.name)) for c in new]

    gone, new = _replaced(a.indexes, b.indexes)
    out += [ops.DropIndex(index=i) for i in gone]
    out += [ops.CreateIndex(index=i) for i in new]

    if a.policy != b.policy:
        if a.policy:
            out.append(ops.DisablePolicy(table=a.name, policy=a.policy))
        if b.policy:
            out.append(ops.EnablePolicy(table=b.name, policy=b.policy))
    if a.comment != b.comment:
        out.append(ops.SetComment(table=b.name, before=a.comment, after=b.comment))
    return out


def diff_schemas(old: Schema, new: Schema, renames: PhysicalRenames = PhysicalRenames()) -> list[ops.Op]:
    out: list[ops.Op] = []
    gone_ext, _, new_ext = _pairs(old.extensions, new.extensions, lambda x: x)
    out += [ops.CreateExtension(name=e) for e in new_ext]
    out += [ops.DropExtension(name=e) for e in gone_ext]
    old_tables = [t for t in old.tables if t.name not in renames.tables]
    new_by_name = {t.name: t for t in new.tables}
    renamed_pairs = [(t, new_by_name[renames.tables[t.name]]) for t in old.tables if t.name in renames.tables]
    taken = {b.name for _, b in renamed_pairs}
    removed, both, added = _pairs(old_tables, [t for t in new.tables if t.name not in taken], _name)
    for t in added:
        out += _create_table(t)
    for a, b in both + renamed_pairs:
        if (a.primary_key, a.primary_key_name) != (b.primary_key, b.primary_key_name) and a.name == b.name:
            out += _drop_table(a) + _create_table(b)  # a new key: a new table
        else:
            out += _alter_table(a, b, renames)
    for t in removed:
        out += _drop_table(t)
    return order(out)


def order(operations: list[ops.Op]) -> list[ops.Op]:
    """Stable sort by phase, so every object exists before it is named and is unused when dropped."""
    rank = {p: i for i, p in enumerate(ops.PHASES)}
    return sorted(operations, key=lambda op: rank[op.phase])


@dataclass(frozen=True)
class Plan:
    """A change: the physical schema before and after, and the operations from one to the other."""

    old: Schema
    new: Schema
    operations: tuple[ops.Op, ...]


def plan(old: Snapshot, new: Snapshot, rules: Rules = Rules(), renames: Renames = Renames(),
         old_rules: Rules | None = None, placement: Placement = DEFAULT_PLACEMENT) -> Plan:
    """Pure: (previous snapshot, new snapshot) -> the plan between them. ``rules`` shape the new
    schema, ``old_rules`` (default: the same) the previous one; ``renames`` must be resolved against
    both snapshots (``renames.resolve``)."""
    old_rules = rules if old_rules is None else old_rules
    old_schema = build(old, old_rules, placement)
    # the same snapshot under the same rules is the same schema (``build`` is pure): built once
    new_schema = old_schema if old is new and old_rules == rules else build(new, rules, placement)
    if old_schema is new_schema and not renames.models and not renames.fields:
        return Plan(old_schema, new_schema, ())  # a schema against itself: nothing to do
    physical = physical_renames(old, new, old_schema, new_schema, renames, placement)
    return Plan(old_schema, new_schema, tuple(diff_schemas(old_schema, new_schema, physical)))


def diff(old: Snapshot, new: Snapshot, rules: Rules = Rules(), renames: Renames = Renames(),
         old_rules: Rules | None = None) -> list[ops.Op]:
    """The operations of ``plan(old, new, ...)``."""
    return list(plan(old, new, rules, renames, old_rules).operations)


def reverse(operations: list[ops.Op]) -> list[ops.Op]:
    """The down migration of ``operations``: the inverse of each, last first. Each inverse runs on
    exactly the state its operation produced, so the sequence undoes the migration step by step.
    An operation with nothing to undo (a fill of NULLs) has no inverse in it."""
    return [op.reverse() for op in reversed(operations) if not op.undoes_nothing]


