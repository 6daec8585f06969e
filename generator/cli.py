"""The command line: parse flags into a command's options (``generator.commands``), call the library,
print, and map errors to exit codes, in one place (``_exit``). No logic of its own. The flags are
declared in ``generator.flags``, what is shown while a command runs in ``generator.console``, and the
text of each result in ``generator.text``.

Start-up is part of the interface: this module imports click and nothing heavy; each command
imports ``generator.api`` / ``generator.commands`` (whose functions import their own stages) when it
runs, so ``--help`` and ``capture`` never load the renderer, jinja2 or psycopg."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import click

from generator import flags
from generator.console import Report, RunnerProgress, StderrProgress, echo, echo_steps, end_process, keeping, safe
from generator.errors import FbsError, UsageError

# The exit codes (README "Commands"); tests/test_flags.py checks this table against errors.py.
EXIT_CODES = (
    (0, "success"),
    (1, "a finding: generate --check out of date, lint, status, compare-odoo"),
    (2, "bad usage, rules file or config"),
    (3, "capture failed (Odoo unreachable, login refused, module not installed, ...)"),
    (4, "bad snapshot"),
    (5, "cannot render"),
    (6, "destructive change refused, or a possible rename to confirm"),
    (7, "migration refused or failed"),
    (8, "verify found differences, or import --check"),
    (130, "interrupted (Ctrl-C): what committed stays, the rest was rolled back"),
)
# Each command's own exit codes (its --help lists these): the codes of EXIT_CODES it can end with,
# and what 1 means for it where it has one
COMMAND_CODES = {
    "capture": (0, 2, 3, 4, 130), "generate": (0, 1, 2, 3, 4, 5, 6, 130), "plan": (0, 1, 2, 3, 4, 5, 6, 7, 130),
    "lint": (0, 1, 2, 4, 130), "diagram": (0, 2, 4, 5, 130), "compare-odoo": (0, 1, 2, 3, 4, 130),
    "migrate": (0, 2, 7, 130), "revert": (0, 2, 7, 130), "baseline": (0, 2, 7, 130), "status": (0, 1, 2, 7, 130),
    "verify": (0, 2, 4, 7, 8, 130), "solutions": (0, 1, 2, 7, 130), "setup": (0, 2, 4, 5, 7, 130),
    "import": (0, 2, 3, 4, 7, 8, 130),
}
ONE_MEANS = {
    "generate": "--check: the migrations folder is not up to date with the snapshot",
    "plan": "the plan holds a destructive change (each one is marked DESTRUCTIVE)",
    "lint": "a finding (semantic check, sqlfluff, squawk, or not up to date)",
    "compare-odoo": "an Odoo item is unexplained",
    "status": "a migration is changed on disk, failed, or missing on disk",
    "solutions": "a solution has drifted or cannot be reached",
}


def _exit(exc: FbsError):
    """The one place an error becomes an exit code: its class's (``EXIT_CODES`` above lists
    them). Said on standard error, unless the output already said it (a finding, failed solutions)."""
    if not exc.reported:
        click.echo(safe(f"fbs-schema: error: {exc}"), err=True)
    sys.exit(exc.exit_code)


def _exit_codes(formatter, command: str | None = None) -> None:
    codes = dict(EXIT_CODES)
    if command in COMMAND_CODES:
        codes = {c: ONE_MEANS.get(command, codes[c]) if c == 1 else codes[c] for c in COMMAND_CODES[command]}
    with formatter.section("Exit codes"):
        formatter.write_dl([(str(code), text) for code, text in codes.items()])


class _WithExitCodes(click.Command):
    """Every command's --help ends with its own exit codes; every error it raises ends in ``_exit``."""

    def format_epilog(self, ctx, formatter) -> None:
        super().format_epilog(ctx, formatter)
        _exit_codes(formatter, self.name)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FbsError as exc:
            _exit(exc)
        except KeyboardInterrupt:
            said = RunnerProgress.active.interrupted() if RunnerProgress.active else \
                "the transaction in progress was rolled back"
            click.echo(f"fbs-schema: interrupted: {said}", err=True)
            sys.exit(130)


class _Group(click.Group):
    command_class = _WithExitCodes

    def format_epilog(self, ctx, formatter) -> None:
        super().format_epilog(ctx, formatter)
        _exit_codes(formatter)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="fbs-schema")
