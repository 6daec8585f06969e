"""The migrations folder: the one module that reads and writes it for ``generate``.

It holds the migration files (listed by the runner's one resolver, ``runner.files``) and, beside
them, what the newest migration was generated from: the snapshot (``fbs-snapshot.json``), the rules
(``fbs-rules.toml``) and the target (``fbs-target.json``). ``previous_state`` reads them back and
checks that they belong together; ``write`` puts a generation's files in place, each atomically.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from generator import rules as rules_mod
from generator import snapshot as snapshots
from generator import target as target_mod
from generator.errors import SnapshotError, UsageError
from generator.layout import KEPT_RULES, KEPT_SNAPSHOT
from generator.model import Snapshot, series_key
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.render import MigrationFile
from generator.rules import Rules

# Each generated file names the snapshot it was generated from in its header.
_HEADER_SHA = re.compile(r"^-- Snapshot: sha256:([0-9a-f]{64})", re.M)


def existing_migrations(folder: Path) -> list[tuple[int, Path]]:
    """(version, path) of every migration file in ``folder``, in order, read by the runner's one
    resolver: a misnamed .sql file or a version used twice is an error here too, never skipped."""
    from generator.runner import files as mfiles

    if not folder.is_dir():
        return []
    found = mfiles.resolve(folder)
    return sorted([(m.version, m.path) for m in found.up] + [(v, d.path) for v, d in found.down.items()])


def load_kept(folder: Path) -> tuple[Snapshot | None, Rules]:
    """The snapshot (None when there is none) and rules kept beside the migrations in ``folder``."""
    return _kept_snapshot(folder)[0], _kept_rules(folder)


def _kept_snapshot(folder: Path, new: Snapshot | None = None,
                   new_text: str | None = None) -> tuple[Snapshot | None, str | None]:
    """The kept snapshot and its text (None, None when there is none), the file read once. When the
    text is ``new_text`` (``snapshot.dumps(new)``), the kept snapshot is ``new`` itself: read,
    checked and built once."""
    kept = folder / KEPT_SNAPSHOT
    if not kept.exists():
        return None, None
    try:
        text = kept.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return snapshots.load(kept), None  # which says why it cannot be read
    if new is not None and text == new_text:
        return new, text
    return snapshots.loads(text, path=str(kept)), text


def _kept_rules(folder: Path) -> Rules:
    kept_rules = folder / KEPT_RULES
    return rules_mod.load(kept_rules) if kept_rules.exists() else Rules()


def previous_state(folder: Path, new: Snapshot, existing: list[tuple[int, Path]] | None = None,
                   new_text: str | None = None) -> tuple[Snapshot, Rules]:
    """The snapshot and rules the folder's newest migration was generated from (an empty snapshot
    for a new folder). Refused: migrations without their snapshot, a kept snapshot that is not the
    one the newest migration names, a new snapshot of an older Odoo series. ``existing``: the
    folder's migrations when the caller has read them already; ``new_text``: ``snapshot.dumps(new)``
    when the caller has it (an unchanged kept snapshot is then not parsed again)."""
    existing = existing_migrations(folder) if existing is None else existing
    files = [p for _, p in existing if not p.name.endswith(".down.sql")]
    previous, text = _kept_snapshot(folder, new, new_text)
    kept_rules = _kept_rules(folder)
    kept = folder / KEPT_SNAPSHOT
    if previous is None:
        if files:
            raise SnapshotError(
                f"{folder} holds migrations but no {KEPT_SNAPSHOT}, so the next migration cannot be computed; "
                "restore it from version control"
            )
        return Snapshot.empty(new.odoo_version), kept_rules
    if files:
        header = _HEADER_SHA.search(files[-1].read_text("utf-8"))
        if header and header.group(1) != snapshots.sha256(text):
            raise SnapshotError(
                f"{kept} (sha256 {snapshots.sha256(text)[:12]}) is not the snapshot that the newest migration "
                f"{files[-1].name} was generated from (sha256 {header.group(1)[:12]}); was it edited? "
                "Restore it from version control"
            )
    if previous.models and series_key(new.odoo_version) < series_key(previous.odoo_version):
        raise SnapshotError(
            f"the new snapshot is of Odoo {new.odoo_version} but {kept} is of Odoo {previous.odoo_version}: "
            "going back to an older Odoo series is not supported (revert the migrations of the upgrade instead)"
        )
    return previous, kept_rules


@dataclass(frozen=True)
class Generation:
    """What one ``generate`` puts in the folder."""

    files: tuple[MigrationFile, ...]
    snapshot_text: str  # the new snapshot, kept as fbs-snapshot.json
    target: target_mod.Target
    rules_text: str  # kept as fbs-rules.toml; "" removes a kept one


def write(folder: Path, generation: Generation) -> None:
    """The migration files, then the kept snapshot, target and rules. Every file name is checked to
    land directly in ``folder`` before anything is written. The migration files are all written
    first into a staging folder inside ``folder`` (which no reader takes for a migration: the
    runner lists files only), then each is moved into place by a rename: none lands unless every
    one could be written, and none is ever seen half-written. The kept files are then each written
    atomically."""
    real = folder.resolve()
    _write_staged(folder, [(_inside(folder, real, f.filename), f.text) for f in generation.files])
    kept = [(folder / KEPT_SNAPSHOT, generation.snapshot_text)]
    if generation.target != target_mod.POSTGRES or (folder / target_mod.KEPT_TARGET).exists():
        kept.append((folder / target_mod.KEPT_TARGET, target_mod.dumps(generation.target)))
    if generation.rules_text:
        kept.append((folder / KEPT_RULES, generation.rules_text))
    elif (folder / KEPT_RULES).exists():
        (folder / KEPT_RULES).unlink()
    for path, content in kept:
        snapshots.write_atomic(path, content)


def _write_staged(folder: Path, writes: list[tuple[Path, str]]) -> None:
    """Each (destination, text) written in a new staging folder in ``folder``, then renamed onto
    its destination; the staging folder is removed whatever happens. A file is created with mode
    0666 less the umask, as any new file of the user's (the mode the replaced files had too)."""
    import shutil
    import tempfile

    if not writes:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        stage = tempfile.mkdtemp(dir=folder, prefix=".fbs-staging-")
    except OSError as exc:
        raise UsageError(f"cannot write {folder}: {exc.strerror or exc}") from None
    try:
        staged = [os.path.join(stage, path.name) for path, _ in writes]
        for name, (path, text) in zip(staged, writes):
            with open(name, "xb") as fh:
                fh.write(text.encode("utf-8"))
        for name, (path, _) in zip(staged, writes):
            os.replace(name, path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _inside(folder: Path, real: Path, name: str) -> Path:
    """Where the file ``name`` of ``folder`` (whose resolved path is ``real``) is written: checked
    to be a plain name (no separator, not ``.`` or ``..``) that lands directly in ``folder``, where a
    link of that name is followed (its target replaced, the link kept) only when it points into
    ``folder`` itself; what exists there must be a regular file (a FIFO or a device is not
    replaced)."""
    path = folder / name
    plain = name not in ("", ".", "..") and os.sep not in name and (os.altsep or os.sep) not in name
    if not plain or path.name != name:
        raise UsageError(f"refusing to write {name!r}: it would land outside {folder}")
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            path = path.resolve()
            if path.parent != real:
                raise UsageError(f"refusing to write {name!r}: it would land outside {folder}")
            mode = os.stat(path).st_mode
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise UsageError(f"refusing to write {path}: it exists and is not a regular file")
    return path
