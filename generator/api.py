"""One function per command. No printing, no exit codes: results are returned, problems raised
as ``generator.errors.FbsError`` subclasses, progress reported through ``Progress``."""

from __future__ import annotations

import gc
import os
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Protocol

from generator.capture import scope as scoping
from generator.errors import DestructiveChange, PossibleRename, SnapshotError, UsageError
from generator import layout
from generator.layout import KEPT_SNAPSHOT
from generator.placement import DEFAULT as DEFAULT_PLACEMENT
from generator.placement import Placement

# Each function imports the stages it uses, when it runs: a command loads only its own part of the
# pipeline (capture never loads the renderer or psycopg; --help loads none of it).
if TYPE_CHECKING:
    from generator import lint as lint_mod
    from generator import ops
    from generator.capture import catalog
    from generator.capture.transports import OdooConfig
    from generator.model import Snapshot
    from generator.render import MigrationFile
    from generator.rules import Rules
    from generator.runner import apply as runner_apply
    from generator.runner import verify as runner_verify
    from generator import solutions as solutions_mod
    from generator.tables import ExternalReference

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_SNAPSHOT = layout.shipped("snapshots") / "odoo-17.0-sales-inventory.json"


class Progress(Protocol):
    """How the library reports long work: ``step`` says what it is doing now (a terminal shows it,
    a CI log need not); ``notice`` is something to act on or wait for (a lock held by another
    runner, a retry, a check skipped), shown wherever the output goes. A reporter may also have
    ``committed(step)``: migrate and revert call it as each migration commits."""

    def step(self, message: str) -> None: ...

    def notice(self, message: str) -> None: ...


class Silent:
    def step(self, message: str) -> None:
        pass

    def notice(self, message: str) -> None:
        pass


@dataclass(frozen=True)
class Source:
    """Exactly one of the three capture sources."""

    odoo: OdooConfig | None = None  # a live Odoo over JSON-RPC, JSON-2 or XML-RPC
    dsn: str | None = None
    snapshot_path: str | None = None
    # (model, field) pairs to treat as company-dependent besides the series profile's (Odoo 17.0)
    company_dependent: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        if self.snapshot_path:
            return f"snapshot {self.snapshot_path}"
        if self.dsn:
            from generator.dsn import redact

            return f"the Odoo database ({redact(self.dsn)})"
        if self.odoo:
            from generator.dsn import redact

            return f"Odoo at {redact(self.odoo.url)} (database {self.odoo.database})"
        return "nothing"


@dataclass(frozen=True)
class CaptureResult:
    snapshot: Snapshot
    text: str  # the snapshot file's exact content
    sha256: str


def read_catalog(source: Source, progress: Progress) -> catalog.Catalog:
    from generator.capture import catalog

    given = [x for x in (source.odoo, source.dsn, source.snapshot_path) if x]
    if len(given) != 1:
        raise UsageError(
            "give exactly one source: --odoo-url (or ODOO_BASE_URL), --odoo-dsn (or ODOO_DSN), or --from-snapshot FILE"
        )
    progress.step(f"reading model metadata from {source.describe()}")
    if source.snapshot_path:
        from generator import snapshot as snapshots

        return catalog.from_snapshot(snapshots.load(source.snapshot_path))
    if source.dsn:
        from generator.capture import database

        return catalog.from_metadata(database.fetch(source.dsn, company_dependent=source.company_dependent))
    from generator.capture import rpc

    assert source.odoo is not None
    return catalog.from_metadata(rpc.fetch(source.odoo, company_dependent=source.company_dependent))


def capture(source: Source, scope: scoping.Scope, *, output: str | None = None,
            progress: Progress = Silent()) -> CaptureResult:
    """Capture a snapshot; write it to ``output`` atomically when given."""
    from generator import snapshot as snapshots

    cat = read_catalog(source, progress)
    snap = scoping.select(cat, scope, source=source.describe())
    text = snapshots.dumps(snap)
    progress.step(
        f"selected {len(snap.models)} models, {sum(len(m.fields) for m in snap.models)} fields "
        f"({len(snap.external_models)} referenced models left outside)"
    )
    for kind, what in (("view", "SQL views or queries"), ("manual", "tables Odoo makes by hand")):
        names = [t.name for t in snap.tableless if t.kind == kind]
        if names:
            progress.step(f"not rendered, {what}: {', '.join(names)}")
    if output:
        snapshots.write_atomic(output, text)
    return CaptureResult(snap, text, snapshots.sha256(text))


