"""Several solutions from one config, on a real PostgreSQL with real processes: `sales` in its own
database (created by setup), `inventory` in schema `inventory` and `purchase` behind prefix `pur_`
in one shared database."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
import zlib
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql

from generator import solutions, tenant
from generator.errors import UsageError
from generator.placement import Placement
from generator.runner import ledger
from tests.support import pg
from tests.support.rows import RowMaker

CONFIG = """\
[solution.sales]
preset = "sales"
with_references = true
database_url_env = "SALES_DATABASE_URL"

[solution.inventory]
preset = "inventory"
database_url_env = "SHARED_DATABASE_URL"
schema = "inventory"

[solution.purchase]
preset = "purchase"
database_url_env = "SHARED_DATABASE_URL"
prefix = "pur_"
"""
NAMES = ("sales", "inventory", "purchase")
A, B = "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"


def fbs(*args: str, cwd: Path, env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def drop(name: str) -> None:
    with psycopg.connect(pg.server_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class Project:
    """A project folder with the config, and the two databases its environment names."""

    def __init__(self, folder: Path, sales: str, shared: str):
        self.folder, self.sales, self.shared = folder, sales, shared
        self.env = {"SALES_DATABASE_URL": pg.dsn_for(sales), "SHARED_DATABASE_URL": pg.dsn_for(shared)}

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return fbs(*args, cwd=self.folder, env=self.env)

    def dsn(self, solution: str) -> str:
        return self.env["SALES_DATABASE_URL" if solution == "sales" else "SHARED_DATABASE_URL"]

    def files(self, solution: str) -> list[Path]:
        return sorted(p for p in (self.folder / "migrations" / solution).glob("*.sql"))


def fresh_names() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:10]
    return f"fbs_test_sales_{tag}", f"fbs_test_shared_{tag}"


@pytest.fixture(scope="module")
def project(pg_server, tmp_path_factory):
    """Set up from nothing: neither database exists; `setup` creates both and each schema."""
    folder = tmp_path_factory.mktemp("solutions")
    (folder / "fbs-schema.toml").write_text(CONFIG, "utf-8")
    p = Project(folder, *fresh_names())
    p.setup_runs = {}
    try:
        for name in NAMES:
            p.setup_runs[name] = p.run("setup", name, "--timestamp", "20260101000000")
        yield p
    finally:
        drop(p.sales)
        drop(p.shared)


def test_setup_from_nothing_then_listed_up_to_date_and_verified(project):
    for name, proc in project.setup_runs.items():
        assert proc.returncode == 0, proc.stderr
        assert f"{name} is set up: {len(project.files(name))} migration(s) applied" in proc.stdout
    assert "created database" in project.setup_runs["sales"].stdout
    assert "created schema inventory" in project.setup_runs["inventory"].stdout
    again = project.run("setup", "inventory")
    assert again.returncode == 0, again.stderr
    assert "inventory is already set up" in again.stdout and "nothing to do" in again.stdout
    listing = project.run("solutions", "--json")
    assert listing.returncode == 0, listing.stderr
    states = {s["name"]: s for s in json.loads(listing.stdout)}
    assert list(states) == list(NAMES)
    for name in NAMES:
        s = states[name]
        assert (s["state"], s["reachable"], s["applied"], s["pending"], s["drift"]) == \
            ("up to date", True, len(project.files(name)), 0, 0), s
    assert states["inventory"]["placement"].startswith("schema inventory in database fbs_test_shared_")
    assert states["purchase"]["placement"].startswith("prefix pur_ in database fbs_test_shared_")
    verify = project.run("verify", "--all")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.count("verify: the database matches the snapshot") == 3


def test_setups_at_once_create_the_database_and_the_schema_once(pg_server):
    """Setups that start together (CI jobs of several services, say) each find the database and the
    schema missing and create them: one creates each, the others take it as made. Eight threads pass
    a barrier together, so their CREATE statements meet (the second CREATE DATABASE waits for the
    first one's row of pg_database and fails on its unique index)."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from generator.runner import provision

    name = f"fbs_test_setup_{uuid.uuid4().hex[:10]}"
    url = pg.dsn_for(name)
    barrier = Barrier(8)

    def together(fn, *args):
        barrier.wait()
        return fn(*args)

    try:
        with ThreadPoolExecutor(8) as pool:
            databases = list(pool.map(lambda _: together(provision.ensure_database, url), range(8)))
            assert sorted(created for _, created in databases) == [False] * 7 + [True]
            schemas = list(pool.map(lambda _: together(provision.ensure_schema, url, "inventory"), range(8)))
            assert sorted(schemas) == [False] * 7 + [True]
    finally:
        drop(name)


def _tables(dsn: str, schema: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {t for (t,) in conn.execute("SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = "
                                           "to_regnamespace(%s)", (schema,))}


def test_each_ledger_is_the_one_sqlx_reads_for_its_placement(project):
    # sqlx reads _sqlx_migrations through the search_path (for a schema: ?options=-csearch_path%3D<schema>)
    urls = {"sales": project.dsn("sales"), "purchase": project.dsn("purchase"),
            "inventory": project.dsn("inventory") + " options=-csearch_path=inventory"}
    for name, url in urls.items():
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT version, description, success, checksum FROM _sqlx_migrations "
                                "ORDER BY version").fetchall()
        expected = [(int(p.name.split("_", 1)[0]), p.name.split("_", 1)[1][:-4].replace("_", " "), True,
                     hashlib.sha384(p.read_bytes()).digest()) for p in project.files(name)]
        assert [(v, d, s, bytes(c)) for v, d, s, c in rows] == expected, name
    public, inventory = _tables(project.dsn("purchase"), "public"), _tables(project.dsn("inventory"), "inventory")
    assert "_sqlx_migrations" in public and "_sqlx_migrations" in inventory
    assert all(t.startswith("pur_") for t in public - {"_sqlx_migrations"}), public
    assert "pur_product_template" in public and "product_template" in inventory


def _probe_rls(dsn: str, schema: str | None, prefix: str, role: str) -> int:
    """Rows of tenant B in every table of the placement; a session of tenant A, as a non-owner role,
    sees, changes and inserts none of them. Returns the number of tables probed."""
    where = schema or "public"
    options = f" options=-csearch_path={schema}" if schema else ""
    names = sorted(t for t in _tables(dsn, where) if t != "_sqlx_migrations")
    with psycopg.connect(dsn + options, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(where), sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(
            sql.Identifier(where), sql.Identifier(role)))
        conn.execute("SET session_replication_role = replica")  # rows without their FK parents
        maker = RowMaker(conn, prefix)
        for t in names:
            maker.make(t, B)
    try:
        with psycopg.connect(dsn + options, autocommit=True) as conn:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
            for t in names:
                table = sql.Identifier(t)
                with conn.transaction(force_rollback=True):
                    conn.execute("SELECT set_config('app.tenant_id', %s, false)", (B,))
                    assert conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()[0] >= 1, t
                    conn.execute("SELECT set_config('app.tenant_id', %s, false)", (A,))
                    assert conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()[0] == 0, t
                    assert conn.execute(sql.SQL("DELETE FROM {}").format(table)).rowcount == 0, t
                    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
                        with conn.transaction():
                            conn.execute(sql.SQL("INSERT INTO {} (tenant_id) VALUES (%s)").format(table), (B,))
    finally:
        with psycopg.connect(dsn + options, autocommit=True) as conn:  # leave the database as setup left it
            conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, names))))
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    return len(names)


