"""`fbs-schema import` from Odoo 17.0, 18.0 and 19.0 databases made from the trimmed fixtures (Odoo's own
tables and constraints, tests/fixtures/odoo-<ver>/) with rows this test writes: no ../shared needed.

- 18.0 / 19.0: company-dependent values are jsonb maps {company id: value} in the model's table; they
  land as one row per (record, company) of <table>_company_values, a company that does not exist left
  out; floats land exactly in numeric.
- 17.0: the same values from ir_property rows; bad input (a selection value the CHECK does not list, a
  required field empty) stops the import naming table, Odoo id and column, nothing written, or with
  --on-invalid skip goes to the skipped-rows file; pending migrations exit 7, another Odoo series
  exit 3; a password in the DSN is never printed."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from generator import api
from generator.capture.scope import Scope
from generator.importer import keys
from generator.runner.apply import RunOptions
from tests.support import make_odoo_catalog_fixtures as fixtures
from tests.support import pg
from tests.support.migrations import generate
from tests.support.odoo_rows import insert

A = uuid.UUID("0a0a0a0a-0000-4000-8000-0000000000aa")
SCOPE = Scope(preset="sales-inventory", with_references=True)


def fbs(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "generator", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)


def import_args(source: str, target: str, folder: Path, *more: str) -> list[str]:
    return ["import", "--odoo-dsn", source, "--database-url", target, "--migrations", str(folder),
            "--tenant", str(A), *more]


def _common_rows(conn: psycopg.Connection, version: str) -> None:
    """Two companies, their partners, a currency, users, locations, a product: id 1 exists in every
    table a plain NOT NULL integer (1) may point at."""
    conn.execute("SET session_replication_role = replica")  # res_company <-> res_partner point at each other
    insert(conn, "res_currency", id=1, name="EUR", symbol="€")
    insert(conn, "res_currency", id=2, name="USD", symbol="$")
    for i in (1, 2):
        insert(conn, "res_partner", id=i, name=f"Company {i}", company_id=None)
        insert(conn, "res_company", id=i, name=f"Company {i}", partner_id=i, currency_id=1, sequence=i)
    conn.execute("SET session_replication_role = origin")
    insert(conn, "res_partner", id=3, name="Customer 3")
    insert(conn, "res_partner", id=4, name="Customer 4")
    insert(conn, "res_users", id=2, company_id=1, partner_id=3, login="user2")
    for i in (11, 12):
        insert(conn, "stock_location", id=i, name=f"Location {i}", usage="customer")
    if version == "19.0":  # 19.0's units have no category: a relative factor
        insert(conn, "uom_uom", id=1, relative_factor=1)
    else:
        insert(conn, "uom_category", id=1)
        insert(conn, "uom_uom", id=1, category_id=1, factor=1, rounding=0.01)
    insert(conn, "product_category", id=1, name="All")
    insert(conn, "product_template", id=1, categ_id=1)
    insert(conn, "product_product", id=1, product_tmpl_id=1)


@pytest.fixture(scope="module")
def built(pg_server, tmp_path_factory):
    """Per series: a source database (fixture + rows), its capture, migrations, and a migrated target."""
    made: dict = {}
    stack = []

    def get(version: str, rows) -> dict:
        if version not in made:
            source_cm = pg.fresh_database(f"fbs_src{version[:2]}")
            source = source_cm.__enter__()
            stack.append(source_cm)
            fixtures.load(source, version)
            with psycopg.connect(source) as conn:
                rows(conn, version)
            folder = tmp_path_factory.mktemp(f"odoo{version[:2]}") / "migrations"
            snap = api.capture(api.Source(dsn=source), SCOPE).snapshot
            generate(snap, folder)
            made[version] = {"source": source, "folder": folder, "snapshot": snap}
        return made[version]

    yield get
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


def _migrated(folder: Path):
    cm = pg.fresh_database("fbs_imp_tgt")
    dsn = cm.__enter__()
    api.migrate(RunOptions(migrations_dir=folder, database_url=dsn), api.Silent())
    return cm, dsn


# -- 18.0 and 19.0: company-dependent jsonb maps -------------------------------------------------

def _jsonb_rows(conn: psycopg.Connection, version: str) -> None:
    _common_rows(conn, version)
    conn.execute("""UPDATE res_partner SET barcode = '{"1": "B-1", "2": "B-2"}',
                        property_stock_customer = '{"1": 11, "2": 12}', receipt_reminder_email = '{"1": true}',
                        reminder_date_before_receipt = '{"2": 3}', property_purchase_currency_id = '{"1": 2}'
                    WHERE id = 3""")
    conn.execute("""UPDATE res_partner SET property_stock_customer = '{"1": 11, "9": 12}' WHERE id = 4""")
    conn.execute("""UPDATE product_product SET standard_price = '{"1": 10.25, "2": 0.30000000000000004}' WHERE id = 1""")
    conn.execute("""UPDATE product_template SET property_stock_inventory = '{"1": 11}', responsible_id = '{"2": 2}'
                    WHERE id = 1""")


def _expected_company_rows(conn: psycopg.Connection, snap) -> dict[tuple[str, uuid.UUID, uuid.UUID], dict]:
    """From the source, independently of the import: per (company table, record key, company key),
    each company-dependent field's value as the target holds it."""
    tables = {m.name: m.table for m in snap.models}
    companies = {r[0] for r in conn.execute("SELECT id FROM res_company")}
    out: dict = {}
    for m in snap.models:
        for f in (f for f in m.fields if f.company_dependent):
            rows = conn.execute(f'SELECT id, e.key, e.value FROM "{m.table}", jsonb_each_text("{f.name}") AS e '
                                f"WHERE jsonb_typeof(\"{f.name}\") = 'object'").fetchall()
            for row_id, company, text in rows:
                if int(company) not in companies:
                    continue
                value: object = text
                if text is not None and f.type == "many2one":
                    value = keys.key(A, tables[f.relation], int(text)) if f.relation in tables else None
                elif text is not None and f.type in ("float", "monetary"):
                    value = Decimal(text)
                elif text is not None and f.type == "integer":
                    value = int(text)
                elif text is not None and f.type == "boolean":
                    value = text == "true"
                key = (f"{m.table}_company_values", keys.key(A, m.table, row_id), keys.key(A, "res_company", int(company)))
                out.setdefault(key, {})[f.name] = value
    return out