# ---------------------------------------------------------------------------------------------
# generate

@dataclass(frozen=True)
class GenerateOptions:
    migrations_dir: Path = Path("migrations")
    rules_path: str | None = None
    timestamp: datetime | None = None
    allow_destructive: bool = False
    dry_run: bool = False
    check: bool = False
    renames_path: str | None = None
    reversible: bool = False
    # a solution's: its rules (instead of rules_path), their text kept beside the migrations, its placement
    rules: Rules | None = None
    rules_text: str = ""
    placement: Placement = DEFAULT_PLACEMENT
    target: str | None = None  # postgres | citus | yugabyte ...; None: the folder's (fbs-target.json), else postgres


@dataclass(frozen=True)
class GenerateResult:
    status: str  # "no changes" | "written" | "planned" | "out of date"
    files: tuple[MigrationFile, ...]
    operations: tuple[ops.Op, ...]
    notes: tuple[str, ...]
    external: tuple[ExternalReference, ...]
    snapshot_sha: str
    upgrade: str | None = None  # "17.0 -> 18.0": the migration follows an Odoo upgrade
    reasons: dict[int, str] = field(default_factory=dict)  # operation index -> why it is destructive


def upgrade_of(previous: Snapshot, new: Snapshot) -> str | None:
    """'17.0 -> 18.0' when the new snapshot is of a newer Odoo series than the kept one."""
    if previous.models and previous.odoo_version != new.odoo_version:
        return f"{previous.odoo_version} -> {new.odoo_version}"
    return None


def load_new_snapshot(source: Source | None, scope: scoping.Scope, snapshot_path: str | None,
                      progress: Progress) -> Snapshot:
    from generator import snapshot as snapshots

    if source is not None and any((source.odoo, source.dsn, source.snapshot_path)):
        with _without_cyclic_gc():
            return capture(source, scope, progress=progress).snapshot
    path = snapshot_path or str(BUNDLED_SNAPSHOT)
    progress.step(f"using snapshot {path}")
    with _without_cyclic_gc():  # the reader builds every model and field object (3 s of collector at 10,000 models)
        return snapshots.load(path)


