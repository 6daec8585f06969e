"""Targets without a database: the rendered SQL of every target against golden files, the target
kept in the folder, refused changes, and the outputs the target must not change (plan, diagram).

Golden files: tests/golden/targets/<target>.sql. After a deliberate template change, rewrite them
with FBS_UPDATE_GOLDEN=1 pytest tests/test_targets.py and review the diff."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from generator import api, diff, ops, render
from generator.errors import RenderError
from generator.target import CITUS, KEPT_TARGET, POSTGRES, TARGETS, YUGABYTE
from generator.tables import Check, Column, ForeignKey, Index, IndexColumn, Policy, Table, Unique
from tests.support.migrations import FIXED_TIME, generate

GOLDEN = Path(__file__).parent / "golden" / "targets"
T = "tenant_id"


def _table(name: str, *extra: Column, checks=(), uniques=(), indexes=()) -> Table:
    columns = (Column(T, "uuid", True), Column("id", "uuid", True, "gen_random_uuid()"),
               Column("name", "character varying", True)) + extra
    return Table(name, columns, (T, "id"), f"{name}_pkey", tuple(checks), tuple(uniques), (), tuple(indexes),
                 Policy(f"{name}_tenant_isolation", "app.tenant_id"))


PARTNER = _table("res_partner", Column("parent_id", "uuid"),
                 checks=[Check("res_partner_type_check", "type IN ('contact', 'invoice')", ("contact", "invoice"))],
                 uniques=[Unique("res_partner_ref_uniq", (T, "name"))],
                 indexes=[Index("res_partner_name_trgm", "res_partner", (IndexColumn(T), IndexColumn("name", opclass="gin_trgm_ops")), "gin"),
                          Index("res_partner_parent_id_index", "res_partner", (IndexColumn(T), IndexColumn("parent_id")))])
ORDER = _table("sale_order", Column("partner_id", "uuid", True), Column("user_partner_id", "uuid"),
               indexes=[Index("sale_order_partner_id_index", "sale_order", (IndexColumn(T), IndexColumn("partner_id")))])
SET_NULL = ForeignKey("sale_order_user_partner_id_fkey", (T, "user_partner_id"), "res_partner", (T, "id"),
                      "SET NULL", ("user_partner_id",))
SELF_SET_NULL = ForeignKey("res_partner_parent_id_fkey", (T, "parent_id"), "res_partner", (T, "id"),
                           "SET NULL", ("parent_id",))
RESTRICT = ForeignKey("sale_order_partner_id_fkey", (T, "partner_id"), "res_partner", (T, "id"), "RESTRICT")
NOTE = Column("note", "text")


def operations() -> list[ops.Op]:
    """One of each operation kind whose SQL a target changes, in migration order."""
    up = [
        ops.CreateExtension(name="pg_trgm"),
        ops.CreateTable(table=PARTNER), ops.CreateTable(table=ORDER),
        *(ops.CreateIndex(index=i) for i in PARTNER.indexes + ORDER.indexes),
        ops.AddConstraint(table="sale_order", constraint=RESTRICT),
        ops.AddConstraint(table="sale_order", constraint=SET_NULL, not_valid=True),
        ops.AddConstraint(table="res_partner", constraint=SELF_SET_NULL),
        ops.EnablePolicy(table="res_partner", policy=PARTNER.policy),
        ops.AddColumn(table="sale_order", column=NOTE),
        ops.CreateIndex(index=Index("sale_order_note_index", "sale_order", (IndexColumn(T), IndexColumn("note"))),
                        concurrently=True),
    ]
    return up + diff.reverse(up)


def rendered(target) -> str:
    parts = []
    for op in operations():
        parts.append(f"-- {op.describe()}\n{render.statement(op, target, anchor='res_partner')}\n")
    return "\n".join(parts)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_rendered_sql_matches_the_golden_file(name):
    text = rendered(TARGETS[name])
    path = GOLDEN / f"{name}.sql"
    if os.environ.get("FBS_UPDATE_GOLDEN"):
        path.write_text(text, "utf-8")
    assert text == path.read_text("utf-8"), f"{path} differs (FBS_UPDATE_GOLDEN=1 rewrites it; review the diff)"


def test_what_each_target_needs_is_in_its_sql():
    pg, citus, yb = rendered(POSTGRES), rendered(CITUS), rendered(YUGABYTE)
    assert "ON DELETE SET NULL (user_partner_id)" in pg and "CREATE TRIGGER" not in pg
    for text in (citus, yb):
        assert "SET NULL" not in text.replace("SET NULL\n", "")  # no ON DELETE SET NULL anywhere
        assert 'CREATE TRIGGER "FBS_sale_order_user_partner_id_fkey" AFTER DELETE ON res_partner' in text
        assert "WHERE tenant_id = OLD.tenant_id AND user_partner_id = OLD.id;" in text
        assert "ON DELETE RESTRICT" in text
    assert "create_distributed_table('sale_order', 'tenant_id', colocate_with => 'res_partner')" in citus
    assert "create_distributed_table('res_partner', 'tenant_id', colocate_with => 'none')" in citus
    assert "PRIMARY KEY ((tenant_id) HASH, id ASC)" in yb
    assert "USING ybgin (name gin_trgm_ops)" in yb
    colocated = rendered(TARGETS["yugabyte-colocated"])
    assert "PRIMARY KEY (tenant_id ASC, id ASC)" in colocated and "HASH" not in colocated


_DDL = re.compile(r"^(CREATE (UNIQUE )?INDEX (?!CONCURRENTLY)|CREATE TABLE|DROP (?!EXTENSION)|ALTER TABLE \S+ (ADD COLUMN|DROP ))", re.M)


def test_targets_differ_by_flags_read_in_the_shared_templates():
    """One dialect mechanism: every target renders through templates/ops/, which reads its flags (a
    copy of a template per target drifts: a fix to one misses the others)."""
    assert all(t.templates == () for t in TARGETS.values())
    assert sorted(p.name for p in render.TEMPLATES.iterdir() if p.is_dir()) == ["import", "ops"]
    for name, target in TARGETS.items():
        text = rendered(target)
        ddl = [m.string[m.start():text.index("\n", m.start())] for m in _DDL.finditer(text)]
        assert len(ddl) >= 12, name
        guarded = [line for line in ddl if " IF EXISTS " in line or " IF NOT EXISTS " in line]
        if target.idempotent_ddl:  # every statement can run again: DDL there is not transactional
            assert guarded == ddl, name
            for before, after in (("DROP CONSTRAINT IF EXISTS", "ADD CONSTRAINT"), ("DROP POLICY IF EXISTS", "CREATE POLICY")):
                assert text.count(before) >= text.count(after) > 0, (name, after)
        else:
            assert guarded == [line for line in ddl if line.startswith("DROP INDEX CONCURRENTLY")], name


def test_a_target_whose_templates_are_not_installed_cannot_render():
    """A target folder missing from the package is an error, never the shared (PostgreSQL) SQL under
    the target's name."""
    lost = dataclasses.replace(YUGABYTE, name="lost", templates=("lost",))
    with pytest.raises(RenderError, match=r"target lost: its templates \(lost/ in .*\) are not installed"):
        render.statement(operations()[1], lost)


