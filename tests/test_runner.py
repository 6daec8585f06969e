"""The runner on a real PostgreSQL with real processes: sqlx's ledger, crashes, concurrency, refusals."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from tests.support.processes import CTRL_C
from tests.support.migrations import psql_apply, sql_files

# sqlx-postgres' own DDL (src/migrate.rs), copied independently of generator/runner/ledger.py
SQLX_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
);
"""
COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = %s::regclass AND a.attnum > 0 ORDER BY a.attnum
"""


def run(*args: str, dsn: str, folder: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "generator", *args, "--database-url", dsn, "--migrations", str(folder)],
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text.encode("utf-8"))
    return path


def ledger(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT version, description, success, checksum, execution_time FROM _sqlx_migrations "
                            "ORDER BY version").fetchall()


def tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {t for (t,) in conn.execute("SELECT relname FROM pg_class WHERE relkind = 'r' "
                                           "AND relnamespace = 'public'::regnamespace")}


@pytest.fixture
def small(tmp_path) -> Path:
    folder = tmp_path / "migrations"
    write(folder, "1_first_table.sql", "CREATE TABLE one (id int PRIMARY KEY);\n")
    write(folder, "2_second_table.sql", "CREATE TABLE two (id int PRIMARY KEY);\r\nINSERT INTO two VALUES (1);\n")
    write(folder, "fbs-snapshot.json", "{}")  # not a migration: ignored, as sqlx does
    return folder


def test_ledger_rows_are_what_sqlx_writes(db, small):
    proc = run("migrate", dsn=db, folder=small)
    assert proc.returncode == 0, proc.stderr
    rows = ledger(db)
    expected = [(1, "first table", True, hashlib.sha384((small / "1_first_table.sql").read_bytes()).digest()),
                (2, "second table", True, hashlib.sha384((small / "2_second_table.sql").read_bytes()).digest())]
    assert [(v, d, s, bytes(c)) for v, d, s, c, _ in rows] == expected
    assert all(t > 0 for *_, t in rows)  # nanoseconds, recorded after commit
    with psycopg.connect(db) as conn:
        conn.execute(SQLX_DDL.format(table="sqlx_reference"))
        assert conn.execute(COLUMNS, ("_sqlx_migrations",)).fetchall() == conn.execute(COLUMNS, ("sqlx_reference",)).fetchall()
        pk = "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass"
        assert conn.execute(pk, ("_sqlx_migrations",)).fetchall() == conn.execute(pk, ("sqlx_reference",)).fetchall()


def test_continues_a_database_that_sqlx_migrated(db, small):
    """A ledger written with sqlx's own statements is accepted and continued."""
    first = small / "1_first_table.sql"
    with psycopg.connect(db) as conn:
        conn.execute(SQLX_DDL.format(table="_sqlx_migrations"))
        conn.execute(first.read_text())
        conn.execute("INSERT INTO _sqlx_migrations ( version, description, success, checksum, execution_time ) "
                     "VALUES ( $1, $2, TRUE, $3, -1 )".replace("$1", "%s").replace("$2", "%s").replace("$3", "%s"),
                     (1, "first table", hashlib.sha384(first.read_bytes()).digest()))
    proc = run("migrate", dsn=db, folder=small)
    assert proc.returncode == 0, proc.stderr
    assert "applied 2 second table" in proc.stdout and "applied 1 " not in proc.stdout
    assert [r[0] for r in ledger(db)] == [1, 2]


def test_failed_migration_leaves_no_trace_and_names_file_and_line(db, small):
    write(small, "3_broken.sql", "CREATE TABLE three (id int);\n\nINSERT INTO three VALUES (1);\nSELEC oops;\n")
    proc = run("migrate", dsn=db, folder=small)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert f"{small / '3_broken.sql'}:4:" in proc.stderr and 'syntax error at or near "SELEC"' in proc.stderr
    assert "three" not in tables(db)
    assert [r[0] for r in ledger(db)] == [1, 2]


