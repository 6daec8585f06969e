"""The package as users install it: a wheel built from the checkout, installed in a fresh virtual
environment outside the repository, renders the bundled schema into an empty folder exactly as the
committed migrations hold it (templates and the bundled snapshot travel in the wheel), lints it clean
there (the sqlfluff and squawk settings travel too), and renders every target with its own SQL."""

from __future__ import annotations

import subprocess
import sys
import venv

from generator import api


def test_a_wheel_in_a_fresh_venv_generates_the_committed_migrations(tmp_path):
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
    committed = sorted(p for p in (api.PROJECT_ROOT / "migrations").iterdir() if p.suffix in (".sql", ".json"))
    first = min(p.name.split("_")[0] for p in committed if p.suffix == ".sql")
    proc = subprocess.run([str(env / "bin" / "fbs-schema"), "generate", "--migrations", "out", "--timestamp", first],
                          cwd=work, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert str(api.PROJECT_ROOT) not in proc.stderr  # the bundled snapshot came from the installed package
    out = work / "out"
    assert sorted(p.name for p in out.iterdir()) == [p.name for p in committed]
    for p in committed:
        assert (out / p.name).read_bytes() == p.read_bytes(), p.name

    lint = subprocess.run([str(env / "bin" / "fbs-schema"), "lint", "--migrations", "out", "--no-cache"],
                          cwd=work, capture_output=True, text=True)
    assert lint.returncode == 0 and "lint clean" in lint.stdout, lint.stdout + lint.stderr
    assert "Traceback" not in lint.stderr
    for target, mark in (("citus", "-- Target: Citus."), ("yugabyte", "-- Target: YugabyteDB")):
        made = subprocess.run([str(env / "bin" / "fbs-schema"), "generate", "--migrations", target, "--target", target],
                              cwd=work, capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
        assert all(mark in p.read_text("utf-8") for p in (work / target).glob("*.sql")), target
