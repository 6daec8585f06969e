"""The command line: parse options, call one ``generator.api`` function, print, map errors to
exit codes. No logic of its own.

Start-up is part of the interface: this module imports click and nothing heavy; each command
imports ``generator.api`` (whose functions import their own stages) when it runs, so ``--help``
and ``capture`` never load the renderer, jinja2 or psycopg."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from datetime import datetime
from pathlib import Path

import click

from generator.capture import scope as scoping
from generator.errors import FbsError, UsageError
from generator.target import TARGETS as TARGET_NAMES


def _safe(text: str) -> str:
    """Every message goes out through here: any password of the command line or the environment, in
    any connection string form, is replaced by *** (the library redacts too; this is the last guard)."""
    from generator.dsn import hide, secrets_in

    return hide(text, secrets_in(sys.argv[1:], dict(os.environ)))


def quiet_option(fn):
    """``-q/--quiet`` for a command whose function takes no ``quiet`` parameter: the flag is kept in the
    click context, where StderrProgress reads it."""
    def remember(ctx, param, value):
        ctx.meta["fbs.quiet"] = value
        return value

    return click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=remember,
                        help="No progress messages on standard error (notices and errors still show).")(fn)


def _quiet_flag() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.meta.get("fbs.quiet"))


class StderrProgress:
    """Progress on standard error: steps on a terminal (and in any log outside CI), never with -q
    nor in a CI log (CI set, standard error not a terminal); notices always."""

    def __init__(self, quiet: bool = False):
        quiet = quiet or _quiet_flag()
        self.quiet = quiet
        self.steps = not quiet and (sys.stderr.isatty() or not os.environ.get("CI"))

    def step(self, message: str) -> None:
        if self.steps:
            click.echo(_safe(f"fbs-schema: {message}"), err=True)

    def notice(self, message: str) -> None:
        click.echo(_safe(f"fbs-schema: {message}"), err=True)


def _run(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except FbsError as exc:
        click.echo(_safe(f"fbs-schema: error: {exc}"), err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        said = RunnerProgress.active.interrupted() if RunnerProgress.active else "the transaction in progress was rolled back"
        click.echo(f"fbs-schema: interrupted: {said}", err=True)
        sys.exit(130)


def _decorate(fn, options):
    for option in reversed(options):
        fn = option(fn)
    return fn


def _raise_usage(message: str):
    _run(_raise, UsageError(message))


solution_options = [
    click.option("--solution", "solution_name", metavar="NAME",
                 help="Work on this solution of the project config ([solution.NAME] in fbs-schema.toml): its "
                      "selection, migrations folder, database, schema or prefix, and rules."),
    click.option("--all", "all_solutions", is_flag=True, help="Work on every solution of the project config, one "
                                                              "after the other (a failure in one does not stop the others)."),
    click.option("--config", "config_path", type=click.Path(dir_okay=False),
                 help="The project config with the [solution.NAME] sections (default: ./fbs-schema.toml)."),
]


def with_solution_options(fn):
    return _decorate(fn, solution_options)


def _solutions(solution_name, all_solutions, config_path, *, databases: bool, replaced=(), refused=()):
    """The solutions --solution / --all name (None when neither is given), the config checked whole
    and, for commands that touch databases, every chosen solution's URL variable set: all before
    anything is touched (exit 2 naming the key). ``replaced``: options a solution provides, refused
    when typed with it; ``refused``: options that make no sense for several solutions."""
    from generator import api

    ctx = click.get_current_context()
    if not solution_name and not all_solutions:
        if config_path:
            _raise_usage("--config goes with --solution NAME or --all")
        return None
    typed = lambda name: ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE  # noqa: E731
    for name, flag in replaced:
        if typed(name):
            _raise_usage(f"{flag} comes from the solution's config; leave it out with --solution / --all")
    for name, flag in refused:
        if all_solutions and typed(name):
            _raise_usage(f"{flag} names one solution's migration; use it with --solution NAME, not --all")
    return _run(api.load_solutions, config_path, solution_name, all_solutions, databases=databases)


def _each(chosen, fn, headers: bool = True) -> int:
    """Run ``fn(solution)`` for each solution under a header; a failure is reported and the others
    still run. Returns the highest exit code (0 when every one succeeded)."""
    worst = 0
    for solution in chosen:
        if len(chosen) > 1 and headers:
            click.echo(f"== {solution.name}")
        try:
            code = fn(solution) or 0
        except FbsError as exc:
            click.echo(_safe(f"fbs-schema: error: {solution.name}: {exc}"), err=True)
            code = exc.exit_code
        worst = max(worst, code)
    if len(chosen) > 1 and worst:
        click.echo(f"fbs-schema: some solutions failed (exit {worst})", err=True)
    return worst


def _modules(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(m.strip() for m in value.split(",") if m.strip())


source_options = [
    click.option("--odoo-url", envvar="ODOO_BASE_URL", show_envvar=True,
                 help="Base URL of a live Odoo, read over its RPC API (e.g. https://odoo.example.com)."),
    click.option("--odoo-db", envvar="ODOO_DATABASE", show_envvar=True, help="Odoo database name."),
    click.option("--odoo-user", envvar="ODOO_USER", show_envvar=True,
                 help="Odoo login. The password or API key is read only from ODOO_PASSWORD."),
    click.option("--protocol", envvar="ODOO_PROTOCOL", show_envvar=True, default="auto", show_default=True,
                 type=click.Choice(["auto", "jsonrpc", "json2", "xmlrpc"]),
                 help="How to talk to --odoo-url: auto = /jsonrpc, and Odoo 19's JSON-2 API (/json/2, API key in "
                      "ODOO_PASSWORD) for the metadata reads when the server is 19.0 or later; or force one."),
    click.option("--odoo-dsn", envvar="ODOO_DSN", show_envvar=True,
                 help="PostgreSQL DSN of an Odoo database; its ir_model* tables are read directly."),
    click.option("--from-snapshot", "from_snapshot", type=click.Path(),
                 help="Re-filter a saved snapshot file instead of reading Odoo."),
    click.option("--modules", help="Comma-separated module names to capture (default: every installed module)."),
    click.option("--preset", type=click.Choice(sorted(scoping.PRESETS)),
                 help="A named module selection: " + "; ".join(f"{k} = {', '.join(v)}" for k, v in sorted(scoping.PRESETS.items()))),
    click.option("--with-references", is_flag=True,
                 help="Pull in the models that the selected models' many2one/many2many fields point at."),
    click.option("--reference-depth", type=click.IntRange(min=0), default=1, show_default=True,
                 help="With --with-references: how many hops to follow (0 = until nothing new)."),
    click.option("--company-dependent", "company_dependent", multiple=True, metavar="MODEL.FIELD[,...]",
                 help="Odoo 17.0 only (its metadata cannot say which fields are company-dependent): treat these "
                      "fields as company-dependent besides the built-in list of Odoo's own modules. Repeatable."),
]


def with_source_options(fn):
    for option in reversed(source_options):
        fn = option(fn)
    return fn


def _field_names(values) -> tuple[tuple[str, str], ...]:
    out = []
    for value in values or ():
        for item in (v.strip() for v in value.split(",")):
            model, _, name = item.rpartition(".")
            if not item:
                continue
            if not model or not name:
                raise click.BadParameter(f"{item!r} is not MODEL.FIELD (e.g. res.partner.credit_limit)",
                                         param_hint="--company-dependent")
            out.append((model, name))
    return tuple(sorted(set(out)))


SOURCE_FLAGS = {"odoo_url": "--odoo-url", "odoo_dsn": "--odoo-dsn", "from_snapshot": "--from-snapshot",
                "snapshot_path": "--snapshot"}
SOURCE_ENV = {"odoo_url": "ODOO_BASE_URL", "odoo_dsn": "ODOO_DSN"}


def _chosen_source(values: dict[str, str | None]) -> str | None:
    """Which source to read: a flag typed on the command line beats the environment; two typed
    sources, or (with none typed) two set in the environment, are a usage error (exit 2)."""
    ctx = click.get_current_context()
    typed = [name for name, value in values.items()
             if value and ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE]
    if len(typed) > 1:
        _run(_raise, UsageError(f"give one source, not {' and '.join(SOURCE_FLAGS[n] for n in typed)}"))
    if typed:
        return typed[0]
    from_env = [name for name, value in values.items() if value and name in SOURCE_ENV]
    if len(from_env) > 1:
        _run(_raise, UsageError(f"both {' and '.join(SOURCE_ENV[n] for n in from_env)} are set: give the source "
                                "to read on the command line, or unset one"))
    return from_env[0] if from_env else None


def build_source(odoo_url, odoo_db, odoo_user, protocol, odoo_dsn, from_snapshot, company_dependent=(),
                 snapshot_path=None):
    """The ``api.Source`` the options name (see _chosen_source for which one)."""
    from generator import api

    extra = _field_names(company_dependent)
    values = {"odoo_url": odoo_url, "odoo_dsn": odoo_dsn, "from_snapshot": from_snapshot}
    if snapshot_path is not None:
        values["snapshot_path"] = snapshot_path
    chosen = _chosen_source(values)
    if chosen == "from_snapshot":
        return api.Source(snapshot_path=from_snapshot)
    if chosen == "odoo_dsn":
        return api.Source(dsn=odoo_dsn, company_dependent=extra)
    if chosen == "odoo_url":
        from generator.capture.transports import OdooConfig

        return api.Source(odoo=OdooConfig(url=odoo_url, database=odoo_db or "", user=odoo_user or "",
                                          password=os.environ.get("ODOO_PASSWORD", ""), protocol=protocol),
                          company_dependent=extra)
    return api.Source()  # nothing, or generate's own --snapshot


def build_scope(modules, preset, with_references, reference_depth) -> scoping.Scope:
    ctx = click.get_current_context()
    if ctx.get_parameter_source("reference_depth") == click.core.ParameterSource.COMMANDLINE and not with_references:
        _run(_raise, UsageError("--reference-depth goes with --with-references"))
    if modules is not None and not _modules(modules):
        _run(_raise, UsageError("--modules is empty; leave it out to take every installed module"))
    return scoping.Scope(modules=_modules(modules), preset=preset, with_references=with_references,
                         reference_depth=reference_depth)


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
    "capture": (0, 2, 3, 4, 130),
    "generate": (0, 1, 2, 3, 4, 5, 6, 130),
    "plan": (0, 1, 2, 3, 4, 5, 6, 7, 130),
    "lint": (0, 1, 2, 4, 130),
    "diagram": (0, 2, 4, 5, 130),
    "compare-odoo": (0, 1, 2, 3, 4, 130),
    "migrate": (0, 2, 7, 130),
    "revert": (0, 2, 7, 130),
    "baseline": (0, 2, 7, 130),
    "status": (0, 1, 2, 7, 130),
    "verify": (0, 2, 4, 7, 8, 130),
    "solutions": (0, 1, 2, 7, 130),
    "setup": (0, 2, 4, 5, 7, 130),
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


def _exit_codes(formatter, command: str | None = None) -> None:
    codes = dict(EXIT_CODES)
    if command in COMMAND_CODES:
        codes = {c: ONE_MEANS.get(command, codes[c]) if c == 1 else codes[c] for c in COMMAND_CODES[command]}
    with formatter.section("Exit codes"):
        formatter.write_dl([(str(code), text) for code, text in codes.items()])


class _WithExitCodes(click.Command):
    """Every command's --help ends with its own exit codes."""

    def format_epilog(self, ctx, formatter) -> None:
        super().format_epilog(ctx, formatter)
        _exit_codes(formatter, self.name)


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
@with_source_options
@click.option("-o", "--output", default="-", show_default=True,
              help="Where to write the snapshot JSON ('-' = standard output). A regular file is replaced atomically; "
                   "a device or a FIFO is written in place.")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages on standard error.")
