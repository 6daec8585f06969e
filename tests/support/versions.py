"""The three Odoo series the project is tested against, from the committed fixtures
(tests/fixtures/odoo17, tests/fixtures/odoo-18.0, tests/fixtures/odoo-19.0), and a way to apply many
generated schemas with psql quickly: each in its own transaction, rolled back, in one psql session.
"""

from __future__ import annotations

import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from generator import api
from generator.capture import catalog as catalogs
from generator.capture import profiles
from generator.capture.records import build_metadata, odoo_series
from generator.model import Snapshot
from tests.support.make_fixtures import VERSIONS, load_records
from tests.support.migrations import FIXED_TIME


def metadata(version: str):
    """The fixture records of a series, normalised as XML-RPC with load='' returns them."""
    records = load_records(version)
    plain = {model: [{k: (v[0] if isinstance(v, list) and len(v) == 2 and isinstance(v[0], int) else v)
                      for k, v in r.items()} for r in rows] for model, rows in records.items()}
    base = next(r for r in plain["ir.module.module"] if r["name"] == "base")
    profile = profiles.for_series(odoo_series(base["latest_version"]))
    return build_metadata(plain, module_names={r["id"]: r["name"] for r in plain["ir.module.module"]},
                          company_dependent=profile.known_company_dependent_with())


@lru_cache(maxsize=None)
def catalog(version: str) -> catalogs.Catalog:
    return catalogs.from_metadata(metadata(version))


def migration_texts(snapshot: Snapshot, **options) -> list[str]:
    """The SQL files `generate` would write for an empty folder (dry run: nothing written)."""
    with tempfile.TemporaryDirectory() as tmp:
        result = api.generate(snapshot, api.GenerateOptions(migrations_dir=Path(tmp) / "m", timestamp=FIXED_TIME,
                                                            dry_run=True, **options))
    return [f.text for f in result.files]


def apply_each_rolled_back(dsn: str, schemas: list[tuple[str, list[str]]]) -> None:
    """Apply every (label, migration texts) with psql, each set in one transaction that is then
    rolled back; raise AssertionError naming the set and psql's error, or a truncation notice."""
    parts = []
    for label, texts in schemas:
        parts.append(f"\\echo 'SET {label}'\nBEGIN;\n" + "\n".join(texts) + "\nROLLBACK;\n")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False, encoding="utf-8") as fh:
        fh.write("".join(parts))
        script = fh.name
    try:
        proc = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", script, dsn],
                              capture_output=True, text=True)
    finally:
        Path(script).unlink()
    done = [line[4:] for line in proc.stdout.splitlines() if line.startswith("SET ")]
    if proc.returncode != 0:
        raise AssertionError(f"psql failed while applying {done[-1] if done else '?'}:\n{proc.stderr[-3000:]}")
    if "truncat" in proc.stderr.lower():
        raise AssertionError(f"PostgreSQL truncated an identifier:\n{proc.stderr[-3000:]}")
    assert len(done) == len(schemas), (len(done), len(schemas))


__all__ = ["VERSIONS", "catalog", "metadata", "migration_texts", "apply_each_rolled_back"]
