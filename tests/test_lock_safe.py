"""Lock-safe changes to a populated table (1 million rows) while another connection keeps writing:
the writer is never blocked longer than the configured lock_timeout, and the result equals a fresh build."""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import replace

import psycopg

from generator import api
from generator.model import Constraint, SelectionValue
from generator.runner.apply import RunOptions
from tests.support.states import BASE, change_field

TENANT = str(uuid.uuid4())
LOCK_TIMEOUT_S = 1.0


def changed_snapshot():
    b = change_field(BASE, "x.order", "amount", type="integer", label="Amount", index="btree")    # CONCURRENTLY
    b = change_field(b, "x.order", "partner_id", type="many2one", label="Partner", relation="x.partner",
                     on_delete="cascade")                                                          # FK NOT VALID
    b = change_field(b, "x.order", "state", type="selection", label="State", selection=(
        SelectionValue("draft", "D"), SelectionValue("done", "D"), SelectionValue("cancel", "C")))  # CHECK NOT VALID
    b = change_field(b, "x.order", "note", type="text", label="Note", required=True)               # NOT NULL via CHECK
    return replace(b, models=tuple(replace(m, constraints=m.constraints + (
        Constraint("x_order_amount_uniq", "unique(amount)", "m"),)) if m.name == "x.order" else m
        for m in b.models))                                                                        # UNIQUE via index


def test_lock_safe_changes_on_a_million_rows_under_writes(db, tmp_path):
    folder = tmp_path / "migrations"
    (tmp_path / "fbs-schema.toml").write_text(f'[migration]\nlock_timeout = "{int(LOCK_TIMEOUT_S * 1000)}ms"\n')
    options = dict(migrations_dir=folder, rules_path=str(tmp_path / "fbs-schema.toml"))
    api.generate(BASE, api.GenerateOptions(**options))
    run = RunOptions(migrations_dir=folder, database_url=db, lock_timeout=f"{int(LOCK_TIMEOUT_S * 1000)}ms")
    api.migrate(run)
    with psycopg.connect(db) as conn:
        conn.execute("INSERT INTO x_partner (tenant_id, name) SELECT %s, 'p' || i FROM generate_series(1, 100) i",
                     (TENANT,))
        conn.execute("""
            INSERT INTO x_order (tenant_id, amount, note, state, partner_id)
            SELECT %s, i, 'n', 'draft', (SELECT id FROM x_partner ORDER BY id LIMIT 1)
            FROM generate_series(1, 1000000) i""", (TENANT,))
        conn.execute("ANALYZE x_order")

    result = api.generate(changed_snapshot(), api.GenerateOptions(**options))
    texts = {f.filename: f.text for f in result.files}
    joined = "\n".join(texts.values())
    assert "CREATE INDEX CONCURRENTLY" in joined and "CREATE UNIQUE INDEX CONCURRENTLY" in joined
    assert "NOT VALID;" in joined and "VALIDATE CONSTRAINT" in joined and "SET NOT NULL" in joined
    assert all(t.startswith("-- no-transaction\n") for name, t in texts.items() if "CONCURRENTLY" in t)
    assert all("SET LOCAL lock_timeout = '1000ms'" in t for t in texts.values() if "CONCURRENTLY" not in t)

    latencies: list[float] = []
    finished_at: list[float] = []
    stop = threading.Event()
    writing = threading.Event()
    errors: list[Exception] = []

    def writer():
        try:
            with psycopg.connect(db, autocommit=True) as conn:
                partner = conn.execute("SELECT id FROM x_partner LIMIT 1").fetchone()[0]
                n = 2_000_000
                while not stop.is_set():
                    n += 1
                    start = time.perf_counter()
                    conn.execute("INSERT INTO x_order (tenant_id, amount, note, state, partner_id) "
                                 "VALUES (%s, %s, 'w', 'done', %s)", (TENANT, n, partner))
                    finished_at.append(time.perf_counter())
                    latencies.append(finished_at[-1] - start)
                    writing.set()
                    time.sleep(0.002)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            writing.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert writing.wait(60), "the writer never inserted a row"
    started = time.perf_counter()
    try:
        steps = api.migrate(run)
        ended = time.perf_counter()
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert len(steps) >= 4
    # The writer went on while the migration ran: rows went in between its start and its end. (No bound
    # on the count nor on the migration's length: both depend on how busy the machine is.)
    during = [t for t in finished_at if started < t < ended]
    assert during, "no insert finished while the migration ran: the writer was blocked throughout"
    # No insert waited longer than the lock_timeout the migration runs under (a lock-unsafe step would hold
    # the table for its whole scan of the million rows); the extra second is for a busy machine's scheduling.
    assert max(latencies) < LOCK_TIMEOUT_S + 1.0, sorted(latencies)[-5:]
    assert api.verify(run) == []  # the catalog equals a fresh build of the changed snapshot
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM x_order").fetchone()[0] == 1_000_000 + len(latencies)
        invalid = conn.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid").fetchone()[0]
        assert invalid == 0
    print(f"\nmigrated 1,000,000 rows in {ended - started:.1f} s under {len(during)} concurrent inserts; "
          f"slowest insert {max(latencies) * 1000:.0f} ms (lock_timeout {LOCK_TIMEOUT_S * 1000:.0f} ms)")




