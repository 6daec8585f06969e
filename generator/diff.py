"""The diff: a pure function from (previous, new) to an ordered list of operations.

``diff(old, new)`` builds both physical schemas with the tenant rules and compares them by set
algebra over stable keys (table, column, constraint and index names), in sorted order, through one
helper (``_pairs``). The initial schema is ``diff(Snapshot.empty(), snapshot)``.
"""

from __future__ import annotations

from typing import Iterable, TypeVar

from generator import ops
from generator.model import Snapshot
from generator.rules import Rules
from generator.tables import Schema, Table
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


def _create_table(t: Table) -> list[ops.Op]:
    out: list[ops.Op] = [ops.CreateTable(table=t)]
    out += [ops.CreateIndex(index=i) for i in t.indexes]
    out += [ops.AddConstraint(table=t.name, constraint=fk) for fk in t.foreign_keys]
    if t.policy:
        out.append(ops.EnablePolicy(table=t.name, policy=t.policy))
    return out


def _drop_table(t: Table) -> list[ops.Op]:
    # The reverse of each, in reverse order, rebuilds the table exactly.
    return [op.reverse() for op in reversed(_create_table(t))]


def _alter_table(a: Table, b: Table) -> list[ops.Op]:
    out: list[ops.Op] = []
    removed, both, added = _pairs(a.columns, b.columns, _name)
    out += [ops.AddColumn(table=b.name, column=c) for c in added]
    for before, after in both:
        if (before.type, before.not_null) != (after.type, after.not_null):
            out.append(ops.AlterColumn(table=b.name, before=before, after=after,
                                       destructive=ops.narrows(before.type, after.type)))
        if before.comment != after.comment:
            out.append(ops.SetComment(table=b.name, column=after.name, before=before.comment, after=after.comment))
    out += [ops.DropColumn(table=b.name, column=c, destructive=True) for c in removed]

    for kind in ("checks", "uniques", "foreign_keys"):
        gone, kept, new = _pairs(getattr(a, kind), getattr(b, kind), _name)
        for old_c, new_c in kept:
            if old_c != new_c:
                gone.append(old_c)
                new.append(new_c)
        for c in gone:
            out.append(ops.DropConstraint(table=b.name, constraint=c))
        for c in new:
            previous = next((g for g in gone if g.name == c.name), None)
            narrowing = (
                previous is not None and getattr(c, "values", None) is not None
                and getattr(previous, "values", None) is not None and not set(previous.values) <= set(c.values)
            )
            out.append(ops.AddConstraint(table=b.name, constraint=c, destructive=narrowing))

    gone, kept, new = _pairs(a.indexes, b.indexes, _name)
    for old_i, new_i in kept:
        if old_i != new_i:
            gone.append(old_i)
            new.append(new_i)
    out += [ops.DropIndex(index=i) for i in gone]
    out += [ops.CreateIndex(index=i) for i in new]

    if a.policy != b.policy:
        if a.policy:
            out.append(ops.DisablePolicy(table=b.name, policy=a.policy))
        if b.policy:
            out.append(ops.EnablePolicy(table=b.name, policy=b.policy))
    if a.comment != b.comment:
        out.append(ops.SetComment(table=b.name, before=a.comment, after=b.comment))
    return out


def diff_schemas(old: Schema, new: Schema) -> list[ops.Op]:
    out: list[ops.Op] = []
    gone_ext, _, new_ext = _pairs(old.extensions, new.extensions, lambda x: x)
    out += [ops.CreateExtension(name=e) for e in new_ext]
    out += [ops.DropExtension(name=e) for e in gone_ext]
    removed, both, added = _pairs(old.tables, new.tables, _name)
    for t in added:
        out += _create_table(t)
    for a, b in both:
        out += _alter_table(a, b)
    for t in removed:
        out += [
            op if not isinstance(op, ops.DropTable) else ops.DropTable(table=t, destructive=True)
            for op in _drop_table(t)
        ]
    return order(out)


def order(operations: list[ops.Op]) -> list[ops.Op]:
    """Stable sort by phase, so every object exists before it is named and is unused when dropped."""
    rank = {p: i for i, p in enumerate(ops.PHASES)}
    return sorted(operations, key=lambda op: rank[op.phase])


def diff(old: Snapshot, new: Snapshot, rules: Rules = Rules()) -> list[ops.Op]:
    """Pure: (previous snapshot, new snapshot) -> ordered operations."""
    return diff_schemas(build(old, rules), build(new, rules))


def reverse(operations: list[ops.Op]) -> list[ops.Op]:
    """The down migration of ``operations``."""
    return [op.reverse() for op in reversed(operations)]