def test_tenants_are_isolated_in_each_placement(project):
    for name, schema, prefix in (("sales", None, ""), ("inventory", "inventory", ""), ("purchase", None, "pur_")):
        probed = _probe_rls(project.dsn(name), schema, prefix, f"fbs_app_{uuid.uuid4().hex[:8]}")
        assert probed > 10, name


def test_eight_concurrent_migrate_all_apply_each_migration_once(project, tmp_path):
    """The set-up project's folders, two new empty databases (with the inventory schema), eight
    `migrate --all` processes at once: each solution's own lock serialises its runners."""
    p = Project(project.folder, *fresh_names())
    for name in (p.sales, p.shared):
        with psycopg.connect(pg.server_dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(p.dsn("inventory"), autocommit=True) as conn:
            conn.execute("CREATE SCHEMA inventory")
        procs = [subprocess.Popen([sys.executable, "-m", "generator", "migrate", "--all", "--wait-for-lock", "300"],
                                  cwd=p.folder, env={**os.environ, **p.env}, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL) for _ in range(8)]
        outputs = [proc.communicate(timeout=600) for proc in procs]
        failed = [f"--- runner {i} exit {proc.returncode}\nstdout:\n{out}\nstderr:\n{err}"
                  for i, (proc, (out, err)) in enumerate(zip(procs, outputs)) if proc.returncode != 0]
        if failed:  # pytest.fail, not an assert message: pytest cuts those off at 640 characters
            pytest.fail(f"{len(failed)} of the 8 runners failed:\n" + "\n".join(failed))
        for name in NAMES:
            versions = [int(f.name.split("_", 1)[0]) for f in p.files(name)]
            # every "applied V" line of this solution's section, across the eight outputs
            applied = []
            for out, _ in outputs:
                section = out.split(f"== {name}\n", 1)[1].split("\n== ", 1)[0]
                applied += [int(line.split()[1]) for line in section.splitlines() if line.startswith("applied ")]
            assert sorted(applied) == versions, name
            options = " options=-csearch_path=inventory" if name == "inventory" else ""
            with psycopg.connect(p.dsn(name) + options) as conn:
                rows = conn.execute("SELECT version FROM _sqlx_migrations WHERE success ORDER BY 1").fetchall()
            assert [v for (v,) in rows] == versions, name
    finally:
        drop(p.sales)
        drop(p.shared)


def test_a_change_to_one_solutions_selection_generates_and_applies_only_there(project, tmp_path):
    """On copies of the set-up project and databases: inventory takes purchase's models too."""
    folder = tmp_path / "project"
    shutil.copytree(project.folder, folder)
    p = Project(folder, *fresh_names())
    with psycopg.connect(pg.server_dsn(), autocommit=True) as conn:
        for copy, original in ((p.sales, project.sales), (p.shared, project.shared)):
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(copy),
                                                                          sql.Identifier(original)))
    try:
        config = folder / "fbs-schema.toml"
        config.write_text(config.read_text("utf-8").replace(
            'preset = "inventory"', 'modules = ["product", "purchase", "stock", "uom"]'), "utf-8")
        before = {name: p.files(name) for name in NAMES}
        gen = p.run("generate", "--all", "--timestamp", "20260201000000")
        assert gen.returncode == 0, gen.stderr
        assert gen.stdout.count("no changes:") == 2
        assert {name: p.files(name) for name in ("sales", "purchase")} == {n: before[n] for n in ("sales", "purchase")}
        new = [f for f in p.files("inventory") if f not in before["inventory"]]
        assert new and all(f.name >= "20260201000000" for f in new)
        migrate = p.run("migrate", "--all")
        assert migrate.returncode == 0, migrate.stderr
        sections = {s.split("\n", 1)[0]: s for s in migrate.stdout.split("== ")[1:]}
        assert "nothing to apply" in sections["sales"] and "nothing to apply" in sections["purchase"]
        assert sections["inventory"].count("\napplied ") == len(new)
        assert "purchase_order" in _tables(p.dsn("inventory"), "inventory")
        states = json.loads(p.run("solutions", "--json").stdout)
        assert [s["state"] for s in states] == ["up to date"] * 3
        assert p.run("verify", "--all").returncode == 0
    finally:
        drop(p.sales)
        drop(p.shared)


