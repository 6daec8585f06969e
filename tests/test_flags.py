"""Every flag does what it says (issue "every flag does what it says"): source precedence, the rules
file declared once and checked, usage mistakes are exit 2 in one line, the lint's up-to-date check
against the folder's own snapshot, files written with the user's umask. CLI tests go through click's
test runner (no subprocess needed) unless the process itself is the point."""

from __future__ import annotations

import re

import os
import shutil
import stat

import pytest
from click.testing import CliRunner

from generator import api
from generator.cli import cli

BUNDLED = str(api.BUNDLED_SNAPSHOT)


def run(*args: str, env: dict | None = None):
    env = {"ODOO_BASE_URL": None, "ODOO_DSN": None, "ODOO_PASSWORD": None, **(env or {})}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


# -- 1. a flag beats the environment; two typed sources are a usage error -------------------------

def test_typed_snapshot_beats_a_url_in_the_environment(tmp_path):
    result = run("generate", "--snapshot", BUNDLED, "--dry-run", "--migrations", str(tmp_path / "m"), "-q",
                 env={"ODOO_BASE_URL": "http://127.0.0.1:1"})
    assert result.exit_code == 0, result.output
    assert "would write" in result.output


def test_typed_url_beats_a_dsn_in_the_environment():
    result = run("capture", "--odoo-url", "http://127.0.0.1:1", "--odoo-db", "d", "--odoo-user", "u", "-q",
                 env={"ODOO_DSN": "postgresql://x@127.0.0.1:1/x", "ODOO_PASSWORD": "p"})
    assert result.exit_code == 3 and "Odoo at http://127.0.0.1:1" in result.output, result.output
    assert "127.0.0.1 port=1" not in result.output  # the DSN was not tried


def test_two_typed_sources_are_a_usage_error(tmp_path):
    result = run("capture", "--from-snapshot", BUNDLED, "--odoo-dsn", "postgresql://x@127.0.0.1:1/x",
                 "--modules", "sale", "-o", str(tmp_path / "two.json"))
    assert result.exit_code == 2 and "give one source, not --odoo-dsn and --from-snapshot" in result.output
    assert not (tmp_path / "two.json").exists()


def test_two_sources_in_the_environment_are_a_usage_error():
    result = run("capture", env={"ODOO_BASE_URL": "http://127.0.0.1:1", "ODOO_DSN": "postgresql://x@127.0.0.1:1/x"})
    assert result.exit_code == 2 and "both ODOO_BASE_URL and ODOO_DSN are set" in result.output


# -- 3, 4, 5. the rules file: unknown keys, wrong types, values that do not fit the column ---------

RULES = {
    "index[0].knd: unknown key (did you mean 'kind'?); known: fields, kind, model, where":
        '[[index]]\nmodel = "sale.order"\nfields = ["name"]\nknd = "trigram"\n',
    "2 problems:\n  - index[0].where.feild: unknown key (did you mean 'field'?); known: field, in, not_null\n"
    "  - index[0].where: missing key 'field'":
        '[[index]]\nmodel = "sale.order"\nfields = ["name"]\nwhere = { feild = "state", in = ["sale"] }\n',
    "migration.lock_timout: unknown key (did you mean 'lock_timeout'?); known: lock_budget, lock_timeout, statement_timeout": '[migration]\nlock_timout = "5s"\n',
    "tenant.settng: unknown key (did you mean 'setting'?); known: setting": '[tenant]\nsettng = "app.x"\n',
    "tenant: expected a table, got 'app.org_id'": 'tenant = "app.org_id"\n',
    "index: expected an array": '[index]\nmodel = "sale.order"\nfields = ["name"]\n',
    "check[0].min: expected a number, got 'zero'":
        '[[check]]\nmodel = "sale.order.line"\nfield = "price_unit"\nmin = "zero"\n',
    "check[0]: min/max need a number column; sale.order.name is character varying":
        '[[check]]\nmodel = "sale.order"\nfield = "name"\nmin = 1\n',
    "check[0].in: 'x' is not a value of sale.order.line.price_unit (numeric)":
        '[[check]]\nmodel = "sale.order.line"\nfield = "price_unit"\nin = ["x"]\n',
    "default[0].value: 'soon' is not a value of res.company.po_lead (numeric)":
        '[[default]]\nmodel = "res.company"\nfield = "po_lead"\nvalue = "soon"\n',
    "record_id[0].uuid: expected true or false, got 'no'":
        '[[record_id]]\nmodel = "mail.alias"\nfield = "alias_force_thread_id"\nuuid = "no"\n',
}