def data_at_risk(result: GenerateResult, database_url: str | None,
                 placement: Placement = DEFAULT_PLACEMENT) -> dict[int, int | None]:
    """For ``plan --database-url``: rows or values each destructive operation would lose there, in
    the placement's schema and under its prefix (a solution's, with ``--solution``)."""
    from generator.runner import counts

    return counts.lost(list(result.operations), database_url, placement)


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Generating allocates millions of small objects that live to the end (schemas, operations,
    SQL text) and hold no reference cycles worth collecting; CPython's cyclic collector would walk
    them again and again (a third of the time at 15,000 models, and growing faster than the schema).
    Reference counting still frees everything; the collector runs again afterwards. What generate
    allocated and keeps is then old: freeze + unfreeze moves every tracked object to the oldest
    generation without walking them (enabling alone would make the next allocation walk all of them
    as young objects, 17 ms on one Odoo's schema, seconds at 10,000 models)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def generate(new: Snapshot, options: GenerateOptions = GenerateOptions(), progress: Progress = Silent()) -> GenerateResult:
    from generator import naming

    with _without_cyclic_gc():
        try:
            return _generate(new, options, progress)
        finally:
            naming.ident.cache_clear()  # one schema's names, not every schema's of a long-lived process


def _generate(new: Snapshot, options: GenerateOptions, progress: Progress) -> GenerateResult:
    """The diff against the folder; only when there is something to write (or plan) does the
    renderer (and jinja2) load, in ``_emit``."""
    from generator import diff as diff_mod
    from generator import folder as folder_mod
    from generator import rules
    from generator import snapshot as snapshots
    from generator import target as target_mod

    folder = options.migrations_dir
    existing = folder_mod.existing_migrations(folder)  # read (and checksummed) once for this whole command
    target = target_mod.resolve(folder, options.target, bool(existing) or (folder / KEPT_SNAPSHOT).exists())
    text = snapshots.dumps(new)
    sha = snapshots.sha256(text)
    previous, previous_rules = folder_mod.previous_state(folder, new, existing, new_text=text)
    current_rules = options.rules if options.rules is not None else rules.load(options.rules_path)
    rules.check_models(current_rules, new)
    hints, rename_notes = _rename_hints(options.renames_path, previous, new)
    progress.step("computing the schema and its changes")
    plan = diff_mod.plan(previous, new, current_rules, hints, previous_rules, options.placement)
    operations = list(plan.operations)
    notes = tuple(rename_notes) + tuple(str(n) for n in plan.new.notes) + _null_notes(operations)
    if not operations:
        return GenerateResult("no changes", (), (), notes, (), sha)
    if options.check:
        return GenerateResult("out of date", (), tuple(operations), notes, (), sha)
    changes = _Changes(previous, new, plan, notes, text, sha, existing, target, current_rules)
    return _emit(changes, options, progress)


@dataclass(frozen=True)
class _Changes:
    """What ``_generate`` found, for ``_emit`` to render and write."""

    previous: Snapshot
    new: Snapshot
    plan: object  # diff.Plan
    notes: tuple[str, ...]
    text: str  # the new snapshot file's content
    sha: str
    existing: list
    target: object  # target.Target
    rules: Rules


def _emit(c: _Changes, options: GenerateOptions, progress: Progress) -> GenerateResult:
    from generator import folder as folder_mod
    from generator import planning, render
    from generator import upgrade as upgrade_mod
    from generator.model import series_key
    from generator.render import SnapshotInfo

    previous, new, plan, operations = c.previous, c.new, c.plan, list(c.plan.operations)
    destructive = upgrade_mod.explain(operations, previous, new)
    if destructive and not options.allow_destructive:
        listing = "\n".join(f"  - {line}" for line in destructive)
        raise DestructiveChange(
            f"the change is destructive and was refused; nothing was written:\n{listing}\n"
            "Give --allow-destructive to emit it anyway (under a loud header), or add rename hints if these are renames."
        )
    upgrade = upgrade_of(previous, new)
    info = SnapshotInfo(c.sha, new.odoo_version, new.modules, upgrade)
    description = None
    if previous.models:
        description = f"upgrade to odoo {series_key(new.odoo_version)[0]}" if upgrade else "schema update"
    file_plans = planning.files(plan, description, c.rules.lock_budget)
    stamps = planning.versions(options.timestamp or _now(), len(file_plans), c.existing[-1][0] if c.existing else None)
    refs = render.external_refs(plan.new)
    files = _render_files(plan, file_plans, stamps, info, c.target, c.rules, options.reversible, refs)
    external = render.external_of(operations, plan.new, refs)
    reasons = {i: upgrade_mod.reason(op, previous, new) for i, op in enumerate(operations) if op.destructive}
    result = GenerateResult("planned", files, tuple(operations), c.notes, external, c.sha, upgrade, reasons)
    if options.dry_run:
        return result
    progress.step(f"writing {len(files)} migration file(s) to {options.migrations_dir}")
    if options.rules is not None:
        kept_rules_text = options.rules_text
    else:
        kept_rules_text = Path(c.rules.source).read_text("utf-8") if c.rules.source else ""
    folder_mod.write(options.migrations_dir, folder_mod.Generation(files, c.text, c.target, kept_rules_text))
    return replace(result, status="written")


def _rename_hints(renames_path: str | None, previous: Snapshot, new: Snapshot):
    """The rename hints (and notes about them); ``PossibleRename`` when a field disappeared while one of
    the same type appeared and no hint says whether it is a rename."""
    from generator import renames as renames_mod

    hints, rename_notes = renames_mod.resolve(renames_mod.load(renames_path), previous, new)
    suggestions = renames_mod.suggest(previous, new, hints)
    if suggestions:
        listing, toml = renames_mod.explain(suggestions)
        raise PossibleRename(
            f"these fields disappeared while a field of the same type appeared on the same model; "
            f"were they renamed? (evidence in brackets)\n{listing}\nNothing was written. Say which in "
            f"{renames_mod.DEFAULT_FILE} (or --renames FILE): [[field]] is a rename (the column keeps its data), "
            f"[[unrelated]] is not (the old column is dropped, which needs --allow-destructive). A start, "
            f"renames for the suggestions with more evidence than their type; review every line:\n\n{toml}"
        )
    return hints, rename_notes


def _null_notes(operations) -> tuple[str, ...]:
    """Warnings for columns that become NOT NULL on tables that may hold rows without a value."""
    from generator import ops

    return tuple(
        f"new required column {op.table}.{op.column.name} on an existing table: the migration fails if the "
        f"table has rows; give existing rows a value with a [[default]] entry in the rules file"
        for op in operations
        if isinstance(op, ops.AddColumn) and op.column.not_null and op.column.backfill is None
    ) + tuple(
        f"column {op.table}.{op.after.name} becomes NOT NULL: the migration fails if a row holds NULL there; "
        f"give those rows a value with a [[default]] entry in the rules file"
        for op in operations
        if isinstance(op, ops.AlterColumn) and op.after.not_null and not op.before.not_null and op.after.backfill is None
    )


def _render_files(plan, file_plans, stamps, info, target, current_rules, reversible: bool,
                  refs) -> tuple[MigrationFile, ...]:
    """Each planned file as SQL text (with its down twin when ``reversible``)."""
    from generator import diff as diff_mod
    from generator import planning, render

    timeouts = planning.Timeouts(current_rules.lock_timeout, current_rules.statement_timeout)
    anchor = planning.anchor_of(plan.old, plan.new, [op for f in file_plans for op in f.operations])
    files: list[MigrationFile] = []
    for file_plan, version in zip(file_plans, stamps):
        common = dict(description=file_plan.description, version=version, snapshot=info,
                      no_transaction=file_plan.no_transaction, timeouts=timeouts, target=target, anchor=anchor)
        up = list(file_plan.operations)
        external = render.external_of(up, plan.new, refs)
        if not reversible:
            files.append(render.render_file(up, external=external, **common))
            continue
        files.append(render.render_file(up, external=external, suffix=".up.sql", **common))
        files.append(render.render_file(diff_mod.reverse(up), suffix=".down.sql", down_of=version, **common))
    return tuple(files)


def _now() -> datetime:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc).replace(tzinfo=None)
    return datetime.now(timezone.utc).replace(tzinfo=None)


