"""`fbs-schema import` on a real Odoo 17.0 database with demo rows (../shared/reference/odoo-17.0-demo,
restored with pg_restore): captured with --odoo-dsn, generated, migrated, imported as two tenants, and
checked against Odoo's own rows and joins. Runs where the dump is (CI, developers' machines); says so
when it is not.

The key layout itself (generator/importer/keys.py against the SQL macro) is checked without it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from generator import api, folder as folder_mod, mapping, render, tenant
from generator.capture.scope import Scope
from generator.importer import keys, plan as plan_mod, source as source_mod
from generator.runner.apply import RunOptions
from tests.support import odoo_demo, pg
from tests.support.processes import CTRL_C
from tests.support.migrations import generate

A = uuid.UUID("0a0a0a0a-0000-4000-8000-00000000000a")
B = uuid.UUID("0b0b0b0b-0000-4000-8000-00000000000b")
needs_demo = pytest.mark.skipif(not odoo_demo.available(), reason=odoo_demo.MISSING)


def fbs(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """The command as a user runs it: its own process, no standard input."""
    return subprocess.run([sys.executable, "-m", "generator", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, **kwargs)


def import_args(source: str, target: str, folder: Path, tenant_id: uuid.UUID, *more: str) -> list[str]:
    return ["import", "--odoo-dsn", source, "--database-url", target, "--migrations", str(folder),
            "--tenant", str(tenant_id), *more]


# -- the key layout ------------------------------------------------------------------------------

def test_sql_keys_equal_the_documented_layout(db):
    """The SQL macro that makes every key and keys.key (the documented layout) agree, for ids of
    every size and sign; a key is a version 8 RFC 9562 uuid; keys sort as their Odoo ids do."""
    macros = render.environment().get_template("import/source.sql.j2").module
    ids = [0, 1, 2, 17, 255, 256, 65535, 2**31 - 1, -1, -2**31, 2**40 + 3]
    with psycopg.connect(db) as conn:
        for tenant_id in (A, B, uuid.UUID(int=1)):
            for table in ("sale_order", "res_partner", "a_table_with_ünïcode"):
                prefix = keys.prefix(tenant_id, table)
                expr = str(macros.key(prefix, "s.id"))
                got = conn.execute(f"SELECT {expr} FROM unnest(%s::bigint[]) AS s(id)", (ids,)).fetchall()
                assert [r[0] for r in got] == [keys.key(tenant_id, table, i) for i in ids]
                low, high = keys.key_range(tenant_id, table)
                assert all(low <= r[0] <= high for r in got)
                natural = str(macros.natural_key(prefix, ["a", "b"]))
                row = conn.execute(f"SELECT {natural} FROM (VALUES (5, NULL::int)) AS s(a, b)").fetchone()[0]
                assert row == keys.natural_key(tenant_id, table, "5,")
    k = keys.key(A, "sale_order", 17)
    assert k.version == 8 and k.variant == uuid.RFC_4122
    assert sorted(range(0, 3000, 7), key=lambda i: keys.key(A, "t", i)) == list(range(0, 3000, 7))
    assert keys.key(A, "sale_order", 1) != keys.key(B, "sale_order", 1) != keys.key(A, "res_partner", 1)


# -- the demo database, captured, generated, migrated, imported as tenants A and B ----------------

@pytest.fixture(scope="module")
def demo(pg_server, tmp_path_factory):
    if not odoo_demo.available():
        pytest.skip(odoo_demo.MISSING)
    folder = tmp_path_factory.mktemp("demo") / "migrations"
    with odoo_demo.fresh() as source, pg.fresh_database("fbs_demo_tgt") as migrated:
        snap = api.capture(api.Source(dsn=source), Scope(preset="sales-inventory", with_references=True)).snapshot
        generate(snap, folder)
        api.migrate(RunOptions(migrations_dir=folder, database_url=migrated), api.Silent())
        yield {"source": source, "migrated": pg.dbname(migrated), "folder": folder, "snapshot": snap}


@pytest.fixture(scope="module")
def imported(demo):
    """A copy of the migrated target, with tenant A imported by the command, then tenant B; A's rows
    fingerprinted before and after B's import."""
    with pg.template_copy(demo["migrated"], "fbs_demo_imp") as target:
        first = fbs(*import_args(demo["source"], target, demo["folder"], A, "--json"))
        assert first.returncode == 0, first.stderr
        before_b = _fingerprints(target, A)
        second = fbs(*import_args(demo["source"], target, demo["folder"], B, "-q"))
        assert second.returncode == 0, second.stderr
        yield {"target": target, "a": json.loads(first.stdout), "b_output": second.stdout, "a_before_b": before_b}


