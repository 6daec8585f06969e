"""Child processes a test interrupts with SIGINT (Ctrl-C).

A process started with SIGINT ignored (any job a non-interactive shell puts in the background, and
everything it starts) hands that on to its children, and Python then leaves SIGINT ignored: a test
sending Ctrl-C would wait forever. ``CTRL_C`` restores the default in the child before it starts,
so it gets KeyboardInterrupt as under a terminal, whoever started the test run."""

from __future__ import annotations

import signal


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


CTRL_C = {"preexec_fn": _default_sigint}