@pytest.mark.parametrize("version", ["18.0", "19.0"])
def test_company_dependent_jsonb_maps_land_as_per_company_rows(built, version):
    case = built(version, _jsonb_rows)
    lead = next(f.name for f in case["snapshot"].model_map["res.company"].fields
                if f.type == "float" and not f.company_dependent)
    with psycopg.connect(case["source"]) as conn:
        conn.execute(f'UPDATE res_company SET "{lead}" = 0.1::float8 + 0.2::float8 WHERE id = 1')
    cm, target = _migrated(case["folder"])
    try:
        result = fbs(*import_args(case["source"], target, case["folder"], "--json"))
        assert result.returncode == 0, result.stderr
        with psycopg.connect(case["source"]) as odoo, psycopg.connect(target) as ours:
            expected = _expected_company_rows(odoo, case["snapshot"])
            assert len({k[0] for k in expected}) >= 3 and len(expected) >= 6
            tables = {k[0] for k in expected}
            got_keys = set()
            for table in tables:
                columns = [r[0] for r in ours.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
                    "AND attname NOT IN ('tenant_id', 'res_id', 'company_id')", (table,))]
                for row in ours.execute(f'SELECT res_id, company_id, {", ".join(columns)} FROM "{table}" '
                                        "WHERE tenant_id = %s", (A,)).fetchall():
                    key = (table, row[0], row[1])
                    got_keys.add(key)
                    assert key in expected, key
                    for column, value in zip(columns, row[2:]):
                        assert value == expected[key].get(column), (key, column, value)
            assert got_keys == set(expected)
            # a float column of a model table: the shortest text that reads back as the same double
            value = ours.execute(f'SELECT "{lead}" FROM res_company WHERE tenant_id = %s AND id = %s',
                                 (A, keys.key(A, "res_company", 1))).fetchone()[0]
            assert value == Decimal(repr(0.1 + 0.2)) == Decimal("0.30000000000000004")
        report = json.loads(result.stdout)
        nulled = {t["table"]: t["nulled"] for t in report["tables"]}
        assert report["loaded_rows"] > 15
        check = fbs(*import_args(case["source"], target, case["folder"], "--check"))
        assert check.returncode == 0, check.stdout + check.stderr
        assert api.verify(RunOptions(migrations_dir=case["folder"], database_url=target), api.Silent()) == []
        assert nulled.get("res_partner_company_values", {}) == {}
    finally:
        cm.__exit__(None, None, None)