def _fingerprints(dsn: str, tenant_id: uuid.UUID) -> dict[str, tuple]:
    with psycopg.connect(dsn) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' "
            "WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace AND c.relrowsecurity ORDER BY 1")]
        return {t: conn.execute(f'SELECT count(*), sum(hashtextextended(x::text, 0)) FROM "{t}" AS x '
                                "WHERE tenant_id = %s", (tenant_id,)).fetchone() for t in tables}


def _loads(demo) -> tuple[plan_mod.Load, ...]:
    snap, rules = folder_mod.load_kept(demo["folder"])
    found = mapping.of(tenant.build(snap, rules))
    with source_mod.connect(demo["source"]) as conn:
        source_mod.begin(conn)
        facts = source_mod.facts(conn, plan_mod.needed(snap, found))
    return plan_mod.plans(found, snap, facts, A)


def _count(conn, table: str, tenant_id: uuid.UUID | None = None) -> int:
    if tenant_id is None:
        return conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    return conn.execute(f'SELECT count(*) FROM "{table}" WHERE tenant_id = %s', (tenant_id,)).fetchone()[0]


def _dangling_documents(source: str) -> set[int]:
    """Found independently of the import: product_document rows whose attachment the dump left out
    (PROVENANCE.md: ir_attachment's data is not in the dump; that FK is NOT VALID there)."""
    with psycopg.connect(source) as conn:
        return {r[0] for r in conn.execute(
            "SELECT d.id FROM product_document d WHERE NOT EXISTS "
            "(SELECT FROM ir_attachment a WHERE a.id = d.ir_attachment_id)")}


@needs_demo
def test_every_table_holds_odoos_rows_for_each_tenant(demo, imported):
    loads = _loads(demo)
    dropped = _dangling_documents(demo["source"])
    assert dropped, "the dump's NOT VALID attachment FK should leave product_document rows dangling"
    reported = {(p["odoo_table"], p["odoo_id"]) for p in imported["a"]["rows_not_carried"]}
    assert reported == {("product_document", i) for i in dropped}
    compared = 0
    with psycopg.connect(demo["source"]) as odoo, psycopg.connect(imported["target"]) as ours:
        for load in loads:
            if load.company or load.table != load.odoo_table:
                continue
            expected = _count(odoo, load.odoo_table) - (len(dropped) if load.odoo_table == "product_document" else 0)
            for tenant_id in (A, B):
                assert _count(ours, load.table, tenant_id) == expected, (load.table, tenant_id)
            assert _count(ours, load.table) == 2 * expected
            compared += 1
    assert compared > 100
    rows = {t["table"]: t for t in imported["a"]["tables"]}
    assert rows["sale_order_line"]["rows"] == rows["sale_order_line"]["source_rows"] > 0
    assert imported["a"]["loaded_rows"] == sum(t["rows"] for t in imported["a"]["tables"])


@needs_demo
def test_tenant_a_is_untouched_by_tenant_bs_import(imported):
    assert _fingerprints(imported["target"], A) == imported["a_before_b"]
    assert "loaded" in imported["b_output"]