@pytest.mark.parametrize("expected", sorted(RULES))
def test_rules_file_mistakes_are_refused_naming_the_key(expected, tmp_path):
    rules = tmp_path / "fbs-schema.toml"
    rules.write_text(RULES[expected], "utf-8")
    result = run("generate", "--dry-run", "--migrations", str(tmp_path / "m"), "--rules", str(rules), "-q")
    assert result.exit_code == 2, result.output
    assert f"fbs-schema: error: {rules}: {expected}" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 + expected.count("\n") and "Traceback" not in result.output


def test_rename_hints_are_checked_the_same_way(tmp_path):
    hints = tmp_path / "fbs-renames.toml"
    hints.write_text('[[field]]\nmodel = "sale.order"\nold = "a"\nnwe = "b"\n', "utf-8")
    result = run("generate", "--dry-run", "--migrations", str(tmp_path / "m"), "--renames", str(hints), "-q")
    assert result.exit_code == 2 and "field[0].nwe: unknown key (did you mean 'new'?); known: model, new, old" \
        in result.output and "field[0]: missing key 'new'" in result.output  # every problem, not the first


# -- 7. lint checks a folder against its own kept snapshot -----------------------------------------

def test_lint_of_a_project_with_its_own_snapshot_uses_the_kept_one(tmp_path):
    from generator.capture import scope
    from generator import snapshot as snapshots
    from tests.support import versions
    from tests.support.migrations import generate

    own = scope.select(versions.catalog("17.0"), scope.Scope(modules=("uom",)))
    folder = tmp_path / "m"
    generate(own, folder)
    result = run("lint", "--migrations", str(folder), "--no-sqlfluff", "--no-squawk")
    assert result.exit_code == 0 and "lint clean" in result.output, result.output
    # a rules change the folder has not taken yet is "not up to date"
    rules = tmp_path / "rules.toml"
    rules.write_text('[[index]]\nmodel = "uom.uom"\nfields = ["name"]\n', "utf-8")
    result = run("lint", "--migrations", str(folder), "--no-sqlfluff", "--no-squawk", "--rules", str(rules))
    assert result.exit_code == 1 and "[up-to-date] not up to date" in result.output, result.output
    # against the bundled snapshot it is (rightly) out of date
    result = run("lint", "--migrations", str(folder), "--no-sqlfluff", "--no-squawk", "--snapshot", BUNDLED)
    assert result.exit_code == 1
    assert snapshots.load(folder / api.KEPT_SNAPSHOT) == own


# -- 9, 10. options that must mean something; usage mistakes are exit 2 on one line ----------------

@pytest.mark.parametrize("args, needle", [
    (("--modules", ""), "--modules is empty"),
    (("--reference-depth", "2"), "--reference-depth goes with --with-references"),
    (("--modules", "sale", "--preset", "sales"), "give either --modules or --preset, not both"),
])
def test_usage_mistakes_are_exit_2(args, needle, tmp_path):
    result = run("capture", "--from-snapshot", BUNDLED, *args, "-o", str(tmp_path / "x.json"))
    assert result.exit_code == 2 and needle in result.output, result.output


