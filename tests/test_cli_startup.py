"""A command imports only what it uses: --help and capture load neither the renderer (jinja2) nor
psycopg; the runner commands do not load the renderer's templates before they need them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from generator import api
from tests.support.odoo_server import DB, PASSWORD, USER

HEAVY = ("generator.render", "jinja2", "psycopg", "generator.capture.database", "generator.runner.apply",
         "generator.tenant", "generator.diff")
PROBE = """
import json, sys
from generator.cli import cli
try:
    cli(sys.argv[1:], prog_name="fbs-schema")
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def loaded(*args: str, env: dict | None = None) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in ("jinja2", "psycopg") or m in HEAVY)


@pytest.mark.parametrize("args", [("--help",), ("capture", "--help"), ("migrate", "--help"), ("lint", "--help")])
def test_help_loads_no_stage(args):
    modules = loaded(*args)
    assert heavy(modules) == []
    assert "generator.api" not in modules and "jsonschema" not in modules


def test_capture_from_odoo_loads_neither_renderer_nor_psycopg(odoo, tmp_path):
    modules = loaded("capture", "--odoo-url", odoo.url, "--odoo-db", DB, "--odoo-user", USER, "-q",
                     "-o", str(tmp_path / "s.json"), env={"ODOO_PASSWORD": PASSWORD})
    assert "generator.capture.rpc" in modules
    assert heavy(modules) == []


def test_capture_from_snapshot_loads_neither_renderer_nor_psycopg(tmp_path):
    modules = loaded("capture", "--from-snapshot", str(api.BUNDLED_SNAPSHOT), "--modules", "stock", "-q",
                     "-o", str(tmp_path / "s.json"))
    assert heavy(modules) == []


def test_generate_leaves_its_objects_old_and_the_collector_on():
    """generate runs without the cyclic collector; afterwards what it allocated and keeps is in the
    oldest generation (not walked again as young objects by the next allocation), the collector is on,
    and a reference cycle made meanwhile is still collected."""
    import gc
    import weakref

    class Node:
        pass

    assert gc.isenabled()
    with api._without_cyclic_gc():
        assert not gc.isenabled()
        kept = [[i] for i in range(1000)]
        cycle = Node()
        cycle.self = cycle
        gone = weakref.ref(cycle)
        del cycle
    assert gc.isenabled()
    old = {id(o) for o in gc.get_objects(generation=2)}
    assert id(kept) in old and all(id(x) in old for x in kept)
    gc.collect()
    assert gone() is None
