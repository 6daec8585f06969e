"""Operations and the diff, without a database."""

from __future__ import annotations

import dataclasses

import pytest

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

    wide = Check("t_state_check", "state IN ('a', 'b')", ("a", "b"))
    narrow = Check("t_state_check", "state IN ('a')", ("a",))
    add = ops.AddConstraint(table="t", constraint=narrow, replaces=wide)
    assert add.destructive and add.reverse().reverse() == add
    # the down migration adds the wider check back in place of the narrow one: that loses nothing
    down_add = ops.DropConstraint(table="t", constraint=wide, replaced_by=narrow).reverse()
    assert down_add == ops.AddConstraint(table="t", constraint=wide, replaces=narrow) and not down_add.destructive


def _samples(cls) -> list[ops.Op]:
    """Instances of an operation kind, one per combination of its fields' sample values (flags off
    and on, optional fields unset and set), built from its dataclass fields: a new field of a type
    met nowhere here fails loudly."""
    import itertools

    from generator.tables import VALUE, Check, Column, ForeignKey, Index, IndexColumn, Policy, Provenance, Table, Unique

    column = Column("amount", "integer", comment="Amount", provenance=Provenance(VALUE, "x.order", "amount", "amount"))
    varchar = Column("amount", "character varying(8)", not_null=True, default="'0'")
    table = Table("x_order", (Column("tenant_id", "uuid", not_null=True), column), ("tenant_id",), "x_order_pkey")
    check = Check("x_order_state_check", "state IN ('a')", ("a",))
    wider = Check("x_order_state_check", "state IN ('a', 'b')", ("a", "b"))
    pool = {
        "str": ["x_order", "amount_total"],
        "str | None": [None, "Amount"],
        "bool": [False, True],
        "Table": [table],
        "Column": [column, varchar],
        "Index": [Index("x_order__amount_index", "x_order", (IndexColumn("tenant_id"), IndexColumn("amount")))],
        "Policy": [Policy("tenant_isolation", "app.tenant_id")],
        "Constraint": [check, Unique("x_order_amount_uniq", ("tenant_id", "amount")),
                       ForeignKey("x_order_partner_id_fkey", ("tenant_id", "partner_id"), "x_partner",
                                  ("tenant_id", "id"), "SET NULL", ("partner_id",))],
        "Constraint | None": [None, wider],
    }
    fields = dataclasses.fields(cls)
    unknown = [f"{cls.__name__}.{f.name}: {f.type}" for f in fields if f.type not in pool]
    assert unknown == [], "give these field types sample values"
    combos = itertools.product(*(pool[f.type] for f in fields))
    return [cls(**{f.name: v for f, v in zip(fields, values)}) for values in combos]


def test_reverse_of_reverse_is_identity_on_a_sample_of_every_operation_kind():
    assert len(ops.ALL_KINDS) == len({c.kind for c in ops.ALL_KINDS}) >= 18
    for cls in ops.ALL_KINDS:
        samples = _samples(cls)
        assert samples, cls
        for op in samples:
            assert op.reverse().reverse() == op, op
            assert op.phase in ops.PHASES, op
            assert op.describe()


def test_operations_are_keyword_only_and_frozen():
    for cls in ops.ALL_KINDS:
        op = _samples(cls)[0]
        values = [getattr(op, f.name) for f in dataclasses.fields(cls)]
        with pytest.raises(TypeError):
            cls(*values)
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(op, dataclasses.fields(cls)[0].name, values[0])


def test_destructive_is_computed_by_each_operation():
    from generator.tables import Column

    int_col, text_col = Column("a", "integer"), Column("a", "character varying(4)")
    assert ops.AlterColumn(table="t", before=text_col, after=int_col).destructive  # values may not convert
    assert not ops.AlterColumn(table="t", before=int_col, after=dataclasses.replace(int_col, type="bigint")).destructive
    assert ops.DropColumn(table="t", column=int_col).destructive
    assert not ops.AddColumn(table="t", column=int_col).destructive
    table = _samples(ops.CreateTable)[0].table
    assert ops.DropTable(table=table).destructive and not ops.CreateTable(table=table).destructive
    assert "destructive" not in {f.name for cls in ops.ALL_KINDS for f in dataclasses.fields(cls)}


def test_every_operation_names_the_table_it_is_on():
    """One definition (``Op.table_at``) gives each kind's table: the one its SQL names (and the lock
    budget counts), "" only for extensions, which are on no table."""
    expected = {ops.CreateExtension: lambda op: "", ops.DropExtension: lambda op: "",
                ops.CreateTable: lambda op: op.table.name, ops.DropTable: lambda op: op.table.name,
                ops.CreateIndex: lambda op: op.index.table, ops.DropIndex: lambda op: op.index.table,
                ops.RenameTable: lambda op: op.after}
    for cls in ops.ALL_KINDS:
        for op in _samples(cls):
            assert op.table_name == expected.get(cls, lambda op: op.table)(op), op
            assert isinstance(op.table_name, str) and (op.table_name or cls in (ops.CreateExtension, ops.DropExtension))
