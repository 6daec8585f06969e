"""`fbs-schema lint`: clean on the committed migrations; each deliberately broken copy fails naming
file and line. (sqlfluff and squawk run on the committed migrations in `make lint`, which CI runs.)"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from generator import api, lint

COMMITTED = api.PROJECT_ROOT / "migrations"


def run_lint(folder, *extra):
    return subprocess.run([sys.executable, "-m", "generator", "lint", "--migrations", str(folder), "--no-sqlfluff",
                           *extra], capture_output=True, text=True, cwd=api.PROJECT_ROOT)


def test_committed_migrations_are_clean():
    assert lint.semantic(COMMITTED) == []
    proc = run_lint(COMMITTED)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "lint clean: 0 semantic finding(s), squawk exit 0" in proc.stdout


BROKEN = {
    "unindexed-foreign-key": (
        "ALTER TABLE sale_order ADD COLUMN second_partner_id uuid;\n"
        "ALTER TABLE sale_order\nADD CONSTRAINT sale_order_second_partner_id_fkey\n"
        "FOREIGN KEY (tenant_id, second_partner_id) REFERENCES res_partner (tenant_id, id) NOT VALID;\n", 2),
    "integer-reference": (
        "CREATE TABLE x_bad (\n    tenant_id uuid NOT NULL,\n    id uuid NOT NULL,\n    partner_id integer,\n"
        "    CONSTRAINT x_bad_pkey PRIMARY KEY (tenant_id, id),\n"
        "    CONSTRAINT x_bad_partner_fkey FOREIGN KEY (tenant_id, partner_id) REFERENCES res_partner (tenant_id, id)\n);\n"
        "CREATE INDEX x_bad_partner_index ON x_bad (tenant_id, partner_id);\n", 1),
    "identifier-length": ("ALTER TABLE sale_order ADD COLUMN " + "x" * 64 + " text;\n", 1),
    "concurrent-index": ("\n\nCREATE INDEX sale_order_note_index ON sale_order (tenant_id, note);\n", 3),
    "destructive-marker": ("-- an innocent-looking file\nALTER TABLE sale_order DROP COLUMN note;\n", 2),
    "tenant-primary-key": ("CREATE TABLE x_plain (id uuid PRIMARY KEY);\n", 1),
}


@pytest.mark.parametrize("rule", sorted(BROKEN))
def test_broken_copy_fails_naming_file_and_line(tmp_path, rule):
    folder = tmp_path / "migrations"
    shutil.copytree(COMMITTED, folder)
    text, line = BROKEN[rule]
    path = folder / "29991231000000_hand_written.sql"
    path.write_text(text, "utf-8")
    proc = run_lint(folder, "--no-squawk")
    assert proc.returncode == 1, proc.stdout
    assert f"{path}:{line}: [{rule}]" in proc.stdout, proc.stdout


def test_marked_destructive_statement_passes(tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(COMMITTED, folder)
    (folder / "29991231000000_drop_note.sql").write_text(
        "-- fbs: destructive (the note column is no longer used)\nALTER TABLE sale_order DROP COLUMN note;\n", "utf-8")
    assert lint.semantic(folder) == []


def test_out_of_date_migrations_fail(tmp_path):
    changed = tmp_path / "changed.json"
    changed.write_text(api.BUNDLED_SNAPSHOT.read_text().replace('"label": "Sales Order"', '"label": "Orders"'), "utf-8")
    proc = run_lint(COMMITTED, "--no-squawk", "--snapshot", str(changed))
    assert proc.returncode == 1 and "[up-to-date] not up to date" in proc.stdout, proc.stdout


def test_statement_reader_handles_quotes_comments_and_dollars():
    text = "SELECT ';' AS \"a;b\"; -- c;\n/* d; */ SELECT $x$ ; $x$;\nSELECT 1"
    assert [(line, sql) for line, sql, _ in lint.statements(text)] == [
        (1, "SELECT ';' AS \"a;b\""), (2, "SELECT $x$ ; $x$"), (3, "SELECT 1")]


# --- sqlfluff and squawk remember what they found clean -------------------------------------------

CLEAN_SQL = "SELECT 1;\n"


def _counts(result) -> tuple[tuple[int, int], tuple[int, int]]:
    return (result.sqlfluff.linted, result.sqlfluff.cached), (result.squawk.linted, result.squawk.cached)


def test_lint_lints_only_new_or_changed_files_and_not_findings_twice(tmp_path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    for version in (20260101000000, 20260101000001):
        (folder / f"{version}_a.sql").write_text(CLEAN_SQL, "utf-8")

    def run(**kw):
        return api.lint(folder, check_up_to_date=False, **kw)

    assert _counts(run()) == ((2, 0), (2, 0))
    assert (tmp_path / ".cache" / "fbs-schema-lint" / "migrations.json").is_file()
    assert _counts(run()) == ((0, 2), (0, 2))
    (folder / "20260101000002_new.sql").write_text("SELECT 2;\n", "utf-8")
    assert _counts(run()) == ((1, 2), (1, 2))  # only the new file goes through the tools
    (folder / "20260101000000_a.sql").write_text("SELECT 3;\n", "utf-8")
    assert _counts(run()) == ((1, 2), (1, 2))  # an edited file is linted again
    assert _counts(run(cache=False)) == ((3, 0), (3, 0))
    (folder / "20260101000003_bad.sql").write_text("select 1 from  foo;\n", "utf-8")
    result = run()
    assert not result.ok and result.sqlfluff.exit_code == 1 and "LT01" in result.sqlfluff.output
    assert _counts(result) == ((1, 3), (1, 3))
    again = run()  # a file with findings is never remembered as clean
    assert again.sqlfluff.exit_code == 1 and again.sqlfluff.linted == 1


def test_lint_cache_key_follows_the_tool_config(tmp_path):
    before = lint.config_key("sqlfluff", [tmp_path])
    (tmp_path / ".sqlfluff").write_text("[sqlfluff]\ndialect = postgres\n", "utf-8")
    changed = lint.config_key("sqlfluff", [tmp_path])
    assert changed != before and lint.config_key("squawk", [tmp_path]) == lint.config_key("squawk", [])