def cli() -> None:
    """Turn Odoo model metadata into versioned, tenant-scoped PostgreSQL migrations.

    Pipeline: capture -> snapshot -> diff -> render -> migrations/ -> runner.
    """


@cli.command()
@flags.CAPTURE
def capture(source, scope, output, quiet):
    """Capture Odoo model metadata into a deterministic snapshot file.

    Exactly one source: a live Odoo over JSON-RPC, JSON-2 or XML-RPC (--odoo-url, --odoo-db,
    --odoo-user, password or API key from ODOO_PASSWORD), an Odoo database (--odoo-dsn), or a saved
    snapshot (--from-snapshot).
    """
    from generator import api

    progress = StderrProgress(quiet)
    result = api.capture(flags.source(source), flags.scope(scope), output=None if output == "-" else output,
                         progress=progress)
    if output == "-":
        click.echo(result.text, nl=False)
    else:
        progress.step(f"wrote {output} (sha256 {result.sha256[:12]})")


@cli.command()
@flags.GENERATE
def generate(snapshot_path, source, scope, folder, safety, quiet, solution):
    """Render the snapshot into versioned, tenant-scoped SQL migrations in migrations/.

    Diffs the snapshot against the one kept in migrations/ (fbs-snapshot.json) and writes only what
    changed: the whole schema the first time (one file per Odoo module, then the foreign keys), one
    migration after that. An unchanged snapshot writes nothing.

    With --solution NAME (or --all): the solution's selection of the source (default: the bundled
    snapshot), into its folder, with its rules and table prefix.
    """
    from generator import commands, text

    chosen = flags.solutions(solution, databases=False, replaced=flags.GENERATE_REPLACED)
    command = commands.GenerateCommand(
        source=flags.source(source, snapshot_path=snapshot_path), snapshot_path=snapshot_path,
        folder=commands.Folder(**{**folder, "timestamp": flags.timestamp(folder["timestamp"])}),
        scope=flags.scope(scope) if chosen is None else flags.scoping.Scope(), safety=commands.Safety(**safety))
    commands.generate(command, chosen, StderrProgress(quiet), keeping(text.generated), Report())


@cli.command()
@flags.PLAN
def plan(snapshot_path, migrations_dir, rules_path, renames_path, database_url, solution):
    """Show what `generate` would change, per table, and which operations are destructive (and why:
    a model that became an SQL view, a field that became company-dependent or is no longer stored,
    an Odoo upgrade). Writes nothing."""
    from generator import commands, text

    chosen = flags.solutions(solution, databases=False, replaced=flags.FOLDER_REPLACED)
    command = commands.PlanCommand(snapshot_path, migrations_dir, rules_path, renames_path, database_url)
    commands.generate(command, chosen, StderrProgress(), keeping(text.generated), Report())


@cli.command("lint")
@flags.LINT
def lint_command(migrations_dir, snapshot_path, rules_path, no_check, no_sqlfluff, no_squawk, no_cache, solution):
    """Lint migrations: the project's semantic checks, generate --check, sqlfluff and squawk.

    Semantic checks: tenant_id leads every primary key; every foreign key is tenant-scoped and has an
    index led by (tenant_id, col); no integer column references a uuid; identifiers fit 63 bytes; no
    CREATE INDEX without CONCURRENTLY on an existing table; no destructive statement without its marker.
    Exit 0 only when everything is clean.
    """
    from generator import commands, text

    chosen = flags.solutions(solution, databases=False, replaced=flags.FOLDER_REPLACED)
    command = commands.LintCommand(Path(migrations_dir), snapshot_path, rules_path, not no_check, not no_sqlfluff,
                                   not no_squawk, not no_cache)
    commands.lint(command, chosen, StderrProgress(), lambda result, folder: echo(text.lint(result, str(folder))),
                  Report())


@cli.command()
@flags.DIAGRAM
def diagram(snapshot_path, module, tables, changes_dir, columns, internal, rules_path, output, solution):
    """An entity-relationship diagram of the generated schema, as Mermaid (erDiagram).

    With --solution NAME: the solution's selection of the snapshot, with its rules and table prefix;
    with --all, one diagram after the other, each headed by a %% comment."""
    from generator import commands

    chosen = flags.solutions(solution, databases=False, replaced=(("rules_path", "--rules"),))
    command = commands.DiagramCommand(snapshot_path, module, flags.names(tables), changes_dir, columns, internal,
                                      rules_path)
    flags.write_output(output, commands.diagram(command, chosen))