# PostgreSQL gives a position only for errors it finds parsing and analysing a statement; for those
# raised while one runs it gives none. Each file's failed statement starts on the given line, after
# comments, strings and a dollar-quoted body holding ';' (a split on ';' would miscount them).
NO_POSITION = {
    "division by zero": ("CREATE TABLE t (x int PRIMARY KEY);\n-- a comment; with a semicolon\n"
                         "INSERT INTO t VALUES (1);\nSELECT 'a;b', 1/0;\n", 4, "division by zero"),
    "constraint violated": ("CREATE TABLE t (x int PRIMARY KEY);\nINSERT INTO t VALUES (1);\n\n/* ; */ INSERT INTO t\n"
                            "    VALUES (1);\n", 4, 'duplicate key value violates unique constraint "t_pkey"'),
    "ALTER TABLE on a missing table": ("CREATE TABLE t (x int);\nCOMMENT ON TABLE t IS $$x; y$$;\nSELECT E'\\';';\n\n"
                                       "ALTER TABLE missing_table\n  ADD COLUMN y int;\n", 5,
                                       'relation "missing_table" does not exist'),
    # in a DO block (a Citus file is one), the line of the block PL/pgSQL names
    "exception in a DO block": ("CREATE TABLE t (x int);\nDO $fbs$\nBEGIN\n  PERFORM 1;\n  RAISE EXCEPTION 'boom; %', 1;\n"
                                "END\n$fbs$;\n", 5, "boom; 1"),
    "no-transaction file": ("-- no-transaction\nSELECT 1;\n\nSELECT 1/0;\n", 4, "division by zero"),
}


@pytest.mark.parametrize("case", sorted(NO_POSITION))
def test_an_error_without_a_position_names_the_failed_statements_line(db, tmp_path, case):
    text, line, message = NO_POSITION[case]
    folder = tmp_path / "m"
    path = write(folder, "1_bad.sql", text)
    proc = run("migrate", dsn=db, folder=folder)
    assert proc.returncode == 7 and "Traceback" not in proc.stderr, proc.stderr
    assert f"{path}:{line}: {message}" in proc.stderr, proc.stderr
    assert ledger(db) == [] and "t" not in tables(db)


def test_statements_are_split_as_postgresql_splits_them_even_where_its_parser_refuses():
    """Where each statement starts: PostgreSQL's parser (a function body of BEGIN ATOMIC holds ';'),
    and for a text that parser refuses (YugabyteDB's HASH keys) its scanner, on top-level ';'."""
    from generator.runner.files import statement_starts

    atomic = ("CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND;\n"
              "-- next; one\nSELECT f();\n")
    assert [atomic[i:].split(None, 1)[0] for i in statement_starts(atomic)] == ["CREATE", "SELECT"]
    assert atomic[statement_starts(atomic)[1]:] == "SELECT f();\n"
    yugabyte = ("CREATE TABLE t (tenant_id uuid, id uuid, CONSTRAINT t_pkey PRIMARY KEY ((tenant_id) HASH, id ASC));"
                "\n/* ; */ COMMENT ON TABLE t IS 'a;b';\n")
    assert [yugabyte[i:i + 7] for i in statement_starts(yugabyte)] == ["CREATE ", "COMMENT"]
    assert statement_starts("-- nothing but a comment;\n") == ()


