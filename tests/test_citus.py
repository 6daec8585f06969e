"""`--target citus` on a real Citus cluster (CITUS_URL: a coordinator with workers; see docs/tests.md
"Testing on Citus"). Without CITUS_URL every test here is skipped with that reason; the rendered
SQL is covered offline by tests/test_targets.py either way.

Each test database is made on all nodes by Citus's recipe (tests/support/citus.py) and dropped."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql

from generator import api
from generator import folder as folder_mod
from generator.capture.scope import Scope, select
from generator.runner.apply import RunOptions
from tests.support import behaviour, citus, odoo_demo
from tests.support.migrations import generate
from tests.support.versions import catalog

pytestmark = pytest.mark.skipif(not citus.url(), reason=citus.NOT_SET)

A, B = behaviour.A, behaviour.B
SCRIPT = api.PROJECT_ROOT / "scripts" / "psql-apply.sh"
JOIN = """
SELECT o.name, p.name, l.name
FROM sale_order AS o
INNER JOIN res_partner AS p ON p.tenant_id = o.tenant_id AND p.id = o.partner_id
INNER JOIN sale_order_line AS l ON l.tenant_id = o.tenant_id AND l.order_id = o.id
WHERE o.tenant_id = %s
"""


def migrate(folder: Path, dsn: str, **extra):
    return api.migrate(RunOptions(migrations_dir=folder, database_url=dsn, **extra))


def assert_distributed_and_verified(dsn: str, folder: Path) -> int:
    tables, distributed, groups = citus.placement(dsn)
    assert tables > 0 and distributed == tables and groups == 1, (tables, distributed, groups)
    assert [str(d) for d in api.verify(RunOptions(migrations_dir=folder, database_url=dsn))] == []
    return tables


def tasks(dsn: str, query: str, *args) -> list[int]:
    with psycopg.connect(dsn) as conn:
        plan = [r[0] for r in conn.execute(sql.SQL("EXPLAIN ") + sql.SQL(query), args).fetchall()]
    return [int(line.split("Task Count:")[1]) for line in plan if "Task Count:" in line]


def assert_rls_through_the_coordinator(dsn: str, tables: list[str]) -> None:
    """A non-owner role sees its tenant's rows only, and cannot insert another tenant's, with the
    tenant set the way docs/targets.md says (SET LOCAL, propagated to the workers)."""
    role = f"fbs_app_{uuid.uuid4().hex[:8]}"
    mine, other = str(uuid.uuid4()), str(uuid.uuid4())  # tenants no other test wrote rows for
    with psycopg.connect(dsn, autocommit=True) as conn:
        # LOGIN: Citus opens the connections to the workers as this role
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
            sql.Identifier(role)))
        maker = behaviour.UniqueRows(conn)
        made = [t for t in tables if _made(maker, t, mine)]
    assert len(made) >= 0.9 * len(tables), sorted(set(tables) - set(made))
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
            for t in made:
                name = sql.Identifier(t)
                with conn.transaction(force_rollback=True):
                    conn.execute("SET LOCAL citus.propagate_set_commands = 'local'")
                    conn.execute(sql.SQL("SET LOCAL app.tenant_id = {}").format(sql.Literal(mine)))
                    counts = conn.execute(sql.SQL("SELECT count(*), count(*) FILTER (WHERE tenant_id = %s) FROM {}")
                                          .format(name), (mine,)).fetchone()
                    assert counts[0] == counts[1] >= 1, (t, counts)
                with conn.transaction(force_rollback=True):
                    conn.execute("SET LOCAL citus.propagate_set_commands = 'local'")
                    conn.execute(sql.SQL("SET LOCAL app.tenant_id = {}").format(sql.Literal(other)))
                    assert conn.execute(sql.SQL("SELECT count(*) FROM {}").format(name)).fetchone()[0] == 0, t
                    assert conn.execute(sql.SQL("UPDATE {} SET tenant_id = tenant_id").format(name)).rowcount == 0, t
                    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
                        conn.execute(sql.SQL("INSERT INTO {} (tenant_id) VALUES (%s)").format(name), (mine,))
            # without the tenant set, nothing at all (fails closed)
            assert conn.execute("SELECT count(*) FROM res_partner").fetchone()[0] == 0
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _made(maker, table: str, tenant: str) -> bool:
    try:
        maker.make(table, tenant, reuse=False)
        return True
    except psycopg.Error:
        return False


def assert_foreign_keys_behave_as_on_postgres(citus_dsn: str, postgres_dsn: str, only=None) -> dict:
    on_citus = behaviour.outcomes(citus_dsn, only)
    on_postgres = behaviour.outcomes(postgres_dsn, only)
    assert on_citus == on_postgres
    kinds = {name: kind for _, name, kind in _actions(postgres_dsn)}
    exercised = {k: v for k, v in on_citus.items() if v != "skipped"}
    assert len(exercised) >= 0.85 * len(on_citus), f"only {len(exercised)} of {len(on_citus)} exercised"
    for (child, name), result in exercised.items():
        assert result == behaviour.EXPECTED[kinds[name]], (child, name, result)
    return on_citus


def _actions(dsn):
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT conrelid::regclass::text, conname, confdeltype::text FROM pg_constraint "
                            "WHERE contype = 'f' AND connamespace = 'public'::regnamespace").fetchall()


@pytest.fixture(scope="module")
def citus_folder(tmp_path_factory, bundled) -> Path:
    folder = tmp_path_factory.mktemp("citus") / "migrations"
    generate(bundled, folder, target="citus")
    return folder


@pytest.fixture(scope="module")
def citus_migrated(citus_folder):
    """The bundled snapshot's Citus migrations applied by `fbs-schema migrate` to a fresh database."""
    with citus.fresh_database() as dsn:
        steps = migrate(citus_folder, dsn)
        yield {"dsn": dsn, "steps": steps}


