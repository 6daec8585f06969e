"""Query cost on the generated schema with realistic data: 100 tenants, 1,000,000 rows each in
sale_order_line and stock_move. Each query runs under EXPLAIN (ANALYZE, BUFFERS) with the generated
indexes, then again after dropping the tenant-leading foreign-key indexes of the tables involved."""

from __future__ import annotations

import json
import statistics
import time
import uuid

import psycopg

from bench.data import load
from generator import api, snapshot, tenant
from generator.runner.apply import RunOptions
from tests.support import pg

TENANTS = 100
QUERIES = {
    "a tenant's open orders by state and date": (
        "SELECT id, name, date_order, amount_total FROM sale_order "
        "WHERE tenant_id = %(tenant)s AND state IN ('draft', 'sent') ORDER BY date_order DESC LIMIT 50"),
    "a product's stock moves": (
        "SELECT id, date, product_uom_qty, state FROM stock_move "
        "WHERE tenant_id = %(tenant)s AND product_id = %(product)s ORDER BY date DESC"),
    "the lines of one order": (
        "SELECT id, product_id, product_uom_qty, price_unit FROM sale_order_line "
        "WHERE tenant_id = %(tenant)s AND order_id = %(order)s"),
    "cascade delete of one order": "DELETE FROM sale_order WHERE tenant_id = %(tenant)s AND id = %(order)s",
}
TABLES = ("sale_order", "sale_order_line", "stock_move")


def _explain(conn, query: str, params: dict) -> dict:
    runs = []
    for _ in range(5):
        with conn.transaction(force_rollback=True):
            plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query, params).fetchone()[0][0]
        top = plan["Plan"]
        trigger_ms = sum(t["Time"] for t in plan.get("Triggers", []))
        runs.append({"ms": plan["Execution Time"] + plan["Planning Time"], "trigger_ms": trigger_ms,
                     "shared_hit": top.get("Shared Hit Blocks", 0), "shared_read": top.get("Shared Read Blocks", 0),
                     "node": top["Node Type"] + (" " + top.get("Index Name", "") if top.get("Index Name") else "")})
    best = sorted(runs, key=lambda r: r["ms"])[len(runs) // 2]
    return {**best, "ms": round(statistics.median(r["ms"] for r in runs), 2), "trigger_ms": round(best["trigger_ms"], 2)}


def run() -> dict:
    snap = snapshot.load(api.BUNDLED_SNAPSHOT)
    schema = tenant.build(snap)
    tenants = [str(uuid.UUID(int=i + 1)) for i in range(TENANTS)]
    out: dict = {"tenants": TENANTS, "rows": {}, "queries": []}
    with pg.fresh_database("fbs_bench_q") as dsn:
        api.migrate(RunOptions(migrations_dir=api.PROJECT_ROOT / "migrations", database_url=dsn))
        started = time.perf_counter()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")  # consistent data; skip FK triggers while loading
            loaded: set[str] = set()
            load(conn, schema, "res_partner", 200, tenants, loaded=loaded)
            load(conn, schema, "product_template", 500, tenants, loaded=loaded)
            load(conn, schema, "product_product", 500, tenants, loaded=loaded)
            load(conn, schema, "sale_order", 2_000, tenants, loaded=loaded)
            load(conn, schema, "sale_order_line", 10_000, tenants, fill=("product_id", "product_uom"), loaded=loaded)
            load(conn, schema, "stock_move", 10_000, tenants, loaded=loaded)
            conn.execute("SET session_replication_role = DEFAULT")
            conn.execute("VACUUM ANALYZE")
            for t in ("sale_order", "sale_order_line", "stock_move", "product_product", "res_partner"):
                out["rows"][t] = conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        out["load_seconds"] = round(time.perf_counter() - started, 1)
        with psycopg.connect(dsn) as conn:
            t = tenants[41]
            params = {
                "tenant": t,
                "product": conn.execute("SELECT product_id FROM stock_move WHERE tenant_id = %s LIMIT 1", (t,)).fetchone()[0],
                "order": conn.execute("SELECT order_id FROM sale_order_line WHERE tenant_id = %s LIMIT 1", (t,)).fetchone()[0],
            }
            with_indexes = {name: _explain(conn, q, params) for name, q in QUERIES.items()}
            fk_indexes = sorted({i.name for table in schema.tables for fk in table.foreign_keys for i in table.indexes
                                 if table.name in TABLES or fk.ref_table in TABLES
                                 if [c.name for c in i.columns[:2]] == list(fk.columns)})
            with conn.transaction():
                for name in fk_indexes:
                    conn.execute(f'DROP INDEX "{name}"')
            conn.execute("ANALYZE")
            without = {name: _explain(conn, q, params) for name, q in QUERIES.items()}
        for name in QUERIES:
            out["queries"].append({"query": name, "with": with_indexes[name], "without": without[name]})
        out["dropped_indexes"] = len(fk_indexes)
    return out


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