def capture(odoo_url, odoo_db, odoo_user, protocol, odoo_dsn, from_snapshot, modules, preset, with_references,
            reference_depth, company_dependent, output, quiet):
    """Capture Odoo model metadata into a deterministic snapshot file.

    Exactly one source: a live Odoo over JSON-RPC, JSON-2 or XML-RPC (--odoo-url, --odoo-db,
    --odoo-user, password or API key from ODOO_PASSWORD), an Odoo database (--odoo-dsn), or a saved
    snapshot (--from-snapshot).
    """
    from generator import api

    source = build_source(odoo_url, odoo_db, odoo_user, protocol, odoo_dsn, from_snapshot, company_dependent)
    scope = build_scope(modules, preset, with_references, reference_depth)
    progress = StderrProgress(quiet)
    result = _run(api.capture, source, scope, output=None if output == "-" else output, progress=progress)
    if output == "-":
        click.echo(result.text, nl=False)
    else:
        progress.step(f"wrote {output} (sha256 {result.sha256[:12]})")


@cli.command()
@click.option("--snapshot", "snapshot_path", type=click.Path(),
              help="Snapshot to generate from (default: the bundled Odoo 17.0 sales-inventory snapshot, "
                   "unless a capture source below is given).")
@with_source_options
@click.option("--migrations", "migrations_dir", default="migrations", show_default=True,
              type=click.Path(file_okay=False), help="Folder of migrations; it also keeps the snapshot they came from.")