def test_refuses_edited_missing_or_dirty_and_applies_nothing(db, small):
    assert run("migrate", dsn=db, folder=small).returncode == 0
    write(small, "3_third.sql", "CREATE TABLE three (id int);\n")
    original = (small / "2_second_table.sql").read_bytes()

    (small / "2_second_table.sql").write_bytes(original.replace(b"\r\n", b"\n"))  # only a line end changed
    proc = run("migrate", dsn=db, folder=small)
    assert proc.returncode != 0 and "migration 2 was previously applied but has been modified" in proc.stderr
    (small / "2_second_table.sql").write_bytes(original)

    (small / "2_second_table.sql").unlink()
    proc = run("migrate", dsn=db, folder=small)
    assert proc.returncode != 0 and "migration 2 (second table) was previously applied but is missing" in proc.stderr
    (small / "2_second_table.sql").write_bytes(original)

    with psycopg.connect(db) as conn:
        conn.execute("UPDATE _sqlx_migrations SET success = false WHERE version = 2")
    proc = run("migrate", dsn=db, folder=small)
    assert proc.returncode != 0 and "migration 2 is partially applied" in proc.stderr
    assert "three" not in tables(db) and len(ledger(db)) == 2

    status = run("status", dsn=db, folder=small)
    assert status.returncode == 1 and "failed" in status.stdout and "pending" in status.stdout


def test_misnamed_and_duplicate_files_are_errors(db, small):
    write(small, "abc_bad.sql", "SELECT 1;\n")
    proc = run("migrate", dsn=db, folder=small)
    assert proc.returncode != 0 and "version 'abc' is not an integer" in proc.stderr
    (small / "abc_bad.sql").unlink()
    write(small, "0001_again.sql", "SELECT 1;\n")
    proc = run("migrate", dsn=db, folder=small)
    assert proc.returncode != 0 and "version 1 is used by both" in proc.stderr


def test_sigkill_mid_migration_leaves_nothing_half_applied(db, tmp_path):
    folder = tmp_path / "m"
    write(folder, "1_slow.sql", "CREATE TABLE slow (id int);\nINSERT INTO slow VALUES (1);\nSELECT pg_sleep(30);\n"
                                "CREATE TABLE after_sleep (id int);\n")
    proc = subprocess.Popen([sys.executable, "-m", "generator", "migrate", "--database-url", db, "--migrations", str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    with psycopg.connect(db, autocommit=True) as conn:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            busy = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%%pg_sleep(30)%%' "
                                "AND pid <> pg_backend_pid() AND state = 'active'").fetchone()[0]
            if busy:
                break
            time.sleep(0.05)
        assert busy, "the runner never started the migration"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert tables(db) - {"_sqlx_migrations"} == set()  # nothing of it is visible
        assert ledger(db) == []
    shutil.copy(folder / "1_slow.sql", folder / "1_slow.sql.bak")
    write(folder, "1_slow.sql", (folder / "1_slow.sql").read_text().replace("pg_sleep(30)", "pg_sleep(0)"))
    (folder / "1_slow.sql.bak").unlink()
    again = run("migrate", dsn=db, folder=folder, timeout=60)  # waits for the dead runner's lock to go
    assert again.returncode == 0, again.stderr
    assert {"slow", "after_sleep"} <= tables(db) and [r[0] for r in ledger(db)] == [1]


def test_eight_runners_at_once_apply_each_migration_exactly_once(db, tmp_path):
    folder = tmp_path / "m"
    with psycopg.connect(db) as conn:
        conn.execute("CREATE TABLE applied_log (version int)")
    for v in range(1, 6):
        write(folder, f"{v}_step_{v}.sql", f"INSERT INTO applied_log VALUES ({v});\nSELECT pg_sleep(0.3);\n")
    cmd = [sys.executable, "-m", "generator", "migrate", "--database-url", db, "--migrations", str(folder)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
             for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda p: (p.wait(timeout=120), *p.communicate()), procs))
    failed = [f"--- runner {i} exit {code}\nstdout:\n{out}\nstderr:\n{err}"
              for i, (code, out, err) in enumerate(results) if code != 0]
    if failed:  # pytest.fail, not an assert message: pytest cuts those off at 640 characters
        pytest.fail(f"{len(failed)} of the 8 runners failed:\n" + "\n".join(failed))
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT version, count(*) FROM applied_log GROUP BY version ORDER BY 1").fetchall() == \
            [(v, 1) for v in range(1, 6)]
    assert [r[0] for r in ledger(db)] == [1, 2, 3, 4, 5]
    assert sum("applied" in out for _, out, _ in results) >= 1
    assert any("waiting for the migration lock" in err for _, _, err in results)


