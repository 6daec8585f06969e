"""compare-odoo against real Odoo 17.0, 18.0 and 19.0 databases: their own schema (pg_dump of a live
Odoo, trimmed to tables and constraints) and ir_model* rows, from tests/fixtures/odoo-<ver>/
(made by tests/support/make_odoo_catalog_fixtures.py). Each database is created once per session."""

from __future__ import annotations

import gzip
import json
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from generator import api, compare, tenant
from generator import snapshot as snapshots
from generator.capture.scope import Scope, select
from generator.cli import cli
from generator.runner.apply import RunOptions
from tests.support import pg
from tests.support import make_odoo_catalog_fixtures as fixtures
from tests.support.migrations import generate

VERSIONS = fixtures.VERSIONS


class OdooDatabases:
    """One database per Odoo version, loaded from the fixtures on first use; its all-modules
    snapshot (written to a file) and the comparison of that snapshot with the database."""

    def __init__(self, stack: ExitStack, folder: Path):
        self.stack, self.folder = stack, folder
        self.dsns: dict[str, str] = {}
        self.cache: dict[tuple, object] = {}

    def dsn(self, version: str) -> str:
        if version not in self.dsns:
            dsn = self.stack.enter_context(pg.fresh_database(f"fbs_odoo{version[:2]}"))
            fixtures.load(dsn, version)
            self.dsns[version] = dsn
        return self.dsns[version]

    def snapshot(self, version: str, scope: Scope = Scope()) -> tuple[Path, snapshots.Snapshot]:
        key = ("snapshot", version, scope)
        if key not in self.cache:
            path = self.folder / f"odoo-{version}-{abs(hash(scope))}.json"
            result = api.capture(api.Source(dsn=self.dsn(version)), scope, output=str(path))
            self.cache[key] = (path, result.snapshot)
        return self.cache[key]

    def comparison(self, version: str) -> compare.Comparison:
        key = ("comparison", version)
        if key not in self.cache:
            path, _ = self.snapshot(version)
            self.cache[key] = api.compare_odoo(self.dsn(version), snapshot_path=str(path))
        return self.cache[key]


@pytest.fixture(scope="session")
def odoo_dbs(pg_server, tmp_path_factory):
    with ExitStack() as stack:
        yield OdooDatabases(stack, tmp_path_factory.mktemp("odoo-snapshots"))


def _cli(*args: str):
    return CliRunner().invoke(cli, ["compare-odoo", *args], catch_exceptions=False)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_item_of_odoos_own_schema_is_explained(odoo_dbs, version):
    result = odoo_dbs.comparison(version)
    assert result.unexplained == (), "\n".join(i.describe() for i in result.unexplained)
    assert result.ok and result.odoo_version == version
    assert result.tables_compared > 300
    expected_rules = {compare.ID_UUID, compare.MANY2ONE_UUID, compare.MANY2MANY_UUID, compare.RECORD_ID_UUID,
                      compare.FLOAT_TYPE, compare.CHAR_SIZE, compare.TENANT_PRIMARY_KEY, compare.TENANT_FOREIGN_KEY,
                      compare.TENANT_UNIQUE}
    if version != "17.0":  # 17.0 keeps company-dependent values in ir_property, not in a column
        expected_rules.add(compare.COMPANY_DEPENDENT)
    if version == "19.0":  # models.UniqueIndex
        expected_rules.add(compare.TENANT_UNIQUE_INDEX)
    assert expected_rules <= set(result.mapped), sorted(expected_rules - set(result.mapped))
    expected_reasons = {compare.TRANSIENT, compare.TABLELESS, compare.BINARY, compare.NOT_IN_METADATA}
    if version == "19.0":
        expected_reasons.add(compare.ORM_INTERNAL)
    assert expected_reasons <= set(result.left_out), sorted(expected_reasons - set(result.left_out))
    # every SQL constraint and declared index of Odoo's schema is carried over, COALESCE ones included
    # (19.0's UNIQUE INDEX (alias_name, COALESCE(alias_domain_id, 0)) and two more)
    assert compare.NOT_CARRIED_OVER not in result.left_out
    if version == "19.0":
        coalesced = {i.name: i.detail for i in result.items if "COALESCE(" in (i.detail or "")}
        assert set(coalesced) == {"mail_alias_name_domain_unique", "onboarding_progress_onboarding_company_uniq",
                                  "onboarding_progress_step_company_uniq"}, coalesced
    # captured from the database, a many2many's ondelete='restrict' is carried: no relation FK changes
    assert compare.MANY2MANY_CASCADE not in result.mapped
    # every module is selected: nothing is outside the selection, no foreign key points outside
    assert compare.OUTSIDE_SELECTION not in result.left_out
    assert compare.EXTERNAL_REFERENCE not in result.left_out
    # each item once
    keys = [(i.table, i.kind, i.name) for i in result.items]
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("version", VERSIONS)
def test_every_generated_table_is_named_as_odoos_table(odoo_dbs, version):
    """Odoo's registry (_table, _auto) agrees with the tables rendered for the captured models."""
    registry = fixtures.model_tables(version)
    _, snap = odoo_dbs.snapshot(version)
    schema = tenant.build(snap)
    generated = {t.name for t in schema.tables}
    assert len(snap.models) > 200
    for model in snap.models:
        odoo = registry[model.name]
        assert model.table == odoo["table"], model.name
        assert model.table in generated, model.name
        assert not odoo["abstract"] and not odoo["transient"] and not odoo["table_query"], model.name
    rendered = {m.name for m in snap.models}
    missed = sorted(name for name, m in registry.items()
                    if m["auto"] and not m["abstract"] and not m["transient"] and name not in rendered)
    assert missed == []


