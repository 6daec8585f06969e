"""The migrations folder: the one module that reads and writes it for ``generate``.

It holds the migration files (listed by the runner's one resolver, ``runner.files``) and, beside
them, what the newest migration was generated from: the snapshot (``fbs-snapshot.json``), the rules
(``fbs-rules.toml``) and the target (``fbs-target.json``). ``previous_state`` reads them back and
checks that they belong together; ``write`` puts a generation's files in place, each atomically.
"""

from __future__ import annotations

import os
import re
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
    """The migration files, then the kept snapshot, target and rules, each written atomically. Every
    file name is checked to land directly in ``folder`` before anything is written."""
    real = folder.resolve()
    writes = [(_inside(folder, real, f.filename), f.text) for f in generation.files]
    writes.append((folder / KEPT_SNAPSHOT, generation.snapshot_text))
    if generation.target != target_mod.POSTGRES or (folder / target_mod.KEPT_TARGET).exists():
        writes.append((folder / target_mod.KEPT_TARGET, target_mod.dumps(generation.target)))
    if generation.rules_text:
        writes.append((folder / KEPT_RULES, generation.rules_text))
    elif (folder / KEPT_RULES).exists():
        (folder / KEPT_RULES).unlink()
    for path, content in writes:
        snapshots.write_atomic(path, content)


def _inside(folder: Path, real: Path, name: str) -> Path:
    """``folder / name``, checked (after resolving links and ``..``) to be a file directly in
    ``folder``, whose resolved path is ``real``. A plain name (no separator, not ``.`` or ``..``)
    lands there unless a link of that name already points elsewhere; only then is it resolved."""
    path = folder / name
    plain = name not in ("", ".", "..") and os.sep not in name and (os.altsep or os.sep) not in name
    if not plain or path.name != name or (os.path.islink(path) and path.resolve().parent != real):
        raise UsageError(f"refusing to write {name!r}: it would land outside {folder}")
    return path