@click.option("--rules", "rules_path", type=click.Path(dir_okay=False),
              help="Per-project rules file with extra indexes and CHECKs (default: ./fbs-schema.toml if present).")
@click.option("--timestamp", help="Version of the first new file, YYYYMMDDHHMMSS (default: now, UTC; "
                                  "or SOURCE_DATE_EPOCH). Later files count up one second each.")
@click.option("--allow-destructive", is_flag=True,
              help="Emit operations that lose data (drop table/column, narrowing type, removed selection values).")
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@click.option("--check", is_flag=True, help="Exit 1 when migrations/ is not up to date with the snapshot (for CI).")
@click.option("--renames", "renames_path", type=click.Path(dir_okay=False),
              help="Rename hints (default: ./fbs-renames.toml if present): renamed models and fields keep their data.")
@click.option("--reversible", is_flag=True, help="Write <version>_<name>.up.sql / .down.sql pairs.")
@click.option("--target", "target", type=click.Choice(list(TARGET_NAMES)),
              help="Database the SQL is written for (default: the one kept in the folder's fbs-target.json, "
                   "else postgres). citus: every table distributed by tenant_id; yugabyte: hash-sharded keys "
                   "(from its docs, not run here). A folder keeps its target: changing it is refused.")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages on standard error.")
@click.option("--database-url", hidden=True, default=None)
@click.option("--destructive-exit", hidden=True, is_flag=True)  # plan's: exit 1 when the plan is destructive
@with_solution_options
def generate(snapshot_path, odoo_url, odoo_db, odoo_user, protocol, odoo_dsn, from_snapshot, modules, preset,
             with_references, reference_depth, company_dependent, migrations_dir, rules_path, timestamp,
             allow_destructive, dry_run, check, renames_path, reversible, target, quiet, database_url,
             destructive_exit, solution_name, all_solutions, config_path):
    """Render the snapshot into versioned, tenant-scoped SQL migrations in migrations/.

    Diffs the snapshot against the one kept in migrations/ (fbs-snapshot.json) and writes only what
    changed: the whole schema the first time (one file per Odoo module, then the foreign keys), one
    migration after that. An unchanged snapshot writes nothing.

    With --solution NAME (or --all): the solution's selection of the source (default: the bundled
    snapshot), into its folder, with its rules and table prefix.
    """
    from generator import api

    progress = StderrProgress(quiet)
    chosen = _solutions(solution_name, all_solutions, config_path, databases=False,
                        replaced=(("migrations_dir", "--migrations"), ("modules", "--modules"), ("preset", "--preset"),
                                  ("with_references", "--with-references"), ("reference_depth", "--reference-depth"),
                                  ("rules_path", "--rules")))
    source = build_source(odoo_url, odoo_db, odoo_user, protocol, odoo_dsn, from_snapshot, company_dependent,
                          snapshot_path=snapshot_path)
    stamp = None
    if timestamp:
        try:
            stamp = datetime.strptime(timestamp, "%Y%m%d%H%M%S")
        except ValueError:
            _run(_raise, UsageError(f"--timestamp {timestamp!r} is not YYYYMMDDHHMMSS"))
    options = api.GenerateOptions(Path(migrations_dir), rules_path, stamp, allow_destructive, dry_run, check,
                                  renames_path, reversible, target=target)
    if chosen is None:
        scope = build_scope(modules, preset, with_references, reference_depth)
        new = _run(api.load_new_snapshot, source, scope, snapshot_path, progress)
        result = _run(api.generate, new, options, progress)
        sys.exit(_report_generate(result, new, migrations_dir, dry_run, database_url, destructive_exit=destructive_exit))

    def one(solution):
        new = api.solution_snapshot(solution, source, progress, snapshot_path)
        result = api.generate(new, api.solution_generate_options(solution, options), progress)
        return _report_generate(result, new, str(solution.migrations_dir), dry_run, database_url, solution.placement,
                                destructive_exit)

    sys.exit(_each(chosen, one))


def _report_generate(result, new, migrations_dir: str, dry_run: bool, database_url: str | None,
                     placement=None, destructive_exit: bool = False) -> int:
    """Print what generate did; the exit code (1: --check found pending changes, or with
    ``destructive_exit`` (plan) a destructive operation planned). ``placement``: a solution's,
    where plan counts the rows at risk."""
    from generator import api

    if result.upgrade:
        click.echo(f"Odoo upgrade: {result.upgrade}")
    if dry_run:
        at_risk = _run(api.data_at_risk, result, database_url, placement or api.DEFAULT_PLACEMENT) \
            if database_url else {}
        _print_plan(result, at_risk)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if result.status == "no changes":
        click.echo(f"no changes: {migrations_dir} is up to date with the snapshot (sha256 {result.snapshot_sha[:12]})")
        return 0
    if result.status == "out of date":
        click.echo(f"{migrations_dir} is NOT up to date with the snapshot: {len(result.operations)} operation(s) pending")
        for op in result.operations[:20]:
            click.echo(f"  {op.describe()}")
        return 1
    for ref in result.external:
        click.echo(f"external reference (plain uuid, no foreign key): {ref.table}.{ref.column} -> {ref.model}")
    for t in new.tableless:
        what = "an SQL view or query in Odoo" if t.kind == "view" else "a table Odoo makes by hand"
        click.echo(f"not rendered ({what}): {t.name}")
    verb = "would write" if result.status == "planned" else "wrote"
    for f in result.files:
        click.echo(f"{verb} {Path(migrations_dir) / f.filename}")
    click.echo(f"{len(result.operations)} operations, {len(result.files)} file(s), snapshot sha256 {result.snapshot_sha[:12]}")
    return 1 if destructive_exit and any(op.destructive for op in result.operations) else 0


