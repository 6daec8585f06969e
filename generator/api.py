"""One function per command. No printing, no exit codes: results are returned, problems raised
as ``generator.errors.FbsError`` subclasses, progress reported through ``Progress``."""

from __future__ import annotations

import gc
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Protocol

from generator import diff as diff_mod
from generator import ops, render, rules, tenant
from generator import snapshot as snapshots
from generator.capture import catalog, database, scope as scoping, xmlrpc
from generator import diagram as diagram_mod
from generator import lint as lint_mod
from generator import renames as renames_mod
from generator.errors import DestructiveChange, PossibleRename, SnapshotError, UsageError
from generator.model import Snapshot
from generator.render import MigrationFile, SnapshotInfo
from generator.runner import apply as runner_apply
from generator.runner import files as migration_files
from generator.runner import verify as runner_verify
from generator.tables import ExternalReference

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_SNAPSHOT = PROJECT_ROOT / "snapshots" / "odoo-17.0-sales-inventory.json"


class Progress(Protocol):
    def step(self, message: str) -> None: ...


class Silent:
    def step(self, message: str) -> None:
        pass


@dataclass(frozen=True)
class Source:
    """Exactly one of the three capture sources."""

    xmlrpc: xmlrpc.XmlRpcConfig | None = None
    dsn: str | None = None
    snapshot_path: str | None = None

    def describe(self) -> str:
        if self.snapshot_path:
            return f"snapshot {self.snapshot_path}"
        if self.dsn:
            return f"the Odoo database ({database.redact(self.dsn)})"
        if self.xmlrpc:
            return f"Odoo at {self.xmlrpc.url} (database {self.xmlrpc.database})"
        return "nothing"


@dataclass(frozen=True)
class CaptureResult:
    snapshot: Snapshot
    text: str  # the snapshot file's exact content
    sha256: str


def read_catalog(source: Source, progress: Progress) -> catalog.Catalog:
    given = [x for x in (source.xmlrpc, source.dsn, source.snapshot_path) if x]
    if len(given) != 1:
        raise UsageError(
            "give exactly one source: --odoo-url (or ODOO_BASE_URL), --odoo-dsn (or ODOO_DSN), or --from-snapshot FILE"
        )
    progress.step(f"reading model metadata from {source.describe()}")
    if source.snapshot_path:
        return catalog.from_snapshot(snapshots.load(source.snapshot_path))
    if source.dsn:
        return catalog.from_metadata(database.fetch(source.dsn))
    assert source.xmlrpc is not None
    return catalog.from_metadata(xmlrpc.fetch(source.xmlrpc))


def capture(source: Source, scope: scoping.Scope, *, output: str | None = None,
            progress: Progress = Silent()) -> CaptureResult:
    """Capture a snapshot; write it to ``output`` atomically when given."""
    cat = read_catalog(source, progress)
    snap = scoping.select(cat, scope, source=source.describe())
    text = snapshots.dumps(snap)
    progress.step(
        f"selected {len(snap.models)} models, {sum(len(m.fields) for m in snap.models)} fields "
        f"({len(snap.external_models)} referenced models left outside)"
    )
    if output:
        snapshots.write_atomic(output, text)
    return CaptureResult(snap, text, snapshots.sha256(text))


# ---------------------------------------------------------------------------------------------
# generate

KEPT_SNAPSHOT = render.KEPT_SNAPSHOT
KEPT_RULES = render.KEPT_RULES
_HEADER_SHA = re.compile(r"^-- Snapshot: sha256:([0-9a-f]{64})", re.M)


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


@dataclass(frozen=True)
class GenerateResult:
    status: str  # "no changes" | "written" | "planned" | "out of date"
    files: tuple[MigrationFile, ...]
    operations: tuple[ops.Op, ...]
    notes: tuple[str, ...]
    external: tuple[ExternalReference, ...]
    snapshot_sha: str


def existing_migrations(folder: Path) -> list[tuple[int, Path]]:
    """(version, path) of every file in sqlx's layout in ``folder``, in order; nothing else."""
    out = []
    if folder.is_dir():
        for p in folder.iterdir():
            parsed = migration_files.split_name(p.name)
            if parsed:
                out.append((parsed[0], p))
    return sorted(out)


def _previous_state(folder: Path, new: Snapshot) -> tuple[Snapshot, rules.Rules]:
    kept = folder / KEPT_SNAPSHOT
    files = [p for _, p in existing_migrations(folder) if not p.name.endswith(".down.sql")]
    previous, kept_rules = render.load_kept(folder)
    if previous is None:
        if files:
            raise SnapshotError(
                f"{folder} holds migrations but no {KEPT_SNAPSHOT}, so the next migration cannot be computed; "
                "restore it from version control"
            )
        return Snapshot.empty(new.odoo_version), kept_rules
    if files:
        text = kept.read_text("utf-8")
        header = _HEADER_SHA.search(files[-1].read_text("utf-8"))
        if header and header.group(1) != snapshots.sha256(text):
            raise SnapshotError(
                f"{kept} (sha256 {snapshots.sha256(text)[:12]}) is not the snapshot that the newest migration "
                f"{files[-1].name} was generated from (sha256 {header.group(1)[:12]}); was it edited? "
                "Restore it from version control"
            )
    if previous.odoo_version != new.odoo_version and previous.models:
        raise SnapshotError(
            f"the new snapshot is of Odoo {new.odoo_version} but {kept} is of Odoo {previous.odoo_version}; "
            "migrating between Odoo versions is not supported: start a new migrations folder"
        )
    return previous, kept_rules


