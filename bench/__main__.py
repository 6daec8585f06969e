"""`make bench`: measurements, not timed tests. Writes bench/results.md and bench/results.json.
`python -m bench protocols startup lint-cache` runs only those parts and prints them (writes nothing);
`python -m bench import` the import case alone.

- protocols: the same capture over XML-RPC, JSON-RPC and JSON-2 side by side (medians of 5, calls,
  byte-identical snapshots), without and with 20 ms added latency per call;
- startup: wall time of `fbs-schema --help` (median of 5);
- lint-cache: `fbs-schema lint` on the committed migrations with a warm cache, and how many files
  go through sqlfluff after one new migration is added;

- capture: calls and seconds of the batched XML-RPC capture next to one ``fields_get`` per model, against
  the local Odoo test server serving the Odoo 17 reference metadata (tests/fixtures/odoo17), without and
  with an injected per-call latency of 20 ms (a remote Odoo), and with the models doubled;
- generate: seconds and peak memory of load + tenant rules + diff + render for the bundled snapshot, the
  full reference metadata (every installed model) and a synthetic snapshot of > 2,000 models built from it;
- diff of two full reference snapshots (without and with purchase);
- lint time of the bundled migrations; apply time, runner vs psql; apply time on Citus (CITUS_URL) next to
  PostgreSQL for the same snapshot (`python -m bench citus` alone);
- query cost with realistic data (bench/queries.py), with and without the tenant-leading FK indexes;
- import: `fbs-schema import` of a real Odoo 17.0 database of >= 1,000,000 rows next to a raw binary COPY
  of the same rows (bench/import_case.py; its source, bench/odoo_source.py, is made once and kept).
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
import tracemalloc
import xmlrpc.client
from datetime import datetime, timezone
from pathlib import Path

from generator import api, diff, planning, render, snapshot
from generator.capture.scope import Scope
from generator.capture.transports import OdooConfig
from generator.model import Snapshot
from tests.support.make_fixtures import FIXTURES, load_records
from tests.support.odoo_server import DB, PASSWORD, USER, FakeOdoo

OUT = Path(__file__).resolve().parent
RUNS = 3


def median_time(fn, runs: int = RUNS) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def capture_batched(records, latency: float, label: str = "batched search_read (fbs-schema capture)") -> dict:
    def once():
        with FakeOdoo(records, latency=latency) as server:
            cfg = OdooConfig(url=server.url, database=DB, user=USER, password=PASSWORD)
            result = api.capture(api.Source(odoo=cfg), Scope())
            return len(server.calls), len(result.snapshot.models)

    seconds, (calls, models) = median_time(once)
    return {"way": label, "latency_ms": latency * 1000, "calls": calls, "ir_models": len(records["ir.model"]),
            "seconds": round(seconds, 3), "models_with_tables": models}


def capture_protocols(records, latency: float, runs: int = 5) -> list[dict]:
    """One bench run, the protocols interleaved (so machine load falls on all of them alike)."""
    import hashlib

    times: dict[str, list[float]] = {p: [] for p in ("xmlrpc", "jsonrpc", "json2")}
    calls: dict[str, int] = {}
    shas: dict[str, set[str]] = {p: set() for p in times}
    for _ in range(runs):
        for protocol in times:
            with FakeOdoo(records, latency=latency) as server:
                cfg = OdooConfig(url=server.url, database=DB, user=USER, password=PASSWORD, protocol=protocol)
                start = time.perf_counter()
                text = api.capture(api.Source(odoo=cfg), Scope()).text
                times[protocol].append(time.perf_counter() - start)
                calls[protocol] = len(server.calls)
                shas[protocol].add(hashlib.sha256(text.encode()).hexdigest())
    identical = len(set().union(*shas.values())) == 1
    xml = statistics.median(times["xmlrpc"])
    return [{"protocol": p, "latency_ms": latency * 1000, "calls": calls[p], "seconds": round(statistics.median(t), 3),
             "ratio_to_xmlrpc": round(statistics.median(t) / xml, 2), "snapshots_identical": identical}
            for p, t in times.items()]


def startup(runs: int = 5) -> dict:
    import subprocess

    exe = str(Path(sys.executable).with_name("fbs-schema"))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([exe, "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return {"command": "fbs-schema --help", "runs": runs, "median_s": round(statistics.median(times), 3),
            "runs_s": [round(t, 3) for t in times]}


def lint_cached() -> dict:
    """`fbs-schema lint` as `make lint` runs it, with a warm cache; then one new migration."""
    import shutil
    import subprocess
    import tempfile

    exe = str(Path(sys.executable).with_name("fbs-schema"))

    def lint(folder: Path, *extra: str) -> tuple[float, str]:
        start = time.perf_counter()
        proc = subprocess.run([exe, "lint", "--migrations", str(folder), *extra], capture_output=True, text=True,
                              cwd=api.PROJECT_ROOT)
        return time.perf_counter() - start, proc.stdout + proc.stderr

    committed = api.PROJECT_ROOT / "migrations"
    lint(committed)  # warm
    warm = sorted(lint(committed)[0] for _ in range(3))[1]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "migrations"
        shutil.copytree(committed, folder)
        cold, _ = lint(folder, "--no-check")
        newest = max(p.name.split("_")[0] for p in folder.glob("*.sql"))
        (folder / f"{int(newest) + 1}_hand_written.sql").write_text(
            "SET LOCAL lock_timeout = '5s';\nCOMMENT ON TABLE sale_order IS 'Sales Order';\n", "utf-8")
        after, output = lint(folder, "--no-check")
    linted = next(line for line in output.splitlines() if line.startswith("sqlfluff:"))
    return {"files": len(list(committed.glob("*.sql"))), "warm_cache_seconds": round(warm, 2),
            "no_cache_seconds": round(cold, 1), "after_one_new_seconds": round(after, 2), "after_one_new": linted}


def synthetic(full: Snapshot, copies: int, own_modules: bool = False) -> Snapshot:
    """``copies`` renamed copies of every model of ``full`` (relations kept within each copy); with
    ``own_modules`` each copy's models are in modules of their own (one initial file per module)."""
    from dataclasses import replace

    names = {m.name for m in full.models}
    models = []
    for k in range(copies):
        def ren(model: str | None) -> str | None:
            return f"{model}.c{k}" if model in names else model
        for m in full.models:
            fields = tuple(replace(f, relation=ren(f.relation),
                                   relation_table=f"{f.relation_table}_c{k}" if f.relation_table else None)
                           for f in m.fields)
            constraints = tuple(replace(c, name=f"{c.name}_c{k}") for c in m.constraints)
            models.append(replace(m, name=ren(m.name), table=f"{m.table}_c{k}", fields=fields, constraints=constraints,
                                  module=f"{m.module}_c{k}" if own_modules else m.module))
    return replace(full, models=tuple(sorted(models, key=lambda m: m.name)))


