"""Helpers for the hostile-input tests: run ``fbs-schema generate`` in-process on a snapshot text
and apply what it wrote to a real PostgreSQL inside a transaction that is rolled back."""

from __future__ import annotations

import json
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import psycopg
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

from generator.cli import cli
from tests.support import pg
from tests.support.migrations import sql_files

SAFE_NAME = re.compile(r"[0-9]+_[A-Za-z0-9_]+\.sql\Z")
GUARD_SCHEMA = "fbs_guard"  # not on the search_path: generated SQL can only reach it by naming it


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    folder: Path
    exception: BaseException | None


def base() -> dict:
    """A valid two-model snapshot: a.a points at b.b."""
    return {
        "format": 1, "odoo_version": "17.0", "modules": ["m"], "external_models": [],
        "models": {
            "a.a": {"table": "a_a", "label": "A", "module": "m", "fields": {
                "name": {"type": "char", "label": "Name"},
                "b_id": {"type": "many2one", "label": "B", "relation": "b.b"},
            }},
            "b.b": {"table": "b_b", "label": "B", "module": "m", "fields": {
                "name": {"type": "char", "label": "Name"},
            }},
        },
    }


def generate(tmp_path: Path, snapshot: dict | str, *extra: str) -> Run:
    text = snapshot if isinstance(snapshot, str) else json.dumps(snapshot)
    path = tmp_path / "snapshot.json"
    path.write_text(text, "utf-8", errors="surrogatepass")
    folder = tmp_path / "work" / "migrations"
    result = CliRunner().invoke(cli, ["generate", "--snapshot", str(path), "--migrations", str(folder),
                                      "--timestamp", "20260101000000", "-q", *extra])
    return Run(result.exit_code, result.stdout, result.stderr, folder,
               None if isinstance(result.exception, SystemExit) else result.exception)


def assert_refused(run: Run, *fragments: str) -> None:
    """Exit 4, one line naming the snapshot file and a JSON path, nothing written."""
    assert run.exception is None, run.exception
    assert run.code == 4, (run.code, run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "snapshot.json: $" in lines[0], lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert not run.folder.exists() or not any(run.folder.iterdir())


def files_are_safe(run: Run) -> None:
    root = run.folder.parent
    for p in root.rglob("*"):
        assert p.parent == run.folder or p == run.folder, p
        if p.suffix == ".sql":
            assert SAFE_NAME.match(p.name), p.name
    outside = {p.name for p in root.parent.iterdir()} - {"work", "snapshot.json", "rules.toml", "renames.toml"}
    assert not outside, outside


class Database:
    """One connection to a scratch database holding a guard table; every apply is rolled back."""

    def __init__(self, dsn: str):
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.notices: list[str] = []
        self.conn.add_notice_handler(lambda d: self.notices.append(d.message_primary or ""))
        self.conn.execute(f"CREATE SCHEMA {GUARD_SCHEMA}")
        self.conn.execute(f"CREATE TABLE {GUARD_SCHEMA}.sentinel (x integer)")
        self.conn.execute(f"INSERT INTO {GUARD_SCHEMA}.sentinel VALUES (42)")
        self.conn.execute(f"COMMENT ON TABLE {GUARD_SCHEMA}.sentinel IS 'keep'")
        self.state = self.snapshot_state()

    def snapshot_state(self) -> tuple:
        return self.conn.execute(
            f"SELECT (SELECT array_agg(x) FROM {GUARD_SCHEMA}.sentinel), "
            f"obj_description('{GUARD_SCHEMA}.sentinel'::regclass, 'pg_class'), "
            "obj_description('pg_catalog.pg_class'::regclass, 'pg_class'), "
            "obj_description('pg_catalog.pg_type'::regclass, 'pg_class'), "
            "(SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace)"
        ).fetchone()

    def apply(self, folder: Path) -> None:
        """Every file in order, in one transaction that is rolled back; raises on any error, and on a
        notice that an identifier was truncated."""
        self.notices.clear()
        try:
            with self.conn.transaction(force_rollback=True):
                for path in sql_files(folder):
                    self.conn.execute(path.read_text("utf-8"))
        finally:
            assert self.state == self.snapshot_state(), "the guard table or a system catalog changed"
        truncated = [n for n in self.notices if "truncate" in n]
        assert not truncated, truncated

    def close(self) -> None:
        self.conn.close()


@contextmanager
def scratch_database(prefix: str) -> Iterator[Database]:
    """A fresh database with the guard table, for a module's property tests; dropped afterwards."""
    with pg.fresh_database(prefix) as dsn:
        d = Database(dsn)
        try:
            yield d
        finally:
            d.close()


def fuzz_settings(examples_variable: str, default: int) -> settings:
    """The property tests' settings: ``examples_variable`` examples (``make fuzz`` raises it), the same
    ones every run unless FBS_FUZZ_RANDOM is set, no deadline."""
    return settings(
        max_examples=int(os.environ.get(examples_variable, str(default))),
        deadline=None,
        derandomize=not os.environ.get("FBS_FUZZ_RANDOM"),
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture,
                               HealthCheck.filter_too_much, HealthCheck.large_base_example],
    )