def load_new_snapshot(source: Source | None, scope: scoping.Scope, snapshot_path: str | None,
                      progress: Progress) -> Snapshot:
    if source is not None and any((source.xmlrpc, source.dsn, source.snapshot_path)):
        return capture(source, scope, progress=progress).snapshot
    path = snapshot_path or str(BUNDLED_SNAPSHOT)
    progress.step(f"using snapshot {path}")
    return snapshots.load(path)


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Generating allocates millions of small objects that live to the end (schemas, operations,
    SQL text) and hold no reference cycles worth collecting; CPython's cyclic collector would walk
    them again and again (a third of the time at 15,000 models, and growing faster than the schema).
    Reference counting still frees everything; the collector runs again afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def generate(new: Snapshot, options: GenerateOptions = GenerateOptions(), progress: Progress = Silent()) -> GenerateResult:
    with _without_cyclic_gc():
        return _generate(new, options, progress)


def _generate(new: Snapshot, options: GenerateOptions, progress: Progress) -> GenerateResult:
    folder = options.migrations_dir
    text = snapshots.dumps(new)
    sha = snapshots.sha256(text)
    previous, previous_rules = _previous_state(folder, new)
    current_rules = rules.load(options.rules_path)
    rules.check_defaults(current_rules, new.model_map)
    hints, rename_notes = renames_mod.resolve(renames_mod.load(options.renames_path), previous, new)
    possible = renames_mod.possible_renames(previous, new, hints)
    if possible:
        listing = "\n".join(f"  - {m}: {o} -> {n}" for m, o, n in possible)
        first = possible[0]
        raise PossibleRename(
            f"these fields disappeared while a field of the same type appeared on the same model; "
            f"were they renamed?\n{listing}\nNothing was written. Say which in {renames_mod.DEFAULT_FILE} "
            f"(or --renames FILE):\n"
            f"  [[field]]      # a rename: the column keeps its data\n"
            f"  model = \"{first[0]}\"\n  old = \"{first[1]}\"\n  new = \"{first[2]}\"\n"
            f"or, if they are unrelated, the same three keys under [[unrelated]] "
            f"(the old column is then dropped, which needs --allow-destructive)."
        )
    progress.step("computing the schema and its changes")
    old_schema = tenant.build(previous, previous_rules)
    new_schema = tenant.build(new, current_rules)
    physical = diff_mod.physical_renames(previous, new, old_schema, new_schema, hints)
    operations = diff_mod.diff_schemas(old_schema, new_schema, physical)
    notes = tuple(rename_notes) + new_schema.notes + tuple(
        f"new required column {op.table}.{op.column.name} on an existing table: the migration fails if the "
        f"table has rows; give existing rows a value with a [[default]] entry in the rules file"
        for op in operations
        if isinstance(op, ops.AddColumn) and op.column.not_null and op.column.backfill is None
    )
    if not operations:
        return GenerateResult("no changes", (), (), notes, (), sha)
    if options.check:
        return GenerateResult("out of date", (), tuple(operations), notes, (), sha)
    destructive = [op for op in operations if op.destructive]
    if destructive and not options.allow_destructive:
        listing = "\n".join(f"  - {op.describe()}" for op in destructive)
        raise DestructiveChange(
            f"the change is destructive and was refused; nothing was written:\n{listing}\n"
            "Give --allow-destructive to emit it anyway (under a loud header), or add rename hints if these are renames."
        )
    info = SnapshotInfo(sha, new.odoo_version, new.modules)
    if previous.models:
        groups = [("schema update", operations)]
    else:
        groups = render.group_initial(operations, new_schema)
    plans = [plan for description, group in groups for plan in render.lock_safe(description, group)]
    existing = existing_migrations(folder)
    stamps = render.versions(options.timestamp or _now(), len(plans), existing[-1][0] if existing else None)
    timeouts = render.Timeouts(current_rules.lock_timeout, current_rules.statement_timeout)
    files: list[MigrationFile] = []
    refs = render.external_refs(new_schema)
    for plan, version in zip(plans, stamps):
        common = dict(description=plan.description, version=version, snapshot=info,
                      no_transaction=plan.no_transaction, timeouts=timeouts)
        external = render.external_of(list(plan.operations), new_schema, refs)
        if not options.reversible:
            files.append(render.render_file(list(plan.operations), external=external, **common))
            continue
        files.append(render.render_file(list(plan.operations), external=external, suffix=".up.sql", **common))
        files.append(render.render_file(diff_mod.reverse(list(plan.operations)), suffix=".down.sql",
                                        down_of=version, **common))
    files = tuple(files)
    external = render.external_of(operations, new_schema, refs)
    if options.dry_run:
        return GenerateResult("planned", files, tuple(operations), notes, external, sha)
    progress.step(f"writing {len(files)} migration file(s) to {folder}")
    writes = [(_inside(folder, f.filename), f.text) for f in files] + [(folder / KEPT_SNAPSHOT, text)]
    if current_rules.source:
        writes.append((folder / KEPT_RULES, Path(current_rules.source).read_text("utf-8")))
    elif (folder / KEPT_RULES).exists():
        (folder / KEPT_RULES).unlink()
    for path, content in writes:
        snapshots.write_atomic(path, content)
    return GenerateResult("written", files, tuple(operations), notes, external, sha)