@cli.command("compare-odoo")
@flags.COMPARE_ODOO
def compare_odoo(odoo_dsn, snapshot_path, migrations_dir, rules_path, as_json):
    """Prove fidelity to an Odoo database: compare its own tables with the generated schema.

    Every Odoo table, column, primary key, foreign key, UNIQUE and CHECK constraint and unique index
    is either in the generated schema (the same, or changed by a named rule such as id-uuid or
    tenant-foreign-key) or left out for a named reason (transient, outside-selection, ...). Anything
    else is unexplained and listed one per line. Exit 0 when nothing is unexplained, 1 otherwise.
    """
    from generator import api, commands, text

    result = api.compare_odoo(odoo_dsn, snapshot_path=snapshot_path,
                              migrations_dir=Path(migrations_dir) if migrations_dir else None, rules_path=rules_path,
                              progress=StderrProgress(quiet=as_json))
    echo([json.dumps(text.comparison_json(result), indent=1)] if as_json else text.comparison(result))
    commands.compare_verdict(result)


@cli.command("import")
@flags.IMPORT
def import_command(odoo_dsn, tenant, database_url, migrations_dir, solution_name, config_path, check, on_invalid,
                   skipped_path, jobs, wait_for_lock, as_json, quiet):
    """Load an Odoo database's rows into the migrated target database, for one tenant.

    Every table of the schema gets its Odoo rows: ids become uuids computed from (tenant, Odoo table,
    id), so every many2one, many2many end and res_model/res_id pair is converted from the row alone;
    company-dependent values land in the per-company tables. Rows stream through binary COPY, one
    transaction per table; foreign keys are set aside for the load and put back validated. An import
    ledger (_fbs_import) makes a second run load only what changed in Odoo (nothing: it says so), and
    an interrupted run complete. The target must be migrated to the folder's snapshot (exit 7
    otherwise); the Odoo database must be the series and modules of that snapshot (exit 3).
    """
    from generator import api, commands, text

    solution = flags.one_solution(solution_name, config_path)
    if skipped_path and on_invalid != "skip":
        raise UsageError("--skipped goes with --on-invalid skip")
    options = api.import_options(solution, odoo_dsn=odoo_dsn or "", tenant=tenant, database_url=database_url,
                                 migrations_dir=Path(migrations_dir), check=check, on_invalid=on_invalid,
                                 skipped_path=Path(skipped_path) if skipped_path else None, jobs=jobs,
                                 wait_for_lock=wait_for_lock)
    result = api.import_rows(options, StderrProgress(quiet or as_json))
    echo([json.dumps(text.import_json(result), indent=1)] if as_json else text.imported(result))
    commands.import_verdict(result)


def _run_steps(action: str, empty: str, database_url, migrations_dir, settings, solution) -> None:
    """migrate or revert (``action``, the library function's name), from the flags or for each solution."""
    from generator import api, commands

    command = commands.RunCommand(database_url, migrations_dir, settings)
    command.check()
    chosen = flags.solutions(solution, databases=True, replaced=flags.RUNNER_REPLACED, refused=flags.TARGET_REFUSED)

    def one(_, options) -> None:
        progress = RunnerProgress()
        echo_steps(getattr(api, action)(options, progress), empty, progress.printed)

    commands.run(command, chosen, one, Report())


@cli.command()
@flags.MIGRATE
def migrate(database_url, migrations_dir, settings, solution):
    """Apply pending migrations in version order, each in one transaction with its ledger row.

    The ledger is sqlx's _sqlx_migrations table (same rows, same SHA-384 checksums), so `sqlx migrate run`
    and this command can take turns. Refuses to run when an applied file was edited or is missing, or a
    ledger row is marked failed.
    """
    _run_steps("migrate", "nothing to apply: the database is up to date", database_url, migrations_dir, settings,
               solution)


@cli.command()
@flags.REVERT
def revert(database_url, migrations_dir, settings, solution):
    """Run .down.sql files newest first, deleting each ledger row in the same transaction."""
    _run_steps("revert", "nothing to revert", database_url, migrations_dir, settings, solution)


