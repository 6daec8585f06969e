"""The command line's flags: every option declared once, flat for the user, and folded into the
groups the library takes (``fold``): a command function receives its source, scope, folder, safety
and solution flags as one value each, not twenty-six parameters. Also what turns those values into
the library's objects where the command line itself decides something: which capture source was
typed (a flag beats the environment), a scope whose flags go together, the solutions named.

Like ``generator.cli``, this module imports click and nothing heavy at start-up."""

from __future__ import annotations

import functools
import os
from datetime import datetime

import click

from generator.capture import scope as scoping
from generator.errors import UsageError
from generator.target import TARGETS as TARGET_NAMES


def fold(into: str, *names: str):
    """The values of the options ``names`` reach the function as one dict, keyword ``into``."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, **{into: {n: kwargs.pop(n) for n in names}}, **kwargs)
        return wrapper
    return decorate


def declare(*options):
    """One decorator for several (options, groups of them, folds), listed in --help order."""
    def apply(fn):
        for option in reversed(options):
            fn = option(fn)
        return fn
    return apply


def _remember_quiet(ctx, param, value):
    ctx.meta["fbs.quiet"] = value
    return value


# -q/--quiet for a command whose function takes no ``quiet``: kept in the context, where StderrProgress reads it
quiet_option = click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_remember_quiet,
                            help="No progress messages on standard error (notices and errors still show).")
quiet_flag = click.option("-q", "--quiet", is_flag=True, help="No progress messages on standard error.")
json_flag = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
config_option = click.option("--config", "config_path", type=click.Path(dir_okay=False),
                             help="The project config with the [solution.NAME] sections (default: ./fbs-schema.toml).")
solution_options = [
    click.option("--solution", "solution_name", metavar="NAME",
                 help="Work on this solution of the project config ([solution.NAME] in fbs-schema.toml): its "
                      "selection, migrations folder, database, schema or prefix, and rules."),
    click.option("--all", "all_solutions", is_flag=True, help="Work on every solution of the project config, one "
                                                              "after the other (a failure in one does not stop the others)."),
    config_option,
]
# --solution NAME / --all / --config: one value, ``solution`` (see ``solutions``)
with_solution_options = declare(*solution_options, fold("solution", "solution_name", "all_solutions", "config_path"))
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
SOURCE = ("odoo_url", "odoo_db", "odoo_user", "protocol", "odoo_dsn", "from_snapshot", "company_dependent")
SCOPE = ("modules", "preset", "with_references", "reference_depth")
# a capture source and a scope: two values, ``source`` (see ``source``) and ``scope`` (see ``scope``)
with_source_options = declare(*source_options, fold("source", *SOURCE), fold("scope", *SCOPE))
database_options = [
    click.option("--database-url", envvar="DATABASE_URL", show_envvar=True,
                 help="PostgreSQL URL of the target database (else the PG* variables)."),
    click.option("--migrations", "migrations_dir", default="migrations", show_default=True,
                 type=click.Path(file_okay=False), help="Folder of migrations (sqlx layout)."),
]
lock_option = click.option("--wait-for-lock", type=float, default=60.0, show_default=True,
                           help="Seconds to wait for the migration lock another runner holds (polled, never blocking).")
ignore_missing_option = click.option(
    "--ignore-missing", is_flag=True,
    help="An applied migration whose file is missing on disk is not an error (sqlx's --ignore-missing).")
# migrate, revert, baseline: they take the migration lock
with_runner_options = declare(*database_options, lock_option, ignore_missing_option, with_solution_options)


# Each command's flags, in the order its --help lists them

# capture
CAPTURE = declare(
    with_source_options,
    click.option("-o", "--output", default="-", show_default=True,
                 help="Where to write the snapshot JSON ('-' = standard output). A regular file is replaced atomically; "
                      "a device or a FIFO is written in place."),
    quiet_flag,
)

# generate
GENERATE = declare(
    click.option("--snapshot", "snapshot_path", type=click.Path(),
                 help="Snapshot to generate from (default: the bundled Odoo 17.0 sales-inventory snapshot, "
                      "unless a capture source below is given)."),
    with_source_options,
    click.option("--migrations", "migrations_dir", default="migrations", show_default=True,
                 type=click.Path(file_okay=False), help="Folder of migrations; it also keeps the snapshot they came from."),
    click.option("--rules", "rules_path", type=click.Path(dir_okay=False),
                 help="Per-project rules file with extra indexes and CHECKs (default: ./fbs-schema.toml if present)."),
    click.option("--timestamp", help="Version of the first new file, YYYYMMDDHHMMSS (default: now, UTC; "
                                     "or SOURCE_DATE_EPOCH). Later files count up one second each."),
    click.option("--allow-destructive", is_flag=True,
                 help="Emit operations that lose data (drop table/column, narrowing type, removed selection values)."),
    click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing."),
    click.option("--check", is_flag=True, help="Exit 1 when migrations/ is not up to date with the snapshot (for CI)."),
    click.option("--renames", "renames_path", type=click.Path(dir_okay=False),
                 help="Rename hints (default: ./fbs-renames.toml if present): renamed models and fields keep their data."),
    click.option("--reversible", is_flag=True, help="Write <version>_<name>.up.sql / .down.sql pairs."),
    click.option("--target", "target", type=click.Choice(list(TARGET_NAMES)),
                 help="Database the SQL is written for (default: the one kept in the folder's fbs-target.json, "
                      "else postgres). citus: every table distributed by tenant_id; yugabyte: hash-sharded keys "
                      "(from its docs, not run here). A folder keeps its target: changing it is refused."),
    quiet_flag,
    with_solution_options,
    fold("folder", "migrations_dir", "rules_path", "timestamp", "reversible", "target"),
    fold("safety", "allow_destructive", "renames_path", "check", "dry_run"),
)

# migrate
MIGRATE = declare(
    with_runner_options,
    click.option("--target-version", type=int, help="Apply pending migrations up to and including this version."),
    click.option("--dry-run", is_flag=True, help="List what would be applied; apply nothing."),
    click.option("--lock-timeout", default="10s", show_default=True,
                 help="lock_timeout for each migration; a migration that hits it is retried. A generated file's own "
                      "SET LOCAL lock_timeout (rules file [migration]) comes after it and wins: this governs the files "
                      "that set none (hand-written, no-transaction)."),
    click.option("--statement-timeout", default="0", show_default=True,
                 help="statement_timeout for each migration (0 = none); a generated file's own SET LOCAL wins, as for "
                      "--lock-timeout."),
    click.option("--retries", type=click.IntRange(min=0), default=3, show_default=True,
                 help="How often a migration that hit lock_timeout is retried."),
    quiet_option,
    fold("settings", "wait_for_lock", "ignore_missing", "target_version", "dry_run", "lock_timeout",
         "statement_timeout", "retries"),
)

# revert
REVERT = declare(
    with_runner_options,
    click.option("--target-version", type=int, help="Revert every applied migration above this version (default: the newest one)."),
    click.option("--dry-run", is_flag=True, help="List what would be reverted; revert nothing."),
    click.option("--lock-timeout", default="10s", show_default=True, help="SET LOCAL lock_timeout for each down file."),
    click.option("--statement-timeout", default="0", show_default=True, help="SET LOCAL statement_timeout (0 = none)."),
    quiet_option,
    fold("settings", "wait_for_lock", "ignore_missing", "target_version", "dry_run", "lock_timeout",
         "statement_timeout"),
)

# status
STATUS = declare(
    *database_options, ignore_missing_option, with_solution_options,
    json_flag,
    quiet_option,
)

# verify
VERIFY = declare(
    *database_options, with_solution_options,
    json_flag,
    quiet_flag,
)

# baseline
BASELINE = declare(
    with_runner_options,
    click.option("--target-version", type=int, help="Record only migrations up to this version."),
    click.option("--dry-run", is_flag=True, help="List what would be recorded."),
    quiet_option,
    fold("settings", "wait_for_lock", "ignore_missing", "target_version", "dry_run"),
)

# solutions
SOLUTIONS = declare(
    config_option,
    json_flag,
    quiet_option,
)

# setup
SETUP = declare(
    click.argument("name"),
    config_option,
    lock_option,
    click.option("--timestamp", help="When the solution's folder holds no migrations yet: the version of the first "
                                     "generated file, YYYYMMDDHHMMSS (default: now, UTC; or SOURCE_DATE_EPOCH)."),
    quiet_option,
)

# plan
PLAN = declare(
    click.option("--snapshot", "snapshot_path", type=click.Path(),
                 help="Snapshot to compare with migrations/ (default: the bundled snapshot)."),
    click.option("--migrations", "migrations_dir", default="migrations", show_default=True,
                 type=click.Path(file_okay=False), help="Folder of migrations and the snapshot they came from."),
    click.option("--rules", "rules_path", type=click.Path(dir_okay=False), help="Rules file (default ./fbs-schema.toml)."),
    click.option("--renames", "renames_path", type=click.Path(dir_okay=False), help="Rename hints (default ./fbs-renames.toml)."),
    click.option("--database-url", help="A database holding the migrations applied so far: each destructive operation "
                                        "is listed with the rows (or non-NULL values) it would lose there. Read-only."),
    with_solution_options,
    quiet_option,
)

# lint
LINT = declare(
    click.option("--migrations", "migrations_dir", default="migrations", show_default=True,
                 type=click.Path(file_okay=False), help="Folder of migrations to lint (generated and hand-written)."),
    click.option("--snapshot", "snapshot_path", type=click.Path(),
                 help="Snapshot the migrations must be up to date with (default: the one kept in the folder, "
                      "fbs-snapshot.json: then the check is that the current rules give the same schema)."),
    click.option("--rules", "rules_path", type=click.Path(dir_okay=False), help="Rules file (default ./fbs-schema.toml)."),
    click.option("--no-check", is_flag=True, help="Skip the up-to-date check (generate --check)."),
    click.option("--no-sqlfluff", is_flag=True, help="Skip sqlfluff."),
    click.option("--no-squawk", is_flag=True, help="Skip squawk."),
    click.option("--no-cache", is_flag=True,
                 help="Lint every file with sqlfluff and squawk, not only those they have not found clean before "
                      "(the cache, by SHA-384 of each file and the tools' config, is under .cache/ beside the folder)."),
    with_solution_options,
    quiet_option,
)

# diagram
DIAGRAM = declare(
    click.option("--snapshot", "snapshot_path", type=click.Path(),
                 help="Snapshot to draw (default: the bundled snapshot)."),
    click.option("--module", help="Only the tables of this Odoo module (and stubs of the tables they point at)."),
    click.option("--tables", help="Only these tables, comma-separated."),
    click.option("--changes", "changes_dir", type=click.Path(file_okay=False),
                 help="Only the tables that a migration from the snapshot kept in this folder would touch."),
    click.option("--columns", type=click.Choice(["keys", "all", "none"]), default="keys", show_default=True,
                 help="Which columns to list in each table."),
    click.option("--internal", is_flag=True, help="Only relationships between the chosen tables (no stubs)."),
    click.option("--rules", "rules_path", type=click.Path(dir_okay=False), help="Rules file (default ./fbs-schema.toml)."),
    click.option("-o", "--output", default="-", show_default=True,
                 help="Where to write the Mermaid text ('-' = standard output; a regular file is replaced atomically, a "
                      "device or a FIFO written in place)."),
    with_solution_options,
    quiet_option,
)

# compare-odoo
COMPARE_ODOO = declare(
    click.option("--odoo-dsn", envvar="ODOO_DSN", show_envvar=True, required=True,
                 help="PostgreSQL DSN of the Odoo database to compare with: its catalog (tables, columns, constraints) "
                      "and its ir_model* tables are read, read-only."),
    click.option("--snapshot", "snapshot_path", type=click.Path(dir_okay=False),
                 help="Compare the schema generated from this snapshot (rules from --rules or ./fbs-schema.toml)."),
    click.option("--migrations", "migrations_dir", type=click.Path(file_okay=False),
                 help="Compare the schema of the snapshot and rules kept beside these migrations "
                      "(fbs-snapshot.json, fbs-rules.toml). Default: migrations, unless --snapshot is given."),
    click.option("--rules", "rules_path", type=click.Path(dir_okay=False),
                 help="With --snapshot: the rules file (default ./fbs-schema.toml when it exists)."),
    click.option("--json", "as_json", is_flag=True,
                 help="Machine-readable output: counts per rule and reason, and every item that is not equal."),
    quiet_option,
)

# import
IMPORT = declare(
    click.option("--odoo-dsn", envvar="ODOO_DSN", show_envvar=True,
                 help="PostgreSQL DSN of the Odoo database to read (17.0, 18.0 or 19.0), read in one REPEATABLE READ, "
                      "READ ONLY transaction: Odoo may keep running."),
    click.option("--tenant", required=True, metavar="UUID",
                 help="The tenant the rows are loaded for: every row gets this tenant_id, and every key is computed "
                      "from (tenant, Odoo table, Odoo id)."),
    *database_options,
    click.option("--solution", "solution_name", metavar="NAME",
                 help="Load into this solution of the project config ([solution.NAME]): its migrations folder, "
                      "database and schema or prefix."),
    config_option,
    click.option("--check", is_flag=True,
                 help="Load nothing: compare, table by table, Odoo's rows (mapped) with the tenant's rows (count and "
                      "checksum); exit 8 naming every table that differs."),
    click.option("--on-invalid", type=click.Choice(["stop", "skip"]), default="stop", show_default=True,
                 help="A row whose values the generated schema refuses (a selection value the CHECK does not list, a "
                      "required field empty in Odoo, a text longer than its size, a reference ON DELETE RESTRICT to a "
                      "row Odoo does not hold): stop = load nothing and name the rows; skip = load the rest and write "
                      "the skipped rows to --skipped."),
    click.option("--skipped", "skipped_path", type=click.Path(dir_okay=False),
                 help="With --on-invalid skip: the file the skipped rows are written to, one JSON object per line "
                      "(default: fbs-import-skipped-<tenant>.jsonl)."),
    click.option("--jobs", type=click.IntRange(min=1, max=64), default=2, show_default=True,
                 help="Tables loaded at the same time (each with its own connections)."),
    lock_option,
    click.option("--json", "as_json", is_flag=True, help="Machine-readable output: every table, count and reason."),
    quiet_flag,
)


GENERATE_REPLACED = (("migrations_dir", "--migrations"), ("modules", "--modules"), ("preset", "--preset"),
                     ("with_references", "--with-references"), ("reference_depth", "--reference-depth"),
                     ("rules_path", "--rules"))
FOLDER_REPLACED = (("migrations_dir", "--migrations"), ("rules_path", "--rules"))
RUNNER_REPLACED = (("migrations_dir", "--migrations"), ("database_url", "--database-url"))
TARGET_REFUSED = (("target_version", "--target-version"),)


def typed(name: str) -> bool:
    return click.get_current_context().get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE


def solutions(solution: dict, *, databases: bool, replaced=(), refused=()):
    """The solutions --solution / --all name (None when neither is given), the config checked whole
    and, for commands that touch databases, every chosen solution's URL variable set: all before
    anything is touched (exit 2 naming the key). ``replaced``: options a solution provides, refused
    when typed with it; ``refused``: options that make no sense for several solutions."""
    from generator import api

    solution_name, all_solutions, config_path = solution["solution_name"], solution["all_solutions"], \
        solution["config_path"]
    if not solution_name and not all_solutions:
        if config_path:
            raise UsageError("--config goes with --solution NAME or --all")
        return None
    for name, flag in replaced:
        if typed(name):
            raise UsageError(f"{flag} comes from the solution's config; leave it out with --solution / --all")
    for name, flag in refused:
        if all_solutions and typed(name):
            raise UsageError(f"{flag} names one solution's migration; use it with --solution NAME, not --all")
    return api.load_solutions(config_path, solution_name, all_solutions, databases=databases)


def one_solution(solution_name, config_path):
    """import's --solution NAME (None without it): its folder and database replace those flags."""
    from generator import api

    if not solution_name:
        if config_path:
            raise UsageError("--config goes with --solution NAME")
        return None
    for name, flag in RUNNER_REPLACED:
        if typed(name):
            raise UsageError(f"{flag} comes from the solution's config; leave it out with --solution")
    (solution,) = api.load_solutions(config_path, solution_name, False, databases=True)
    return solution