# ---------------------------------------------------------------------------------------------
# runner

def migrate(options: runner_apply.RunOptions, progress: Progress = Silent()) -> list[runner_apply.Step]:
    from generator.runner import apply as runner_apply

    return runner_apply.migrate(options, progress)


def revert(options: runner_apply.RunOptions, progress: Progress = Silent()) -> list[runner_apply.Step]:
    from generator.runner import apply as runner_apply

    return runner_apply.revert(options, progress)


def status(options: runner_apply.RunOptions) -> list[runner_apply.StatusRow]:
    from generator.runner import apply as runner_apply

    return runner_apply.status(options)


def verify(options: runner_apply.RunOptions, progress: Progress = Silent()) -> list[runner_verify.Difference]:
    from generator.runner import verify as runner_verify

    progress.step("building the expected schema in a scratch schema and comparing catalogs")
    return runner_verify.verify(options.migrations_dir, options.database_url, placement=options.placement)


def baseline(options: runner_apply.RunOptions, progress: Progress = Silent()) -> list[runner_apply.Step]:
    from generator.runner import apply as runner_apply
    from generator.runner import verify as runner_verify

    return runner_apply.baseline(
        options, progress,
        lambda: runner_verify.verify(options.migrations_dir, options.database_url, up_to=options.target_version,
                                     placement=options.placement))


# ---------------------------------------------------------------------------------------------
# lint

@dataclass(frozen=True)
class LintResult:
    findings: tuple[lint_mod.Finding, ...]
    up_to_date: bool | None  # None: not checked
    pending: int
    sqlfluff: lint_mod.ToolRun | None  # None: not run
    squawk: lint_mod.ToolRun | None

    @property
    def ok(self) -> bool:
        return (not self.findings and self.up_to_date is not False
                and all(run is None or run.exit_code == 0 for run in (self.sqlfluff, self.squawk)))