database_options = [
    click.option("--database-url", envvar="DATABASE_URL", show_envvar=True,
                 help="PostgreSQL URL of the target database (else the PG* variables)."),
    click.option("--migrations", "migrations_dir", default="migrations", show_default=True,
                 type=click.Path(file_okay=False), help="Folder of migrations (sqlx layout)."),
]
lock_options = [
    click.option("--wait-for-lock", type=float, default=60.0, show_default=True,
                 help="Seconds to wait for the migration lock another runner holds (polled, never blocking)."),
]
ignore_missing_option = click.option(
    "--ignore-missing", is_flag=True,
    help="An applied migration whose file is missing on disk is not an error (sqlx's --ignore-missing).")


def with_runner_options(fn):
    """migrate, revert, baseline: they take the migration lock."""
    return _decorate(fn, [*database_options, *lock_options, ignore_missing_option, *solution_options])


RUNNER_REPLACED = (("migrations_dir", "--migrations"), ("database_url", "--database-url"))
TARGET_REFUSED = (("target_version", "--target-version"),)


def _run_each(solution_name, all_solutions, config_path, options_of, fn, headers: bool = True) -> int | None:
    """For --solution / --all: ``fn(solution, options_of(solution))`` for each; None without them."""
    from generator import api

    chosen = _solutions(solution_name, all_solutions, config_path, databases=True, replaced=RUNNER_REPLACED,
                        refused=TARGET_REFUSED)
    if chosen is None:
        return None
    return _each(chosen, lambda solution: fn(solution, options_of(api, solution)), headers)


def _usable(database_url=None, **extra) -> None:
    """What the user typed is checked before any work (exit 2): a connection string that parses, the
    timeouts PostgreSQL accepts."""
    from generator import rules
    from generator.dsn import redact

    if database_url:
        import psycopg

        try:
            psycopg.conninfo.conninfo_to_dict(database_url)
        except psycopg.Error:
            _raise_usage(f"--database-url {redact(database_url)!r} is not a PostgreSQL connection string (a password "
                         "with @, / or % in a URL must be percent-encoded)")
    for key in ("lock_timeout", "statement_timeout"):
        if key in extra:
            _run(rules.duration, extra[key], f"--{key.replace('_', '-')}")


def _run_options(database_url, migrations_dir, wait_for_lock=60.0, ignore_missing=False, **extra):
    from generator.runner.apply import RunOptions

    _usable(database_url, **extra)
    return RunOptions(migrations_dir=Path(migrations_dir), database_url=database_url, wait_for_lock=wait_for_lock,
                      ignore_missing=ignore_missing, **extra)


def _step_line(s) -> str:
    timing = f" ({s.seconds:.2f} s)" if s.seconds else ""
    return f"{s.action} {s.version} {s.description}{timing}"


class RunnerProgress(StderrProgress):
    """The runner's progress, and each migration on standard output as it commits (so after a failure
    or Ctrl-C, standard output holds every migration that did commit, in CI logs too)."""

    active: "RunnerProgress | None" = None  # the command's, for what Ctrl-C stopped

    def __init__(self, quiet: bool = False):
        super().__init__(quiet)
        self.printed = 0
        self.running: tuple[str, int, str, bool] | None = None
        RunnerProgress.active = self

    def started(self, action: str, version: int, description: str, no_transaction: bool) -> None:
        self.running = (action, version, description, no_transaction)

    def committed(self, step) -> None:
        click.echo(_step_line(step))
        self.printed += 1
        self.running = None

    def interrupted(self) -> str:
        """What Ctrl-C stopped: the migration rolled back, and how many committed before it."""
        done = f"{self.printed} migration(s) committed before it (listed on standard output)"
        if self.running is None:
            return f"no migration was running; {done}"
        action, version, description, no_transaction = self.running
        if no_transaction:
            return (f"{action} {version} {description} was stopped (a -- no-transaction file: an index it was "
                    f"building may be left INVALID; the next migrate names it); {done}")
        return f"{action} {version} {description} was rolled back (no ledger row); {done}"


def _steps(steps, empty: str, already: int = 0) -> None:
    """Print the steps not printed yet as they committed (``already``), or ``empty`` when there are none."""
    if not steps:
        click.echo(empty)
    for s in steps[already:]:
        click.echo(_step_line(s))


@cli.command()
@with_runner_options
@click.option("--target-version", type=int, help="Apply pending migrations up to and including this version.")
@click.option("--dry-run", is_flag=True, help="List what would be applied; apply nothing.")
@click.option("--lock-timeout", default="10s", show_default=True,
              help="lock_timeout for each migration; a migration that hits it is retried. A generated file's own "
                   "SET LOCAL lock_timeout (rules file [migration]) comes after it and wins: this governs the files "
                   "that set none (hand-written, no-transaction).")
@click.option("--statement-timeout", default="0", show_default=True,
              help="statement_timeout for each migration (0 = none); a generated file's own SET LOCAL wins, as for "
                   "--lock-timeout.")
@click.option("--retries", type=click.IntRange(min=0), default=3, show_default=True,
              help="How often a migration that hit lock_timeout is retried.")
@quiet_option
def migrate(database_url, migrations_dir, wait_for_lock, ignore_missing, target_version, dry_run, lock_timeout,
            statement_timeout, retries, solution_name, all_solutions, config_path):
    """Apply pending migrations in version order, each in one transaction with its ledger row.

    The ledger is sqlx's _sqlx_migrations table (same rows, same SHA-384 checksums), so `sqlx migrate run`
    and this command can take turns. Refuses to run when an applied file was edited or is missing, or a
    ledger row is marked failed.
    """
    from generator import api

    extra = dict(wait_for_lock=wait_for_lock, ignore_missing=ignore_missing, target_version=target_version,
                 dry_run=dry_run, lock_timeout=lock_timeout, statement_timeout=statement_timeout, retries=retries)
    _usable(database_url, **extra)
    empty = "nothing to apply: the database is up to date"

    def run_one(options):
        progress = RunnerProgress()
        steps = api.migrate(options, progress)
        _steps(steps, empty, progress.printed)

    code = _run_each(solution_name, all_solutions, config_path, lambda api, s: api.solution_run_options(s, **extra),
                     lambda s, options: run_one(options))
    if code is not None:
        sys.exit(code)
    _run(run_one, _run_options(database_url, migrations_dir, **extra))