def names(value: str | None) -> tuple[str, ...]:
    return tuple(m.strip() for m in value.split(",") if m.strip()) if value else ()


def _field_names(values) -> tuple[tuple[str, str], ...]:
    out = []
    for item in (v.strip() for value in values or () for v in value.split(",")):
        model, _, name = item.rpartition(".")
        if item and (not model or not name):
            raise click.BadParameter(f"{item!r} is not MODEL.FIELD (e.g. res.partner.credit_limit)",
                                     param_hint="--company-dependent")
        if item:
            out.append((model, name))
    return tuple(sorted(set(out)))


SOURCE_FLAGS = {"odoo_url": "--odoo-url", "odoo_dsn": "--odoo-dsn", "from_snapshot": "--from-snapshot",
                "snapshot_path": "--snapshot"}
SOURCE_ENV = {"odoo_url": "ODOO_BASE_URL", "odoo_dsn": "ODOO_DSN"}


def _chosen_source(values: dict[str, str | None]) -> str | None:
    """Which source to read: a flag typed on the command line beats the environment; two typed
    sources, or (with none typed) two set in the environment, are a usage error (exit 2)."""
    given = [name for name, value in values.items() if value and typed(name)]
    if len(given) > 1:
        raise UsageError(f"give one source, not {' and '.join(SOURCE_FLAGS[n] for n in given)}")
    if given:
        return given[0]
    from_env = [name for name, value in values.items() if value and name in SOURCE_ENV]
    if len(from_env) > 1:
        raise UsageError(f"both {' and '.join(SOURCE_ENV[n] for n in from_env)} are set: give the source "
                         "to read on the command line, or unset one")
    return from_env[0] if from_env else None