# -- 17.0: ir_property, bad input, refusals ------------------------------------------------------

def _property(conn: psycopg.Connection, pid: int, model: str, name: str, res_id: str | None, company: int | None,
              kind: str, **value) -> None:
    field_id = conn.execute("SELECT id FROM ir_model_fields WHERE model = %s AND name = %s", (model, name)).fetchone()[0]
    insert(conn, "ir_property", id=pid, fields_id=field_id, name=name, res_id=res_id, company_id=company, type=kind,
           **value)


def _property_rows(conn: psycopg.Connection, version: str) -> None:
    _common_rows(conn, version)
    _property(conn, 1, "res.partner", "property_stock_customer", "res.partner,3", 1, "many2one",
              value_reference="stock.location,11")
    _property(conn, 2, "res.partner", "property_stock_customer", "res.partner,3", 2, "many2one",
              value_reference="stock.location,12")
    _property(conn, 3, "res.partner", "barcode", "res.partner,3", 1, "char", value_text="B-1")
    _property(conn, 4, "res.partner", "receipt_reminder_email", "res.partner,4", 1, "boolean", value_integer=1)
    _property(conn, 5, "product.product", "standard_price", "product.product,1", 1, "float", value_float=10.25)
    _property(conn, 6, "product.product", "standard_price", "product.product,1", 2, "float", value_float=0.1 + 0.2)
    # not carried: a company default (no record), a record Odoo does not hold, a value for no company
    _property(conn, 7, "res.partner", "property_stock_customer", None, 1, "many2one", value_reference="stock.location,11")
    _property(conn, 8, "res.partner", "barcode", "res.partner,99", 1, "char", value_text="gone")
    _property(conn, 9, "res.partner", "barcode", "res.partner,4", None, "char", value_text="every company")
    # record ids: one of a model of the schema, one of a model outside it, one without a model
    insert(conn, "ir_attachment", id=1, name="on a partner", res_model="res.partner", res_id=3)
    insert(conn, "ir_attachment", id=2, name="on a view", res_model="ir.ui.view", res_id=5)
    insert(conn, "ir_attachment", id=3, name="on nothing", res_model=None, res_id=None)