def lint(migrations_dir: Path, snapshot_path: str | None = None, *, check_up_to_date: bool = True,
         sqlfluff: bool = True, squawk: bool = True, rules_path: str | None = None, cache: bool = True,
         progress: Progress = Silent(), solution: solutions_mod.Solution | None = None) -> LintResult:
    """``cache``: lint with sqlfluff and squawk only the files they have not found clean before.
    ``solution``: its folder is ``migrations_dir``; its placement and rules are used, and a given
    snapshot is first narrowed to its selection."""
    from generator import folder as folder_mod
    from generator import lint as lint_mod
    from generator import tenant
    from generator import snapshot as snapshots

    progress.step(f"semantic checks of {migrations_dir}")
    placement = solution.placement if solution else DEFAULT_PLACEMENT
    kept, kept_rules = folder_mod.load_kept(migrations_dir)
    integer_ids = frozenset(
        (t.name, c.name) for t in (tenant.build(kept, kept_rules, placement).tables if kept else ())
        for c in t.columns if c.type == "integer" and tenant.looks_like_record_id(c.name)
    )
    findings = tuple(lint_mod.semantic(migrations_dir, integer_ids))
    from generator import target as target_mod

    target = target_mod.of_folder(migrations_dir)
    if not target.postgres_syntax and (sqlfluff or squawk):
        progress.notice(f"sqlfluff and squawk skipped: they parse PostgreSQL, and target {target.name}'s SQL is not "
                      "all PostgreSQL syntax (the semantic checks above include its own rules)")
        sqlfluff = squawk = False
    up_to_date, pending = None, 0
    if check_up_to_date:
        # against the given snapshot, else the one kept in the folder: then the check says whether
        # the current rules file and this version of fbs-schema still give the same schema
        new = snapshots.load(snapshot_path) if snapshot_path else kept
        if solution is not None and snapshot_path:
            new = solution_snapshot(solution, Source(snapshot_path=snapshot_path), progress)
        if new is not None:
            options = GenerateOptions(migrations_dir=migrations_dir, check=True, rules_path=rules_path)
            if solution is not None:
                options = solution_generate_options(solution, options)
            result = generate(new, options)
            up_to_date, pending = result.status == "no changes", len(result.operations)
    clean = lint_mod.CleanCache.beside(migrations_dir) if cache else lint_mod.CleanCache(None)
    folders = [Path.cwd(), migrations_dir, migrations_dir.resolve().parent]
    runs: dict[str, lint_mod.ToolRun | None] = {"sqlfluff": None, "squawk": None}
    try:
        for name, wanted, paths in (("sqlfluff", sqlfluff, sorted(migrations_dir.glob("*.sql"))),
                                    ("squawk", squawk, [p for _, p in folder_mod.existing_migrations(migrations_dir)])):
            if wanted:
                progress.step(name)
                runs[name] = lint_mod.run_cached(name, paths, clean, folders)
    except FileNotFoundError as exc:
        raise UsageError(f"{exc.args[0]} is not installed (make install puts it in .venv)") from None
    return LintResult(findings, up_to_date, pending, runs["sqlfluff"], runs["squawk"])


# ---------------------------------------------------------------------------------------------
# diagram

def diagram(snap: Snapshot, *, module: str | None = None, tables: tuple[str, ...] = (), columns: str = "keys",
            changes_from: Path | None = None, rules_path: str | None = None, internal: bool = False,
            solution: solutions_mod.Solution | None = None) -> str:
    """Mermaid ER diagram of the schema (or one module, or some tables, or the tables a pending
    migration against the snapshot kept in ``changes_from`` would touch). ``solution``: with its
    rules and placement (``snap`` already narrowed to its selection)."""
    from generator import folder as folder_mod
    from generator import diagram as diagram_mod
    from generator import diff as diff_mod
    from generator import rules, tenant

    placement = solution.placement if solution else DEFAULT_PLACEMENT
    current_rules = solution.rules if solution else rules.load(rules_path)
    rules.check_models(current_rules, snap)
    schema = tenant.build(snap, current_rules, placement)
    if changes_from is not None:
        previous, previous_rules = folder_mod.previous_state(changes_from, snap)
        changes = diff_mod.plan(previous, snap, current_rules, old_rules=previous_rules, placement=placement)
        touched = {op.table_name for op in changes.operations}
        tables = tuple(sorted(t for t in touched if schema.table(t) is not None))
        if not tables:
            raise UsageError(f"no table changes between {changes_from / KEPT_SNAPSHOT} and the snapshot")
    chosen = diagram_mod.select_tables(schema, module=module, tables=tables)
    return diagram_mod.render(schema, chosen, columns, internal)


# ---------------------------------------------------------------------------------------------
# compare-odoo

