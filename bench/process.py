"""`generate` as users run it: a fresh process (a pre-commit hook, a CI step), its wall time and peak
resident size, for every module of the 17.0, 18.0 and 19.0 references and for a snapshot of more
than 10,000 models.

Two cases per reference: ``generate`` into an empty folder (every file written) and ``generate --check``
on the folder it wrote (the hook's case: nothing to do). Each command is started from bench/peak.py,
whose own small size is all that can leak into the peak figure.

``python -m bench generate-process`` prints these for the code of this checkout; with
``BENCH_CODE=DIR`` for the checkout at DIR instead (``git worktree add DIR REV``). With
``BENCH_BEFORE=DIR`` the checkout at DIR is measured in the same run, its runs alternating with
this code's, for the "before" columns (without it, they are the previous make bench's figures).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMESTAMP = "20260101000000"


def _run(args: list[str], code: Path, pycache: Path) -> tuple[float, int]:
    """Wall seconds and peak KB of ``python -m generator ARGS`` run from the checkout ``code`` (both
    the process's own, as bench/peak.py measures them), with the package's bytecode kept under
    ``pycache`` (see ``measure``)."""
    env = dict(os.environ, PYTHONPATH=str(code), PYTHONPYCACHEPREFIX=str(pycache))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    command = [sys.executable, str(ROOT / "bench" / "peak.py"), sys.executable, "-m", "generator", *args]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=code)  # -m finds cwd's package first
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    said = dict(line.split(": ", 1) for line in done.stderr.splitlines() if line.startswith("fbs-bench-"))
    return float(said["fbs-bench-wall-s"]), int(said["fbs-bench-peak-kb"])


def _summary(measured: list[tuple[float, int]]) -> dict:
    seconds = [s for s, _ in measured]
    return {"seconds": round(statistics.median(seconds), 3), "runs_s": [round(s, 3) for s in seconds],
            "peak_mib": round(max(kb for _, kb in measured) / 1024, 1)}


def measure(snapshots: dict[str, str], codes: dict[str, Path], runs: int = 5) -> dict[str, list[dict]]:
    """For each (label, snapshot text) and each checkout of ``codes`` (name -> folder): generate into
    an empty folder, then generate --check on it. The checkouts' runs alternate, so that a slow
    minute of the machine falls on each of them alike.

    Each case has a first, unmeasured run for each checkout. The first case's writes the package's
    compiled bytecode, so that it then runs as an installed one does (pip compiles it when it
    installs the package), under a temporary PYTHONPYCACHEPREFIX, so nothing is written to the
    checkout, even where PYTHONDONTWRITEBYTECODE is set (as on the machine these figures were first
    taken on: every process then compiled the package's 30-odd modules from source, about 0.1 s of
    each run). And on a disk mounted with ``discard`` (as this machine's ext4), the deletion of many
    files (an earlier case's temporary folder) leaves work that the next creation of thousands of
    files pays for (in a hand-timed trial they took ten times as long right after one); the
    unmeasured run takes it on instead of the first measured one."""
    out: dict[str, list[dict]] = {name: [] for name in codes}
    with tempfile.TemporaryDirectory() as tmp:
        caches = {name: Path(tmp) / f"pycache-{k}" for k, name in enumerate(codes)}
        for n, (label, text) in enumerate(snapshots.items()):
            path = Path(tmp) / f"snapshot-{n}.json"
            path.write_text(text, "utf-8")
            for k, (name, code) in enumerate(codes.items()):  # unmeasured: see the docstring
                _run(["generate", "-q", "--snapshot", str(path), "--migrations", str(Path(tmp) / f"w{n}-{k}"),
                      "--timestamp", TIMESTAMP], code, caches[name])
            # "generate" into a new folder each run, then "check" on the first run's folder
            measured = {step: {name: [] for name in codes} for step in ("generate", "check")}
            for step, flags in (("generate", ["--timestamp", TIMESTAMP]), ("check", ["--check"])):
                for i in range(runs):
                    for k, (name, code) in enumerate(codes.items()):
                        folder = Path(tmp) / f"m{n}-{k}-{i if step == 'generate' else 0}"
                        args = ["generate", "-q", "--snapshot", str(path), "--migrations", str(folder), *flags]
                        measured[step][name].append(_run(args, code, caches[name]))
            for k, name in enumerate(codes):
                files = len(list((Path(tmp) / f"m{n}-{k}-0").glob("*.sql")))
                out[name].append({"snapshot": label, "files": files, "generate": _summary(measured["generate"][name]),
                                  "check": _summary(measured["check"][name])})
    return out


def code_dir() -> Path:
    """The checkout whose code is measured: BENCH_CODE, else this one."""
    return Path(os.environ.get("BENCH_CODE") or ROOT).resolve()


def before_dir() -> Path | None:
    """BENCH_BEFORE: a checkout of earlier code, measured in the same run for the "before" columns."""
    value = os.environ.get("BENCH_BEFORE")
    return Path(value).resolve() if value else None


def describe(code: Path) -> str:
    """The checkout and its commit, for the table's heading."""
    done = subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return f"{code} at {done.stdout.strip()}" if done.returncode == 0 else str(code)


def markdown(rows: list[dict], before: list[dict] | None, before_label: str | None) -> list[str]:
    """The table, with the earlier figures beside each row when there are some for the same snapshot."""
    earlier = {r["snapshot"]: r for r in (before or [])}
    head = (f"| generate as a whole fresh process | files | generate: s | peak MiB | generate --check: s | peak MiB "
            f"| before: generate s | before: --check s | before: peak MiB |")
    lines = ["", f"`generate` as a whole process, started fresh (python -m generator, median of the runs); "
                 f"before = {before_label or 'no earlier figures'}:", "", head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        b = earlier.get(r["snapshot"])
        was = (f"{b['generate']['seconds']:.3f} | {b['check']['seconds']:.3f} | {b['generate']['peak_mib']}"
               if b else "| |")
        lines.append(f"| {r['snapshot']} | {r['files']:,} | {r['generate']['seconds']:.3f} | {r['generate']['peak_mib']} "
                     f"| {r['check']['seconds']:.3f} | {r['check']['peak_mib']} | {was} |")
    return lines