def test_ir_property_values_land_in_per_company_rows(built):
    case = built("17.0", _property_rows)
    cm, target = _migrated(case["folder"])
    try:
        result = fbs(*import_args(case["source"], target, case["folder"]))
        assert result.returncode == 0, result.stderr
        assert "res.partner: 1 company default(s)" in result.stdout
        assert "res.partner: 1 ir_property row(s) without a company" in result.stdout
        k = lambda table, i: keys.key(A, table, i)  # noqa: E731
        with psycopg.connect(target) as conn:
            partners = conn.execute(
                "SELECT res_id, company_id, property_stock_customer, barcode, receipt_reminder_email "
                "FROM res_partner_company_values WHERE tenant_id = %s", (A,)).fetchall()
            assert sorted(partners) == sorted([
                (k("res_partner", 3), k("res_company", 1), k("stock_location", 11), "B-1", None),
                (k("res_partner", 3), k("res_company", 2), k("stock_location", 12), None, None),
                (k("res_partner", 4), k("res_company", 1), None, None, True),
            ])
            prices = conn.execute("SELECT company_id, standard_price FROM product_product_company_values "
                                  "WHERE tenant_id = %s AND res_id = %s", (A, k("product_product", 1))).fetchall()
            assert sorted(prices) == sorted([(k("res_company", 1), Decimal("10.25")),
                                             (k("res_company", 2), Decimal("0.30000000000000004"))])
            attachments = dict(conn.execute("SELECT name, res_id FROM ir_attachment WHERE tenant_id = %s",
                                            (A,)).fetchall())
            assert attachments == {"on a partner": k("res_partner", 3), "on a view": None, "on nothing": None}
        assert fbs(*import_args(case["source"], target, case["folder"], "--check")).returncode == 0
    finally:
        cm.__exit__(None, None, None)


def test_record_ids_outside_the_schema_are_counted(built):
    case = built("17.0", _property_rows)
    cm, target = _migrated(case["folder"])
    try:
        result = fbs(*import_args(case["source"], target, case["folder"], "--json"))
        assert result.returncode == 0, result.stderr
        tables = {t["table"]: t for t in json.loads(result.stdout)["tables"]}
        assert tables["ir_attachment"]["nulled"] == {"res_id": 1}
        assert tables["ir_attachment"]["rows"] == tables["ir_attachment"]["source_rows"] == 3
    finally:
        cm.__exit__(None, None, None)


def test_rows_the_schema_refuses_stop_the_import_or_are_skipped(built, tmp_path):
    case = built("17.0", _property_rows)
    with pg.template_copy(pg.dbname(case["source"]), "fbs_bad_src") as source:
        with psycopg.connect(source) as conn:
            conn.execute("UPDATE res_partner SET type = 'not-a-type' WHERE id = 4")
            conn.execute("ALTER TABLE stock_location ALTER COLUMN usage DROP NOT NULL")
            conn.execute("UPDATE stock_location SET usage = NULL WHERE id = 12")
        cm, target = _migrated(case["folder"])
        try:
            stopped = fbs(*import_args(source, target, case["folder"]))
            assert stopped.returncode == 7, stopped.stdout + stopped.stderr
            for needle in ("res_partner id 4, column type = 'not-a-type'", "stock_location id 12, column usage = NULL",
                           "nothing was written", "--on-invalid skip"):
                assert needle in stopped.stderr, (needle, stopped.stderr)
            assert "Traceback" not in stopped.stderr
            with psycopg.connect(target) as conn:
                held = conn.execute("SELECT count(*) FROM res_partner").fetchone()[0] + \
                    conn.execute("SELECT count(*) FROM stock_location").fetchone()[0]
                assert held == 0
                assert conn.execute("SELECT to_regclass('_fbs_import_set_aside')").fetchone()[0] is None
                assert conn.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f'").fetchone()[0] > 100
            report = tmp_path / "skipped.jsonl"
            skipped = fbs(*import_args(source, target, case["folder"], "--on-invalid", "skip", "--skipped", str(report)))
            assert skipped.returncode == 0, skipped.stderr
            lines = [json.loads(line) for line in report.read_text("utf-8").splitlines()]
            assert {(x["odoo_table"], x["odoo_id"], x["column"]) for x in lines} == {
                ("res_partner", 4, "type"), ("stock_location", 12, "usage")}
            with psycopg.connect(target) as conn:
                assert conn.execute("SELECT count(*) FROM res_partner WHERE tenant_id = %s", (A,)).fetchone()[0] == 3
                assert conn.execute("SELECT count(*) FROM pg_constraint WHERE NOT convalidated").fetchone()[0] == 0
                # the skipped partner's per-company row went with it; the value pointing at the skipped location is NULL
                rows = conn.execute("SELECT res_id, property_stock_customer FROM res_partner_company_values "
                                    "WHERE tenant_id = %s ORDER BY 1, 2", (A,)).fetchall()
                assert keys.key(A, "res_partner", 4) not in {r[0] for r in rows}
                assert (keys.key(A, "res_partner", 3), None) in rows
            check = fbs(*import_args(source, target, case["folder"], "--check", "--on-invalid", "skip",
                                     "--skipped", str(tmp_path / "again.jsonl")))
            assert check.returncode == 0, check.stdout
        finally:
            cm.__exit__(None, None, None)