def compare_odoo(dsn: str, *, snapshot_path: str | None = None, migrations_dir: Path | None = None,
                 rules_path: str | None = None, progress: Progress = Silent()):
    """Compare an Odoo database's own tables with the schema generated from a snapshot (given, or
    kept beside the migrations in ``migrations_dir``, default ``migrations``, with its kept rules).
    Returns a ``generator.compare.Comparison``."""
    from generator import folder as folder_mod
    from generator import compare as compare_mod
    from generator import rules, tenant
    from generator import snapshot as snapshots
    from generator.capture import catalog, database, odoo_catalog
    from generator.dsn import redact

    if snapshot_path and migrations_dir is not None:
        raise UsageError("give --snapshot or --migrations, not both")
    if snapshot_path:
        snap, current_rules = snapshots.load(snapshot_path), rules.load(rules_path)
        rules.check_models(current_rules, snap)
    else:
        if rules_path:
            raise UsageError("--rules goes with --snapshot; migrations use the rules kept beside them")
        folder = migrations_dir if migrations_dir is not None else Path("migrations")
        snap, current_rules = folder_mod.load_kept(folder)
        if snap is None:
            raise SnapshotError(f"{folder} holds no {KEPT_SNAPSHOT}: generate migrations first, or give --snapshot")
    progress.step(f"reading model metadata and tables from the Odoo database ({redact(dsn)})")
    metadata = database.fetch(dsn)
    tables = odoo_catalog.read(dsn)
    cat = catalog.from_metadata(metadata)
    if snap.odoo_version != cat.odoo_version:
        raise SnapshotError(f"the snapshot is of Odoo {snap.odoo_version} but the database is Odoo {cat.odoo_version}")
    progress.step(f"comparing {len(tables)} Odoo tables with the schema of {len(snap.models)} models")
    schema = tenant.build(snap, current_rules)
    return compare_mod.compare(tables, cat, metadata, snap, schema, current_rules)


# ---------------------------------------------------------------------------------------------
# solutions: several selections, databases, schemas and prefixes from one config

def load_solutions(config_path: str | None, name: str | None, every: bool, *,
                   databases: bool = False) -> tuple[solutions_mod.Solution, ...]:
    """The solutions ``--solution NAME`` / ``--all`` name, after the whole config was checked;
    ``databases``: every chosen one's URL variable must be set. Nothing is touched before."""
    from generator import solutions as solutions_mod

    chosen = solutions_mod.select(solutions_mod.load(config_path), name, every)
    if databases:
        solutions_mod.check_databases(chosen)
    return chosen


def solution_snapshot(solution: solutions_mod.Solution, source: Source | None, progress: Progress = Silent(),
                      snapshot_path: str | None = None) -> Snapshot:
    """The solution's selection applied to a source: a capture source when one is given, else a
    snapshot file (``snapshot_path``, default the bundled one) re-filtered through the catalog."""
    from generator import snapshot as snapshots
    from generator.capture import catalog

    if source is not None and any((source.odoo, source.dsn, source.snapshot_path)):
        return capture(source, solution.scope, progress=progress).snapshot
    path = snapshot_path or str(BUNDLED_SNAPSHOT)
    progress.step(f"{solution.name}: {solution.selection()} from snapshot {path}")
    return scoping.select(catalog.from_snapshot(snapshots.load(path)), solution.scope, source=f"snapshot {path}")


def solution_generate_options(solution: solutions_mod.Solution, options: GenerateOptions) -> GenerateOptions:
    return replace(options, migrations_dir=solution.migrations_dir, rules_path=None, rules=solution.rules,
                   rules_text=solution.rules_text, placement=solution.placement, target=solution.target)


def solution_run_options(solution: solutions_mod.Solution, **extra) -> runner_apply.RunOptions:
    from generator.runner.apply import RunOptions

    return RunOptions(migrations_dir=solution.migrations_dir, database_url=solution.database_url(),
                      placement=solution.placement, **extra)


@dataclass(frozen=True)
class SetupResult:
    solution: str
    database: str
    created_database: bool
    created_schema: bool
    generated: tuple[str, ...]  # files written because the folder held no migrations
    applied: tuple[runner_apply.Step, ...]

    @property
    def did_nothing(self) -> bool:
        return not (self.created_database or self.created_schema or self.generated or self.applied)