def test_failed_concurrent_index_build_is_reported_as_invalid(db, tmp_path):
    folder = tmp_path / "m"
    write(folder, "1_data.sql", "CREATE TABLE t (x int);\nINSERT INTO t VALUES (1), (1);\n")
    write(folder, "2_index.sql", "-- no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY t_x_key ON t (x);\n")
    proc = run("migrate", dsn=db, folder=folder)
    assert proc.returncode != 0 and "INVALID index(es) left by the failed build: t_x_key" in proc.stderr
    assert [r[0] for r in ledger(db)] == [1]
    again = run("migrate", dsn=db, folder=folder)
    assert again.returncode != 0 and "INVALID index(es) from a failed CREATE INDEX CONCURRENTLY: t_x_key" in again.stderr


def test_revert_runs_down_files_newest_first(db, tmp_path):
    folder = tmp_path / "m"
    for v in (1, 2, 3):
        write(folder, f"{v}_t{v}.up.sql", f"CREATE TABLE t{v} (id int);\n")
        write(folder, f"{v}_t{v}.down.sql", f"DROP TABLE t{v};\n")
    assert run("migrate", dsn=db, folder=folder).returncode == 0
    proc = run("revert", dsn=db, folder=folder)
    assert proc.returncode == 0 and "reverted 3 t3" in proc.stdout
    assert tables(db) - {"_sqlx_migrations"} == {"t1", "t2"} and [r[0] for r in ledger(db)] == [1, 2]
    proc = run("revert", "--target-version", "0", dsn=db, folder=folder)
    assert proc.returncode == 0 and proc.stdout.index("reverted 2") < proc.stdout.index("reverted 1")
    assert ledger(db) == [] and tables(db) == {"_sqlx_migrations"}


def test_verify_names_each_difference_and_passes_when_equal(schema_db, bundled_migrations):
    proc = run("verify", dsn=schema_db, folder=bundled_migrations)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with psycopg.connect(schema_db) as conn:
        conn.execute("ALTER TABLE sale_order DROP COLUMN note")
        conn.execute("DROP INDEX sale_order__user_id_index")
        conn.execute("ALTER TABLE sale_order DROP CONSTRAINT sale_order_state_check")
        conn.execute("ALTER TABLE sale_order ADD CONSTRAINT sale_order_state_check CHECK (state IN ('draft'))")
        conn.execute("ALTER TABLE stock_move DISABLE ROW LEVEL SECURITY")
        conn.execute("DROP POLICY tenant_isolation ON stock_picking")
    proc = run("verify", "--json", dsn=schema_db, folder=bundled_migrations)
    assert proc.returncode == 8
    import json

    found = {(d["kind"], d["table"], d["name"], d["problem"]) for d in json.loads(proc.stdout)["differences"]}
    assert found == {
        ("column", "sale_order", "note", "missing"),
        ("index", "sale_order", "sale_order__user_id_index", "missing"),
        ("constraint", "sale_order", "sale_order_state_check", "different"),
        ("table", "stock_move", "", "different"),
        ("policy", "stock_picking", "tenant_isolation", "missing"),
    }


def test_baseline_records_migrations_applied_with_psql(db, bundled_migrations):
    psql_apply(db, sql_files(bundled_migrations))
    proc = run("baseline", dsn=db, folder=bundled_migrations)
    assert proc.returncode == 0, proc.stderr
    assert [r[0] for r in ledger(db)] == [int(p.name.split("_")[0]) for p in sql_files(bundled_migrations)]
    assert "nothing to apply" in run("migrate", dsn=db, folder=bundled_migrations).stdout