@cli.command()
@with_runner_options
@click.option("--target-version", type=int, help="Revert every applied migration above this version (default: the newest one).")
@click.option("--dry-run", is_flag=True, help="List what would be reverted; revert nothing.")
@click.option("--lock-timeout", default="10s", show_default=True, help="SET LOCAL lock_timeout for each down file.")
@click.option("--statement-timeout", default="0", show_default=True, help="SET LOCAL statement_timeout (0 = none).")
@quiet_option
def revert(database_url, migrations_dir, wait_for_lock, ignore_missing, target_version, dry_run, lock_timeout,
           statement_timeout, solution_name, all_solutions, config_path):
    """Run .down.sql files newest first, deleting each ledger row in the same transaction."""
    from generator import api

    extra = dict(wait_for_lock=wait_for_lock, ignore_missing=ignore_missing, target_version=target_version,
                 dry_run=dry_run, lock_timeout=lock_timeout, statement_timeout=statement_timeout)
    _usable(database_url, **extra)
    def run_one(options):
        progress = RunnerProgress()
        steps = api.revert(options, progress)
        _steps(steps, "nothing to revert", progress.printed)

    code = _run_each(solution_name, all_solutions, config_path, lambda api, s: api.solution_run_options(s, **extra),
                     lambda s, options: run_one(options))
    if code is not None:
        sys.exit(code)
    _run(run_one, _run_options(database_url, migrations_dir, **extra))


@cli.command()
@lambda fn: _decorate(fn, [*database_options, ignore_missing_option, *solution_options])
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@quiet_option
def status(database_url, migrations_dir, ignore_missing, solution_name, all_solutions, config_path, as_json):
    """List each migration: applied (when, how long), pending, changed on disk, missing on disk, failed.

    Exit 1 when a migration is changed on disk, failed, or missing on disk (unless --ignore-missing).
    """
    from generator import api

    def show(rows) -> int:
        if not as_json:
            for r in rows:
                when = f"  {r.installed_on}  {r.execution_ms:.0f} ms" if r.installed_on and r.execution_ms is not None \
                    else f"  {r.installed_on}" if r.installed_on else ""
                click.echo(f"{r.version}  {r.state:<16} {r.description}{when}")
        bad = [r for r in rows if r.state in ("changed on disk", "failed")
               or (r.state == "missing on disk" and not ignore_missing)]
        return 1 if bad else 0

    if solution_name or all_solutions:
        found: dict[str, list] = {}

        def one(solution, options):
            found[solution.name] = rows = api.status(options)
            return show(rows)

        code = _run_each(solution_name, all_solutions, config_path,
                         lambda api, s: api.solution_run_options(s, ignore_missing=ignore_missing), one, not as_json)
        if as_json:
            click.echo(json.dumps({name: [dataclasses.asdict(r) for r in rows] for name, rows in found.items()},
                                  indent=1))
        sys.exit(code)
    rows = _run(api.status, _run_options(database_url, migrations_dir, ignore_missing=ignore_missing))
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in rows], indent=1))
    sys.exit(show(rows))


@cli.command()
@lambda fn: _decorate(fn, [*database_options, *solution_options])
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages on standard error.")
def verify(database_url, migrations_dir, solution_name, all_solutions, config_path, as_json, quiet):
    """Compare the live database with the snapshot the migrations were made from.

    Lists every missing, different or unexpected table, column (type, nullability), constraint, index and
    row-level security policy. Exit 0 only when they match: the health check to run after deploys.
    """
    from generator import api

    def show(differences) -> int:
        if not as_json:
            for d in differences:
                click.echo(str(d))
            click.echo("verify: the database matches the snapshot" if not differences
                       else f"verify: {len(differences)} difference(s)")
        return 8 if differences else 0

    def as_dict(differences):
        return {"ok": not differences, "differences": [dataclasses.asdict(d) for d in differences]}

    if solution_name or all_solutions:
        found: dict[str, list] = {}

        def one(solution, options):
            found[solution.name] = differences = api.verify(options, StderrProgress(quiet))
            return show(differences)

        code = _run_each(solution_name, all_solutions, config_path, lambda api, s: api.solution_run_options(s), one,
                         not as_json)
        if as_json:
            click.echo(json.dumps({name: as_dict(d) for name, d in found.items()}, indent=1))
        sys.exit(code)
    differences = _run(api.verify, _run_options(database_url, migrations_dir), StderrProgress(quiet))
    if as_json:
        click.echo(json.dumps(as_dict(differences), indent=1))
    sys.exit(show(differences))


@cli.command()
@with_runner_options
@click.option("--target-version", type=int, help="Record only migrations up to this version.")
@click.option("--dry-run", is_flag=True, help="List what would be recorded.")
@quiet_option
def baseline(database_url, migrations_dir, wait_for_lock, ignore_missing, target_version, dry_run, solution_name,
             all_solutions, config_path):
    """Record ledger rows for migrations applied by hand (psql), after verifying the schema matches."""
    from generator import api

    extra = dict(wait_for_lock=wait_for_lock, ignore_missing=ignore_missing, target_version=target_version,
                 dry_run=dry_run)
    code = _run_each(solution_name, all_solutions, config_path, lambda api, s: api.solution_run_options(s, **extra),
                     lambda s, options: _steps(api.baseline(options, StderrProgress()), "nothing to record"))
    if code is not None:
        sys.exit(code)
    _steps(_run(api.baseline, _run_options(database_url, migrations_dir, **extra), StderrProgress()), "nothing to record")


@cli.command("solutions")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="The project config with the [solution.NAME] sections (default: ./fbs-schema.toml).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@quiet_option
def solutions_command(config_path, as_json):
    """List the solutions of the project config: selection, target, where each lives, whether its
    database answers, and how many migrations are applied, pending or drifted (changed or missing on
    disk, failed). Exit 1 when one has drifted or cannot be reached."""
    from generator import api

    chosen = _run(api.load_solutions, config_path, None, True, databases=True)
    states = _run(api.solutions, chosen)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(s) for s in states], indent=1))
    else:
        rows = [("solution", "selection", "target", "placement", "reachable", "applied", "pending", "drift", "state")]
        rows += [(s.name, s.selection, s.target, s.placement, "yes" if s.reachable else "no", str(s.applied),
                  str(s.pending), str(s.drift), s.state) for s in states]
        _echo_table(rows)
        for s in states:
            if s.problem:
                click.echo(_safe(f"{s.name}: {s.problem}"), err=True)
    sys.exit(1 if any(s.drift or s.state in ("drift", "unreachable") for s in states) else 0)


@cli.command()
@click.argument("name")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="The project config with the [solution.NAME] sections (default: ./fbs-schema.toml).")
@lambda fn: _decorate(fn, lock_options)
@click.option("--timestamp", help="When the solution's folder holds no migrations yet: the version of the first "
                                  "generated file, YYYYMMDDHHMMSS (default: now, UTC; or SOURCE_DATE_EPOCH).")
