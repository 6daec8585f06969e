"""The pipeline runs one way (capture -> snapshot -> tenant rules -> diff -> render -> runner): a
module imports only modules of its own layer or of lower ones. Checked over the import statements of
every module of the package (inside functions too), so a back-arrow fails here, and a new module
must be given its layer."""

from __future__ import annotations

import ast
from pathlib import Path

import generator

LAYERS = [
    {"generator.errors", "generator.layout", "generator.model", "generator.declared", "generator.naming",
     "generator.config_schema", "generator.dsn", "generator.placement", "generator.target", "generator"},
    {"generator.capture", "generator.capture.records", "generator.capture.profiles", "generator.capture.transports",
     "generator.capture.catalog", "generator.capture.scope", "generator.capture.rpc", "generator.capture.database",
     "generator.capture.odoo_catalog"},
    {"generator.snapshot", "generator.rules", "generator.solutions"},
    {"generator.odoo_sql", "generator.tables", "generator.tenant", "generator.mapping"},
    {"generator.ops", "generator.renames", "generator.diff", "generator.upgrade", "generator.planning"},
    {"generator.render", "generator.diagram"},
    {"generator.folder", "generator.runner", "generator.runner.files", "generator.runner.ledger", "generator.runner.apply",
     "generator.runner.failures",
     "generator.runner.verify", "generator.runner.counts", "generator.runner.provision",
     "generator.importer", "generator.importer.keys", "generator.importer.source", "generator.importer.plan",
     "generator.importer.sql", "generator.importer.integrity", "generator.importer.run"},
    {"generator.lint", "generator.lint_checks", "generator.lint_pg", "generator.lint_text", "generator.compare"},
    {"generator.api", "generator.commands", "generator.text"},
    {"generator.cli", "generator.flags", "generator.console", "generator.__main__"},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}
ROOT = Path(generator.__file__).resolve().parent


def _modules():
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(("generator",) + parts).removesuffix(".__init__")
        yield name, path


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "generator":
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield full if full in LAYER else node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "generator":
                    yield alias.name


def test_every_module_has_a_layer():
    assert sorted(name for name, _ in _modules() if name not in LAYER) == []


def test_no_module_imports_a_higher_layer():
    back = [f"{name} (layer {LAYER[name]}) imports {imported} (layer {LAYER[imported]})"
            for name, path in _modules() for imported in _imports(path)
            if imported in LAYER and LAYER[imported] > LAYER[name]]
    assert back == []


def test_the_check_fails_on_a_back_arrow(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from generator import render\n", "utf-8")
    assert "generator.render" in set(_imports(bad)) and LAYER["generator.render"] > LAYER["generator.tenant"]
