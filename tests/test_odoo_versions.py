"""Any Odoo, any module set: Odoo 17.0, 18.0 and 19.0 metadata (committed fixtures trimmed from
real servers' exports), every installed module together and each one alone, with and without
references, generated and applied with psql; tables named and classified as Odoo has them;
record ids, company-dependent fields, shared tables and 19.0's declared indexes."""

from __future__ import annotations

from dataclasses import replace

import psycopg
import pytest

from generator import api, snapshot as snapshots, tenant
from generator.capture import catalog as catalogs
from generator.capture import scope as scoping
from generator.capture.records import OdooMetadata, RawConstraint, RawField, RawModel
from generator.rules import parse
from tests.support import versions
from tests.support.migrations import generate, psql_apply, sql_files
from tests.support.odoo_server import FakeOdoo, DB, PASSWORD, USER

VERSIONS = versions.VERSIONS

# Where the metadata cannot tell what the registry knows, with the reason (docs/capture.md "What is a table").
KNOWN_DIFFERENCES = {
    # an AbstractModel that declares an ``id`` field: to ir.* records it looks like an _auto = False
    # model; neither kind is rendered
    ("17.0", "res.users.apikeys.show"): "view",
    ("18.0", "res.users.apikeys.show"): "view",
}


def _expected(version: str) -> dict[str, list[str]]:
    """model -> [table, kind, creating module], from what Odoo's running registry said of each model
    and the tables its database holds (tests/fixtures/odoo-<version>/odoo_registry.json.gz and
    odoo_schema.sql.gz, read from the reference servers)."""
    import gzip
    import re

    from tests.support import make_odoo_catalog_fixtures as odoo_fixtures

    schema = gzip.decompress((odoo_fixtures.fixture(version) / odoo_fixtures.SCHEMA_FILE).read_bytes()).decode()
    tables = set(re.findall(r"^CREATE TABLE public\.(\w+) ", schema, re.M))
    out = {}
    for name, m in odoo_fixtures.model_tables(version).items():
        kind = ("abstract" if m["abstract"] else "transient" if m["transient"] else "table" if m["auto"]
                else "manual" if m["table"] in tables else "view")
        out[name] = [m["table"], kind, m["original_module"]]
    return out


@pytest.mark.parametrize("version", VERSIONS)
def test_every_model_is_classified_and_named_as_odoo_has_it(version):
    cat = versions.catalog(version)
    expected = _expected(version)
    got = {m.name: [m.table, "table", m.module] for m in cat.models}
    got.update({name: [expected[name][0], kind, cat.tableless_modules[name]] for name, kind in cat.tableless.items()})
    assert set(got) == set(expected)
    wrong = {
        name: (got[name], expected[name]) for name in expected
        if got[name][:2] != expected[name][:2] and KNOWN_DIFFERENCES.get((version, name)) != got[name][1]
    }
    assert not wrong, wrong
    # the creating module (which decides what a module selection takes), for every rendered or
    # reported model
    modules = {name: (got[name][2], expected[name][2]) for name in expected
               if got[name][1] in ("table", "view", "manual") and got[name][2] != expected[name][2]}
    assert not modules, modules
    assert sum(kind == "manual" for _, kind, _ in expected.values()) == 2
    # the ir.actions family: Odoo's own table names, two models in one table
    tables = {m.name: m.table for m in cat.models}
    assert tables["ir.actions.act_window"] == "ir_act_window"
    assert tables["ir.actions.report"] == "ir_act_report_xml"
    assert tables["ir.actions.actions"] == tables["ir.actions.act_window_close"] == "ir_actions"
    assert tables["ir.module.module.dependency"] == "ir_module_module_dependency"
    assert cat.tableless["res.users.apikeys"] == "manual"
    assert cat.tableless["sale.report"] == "view"


