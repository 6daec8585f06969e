"""The real Odoo 17.0 database with demo rows in ../shared (a pg_dump; see its PROVENANCE.md), for the
import tests. Present in CI and on developers' machines, not in a user's clone: tests that need it
say so when it is absent. The dump is restored into scratch databases, never copied into the
repository."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support import pg
from tests.support.reference import ROOT

DUMP = Path(os.environ.get("FBS_ODOO_DEMO_DUMP",
                           ROOT.parent / "shared" / "reference" / "odoo-17.0-demo" / "odoo17_demo.dump"))
MISSING = (f"the Odoo 17.0 demo database dump is not at {DUMP} (../shared is beside a developer's or CI's "
           "checkout, not a user's clone; FBS_ODOO_DEMO_DUMP points elsewhere): the import tests on real Odoo "
           "rows did not run")


def available() -> bool:
    return DUMP.exists()


def restore(dsn: str) -> None:
    """The dump into the empty database ``dsn`` (pg_restore, as PROVENANCE.md's restore check does)."""
    proc = subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "-d", dsn, str(DUMP)],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise AssertionError(f"pg_restore of {DUMP} failed: {proc.stderr}")


def fresh(prefix: str = "fbs_demo"):
    """A context manager: a fresh database holding the demo dump."""
    from contextlib import contextmanager

    @contextmanager
    def made():
        with pg.fresh_database(prefix) as dsn:
            restore(dsn)
            yield dsn

    return made()