@quiet_option
def setup(name, config_path, wait_for_lock, timestamp):
    """Set up solution NAME from nothing: create its database when missing (and its schema, when it
    has one), generate its migrations from its selection of the bundled snapshot when its folder
    holds none, apply every pending one and record each in its ledger. Idempotent: a second run
    does nothing and says so."""
    from generator import api

    stamp = None
    if timestamp:
        try:
            stamp = datetime.strptime(timestamp, "%Y%m%d%H%M%S")
        except ValueError:
            _raise_usage(f"--timestamp {timestamp!r} is not YYYYMMDDHHMMSS")
    (solution,) = _run(api.load_solutions, config_path, name, False, databases=True)
    result = _run(api.setup, solution, StderrProgress(), wait_for_lock=wait_for_lock, timestamp=stamp)
    if result.created_database:
        click.echo(f"created database {result.database}")
    if result.created_schema:
        click.echo(f"created schema {solution.placement.schema}")
    for f in result.generated:
        click.echo(f"generated {solution.migrations_dir / f}")
    if result.applied:
        _steps(result.applied, "")
    if result.did_nothing:
        click.echo(f"{name} is already set up ({solution.placement.describe()}, database {result.database}): "
                   "nothing to do")
    else:
        click.echo(f"{name} is set up: {len(result.applied)} migration(s) applied")


def _print_plan(result, at_risk: dict | None = None) -> None:
    """What a migration would do, per table: + added, ~ changed, - dropped; destructive ones marked,
    with why (from the snapshots) and, given a database, how many rows or values they would lose."""
    at_risk = at_risk or {}
    by_table: dict[str, list] = {}
    for i, op in enumerate(result.operations):
        by_table.setdefault(op.table_name or "(database)", []).append((i, op))
    for table in sorted(by_table):
        click.echo(f"{table}:")
        for i, op in by_table[table]:
            sign = "-" if op.kind.startswith(("drop", "disable")) else "+" if op.kind.startswith(
                ("create", "add", "enable")) else "~"
            flag = ""
            if op.destructive:
                flag = "   [DESTRUCTIVE]"
                if i in at_risk:
                    n = at_risk[i]
                    what = "values" if "column" in op.kind else "rows it refuses" if op.kind == "add_constraint" else "rows"
                    flag += " (not in the database)" if n is None else f" ({n:,} {what})"
                if result.reasons.get(i):
                    flag += f"\n      why: {result.reasons[i]}"
            click.echo(f"  {sign} {op.describe()}{flag}")


@cli.command()
@click.option("--snapshot", "snapshot_path", type=click.Path(),
              help="Snapshot to compare with migrations/ (default: the bundled snapshot).")
@click.option("--migrations", "migrations_dir", default="migrations", show_default=True,
              type=click.Path(file_okay=False), help="Folder of migrations and the snapshot they came from.")
@click.option("--rules", "rules_path", type=click.Path(dir_okay=False), help="Rules file (default ./fbs-schema.toml).")
@click.option("--renames", "renames_path", type=click.Path(dir_okay=False), help="Rename hints (default ./fbs-renames.toml).")
@click.option("--database-url", help="A database holding the migrations applied so far: each destructive operation "
                                     "is listed with the rows (or non-NULL values) it would lose there. Read-only.")
@with_solution_options
@click.pass_context
@quiet_option
def plan(ctx, snapshot_path, migrations_dir, rules_path, renames_path, database_url, solution_name, all_solutions,
         config_path):
    """Show what `generate` would change, per table, and which operations are destructive (and why:
    a model that became an SQL view, a field that became company-dependent or is no longer stored,
    an Odoo upgrade). Writes nothing."""
    _solutions(solution_name, all_solutions, config_path, databases=False,
               replaced=(("migrations_dir", "--migrations"), ("rules_path", "--rules")))  # checked here: generate
    ctx.invoke(generate, snapshot_path=snapshot_path, migrations_dir=migrations_dir, rules_path=rules_path,
               renames_path=renames_path, dry_run=True, allow_destructive=True, reference_depth=1,
               company_dependent=(), database_url=database_url, destructive_exit=True, solution_name=solution_name,
               all_solutions=all_solutions, config_path=config_path)


@cli.command("lint")
@click.option("--migrations", "migrations_dir", default="migrations", show_default=True,
              type=click.Path(file_okay=False), help="Folder of migrations to lint (generated and hand-written).")
@click.option("--snapshot", "snapshot_path", type=click.Path(),
              help="Snapshot the migrations must be up to date with (default: the one kept in the folder, "
                   "fbs-snapshot.json: then the check is that the current rules give the same schema).")
@click.option("--rules", "rules_path", type=click.Path(dir_okay=False), help="Rules file (default ./fbs-schema.toml).")
@click.option("--no-check", is_flag=True, help="Skip the up-to-date check (generate --check).")
@click.option("--no-sqlfluff", is_flag=True, help="Skip sqlfluff.")
@click.option("--no-squawk", is_flag=True, help="Skip squawk.")
@click.option("--no-cache", is_flag=True,
              help="Lint every file with sqlfluff and squawk, not only those they have not found clean before "
                   "(the cache, by SHA-384 of each file and the tools' config, is under .cache/ beside the folder).")
@with_solution_options
@quiet_option
def lint_command(migrations_dir, snapshot_path, rules_path, no_check, no_sqlfluff, no_squawk, no_cache,
                 solution_name, all_solutions, config_path):
    """Lint migrations: the project's semantic checks, generate --check, sqlfluff and squawk.

    Semantic checks: tenant_id leads every primary key; every foreign key is tenant-scoped and has an
    index led by (tenant_id, col); no integer column references a uuid; identifiers fit 63 bytes; no
    CREATE INDEX without CONCURRENTLY on an existing table; no destructive statement without its marker.
    Exit 0 only when everything is clean.
    """
    from generator import api

    chosen = _solutions(solution_name, all_solutions, config_path, databases=False,
                        replaced=(("migrations_dir", "--migrations"), ("rules_path", "--rules")))

    def one(solution) -> int:
        folder = solution.migrations_dir if solution else Path(migrations_dir)
        result = api.lint(folder, snapshot_path, check_up_to_date=not no_check, sqlfluff=not no_sqlfluff,
                          squawk=not no_squawk, rules_path=rules_path, cache=not no_cache, progress=StderrProgress(),
                          solution=solution)
        return _report_lint(result, str(folder))

    sys.exit(_each(chosen, one) if chosen is not None else _run(one, None))


