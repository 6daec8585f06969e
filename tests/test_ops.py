"""Operations and the diff, without a database."""

from __future__ import annotations


from generator import diff, ops, render
from generator.model import Snapshot
from generator.target import TARGETS


def test_every_operation_kind_has_a_template():
    for cls in ops.ALL_KINDS:
        assert (render.TEMPLATES / "ops" / f"{cls.kind}.sql.j2").exists(), cls.kind
    kinds = {f"{c.kind}.sql.j2" for c in ops.ALL_KINDS}
    # files starting with "_" are parts included by the templates of several kinds
    assert {p.name for p in (render.TEMPLATES / "ops").iterdir() if not p.name.startswith("_")} == kinds
    # a target overrides only the kinds whose SQL differs there, never a kind that does not exist
    for target in TARGETS.values():
        for folder in target.templates:
            assert {p.name for p in (render.TEMPLATES / folder / "ops").iterdir()} <= kinds, folder


def test_reverse_of_reverse_is_identity_for_every_operation(bundled):
    up = diff.diff(Snapshot.empty(), bundled)
    down = diff.reverse(up)
    assert sorted(map(repr, (op.reverse() for op in down))) == sorted(map(repr, up))
    assert diff.reverse(down) == up
    for op in up + down:
        assert op.reverse().reverse() == op
    assert {type(op) for op in up + down} >= {ops.CreateTable, ops.DropTable, ops.CreateIndex, ops.DropIndex,
                                               ops.AddConstraint, ops.DropConstraint, ops.EnablePolicy,
                                               ops.DisablePolicy}


def test_diff_of_a_snapshot_with_itself_is_empty(bundled):
    assert diff.diff(bundled, bundled) == []


def test_initial_schema_orders_tables_before_foreign_keys(bundled):
    up = diff.diff(Snapshot.empty(), bundled)
    phases = [op.phase for op in up]
    assert phases.index("add_fk") > max(i for i, p in enumerate(phases) if p == "create_table")
    assert not any(op.destructive for op in up)




def test_every_compared_column_attribute_is_handled_by_the_diff():
    """A Column attribute that equality compares must be changed by some operation, or a change
    of it alone would make no migration (as a changed default once did)."""
    import dataclasses

    from generator.tables import Column

    compared = {f.name for f in dataclasses.fields(Column) if f.compare}
    assert compared == set(diff.ALTERED_BY_ALTER_COLUMN) | set(diff.CHANGED_ELSEWHERE)


def test_a_changed_default_alone_makes_a_migration():
    from dataclasses import replace

    from generator.tables import Column, Table

    col = Column("x", "uuid", not_null=True)
    a = Table("t", (col,), ("x",), "t_pkey")
    b = replace(a, columns=(replace(col, default="gen_random_uuid()"),))
    up = diff.diff_schemas(_schema(a), _schema(b))
    assert [op.describe() for op in up] == ["alter column t.x: default gen_random_uuid()"]
    assert "ALTER TABLE t ALTER COLUMN x SET DEFAULT gen_random_uuid();" in render.statement(up[0])
    assert "DROP DEFAULT" in render.statement(up[0].reverse())


def _schema(table):
    from generator.tables import Schema

    return Schema(tables=(table,))


def test_reverse_of_reverse_is_identity_for_destructive_constraints():
    from generator.tables import Check

    add = ops.AddConstraint(table="t", constraint=Check("t_c", "x > 0"), destructive=True)
    assert add.reverse().reverse() == add
    assert add.reverse().destructive
