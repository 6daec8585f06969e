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


def test_text_reader_handles_quotes_comments_and_dollars():
    """The reader of YugabyteDB files (its key syntax is not PostgreSQL's)."""
    text = "SELECT ';' AS \"a;b\"; -- c;\n/* d; */ SELECT $x$ ; $x$;\nSELECT 1"
    assert [(line, sql) for line, sql, _ in lint.statements(text)] == [
        (1, "SELECT ';' AS \"a;b\""), (2, "SELECT $x$ ; $x$"), (3, "SELECT 1")]


# --- PostgreSQL's parser, not a text reader (postgres and citus targets) ---------------------------
# Each case is read wrongly by a reader of its own (splitting on ';' outside the quotes it knows of,
# regular expressions over the statement text), as lint read every target before; PostgreSQL's
# parser and scanner read it as the server will. (rules found, line of the first finding)

PARSER_READS = {
    # E'' strings: \' does not end the string, so its ';' and DROP TABLE are text
    "escaped quote in an E string": ("COMMENT ON TABLE sale_order IS E'it\\'s; DROP TABLE sale_order';\n", set(), None),
    # comments nest in PostgreSQL: the DROP TABLE is inside the outer one
    "nested block comment": ("/* outer /* inner */ DROP TABLE sale_order; */\nSELECT 1;\n", set(), None),
    # a dollar-quoted literal is text, not identifiers
    "long word in a dollar-quoted literal": ("COMMENT ON TABLE sale_order IS $c$" + "y" * 70 + "$c$;\n", set(), None),
    # the header marks a file only as a comment, not as the text of a literal
    "marker inside a string literal": ("COMMENT ON TABLE sale_order IS '!!! DESTRUCTIVE';\n"
                                       "ALTER TABLE sale_order DROP COLUMN note;\n", {"destructive-marker"}, 2),
    # COLUMN is optional in DROP COLUMN and ALTER COLUMN ... TYPE
    "DROP without COLUMN": ("SELECT 1;\nALTER TABLE sale_order DROP note;\n", {"destructive-marker"}, 2),
    "ALTER without COLUMN": ("ALTER TABLE sale_order ALTER note TYPE varchar(10);\n", {"destructive-marker"}, 1),
    # a schema-qualified table is the same table
    "schema-qualified table": ("CREATE INDEX sale_order_note_index\n    ON public.sale_order (tenant_id, note);\n",
                               {"concurrent-index"}, 1),
    # a DO block's statements are read one by one, at their own line
    "DROP TABLE in a DO block": ("DO $$\nBEGIN\n    -- the body runs as PL/pgSQL\n    DROP TABLE sale_order;\nEND\n$$;\n",
                                 {"destructive-marker"}, 4),
    # what PostgreSQL refuses is reported, not skipped
    "a syntax error": ("SELECT 1;\n\nCREATE TABEL x_t (id uuid);\n", {"syntax"}, 3),
    # PostgreSQL takes no NUL in a query, and its parser would stop reading there: reported
    "a NUL character": ("SELECT 1;\n\x00\nALTER TABLE sale_order ADD COLUMN x_note text;\n", {"syntax"}, 2),
}


@pytest.mark.parametrize("case", sorted(PARSER_READS))
def test_the_parser_reads_what_a_text_reader_gets_wrong(tmp_path, case):
    folder = tmp_path / "migrations"
    shutil.copytree(COMMITTED, folder)
    text, rules, line = PARSER_READS[case]
    (folder / "29991231000000_hand_written.sql").write_text(text, "utf-8")
    found = lint.semantic(folder)
    assert {f.rule for f in found} == rules, [str(f) for f in found]
    if line is not None:
        assert min(f.line for f in found) == line, [str(f) for f in found]


def test_non_ascii_text_is_read_at_the_right_place(tmp_path):
    """The parser counts bytes and the scanner characters: both agree past non-ASCII text."""
    folder = tmp_path / "migrations"
    shutil.copytree(COMMITTED, folder)
    name = "é" * 40  # 80 bytes
    (folder / "29991231000000_hand_written.sql").write_text(
        f"COMMENT ON TABLE sale_order IS 'données, très longues';\n\nALTER TABLE sale_order ADD COLUMN \"{name}\" text;\n"
        "ALTER TABLE sale_order /* ü */ DROP COLUMN \"ü\";\n", "utf-8")
    assert [(f.line, f.rule, f.message) for f in lint.semantic(folder)] == [
        (3, "identifier-length", f"identifier {name}... is 80 bytes; PostgreSQL truncates it to 63"),
        (4, "destructive-marker", 'DROP COLUMN "ü" loses data but the file has no \'!!! DESTRUCTIVE\' header')]


def test_a_syntax_error_fails_the_lint_naming_file_and_line(tmp_path):
    folder = tmp_path / "migrations"
    shutil.copytree(COMMITTED, folder)
    path = folder / "29991231000000_hand_written.sql"
    path.write_text("-- a typo\nALTER TABLE sale_order ADD COLUMN x_note text;\nALTER TABEL sale_order ADD COLUMN y text;\n")
    proc = run_lint(folder, "--no-squawk")
    assert proc.returncode == 1, proc.stdout
    assert f"{path}:3: [syntax] PostgreSQL's parser refuses this file: syntax error at or near \"TABEL\"" in proc.stdout


def test_citus_a_commented_out_distribution_does_not_count(tmp_path):
    folder = tmp_path / "citus"
    folder.mkdir()
    (folder / "fbs-target.json").write_text('{"target": "citus"}\n', "utf-8")
    table = ("CREATE TABLE x_{0} (tenant_id uuid NOT NULL, id uuid NOT NULL,\n"
             "    CONSTRAINT x_{0}_pkey PRIMARY KEY (tenant_id, id));\n")
    (folder / "1_t.sql").write_text(
        "DO $fbs_migration$\nBEGIN\n" + table.format("a") + "PERFORM create_distributed_table('x_a', 'tenant_id');\n"
        + table.format("b") + "-- PERFORM create_distributed_table('x_b', 'tenant_id');\n"
        "PERFORM 'not create_distributed_table(''x_b'')';\nEND\n$fbs_migration$;\n", "utf-8")
    found = [str(f) for f in lint.semantic(folder)]
    assert found == [f"{folder / '1_t.sql'}:1: [citus-distribution] table x_b is created but not distributed by "
                     "tenant_id in this file (create_distributed_table): Citus would keep it on the coordinator"]


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
