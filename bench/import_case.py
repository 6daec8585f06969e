"""`python -m bench import`: the import of a real Odoo 17.0 database of >= 1,000,000 rows (the demo
database with its documents cloned, bench/odoo_source.py) next to a raw binary COPY of the same rows.

- raw: every Odoo table the import reads, `COPY (SELECT <its columns>) TO STDOUT (FORMAT binary)` piped
  into `COPY ... FROM STDIN (FORMAT binary)` of a table with the same columns and no constraint, index
  or RLS, through the same Python loop as the import, one table after the other;
- import: `fbs-schema import` as a user runs it (its own process, --jobs 1 and the default 2) into a
  database migrated to the bundled snapshot: keys computed, references remapped, constraints and
  indexes maintained, foreign keys put back and validated. Peak memory is the process's maximum RSS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

from bench import odoo_source
from generator import api, folder as folder_mod, mapping, tenant
from generator.runner.apply import RunOptions
from tests.support import pg
from tests.support.migrations import generate

TENANT = "5e5e5e5e-0000-4000-8000-000000000001"
ROWS = int(os.environ.get("FBS_BENCH_IMPORT_ROWS", "1000000"))


def source(name: str = "fbs_bench_odoo") -> str:
    """The bench source database, made once (restore + multiply, about 2 minutes) and kept."""
    dsn = pg.dsn_for(name)
    try:
        with psycopg.connect(dsn) as conn:
            counts = odoo_source.count_rows(conn, odoo_source.snapshot_tables())
        if sum(counts.values()) >= ROWS:
            return dsn
    except psycopg.OperationalError:
        pass
    made = odoo_source.restore_demo(pg.server_dsn() or odoo_source.DEFAULT_SERVER, name)
    odoo_source.multiply(made, ROWS)
    return made


def _odoo_tables(folder: Path) -> list[str]:
    snap, rules = folder_mod.load_kept(folder)
    return sorted({tm.odoo_table for tm in mapping.of(tenant.build(snap, rules)).tables
                   if tm.kind != "company values"})


def raw_copy(src_dsn: str, target_dsn: str, tables: list[str]) -> tuple[int, float]:
    """Rows and seconds of a raw binary COPY of ``tables`` into unconstrained copies."""
    rows = 0
    with psycopg.connect(src_dsn) as src, psycopg.connect(target_dsn) as tgt:
        for t in tables:
            columns = [r[0] for r in src.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
                "ORDER BY attnum", (t,))]
            types = [r[0] for r in src.execute(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = %s::regclass "
                "AND attnum > 0 AND NOT attisdropped ORDER BY attnum", (t,))]
            tgt.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(f"raw_{t}"), sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(ty)) for c, ty in zip(columns, types))))
        tgt.commit()
        start = time.perf_counter()
        for t in tables:
            cols = sql.SQL(", ").join(map(sql.Identifier, [r[0] for r in src.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
                "ORDER BY attnum", (t,))]))
            out_sql = sql.SQL("COPY (SELECT {} FROM {}) TO STDOUT (FORMAT binary)").format(cols, sql.Identifier(t))
            in_sql = sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(sql.Identifier(f"raw_{t}"))
            with src.cursor().copy(out_sql) as out, tgt.cursor().copy(in_sql) as into:
                for data in out:
                    into.write(data)
            tgt.commit()
            rows += tgt.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(f"raw_{t}"))).fetchone()[0]
        return rows, time.perf_counter() - start


def import_once(src_dsn: str, target_dsn: str, folder: Path, jobs: int) -> dict:
    """`fbs-schema import` in its own process: its result, wall time and maximum RSS (measured by
    bench.peak, see there why not from this process)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bench.peak", sys.executable, "-m", "generator", "import",
                           "--odoo-dsn", src_dsn, "--database-url", target_dsn, "--migrations", str(folder),
                           "--tenant", TENANT, "--jobs", str(jobs), "--json"],
                          capture_output=True, stdin=subprocess.DEVNULL, text=True, cwd=Path(__file__).parent.parent)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"fbs-schema import failed: {proc.stderr}")
    peak_kb = int(proc.stderr.rsplit("fbs-bench-peak-kb: ", 1)[1].split()[0])
    result = json.loads(proc.stdout)
    tables = result["tables"]
    return {"rows": result["loaded_rows"], "seconds": round(seconds, 2), "peak_mb": round(peak_kb / 1024, 1),
            "foreign_keys": result["foreign_keys"], "phases": result["phases"],
            "copy_seconds": round(sum(t["copy_seconds"] for t in tables), 2),
            "index_seconds": round(sum(t["index_seconds"] for t in tables), 2),
            "indexes_rebuilt": sum(t["indexes_rebuilt"] for t in tables)}


