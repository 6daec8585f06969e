"""A real Odoo 17 database of >= 1,000,000 rows, the source of the import benchmark.

`restore_demo` restores the Odoo 17.0 demo dump (shared/reference/odoo-17.0-demo, see its PROVENANCE.md)
into a fresh database; `multiply` then clones its business documents, server-side, until the Odoo tables
of the bundled snapshot (`snapshot_tables`) hold the asked number of rows.

How a clone round works: the documents are the rows of `CLONED` (sale orders with their lines, taxes and
tags; purchase orders with their lines and taxes; procurement groups; pickings with their moves and move
lines; journal entries and invoices with their lines and taxes; and the many2many links between them).
Clone round r copies every source row once with ``id + r * stride`` (stride = max(id) + 1 of the table
when `multiply` starts), so ids never collide and are the same on every run. A foreign key column that
points at a cloned table is remapped to the clone of the same round when it points at a source row, so
each round is a self-contained copy of the documents; every other reference (partners, products, uom,
companies, users, locations, currencies, taxes, journals, accounts...) keeps pointing at the existing
master row. Names that Odoo keeps unique (stock_picking (name, company_id), account_move's posted
(name, journal_id)) and the document names that should be (sale/purchase orders, procurement groups)
get the suffix ``/c<round>``, and the stored copies of those names (stock_move(_line).reference,
account_move_line.move_name) follow.

Left out of the source rows: journal entries that belong to a bank statement line or a payment
(`SOURCE_FILTERS`; those tables are not cloned), and so, through their cascading foreign key, their
lines. Foreign keys that the dump carries as NOT VALID (their referenced rows were not dumped, e.g.
account_move.message_main_attachment_id -> ir_attachment) are set to NULL in the clones, since
PostgreSQL checks them for new rows. Every constraint stays enforced during the inserts; only the
plain (non-unique, constraint-less) indexes of the cloned tables are dropped meanwhile and re-created
with their own definitions at the end.

``python -m bench.odoo_source [--server DSN] [--name DB] [--rows N]`` restores then multiplies.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "snapshots" / "odoo-17.0-sales-inventory.json"
DEMO_DUMP = Path(os.environ.get("FBS_ODOO_DEMO_DUMP",
                                ROOT.parent / "shared" / "reference" / "odoo-17.0-demo" / "odoo17_demo.dump"))
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_NAME = "fbs_bench_odoo"
INT4_MAX = 2**31 - 1

# The cloned tables, parents before children. A foreign key to a table later in this order
# (procurement_group.sale_id -> sale_order) is remapped by an UPDATE once the batch is inserted.
CLONED: tuple[str, ...] = (
    "procurement_group",
    "sale_order",
    "sale_order_line",
    "account_tax_sale_order_line_rel",
    "sale_order_tag_rel",
    "sale_order_transaction_rel",
    "sale_order_option",
    "product_attribute_custom_value",
    "product_template_attribute_value_sale_order_line_rel",
    "purchase_order",
    "purchase_order_line",
    "account_tax_purchase_order_line_rel",
    "stock_picking",
    "purchase_order_stock_picking_rel",
    "stock_move",
    "stock_move_move_rel",
    "stock_route_move",
    "stock_move_line",
    "stock_move_line_consume_rel",
    "account_move",
    "account_move_purchase_order_rel",
    "account_move_line",
    "account_move_line_account_tax_rel",
    "account_account_tag_account_move_line_rel",
    "sale_order_line_invoice_rel",
)

# Source rows kept out of the clones (SQL condition on the source row `s`).
SOURCE_FILTERS: dict[str, str] = {
    # entries owned by a bank statement line or a payment, which are not cloned
    "account_move": "s.statement_line_id IS NULL AND s.payment_id IS NULL",
}

# Text columns suffixed with '/c<round>' in the clones, and when (SQL condition on the source row `s`).
SUFFIXED: dict[str, dict[str, str]] = {
    "procurement_group": {"name": "TRUE"},
    "sale_order": {"name": "TRUE"},
    "purchase_order": {"name": "TRUE"},
    "stock_picking": {"name": "TRUE"},
    "stock_move": {"reference": "s.picking_id IS NOT NULL"},
    "stock_move_line": {"reference": "s.picking_id IS NOT NULL"},
    "account_move": {"name": "s.name <> '/'"},
    "account_move_line": {"move_name": "s.move_name <> '/'"},
}


@dataclass
class Clone:
    """How one table is cloned: its columns, id stride and the columns to remap, suffix or clear."""

    table: str
    columns: list[str]
    has_id: bool
    stride: int = 0
    inline: dict[str, str] = field(default_factory=dict)    # column -> cloned table, remapped on insert
    deferred: dict[str, str] = field(default_factory=dict)  # column -> cloned table, remapped after
    owners: dict[str, str] = field(default_factory=dict)    # ON DELETE CASCADE column -> cloned table
    cleared: set[str] = field(default_factory=set)          # NOT VALID foreign keys: NULL in clones


def snapshot_tables(path: Path = SNAPSHOT) -> list[str]:
    """The Odoo tables of the snapshot: model tables and many2many relation tables, sorted."""
    models = json.loads(path.read_text())["models"].values()
    tables = {m["table"] for m in models}
    tables |= {f["relation_table"] for m in models for f in m["fields"].values() if f["type"] == "many2many"}
    return sorted(tables)


def with_dbname(dsn: str, name: str) -> str:
    """`dsn` (URI or key=value) pointing at database `name` instead."""
    if dsn.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(dsn)
        return urlunsplit(parts._replace(path="/" + name))
    return make_conninfo(dsn, dbname=name)


def restore_demo(server_dsn: str, name: str, dump: Path = DEMO_DUMP) -> str:
    """Create database `name` (dropped first if it exists), restore the demo dump into it, return its DSN."""
    if not dump.is_file():
        raise FileNotFoundError(dump)
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(name)))
    dsn = with_dbname(server_dsn, name)
    subprocess.run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "-d", dsn, str(dump)],
                   check=True, capture_output=True, text=True)
    return dsn


def _columns(conn: psycopg.Connection, table: str) -> list[str]:
    """The stored, non-generated columns of `table`, in table order."""
    rows = conn.execute("""
        SELECT attname FROM pg_attribute
        WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
        ORDER BY attnum""", (table,)).fetchall()
    return [r[0] for r in rows]


def _foreign_keys(conn: psycopg.Connection, table: str) -> list[tuple[str, str, bool, str]]:
    """(column, referenced table, validated, on-delete action) of the foreign keys of `table`."""
    rows = conn.execute("""
        SELECT a.attname, c.confrelid::regclass::text, c.convalidated, c.confdeltype, cardinality(c.conkey)
        FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.contype = 'f' AND c.conrelid = %s::regclass ORDER BY c.conname""", (table,)).fetchall()
    if any(r[4] != 1 for r in rows):
        raise ValueError(f"{table}: multi-column foreign key, not supported")
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def plan(conn: psycopg.Connection, tables: tuple[str, ...] = CLONED) -> list[Clone]:
    """How each existing table of `tables` is cloned, in insert order, strides taken from the current rows."""
    present = [t for t in tables if conn.execute("SELECT to_regclass(%s)", (t,)).fetchone()[0] is not None]
    order = {t: i for i, t in enumerate(present)}
    clones = []
    for table in present:
        columns = _columns(conn, table)
        clone = Clone(table, columns, has_id="id" in columns)
        if clone.has_id:
            query = sql.SQL("SELECT coalesce(max(id), 0) + 1 FROM {}").format(sql.Identifier(table))
            clone.stride = conn.execute(query).fetchone()[0]
        for column, ref, validated, on_delete in _foreign_keys(conn, table):
            if not validated:
                clone.cleared.add(column)
            elif ref in order:
                target = clone.inline if order[ref] <= order[table] else clone.deferred
                target[column] = ref
                if on_delete == "c":
                    if target is clone.deferred:
                        raise ValueError(f"{table}.{column}: cascading reference to a later table")
                    clone.owners[column] = ref
        if clone.deferred and not clone.has_id:
            raise ValueError(f"{table}: forward reference without an id column")
        clones.append(clone)
    return clones


def _src(table: str) -> sql.Identifier:
    """The temporary table holding the source rows of `table`."""
    return sql.Identifier(f"_src_{table}")


def _make_sources(conn: psycopg.Connection, clones: list[Clone]) -> dict[str, int]:
    """Temporary tables `_src_<table>` of the rows to clone; returns their row counts."""
    counts = {}
    for c in clones:
        conds = [sql.SQL(SOURCE_FILTERS.get(c.table, "TRUE"))]
        for column, ref in c.owners.items():
            conds.append(sql.SQL("({col} IS NULL OR {col} IN (SELECT id FROM {src}))")
                         .format(col=sql.Identifier("s", column), src=_src(ref)))
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_src(c.table)))
        conn.execute(sql.SQL("CREATE TEMP TABLE {src} AS SELECT * FROM {t} s WHERE {cond}").format(
            src=_src(c.table), t=sql.Identifier(c.table), cond=sql.SQL(" AND ").join(conds)))
        if c.has_id:
            conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (id)").format(_src(c.table)))
        conn.execute(sql.SQL("ANALYZE {}").format(_src(c.table)))
        counts[c.table] = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(_src(c.table))).fetchone()[0]
    return counts


def _expression(c: Clone, column: str, strides: dict[str, int]) -> sql.Composable:
    """The value of `column` in the clone of source row `s` in round `g.r`."""
    col = sql.Identifier("s", column)
    if column == "id" and c.has_id:
        return sql.SQL("{} + g.r * {}").format(col, sql.Literal(c.stride))
    if column in c.cleared:
        return sql.NULL
    if column in c.inline:
        ref = c.inline[column]
        if column in c.owners:  # source rows only have owners among the source rows
            return sql.SQL("{col} + g.r * {k}").format(col=col, k=sql.Literal(strides[ref]))
        return sql.SQL("CASE WHEN {col} IN (SELECT id FROM {src}) THEN {col} + g.r * {k} ELSE {col} END").format(
            col=col, src=_src(ref), k=sql.Literal(strides[ref]))
    condition = SUFFIXED.get(c.table, {}).get(column)
    if condition:
        return sql.SQL("CASE WHEN {cond} THEN {col} || '/c' || g.r ELSE {col} END").format(
            cond=sql.SQL(condition), col=col)
    return col


def _insert(conn: psycopg.Connection, c: Clone, strides: dict[str, int], first: int, last: int) -> None:
    """Insert the clones of rounds first..last of table `c`."""
    order = ["id"] if c.has_id else c.columns
    conn.execute(sql.SQL("""
        INSERT INTO {t} ({cols})
        SELECT {exprs} FROM {src} s CROSS JOIN generate_series({first}, {last}) AS g(r)
        ORDER BY g.r, {order}""").format(
        t=sql.Identifier(c.table),
        cols=sql.SQL(", ").join(map(sql.Identifier, c.columns)),
        exprs=sql.SQL(", ").join(_expression(c, col, strides) for col in c.columns),
        src=_src(c.table), first=sql.Literal(first), last=sql.Literal(last),
        order=sql.SQL(", ").join(sql.Identifier("s", col) for col in order)))


def _remap_deferred(conn: psycopg.Connection, c: Clone, strides: dict[str, int], first: int, last: int) -> None:
    """Point the forward references of the clones of rounds first..last at the clones of the same round."""
    for column, ref in c.deferred.items():
        conn.execute(sql.SQL("""
            UPDATE {t} SET {col} = {col} + (id / {k}) * {kr}
            WHERE id BETWEEN {lo} AND {hi} AND {col} IN (SELECT id FROM {src})""").format(
            t=sql.Identifier(c.table), col=sql.Identifier(column), k=sql.Literal(c.stride),
            kr=sql.Literal(strides[ref]), lo=sql.Literal(first * c.stride),
            hi=sql.Literal((last + 1) * c.stride - 1), src=_src(ref)))


def count_rows(conn: psycopg.Connection, tables: list[str]) -> dict[str, int]:
    """Exact row counts of the existing tables among `tables`."""
    counts = {}
    for table in tables:
        if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:
            continue
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        counts[table] = conn.execute(query).fetchone()[0]
    return counts


def _reset_sequences(conn: psycopg.Connection, clones: list[Clone]) -> None:
    """Set the id sequence of every cloned table to its max(id), so nextval() gives a free id."""
    for c in clones:
        seq = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", (c.table,)).fetchone()[0] if c.has_id else None
        if seq:
            conn.execute(sql.SQL("SELECT setval({seq}::regclass, max(id)) FROM {t} HAVING count(*) > 0").format(
                seq=sql.Literal(seq), t=sql.Identifier(c.table)))


def secondary_indexes(conn: psycopg.Connection, tables: list[str]) -> list[tuple[str, str]]:
    """(name, definition) of the indexes of `tables` that back no constraint (not primary, not unique)."""
    rows = conn.execute("""
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
        WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisunique AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1""", (tables,)).fetchall()
    return [(r[0], r[1]) for r in rows]


def multiply(dsn: str, rows: int = 1_000_000, progress: Callable[[int, int], None] | None = None,
             batch_rows: int = 100_000) -> dict:
    """Clone the business documents of the database at `dsn` until the snapshot tables hold >= `rows` rows.

    Rounds are inserted in batches of about `batch_rows` rows, one transaction per batch; `progress`,
    if given, is called with (rounds done, rounds in all) after each batch. Ends with VACUUM ANALYZE.
    Returns {"tables": {table: rows}, "total": rows of the snapshot tables, "rounds": clone rounds}.
    """
    listed = snapshot_tables()
    with psycopg.connect(dsn, autocommit=True) as conn:
        total = sum(count_rows(conn, listed).values())
        clones = plan(conn)
        sources = _make_sources(conn, clones)
        per_round = sum(n for t, n in sources.items() if t in listed)
        if per_round == 0:
            raise ValueError("no business documents to clone")
        rounds = max(0, math.ceil((rows - total) / per_round))
        strides = {c.table: c.stride for c in clones}
        for c in clones:
            if c.has_id and (rounds + 1) * c.stride > INT4_MAX:
                raise ValueError(f"{c.table}: {rounds} rounds overflow the integer ids")
        step = max(1, batch_rows // max(1, sum(sources.values())))
        # Plain indexes are rebuilt once at the end rather than kept up to date row by row (about a
        # third faster); primary keys, unique indexes and every constraint stay in place and checked.
        indexes = secondary_indexes(conn, [t for t, n in sources.items() if n]) if rounds else []
        with conn.transaction():
            for name, _ in indexes:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.SQL(name)))
        try:
            for first in range(1, rounds + 1, step):
                last = min(rounds, first + step - 1)
                with conn.transaction():
                    for c in clones:
                        if sources[c.table]:
                            _insert(conn, c, strides, first, last)
                    for c in clones:
                        if sources[c.table]:
                            _remap_deferred(conn, c, strides, first, last)
                if progress:
                    progress(last, rounds)
        finally:
            for _, definition in indexes:
                conn.execute(definition)
        with conn.transaction():
            _reset_sequences(conn, clones)
        for c in clones:
            conn.execute(sql.SQL("DROP TABLE {}").format(_src(c.table)))
        conn.execute("VACUUM ANALYZE")
        counts = count_rows(conn, listed)
    return {"tables": counts, "total": sum(counts.values()), "rounds": rounds}


def broken_foreign_keys(dsn: str) -> dict[str, int]:
    """Validated foreign keys with rows that reference no row: {constraint (table): violating rows}."""
    broken = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        fks = conn.execute("""
            SELECT c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text,
                   array(SELECT attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute ON attrelid = c.conrelid AND attnum = k.n ORDER BY k.i),
                   array(SELECT attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute ON attrelid = c.confrelid AND attnum = k.n ORDER BY k.i)
            FROM pg_constraint c WHERE c.contype = 'f' AND c.convalidated ORDER BY 2, 1""").fetchall()
        for name, table, ref, cols, ref_cols in fks:
            query = sql.SQL("SELECT count(*) FROM {t} c WHERE {notnull} AND NOT EXISTS "
                            "(SELECT 1 FROM {r} p WHERE {match})").format(
                t=sql.SQL(table), r=sql.SQL(ref),
                notnull=sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier("c", c)) for c in cols),
                match=sql.SQL(" AND ").join(sql.SQL("{} = {}").format(sql.Identifier("p", p), sql.Identifier("c", c))
                                            for c, p in zip(cols, ref_cols)))
            n = conn.execute(query).fetchone()[0]
            if n:
                broken[f"{name} ({table})"] = n
    return broken


def main(argv: list[str] | None = None) -> int:
    """CLI: restore the demo dump, multiply it, print the per-table counts, the total and the seconds."""
    parser = argparse.ArgumentParser(prog="python -m bench.odoo_source", description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=DEFAULT_SERVER, help="DSN of a database on the target server")
    parser.add_argument("--name", default=DEFAULT_NAME, help="database to (re)create")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows wanted in the snapshot tables")
    parser.add_argument("--dump", type=Path, default=DEMO_DUMP, help="the Odoo demo pg_dump archive")
    parser.add_argument("--check", action="store_true", help="then count rows breaking validated foreign keys")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    dsn = restore_demo(args.server, args.name, args.dump)
    restored = time.perf_counter()
    print(f"restored {args.name} in {restored - start:.1f} s")

    def report(done: int, rounds: int) -> None:
        print(f"  rounds {done}/{rounds}  {time.perf_counter() - restored:.1f} s", flush=True)

    result = multiply(dsn, args.rows, progress=report)
    end = time.perf_counter()
    for table, n in sorted(result["tables"].items(), key=lambda kv: (-kv[1], kv[0])):
        if n:
            print(f"{table:<60} {n:>10,}")
    print(f"{'total':<60} {result['total']:>10,}")
    print(f"rounds {result['rounds']}; restore {restored - start:.1f} s, multiply {end - restored:.1f} s, "
          f"total {end - start:.1f} s")
    if args.check:
        broken = broken_foreign_keys(dsn)
        for name, n in broken.items():
            print(f"BROKEN {name}: {n} rows")
        print(f"validated foreign keys checked in {time.perf_counter() - end:.1f} s; broken: {len(broken)}")
        return 1 if broken else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
