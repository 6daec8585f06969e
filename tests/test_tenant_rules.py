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


def test_a_coalesce_unique_index_counts_null_as_one_value_per_tenant(db, tmp_path):
    """19.0's UNIQUE INDEX (alias_name, COALESCE(alias_domain_id, 0)): with uuid ids the 0 becomes the nil
    uuid, so two aliases of one name without a domain clash in a tenant, and not across tenants."""
    import uuid

    import psycopg

    from generator import api
    from generator.model import Constraint
    from generator.runner.apply import RunOptions

    domain = Model("x.domain", "x_domain", "Domain", "x", fields=(Field("name", "char", "Name"),))
    alias = Model("x.alias", "x_alias", "Alias", "x", fields=(
        Field("alias_name", "char", "Name"),
        Field("alias_domain_id", "many2one", "Domain", relation="x.domain", on_delete="restrict"),
    ), constraints=(Constraint("x_alias_name_domain_unique", "UNIQUE INDEX (alias_name, COALESCE(alias_domain_id, 0))"),))
    snap = Snapshot("19.0", ("x",), (alias, domain))
    (index,) = [i for i in tenant.build(snap).table("x_alias").indexes if i.name == "x_alias_name_domain_unique"]
    assert [(c.name, c.coalesce) for c in index.columns] == [
        ("tenant_id", None), ("alias_name", None), ("alias_domain_id", "'00000000-0000-0000-0000-000000000000'::uuid")]
    folder = tmp_path / "migrations"
    api.generate(snap, api.GenerateOptions(migrations_dir=folder))
    api.migrate(RunOptions(migrations_dir=folder, database_url=db))
    one, two = str(uuid.uuid4()), str(uuid.uuid4())
    with psycopg.connect(db, autocommit=True) as conn:
        insert = "INSERT INTO x_alias (tenant_id, alias_name) VALUES (%s, 'sales')"
        conn.execute(insert, (one,))
        conn.execute(insert, (two,))  # another tenant: allowed
        try:
            conn.execute(insert, (one,))
        except psycopg.errors.UniqueViolation:
            pass
        else:
            raise AssertionError("a second 'sales' alias without a domain was accepted in one tenant")
        assert conn.execute("SELECT count(*) FROM x_alias").fetchone()[0] == 2
