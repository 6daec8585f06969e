"""The package as users install it: a wheel built from the checkout, installed in a fresh virtual
environment outside the repository, renders the bundled schema into an empty folder exactly as the
committed migrations hold it (templates and the bundled snapshot travel in the wheel), lints it clean
there (the sqlfluff and squawk settings travel too), and renders every target byte for byte as the
checkout does: the bundled schema and every golden change, up and down (a target whose templates
were left out of the wheel would otherwise write another target's SQL under its own header)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator import api, layout
from generator.target import TARGETS

# Run by the installed package and by the checkout: every file each target renders, by name. A
# module-level script, not an import of the tests: the installed venv has no tests/.
RENDER_EVERY_TARGET = """
import json, sys, tempfile
from datetime import datetime
from pathlib import Path

import generator
from generator import api, snapshot
from generator.target import TARGETS

changes = Path(sys.argv[1])
out = {"package": generator.__file__}
with tempfile.TemporaryDirectory() as tmp:
    for name in sorted(TARGETS):
        made = api.generate(snapshot.load(api.BUNDLED_SNAPSHOT), api.GenerateOptions(
            migrations_dir=Path(tmp, name, "bundled"), target=name, dry_run=True, timestamp=datetime(2026, 1, 1)))
        out[name + "/bundled"] = {f.filename: f.text for f in made.files}
        for case in sorted(p for p in changes.iterdir() if p.is_dir()):
            opt = lambda path: str(path) if path.exists() else None
            common = dict(migrations_dir=Path(tmp, name, case.name), reversible=True,
                          rules_path=opt(case / "rules.toml"))
            api.generate(snapshot.load(case / "before.json"), api.GenerateOptions(
                **common, target=name, timestamp=datetime(2026, 1, 1)))
            made = api.generate(snapshot.load(case / "after.json"), api.GenerateOptions(
                **common, timestamp=datetime(2026, 2, 1), dry_run=True, allow_destructive=True,
                renames_path=opt(case / "renames.toml")))
            out[name + "/" + case.name] = {f.filename: f.text for f in made.files}
print(json.dumps(out))
"""


@dataclass(frozen=True)
class Installed:
    wheel: Path
    bin: Path  # the fresh venv's bin/
    work: Path  # an empty folder outside the repository


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    """A wheel built from the checkout, installed in a fresh virtual environment (once per module)."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist),
                            str(api.PROJECT_ROOT)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    wheel = next(dist.glob("fbs_schema-*.whl"))
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    install = subprocess.run([str(env / "bin" / "pip"), "install", "-q", str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    work = tmp_path / "empty"
    work.mkdir()
    return Installed(wheel, env / "bin", work)


def test_a_wheel_in_a_fresh_venv_generates_the_committed_migrations(installed):
    work = installed.work / "committed"
    work.mkdir()
    committed = sorted(p for p in (api.PROJECT_ROOT / "migrations").iterdir() if p.suffix in (".sql", ".json"))
    first = min(p.name.split("_")[0] for p in committed if p.suffix == ".sql")
    proc = subprocess.run([str(installed.bin / "fbs-schema"), "generate", "--migrations", "out", "--timestamp", first],
                          cwd=work, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert str(api.PROJECT_ROOT) not in proc.stderr  # the bundled snapshot came from the installed package
    out = work / "out"
    assert sorted(p.name for p in out.iterdir()) == [p.name for p in committed]
    for p in committed:
        assert (out / p.name).read_bytes() == p.read_bytes(), p.name

    lint = subprocess.run([str(installed.bin / "fbs-schema"), "lint", "--migrations", "out", "--no-cache"],
                          cwd=work, capture_output=True, text=True)
    assert lint.returncode == 0 and "lint clean" in lint.stdout, lint.stdout + lint.stderr
    assert "Traceback" not in lint.stderr


def test_the_wheel_holds_every_template_and_renders_every_target_as_the_checkout(installed):
    with zipfile.ZipFile(installed.wheel) as z:
        packed = {n.removeprefix("generator/templates/") for n in z.namelist() if n.startswith("generator/templates/")}
    assert packed == {p.relative_to(layout.TEMPLATES).as_posix() for p in layout.TEMPLATES.rglob("*.j2")}
    script = installed.work / "render_every_target.py"
    script.write_text(RENDER_EVERY_TARGET, "utf-8")
    changes = api.PROJECT_ROOT / "tests" / "golden" / "changes"
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    runs = {}
    for side, python, cwd, env in (("wheel", installed.bin / "python", installed.work, environ),
                                   ("checkout", sys.executable, api.PROJECT_ROOT, {**environ, "PYTHONPATH": str(api.PROJECT_ROOT)})):
        proc = subprocess.run([str(python), str(script), str(changes)], cwd=cwd, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, f"{side}: {proc.stderr}"
        runs[side] = json.loads(proc.stdout)
    wheel, checkout = runs["wheel"], runs["checkout"]
    assert not wheel.pop("package").startswith(str(api.PROJECT_ROOT))  # the wheel's own generator package
    assert checkout.pop("package").startswith(str(api.PROJECT_ROOT))
    assert wheel.keys() == checkout.keys() and len(wheel) == len(TARGETS) * (1 + len(list(changes.glob("*/after.json"))))
    for key in sorted(checkout):
        assert checkout[key], key
        assert sorted(wheel[key]) == sorted(checkout[key]), key
        for filename, text in checkout[key].items():
            assert wheel[key][filename] == text, f"{key}/{filename}: the installed package renders other SQL"
