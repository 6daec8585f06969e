"""The tenant rules one by one: each is a function that returns its parts of a table, and ``build``
only adds them up (so a rule can be read, and tested, on its own)."""

from __future__ import annotations

from generator import tenant
from generator.model import Field, Model, SelectionValue, Snapshot
from generator.placement import DEFAULT as DEFAULT_PLACEMENT
from generator.rules import Rules

PARTNER = Model("x.partner", "x_partner", "Partner", "x", fields=(Field("name", "char", "Name"),))
ORDER = Model("x.order", "x_order", "Order", "x", fields=(
    Field("partner_id", "many2one", "Partner", index="btree", relation="x.partner", on_delete="cascade"),
    Field("user_id", "many2one", "User", index="btree", relation="res.users"),  # outside the snapshot
    Field("state", "selection", "State", selection=(SelectionValue("draft", "D"), SelectionValue("done", "D"))),
    Field("ref", "char", "Ref", index="btree_not_null"),
))
SNAP = Snapshot("17.0", ("x",), (ORDER, PARTNER), external_models=("res.users",))


def _setup():
    ctx = tenant._context(SNAP, Rules(), DEFAULT_PLACEMENT)
    names = tenant.rule_keys(ctx, "x_order", None, tenant.TENANT, tenant.ID)
    return ctx, names


def test_rule_many2one_gives_a_tenant_scoped_key_and_its_index_or_an_external_reference():
    ctx, names = _setup()
    f = ORDER.field_map["partner_id"]
    parts = tenant.rule_many2one(ctx, names, f, "partner_id", "x.order.partner_id", None)
    (fk,) = parts.foreign_keys
    assert (fk.columns, fk.ref_table, fk.ref_columns, fk.on_delete) == (
        ("tenant_id", "partner_id"), "x_partner", ("tenant_id", "id"), "CASCADE")
    assert [tuple(c.name for c in i.columns) for i in parts.indexes] == [("tenant_id", "partner_id")]
    outside = tenant.rule_many2one(ctx, names, ORDER.field_map["user_id"], "user_id", "x.order.user_id", None)
    assert outside.foreign_keys == () and [e.model for e in outside.external] == ["res.users"]


def test_rule_selection_and_rule_field_index():
    ctx, names = _setup()
    state = tenant.rule_selection(names, ORDER.field_map["state"], "state", "x.order.state", None)
    assert state.checks[0].values == ("draft", "done") and state.checks[0].name == "x_order_state_check"
    # a many2one with its foreign key has its index from rule 2 already; one pointing outside gets rule 5's
    assert tenant.rule_field_index(ctx, names, ORDER.field_map["partner_id"], "partner_id", "w", None) == tenant.NOTHING
    assert len(tenant.rule_field_index(ctx, names, ORDER.field_map["user_id"], "user_id", "w", None).indexes) == 1
    ref = tenant.rule_field_index(ctx, names, ORDER.field_map["ref"], "ref", "w", None).indexes[0]
    assert ref.where == "ref IS NOT NULL"


def test_build_is_the_sum_of_the_rules():
    ctx, names = _setup()
    table = tenant.build(SNAP).table("x_order")
    parts = tenant.Parts()
    for f in ORDER.fields:
        parts += tenant.field_keys(ctx, names, f, f.name, f"x.order.{f.name}")
    assert set(table.foreign_keys) == set(parts.foreign_keys)
    assert {i.name for i in table.indexes} == {i.name for i in parts.indexes}
    assert set(table.checks) == set(parts.checks)
    assert table.policy == tenant.rule_policy(ctx)