def test_postgres_output_is_the_default_and_writes_no_target_file(bundled, tmp_path):
    default = generate(bundled, tmp_path / "a")
    explicit = generate(bundled, tmp_path / "b", target="postgres")
    assert [f.text for f in default.files] == [f.text for f in explicit.files]
    assert not (tmp_path / "a" / KEPT_TARGET).exists() and not (tmp_path / "b" / KEPT_TARGET).exists()
    committed = api.PROJECT_ROOT / "migrations"
    assert sorted(p.name for p in committed.iterdir()) == sorted(
        [p.name for p in committed.iterdir() if p.suffix == ".sql"] + [api.KEPT_SNAPSHOT])


def test_the_folder_keeps_its_target_and_refuses_another(bundled, tmp_path):
    folder = tmp_path / "m"
    first = generate(bundled, folder, target="citus")
    assert (folder / KEPT_TARGET).read_text() == '{\n  "target": "citus"\n}\n'
    assert all("-- Target: Citus." in f.text for f in first.files)
    assert generate(bundled, folder).status == "no changes"  # no flag: stays on citus
    cli = [sys.executable, "-m", "generator", "generate", "--migrations", str(folder), "-q"]
    proc = subprocess.run(cli + ["--target", "postgres"], capture_output=True, text=True, cwd=api.PROJECT_ROOT)
    assert proc.returncode == 2, proc.stderr
    assert f"{folder} holds migrations for target citus; --target postgres" in proc.stderr
    plain = tmp_path / "plain"
    generate(bundled, plain)
    proc = subprocess.run(cli[:5] + [str(plain), "-q", "--target", "citus"], capture_output=True, text=True,
                          cwd=api.PROJECT_ROOT)
    assert proc.returncode == 2 and "holds migrations for target postgres" in proc.stderr


def test_plan_and_diagram_do_not_depend_on_the_target(bundled, tmp_path):
    def plan(target):
        return subprocess.run([sys.executable, "-m", "generator", "generate", "--dry-run", "-q", "--target", target,
                               "--migrations", str(tmp_path / target), "--timestamp", FIXED_TIME.strftime("%Y%m%d%H%M%S")],
                              capture_output=True, text=True, cwd=api.PROJECT_ROOT).stdout.replace(target, "T")
    assert plan("postgres") == plan("citus") == plan("yugabyte")
    citus = generate(bundled, tmp_path / "c", target="citus")
    pg = generate(bundled, tmp_path / "p")
    assert [op.describe() for op in citus.operations] == [op.describe() for op in pg.operations]
    assert api.diagram(bundled, changes_from=None) == api.diagram(bundled)