def test_baseline_dry_run_writes_nothing_not_even_the_ledger_table(db, bundled_migrations):
    psql_apply(db, sql_files(bundled_migrations))
    proc = run("baseline", "--dry-run", dsn=db, folder=bundled_migrations)
    assert proc.returncode == 0, proc.stderr
    assert str(sql_files(bundled_migrations)[0].name.split("_")[0]) in proc.stdout  # listed, not recorded
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT to_regclass('_sqlx_migrations')").fetchone()[0] is None


def test_baseline_refuses_when_the_schema_differs(db, bundled_migrations):
    psql_apply(db, sql_files(bundled_migrations)[:-1])  # foreign keys added NOT VALID, never validated
    proc = run("baseline", dsn=db, folder=bundled_migrations)
    assert proc.returncode != 0 and "does not match the snapshot" in proc.stderr
    assert "different constraint" in proc.stderr and "NOT VALID" in proc.stderr
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT to_regclass('_sqlx_migrations')").fetchone()[0] is None


def test_runner_without_a_database(tmp_path, small):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DATABASE_URL"}
    proc = subprocess.run([sys.executable, "-m", "generator", "status", "--migrations", str(small)],
                          capture_output=True, text=True, env=env)
    assert proc.returncode != 0 and "give --database-url, or set DATABASE_URL" in proc.stderr


def test_waiting_for_the_lock_times_out_naming_the_holder(db, small):
    from generator.runner.ledger import lock_key

    with psycopg.connect(db, autocommit=True, application_name="someone-else") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (lock_key(psycopg.conninfo.conninfo_to_dict(db)["dbname"]),))
        proc = run("migrate", "--wait-for-lock", "1", dsn=db, folder=small)
    assert proc.returncode == 7 and "could not take the migration lock" in proc.stderr
    assert "someone-else" in proc.stderr and "pid " in proc.stderr
    assert "one" not in tables(db)


def test_a_migration_that_hits_lock_timeout_is_retried(db, tmp_path):
    folder = tmp_path / "m"
    write(folder, "1_table.sql", "CREATE TABLE busy (id int);\n")
    write(folder, "2_alter.sql", "ALTER TABLE busy ADD COLUMN note text;\n")
    assert run("migrate", "--target-version", "1", dsn=db, folder=folder).returncode == 0
    code, out, stderr = migrate_while_locked(db, folder, "busy", "--lock-timeout", "300ms")
    assert code == 0, stderr
    assert "lock timeout (300ms), retry 1/50" in stderr and "applied 2 alter" in out