@needs_demo
def test_company_value_tables_hold_the_ir_property_values(demo, imported):
    snap = demo["snapshot"]
    company_fields = {(m.name, f.name): (m, f) for m in snap.models for f in m.fields if f.company_dependent}
    table_of = {m.name: m.table for m in snap.models}
    with psycopg.connect(demo["source"]) as odoo, psycopg.connect(imported["target"]) as ours:
        props = odoo.execute(
            "SELECT f.model, f.name, p.res_id, p.company_id, p.type, p.value_float, p.value_integer, p.value_text, "
            "p.value_reference FROM ir_property p JOIN ir_model_fields f ON f.id = p.fields_id "
            "WHERE p.res_id IS NOT NULL AND p.company_id IS NOT NULL").fetchall()
        checked = 0
        for model, name, res_id, company, ptype, vfloat, vint, vtext, vref in props:
            if (model, name) not in company_fields:
                continue
            m, f = company_fields[(model, name)]
            row_id = int(res_id.split(",")[1])
            if not odoo.execute(f'SELECT EXISTS (SELECT FROM "{m.table}" WHERE id = %s)', (row_id,)).fetchone()[0]:
                continue
            got = ours.execute(
                f'SELECT "{name}" FROM "{m.table}_company_values" WHERE tenant_id = %s AND res_id = %s AND company_id = %s',
                (A, keys.key(A, m.table, row_id), keys.key(A, "res_company", company))).fetchone()
            assert got is not None, (model, name, res_id, company)
            if f.type == "many2one":
                expected = keys.key(A, table_of[f.relation], int(vref.split(",")[1])) if vref else None
            elif f.type in ("float", "monetary"):
                expected = Decimal(repr(vfloat)) if vfloat is not None else None
            elif f.type == "boolean":
                expected = bool(vint)
            elif f.type == "integer":
                expected = vint
            else:
                expected = vtext
            assert got[0] == expected, (model, name, res_id, got[0], expected)
            checked += 1
    assert checked > 30  # standard_price of every product, and the partner and template properties


JOINS = (
    # (what, Odoo's join, the same join in the tenant schema through the uuids)
    ("order, partner",
     "SELECT so.name, p.name FROM sale_order so JOIN res_partner p ON p.id = so.partner_id",
     "SELECT so.name, p.name FROM sale_order so JOIN res_partner p ON (p.tenant_id, p.id) = (so.tenant_id, "
     "so.partner_id) WHERE so.tenant_id = %s"),
    ("order line, product, quantity",
     "SELECT so.name, pp.default_code, l.product_uom_qty FROM sale_order_line l JOIN sale_order so ON so.id = "
     "l.order_id JOIN product_product pp ON pp.id = l.product_id",
     "SELECT so.name, pp.default_code, l.product_uom_qty FROM sale_order_line l JOIN sale_order so ON "
     "(so.tenant_id, so.id) = (l.tenant_id, l.order_id) JOIN product_product pp ON (pp.tenant_id, pp.id) = "
     "(l.tenant_id, l.product_id) WHERE l.tenant_id = %s"),
    ("stock move, product, destination",
     "SELECT m.reference, pp.default_code, loc.complete_name FROM stock_move m JOIN product_product pp ON pp.id = "
     "m.product_id JOIN stock_location loc ON loc.id = m.location_dest_id",
     "SELECT m.reference, pp.default_code, loc.complete_name FROM stock_move m JOIN product_product pp ON "
     "(pp.tenant_id, pp.id) = (m.tenant_id, m.product_id) JOIN stock_location loc ON (loc.tenant_id, loc.id) = "
     "(m.tenant_id, m.location_dest_id) WHERE m.tenant_id = %s"),
    ("purchase line, vendor, price",
     "SELECT po.name, p.name, l.price_unit FROM purchase_order_line l JOIN purchase_order po ON po.id = l.order_id "
     "JOIN res_partner p ON p.id = po.partner_id",
     "SELECT po.name, p.name, l.price_unit FROM purchase_order_line l JOIN purchase_order po ON (po.tenant_id, "
     "po.id) = (l.tenant_id, l.order_id) JOIN res_partner p ON (p.tenant_id, p.id) = (po.tenant_id, po.partner_id) "
     "WHERE l.tenant_id = %s"),
)