def test_import_refuses_a_target_not_migrated_another_series_and_missing_modules(built):
    case17 = built("17.0", _property_rows)
    case18 = built("18.0", _jsonb_rows)
    with pg.fresh_database("fbs_unmigrated") as bare:
        pending = fbs(*import_args(case17["source"], bare, case17["folder"]))
        assert pending.returncode == 7 and "not applied to the target" in pending.stderr, pending.stderr
    cm, target = _migrated(case17["folder"])
    try:
        other = fbs(*import_args(case18["source"], target, case17["folder"]))
        assert other.returncode == 3 and "is Odoo 18.0" in other.stderr and "Odoo 17.0" in other.stderr, other.stderr
        with pg.template_copy(pg.dbname(case17["source"]), "fbs_nomod") as source:
            with psycopg.connect(source) as conn:
                conn.execute("UPDATE ir_module_module SET state = 'uninstalled' WHERE name = 'purchase'")
            missing = fbs(*import_args(source, target, case17["folder"]))
            assert missing.returncode == 3 and "purchase" in missing.stderr, missing.stderr
        with psycopg.connect(target) as conn:
            assert conn.execute("SELECT count(*) FROM res_partner").fetchone()[0] == 0
        bad = fbs("import", "--odoo-dsn", case17["source"], "--database-url", target, "--migrations",
                  str(case17["folder"]), "--tenant", "not-a-uuid")
        assert bad.returncode == 2 and "not a uuid" in bad.stderr
    finally:
        cm.__exit__(None, None, None)


def test_a_password_in_either_connection_string_is_never_printed(built):
    case = built("17.0", _property_rows)
    secret = "Sup3r%40Secr3t/pw"
    cm, target = _migrated(case["folder"])
    try:
        down = f"postgresql://postgres:{secret}@127.0.0.1:1/odoo"
        proc = fbs(*import_args(down, target, case["folder"]))
        assert proc.returncode == 3, proc.stderr
        wrong_target = f"postgresql://nobody:{secret}@127.0.0.1:1/target"
        proc2 = fbs(*import_args(case["source"], wrong_target, case["folder"]))
        assert proc2.returncode == 7, proc2.stderr
        for p in (proc, proc2):
            text = p.stdout + p.stderr
            assert "Sup3r" not in text and "Secr3t" not in text and "Traceback" not in text, text
    finally:
        cm.__exit__(None, None, None)


