"""What the command line shows while and after a command runs: progress on standard error (the
library's ``Progress``), each migration as it commits, the heads and failures of the loop over
solutions (``commands.Report``), lines of text to the right stream, the guard every message
passes (no password leaves the process), and the end of the process (``end_process``). Click's echo
only; nothing heavy is imported."""

from __future__ import annotations

import os
import sys

import click

from generator.errors import FbsError, SolutionsFailed

# What generate and plan built (each solution's snapshot, schemas, operations, SQL), held to the
# end of the process so that ``end_process`` can end it without freeing them object by object.
_KEPT: list = []


def safe(text: str) -> str:
    """Every message goes out through here: any password of the command line or the environment, in
    any connection string form, is replaced by *** (the library redacts too; this is the last guard)."""
    from generator.dsn import hide, secrets_in

    return hide(text, secrets_in(sys.argv[1:], dict(os.environ)))


class StderrProgress:
    """Progress on standard error: steps on a terminal (and in any log outside CI), never with -q
    nor in a CI log (CI set, standard error not a terminal); notices always."""

    def __init__(self, quiet: bool = False):
        ctx = click.get_current_context(silent=True)
        self.quiet = quiet = quiet or bool(ctx and ctx.meta.get("fbs.quiet"))
        self.steps = not quiet and (sys.stderr.isatty() or not os.environ.get("CI"))

    def step(self, message: str) -> None:
        if self.steps:
            click.echo(safe(f"fbs-schema: {message}"), err=True)

    def notice(self, message: str) -> None:
        click.echo(safe(f"fbs-schema: {message}"), err=True)


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
        from generator.text import step_line

        click.echo(step_line(step))
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


class Report:
    """The loop over solutions (``generator.commands.for_each``), shown: a header before each of
    several, a failed one's error as it fails (a finding's output already said it), a summary after
    several when any failed."""

    def __init__(self, headers: bool = True):
        self.headers = headers

    def started(self, solution, several: bool) -> None:
        if several and self.headers:
            click.echo(f"== {solution.name}")

    def failed(self, solution, error: FbsError) -> None:
        if not error.reported:
            click.echo(safe(f"fbs-schema: error: {solution.name}: {error}"), err=True)

    def ended(self, error: SolutionsFailed) -> None:
        if error.several:
            click.echo(f"fbs-schema: {error}", err=True)


def echo(lines) -> None:
    from generator.text import Err

    for line in lines:
        click.echo(line, err=isinstance(line, Err))


def echo_steps(steps, empty: str, already: int = 0) -> None:
    """Print the steps not printed yet as they committed (``already``), or ``empty`` when there are none."""
    from generator.text import step_line

    echo([empty] if not steps else [step_line(s) for s in steps[already:]])


def keeping(describe):
    """A command's ``show``: print each result (the lines ``describe(result)`` gives) and keep it for
    ``end_process``."""
    def show(result) -> None:
        _KEPT.append(result)
        echo(describe(result))
    return show


def end_process(run) -> None:
    """Run the command line (``run``); when it kept its results (generate, plan: ``keeping``), end the
    process as soon as its output is flushed (``os._exit``, with the command's exit code), leaving
    what the command built to the operating system: freeing it object by object took 0.3-0.4 s at
    10,000 models (millions of objects), the system takes the memory back at once. Those commands
    register nothing to run at exit and close their files themselves. Any other command, and any
    error in flushing, ends the usual way."""
    try:
        run()
        code = 0
    except SystemExit as done:
        if not _KEPT or not isinstance(done.code, (int, type(None))):
            raise
        code = done.code or 0
    if not _KEPT:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a reader that went away, a closed stream: the usual end reports it
        sys.exit(code)
    os._exit(code)