def test_migrate_distributes_every_table_in_one_colocation_group(citus_migrated, citus_folder):
    dsn = citus_migrated["dsn"]
    assert len(citus_migrated["steps"]) == len(folder_mod.existing_migrations(citus_folder))
    assert assert_distributed_and_verified(dsn, citus_folder) >= 100
    rows = api.status(RunOptions(migrations_dir=citus_folder, database_url=dsn))
    assert {r.state for r in rows} == {"applied"}
    assert migrate(citus_folder, dsn) == []  # nothing left to apply


def test_psql_loop_then_baseline(citus_folder):
    with citus.fresh_database() as dsn:
        proc = subprocess.run(["sh", str(SCRIPT), str(citus_folder), dsn], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert_distributed_and_verified(dsn, citus_folder)
        recorded = api.baseline(RunOptions(migrations_dir=citus_folder, database_url=dsn))
        assert len(recorded) == len(folder_mod.existing_migrations(citus_folder))
        assert migrate(citus_folder, dsn) == []


def test_foreign_keys_behave_as_on_postgresql(citus_migrated, schema_db):
    results = assert_foreign_keys_behave_as_on_postgres(citus_migrated["dsn"], schema_db)
    assert {"removed", "nulled", "refused"} <= set(results.values())


def test_row_level_security_through_the_coordinator(citus_migrated, bundled):
    from generator import tenant

    assert_rls_through_the_coordinator(citus_migrated["dsn"], [t.name for t in tenant.build(bundled).tables])


def test_a_tenant_scoped_join_runs_as_one_task(citus_migrated):
    assert tasks(citus_migrated["dsn"], JOIN, A) == [1]
    assert tasks(citus_migrated["dsn"], "SELECT count(*) FROM sale_order") == [32]


@pytest.fixture(scope="module")
def incremental_pair():
    cat = catalog("17.0")
    a = select(cat, Scope(modules=("product", "stock", "sale"), with_references=True))
    b = select(cat, Scope(preset="sales-inventory", with_references=True))
    return a, b


def test_incremental_migration_to_the_sales_inventory_preset(tmp_path, incremental_pair, pg_server):
    from tests.support import pg

    a, b = incremental_pair
    folder = tmp_path / "m"
    first = generate(a, folder, target="citus")
    second = generate(b, folder)  # no flag: the folder stays on citus
    assert second.status == "written" and all("-- Target: Citus." in f.text for f in second.files)
    created = {op.table.name for op in second.operations if type(op).__name__ == "CreateTable"}
    assert created, "the preset adds tables"
    plain = tmp_path / "postgres"  # the same two steps for PostgreSQL, to compare with
    generate(a, plain)
    generate(b, plain)
    with citus.fresh_database() as dsn, pg.fresh_database() as pg_dsn:
        assert len(migrate(folder, dsn, target_version=first.files[-1].version)) == len(first.files)
        assert len(migrate(folder, dsn)) == len(second.files)
        assert_distributed_and_verified(dsn, folder)
        migrate(plain, pg_dsn)
        changed = created | {op.table_name for op in second.operations}
        assert_foreign_keys_behave_as_on_postgres(dsn, pg_dsn, only=changed)
        assert_rls_through_the_coordinator(dsn, sorted(created))
        assert tasks(dsn, JOIN, A) == [1]
        assert tasks(dsn, "SELECT p.name FROM purchase_order AS o INNER JOIN res_partner AS p "
                          "ON p.tenant_id = o.tenant_id AND p.id = o.partner_id WHERE o.tenant_id = %s", A) == [1]


def test_revert_on_the_coordinator(tmp_path):
    small = select(catalog("17.0"), Scope(modules=("uom",)))
    folder = tmp_path / "m"
    result = generate(small, folder, target="citus", reversible=True)
    with citus.fresh_database() as dsn:
        migrate(folder, dsn)
        assert_distributed_and_verified(dsn, folder)
        reverted = api.revert(RunOptions(migrations_dir=folder, database_url=dsn, target_version=0))
        assert len(reverted) == len([f for f in result.files if f.suffix == ".up.sql"])
        assert citus.placement(dsn) == (0, 0, 0)
        migrate(folder, dsn)
        assert_distributed_and_verified(dsn, folder)


@pytest.mark.skipif(not odoo_demo.available(), reason=odoo_demo.MISSING)
def test_import_of_the_odoo_demo_database(citus_folder, pg_server):
    """`fbs-schema import` of the real Odoo 17.0 demo database (on the local PostgreSQL) into the
    bundled snapshot's Citus migrations, as two tenants: every table holds Odoo's rows per tenant,
    each tenant's rows of every table on one shard group, every foreign key validated, verify clean,
    import --check equal, a tenant's join one task."""
    tenants = (uuid.UUID("0c0c0c0c-0000-4000-8000-00000000000c"), uuid.UUID("0d0d0d0d-0000-4000-8000-00000000000d"))
    with odoo_demo.fresh() as source, citus.fresh_database() as dsn:
        migrate(citus_folder, dsn)
        for tenant_id in tenants:
            proc = subprocess.run([sys.executable, "-m", "generator", "import", "--odoo-dsn", source,
                                   "--database-url", dsn, "--migrations", str(citus_folder), "--tenant",
                                   str(tenant_id), "--json"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
            assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        dropped = {(p["odoo_table"], p["odoo_id"]) for p in report["rows_not_carried"]}
        with psycopg.connect(source) as odoo, psycopg.connect(dsn) as ours:
            compared = 0
            for t in report["tables"]:
                if t["table"] != t["odoo_table"]:
                    continue
                odoo_rows = odoo.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t["table"]))).fetchone()[0]
                expected = odoo_rows - sum(1 for table, _ in dropped if table == t["table"])
                for tenant_id in tenants:
                    got = ours.execute(sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s").format(
                        sql.Identifier(t["table"])), (tenant_id,)).fetchone()[0]
                    assert got == expected, (t["table"], tenant_id)
                if expected:
                    shards = ours.execute(sql.SQL(
                        "SELECT count(DISTINCT get_shard_id_for_distribution_column({}, tenant_id)) FROM {} "
                        "WHERE tenant_id = %s").format(sql.Literal(t["table"]), sql.Identifier(t["table"])),
                        (tenants[0],)).fetchone()[0]
                    assert shards == 1, t["table"]
                compared += 1
            assert compared > 100
            assert ours.execute("SELECT count(*) FROM pg_constraint WHERE NOT convalidated").fetchone()[0] == 0
        assert_distributed_and_verified(dsn, citus_folder)
        check = subprocess.run([sys.executable, "-m", "generator", "import", "--odoo-dsn", source, "--database-url", dsn,
                                "--migrations", str(citus_folder), "--tenant", str(tenants[0]), "--check"],
                               capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert check.returncode == 0, check.stdout + check.stderr
        assert tasks(dsn, JOIN, tenants[0]) == [1]