def test_connection_errors_are_one_line():
    result = run("capture", "--odoo-dsn", "postgresql://x@127.0.0.1:1/x", "-q")
    assert result.exit_code == 3
    errors = [line for line in result.output.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("fbs-schema: error: cannot connect"), result.output


def test_json_error_reads_well(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": 1, "x": "unterminated', "utf-8")
    result = run("generate", "--snapshot", str(bad), "--dry-run", "--migrations", str(tmp_path / "m"))
    assert result.exit_code == 4 and "starting at (line 1, column" in result.output, result.output
    assert "at at" not in result.output


def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        result = run("generate", "--migrations", str(tmp_path / "m"), "-q")
        assert result.exit_code == 0, result.output
        capture = run("capture", "--from-snapshot", BUNDLED, "-o", str(tmp_path / "s.json"), "-q")
        assert capture.exit_code == 0
    finally:
        os.umask(old)
    for path in [*(tmp_path / "m").iterdir(), tmp_path / "s.json"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_migrate_prints_each_migration_once(tmp_path, db):
    folder = tmp_path / "m"
    shutil.copytree(api.PROJECT_ROOT / "migrations", folder)
    result = CliRunner().invoke(cli, ["migrate", "--database-url", db, "--migrations", str(folder)])
    assert result.exit_code == 0, result.output
    first = sorted(folder.glob("*.sql"))[0].name.split("_")[0]
    assert sum(1 for line in result.output.splitlines() if line.startswith(f"applied {first}")) == 1


# -- 6, 8. the README's examples are real -----------------------------------------------------------

def _readme_commands() -> list[list[str]]:
    import re
    import shlex

    out, in_block, joined = [], False, ""
    pages = [api.PROJECT_ROOT / "README.md", *sorted((api.PROJECT_ROOT / "docs").glob("*.md"))]
    for raw in "\n".join(p.read_text("utf-8") for p in pages).splitlines():
        if raw.startswith("```"):
            in_block = not in_block
            continue
        if not in_block:
            continue
        line = re.split(r"\s+#", raw)[0].strip()
        if line.endswith("\\"):  # a continued line
            joined += line[:-1] + " "
            continue
        line, joined = (joined + line).strip(), ""
        for prefix in (".venv/bin/fbs-schema ", "fbs-schema "):
            if line.startswith(prefix) and "..." not in line and "|" not in line:
                words = shlex.split(line[len(prefix):])
                out.append([w for w in words if not (w.startswith("[") or w.endswith("]"))])
    return out


def test_every_readme_command_parses_with_its_options():
    """Each `fbs-schema ...` line of the README's examples names a command and options that exist
    (parsed by the CLI itself, nothing run); a --target-version names a committed migration."""
    commands = _readme_commands()
    assert len(commands) > 15
    versions = {p.name.split("_")[0] for p in (api.PROJECT_ROOT / "migrations").glob("*.sql")}
    for words in commands:
        name, args = words[0], words[1:]
        command = cli.get_command(None, name)
        assert command is not None, words
        ctx = command.make_context(name, [a.replace("$", "") for a in args], resilient_parsing=False)
        assert ctx is not None
        if "--target-version" in args:
            value = args[args.index("--target-version") + 1]
            assert value in versions or value in ("0", "V"), f"README: --target-version {value} names no migration"


def test_psql_apply_script_stops_with_an_error_at_the_first_failing_file(tmp_path, db):
    import subprocess

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "1_ok.sql").write_text("CREATE TABLE t1 (id int);\n")
    (folder / "2_bad.sql").write_text("CREATE TABLE t2 (id int);\nSELECT * FROM no_such_table;\n")
    (folder / "3_never.sql").write_text("CREATE TABLE t3 (id int);\n")
    script = api.PROJECT_ROOT / "scripts" / "psql-apply.sh"
    proc = subprocess.run(["sh", str(script), str(folder), db], capture_output=True, text=True)
    assert proc.returncode != 0 and "failed: 2_bad.sql" in proc.stderr
    import psycopg

    with psycopg.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables == {"t1"}  # the failing file left nothing, the next never ran
    good = tmp_path / "good"
    shutil.copytree(api.PROJECT_ROOT / "migrations", good)
    import tests.support.pg as pg

    with pg.fresh_database() as fresh:
        ok = subprocess.run(["sh", str(script), str(good), fresh], capture_output=True, text=True)
        assert ok.returncode == 0, ok.stderr


def test_every_help_lists_the_exit_codes_that_errors_use():
    from generator import cli as cli_mod, errors

    codes = dict(cli_mod.EXIT_CODES)
    for cls in (errors.UsageError, errors.CaptureError, errors.SnapshotError, errors.RenderError,
                errors.PossibleRename, errors.DestructiveChange, errors.MigrationError, errors.Interrupted):
        assert cls.exit_code in codes, cls
    assert codes[errors.UsageError.exit_code].startswith("bad usage")
    assert codes[errors.MigrationError.exit_code].startswith("migration")
    result = CliRunner().invoke(cli, ["--help"])
    assert re.search(r"\n  8 +verify found differences", result.output)
    assert set(cli_mod.COMMAND_CODES) == set(cli.commands)  # every command says its own
    for name, own in cli_mod.COMMAND_CODES.items():
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "Exit codes:" in result.output, name
        listed = [int(m) for m in re.findall(r"\n  (\d+) ", result.output.split("Exit codes:")[1])]
        assert listed == list(own), (name, listed)
    plan_help = CliRunner().invoke(cli, ["plan", "--help"]).output
    assert "1    the plan holds a destructive change" in plan_help
    readme = " ".join((api.PROJECT_ROOT / "README.md").read_text("utf-8").split())
    assert ("Exit codes: 0 success, 1 `generate --check` found pending changes, 2 bad usage or rules file, "
            "3 capture failed") in readme


def _committed(tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(api.PROJECT_ROOT / "migrations", folder)
    return folder, sorted(p.name.split("_")[0] for p in folder.glob("*.sql"))


def test_unknown_target_version_is_an_error(tmp_path, db):
    folder, _ = _committed(tmp_path)
    for command in ("migrate", "baseline", "revert"):
        result = CliRunner().invoke(cli, [command, "--database-url", db, "--migrations", str(folder),
                                          "--target-version", "20261121215925"])
        assert result.exit_code == 2, (command, result.output)  # bad usage, before any work
        assert "--target-version 20261121215925 is not the version of a migration" in result.output


def test_baseline_up_to_a_version_after_a_partial_psql_apply(tmp_path, db):
    import subprocess

    folder, versions = _committed(tmp_path)
    partial = tmp_path / "partial"
    partial.mkdir()
    for p in sorted(folder.glob("*.sql"))[:3]:
        shutil.copy(p, partial / p.name)
    assert subprocess.run(["sh", str(api.PROJECT_ROOT / "scripts" / "psql-apply.sh"), str(partial), db],
                          capture_output=True).returncode == 0
    again = CliRunner().invoke(cli, ["migrate", "--database-url", db, "--migrations", str(folder)])
    assert again.exit_code == 7 and "record them with `fbs-schema baseline`" in again.output, again.output
    recorded = CliRunner().invoke(cli, ["baseline", "--database-url", db, "--migrations", str(folder),
                                        "--target-version", versions[2]])
    assert recorded.exit_code == 0, recorded.output
    assert [line.split()[1] for line in recorded.output.splitlines() if line.startswith("recorded")] == versions[:3]
    rest = CliRunner().invoke(cli, ["migrate", "--database-url", db, "--migrations", str(folder)])
    assert rest.exit_code == 0, rest.output
    assert CliRunner().invoke(cli, ["verify", "--database-url", db, "--migrations", str(folder), "-q"]).exit_code == 0


def test_status_ignore_missing_and_no_lock_options_where_no_lock_is_taken(tmp_path, db):
    folder, versions = _committed(tmp_path)
    assert CliRunner().invoke(cli, ["migrate", "--database-url", db, "--migrations", str(folder)]).exit_code == 0
    newest = sorted(folder.glob("*.sql"))[-1]
    newest.unlink()
    plain = CliRunner().invoke(cli, ["status", "--database-url", db, "--migrations", str(folder)])
    assert plain.exit_code == 1 and "missing on disk" in plain.output
    ignoring = CliRunner().invoke(cli, ["status", "--database-url", db, "--migrations", str(folder), "--ignore-missing"])
    assert ignoring.exit_code == 0, ignoring.output
    for command in ("status", "verify"):
        result = CliRunner().invoke(cli, [command, "--wait-for-lock", "1"])
        assert result.exit_code == 2 and "No such option '--wait-for-lock'" in result.output


def test_generate_refuses_a_misnamed_migration_file_instead_of_skipping_it(tmp_path):
    folder, _ = _committed(tmp_path)
    (folder / "v2_fix.sql").write_text("SELECT 1;\n", "utf-8")  # not <integer>_<description>
    result = run("generate", "--migrations", str(folder), "-q")
    assert result.exit_code == 7 and "version 'v2' is not an integer (sqlx would refuse the whole folder)" in result.output


def test_progress_steps_stay_out_of_ci_logs_and_notices_do_not(tmp_path, monkeypatch, capsys):
    """Steps show on a terminal and in local logs, not with -q nor in a CI log; notices (a wait, a
    retry, a skipped check) always."""
    from generator.cli import StderrProgress

    for ci, quiet, shown in (("", False, True), ("true", False, False), ("", True, False)):
        monkeypatch.setenv("CI", ci)
        progress = StderrProgress(quiet)
        progress.step("a step")
        progress.notice("a notice")
        err = capsys.readouterr().err
        assert ("a step" in err) == shown and "a notice" in err, (ci, quiet, err)


@pytest.mark.parametrize("args, needle", [
    (("--lock-timeout", "banana"), "--lock-timeout: 'banana' is not a duration"),
    (("--statement-timeout", "99999999s"), "--statement-timeout: '99999999s' is longer than PostgreSQL's longest"),
    (("--database-url", "postgresql://u:p%zz@h/db"), "is not a PostgreSQL connection string"),
], ids=["lock timeout", "statement timeout", "database url"])
def test_bad_usage_is_exit_2_before_any_work(args, needle, tmp_path):
    """Even with nothing to apply (an empty folder) and no server reachable, a value the user typed
    wrong is exit 2 naming it, not a failure later (or never)."""
    for command in ("migrate", "revert"):
        extra = args if "--database-url" in args else ("--database-url", "postgresql://postgres@127.0.0.1:1/x", *args)
        result = CliRunner().invoke(cli, [command, "--migrations", str(tmp_path), *extra])
        assert result.exit_code == 2 and needle in result.output, (command, result.output)
        assert "p%zz" not in result.output


@pytest.mark.parametrize("command", ["generate", "migrate", "revert", "status", "verify", "baseline", "plan", "lint",
                                     "diagram"])
def test_config_without_a_solution_is_a_usage_error(tmp_path, command):
    """--config alone names no solution: refused before anything is read or touched (status and
    verify used to ignore it and run on the flags)."""
    config = tmp_path / "fbs-solutions.toml"
    config.write_text("", "utf-8")
    result = run(command, "--config", str(config), env={"DATABASE_URL": "postgresql://x@127.0.0.1:1/x"})
    assert result.exit_code == 2, result.output
    assert "--config goes with --solution NAME or --all" in result.output