@pytest.mark.parametrize("version", VERSIONS)
def test_every_protocol_and_the_database_capture_byte_identical_snapshots(version, db):
    from generator.capture.transports import OdooConfig
    from tests.support import odoo_db
    from tests.support.make_fixtures import load_records

    records = load_records(version)
    catalogs_by_way = {}
    for protocol in ("auto", "jsonrpc", "json2", "xmlrpc"):
        with FakeOdoo(records) as server:
            config = OdooConfig(url=server.url, database=DB, user=USER, password=PASSWORD, protocol=protocol)
            catalogs_by_way[protocol] = api.read_catalog(api.Source(odoo=config), api.Silent())
            assert len(server.calls) == (5 if protocol == "json2" else 6), (protocol, server.calls)
            if protocol == "auto":  # /jsonrpc to log in and learn the series; JSON-2 from 19.0 on
                expected = ["jsonrpc"] * 2 + ["json2" if version >= "19.0" else "jsonrpc"] * 4
                assert server.protocols == expected
    rpc = catalogs_by_way["xmlrpc"]
    odoo_db.load(db, records)
    catalogs_by_way["database"] = api.read_catalog(api.Source(dsn=db), api.Silent())
    for scope in (scoping.Scope(), scoping.Scope(preset="sales-inventory", with_references=True)):
        a = snapshots.dumps(scoping.select(versions.catalog(version), scope))
        for way, cat in catalogs_by_way.items():
            assert snapshots.dumps(scoping.select(cat, scope)) == a, way
    snap = scoping.select(rpc, scoping.Scope())
    assert snap.odoo_version == version


def _module_sets(version: str):
    cat = versions.catalog(version)
    yield "all installed modules", scoping.select(cat, scoping.Scope())
    for module in cat.installed_modules:
        for refs in (False, True):
            yield f"{module}{' +references' if refs else ''}", \
                scoping.select(cat, scoping.Scope(modules=(module,), with_references=refs))


@pytest.mark.parametrize("version", VERSIONS)
def test_every_module_set_generates_and_applies_with_psql(version, db):
    """All installed modules, and each installed module alone with and without references."""
    schemas, seen, empty = [], set(), 0
    for label, snap in _module_sets(version):
        if not snap.models:
            empty += 1  # a module that creates no table (only views, wizards, mixins or extensions)
            continue
        key = snapshots.dumps(replace(snap, modules=(), preset=None))
        if key in seen:
            continue
        seen.add(key)
        texts = versions.migration_texts(snap)
        assert texts, label
        schemas.append((label, texts))
    assert len(schemas) > 40
    versions.apply_each_rolled_back(db, schemas)


def _integer_columns(schema) -> list[str]:
    return [f"{t.name}.{c.name}" for t in schema.tables for c in t.columns
            if c.type == "integer" and tenant.looks_like_record_id(c.name)]


@pytest.mark.parametrize("version", VERSIONS)
def test_no_integer_column_holds_a_record_id(version):
    snap = scoping.select(versions.catalog(version), scoping.Scope())
    schema = tenant.build(snap)
    assert _integer_columns(schema) == []
    act_window = schema.table("ir_act_window")
    assert act_window.column("res_id").type == "uuid"
    if version != "19.0":  # 19.0's mail.alias keeps them, 17.0 and 18.0 too: check one that exists
        assert schema.table("mail_alias").column("alias_force_thread_id").type == "uuid"
    keep = parse({"record_id": [{"model": "ir.actions.act_window", "field": "res_id", "uuid": False}]}, "rules")
    assert tenant.build(snap, keep).table("ir_act_window").column("res_id").type == "integer"


