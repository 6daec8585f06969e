"""Golden folders: representative changes rendered exactly, up and down, for every target.

Each folder of tests/golden/changes holds ``before.json`` and ``after.json`` (snapshots), optionally
``rules.toml`` and ``renames.toml``, and per target ``<target>.up.sql`` / ``<target>.down.sql``: every
file the change generates (reversible pairs), each under a ``-- file:`` line. The migrations of
``before.json`` are generated first, so the change is an incremental migration on tables that hold
rows (lock-safe split and all). After a deliberate change of the SQL, rewrite them with
FBS_UPDATE_GOLDEN=1 pytest tests/test_golden_changes.py and review the diff."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from generator import api, snapshot
from generator.target import TARGETS

ROOT = Path(__file__).parent / "golden" / "changes"
CASES = sorted(p.name for p in ROOT.iterdir() if p.is_dir())


def _render(case: Path, target: str, tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "migrations"
    rules = case / "rules.toml"
    renames = case / "renames.toml"
    common = dict(migrations_dir=folder, rules_path=str(rules) if rules.exists() else None, reversible=True)
    api.generate(snapshot.load(case / "before.json"),
                 api.GenerateOptions(**common, target=target, timestamp=datetime(2026, 1, 1)))
    result = api.generate(snapshot.load(case / "after.json"), api.GenerateOptions(
        **common, timestamp=datetime(2026, 2, 1), dry_run=True, allow_destructive=True,
        renames_path=str(renames) if renames.exists() else None))
    assert result.status == "planned", result.status
    out = {"up": "", "down": ""}
    for f in result.files:
        side = "down" if f.suffix == ".down.sql" else "up"
        out[side] += f"-- file: {f.filename}\n{f.text}\n"
    return out


def test_there_are_golden_cases():
    assert len(CASES) >= 6
    for name in CASES:
        assert {"before.json", "after.json"} <= {p.name for p in (ROOT / name).iterdir()}, name


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("case", CASES)
def test_change_renders_exactly_the_golden_sql(case, target, tmp_path):
    rendered = _render(ROOT / case, target, tmp_path)
    for side, text in rendered.items():
        path = ROOT / case / f"{target}.{side}.sql"
        if os.environ.get("FBS_UPDATE_GOLDEN"):
            path.write_text(text, "utf-8")
        assert path.exists(), f"{path} is missing (FBS_UPDATE_GOLDEN=1 writes it; review it)"
        assert text == path.read_text("utf-8"), f"{path} differs (FBS_UPDATE_GOLDEN=1 rewrites it; review the diff)"