def diff_cost(full_text: str) -> dict:
    from generator.capture.catalog import from_snapshot
    from generator.capture.scope import select

    cat = from_snapshot(snapshot.loads(full_text))
    purchase = {"purchase", "purchase_stock", "sale_purchase", "sale_purchase_stock",
                "spreadsheet_dashboard_purchase", "spreadsheet_dashboard_purchase_stock"}
    a = select(cat, Scope(modules=tuple(m for m in cat.installed_modules if m not in purchase)))
    b = select(cat, Scope(modules=cat.installed_modules))
    seconds, operations = median_time(lambda: diff.diff(a, b))
    return {"what": "diff of two full reference snapshots (all installed modules, without and with purchase)",
            "models": [len(a.models), len(b.models)], "operations": len(operations), "seconds": round(seconds, 3)}


def lint_cost() -> dict:
    from generator import lint

    folder = api.PROJECT_ROOT / "migrations"
    start = time.perf_counter()
    findings = lint.semantic(folder)
    semantic_s = time.perf_counter() - start
    start = time.perf_counter()
    fluff = lint.run_sqlfluff(sorted(folder.glob("*.sql")))
    fluff_s = time.perf_counter() - start
    start = time.perf_counter()
    squawk = lint.run_squawk(sorted(folder.glob("*.sql")))
    squawk_s = time.perf_counter() - start
    return {"files": len(list(folder.glob("*.sql"))), "semantic_findings": len(findings), "semantic_seconds": round(semantic_s, 2),
            "sqlfluff_exit": fluff[0], "sqlfluff_seconds": round(fluff_s, 1), "squawk_exit": squawk[0],
            "squawk_seconds": round(squawk_s, 2)}