def test_lint_reports_an_integer_record_id_unless_the_rules_keep_it(tmp_path):
    from generator import lint

    snap = scoping.select(versions.catalog("18.0"), scoping.Scope(modules=("base",)))
    folder_ = tmp_path / "m"
    generate(snap, folder_)
    assert not [f for f in lint.semantic(folder_) if f.rule == "integer-reference"]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "1_t.sql").write_text("CREATE TABLE t (tenant_id uuid NOT NULL, id uuid NOT NULL, res_id integer,\n"
                                 "    CONSTRAINT t_pkey PRIMARY KEY (tenant_id, id));\n")
    found = [f for f in lint.semantic(bad) if f.rule == "integer-reference"]
    assert found and "t.res_id" in found[0].message
    assert not [f for f in lint.semantic(bad, frozenset({("t", "res_id")})) if f.rule == "integer-reference"]


def test_floats_follow_the_rules_switch():
    snap = scoping.select(versions.catalog("17.0"), scoping.Scope(modules=("uom",)))
    default = tenant.build(snap).table("uom_uom").column("factor").type
    double = tenant.build(snap, parse({"types": {"float": "double precision"}}, "r")).table("uom_uom").column("factor")
    assert (default, double.type) == ("numeric", "double precision")


@pytest.mark.parametrize("version", VERSIONS)
def test_declared_indexes_and_constraints_are_carried_over(version):
    snap = scoping.select(versions.catalog(version), scoping.Scope())
    schema = tenant.build(snap)
    if version == "19.0":
        so = schema.table("sale_order")
        idx = {i.name: i for i in so.indexes}["sale_order_date_order_id_idx"]
        assert [(c.name, c.descending) for c in idx.columns] == [("tenant_id", False), ("date_order", True), ("id", True)]
        am = {i.name: i for i in schema.table("account_move").indexes}["account_move_unique_name"]
        assert am.unique and am.where and "posted" in am.where
    activity = schema.table("mail_activity")
    assert any("res_id IS NOT NULL" in c.expression for c in activity.checks)  # res_id != 0 -> TRUE
    assert not [n for n in schema.notes if "mail_activity" in n]


# -- company-dependent fields ----------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_company_dependent_fields_live_in_a_per_company_table(version):
    snap = scoping.select(versions.catalog(version), scoping.Scope(preset="sales-inventory", with_references=True))
    partner = snap.model_map["res.partner"].field_map["property_stock_customer"]
    assert partner.company_dependent
    schema = tenant.build(snap)
    assert schema.table("res_partner").column("property_stock_customer") is None
    values = schema.table("res_partner_company_values")
    assert values.primary_key == ("tenant_id", "res_id", "company_id")
    assert values.column("property_stock_customer").type == "uuid"
    refs = {fk.columns: fk for fk in values.foreign_keys}
    fk = refs[("tenant_id", "property_stock_customer")]
    assert (fk.ref_table, fk.on_delete, fk.set_null_columns) == ("stock_location", "SET NULL", ("property_stock_customer",))
    refs = {cols: fk.ref_table for cols, fk in refs.items()}
    assert refs[("tenant_id", "res_id")] == "res_partner"
    assert refs[("tenant_id", "company_id")] == "res_company"


