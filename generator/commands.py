"""What a command is, apart from its flags: one frozen options object per command, built either from
the flags the user typed or from a solution of the project config, and the loop over solutions.

Why a module of its own, beside ``generator.api``: ``api`` is one function per pipeline step (capture,
generate, migrate, lint ...), each taking the library's own options (``GenerateOptions``, the
runner's ``RunOptions``) and usable from Python without any notion of a command line. A command is
more than one step: ``generate`` loads a snapshot (captured, re-filtered or bundled), generates,
and is out of date for ``--check``; ``plan`` is a generate that writes nothing and counts the rows
at risk; every command runs once from its flags or once per solution with ``--solution`` / ``--all``,
where a failing solution does not stop the others. That glue was in the CLI, where nothing could
call or test it without click. Here it is plain Python: the CLI parses flags into these objects,
passes a ``show`` function that prints one result and a ``Report`` that heads each solution, and
maps the errors raised (``Findings``, ``Differences``, ``SolutionsFailed`` and every other
``FbsError``) to exit codes in one place. Nothing here prints or exits.

``generate``'s options come in the groups the library already has: the source (``api.Source``, or
a snapshot file), the scope (``capture.scope.Scope``), the folder it writes (``Folder``) and its
safety switches (``Safety``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

from generator import api
from generator.capture.scope import Scope
from generator.errors import Differences, FbsError, Findings, SolutionsFailed, UsageError

if TYPE_CHECKING:
    from generator.model import Snapshot
    from generator.runner.apply import RunOptions
    from generator.solutions import Solution


class Report(Protocol):
    """How the loop over solutions is shown: ``started`` before each one (with ``several``: a header
    is due), ``failed`` when one raised (the others still run), ``ended`` after the last when any
    failed (before ``SolutionsFailed`` is raised with it)."""

    def started(self, solution: Solution, several: bool) -> None: ...

    def failed(self, solution: Solution, error: FbsError) -> None: ...

    def ended(self, error: SolutionsFailed) -> None: ...


def for_each(chosen: tuple[Solution, ...] | None, work: Callable[[Solution | None], Any], report: Report) -> None:
    """``work(None)`` once without solutions; else ``work(solution)`` for each one, a failure reported
    and the others still run, then ``SolutionsFailed`` with the highest exit code when any failed."""
    if chosen is None:
        work(None)
        return
    worst, several = 0, len(chosen) > 1
    for solution in chosen:
        report.started(solution, several)
        try:
            work(solution)
        except FbsError as exc:
            report.failed(solution, exc)
            worst = max(worst, exc.exit_code)
    if worst:
        error = SolutionsFailed(worst, several)
        report.ended(error)
        raise error


# ---------------------------------------------------------------------------------------------
# generate and plan

@dataclass(frozen=True)
class Folder:
    """The folder generate writes and how: --migrations, --rules, --timestamp, --reversible, --target."""

    migrations_dir: str = "migrations"  # as typed: messages name it so
    rules_path: str | None = None
    timestamp: datetime | None = None
    reversible: bool = False
    target: str | None = None


@dataclass(frozen=True)
class Safety:
    """What generate may do: --allow-destructive, --renames, --check, --dry-run."""

    allow_destructive: bool = False
    renames_path: str | None = None
    check: bool = False
    dry_run: bool = False


@dataclass(frozen=True)
class GenerateCommand:
    source: api.Source = api.Source()  # a capture source; none: ``snapshot_path`` (default the bundled one)
    scope: Scope = Scope()
    snapshot_path: str | None = None
    folder: Folder = Folder()
    safety: Safety = Safety()

    def options(self, solution: Solution | None = None) -> api.GenerateOptions:
        f, s = self.folder, self.safety
        options = api.GenerateOptions(Path(f.migrations_dir), f.rules_path, f.timestamp, s.allow_destructive,
                                      s.dry_run, s.check, s.renames_path, f.reversible, target=f.target)
        return options if solution is None else api.solution_generate_options(solution, options)

    def snapshot(self, solution: Solution | None, progress: api.Progress) -> Snapshot:
        if solution is None:
            return api.load_new_snapshot(self.source, self.scope, self.snapshot_path, progress)
        return api.solution_snapshot(solution, self.source, progress, self.snapshot_path)


@dataclass(frozen=True)
class PlanCommand:
    """plan: a generate that writes nothing, allows everything, and, given a database, counts what
    each destructive operation would lose there."""

    snapshot_path: str | None = None
    migrations_dir: str = "migrations"
    rules_path: str | None = None
    renames_path: str | None = None
    database_url: str | None = None

    def generate_command(self) -> GenerateCommand:
        return GenerateCommand(snapshot_path=self.snapshot_path,
                               folder=Folder(self.migrations_dir, self.rules_path),
                               safety=Safety(allow_destructive=True, renames_path=self.renames_path, dry_run=True))


@dataclass(frozen=True)
class Generated:
    """One generate (or plan) done, for the CLI to show."""

    result: api.GenerateResult
    snapshot: Snapshot
    folder: str  # the folder, as the user or the solution named it
    dry_run: bool
    at_risk: dict[int, int | None] = field(default_factory=dict)  # plan --database-url: rows lost per operation


def generate(command: GenerateCommand | PlanCommand, chosen: tuple[Solution, ...] | None, progress: api.Progress,
             show: Callable[[Generated], None], report: Report) -> None:
    """generate (or plan) from the flags, or for each solution; ``Findings`` when --check finds the
    folder out of date, or a plan holds a destructive change."""
    plan = command if isinstance(command, PlanCommand) else None
    generating = plan.generate_command() if plan else command

    def one(solution: Solution | None) -> None:
        new = generating.snapshot(solution, progress)
        result = api.generate(new, generating.options(solution), progress)
        folder = str(solution.migrations_dir) if solution else generating.folder.migrations_dir
        at_risk = {}
        if plan and plan.database_url:
            placement = solution.placement if solution else api.DEFAULT_PLACEMENT
            at_risk = api.data_at_risk(result, plan.database_url, placement)
        show(Generated(result, new, folder, generating.safety.dry_run, at_risk))
        if result.status == "out of date" or (plan and any(op.destructive for op in result.operations)):
            raise Findings()

    for_each(chosen, one, report)


# ---------------------------------------------------------------------------------------------
# lint and diagram

@dataclass(frozen=True)
class LintCommand:
    migrations_dir: Path = Path("migrations")
    snapshot_path: str | None = None
    rules_path: str | None = None
    check_up_to_date: bool = True
    sqlfluff: bool = True
    squawk: bool = True
    cache: bool = True


def lint(command: LintCommand, chosen: tuple[Solution, ...] | None, progress: api.Progress,
         show: Callable[[api.LintResult, Path], None], report: Report) -> None:
    """Lint the folder, or each solution's; ``Findings`` when one is not clean."""
    c = command

    def one(solution: Solution | None) -> None:
        folder = solution.migrations_dir if solution else c.migrations_dir
        result = api.lint(folder, c.snapshot_path, check_up_to_date=c.check_up_to_date, sqlfluff=c.sqlfluff,
                          squawk=c.squawk, rules_path=c.rules_path, cache=c.cache, progress=progress,
                          solution=solution)
        show(result, folder)
        if not result.ok:
            raise Findings()

    for_each(chosen, one, report)


