"""One exception hierarchy for the whole library.

The library raises these and never prints or exits; the CLI maps each class to an exit code, in one
place. Every message names what is wrong and where (file, JSON path, model, field). A check that
finds something (``Findings``, ``Differences``) is an error too: the command's output lists what was
found, so the CLI prints no error line for it, only exits with its code.
"""

from __future__ import annotations


class FbsError(Exception):
    """Base of every error the tool reports to a user (no traceback)."""

    exit_code = 1
    reported = False  # True: the command's output already says what happened (the CLI adds no error line)


class UsageError(FbsError):
    """The command line or a configuration value is wrong."""

    exit_code = 2


class CaptureError(FbsError):
    """Odoo (XML-RPC or database) could not be read, or the selection is wrong."""

    exit_code = 3


class SnapshotError(FbsError):
    """A snapshot file is malformed, of another format, or inconsistent."""

    exit_code = 4

    def __init__(self, message: str, *, path: str | None = None, at: object | None = None):
        self.path = path
        self.at = at = None if at is None else str(at)  # a JSON path, or what str() makes one
        self.detail = message = _one_line(message)
        parts = [_one_line(p) for p in (path, at) if p]
        super().__init__(f"{': '.join(parts)}: {message}" if parts else message)


    def in_file(self, path: str | None) -> "SnapshotError":
        """The same error, naming the snapshot file it is about (when not named yet)."""
        if self.path or not path:
            return self
        return type(self)(self.detail, path=path, at=self.at)


def _one_line(text: str) -> str:
    """Names from a snapshot may hold line breaks and other control characters: escaped, the message
    stays one line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}"
                   for ch in text)


class RenderError(FbsError):
    """A snapshot cannot be turned into SQL (e.g. an identifier PostgreSQL cannot hold)."""

    exit_code = 5


class PossibleRename(FbsError):
    """A field disappeared and one of the same type appeared: the user must say whether it is a rename."""

    exit_code = 6


class DestructiveChange(FbsError):
    """The change would lose data and --allow-destructive was not given."""

    exit_code = 6


class MigrationError(FbsError):
    """Migrations cannot be applied, reverted or verified (the message names version and file)."""

    exit_code = 7


def one_line(exc: BaseException) -> str:
    """A driver's message on one line (libpq's connection errors span several)."""
    return "; ".join(line.strip() for line in str(exc).strip().splitlines() if line.strip())


class Findings(FbsError):
    """A check found something the command's output lists: generate --check out of date, a lint
    finding, a status drift, an unexplained compare-odoo item, a solution drifted or unreachable, a
    plan holding a destructive change."""

    exit_code = 1
    reported = True


class Differences(Findings):
    """verify found differences between the database and the snapshot, or import --check found
    tables whose rows differ from Odoo's (the output names them)."""

    exit_code = 8


class SolutionsFailed(FbsError):
    """With --solution / --all, one solution or more failed (each reported as it failed; the others
    still ran; the loop's report ends with it): the exit code is the highest of theirs."""

    reported = True

    def __init__(self, exit_code: int, several: bool):
        self.exit_code = exit_code
        self.several = several  # more than one solution ran: the report ends with a summary line
        super().__init__(f"some solutions failed (exit {exit_code})")


class Interrupted(FbsError):
    """Ctrl-C (SIGINT) or SIGTERM: the message says what was committed and what was rolled back."""

    exit_code = 130
