"""Generate migrations into a folder and apply them the way users do (psql, file by file)."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

from generator import api
from generator import folder as folder_mod
from generator.model import Snapshot

FIXED_TIME = datetime(2026, 1, 1, 0, 0, 0)


def generate(snapshot: Snapshot, folder: Path, **options) -> api.GenerateResult:
    return api.generate(snapshot, api.GenerateOptions(migrations_dir=folder, timestamp=FIXED_TIME, **options))


def sql_files(folder: Path) -> list[Path]:
    return [p for _, p in folder_mod.existing_migrations(folder) if not p.name.endswith(".down.sql")]


def psql_apply(dsn: str, files: list[Path]) -> str:
    """Apply each file with ``psql -v ON_ERROR_STOP=1 -1 -f``; return everything psql printed."""
    output = []
    for path in files:
        proc = subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-f", str(path), dsn],
            capture_output=True, text=True,
        )
        output.append(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            raise AssertionError(f"psql failed on {path.name}:\n{proc.stderr}")
    return "".join(output)