def _inside(folder: Path, name: str) -> Path:
    """``folder / name``, checked (after resolving links and ``..``) to be a file directly in ``folder``."""
    path = folder / name
    if path.resolve().parent != folder.resolve() or path.name != name:
        raise UsageError(f"refusing to write {name!r}: it would land outside {folder}")
    return path


def _now() -> datetime:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc).replace(tzinfo=None)
    return datetime.now(timezone.utc).replace(tzinfo=None)


# ---------------------------------------------------------------------------------------------
# runner

def migrate(options: runner_apply.RunOptions, progress: Progress = Silent()) -> list[runner_apply.Step]:
    return runner_apply.migrate(options, progress)


def revert(options: runner_apply.RunOptions, progress: Progress = Silent()) -> list[runner_apply.Step]:
    return runner_apply.revert(options, progress)


def status(options: runner_apply.RunOptions) -> list[runner_apply.StatusRow]:
    return runner_apply.status(options)


def verify(options: runner_apply.RunOptions) -> list[runner_verify.Difference]:
    return runner_verify.verify(options.migrations_dir, options.database_url)


def baseline(options: runner_apply.RunOptions, progress: Progress = Silent()) -> list[runner_apply.Step]:
    return runner_apply.baseline(options, progress, lambda: verify(options))


# ---------------------------------------------------------------------------------------------
# lint

@dataclass(frozen=True)
class LintResult:
    findings: tuple[lint_mod.Finding, ...]
    up_to_date: bool | None  # None: not checked
    pending: int
    sqlfluff: tuple[int, str] | None
    squawk: tuple[int, str] | None

    @property
    def ok(self) -> bool:
        return (not self.findings and self.up_to_date is not False
                and (self.sqlfluff is None or self.sqlfluff[0] == 0) and (self.squawk is None or self.squawk[0] == 0))


def lint(migrations_dir: Path, snapshot_path: str | None = None, *, check_up_to_date: bool = True,
         sqlfluff: bool = True, squawk: bool = True, rules_path: str | None = None,
         progress: Progress = Silent()) -> LintResult:
    progress.step(f"semantic checks of {migrations_dir}")
    findings = tuple(lint_mod.semantic(migrations_dir))
    up_to_date, pending = None, 0
    if check_up_to_date:
        new = snapshots.load(snapshot_path or str(BUNDLED_SNAPSHOT))
        result = generate(new, GenerateOptions(migrations_dir=migrations_dir, check=True, rules_path=rules_path))
        up_to_date, pending = result.status == "no changes", len(result.operations)
    paths = [p for _, p in existing_migrations(migrations_dir)]
    fluff = squawked = None
    try:
        if sqlfluff:
            progress.step("sqlfluff")
            fluff = lint_mod.run_sqlfluff(migrations_dir)
        if squawk:
            progress.step("squawk")
            squawked = lint_mod.run_squawk(paths)
    except FileNotFoundError as exc:
        raise UsageError(f"{exc.args[0]} is not installed (make install puts it in .venv)") from None
    return LintResult(findings, up_to_date, pending, fluff, squawked)


# ---------------------------------------------------------------------------------------------
# diagram

def diagram(snap: Snapshot, *, module: str | None = None, tables: tuple[str, ...] = (), columns: str = "keys",
            changes_from: Path | None = None, rules_path: str | None = None, internal: bool = False) -> str:
    """Mermaid ER diagram of the schema (or one module, or some tables, or the tables a pending
    migration against the snapshot kept in ``changes_from`` would touch)."""
    schema = tenant.build(snap, rules.load(rules_path))
    if changes_from is not None:
        previous, previous_rules = _previous_state(changes_from, snap)
        touched = {op.table_name for op in diff_mod.diff_schemas(tenant.build(previous, previous_rules), schema)}
        tables = tuple(sorted(t for t in touched if schema.table(t) is not None))
        if not tables:
            raise UsageError(f"no table changes between {changes_from / KEPT_SNAPSHOT} and the snapshot")
    chosen = diagram_mod.select_tables(schema, module=module, tables=tables)
    return diagram_mod.render(schema, chosen, columns, internal)