def _report_lint(result, migrations_dir: str) -> int:
    for f in result.findings:
        click.echo(str(f))
    if result.up_to_date is False:
        click.echo(f"{migrations_dir}: [up-to-date] not up to date with the snapshot: {result.pending} operation(s) "
                   "pending; run fbs-schema generate")
    tools = [(name, run) for name, run in (("sqlfluff", result.sqlfluff), ("squawk", result.squawk)) if run]
    for name, run in tools:
        if run.exit_code != 0:
            click.echo(f"--- {name} (exit {run.exit_code}):\n{run.output.rstrip()}")
    summary = "clean" if result.ok else "FAILED"
    click.echo(f"lint {summary}: {len(result.findings)} semantic finding(s)"
               + "".join(f", {name} exit {run.exit_code}" for name, run in tools))
    for name, run in tools:
        click.echo(f"{name}: {run.linted} file(s) linted, {run.cached} clean in the cache", err=True)
    return 0 if result.ok else 1


@cli.command()
@click.option("--snapshot", "snapshot_path", type=click.Path(),
              help="Snapshot to draw (default: the bundled snapshot).")
@click.option("--module", help="Only the tables of this Odoo module (and stubs of the tables they point at).")
@click.option("--tables", help="Only these tables, comma-separated.")
@click.option("--changes", "changes_dir", type=click.Path(file_okay=False),
              help="Only the tables that a migration from the snapshot kept in this folder would touch.")
@click.option("--columns", type=click.Choice(["keys", "all", "none"]), default="keys", show_default=True,
              help="Which columns to list in each table.")
@click.option("--internal", is_flag=True, help="Only relationships between the chosen tables (no stubs).")
@click.option("--rules", "rules_path", type=click.Path(dir_okay=False), help="Rules file (default ./fbs-schema.toml).")
@click.option("-o", "--output", default="-", show_default=True,
              help="Where to write the Mermaid text ('-' = standard output; a regular file is replaced atomically, a "
                   "device or a FIFO written in place).")
@with_solution_options
@quiet_option
def diagram(snapshot_path, module, tables, changes_dir, columns, internal, rules_path, output, solution_name,
            all_solutions, config_path):
    """An entity-relationship diagram of the generated schema, as Mermaid (erDiagram).

    With --solution NAME: the solution's selection of the snapshot, with its rules and table prefix;
    with --all, one diagram after the other, each headed by a %% comment."""
    from generator import api

    chosen = _solutions(solution_name, all_solutions, config_path, databases=False,
                        replaced=(("rules_path", "--rules"),))
    quiet = StderrProgress(quiet=True)
    if chosen is None:
        snap = _run(api.load_new_snapshot, None, scoping.Scope(), snapshot_path, quiet)
        text = _run(api.diagram, snap, module=module, tables=_modules(tables), columns=columns,
                    changes_from=Path(changes_dir) if changes_dir else None, rules_path=rules_path, internal=internal)
    else:
        parts = []
        for solution in chosen:
            snap = _run(api.solution_snapshot, solution, None, quiet, snapshot_path)
            changes = Path(changes_dir) if changes_dir else None
            body = _run(api.diagram, snap, module=module, tables=_modules(tables), columns=columns,
                        changes_from=changes, internal=internal, solution=solution)
            parts.append(f"%% solution {solution.name}\n{body}" if len(chosen) > 1 else body)
        text = "\n".join(parts)
    if output == "-":
        click.echo(text, nl=False)
    else:
        from generator import snapshot as snapshots

        _run(snapshots.write_atomic, output, text)



@cli.command("compare-odoo")
@click.option("--odoo-dsn", envvar="ODOO_DSN", show_envvar=True, required=True,
              help="PostgreSQL DSN of the Odoo database to compare with: its catalog (tables, columns, constraints) "
                   "and its ir_model* tables are read, read-only.")
@click.option("--snapshot", "snapshot_path", type=click.Path(dir_okay=False),
              help="Compare the schema generated from this snapshot (rules from --rules or ./fbs-schema.toml).")
@click.option("--migrations", "migrations_dir", type=click.Path(file_okay=False),
              help="Compare the schema of the snapshot and rules kept beside these migrations "
                   "(fbs-snapshot.json, fbs-rules.toml). Default: migrations, unless --snapshot is given.")
@click.option("--rules", "rules_path", type=click.Path(dir_okay=False),
              help="With --snapshot: the rules file (default ./fbs-schema.toml when it exists).")
@click.option("--json", "as_json", is_flag=True,
              help="Machine-readable output: counts per rule and reason, and every item that is not equal.")
@quiet_option
def compare_odoo(odoo_dsn, snapshot_path, migrations_dir, rules_path, as_json):
    """Prove fidelity to an Odoo database: compare its own tables with the generated schema.

    Every Odoo table, column, primary key, foreign key, UNIQUE and CHECK constraint and unique index
    is either in the generated schema (the same, or changed by a named rule such as id-uuid or
    tenant-foreign-key) or left out for a named reason (transient, outside-selection, ...). Anything
    else is unexplained and listed one per line. Exit 0 when nothing is unexplained, 1 otherwise.
    """
    from generator import api
    from generator import compare as compare_mod

    result = _run(api.compare_odoo, odoo_dsn, snapshot_path=snapshot_path,
                  migrations_dir=Path(migrations_dir) if migrations_dir else None, rules_path=rules_path,
                  progress=StderrProgress(quiet=as_json))
    if as_json:
        click.echo(json.dumps({
            "ok": result.ok,
            "odoo_version": result.odoo_version,
            "tables_compared": result.tables_compared,
            "tables_left_out": result.tables_left_out,
            "equal": result.equal,
            "mapped": {r: {"count": n, "rule": compare_mod.RULES[r]} for r, n in result.mapped.items()},
            "left_out": {r: {"count": sum(kinds.values()), "by_kind": kinds, "reason": compare_mod.REASONS[r]}
                         for r, kinds in result.left_out.items()},
            "unexplained": [dataclasses.asdict(i) for i in result.unexplained],
            "items": [dataclasses.asdict(i) for i in result.items if i.outcome != compare_mod.EQUAL],
        }, indent=1))
    else:
        click.echo(f"compare-odoo: Odoo {result.odoo_version}: {result.tables_compared} tables compared, "
                   f"{result.tables_left_out} left out; {result.equal:,} items equal")
        click.echo("mapped by rule:")
        for r, n in result.mapped.items():
            click.echo(f"  {r:<22} {n:>6,}  {compare_mod.RULES[r]}")
        click.echo("left out by reason:")
        for r, kinds in result.left_out.items():
            parts = ", ".join(f"{n:,} {k.replace('index', 'indexe')}s" for k, n in kinds.items())
            click.echo(f"  {r:<22} {sum(kinds.values()):>6,}  {compare_mod.REASONS[r]} ({parts})")
        click.echo(f"unexplained: {len(result.unexplained)}")
        for i in result.unexplained:
            click.echo(f"  {i.describe()}")
    sys.exit(0 if result.ok else 1)