def capture_fields_get(records, latency: float) -> dict:
    def once():
        with FakeOdoo(records, latency=latency) as server:
            common = xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/common", allow_none=True)
            obj = xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/object", allow_none=True)
            uid = common.authenticate(DB, USER, PASSWORD, {})
            models = obj.execute_kw(DB, uid, PASSWORD, "ir.model", "search_read", [[]], {"fields": ["model"]})
            fields = 0
            for m in models:
                try:
                    fields += len(obj.execute_kw(DB, uid, PASSWORD, m["model"], "fields_get", [], {}))
                except xmlrpc.client.Fault:
                    pass
            return len(server.calls), fields

    seconds, (calls, fields) = median_time(once, runs=1 if latency else RUNS)
    return {"way": "one fields_get per model", "latency_ms": latency * 1000, "calls": calls,
            "seconds": round(seconds, 3), "fields": fields}


def generate_cost(snap_text: str, label: str, runs: int = RUNS) -> dict:
    def once():
        snap = snapshot.loads(snap_text)
        plan = diff.plan(Snapshot.empty(), snap)
        schema, operations = plan.new, plan.operations
        info = render.SnapshotInfo(snapshot.sha256(snap_text), snap.odoo_version, snap.modules)
        plans = planning.files(plan, None)
        stamps = planning.versions(datetime(2026, 1, 1), len(plans))
        files = [render.render_file(list(p.operations), description=p.description, version=v, snapshot=info,
                                    no_transaction=p.no_transaction) for p, v in zip(plans, stamps)]
        return snap, schema, operations, files

    once()  # warm (template compilation, schema compilation)
    seconds, (snap, schema, operations, files) = median_time(once, runs)
    tracemalloc.start()
    once()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"snapshot": label, "models": len(snap.models), "tables": len(schema.tables),
            "operations": len(operations), "files": len(files), "sql_bytes": sum(len(f.text) for f in files),
            "seconds": round(seconds, 3), "peak_mib": round(peak / 2**20, 1)}


def every_module(version: str) -> Snapshot:
    """Every installed module of the 18.0/19.0 fixtures (the issue's target: under 1 s of generator time)."""
    from generator.capture.scope import select
    from tests.support import versions

    return select(versions.catalog(version), Scope())