def migrate_while_locked(db: str, folder: Path, table: str, *args: str) -> tuple[int, str, str]:
    """Run migrate while another session holds an ACCESS EXCLUSIVE lock on ``table``, and release it
    only once the runner says it hit the lock timeout and will retry: no timer that a slow start on
    a busy machine could beat. (returncode, stdout, stderr)"""
    holder = psycopg.connect(db)
    holder.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    proc = subprocess.Popen([sys.executable, "-m", "generator", "migrate", *args, "--retries", "50",
                             "--database-url", db, "--migrations", str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    seen = []
    try:
        for line in proc.stderr:
            seen.append(line)
            if "retry 1/50" in line:
                break
        holder.rollback()
        out, err = proc.communicate(timeout=120)
    finally:
        holder.close()
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, "".join(seen) + err


def test_status_json(db, small):
    import json

    assert run("migrate", "--target-version", "1", dsn=db, folder=small).returncode == 0
    proc = run("status", "--json", dsn=db, folder=small)
    rows = json.loads(proc.stdout)
    assert proc.returncode == 0 and [(r["version"], r["state"]) for r in rows] == [(1, "applied"), (2, "pending")]
    assert rows[0]["execution_ms"] > 0 and rows[0]["installed_on"]


def test_a_generated_files_own_lock_timeout_wins_and_the_retry_says_so(db, tmp_path):
    """--lock-timeout governs files that set none; a generated file's SET LOCAL (rules [migration])
    comes after it and wins, and the retry message names the value in force."""
    from generator.capture import scope
    from tests.support import versions
    from tests.support.migrations import generate

    folder = tmp_path / "m"
    rules = tmp_path / "rules.toml"
    rules.write_text('[migration]\nlock_timeout = "200ms"\n', "utf-8")
    uom = scope.select(versions.catalog("17.0"), scope.Scope(modules=("uom",)))
    generate(uom, folder, rules_path=str(rules))
    assert run("migrate", dsn=db, folder=folder).returncode == 0
    rules.write_text('[migration]\nlock_timeout = "200ms"\n\n[[check]]\nmodel = "uom.uom"\nfield = "factor"\nmin = 0\n',
                     "utf-8")
    generate(uom, folder, rules_path=str(rules))  # versions after the newest
    code, _, stderr = migrate_while_locked(db, folder, "uom_uom", "--lock-timeout", "30s")
    assert code == 0, stderr
    assert "lock timeout (200ms, set by the file), retry 1/50" in stderr


def test_baseline_verifies_while_holding_the_migration_lock(db, tmp_path):
    """A migrate that starts meanwhile cannot change the schema between baseline's check and its
    ledger rows: the check runs under the lock (it used to run before taking it)."""
    from generator.runner import apply as runner_apply

    folder = tmp_path / "m"
    write(folder, "1_table.sql", "CREATE TABLE t (id int);\n")
    held = []

    def verify_fn():
        with psycopg.connect(db) as other:
            # this database's advisory locks only: other tests' databases on the same server take theirs
            held.append(other.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())").fetchone()[0])
        return []

    steps = runner_apply.baseline(runner_apply.RunOptions(migrations_dir=folder, database_url=db),
                                  type("P", (), {"step": lambda self, m: None})(), verify_fn)
    assert held == [1] and [s.action for s in steps] == ["recorded"]


def test_migrate_prints_each_migration_as_it_commits(db, tmp_path):
    """Standard output says what committed even when a later migration fails (exit 7): the lines are
    written as each commits, not after the whole run."""
    folder = tmp_path / "m"
    write(folder, "1_one.sql", "CREATE TABLE one (id int);\n")
    write(folder, "2_two.sql", "CREATE TABLE two (id int);\n")
    write(folder, "3_bad.sql", "CREATE TABLE three (id int);\nSELECT 1/0;\n")
    proc = run("migrate", dsn=db, folder=folder)
    assert proc.returncode == 7, proc.stderr
    assert [line.split(" (")[0] for line in proc.stdout.splitlines()] == ["applied 1 one", "applied 2 two"]
    assert "3_bad.sql" in proc.stderr and [r[0] for r in ledger(db)] == [1, 2]
    write(folder, "3_bad.sql", "CREATE TABLE three (id int);\n")
    again = run("migrate", dsn=db, folder=folder)
    assert again.returncode == 0 and [line.split(" (")[0] for line in again.stdout.splitlines()] == ["applied 3 bad"]


def test_ctrl_c_says_what_was_rolled_back_and_what_committed(db, tmp_path):
    """Ctrl-C while the second migration runs: exit 130, standard output lists the first (it
    committed), standard error names the second as rolled back; the database agrees."""
    folder = tmp_path / "m"
    write(folder, "1_first.sql", "CREATE TABLE first (id int);\n")
    write(folder, "2_slow.sql", "CREATE TABLE slow (id int);\nSELECT pg_sleep(600);\n")
    proc = subprocess.Popen([sys.executable, "-m", "generator", "migrate", "--database-url", db, "--migrations",
                             str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            text=True, **CTRL_C)
    try:
        with psycopg.connect(db, autocommit=True) as conn:
            while not conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%%pg_sleep(600)%%' "
                                   "AND pid <> pg_backend_pid() AND state = 'active'").fetchone()[0]:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "applied 1 first" in out and "slow" not in out
    assert "interrupted: applying 2 slow was rolled back" in err and "1 migration(s) committed before it" in err, err
    assert "Traceback" not in err
    assert tables(db) - {"_sqlx_migrations"} == {"first"}
    assert [r[0] for r in ledger(db)] == [1]
    with psycopg.connect(db, autocommit=True) as conn:  # the sleeping statement was cancelled, not left running
        assert conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%%pg_sleep(600)%%' "
                            "AND pid <> pg_backend_pid() AND state = 'active'").fetchone()[0] == 0


# The ledger interface (generator.runner.ledger.Ledger) and the one loop of migrate / revert / baseline

def test_the_postgres_ledger_does_what_sqlx_does(db, tmp_path):
    """Each method of the interface on PostgreSQL: apply writes the row with execution_time -1 in the
    migration's transaction and the time after it, revert deletes it, record writes 0 without running
    anything, a batch of records is all or none, a failed row is the dirty version."""
    from generator.runner import files as mfiles
    from generator.runner.apply import connect
    from generator.runner.ledger import PostgresLedger, Timeouts

    folder = tmp_path / "m"
    write(folder, "1_one.up.sql", "CREATE TABLE one (id int);\n")
    write(folder, "1_one.down.sql", "DROP TABLE one;\n")
    write(folder, "2_two.sql", "CREATE TABLE two (id int);\n")
    migrations = mfiles.resolve(folder)
    one, two = migrations.up
    with connect(db) as conn:
        book = PostgresLedger(conn)
        assert book.applied() == [] and book.dirty() is None and book.invalid_indexes() == []
        book.ensure()
        assert book.apply(one, Timeouts()) > 0
        assert [(r.version, r.execution_time) for r in book.applied()] == [(1, -1)]
        book.set_execution_time(1, 0.25)
        assert ledger(db) == [(1, "one", True, one.checksum, 250_000_000)]
        with pytest.raises(RuntimeError, match="rolled back"), book.batch():
            book.record(two)
            raise RuntimeError("rolled back")
        assert [r.version for r in book.applied()] == [1]
        book.record(two)
        assert ledger(db)[1] == (2, "two", True, two.checksum, 0) and "two" not in tables(db)
        book.revert(1, migrations.down[1], Timeouts())
        assert [r.version for r in book.applied()] == [2] and "one" not in tables(db)
        conn.execute("UPDATE _sqlx_migrations SET success = false")
        assert book.dirty() == 2


class FakeLedger:
    """The ``Ledger`` interface in memory, for the loop: it needs nothing else of a database."""

    rows: dict[int, tuple[str, bytes]]
    calls: list[str]
    fail: dict[int, list[BaseException]]  # version -> what its next apply attempts raise

    def __init__(self, conn, locking=None):
        self.conn = conn

    def ensure(self): self.calls.append("ensure")
    def dirty(self): return None
    def invalid_indexes(self): return []
    def lock(self, *, timeout, on_wait): self.calls.append("lock")
    def unlock(self): self.calls.append("unlock")
    def set_execution_time(self, version, seconds): self.calls.append(f"time {version}")

    def applied(self):
        from datetime import datetime

        from generator.runner.ledger import Applied

        return [Applied(v, d, datetime.now(), True, c, 0) for v, (d, c) in sorted(self.rows.items())]

    def apply(self, m, timeouts):
        self.calls.append(f"apply {m.version}")
        if self.fail.get(m.version):
            raise self.fail[m.version].pop(0)
        self.rows[m.version] = (m.description, m.checksum)
        return 0.5

    def revert(self, version, down, timeouts):
        self.calls.append(f"revert {version}")
        del self.rows[version]
        return 0.5

    def record(self, m):
        self.calls.append(f"record {m.version}")
        self.rows[m.version] = (m.description, m.checksum)

    def batch(self):
        from contextlib import contextmanager

        @contextmanager
        def transaction():
            self.calls.append("begin")
            yield
            self.calls.append("commit")
        return transaction()


class Told:
    """A progress reporter that keeps what it was told."""

    def __init__(self):
        self.said = []

    def step(self, message): self.said.append(("step", message))
    def notice(self, message): self.said.append(("notice", message))
    def started(self, action, version, description, no_transaction): self.said.append(("started", action, version))
    def committed(self, step): self.said.append(("committed", step.action, step.version))


@pytest.fixture
def fake(monkeypatch, tmp_path):
    """migrate / revert / baseline over a FakeLedger: the real session (lock, unlock in finally,
    connection closed) on a connection that is not one."""
    import types

    from generator.runner import apply as runner_apply

    calls: list[str] = []
    monkeypatch.setattr(FakeLedger, "calls", calls, raising=False)
    monkeypatch.setattr(FakeLedger, "rows", {}, raising=False)
    monkeypatch.setattr(FakeLedger, "fail", {}, raising=False)
    monkeypatch.setattr(runner_apply.ledger, "PostgresLedger", FakeLedger)
    monkeypatch.setattr(runner_apply, "connect", lambda url, placement=None: types.SimpleNamespace(
        close=lambda: calls.append("close")))
    folder = tmp_path / "m"
    write(folder, "1_one.up.sql", "CREATE TABLE one (id int);\n")
    write(folder, "1_one.down.sql", "DROP TABLE one;\n")
    write(folder, "2_two.up.sql", "CREATE TABLE two (id int);\n")
    write(folder, "2_two.down.sql", "DROP TABLE two;\n")
    return runner_apply, runner_apply.RunOptions(migrations_dir=folder), FakeLedger


def test_migrate_revert_and_baseline_are_one_loop_over_the_ledger_interface(fake):
    from dataclasses import replace

    runner_apply, options, book = fake
    told = Told()
    steps = runner_apply.migrate(options, told)
    assert [(s.action, s.version, s.seconds) for s in steps] == [("applied", 1, 0.5), ("applied", 2, 0.5)]
    assert book.calls == ["lock", "ensure", "apply 1", "time 1", "apply 2", "time 2", "unlock", "close"]
    assert [t for t in told.said if t[0] != "step"] == [("started", "applying", 1), ("committed", "applied", 1),
                                                        ("started", "applying", 2), ("committed", "applied", 2)]
    book.calls.clear()
    dry = runner_apply.revert(replace(options, target_version=0, dry_run=True), Told())
    assert [(s.action, s.version) for s in dry] == [("would revert", 2), ("would revert", 1)]
    steps = runner_apply.revert(replace(options, target_version=0), Told())
    assert [(s.action, s.version, s.file) for s in steps] == [("reverted", 2, "2_two.down.sql"),
                                                              ("reverted", 1, "1_one.down.sql")]
    assert book.calls == ["lock", "unlock", "close", "lock", "revert 2", "revert 1", "unlock", "close"]
    book.calls.clear()
    told = Told()
    steps = runner_apply.baseline(replace(options, target_version=1), told, lambda: [])
    assert [(s.action, s.version, s.seconds) for s in steps] == [("recorded", 1, 0.0)]
    assert book.calls == ["lock", "ensure", "begin", "record 1", "commit", "unlock", "close"]
    assert [t[0] for t in told.said] == ["step"]  # rows commit together: none is told as it goes


def test_the_loop_retries_a_lock_timeout_and_a_ctrl_c_unlocks(fake, monkeypatch):
    from psycopg import errors as pgerrors

    runner_apply, options, book = fake
    monkeypatch.setattr(runner_apply.time, "sleep", lambda seconds: None)
    book.fail[1] = [pgerrors.LockNotAvailable("canceling statement due to lock timeout")]
    book.fail[2] = [KeyboardInterrupt()]
    told = Told()
    with pytest.raises(KeyboardInterrupt):
        runner_apply.migrate(options, told)
    assert book.calls == ["lock", "ensure", "apply 1", "apply 1", "time 1", "apply 2", "unlock", "close"]
    assert ("notice", "1 one: lock timeout (10s), retry 1/3") in told.said
    assert [t for t in told.said if t[0] in ("started", "committed")] == [
        ("started", "applying", 1), ("committed", "applied", 1), ("started", "applying", 2)]