def setup(solution: solutions_mod.Solution, progress: Progress = Silent(), *, wait_for_lock: float = 60.0,
          timestamp: datetime | None = None) -> SetupResult:
    """Set a solution up from nothing: its database (created when missing), its schema (when it
    has one), its migrations (generated from its selection of the bundled snapshot when its folder
    holds none) and every migration applied and recorded in its ledger. A second run does nothing."""
    from generator import folder as folder_mod
    from generator.runner import apply as runner_apply
    from generator.runner import provision

    url = solution.database_url()
    database, created_db = provision.ensure_database(url)
    if created_db:
        progress.step(f"{solution.name}: created database {database}")
    created_schema = False
    if solution.placement.schema:
        created_schema = provision.ensure_schema(url, solution.placement.schema)
        if created_schema:
            progress.step(f"{solution.name}: created schema {solution.placement.schema} in {database}")
    generated: tuple[str, ...] = ()
    if not [p for _, p in folder_mod.existing_migrations(solution.migrations_dir)]:
        snap = solution_snapshot(solution, None, progress)
        result = generate(snap, solution_generate_options(
            solution, GenerateOptions(timestamp=timestamp)), progress)
        generated = tuple(f.filename for f in result.files)
    steps = runner_apply.migrate(solution_run_options(solution, wait_for_lock=wait_for_lock), progress)
    return SetupResult(solution.name, database, created_db, created_schema, generated, tuple(steps))


@dataclass(frozen=True)
class SolutionState:
    name: str
    selection: str
    target: str
    placement: str  # "database sales (SALES_DATABASE_URL)", "schema inventory in ...", "prefix pur_ in ..."
    migrations: str
    reachable: bool
    state: str  # "up to date" | "N pending" | "drift" | "not set up" | "unreachable" | "no migrations"
    applied: int = 0
    pending: int = 0
    drift: int = 0  # applied migrations changed or missing on disk, or failed
    problem: str = ""


def solutions(chosen: tuple[solutions_mod.Solution, ...]) -> list[SolutionState]:
    """Where each solution lives and what is applied, pending or drifted there."""
    from generator import folder as folder_mod
    from generator.errors import MigrationError
    from generator.runner import apply as runner_apply
    from generator.runner import provision

    out = []
    for s in chosen:
        url = s.database_url()
        database = provision.database_name(url)
        where = f"database {database} (${s.database_url_env})"
        if s.placement.schema:
            where = f"schema {s.placement.schema} in {where}"
        if s.placement.prefix:
            where = f"prefix {s.placement.prefix} in {where}"
        from generator import target as target_mod

        kept = target_mod.recorded(s.migrations_dir)  # the folder's, once it holds migrations
        common = dict(name=s.name, selection=s.selection(), target=kept.name if kept else s.target, placement=where,
                      migrations=str(s.migrations_dir))
        problem = provision.probe(url, s.placement.schema)
        if problem is not None:
            reachable, text = problem
            out.append(SolutionState(**common, reachable=reachable, state="not set up" if reachable else "unreachable",
                                     problem=text))
            continue
        if not folder_mod.existing_migrations(s.migrations_dir):
            out.append(SolutionState(**common, reachable=True, state="no migrations",
                                     problem=f"{s.migrations_dir} holds no migrations: run setup or generate"))
            continue
        try:
            rows = runner_apply.status(solution_run_options(s))
        except MigrationError as exc:
            out.append(SolutionState(**common, reachable=True, state="drift", problem=str(exc)))
            continue
        applied = sum(r.state == "applied" for r in rows)
        pending = sum(r.state == "pending" for r in rows)
        drift = len(rows) - applied - pending
        state = "drift" if drift else f"{pending} pending" if pending else "up to date"
        if applied == 0 and pending and not drift:
            state = "not set up"
        out.append(SolutionState(**common, reachable=True, state=state, applied=applied, pending=pending,
                                 drift=drift))
    return out


# ---------------------------------------------------------------------------------------------
# import: an Odoo database's rows into the migrated target, for one tenant

def import_options(solution: solutions_mod.Solution | None, **given):
    """The options of an import: as given, or with the solution's migrations folder, database and
    placement (``--solution NAME``)."""
    from generator.importer.run import ImportOptions

    if solution is not None:
        given.update(migrations_dir=solution.migrations_dir, database_url=solution.database_url(),
                     placement=solution.placement)
    return ImportOptions(**given)


def import_rows(options, progress: Progress = Silent()):
    """Load (``options.check``: compare) the tenant's rows from the Odoo database; returns a
    ``generator.importer.run.ImportResult``."""
    from generator.importer import run

    return run.run(options, progress)