def test_import_into_solutions_in_a_schema_and_behind_a_prefix(built, tmp_path):
    """`--solution NAME`: the solution's migrations folder, database and placement. A schema holds the
    tenant's rows under Odoo's table names; a prefix puts it in front of them; both prove equal."""
    import os

    case = built("17.0", _property_rows)
    (tmp_path / "fbs-schema.toml").write_text(
        '[solution.inventory]\npreset = "inventory"\nwith_references = true\n'
        'database_url_env = "SHARED_DATABASE_URL"\nschema = "inventory"\n\n'
        '[solution.purchase]\npreset = "purchase"\nwith_references = true\n'
        'database_url_env = "SHARED_DATABASE_URL"\nprefix = "pur_"\n', "utf-8")
    with pg.fresh_database("fbs_sol_imp") as shared:
        env = {**os.environ, "SHARED_DATABASE_URL": shared}

        def run(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "generator", *args], capture_output=True, text=True,
                                  cwd=tmp_path, env=env, stdin=subprocess.DEVNULL)

        for name in ("inventory", "purchase"):
            made = run("setup", name)
            assert made.returncode == 0, made.stderr
            loaded = run("import", "--solution", name, "--odoo-dsn", case["source"], "--tenant", str(A))
            assert loaded.returncode == 0, loaded.stderr
            assert run("import", "--solution", name, "--odoo-dsn", case["source"], "--tenant", str(A),
                       "--check").returncode == 0
        with psycopg.connect(case["source"]) as odoo:
            odoo_partners = odoo.execute("SELECT count(*) FROM res_partner").fetchone()[0]
        assert odoo_partners > 1
        with psycopg.connect(shared) as conn:
            assert conn.execute('SELECT count(*) FROM inventory.res_partner WHERE tenant_id = %s',
                                (A,)).fetchone()[0] == odoo_partners
            assert conn.execute('SELECT count(*) FROM public.pur_res_partner WHERE tenant_id = %s',
                                (A,)).fetchone()[0] == odoo_partners
            assert conn.execute("SELECT count(*) FROM pg_constraint WHERE NOT convalidated").fetchone()[0] == 0
            # each placement keeps its own import ledger beside its own migrations ledger
            assert conn.execute("SELECT count(*) FROM inventory._fbs_import").fetchone()[0] > 0
            assert conn.execute("SELECT count(DISTINCT table_name) FROM public._fbs_import "
                                "WHERE table_name LIKE 'pur\\_%'").fetchone()[0] > 0
        wrong = run("import", "--solution", "inventory", "--migrations", "x", "--odoo-dsn", case["source"],
                    "--tenant", str(A))
        assert wrong.returncode == 2 and "--migrations comes from the solution" in wrong.stderr


@pytest.mark.parametrize("version", ["17.0", "18.0", "19.0"])
def test_every_module_of_each_series_imports(version, pg_server, tmp_path):
    """All installed modules of a real Odoo of each series (the fixture's schema, 300+ tables, and the
    rows it holds: the ir.* metadata of every model and field, 19,000+ rows, in jsonb, selection and
    char columns of every kind): each table holds Odoo's rows, every key valid, --check equal."""
    with pg.fresh_database("fbs_all_src") as source, pg.fresh_database("fbs_all_tgt") as target:
        fixtures.load(source, version)
        snap = api.capture(api.Source(dsn=source), Scope()).snapshot
        folder = tmp_path / "migrations"
        generate(snap, folder)
        api.migrate(RunOptions(migrations_dir=folder, database_url=target), api.Silent())
        result = fbs(*import_args(source, target, folder, "--json"))
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert len(report["tables"]) > 300 and report["loaded_rows"] > 15_000
        dropped = {p["odoo_table"] for p in report["rows_not_carried"]}
        with psycopg.connect(source) as odoo, psycopg.connect(target) as ours:
            for t in report["tables"]:
                if t["table"] != t["odoo_table"] or t["table"] in dropped:
                    continue
                odoo_rows = odoo.execute(f'SELECT count(*) FROM "{t["table"]}"').fetchone()[0]
                assert t["rows"] == odoo_rows == ours.execute(
                    f'SELECT count(*) FROM "{t["table"]}" WHERE tenant_id = %s', (A,)).fetchone()[0], t["table"]
            assert ours.execute("SELECT count(*) FROM pg_constraint WHERE NOT convalidated").fetchone()[0] == 0
        assert fbs(*import_args(source, target, folder, "--check")).returncode == 0