# ---------------------------------------------------------------------------------------------
# plan --solution --database-url counts the rows at risk where the solution's tables are

SIDE_BY_SIDE = """\
[solution.plain]
modules = ["product", "uom"]
database_url_env = "SHARED_DATABASE_URL"

[solution.boxed]
modules = ["product", "uom"]
database_url_env = "SHARED_DATABASE_URL"
schema = "boxed"

[solution.prefixed]
modules = ["product", "uom"]
database_url_env = "SHARED_DATABASE_URL"
schema = "shelf"
prefix = "pre_"
"""


def test_plan_counts_the_rows_at_risk_in_the_solutions_own_tables(db, tmp_path):
    """Three solutions in one database, each with its own rows in its product_template: public (1
    row), schema boxed (2), schema shelf behind prefix pre_ (3), beside a stray shelf.product_template
    (4). Dropping the product module from each, plan --solution counts that solution's rows only."""
    (tmp_path / "fbs-schema.toml").write_text(SIDE_BY_SIDE, "utf-8")
    env = {"SHARED_DATABASE_URL": db}
    for name in ("plain", "boxed", "prefixed"):
        set_up = fbs("setup", name, cwd=tmp_path, env=env)
        assert set_up.returncode == 0, set_up.stderr
    own = {"plain": (None, "product_template", 1), "boxed": ("boxed", "product_template", 2),
           "prefixed": ("shelf", "pre_product_template", 3)}
    for schema, table, rows in own.values():
        options = f" options=-csearch_path={schema}" if schema else ""
        with psycopg.connect(db + options, autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")  # rows without their FK parents
            maker = RowMaker(conn, "pre_" if table.startswith("pre_") else "")
            for _ in range(rows):
                maker.make(table, A, reuse=False)
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("CREATE TABLE shelf.product_template AS SELECT g AS id FROM generate_series(1, 4) g")
    (tmp_path / "fbs-schema.toml").write_text(SIDE_BY_SIDE.replace('["product", "uom"]', '["uom"]'), "utf-8")
    for name, (_, table, rows) in own.items():
        planned = fbs("plan", "--solution", name, "--database-url", db, cwd=tmp_path, env=env)
        assert planned.returncode == 1, planned.stdout + planned.stderr  # a destructive plan (plan --help)
        line = next((l for l in planned.stdout.splitlines() if f"DROP table {table} " in l), planned.stdout)
        assert f"[DESTRUCTIVE] ({rows} rows)" in line, (name, line)


# ---------------------------------------------------------------------------------------------
# a bad config is refused before anything is touched, naming the key (exit 2)

BAD = {
    "typo": (CONFIG.replace('schema = "inventory"', 'shema = "inventory"'), "solution.inventory.shema: unknown key"),
    "collision": (CONFIG.replace('prefix = "pur_"', 'schema = "inventory"'),
                  "solution.purchase.schema: solution.purchase and solution.inventory would share database"),
    "same prefix table": (CONFIG.replace('schema = "inventory"', 'prefix = "pur_"'),
                          "solution.purchase.prefix: solution.purchase and solution.inventory would share"),
    "bad preset": (CONFIG.replace('preset = "purchase"', 'preset = "purchasing"'), "solution.purchase.preset:"),
    "target": (CONFIG.replace('prefix = "pur_"', 'prefix = "pur_"\ntarget = "oracle"'), "solution.purchase.target:"),
    "password in the file": (CONFIG.replace('database_url_env = "SALES_DATABASE_URL"',
                                            'database_url = "postgresql://u:secret@h/db"'),
                             "solution.sales.database_url: unknown key"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_is_refused_naming_the_key(tmp_path, case):
    text, message = BAD[case]
    (tmp_path / "fbs-schema.toml").write_text(text, "utf-8")
    env = {"SALES_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/sales",
           "SHARED_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/shared"}
    for args in (("migrate", "--all"), ("solutions",), ("setup", "sales"), ("generate", "--all")):
        proc = fbs(*args, cwd=tmp_path, env=env)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert message in proc.stderr, (args, proc.stderr)
        assert "secret" not in proc.stderr
    assert not (tmp_path / "migrations").exists()


def test_missing_environment_variable_is_refused_before_any_database_is_touched(db, tmp_path):
    (tmp_path / "fbs-schema.toml").write_text(CONFIG, "utf-8")
    env = {"SALES_DATABASE_URL": db, "SHARED_DATABASE_URL": ""}
    generated = fbs("generate", "--all", cwd=tmp_path, env=env)  # generate needs no database
    assert generated.returncode == 0, generated.stderr
    for args in (("migrate", "--all"), ("solutions",), ("setup", "inventory"), ("status", "--solution", "purchase")):
        proc = fbs(*args, cwd=tmp_path, env=env)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "solution.inventory.database_url_env: the environment variable SHARED_DATABASE_URL is not set" \
            in proc.stderr or "solution.purchase.database_url_env" in proc.stderr, proc.stderr
    with psycopg.connect(db) as conn:  # sales, which could have been migrated first, was not touched
        assert conn.execute("SELECT to_regclass('_sqlx_migrations')").fetchone()[0] is None


# ---------------------------------------------------------------------------------------------
# placement as a value (no database)

def test_lock_keys_are_sqlx_for_a_database_and_distinct_for_a_schema():
    assert Placement().lock_key("shop") == ledger.lock_key("shop") == 0x3D32AD9E * zlib.crc32(b"shop")
    assert Placement(prefix="pur_").lock_key("shop") == ledger.lock_key("shop")
    assert Placement(schema="inventory").lock_key("shop") == 0x3D32AD9E * zlib.crc32(b"shop.inventory")
    assert len({Placement(schema=s).lock_key("shop") for s in ("a", "b", None)}) == 3


def test_a_prefix_reaches_every_table_and_names_stay_within_63_bytes(bundled):
    plain = tenant.build(bundled)
    assert tenant.build(bundled, placement=Placement(schema="x")) == plain  # a schema is not in the SQL
    prefix = "a_rather_long_prefix_"
    prefixed = tenant.build(bundled, placement=Placement(prefix=prefix))
    assert len(prefixed.tables) == len(plain.tables)
    names = [t.name for t in prefixed.tables] + [i.name for t in prefixed.tables for i in t.indexes] + \
        [t.primary_key_name for t in prefixed.tables] + [u.name for t in prefixed.tables for u in t.uniques]
    assert all(len(n.encode()) <= 63 for n in names)
    assert all(n.startswith(prefix) for n in names)
    targets = {fk.ref_table for t in prefixed.tables for fk in t.foreign_keys}
    assert targets <= {t.name for t in prefixed.tables}


def test_solution_rules_replace_the_shared_key_and_are_kept_as_toml(tmp_path):
    (tmp_path / "fbs-schema.toml").write_text(
        '[migration]\nlock_timeout = "7s"\n\n[[index]]\nmodel = "sale.order"\nfields = ["date_order desc"]\n\n'
        + CONFIG.replace('schema = "inventory"\n', 'schema = "inventory"\nindex = []\n\n'
                         '[[solution.inventory.check]]\nmodel = "stock.move"\nfield = "product_uom_qty"\nmin = 0\n'
                         '[solution.inventory.migration]\nlock_timeout = "2s"\n'), "utf-8")
    config = solutions.load(tmp_path / "fbs-schema.toml")
    inventory, sales = config.get("inventory"), config.get("sales")
    assert (inventory.rules.indexes, inventory.rules.lock_timeout, len(inventory.rules.checks)) == ((), "2s", 1)
    assert (len(sales.rules.indexes), sales.rules.lock_timeout, sales.rules.checks) == (1, "7s", ())
    assert inventory.migrations_dir == tmp_path / "migrations" / "inventory"
    kept = tmp_path / "kept.toml"
    kept.write_text(inventory.rules_text, "utf-8")
    from generator import rules

    again = rules.load(kept)
    assert (again.indexes, again.checks[0].min, again.lock_timeout) == ((), 0, "2s")
    with pytest.raises(UsageError, match="no \\[solution.nope\\]"):
        config.get("nope")


def test_a_solution_takes_any_target(tmp_path):
    """target = "citus" in a solution: generate writes that target's SQL and keeps it beside the
    migrations; `solutions` shows it."""
    (tmp_path / "fbs-schema.toml").write_text('[solution.dist]\npreset = "inventory"\ntarget = "citus"\n'
                                              'database_url_env = "DIST_URL"\n', "utf-8")
    env = {"DIST_URL": "postgresql://postgres@127.0.0.1:1/dist"}
    made = fbs("generate", "--solution", "dist", cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "migrations" / "dist"
    assert json.loads((folder / "fbs-target.json").read_text("utf-8")) == {"target": "citus"}
    assert all("-- Target: Citus." in p.read_text("utf-8") for p in folder.glob("*.sql"))
    listed = fbs("solutions", cwd=tmp_path, env=env)
    row = next(line for line in listed.stdout.splitlines() if line.startswith("dist "))
    assert " citus " in row, listed.stdout
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "fbs-schema.toml").write_text('[solution.x]\npreset = "sales"\ntarget = "oracle"\n'
                                         'database_url_env = "DIST_URL"\n', "utf-8")
    refused = fbs("solutions", cwd=bad, env=env)
    assert refused.returncode == 2 and "solution.x.target: 'oracle' is not one of" in refused.stderr
