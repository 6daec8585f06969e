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