@pytest.mark.parametrize("version", ["17.0", "18.0"])
def test_company_dependent_values_per_company_with_foreign_keys(version, db, tmp_path):
    """Rows of two companies in one tenant: each company its own customer location, each value
    tenant-scoped, Odoo's on_delete (set null) per value, the values going with their partner."""
    from tests.support.rows import RowMaker

    snap = scoping.select(versions.catalog(version), scoping.Scope(preset="sales-inventory", with_references=True))
    generate(snap, tmp_path / "m")
    psql_apply(db, sql_files(tmp_path / "m"))
    t1, t2 = "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002"
    with psycopg.connect(db, autocommit=True) as conn:
        rows = RowMaker(conn)
        c1, c2 = (rows.make("res_company", t1, reuse=False, name=name) for name in ("A", "B"))
        a1 = rows.make("stock_location", t1, reuse=False)
        a2 = rows.make("stock_location", t1, reuse=False)
        other_tenant_location = rows.make("stock_location", t2, reuse=False)
        partner = rows.make("res_partner", t1, reuse=False)
        q = conn.execute
        for company, location in ((c1, a1), (c2, a2)):
            q("INSERT INTO res_partner_company_values (tenant_id, res_id, company_id, property_stock_customer) "
              "VALUES (%s, %s, %s, %s)", (t1, partner, company, location))
        got = q("SELECT company_id::text, property_stock_customer::text FROM res_partner_company_values "
                "WHERE tenant_id = %s AND res_id = %s", (t1, partner)).fetchall()
        assert sorted(got) == sorted([(c1, a1), (c2, a2)])
        with pytest.raises(psycopg.errors.ForeignKeyViolation):  # another tenant's location
            q("UPDATE res_partner_company_values SET property_stock_customer = %s WHERE company_id = %s",
              (other_tenant_location, c1))
        with pytest.raises(psycopg.errors.ForeignKeyViolation):  # a value of a row of another tenant
            q("INSERT INTO res_partner_company_values (tenant_id, res_id, company_id) VALUES (%s, %s, %s)",
              (t2, partner, c1))
        q("DELETE FROM stock_location WHERE id = %s", (a1,))  # Odoo's on_delete: set null, this value only
        got = q("SELECT tenant_id::text, company_id::text, property_stock_customer::text FROM res_partner_company_values"
                ).fetchall()
        assert sorted(got) == sorted([(t1, c1, None), (t1, c2, a2)])
        q("DELETE FROM res_company WHERE id = %s", (c2,))  # a company's values go with it
        assert q("SELECT count(*) FROM res_partner_company_values").fetchone()[0] == 1
        q("DELETE FROM res_partner WHERE id = %s", (partner,))  # and a partner's with the partner
        assert q("SELECT count(*) FROM res_partner_company_values").fetchone()[0] == 0


# -- shared tables ---------------------------------------------------------------------------------

def _synthetic() -> OdooMetadata:
    """project.task's two many2many fields stored in project.task.stage.personal's table
    (project_task_user_rel), as Odoo 17's project module has them; plus two many2many fields that
    share a relation table with different column pairs and no model of its own."""
    models = [
        RawModel(1, "res.users", "Users", False, ("base",)),
        RawModel(2, "project.task", "Task", False, ("project",)),
        RawModel(3, "project.task.type", "Stage", False, ("project",)),
        RawModel(4, "project.task.stage.personal", "Personal Stage", False, ("project_stages",)),
        RawModel(5, "x.tag", "Tag", False, ("project",)),
    ]
    fid = iter(range(1, 1000))

    def f(model, name, ttype, relation=None, on_delete=None, rel=None, c1=None, c2=None, required=False):
        module = {"res.users": "base", "project.task.stage.personal": "project_stages"}.get(model, "project")
        return RawField(next(fid), model, name, ttype, name, True, required, False, False, None, relation, on_delete,
                        rel, c1, c2, (module,))

    fields = [f(m.model, "id", "integer") for m in models]
    for m in models:
        fields += [f(m.model, "create_uid", "many2one", "res.users", "set null"), f(m.model, "create_date", "datetime")]
    fields += [
        f("project.task", "user_ids", "many2many", "res.users", rel="project_task_user_rel", c1="task_id", c2="user_id"),
        f("project.task", "personal_stage_type_ids", "many2many", "project.task.type", rel="project_task_user_rel",
          c1="task_id", c2="stage_id"),
        f("project.task.stage.personal", "task_id", "many2one", "project.task", "cascade", required=True),
        f("project.task.stage.personal", "user_id", "many2one", "res.users", "cascade", required=True),
        f("project.task.stage.personal", "stage_id", "many2one", "project.task.type", "set null"),
        f("project.task", "tag_ids", "many2many", "x.tag", rel="x_shared_rel", c1="task_id", c2="tag_id"),
        f("project.task", "main_tag_ids", "many2many", "x.tag", rel="x_shared_rel", c1="task_id", c2="main_tag_id"),
    ]
    tables = {1: "res_users", 2: "project_task", 3: "project_task_type", 4: "project_task_user_rel", 5: "x_tag"}
    constraints = [RawConstraint(mid, f"{t}_create_uid_fkey", "f", "", "project") for mid, t in tables.items()]
    return OdooMetadata("17.0", ("base", "project", "project_stages"), tuple(models), tuple(fields), (),
                        tuple(constraints))