@needs_demo
@pytest.mark.parametrize("what, odoo_join, our_join", JOINS, ids=[j[0] for j in JOINS])
def test_joins_through_the_uuids_equal_odoos_joins(demo, imported, what, odoo_join, our_join):
    def norm(rows):
        return Counter(tuple(float(v) if isinstance(v, (float, Decimal)) else v for v in r) for r in rows)

    with psycopg.connect(demo["source"]) as odoo, psycopg.connect(imported["target"]) as ours:
        expected = norm(odoo.execute(odoo_join).fetchall())
        assert sum(expected.values()) > 10, what
        for tenant_id in (A, B):
            assert norm(ours.execute(our_join, (tenant_id,)).fetchall()) == expected, (what, tenant_id)


@needs_demo
def test_the_schema_stays_as_the_migrations_made_it(demo, imported):
    with psycopg.connect(imported["target"]) as conn:
        assert conn.execute("SELECT count(*) FROM pg_constraint WHERE NOT convalidated").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM _fbs_import_set_aside").fetchone()[0] == 0
    differences = api.verify(RunOptions(migrations_dir=demo["folder"], database_url=imported["target"]), api.Silent())
    assert differences == []


@needs_demo
def test_row_level_security_shows_each_tenant_exactly_its_rows(demo, imported):
    with psycopg.connect(imported["target"], autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relrowsecurity AND c.relnamespace = 'public'::regnamespace")]
        owner_counts = {t: {x: _count(conn, t, x) for x in (A, B)} for t in tables}
        conn.execute("DROP ROLE IF EXISTS fbs_import_app")
        conn.execute("CREATE ROLE fbs_import_app NOLOGIN")
        try:
            conn.execute("GRANT USAGE ON SCHEMA public TO fbs_import_app")
            conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO fbs_import_app")
            for tenant_id in (A, B):
                with conn.transaction():
                    conn.execute("SET LOCAL ROLE fbs_import_app")
                    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))
                    for t in tables:
                        assert _count(conn, t) == owner_counts[t][tenant_id], (t, tenant_id)
                        assert conn.execute(f'SELECT count(*) FROM "{t}" WHERE tenant_id <> %s',
                                            (tenant_id,)).fetchone()[0] == 0
        finally:
            conn.execute("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM fbs_import_app")
            conn.execute("REVOKE ALL ON SCHEMA public FROM fbs_import_app")
            conn.execute("DROP ROLE fbs_import_app")
    assert sum(owner_counts["sale_order"].values()) == 2 * owner_counts["sale_order"][A] > 0


@needs_demo
def test_a_second_run_loads_nothing_and_check_proves_then_catches_a_deleted_row(demo, imported):
    with pg.template_copy(pg.dbname(imported["target"]), "fbs_demo_again") as target:
        again = fbs(*import_args(demo["source"], target, demo["folder"], A))
        assert again.returncode == 0, again.stderr
        assert "nothing to load" in again.stdout and "0 row" not in again.stdout
        check = fbs(*import_args(demo["source"], target, demo["folder"], A, "--check"))
        assert check.returncode == 0, check.stdout + check.stderr
        assert "0 differ" in check.stdout
        with psycopg.connect(target) as conn:
            conn.execute("DELETE FROM stock_quant WHERE tenant_id = %s AND id = %s",
                         (A, keys.key(A, "stock_quant", _some_id(demo["source"], "stock_quant"))))
        check = fbs(*import_args(demo["source"], target, demo["folder"], A, "--check", "--json"))
        assert check.returncode == 8, check.stdout + check.stderr
        report = json.loads(check.stdout)
        assert [t["table"] for t in report["tables"] if t["action"] == "different"] == ["stock_quant"]
        other = fbs(*import_args(demo["source"], target, demo["folder"], B, "--check"))
        assert other.returncode == 0, other.stdout
        repair = fbs(*import_args(demo["source"], target, demo["folder"], A, "--json"))
        assert repair.returncode == 0, repair.stderr
        loaded = [t["table"] for t in json.loads(repair.stdout)["tables"] if t["action"] == "loaded"]
        assert loaded == ["stock_quant"]
        assert fbs(*import_args(demo["source"], target, demo["folder"], A, "--check")).returncode == 0
        with psycopg.connect(target) as conn:  # a changed value: same count, another checksum
            conn.execute("UPDATE res_partner SET name = name || '.' WHERE tenant_id = %s AND id = %s",
                         (A, keys.key(A, "res_partner", _some_id(demo["source"], "res_partner"))))
        changed = fbs(*import_args(demo["source"], target, demo["folder"], A, "--check"))
        assert changed.returncode == 8, changed.stdout
        assert "res_partner: " in changed.stdout and "values differ" in changed.stdout