def test_selection_json_reports_outside_and_external_items(odoo_dbs):
    version = "17.0"
    path, _ = odoo_dbs.snapshot(version, Scope(preset="sales-inventory"))
    out = _cli("--odoo-dsn", odoo_dbs.dsn(version), "--snapshot", str(path), "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["ok"] is True and report["unexplained"] == [] and report["odoo_version"] == "17.0"
    assert report["left_out"][compare.OUTSIDE_SELECTION]["by_kind"]["table"] > 100
    assert report["left_out"][compare.EXTERNAL_REFERENCE]["count"] > 50
    assert report["mapped"][compare.TENANT_FOREIGN_KEY]["count"] > 100
    assert report["mapped"][compare.ID_UUID]["rule"] == compare.RULES[compare.ID_UUID]
    # a selected many2one pointing at an unselected model: kept as a plain uuid, reported
    ext = [i for i in report["items"] if i["rule"] == compare.EXTERNAL_REFERENCE and i["table"] == "sale_order"]
    assert any("res.partner" in i["detail"] for i in ext)


def test_migrations_folder_kept_snapshot_and_text_report(odoo_dbs, tmp_path):
    version = "18.0"
    _, snap = odoo_dbs.snapshot(version, Scope(preset="sales-inventory", with_references=True))
    folder = tmp_path / "migrations"
    generate(snap, folder)
    out = _cli("--odoo-dsn", odoo_dbs.dsn(version), "--migrations", str(folder))
    assert out.exit_code == 0, out.output
    text = out.output
    assert "Odoo 18.0" in text and "unexplained: 0" in text
    for name in (compare.COMPANY_DEPENDENT, compare.TENANT_FOREIGN_KEY, compare.OUTSIDE_SELECTION, compare.TRANSIENT):
        assert f"  {name} " in text, name


def test_field_missing_from_the_snapshot_is_unexplained(odoo_dbs, tmp_path):
    """res.partner.ref belongs to a selected module (base); a snapshot without it is reported."""
    version = "19.0"
    _, snap = odoo_dbs.snapshot(version)
    partner = snap.model_map["res.partner"]
    assert "ref" in partner.field_map
    edited = replace(snap, models=tuple(
        replace(m, fields=tuple(f for f in m.fields if f.name != "ref")) if m.name == "res.partner" else m
        for m in snap.models))
    path = tmp_path / "edited.json"
    snapshots.write_atomic(path, snapshots.dumps(edited))
    out = _cli("--odoo-dsn", odoo_dbs.dsn(version), "--snapshot", str(path))
    assert out.exit_code == 1, out.output
    unexplained = out.output.split("unexplained: ", 1)[1].splitlines()
    assert unexplained[0] == "1"
    assert unexplained[1].strip() == ("res_partner: column ref: field res.partner.ref of a selected module (base) "
                                      "is not in the snapshot")


def test_column_and_check_no_metadata_explains_are_unexplained(odoo_dbs, tmp_path):
    version = "17.0"
    path, _ = odoo_dbs.snapshot(version)
    odoo_dbs.dsn(version)
    with pg.template_copy(pg.dbname(odoo_dbs.dsn(version))) as dsn:
        import psycopg

        with psycopg.connect(dsn) as conn:
            conn.execute("ALTER TABLE res_partner ADD COLUMN x_rogue integer")
            conn.execute("ALTER TABLE res_partner ADD CONSTRAINT res_partner_rogue_check CHECK (x_rogue > 0)")
            conn.execute("CREATE TABLE rogue_table (id integer PRIMARY KEY)")
        out = _cli("--odoo-dsn", dsn, "--snapshot", str(path), "--json")
    assert out.exit_code == 1, out.output
    report = json.loads(out.output)
    got = {(i["table"], i["kind"], i["name"]) for i in report["unexplained"]}
    assert got == {("res_partner", "column", "x_rogue"), ("res_partner", "check", "res_partner_rogue_check"),
                   ("rogue_table", "table", "rogue_table")}


def test_errors_map_to_exit_codes(odoo_dbs, tmp_path):
    dsn = odoo_dbs.dsn("17.0")
    path_18, _ = odoo_dbs.snapshot("18.0", Scope(preset="inventory"))
    assert _cli("--odoo-dsn", dsn, "--snapshot", str(path_18), "--migrations", str(tmp_path)).exit_code == 2
    assert _cli("--odoo-dsn", dsn, "--rules", "x.toml", "--migrations", str(tmp_path)).exit_code == 2
    out = _cli("--odoo-dsn", dsn, "--migrations", str(tmp_path / "none"))
    assert out.exit_code == 4 and "fbs-snapshot.json" in out.output
    out = _cli("--odoo-dsn", dsn, "--snapshot", str(path_18))  # 18.0 snapshot, 17.0 database
    assert out.exit_code == 4 and "Odoo 18.0" in out.output
    missing = pg.dsn_for("fbs_no_such_database")
    out = _cli("--odoo-dsn", missing, "--snapshot", str(path_18))
    assert out.exit_code == 3 and "cannot connect" in out.output
    assert _cli("--snapshot", str(path_18)).exit_code == 2  # --odoo-dsn (or ODOO_DSN) is required


@pytest.mark.parametrize("version", VERSIONS)
def test_fixtures_are_the_trimmed_reference(version, tmp_path, pg_server):
    """The committed fixtures are what the maker script makes of the reference export."""
    ref = fixtures.reference(version)
    if not (ref / "schema.sql").exists():
        pytest.skip(f"reference export {ref} not present (only in the maintainers' workspace, not in a clone)")
    committed = fixtures.fixture(version)
    schema = gzip.decompress((committed / fixtures.SCHEMA_FILE).read_bytes()).decode("utf-8")
    assert schema == fixtures.trimmed_schema((ref / "schema.sql").read_text("utf-8"))
    registry = json.loads((ref / "model_tables.json").read_text("utf-8"))
    assert fixtures.model_tables(version) == {
        m["model"]: {k: bool(m[k]) if k == "table_query" else m[k] for k in fixtures.MODEL_TABLE_KEYS}
        for m in registry}
    with pg.fresh_database("fbs_fixture") as dsn:
        fixtures._load_full_ir_tables(dsn, ref)
        data = fixtures.trimmed_data(dsn)
    assert gzip.decompress((committed / fixtures.DATA_FILE).read_bytes()).decode("utf-8") == data
    for name in (fixtures.SCHEMA_FILE, fixtures.DATA_FILE, fixtures.TABLES_FILE):
        assert (committed / name).stat().st_size < 1_000_000


@pytest.mark.parametrize("version", VERSIONS)
def test_over_rpc_a_restrict_many2many_becomes_cascade_and_is_named(odoo_dbs, version, tmp_path):
    """The metadata the RPC APIs give has no on_delete for a many2many: the snapshot captured that way
    renders every relation FK CASCADE, and compare-odoo names each RESTRICT one of Odoo's under
    many2many-cascade; captured from the database, the same FKs are RESTRICT (test above)."""
    from tests.support import versions

    path = tmp_path / "rpc.json"
    path.write_text(snapshots.dumps(select(versions.catalog(version), Scope())), "utf-8")
    result = api.compare_odoo(odoo_dbs.dsn(version), snapshot_path=str(path))
    assert result.unexplained == ()
    restricted = {(i.table, i.name) for i in result.items if i.rule == compare.MANY2MANY_CASCADE}
    with psycopg.connect(odoo_dbs.dsn(version)) as conn:
        expected = {(t, n) for t, n in conn.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint WHERE contype = 'f' AND confdeltype = 'r'")
            if (t, n) in {(i.table, i.name) for i in result.items if i.kind == "foreign key"
                          and i.rule in (compare.MANY2MANY_CASCADE, compare.TENANT_FOREIGN_KEY)}
            and t in {i.table for i in result.items if i.kind == "table" and _is_relation(result, i.table)}}
    assert restricted and restricted == expected


def _is_relation(result, table: str) -> bool:
    return any(i.table == table and i.rule == compare.MANY2MANY_UUID for i in result.items)


def test_database_capture_carries_the_actions_of_odoos_own_foreign_keys(odoo_dbs):
    """Where Odoo's catalog and its metadata disagree on a many2one's ON DELETE (as on a table another
    model shares, project.task.stage.personal.stage_id), the catalog wins when capture reads the
    database; a many2many's ondelete='restrict' (no metadata at all) becomes the RESTRICT of its
    relation table's comodel end; applied to PostgreSQL, the generated keys say the same."""
    with pg.template_copy(pg.dbname(odoo_dbs.dsn("17.0")), "fbs_fk_actions") as dsn:
        with psycopg.connect(dsn) as conn:
            conn.execute("ALTER TABLE sale_order DROP CONSTRAINT sale_order_partner_id_fkey")
            conn.execute("ALTER TABLE sale_order ADD CONSTRAINT sale_order_partner_id_fkey FOREIGN KEY (partner_id) "
                         "REFERENCES res_partner (id) ON DELETE CASCADE")
            meta = conn.execute("SELECT on_delete FROM ir_model_fields WHERE model = 'sale.order' "
                                "AND name = 'partner_id'").fetchone()[0]
        assert meta == "restrict"
        snap = api.capture(api.Source(dsn=dsn), Scope(modules=("sale",), with_references=True)).snapshot
        fields = snap.model_map["sale.order.line"].field_map
        assert snap.model_map["sale.order"].field_map["partner_id"].on_delete == "cascade"
        assert fields["product_no_variant_attribute_value_ids"].on_delete == "restrict"
        relation = fields["product_no_variant_attribute_value_ids"].relation_table
        with pg.fresh_database("fbs_fk_applied") as target:
            folder = odoo_dbs.folder / "fk-actions"
            generate(snap, folder)
            api.migrate(RunOptions(migrations_dir=folder, database_url=target), api.Silent())
            with psycopg.connect(target) as conn:
                actions = dict(conn.execute(
                    "SELECT conrelid::regclass::text || '.' || (SELECT attname FROM pg_attribute WHERE attrelid = conrelid "
                    "AND attnum = conkey[2]), confdeltype::text FROM pg_constraint WHERE contype = 'f'").fetchall())
        assert actions["sale_order.partner_id"] == "c"
        ends = {k: v for k, v in actions.items() if k.startswith(relation + ".")}
        assert sorted(ends.values()) == ["c", "r"], ends