def test_lint_knows_each_targets_rules(bundled, tmp_path):
    from generator import lint

    for name in ("citus", "yugabyte"):
        folder = tmp_path / name
        generate(bundled, folder, target=name)
        assert lint.semantic(folder) == [], name
    citus = tmp_path / "citus"
    first = sorted(citus.glob("*_tables.sql"))[0]
    first.write_text(first.read_text().replace("PERFORM create_distributed_table('account_move'", "-- ", 1))
    extra = citus / "20990101000000_hand_written.sql"
    extra.write_text("ALTER TABLE sale_order\nADD CONSTRAINT x_fkey FOREIGN KEY (tenant_id, partner_id) "
                     "REFERENCES res_partner (tenant_id, id) ON DELETE SET NULL (partner_id);\n")
    found = {(f.rule, Path(f.file).name) for f in lint.semantic(citus)}
    assert ("citus-distribution", first.name) in found
    assert ("set-null-unsupported", extra.name) in found
    yb = tmp_path / "yugabyte"
    (yb / "20990101000000_hand_written.sql").write_text(
        "CREATE INDEX CONCURRENTLY x_idx ON res_partner USING ybgin (tenant_id, name);\nSELECT pg_advisory_lock(1);\n")
    assert {f.rule for f in lint.semantic(yb)} == {"ybgin-multicolumn", "advisory-lock"}
    proc = subprocess.run([sys.executable, "-m", "generator", "lint", "--migrations", str(yb), "--no-cache"],
                          capture_output=True, text=True, cwd=api.PROJECT_ROOT)
    assert "sqlfluff and squawk skipped" in proc.stderr


def test_the_lock_table_fallback_excludes_a_second_runner(db, tmp_path):
    """YugabyteDB before 2025.1 has no advisory locks: the runner locks a row instead (tried here on PostgreSQL)."""
    import psycopg

    from generator.errors import MigrationError
    from generator.runner import ledger
    from generator.runner.apply import connect

    with ledger.table_lock(lambda: connect(db), timeout=1):
        with pytest.raises(MigrationError, match="_fbs_migration_lock"):
            with ledger.table_lock(lambda: connect(db), timeout=0.5):
                pass
    with ledger.table_lock(lambda: connect(db), timeout=1):  # released after the first
        pass
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM _fbs_migration_lock").fetchone()[0] == 1


def test_two_runners_creating_the_lock_table_at_once_both_go_on(db, tmp_path):
    """Nothing serialises runners before they hold the lock, so two can create the lock table at the
    same moment: the second CREATE TABLE IF NOT EXISTS waits for the first one's catalog rows and
    PostgreSQL then fails it on their unique index instead of skipping it. The runner runs the
    statement again and goes on. Here the other runner's CREATE is held open in a transaction, and
    committed once this runner's waits on it (seen in this database's pg_stat_activity)."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    import psycopg

    from generator.runner import ledger
    from generator.runner.apply import RunOptions

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / KEPT_TARGET).write_text('{"target": "yugabyte"}\n')
    (folder / "1_first.sql").write_text("CREATE TABLE IF NOT EXISTS a (x integer);\n")
    with psycopg.connect(db) as other, psycopg.connect(db, autocommit=True) as watch, ThreadPoolExecutor(1) as pool:
        other.execute(ledger.ENSURE_LOCK)  # another runner, its CREATE not committed yet
        running = pool.submit(api.migrate, RunOptions(migrations_dir=folder, database_url=db))
        deadline, waiting = time.monotonic() + 120, 0
        while not waiting and not running.done() and time.monotonic() < deadline:
            time.sleep(0.05)
            waiting = watch.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                    "AND wait_event_type = 'Lock' AND pid <> %s", (other.info.backend_pid,)).fetchone()[0]
        assert waiting, running.exception() if running.done() else "the runner never reached the lock table"
        other.commit()
        steps = running.result(timeout=120)
    assert [(s.version, s.action) for s in steps] == [(1, "applied")]
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM _fbs_migration_lock").fetchone()[0] == 1


def test_a_yugabyte_folder_uses_the_lock_table_and_says_a_failure_may_be_half_applied(db, tmp_path):
    """Run on PostgreSQL (not YugabyteDB): the runner's side of the target, not the engine's."""
    import psycopg

    from generator.errors import MigrationError
    from generator.runner.apply import RunOptions

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / KEPT_TARGET).write_text('{"target": "yugabyte"}\n')
    (folder / "1_first.sql").write_text("CREATE TABLE IF NOT EXISTS a (x integer);\nSELECT y FROM a;\n")
    with pytest.raises(MigrationError) as err:
        api.migrate(RunOptions(migrations_dir=folder, database_url=db))
    assert "DDL is not transactional on this target: the statements before line 2 of 1_first.sql" in str(err.value)
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT to_regclass('_fbs_migration_lock') IS NOT NULL").fetchone()[0]