@cli.command("import")
@click.option("--odoo-dsn", envvar="ODOO_DSN", show_envvar=True,
              help="PostgreSQL DSN of the Odoo database to read (17.0, 18.0 or 19.0), read in one REPEATABLE READ, "
                   "READ ONLY transaction: Odoo may keep running.")
@click.option("--tenant", required=True, metavar="UUID",
              help="The tenant the rows are loaded for: every row gets this tenant_id, and every key is computed "
                   "from (tenant, Odoo table, Odoo id).")
@lambda fn: _decorate(fn, database_options)
@click.option("--solution", "solution_name", metavar="NAME",
              help="Load into this solution of the project config ([solution.NAME]): its migrations folder, "
                   "database and schema or prefix.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="The project config with the [solution.NAME] sections (default: ./fbs-schema.toml).")
@click.option("--check", is_flag=True,
              help="Load nothing: compare, table by table, Odoo's rows (mapped) with the tenant's rows (count and "
                   "checksum); exit 8 naming every table that differs.")
@click.option("--on-invalid", type=click.Choice(["stop", "skip"]), default="stop", show_default=True,
              help="A row whose values the generated schema refuses (a selection value the CHECK does not list, a "
                   "required field empty in Odoo, a text longer than its size, a reference ON DELETE RESTRICT to a "
                   "row Odoo does not hold): stop = load nothing and name the rows; skip = load the rest and write "
                   "the skipped rows to --skipped.")
@click.option("--skipped", "skipped_path", type=click.Path(dir_okay=False),
              help="With --on-invalid skip: the file the skipped rows are written to, one JSON object per line "
                   "(default: fbs-import-skipped-<tenant>.jsonl).")
@click.option("--jobs", type=click.IntRange(min=1, max=64), default=2, show_default=True,
              help="Tables loaded at the same time (each with its own connections).")
@lambda fn: _decorate(fn, lock_options)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output: every table, count and reason.")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages on standard error.")
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
    from generator import api

    solution = None
    if solution_name:
        ctx = click.get_current_context()
        for name, flag in (("migrations_dir", "--migrations"), ("database_url", "--database-url")):
            if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE:
                _raise_usage(f"{flag} comes from the solution's config; leave it out with --solution")
        (solution,) = _run(api.load_solutions, config_path, solution_name, False, databases=True)
    elif config_path:
        _raise_usage("--config goes with --solution NAME")
    if skipped_path and on_invalid != "skip":
        _raise_usage("--skipped goes with --on-invalid skip")
    options = api.import_options(solution, odoo_dsn=odoo_dsn or "", tenant=tenant, database_url=database_url,
                                 migrations_dir=Path(migrations_dir), check=check, on_invalid=on_invalid,
                                 skipped_path=Path(skipped_path) if skipped_path else None, jobs=jobs,
                                 wait_for_lock=wait_for_lock)
    result = _run(api.import_rows, options, StderrProgress(quiet or as_json))
    if as_json:
        click.echo(json.dumps(_import_json(result), indent=1))
    else:
        _report_import(result)
    sys.exit(8 if not result.ok else 0)


def _import_json(result) -> dict:
    return {
        "ok": result.ok,
        "tenant": result.tenant,
        "check": result.check,
        "seconds": round(result.seconds, 3),
        "loaded_rows": result.loaded_rows,
        "foreign_keys": result.foreign_keys,
        "tables": [dataclasses.asdict(t) for t in result.tables],
        "rows_not_carried": [dataclasses.asdict(p) for p in result.problems],
        "skipped_file": result.skipped_file,
        "phases": result.phases,
        "notes": list(result.notes),
    }


def _report_import(result) -> None:
    rows = [("table", "from Odoo", "Odoo rows", "rows", "not carried", "values nulled", "seconds", "")]
    for t in result.tables:
        nulled = sum(t.nulled.values())
        rows.append((t.table, t.odoo_table, f"{t.source_rows:,}", f"{t.rows:,}", f"{t.left_out:,}" if t.left_out else "",
                     f"{nulled:,}" if nulled else "", f"{t.seconds:.2f}" if t.seconds else "", t.action))
    _echo_table(rows, numbers=range(2, 7))
    for t in result.tables:
        for column, n in sorted(t.nulled.items()):
            click.echo(f"{t.table}.{column}: {n:,} value(s) nulled (their row or model is not in the schema)")
        if t.detail:
            click.echo(f"{t.table}: {t.detail}")
    for p in result.problems:
        click.echo(f"not carried ({'skipped' if p.action == 'invalid' else p.action}): {p.table}: {p.describe()}")
    if result.skipped_file:
        click.echo(f"skipped rows written to {result.skipped_file}")
    for note in result.notes:
        click.echo(f"note: {note}")
    if result.check:
        different = len(result.differences)
        fks = f"; {result.foreign_keys} foreign key(s) set aside or NOT VALID" if result.foreign_keys else ""
        click.echo(f"import --check: {len(result.tables) - different} table(s) equal, {different} differ{fks}")
        return
    loaded = [t for t in result.tables if t.action == "loaded"]
    if not loaded:
        click.echo(f"nothing to load: tenant {result.tenant} already holds Odoo's rows ({len(result.tables)} tables "
                   "unchanged)")
        return
    click.echo(f"loaded {result.loaded_rows:,} row(s) into {len(loaded)} table(s) for tenant {result.tenant} in "
               f"{result.seconds:.1f} s ({len(result.tables) - len(loaded)} unchanged); "
               f"{result.foreign_keys} foreign key(s) put back and validated")


def _echo_table(rows: list[tuple[str, ...]], numbers=()) -> None:
    """Rows of cells as aligned columns (the ``numbers`` columns right-aligned), the first row a header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(c.rjust(w) if i in numbers else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
                   .rstrip())


def _raise(exc: Exception):
    raise exc


def main() -> None:
    cli(prog_name="fbs-schema")


if __name__ == "__main__":
    main()
