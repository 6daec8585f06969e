"""One function per command. No printing, no exit codes: results are returned, problems raised
as ``generator.errors.FbsError`` subclasses, progress reported through ``Progress``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from generator import snapshot as snapshots
from generator.capture import catalog, database, scope as scoping, xmlrpc
from generator.errors import UsageError
from generator.model import Snapshot

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