def _some_id(source: str, table: str) -> int:
    with psycopg.connect(source) as conn:
        return conn.execute(f'SELECT min(id) FROM "{table}"').fetchone()[0]


def _wait_for_blocked_import(target_dsn: str, proc: subprocess.Popen, what: str) -> None:
    """Until the import waits for the lock the test holds (no timer decides: it polls the server)."""
    while True:
        assert proc.poll() is None, f"the import ended before blocking on {what}: {proc.communicate()}"
        with psycopg.connect(target_dsn, autocommit=True) as conn:
            waiting = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'fbs-schema import%%' "
                "AND wait_event_type = 'Lock'").fetchone()[0]
        if waiting:
            return
        time.sleep(0.1)


@needs_demo
@pytest.mark.parametrize("how", ["kill -9", "ctrl-c"])
def test_an_interrupted_import_completes_when_run_again(demo, imported, how):
    """The import stops while it waits for a table of Odoo's that the test holds locked: the tables
    before it are committed, the foreign keys are set aside. kill -9 (or Ctrl-C), then the same
    command again: it completes, with the same rows as an uninterrupted import and every FK valid."""
    source = demo["source"]
    with pg.template_copy(demo["migrated"], "fbs_demo_kill") as target:
        holder = psycopg.connect(source)
        holder.execute("LOCK TABLE stock_route_product IN ACCESS EXCLUSIVE MODE")
        proc = subprocess.Popen([sys.executable, "-m", "generator",
                                 *import_args(source, target, demo["folder"], A, "--jobs", "1")],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                **CTRL_C)
        try:
            _wait_for_blocked_import(source, proc, "stock_route_product")
            with psycopg.connect(target) as conn:
                committed = conn.execute("SELECT count(*) FROM _fbs_import").fetchone()[0]
                set_aside = conn.execute("SELECT count(*) FROM _fbs_import_set_aside").fetchone()[0]
            assert committed > 0 and set_aside > 400
            proc.send_signal(signal.SIGKILL if how == "kill -9" else signal.SIGINT)
            out, err = proc.communicate(timeout=300)  # a hang fails the test instead of the whole run
        finally:
            holder.close()
            if proc.poll() is None:
                proc.kill()
        if how == "ctrl-c":
            assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
        else:
            assert proc.returncode == -signal.SIGKILL
        again = fbs(*import_args(source, target, demo["folder"], A, "--json"))
        assert again.returncode == 0, again.stderr
        result = json.loads(again.stdout)
        assert 0 < len([t for t in result["tables"] if t["action"] == "loaded"]) < len(result["tables"])
        with psycopg.connect(target) as conn:
            assert conn.execute("SELECT count(*) FROM pg_constraint WHERE NOT convalidated").fetchone()[0] == 0
            assert conn.execute("SELECT count(*) FROM _fbs_import_set_aside").fetchone()[0] == 0
        assert _fingerprints(target, A) == _fingerprints(imported["target"], A)
        assert fbs(*import_args(source, target, demo["folder"], A, "--check")).returncode == 0