def test_many2many_stored_in_a_models_table_and_shared_relation_tables(db):
    cat = catalogs.from_metadata(_synthetic())
    assert {m.name: m.table for m in cat.models}["project.task.stage.personal"] == "project_task_user_rel"
    # selecting project alone pulls in the model (of another module) whose table holds its many2many rows
    snap = scoping.select(cat, scoping.Scope(modules=("project",)))
    assert snap.model_map["project.task.stage.personal"].origin == "reference"
    schema = tenant.build(snap)
    rel = schema.table("project_task_user_rel")
    assert {c.name for c in rel.columns} >= {"tenant_id", "id", "task_id", "user_id", "stage_id"}
    assert {fk.columns[1] for fk in rel.foreign_keys} == {"task_id", "stage_id"}
    assert [(e.column, e.model) for e in rel.external] == [("create_uid", "res.users"), ("user_id", "res.users")]
    with_refs = tenant.build(scoping.select(cat, scoping.Scope(modules=("project",), with_references=True)))
    assert {fk.columns[1] for fk in with_refs.table("project_task_user_rel").foreign_keys} == \
        {"task_id", "user_id", "stage_id", "create_uid"}
    shared = schema.table("x_shared_rel")
    assert shared is not None and shared.primary_key == ("tenant_id", "id")
    assert {u.columns for u in shared.uniques} == {("tenant_id", "main_tag_id", "task_id"), ("tenant_id", "tag_id", "task_id")}
    assert {fk.columns[1] for fk in shared.foreign_keys} == {"task_id", "tag_id", "main_tag_id"}
    assert [n for n in schema.notes if "project_task_user_rel" in n or "stage.personal" in n]
    versions.apply_each_rolled_back(db, [("synthetic project", versions.migration_texts(snap))])


def test_models_sharing_a_table_make_one_table():
    snap = scoping.select(versions.catalog("17.0"), scoping.Scope(modules=("base",)))
    schema = tenant.build(snap)
    names = [t.name for t in schema.tables]
    assert names.count("ir_actions") == 1 and "ir_actions_actions" not in names
    assert "ir_act_window" in names and "ir_actions_act_window" not in names
    assert "ir.actions.act_window_close" in schema.table("ir_actions").comment


def test_odoo_17_company_dependent_fields_beyond_the_built_in_list(records):
    """17.0 metadata cannot say which fields are company-dependent: the built-in list covers Odoo's
    own modules, --company-dependent adds more (here product.template.barcode, a related field in
    reality: the option is the user's word)."""
    from generator.capture.transports import OdooConfig

    with FakeOdoo(records) as server:
        config = OdooConfig(url=server.url, database=DB, user=USER, password=PASSWORD)
        plain = api.capture(api.Source(odoo=config), scoping.Scope(modules=("product",)))
        extra = api.capture(api.Source(odoo=config, company_dependent=(("product.template", "barcode"),)),
                            scoping.Scope(modules=("product",)))
        assert len(server.calls) == 12
    assert "barcode" not in plain.snapshot.model_map["product.template"].field_map
    assert plain.snapshot.model_map["product.product"].field_map["standard_price"].company_dependent
    assert extra.snapshot.model_map["product.template"].field_map["barcode"].company_dependent


def test_company_dependent_option_must_name_model_and_field():
    from click.testing import CliRunner

    from generator.cli import cli

    result = CliRunner().invoke(cli, ["capture", "--from-snapshot", "x.json", "--company-dependent", "barcode"])
    assert result.exit_code == 2 and "MODEL.FIELD" in result.output