def _not_null_with_default(table: str = "t"):
    """An existing uuid column becoming NOT NULL with a new default, its NULLs filled first."""
    from generator import ops
    from generator.tables import Column

    before = Column("c", "uuid")
    after = Column("c", "uuid", not_null=True, default="gen_random_uuid()", backfill="gen_random_uuid()")
    return [ops.AlterColumn(table=table, before=before, after=after)]


def _table_with_rows(conn, *values: str) -> None:
    conn.execute("CREATE TABLE t (id int PRIMARY KEY, c uuid)")
    conn.execute(f"INSERT INTO t VALUES {', '.join(values)}")


def _apply(conn, files: list[list[str]]) -> None:
    """Each file's statements in one transaction, as the runner does."""
    for statements in files:
        with conn.transaction():
            for statement in statements:
                conn.execute(statement)


def _up(files) -> list[list[str]]:
    from generator import render

    return [[render.statement(op) for op in f.operations] for f in files]


def _check_constraints(conn) -> int:
    return conn.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = 't'::regclass AND contype = 'c'"
                        ).fetchone()[0]


def test_a_column_becoming_not_null_keeps_its_new_default(db):
    """The lock-safe split of SET NOT NULL (via a NOT VALID CHECK) also sets the new default
    (it was dropped when the type stayed the same)."""
    from generator import planning

    files = planning.lock_safe("change", _not_null_with_default())
    with psycopg.connect(db, autocommit=True) as conn:
        _table_with_rows(conn, "(1, NULL)", "(2, gen_random_uuid())")
        _apply(conn, _up(files))
        default, not_null = conn.execute(
            "SELECT pg_get_expr(d.adbin, d.adrelid), a.attnotnull FROM pg_attribute AS a "
            "LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attrelid = 't'::regclass AND a.attname = 'c'").fetchone()
        assert (default, not_null) == ("gen_random_uuid()", True)
        assert conn.execute("SELECT count(*) FROM t WHERE c IS NULL").fetchone()[0] == 0
        assert _check_constraints(conn) == 0  # the helper CHECK is gone


def test_the_down_migration_of_not_null_is_lock_safe_too(db):
    """Reverting the split: the helper CHECK comes back NOT VALID (no scan under an exclusive lock)
    and no no-op UPDATE runs; applied up then down on a real table, the column is as before."""
    from generator import diff, planning, render

    files = planning.lock_safe("change", _not_null_with_default())
    downs = [[render.statement(op) for op in diff.reverse(list(f.operations))] for f in reversed(files)]
    text = "\n".join(s for down in downs for s in down)
    assert "UPDATE" not in text
    added = re.findall(r"ADD CONSTRAINT[^;]*;", text)
    assert added and all(a.endswith(" NOT VALID;") for a in added), text
    with psycopg.connect(db, autocommit=True) as conn:
        _table_with_rows(conn, "(1, NULL)")
        _apply(conn, _up(files) + downs)
        row = conn.execute("SELECT a.attnotnull, a.atthasdef FROM pg_attribute AS a "
                           "WHERE a.attrelid = 't'::regclass AND a.attname = 'c'").fetchone()
        assert row == (False, False)
        assert _check_constraints(conn) == 0