@dataclass(frozen=True)
class DiagramCommand:
    snapshot_path: str | None = None
    module: str | None = None
    tables: tuple[str, ...] = ()
    changes_dir: str | None = None
    columns: str = "keys"
    internal: bool = False
    rules_path: str | None = None


def diagram(command: DiagramCommand, chosen: tuple[Solution, ...] | None) -> str:
    """The Mermaid text: of the snapshot, or of each solution's selection (one after the other, each
    headed by a %% comment when there are several). The first failure stops it: nothing is written."""
    c, quiet = command, api.Silent()
    common = dict(module=c.module, tables=c.tables, columns=c.columns, internal=c.internal,
                  changes_from=Path(c.changes_dir) if c.changes_dir else None)
    if chosen is None:
        snap = api.load_new_snapshot(None, Scope(), c.snapshot_path, quiet)
        return api.diagram(snap, rules_path=c.rules_path, **common)
    parts = []
    for solution in chosen:
        body = api.diagram(api.solution_snapshot(solution, None, quiet, c.snapshot_path), solution=solution, **common)
        parts.append(f"%% solution {solution.name}\n{body}" if len(chosen) > 1 else body)
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# the runner: migrate, revert, baseline, status, verify

@dataclass(frozen=True)
class RunCommand:
    """The runner's settings as typed (``settings``: the RunOptions fields the command has flags
    for); ``options(solution)`` gives the runner's RunOptions, with the solution's folder, database
    and placement when there is one."""

    database_url: str | None = None
    migrations_dir: str = "migrations"
    settings: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        """What the user typed is checked before any work (exit 2): a connection string that parses,
        the timeouts PostgreSQL accepts."""
        from generator import rules
        from generator.dsn import redact

        if self.database_url:
            import psycopg

            try:
                psycopg.conninfo.conninfo_to_dict(self.database_url)
            except psycopg.Error:
                raise UsageError(f"--database-url {redact(self.database_url)!r} is not a PostgreSQL connection "
                                 "string (a password with @, / or % in a URL must be percent-encoded)") from None
        for key in ("lock_timeout", "statement_timeout"):
            if key in self.settings:
                rules.duration(self.settings[key], f"--{key.replace('_', '-')}")

    def options(self, solution: Solution | None = None) -> RunOptions:
        if solution is not None:
            return api.solution_run_options(solution, **self.settings)
        from generator.runner.apply import RunOptions

        self.check()
        return RunOptions(migrations_dir=Path(self.migrations_dir), database_url=self.database_url,
                          **{"wait_for_lock": 60.0, "ignore_missing": False, **self.settings})


def run(command: RunCommand, chosen: tuple[Solution, ...] | None,
        work: Callable[[Solution | None, RunOptions], Any], report: Report) -> None:
    """``work(solution, options)`` once from the flags, or for each solution with its options."""
    for_each(chosen, lambda solution: work(solution, command.options(solution)), report)


def status_verdict(rows, ignore_missing: bool) -> None:
    """``Findings`` when a migration is changed on disk, failed, or missing on disk (unless ignored)."""
    if any(r.state in ("changed on disk", "failed") or (r.state == "missing on disk" and not ignore_missing)
           for r in rows):
        raise Findings()


def verify_verdict(differences) -> None:
    if differences:
        raise Differences()


# ---------------------------------------------------------------------------------------------
# solutions, compare-odoo, import

def solutions_verdict(states) -> None:
    """``Findings`` when a solution has drifted or cannot be reached."""
    if any(s.drift or s.state in ("drift", "unreachable") for s in states):
        raise Findings()


def compare_verdict(comparison) -> None:
    if not comparison.ok:
        raise Findings()


def import_verdict(result) -> None:
    if not result.ok:
        raise Differences()