def source(values: dict, snapshot_path: str | None = None):
    """The ``api.Source`` the source flags name (see _chosen_source for which one); ``snapshot_path``:
    generate's own --snapshot, one more source that may not be typed with another."""
    from generator import api

    v = values
    extra = _field_names(v["company_dependent"])
    sources = {"odoo_url": v["odoo_url"], "odoo_dsn": v["odoo_dsn"], "from_snapshot": v["from_snapshot"]}
    if snapshot_path is not None:
        sources["snapshot_path"] = snapshot_path
    chosen = _chosen_source(sources)
    if chosen == "from_snapshot":
        return api.Source(snapshot_path=v["from_snapshot"])
    if chosen == "odoo_dsn":
        return api.Source(dsn=v["odoo_dsn"], company_dependent=extra)
    if chosen == "odoo_url":
        from generator.capture.transports import OdooConfig

        return api.Source(odoo=OdooConfig(url=v["odoo_url"], database=v["odoo_db"] or "", user=v["odoo_user"] or "",
                                          password=os.environ.get("ODOO_PASSWORD", ""), protocol=v["protocol"]),
                          company_dependent=extra)
    return api.Source()  # nothing, or generate's own --snapshot


def scope(values: dict) -> scoping.Scope:
    modules, preset, with_references, reference_depth = (values[k] for k in SCOPE)
    if typed("reference_depth") and not with_references:
        raise UsageError("--reference-depth goes with --with-references")
    if modules is not None and not names(modules):
        raise UsageError("--modules is empty; leave it out to take every installed module")
    return scoping.Scope(modules=names(modules), preset=preset, with_references=with_references,
                         reference_depth=reference_depth)


def timestamp(value: str | None) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y%m%d%H%M%S") if value else None
    except ValueError:
        raise UsageError(f"--timestamp {value!r} is not YYYYMMDDHHMMSS") from None


def write_output(output: str, text: str) -> None:
    if output == "-":
        click.echo(text, nl=False)
    else:
        from generator import snapshot as snapshots

        snapshots.write_atomic(output, text)

