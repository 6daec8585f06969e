"""`generate` as users run it: a fresh process (a pre-commit hook, a CI step), its wall time and peak
resident size, for every module of the 17.0, 18.0 and 19.0 references and for a snapshot of more
than 10,000 models.

Two cases per reference: ``generate`` into an empty folder (every file written) and ``generate --check``
on the folder it wrote (the hook's case: nothing to do). Each command is started from bench/peak.py,
whose own small size is all that can leak into the peak figure.

``python -m bench generate-process`` prints these for the code of this checkout; with
``BENCH_CODE=DIR`` for the checkout at DIR instead (``git worktree add DIR REV``), which is how the
figures of an earlier revision are measured on the same machine for the "before" columns.
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


def _run(args: list[str], code: Path) -> tuple[float, int]:
    """Wall seconds and peak KB of ``python -m generator ARGS`` run from the checkout ``code`` (both
    the process's own, as bench/peak.py measures them)."""
    env = dict(os.environ, PYTHONPATH=str(code))
    command = [sys.executable, str(ROOT / "bench" / "peak.py"), sys.executable, "-m", "generator", *args]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=code)  # -m finds cwd's package first
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    said = dict(line.split(": ", 1) for line in done.stderr.splitlines() if line.startswith("fbs-bench-"))
    return float(said["fbs-bench-wall-s"]), int(said["fbs-bench-peak-kb"])


def _median(args_of, code: Path, runs: int) -> dict:
    seconds, peaks = [], []
    for i in range(runs):
        s, kb = _run(args_of(i), code)
        seconds.append(s)
        peaks.append(kb)
    return {"seconds": round(statistics.median(seconds), 3), "runs_s": [round(s, 3) for s in seconds],
            "peak_mib": round(max(peaks) / 1024, 1)}


def measure(snapshots: dict[str, str], code: Path = ROOT, runs: int = 5) -> list[dict]:
    """For each (label, snapshot text): generate into an empty folder, then generate --check on it."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, (label, text) in enumerate(snapshots.items()):
            path = Path(tmp) / f"snapshot-{n}.json"
            path.write_text(text, "utf-8")
            folders = [Path(tmp) / f"m{n}-{i}" for i in range(runs)]

            def fresh(i, path=path, folders=folders):
                return ["generate", "-q", "--snapshot", str(path), "--migrations", str(folders[i]),
                        "--timestamp", TIMESTAMP]

            def check(i, path=path, folders=folders):
                return ["generate", "-q", "--check", "--snapshot", str(path), "--migrations", str(folders[0])]

            written = _median(fresh, code, runs)
            files = len(list(folders[0].glob("*.sql")))
            out.append({"snapshot": label, "files": files, "generate": written,
                        "check": _median(check, code, runs)})
    return out


def code_dir() -> Path:
    """The checkout whose code is measured: BENCH_CODE, else this one."""
    return Path(os.environ.get("BENCH_CODE") or ROOT).resolve()


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
