"""The lock budget: a migration file never locks more relations than ``[migration] lock_budget``
(default 256), and verify reads the catalog a bounded batch at a time, so both work on a server
with a small lock table while other sessions hold locks, whatever the schema's size.

The proof is the largest schema the fixtures make: every installed module of the 19.0 reference
(a foreign_keys file of 1,399 statements locked 1,888 objects in one transaction before the cut)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from generator import api, planning, rules
from generator.capture import scope as scoping
from tests.support import small_server, versions
from tests.support.migrations import FIXED_TIME

# The objects of the shared lock table one session holds (fast-path locks do not use it)
HELD = """SELECT count(DISTINCT (locktype, database, relation, page, tuple, virtualxid, transactionid::text,
                                 classid, objid, objsubid)) FILTER (WHERE NOT fastpath)
          FROM pg_locks WHERE pid = pg_backend_pid()"""


@pytest.fixture(scope="module")
def all_modules_19(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("locks") / "migrations"
    snap = scoping.select(versions.catalog("19.0"), scoping.Scope())
    api.generate(snap, api.GenerateOptions(migrations_dir=folder, timestamp=FIXED_TIME))
    return folder


def fbs(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "generator", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=1200)


def test_every_file_locks_at_most_the_budget(all_modules_19, db):
    """Applied one by one, each in its transaction: the objects it holds at its end (the most, as
    locks are kept to the end) stay within the budget; the big files were cut into parts."""
    files = sorted(p for p in all_modules_19.glob("*.sql"))
    assert any("foreign_keys_part_" in p.name for p in files), [p.name for p in files]
    held = {}
    with psycopg.connect(db) as conn:
        for path in files:
            conn.execute(path.read_text("utf-8"))
            held[path.name] = conn.execute(HELD).fetchone()[0]
            conn.commit()
    over = {name: n for name, n in held.items() if n > planning.DEFAULT_LOCK_BUDGET}
    assert not over, over
    assert max(held.values()) > planning.DEFAULT_LOCK_BUDGET // 2, held  # the cut is not wasteful either


def test_a_smaller_budget_cuts_smaller_files(tmp_path):
    snap = scoping.select(versions.catalog("17.0"), scoping.Scope(modules=("stock",)))
    sizes = {}
    for budget in (64, 256, 100_000):
        result = api.generate(snap, api.GenerateOptions(migrations_dir=tmp_path / str(budget), timestamp=FIXED_TIME,
                                                        dry_run=True, rules=rules.Rules(lock_budget=budget)))
        sizes[budget] = len(result.files)
    assert sizes[64] > sizes[256] > sizes[100_000], sizes


def test_migrate_and_verify_on_a_server_with_a_small_lock_table(all_modules_19):
    """max_locks_per_transaction = 16, max_connections = 20, and another session holding 200
    locks the whole time: migrate applies every file, verify finds the database equal."""
    if small_server.bindir() is None:
        pytest.skip(small_server.MISSING)
    with small_server.small_lock_server() as dsn:
        with psycopg.connect(dsn, autocommit=True) as setup:
            setup.execute("CREATE DATABASE target")
            setup.execute("CREATE SCHEMA held")
            for i in range(200):
                setup.execute(f"CREATE TABLE held.t{i} (id int)")
        target = dsn.rsplit("/", 1)[0] + "/target"
        with psycopg.connect(dsn) as holder:
            holder.execute("; ".join(f"LOCK TABLE held.t{i} IN ACCESS SHARE MODE" for i in range(200)))
            assert holder.execute(HELD).fetchone()[0] >= 180
            migrated = fbs("migrate", "--migrations", str(all_modules_19), "--database-url", target, "-q")
            assert migrated.returncode == 0, migrated.stderr[-3000:]
            verified = fbs("verify", "--migrations", str(all_modules_19), "--database-url", target)
            assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-3000:]
            assert "matches" in verified.stdout


def test_a_file_over_the_lock_table_says_which_setting_to_change(tmp_path):
    """A file cut with a budget far above the server's lock table (hand-written, or generated for
    a bigger server) fails with PostgreSQL's error and what to do: lower lock_budget or raise
    max_locks_per_transaction; nothing of it is applied."""
    if small_server.bindir() is None:
        pytest.skip(small_server.MISSING)
    folder = tmp_path / "migrations"
    snap = scoping.select(versions.catalog("17.0"), scoping.Scope())
    (tmp_path / "fbs-schema.toml").write_text("[migration]\nlock_budget = 1000000\n")
    api.generate(snap, api.GenerateOptions(migrations_dir=folder, timestamp=FIXED_TIME,
                                           rules_path=str(tmp_path / "fbs-schema.toml")))
    with small_server.small_lock_server() as dsn:
        with psycopg.connect(dsn, autocommit=True) as setup:
            setup.execute("CREATE DATABASE target")
        target = dsn.rsplit("/", 1)[0] + "/target"
        migrated = fbs("migrate", "--migrations", str(folder), "--database-url", target, "-q")
        assert migrated.returncode == 7, migrated.stderr[-3000:]
        assert "out of shared memory" in migrated.stderr and "lock_budget" in migrated.stderr
        assert "max_locks_per_transaction" in migrated.stderr and "Nothing of it was applied" in migrated.stderr
        failed = next(line for line in migrated.stderr.splitlines() if "failed:" in line)
        assert "foreign_keys" in failed, failed


# The migration lock: a strategy of the target (generator.target.LockKind -> generator.runner.ledger)

def test_each_target_names_its_lock_and_the_runner_maps_it_to_a_strategy():
    from generator import target
    from generator.runner import ledger

    for t in target.TARGETS.values():
        chosen = ledger.strategy(t.lock, None, lambda: None)
        assert isinstance(chosen, ledger.AdvisoryLock if t.lock is target.LockKind.ADVISORY else ledger.TableLock), t.name
        assert t.advisory_locks == (t.lock is target.LockKind.ADVISORY), t.name  # what lint reads
    assert {t.name for t in target.TARGETS.values() if t.lock is target.LockKind.TABLE} == {"yugabyte", "yugabyte-colocated"}
    assert {type(ledger.strategy(kind, None, lambda: None)) for kind in target.LockKind} == {ledger.AdvisoryLock,
                                                                                           ledger.TableLock}


@pytest.mark.parametrize("kind", ["advisory", "table"])
def test_each_lock_strategy_keeps_a_second_runner_out_until_released(db, kind):
    """Both strategies behind the same interface: the second runner waits (told once), fails after its
    timeout naming the lock, and gets it once the first unlocks; unlock twice, or after a failed
    lock, does nothing."""
    from generator.errors import MigrationError
    from generator.runner import ledger
    from generator.runner.apply import connect
    from generator.target import LockKind

    first_conn, second_conn = connect(db), connect(db)
    try:
        first = ledger.strategy(LockKind(kind), first_conn, lambda: connect(db))
        second = ledger.strategy(LockKind(kind), second_conn, lambda: connect(db))
        first.lock(timeout=1, on_wait=None)
        waits = []
        with pytest.raises(MigrationError, match="could not take the migration lock"):
            second.lock(timeout=0.3, on_wait=waits.append)
        assert len(waits) == 1 and "waiting for the migration lock" in waits[0]
        second.unlock()  # after a failed lock: nothing to release
        first.unlock()
        first.unlock()
        second.lock(timeout=1, on_wait=None)
        with pytest.raises(MigrationError):
            first.lock(timeout=0.2, on_wait=None)
        first.unlock()
        second.unlock()
    finally:
        first_conn.close()
        second_conn.close()


def test_a_lock_given_in_the_options_wins_over_the_target_and_an_unknown_one_is_refused(db, tmp_path):
    """RunOptions.lock takes "advisory", "table" or a LockKind; any other value is a usage error
    before anything runs (it used to be taken for "advisory", silently)."""
    from generator.errors import UsageError
    from generator.runner import apply
    from generator.target import KEPT_TARGET, LockKind

    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "1_first.sql").write_text("CREATE TABLE first (id int);\n")
    assert apply.lock_kind(apply.RunOptions(migrations_dir=folder)) is LockKind.ADVISORY
    (folder / KEPT_TARGET).write_text('{"target": "yugabyte"}\n')
    assert apply.lock_kind(apply.RunOptions(migrations_dir=folder)) is LockKind.TABLE
    assert apply.lock_kind(apply.RunOptions(migrations_dir=folder, lock="advisory")) is LockKind.ADVISORY
    assert apply.lock_kind(apply.RunOptions(migrations_dir=folder, lock=LockKind.TABLE)) is LockKind.TABLE
    with pytest.raises(UsageError, match="choose one of advisory, table"):
        api.migrate(apply.RunOptions(migrations_dir=folder, database_url=db, lock="row"))
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT to_regclass('first') IS NULL AND to_regclass('_sqlx_migrations') IS NULL"
                            ).fetchone()[0]