def generate_at_scale(snap_text: str, label: str) -> dict:
    """The whole ``generate`` command path (strict load, tenant rules, diff, lock-safe split, render,
    no writes) on a large snapshot, in a fresh process so that its peak resident size is its own."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "snapshot.json"
        path.write_text(snap_text, "utf-8")
        out = subprocess.run([sys.executable, "-m", "bench", "--scale", str(path)], check=True, capture_output=True,
                             text=True, cwd=api.PROJECT_ROOT).stdout
    return {"snapshot": label, "snapshot_mib": round(len(snap_text.encode()) / 2**20, 1), **json.loads(out)}


def _scale_child(path: str) -> None:
    import resource

    start = time.perf_counter()
    snap = api.load_new_snapshot(None, Scope(), path, api.Silent())  # as generate loads it (no cyclic collector)
    result = api.generate(snap, api.GenerateOptions(migrations_dir=Path(path).parent / "migrations", dry_run=True,
                                                    timestamp=datetime(2026, 1, 1)))
    seconds = time.perf_counter() - start
    print(json.dumps({"models": len(snap.models), "operations": len(result.operations), "files": len(result.files),
                      "sql_bytes": sum(len(f.text) for f in result.files), "seconds": round(seconds, 2),
                      "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def apply_cost(folder: Path) -> list[dict]:
    """The bundled migrations applied to an empty database: our runner vs psql -1 -f, file by file."""
    from generator.runner.apply import RunOptions
    from tests.support import pg
    from tests.support.migrations import psql_apply, sql_files

    files = sql_files(folder)

    def with_psql():
        with pg.fresh_database("fbs_bench") as dsn:
            start = time.perf_counter()
            psql_apply(dsn, files)
            return time.perf_counter() - start

    def with_runner():
        with pg.fresh_database("fbs_bench") as dsn:
            start = time.perf_counter()
            api.migrate(RunOptions(migrations_dir=folder, database_url=dsn))
            return time.perf_counter() - start

    out = []
    for way, fn in (("psql -v ON_ERROR_STOP=1 -1 -f, per file", with_psql), ("fbs-schema migrate", with_runner)):
        runs = sorted(fn() for _ in range(RUNS))
        out.append({"way": way, "files": len(files), "seconds": round(statistics.median(runs), 3)})
    out[1]["ratio_to_psql"] = round(out[1]["seconds"] / out[0]["seconds"], 2)
    return out


def citus_apply() -> dict:
    """The bundled snapshot rendered for PostgreSQL and for Citus, each applied by `fbs-schema migrate`
    to an empty database: PostgreSQL 15 (DATABASE_URL / 127.0.0.1:5432) next to the Citus cluster
    at CITUS_URL (coordinator + workers). One run each (Citus builds ~3,500 shards)."""
    import tempfile

    from generator.runner.apply import RunOptions
    from tests.support import citus, pg
    from tests.support.migrations import generate

    if not citus.url():
        return {"not_run": "CITUS_URL is not set (e.g. CITUS_URL=postgresql://postgres@127.0.0.1:9700/postgres make bench)"}
    snap = snapshot.load(api.BUNDLED_SNAPSHOT)
    out = {"snapshot": api.BUNDLED_SNAPSHOT.name}
    with tempfile.TemporaryDirectory() as tmp:
        for name, fresh in (("postgres", pg.fresh_database), ("citus", citus.fresh_database)):
            folder = Path(tmp) / name
            generate(snap, folder, target=name)
            with fresh("fbs_bench") as dsn:
                start = time.perf_counter()
                steps = api.migrate(RunOptions(migrations_dir=folder, database_url=dsn))
                seconds = time.perf_counter() - start
                tables = citus.placement(dsn) if name == "citus" else None
            out[name] = {"files": len(steps), "seconds": round(seconds, 2)}
            if tables:
                out[name].update(tables=tables[0], distributed=tables[1], colocation_groups=tables[2])
    out["ratio"] = round(out["citus"]["seconds"] / out["postgres"]["seconds"], 1)
    return out


def _full_reference_text() -> str:
    """The snapshot of every installed model of the 17.0 reference, captured from the test server."""
    with FakeOdoo(load_records(FIXTURES)) as server:
        cfg = OdooConfig(url=server.url, database=DB, user=USER, password=PASSWORD)
        return api.capture(api.Source(odoo=cfg), Scope()).text


def _at_scale() -> dict:
    huge = snapshot.dumps(synthetic(snapshot.loads(_full_reference_text()), 47, own_modules=True))
    return generate_at_scale(huge, "synthetic: 47 copies of the full reference, each in modules of its own")


def _process_snapshots() -> tuple[dict[str, str], dict[str, str]]:
    """Every module of each reference, and the > 10,000-model synthetic snapshot."""
    refs = {f"Odoo {v}: all installed modules": snapshot.dumps(every_module(v)) for v in ("17.0", "18.0", "19.0")}
    huge = snapshot.dumps(synthetic(snapshot.loads(_full_reference_text()), 47, own_modules=True))
    return refs, {"synthetic: 47 copies of the full reference (10,152 models)": huge}


def generate_process() -> dict:
    """`generate` as a whole fresh process (bench/process.py), for the code at BENCH_CODE or this one."""
    from bench import process

    refs, huge = _process_snapshots()
    codes = {"this": process.code_dir()}
    before = process.before_dir()
    if before is not None:
        codes["before"] = before
    small, large = process.measure(refs, codes, runs=5), process.measure(huge, codes, runs=1)
    out = {"code": str(codes["this"]), "rows": small["this"] + large["this"]}
    if "before" in codes:
        out.update(before=small["before"] + large["before"],
                   before_label=f"{process.describe(codes['before'])}, measured in the same run (BENCH_BEFORE), "
                                "its runs alternating with this code's")
    return out


def _with_before(measured: dict) -> dict:
    """The figures of the previous results.json (or the 'before' it carried) kept beside the new ones,
    unless this run measured earlier code itself (BENCH_BEFORE)."""
    if measured.get("before"):
        return measured
    try:
        old = json.loads((OUT / "results.json").read_text("utf-8")).get("generate_process") or {}
    except (OSError, ValueError):
        old = {}
    if old.get("rows"):
        return {**measured, "before": old["rows"], "before_label": old.get("label", "the previous make bench")}
    return {**measured, "before": old.get("before"), "before_label": old.get("before_label")}


def _import_case() -> dict:
    from bench import import_case

    return import_case.run(lambda line: print(line, file=sys.stderr))


PARTS = {
    "import": _import_case,
    "citus": citus_apply,
    "scale": _at_scale,
    "protocols": lambda: capture_protocols(load_records(FIXTURES), 0.0) + capture_protocols(load_records(FIXTURES), 0.02),
    "startup": startup,
    "generate-process": generate_process,
    "lint-cache": lint_cached,
    "odoo-versions": lambda: [generate_cost(snapshot.dumps(every_module(v)), f"Odoo {v}: all installed modules")
                              for v in ("17.0", "18.0", "19.0")],
}


def main() -> None:
    if sys.argv[1:]:
        print(json.dumps({part: PARTS[part]() for part in sys.argv[1:]}, indent=1))
        return
    records = load_records(FIXTURES)
    print("capture ...", file=sys.stderr)
    from tests.support.odoo_server import doubled

    capture = [capture_batched(records, 0.0), capture_fields_get(records, 0.0),
               capture_batched(records, 0.02), capture_fields_get(records, 0.02),
               capture_batched(doubled(records), 0.0, "batched search_read, every model doubled")]
    protocols = capture_protocols(records, 0.0) + capture_protocols(records, 0.02)
    print("start-up, lint cache ...", file=sys.stderr)
    started = startup()
    cached = lint_cached()
    print("generate ...", file=sys.stderr)
    full_text = _full_reference_text()
    big = synthetic(snapshot.loads(full_text), 10)
    generate = [generate_cost(api.BUNDLED_SNAPSHOT.read_text("utf-8"), "bundled sales-inventory"),
                generate_cost(full_text, "full reference (all installed models)"),
                generate_cost(snapshot.dumps(big), "synthetic: 10 copies of the full reference", runs=1)]
    generate += [generate_cost(snapshot.dumps(every_module(version)), f"Odoo {version}: all installed modules")
                 for version in ("18.0", "19.0")]
    del big
    print("generate as a whole process ...", file=sys.stderr)
    processed = _with_before({**generate_process(), "label": f"make bench of {datetime.now(timezone.utc):%Y-%m-%d}"})
    print("generate at scale (>= 10,000 models) ...", file=sys.stderr)
    scale = _at_scale()
    print("diff, lint ...", file=sys.stderr)
    diffed = diff_cost(full_text)
    linted = lint_cost()
    print("queries (loads 2 million rows; a few minutes) ...", file=sys.stderr)
    from bench import queries

    query = queries.run()
    print("apply ...", file=sys.stderr)
    apply = apply_cost(api.PROJECT_ROOT / "migrations")
    print("apply on Citus (when CITUS_URL is set) ...", file=sys.stderr)
    on_citus = citus_apply()
    print("import (>= 1,000,000 rows of a real Odoo database) ...", file=sys.stderr)
    imported = _import_case()
    results = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
                   f"{__import__('os').cpu_count()} cores",
        "capture": capture,
        "protocols": protocols,
        "startup": started,
        "lint_cache": cached,
        "generate": generate,
        "generate_at_scale": scale,
        "generate_process": processed,
        "apply": apply,
        "apply_citus": on_citus,
        "diff": diffed,
        "lint": linted,
        "queries": query,
        "import": imported,
    }
    (OUT / "results.json").write_text(json.dumps(results, indent=1) + "\n", "utf-8")
    lines = [f"Benchmark run {results['date']} on {results['machine']} (medians of {RUNS} runs).", "",
             "| capture of the Odoo 17 reference metadata (412 models) | latency/call | calls | seconds |",
             "|---|---:|---:|---:|"]
    for c in capture:
        lines.append(f"| {c['way']} | {c['latency_ms']:.0f} ms | {c['calls']} | {c['seconds']:.2f} |")
    lines += ["", "| capture over each protocol, same run (medians of 5) | latency/call | calls | seconds | vs XML-RPC | identical snapshots |",
              "|---|---:|---:|---:|---:|---|"]
    for c in protocols:
        lines.append(f"| {c['protocol']} | {c['latency_ms']:.0f} ms | {c['calls']} | {c['seconds']:.3f} "
                     f"| {c['ratio_to_xmlrpc']:.2f}x | {'yes' if c['snapshots_identical'] else 'NO'} |")
    lines += ["", f"Start-up: `{started['command']}` {started['median_s']:.3f} s (median of {started['runs']}).", "",
              f"Lint with the cache ({cached['files']} files): warm {cached['warm_cache_seconds']:.2f} s, without cache "
              f"{cached['no_cache_seconds']:.1f} s; after adding one migration {cached['after_one_new_seconds']:.2f} s "
              f"({cached['after_one_new']})."]
    lines += ["", "| generate (load + tenant rules + diff + render, no writes) | models | tables | operations | SQL bytes | seconds | peak MiB |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for g in generate:
        lines.append(f"| {g['snapshot']} | {g['models']} | {g['tables']} | {g['operations']} | {g['sql_bytes']:,} "
                     f"| {g['seconds']:.3f} | {g['peak_mib']} |")
    from bench import process

    lines += process.markdown(processed["rows"], processed.get("before"), processed.get("before_label"))
    lines += ["", f"Generate at scale, the whole `generate` path (strict load, tenant rules, diff, render; no writes), "
                  f"{scale['snapshot']}: {scale['models']:,} models, {scale['snapshot_mib']} MiB of snapshot, "
                  f"{scale['operations']:,} operations in {scale['files']:,} files ({scale['sql_bytes']:,} SQL bytes): "
                  f"{scale['seconds']:.1f} s, {scale['max_rss_mib']} MiB peak resident size (its own process)."]
    lines += ["", f"Diff: {diffed['what']}: {diffed['models'][0]} -> {diffed['models'][1]} models, "
                  f"{diffed['operations']} operations, {diffed['seconds']:.3f} s.", "",
              f"Lint of the bundled migrations ({linted['files']} files): semantic checks {linted['semantic_seconds']:.2f} s "
              f"({linted['semantic_findings']} findings), sqlfluff {linted['sqlfluff_seconds']:.1f} s (exit {linted['sqlfluff_exit']}), "
              f"squawk {linted['squawk_seconds']:.2f} s (exit {linted['squawk_exit']})."]
    lines += ["", "| apply the bundled migrations to an empty database | files | seconds | vs psql |", "|---|---:|---:|---:|"]
    for a in apply:
        lines.append(f"| {a['way']} | {a['files']} | {a['seconds']:.2f} | {a.get('ratio_to_psql', 1.0):.2f}x |")
    if "not_run" in on_citus:
        lines += ["", f"Apply on Citus: not run: {on_citus['not_run']}."]
    else:
        c, p = on_citus["citus"], on_citus["postgres"]
        lines += ["", f"| apply {on_citus['snapshot']} with fbs-schema migrate | files | seconds |", "|---|---:|---:|",
                  f"| PostgreSQL 15 (--target postgres) | {p['files']} | {p['seconds']:.2f} |",
                  f"| Citus 3 nodes (--target citus; {c['distributed']}/{c['tables']} tables distributed, "
                  f"{c['colocation_groups']} colocation group) | {c['files']} | {c['seconds']:.2f} |"]
    rows = ", ".join(f"{t} {n:,}" for t, n in query["rows"].items())
    lines += ["", f"Query cost, {query['tenants']} tenants ({rows}; loaded in {query['load_seconds']} s); "
                  f"EXPLAIN (ANALYZE, BUFFERS), median of 5; \"without\" = after dropping the "
                  f"{query['dropped_indexes']} tenant-leading FK indexes of the tables involved:", "",
              "| query | with: ms | with: buffers | without: ms | without: buffers |", "|---|---:|---:|---:|---:|"]
    for q in query["queries"]:
        w, wo = q["with"], q["without"]
        def buf(r):
            return f"{r['shared_hit'] + r['shared_read']:,}" + (f" (+ FK triggers {r['trigger_ms']} ms)" if r["trigger_ms"] else "")
        lines.append(f"| {q['query']} | {w['ms']} | {buf(w)} | {wo['ms']} | {buf(wo)} |")
    from bench import import_case

    lines += import_case.markdown(imported)
    text = "\n".join(lines) + "\n"
    (OUT / "results.md").write_text(text, "utf-8")
    print(text)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--scale"]:
        _scale_child(sys.argv[2])
    else:
        main()
