"""A private PostgreSQL server with a small lock table, for the lock-budget tests.

Started from the same installation as the test server (its ``initdb`` and ``pg_ctl``: found with
FBS_PG_BINDIR, else beside ``pg_config`` on PATH, else /usr/lib/postgresql/<major>/bin), in a
temporary directory, on a free local port, and stopped afterwards. ``max_locks_per_transaction =
16`` and ``max_connections = 20`` make its shared lock table hold 16 x (20 + the background
processes) = 672 locks for every session together, a tenth of a default server's. Run as root
(as in CI's containers), initdb and the server run as the ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

SETTINGS = {"max_locks_per_transaction": "16", "max_connections": "20", "fsync": "off",
            "synchronous_commit": "off", "full_page_writes": "off", "listen_addresses": "127.0.0.1"}
MISSING = ("needs PostgreSQL's server programs (initdb, pg_ctl) to start a private server with a small lock "
           "table: set FBS_PG_BINDIR to their folder")


def bindir() -> Path | None:
    candidates = [os.environ.get("FBS_PG_BINDIR", "")]
    if shutil.which("pg_config"):
        candidates.append(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    return next((Path(c) for c in candidates if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists()),
                None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@contextmanager
def small_lock_server() -> Iterator[str]:
    """Start the server, yield a DSN of its ``postgres`` database, stop it and remove its files
    (its own folder under the system's temporary one: pytest's is private to the test's user)."""
    bin_ = bindir()
    assert bin_ is not None, MISSING
    workdir = Path(tempfile.mkdtemp(prefix="fbs_small_pg_"))
    data = workdir / "data"
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(workdir, user.pw_uid, user.pw_gid)
    subprocess.run(_as_server_user([str(bin_ / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                    "--no-sync"]), check=True, capture_output=True)
    port = _free_port()
    options = " ".join(f"-c {k}={v}" for k, v in SETTINGS.items()) + f" -p {port} -k {workdir}"
    log = workdir / "server.log"
    started = subprocess.run(_as_server_user([str(bin_ / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log),
                                              "-w", "-t", "120", "start"]), capture_output=True, text=True)
    assert started.returncode == 0, f"the small-lock server did not start: {started.stderr}\n" + (
        log.read_text() if log.exists() else "")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_server_user([str(bin_ / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                       capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)
