"""Hold N locks on the test server until interrupted: the busy-server condition of issue 21
(``make test`` must pass while another client holds 2,000 locks).

    python -m tests.support.hold_locks 2000 &    # then: make test; kill %1

It creates the database ``fbs_lock_holder`` with N small tables (once), locks them all in ACCESS
SHARE mode in one transaction (beyond the 16 fast-path slots each takes an entry of the shared
lock table) and waits; Ctrl-C or SIGTERM ends the transaction."""

from __future__ import annotations

import signal
import sys
import time

import psycopg
from psycopg import sql

from tests.support import pg

DATABASE = "fbs_lock_holder"


def main(count: int) -> None:
    with psycopg.connect(pg.server_dsn(), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    with psycopg.connect(pg.dsn_for(DATABASE), autocommit=True) as conn:
        have = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'held%'").fetchone()[0]
        for i in range(have, count):
            conn.execute(sql.SQL("CREATE TABLE {} (id int)").format(sql.Identifier(f"held{i}")))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with psycopg.connect(pg.dsn_for(DATABASE)) as conn:
        for i in range(count):
            conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(sql.Identifier(f"held{i}")))
        held = conn.execute("SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND NOT fastpath").fetchone()[0]
        print(f"holding {held} locks in the shared lock table (pid {conn.info.backend_pid}); Ctrl-C ends", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