def markdown(out: dict) -> list[str]:
    if "not_run" in out:
        return ["", f"Import: not run: {out['not_run']}."]
    raw = out["raw"]
    lines = ["", f"Import of a real Odoo 17.0 database of {out['source_rows']:,} rows (the demo database, its documents "
                 "cloned; bench/odoo_source.py) into the bundled snapshot's schema, next to a raw binary COPY of the same "
                 "rows into tables without constraints or indexes (same machine, same Python loop). The import's rows "
                 "count the per-company rows it makes from ir_property, less the rows it does not carry:", "",
             "| way | rows | seconds | rows/s | vs raw COPY | streaming s (summed over tables) "
             "| index builds s (summed) | FK validation s | peak MB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
             f"| raw binary COPY, one table after the other | {raw['rows']:,} | {raw['seconds']} | {raw['rows_per_s']:,} "
             "| 1.00x | | | | |"]
    for jobs in (1, 2):
        r = out[f"import_jobs_{jobs}"]
        lines.append(f"| fbs-schema import --jobs {jobs} | {r['rows']:,} | {r['seconds']} | {r['rows_per_s']:,} "
                     f"| {r['ratio']:.2f}x | {r['copy_seconds']} | {r['index_seconds']} ({r['indexes_rebuilt']} indexes) "
                     f"| {r['phases'].get('validate', 0):.1f} ({r['foreign_keys']} keys) | {r['peak_mb']} |")
    return lines


def run(progress=print) -> dict:
    if not odoo_source.DEMO_DUMP.exists():
        return {"not_run": f"the Odoo 17.0 demo dump is not at {odoo_source.DEMO_DUMP} (../shared, or FBS_ODOO_DEMO_DUMP)"}
    progress(f"import: the source ({ROWS:,} rows; made once, about 2 minutes) ...")
    src = source()
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / "fbs-bench-import-migrations"
    if not (folder / "fbs-snapshot.json").exists():
        generate(api.load_new_snapshot(None, None, None, api.Silent()), folder)
    tables = _odoo_tables(folder)
    out: dict = {"source_rows": None}
    with pg.fresh_database("fbs_bench_raw") as raw_db:
        rows, seconds = raw_copy(src, raw_db, tables)
        out["raw"] = {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}
        progress(f"raw binary COPY: {rows:,} rows in {seconds:.1f} s")
    out["source_rows"] = rows
    out["copy_ratio_note"] = ("the import's streaming alone (copy_seconds, summed over tables) next to the raw COPY: "
                              "the mapping costs that much; the rest is building the indexes and validating the keys")
    for jobs in (1, 2):
        with pg.fresh_database("fbs_bench_import") as target:
            api.migrate(RunOptions(migrations_dir=folder, database_url=target), api.Silent())
            result = import_once(src, target, folder, jobs)
        result["rows_per_s"] = round(result["rows"] / result["seconds"])
        result["ratio"] = round(result["rows_per_s"] / out["raw"]["rows_per_s"], 2)
        out[f"import_jobs_{jobs}"] = result
        progress(f"import --jobs {jobs}: {result['rows']:,} rows in {result['seconds']} s, "
                 f"{result['rows_per_s']:,} rows/s ({result['ratio']}x raw), peak {result['peak_mb']} MB")
    return out


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