@cli.command()
@flags.BASELINE
def baseline(database_url, migrations_dir, settings, solution):
    """Record ledger rows for migrations applied by hand (psql), after verifying the schema matches."""
    from generator import api, commands

    chosen = flags.solutions(solution, databases=True, replaced=flags.RUNNER_REPLACED, refused=flags.TARGET_REFUSED)
    commands.run(commands.RunCommand(database_url, migrations_dir, settings), chosen,
                 lambda _, options: echo_steps(api.baseline(options, StderrProgress()), "nothing to record"), Report())


def _each_json(solution, as_json: bool, command, work, as_dict, verdict) -> None:
    """status, verify: ``work(options)`` once or for each solution, then its verdict; with --json, one
    document (by solution name with --solution / --all), written even when a solution failed."""
    from generator import commands

    chosen = flags.solutions(solution, databases=True, replaced=flags.RUNNER_REPLACED, refused=flags.TARGET_REFUSED)
    found: dict = {}

    def one(solution, options) -> None:
        found[solution.name if solution else ""] = result = work(options)
        if as_json and solution is None:
            click.echo(json.dumps(as_dict(result), indent=1))
        verdict(result)

    try:
        commands.run(command, chosen, one, Report(headers=not as_json))
    finally:
        if as_json and chosen is not None:
            click.echo(json.dumps({name: as_dict(result) for name, result in found.items()}, indent=1))


@cli.command()
@flags.STATUS
def status(database_url, migrations_dir, ignore_missing, solution, as_json):
    """List each migration: applied (when, how long), pending, changed on disk, missing on disk, failed.

    Exit 1 when a migration is changed on disk, failed, or missing on disk (unless --ignore-missing).
    """
    from generator import api, commands, text

    def work(options):
        rows = api.status(options)
        echo([] if as_json else text.status(rows))
        return rows

    _each_json(solution, as_json, commands.RunCommand(database_url, migrations_dir, {"ignore_missing": ignore_missing}),
               work, lambda rows: [dataclasses.asdict(r) for r in rows],
               lambda rows: commands.status_verdict(rows, ignore_missing))


@cli.command()
@flags.VERIFY
def verify(database_url, migrations_dir, solution, as_json, quiet):
    """Compare the live database with the snapshot the migrations were made from.

    Lists every missing, different or unexpected table, column (type, nullability), constraint, index and
    row-level security policy. Exit 0 only when they match: the health check to run after deploys.
    """
    from generator import api, commands, text

    def work(options):
        differences = api.verify(options, StderrProgress(quiet))
        echo([] if as_json else text.verify(differences))
        return differences

    _each_json(solution, as_json, commands.RunCommand(database_url, migrations_dir), work, text.verify_json,
               commands.verify_verdict)


@cli.command("solutions")
@flags.SOLUTIONS
def solutions_command(config_path, as_json):
    """List the solutions of the project config: selection, target, where each lives, whether its
    database answers, and how many migrations are applied, pending or drifted (changed or missing on
    disk, failed). Exit 1 when one has drifted or cannot be reached."""
    from generator import api, commands, text

    states = api.solutions(api.load_solutions(config_path, None, True, databases=True))
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(s) for s in states], indent=1))
    else:
        echo(text.solutions(states))
        echo(text.Err(safe(f"{s.name}: {s.problem}")) for s in states if s.problem)
    commands.solutions_verdict(states)


@cli.command()
@flags.SETUP
def setup(name, config_path, wait_for_lock, timestamp):
    """Set up solution NAME from nothing: create its database when missing (and its schema, when it
    has one), generate its migrations from its selection of the bundled snapshot when its folder
    holds none, apply every pending one and record each in its ledger. Idempotent: a second run
    does nothing and says so."""
    from generator import api, text

    stamp = flags.timestamp(timestamp)
    (solution,) = api.load_solutions(config_path, name, False, databases=True)
    result = api.setup(solution, StderrProgress(), wait_for_lock=wait_for_lock, timestamp=stamp)
    echo(text.setup(result, solution))


def main() -> None:
    end_process(lambda: cli(prog_name="fbs-schema"))


if __name__ == "__main__":
    main()
