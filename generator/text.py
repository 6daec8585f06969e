"""The library's results as the lines a person reads: what each command prints, as text, for the CLI
to echo (``Err`` lines go to standard error). Plain functions of a result: no click, no printing, no
exit codes; ``--json`` documents are built here too, so both outputs of a command sit together."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterator


class Err(str):
    """A line for standard error (a note, a summary of what the tools did), in its place among the others."""


def step_line(s) -> str:
    timing = f" ({s.seconds:.2f} s)" if s.seconds else ""
    return f"{s.action} {s.version} {s.description}{timing}"


def table(rows: list[tuple[str, ...]], numbers=()) -> Iterator[str]:
    """Rows of cells as aligned columns (the ``numbers`` columns right-aligned), the first row a header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        yield "  ".join(c.rjust(w) if i in numbers else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()


# ---------------------------------------------------------------------------------------------
# generate, plan, lint

def generated(g) -> Iterator[str]:
    """What generate (or plan) did, or would do (a ``commands.Generated``)."""
    result, folder = g.result, g.folder
    if result.upgrade:
        yield f"Odoo upgrade: {result.upgrade}"
    if g.dry_run:
        yield from plan(result, g.at_risk)
    yield from (Err(f"note: {note}") for note in result.notes)
    if result.status == "no changes":
        yield f"no changes: {folder} is up to date with the snapshot (sha256 {result.snapshot_sha[:12]})"
        return
    if result.status == "out of date":
        yield f"{folder} is NOT up to date with the snapshot: {len(result.operations)} operation(s) pending"
        yield from (f"  {op.describe()}" for op in result.operations[:20])
        return
    for ref in result.external:
        yield f"external reference (plain uuid, no foreign key): {ref.table}.{ref.column} -> {ref.model}"
    for t in g.snapshot.tableless:
        what = "an SQL view or query in Odoo" if t.kind == "view" else "a table Odoo makes by hand"
        yield f"not rendered ({what}): {t.name}"
    verb = "would write" if result.status == "planned" else "wrote"
    yield from (f"{verb} {Path(folder) / f.filename}" for f in result.files)
    yield f"{len(result.operations)} operations, {len(result.files)} file(s), snapshot sha256 {result.snapshot_sha[:12]}"


def plan(result, at_risk: dict) -> Iterator[str]:
    """What a migration would do, per table: + added, ~ changed, - dropped; destructive ones marked,
    with why (from the snapshots) and, given a database, how many rows or values they would lose."""
    by_table: dict[str, list] = {}
    for i, op in enumerate(result.operations):
        by_table.setdefault(op.table_name or "(database)", []).append((i, op))
    for name in sorted(by_table):
        yield f"{name}:"
        for i, op in by_table[name]:
            sign = "-" if op.kind.startswith(("drop", "disable")) else "+" if op.kind.startswith(
                ("create", "add", "enable")) else "~"
            flag = ""
            if op.destructive:
                flag = "   [DESTRUCTIVE]"
                if i in at_risk:
                    n = at_risk[i]
                    what = "values" if "column" in op.kind else "rows it refuses" if op.kind == "add_constraint" else "rows"
                    flag += " (not in the database)" if n is None else f" ({n:,} {what})"
                if result.reasons.get(i):
                    flag += f"\n      why: {result.reasons[i]}"
            yield f"  {sign} {op.describe()}{flag}"


def lint(result, migrations_dir: str) -> Iterator[str]:
    yield from (str(f) for f in result.findings)
    if result.up_to_date is False:
        yield (f"{migrations_dir}: [up-to-date] not up to date with the snapshot: {result.pending} operation(s) "
               "pending; run fbs-schema generate")
    tools = [(name, run) for name, run in (("sqlfluff", result.sqlfluff), ("squawk", result.squawk)) if run]
    for name, run in tools:
        if run.exit_code != 0:
            yield f"--- {name} (exit {run.exit_code}):\n{run.output.rstrip()}"
    summary = "clean" if result.ok else "FAILED"
    yield (f"lint {summary}: {len(result.findings)} semantic finding(s)"
           + "".join(f", {name} exit {run.exit_code}" for name, run in tools))
    for name, run in tools:
        yield Err(f"{name}: {run.linted} file(s) linted, {run.cached} clean in the cache")


# ---------------------------------------------------------------------------------------------
# the runner and solutions

def status(rows) -> Iterator[str]:
    for r in rows:
        when = f"  {r.installed_on}  {r.execution_ms:.0f} ms" if r.installed_on and r.execution_ms is not None \
            else f"  {r.installed_on}" if r.installed_on else ""
        yield f"{r.version}  {r.state:<16} {r.description}{when}"


def verify(differences) -> Iterator[str]:
    yield from (str(d) for d in differences)
    yield ("verify: the database matches the snapshot" if not differences
           else f"verify: {len(differences)} difference(s)")


def verify_json(differences) -> dict:
    return {"ok": not differences, "differences": [dataclasses.asdict(d) for d in differences]}


def solutions(states) -> Iterator[str]:
    rows = [("solution", "selection", "target", "placement", "reachable", "applied", "pending", "drift", "state")]
    rows += [(s.name, s.selection, s.target, s.placement, "yes" if s.reachable else "no", str(s.applied),
              str(s.pending), str(s.drift), s.state) for s in states]
    yield from table(rows)


def setup(result, solution) -> Iterator[str]:
    if result.created_database:
        yield f"created database {result.database}"
    if result.created_schema:
        yield f"created schema {solution.placement.schema}"
    yield from (f"generated {solution.migrations_dir / f}" for f in result.generated)
    yield from (step_line(s) for s in result.applied)
    if result.did_nothing:
        yield (f"{solution.name} is already set up ({solution.placement.describe()}, database {result.database}): "
               "nothing to do")
    else:
        yield f"{solution.name} is set up: {len(result.applied)} migration(s) applied"


# ---------------------------------------------------------------------------------------------
# compare-odoo, import

def comparison(result) -> Iterator[str]:
    from generator import compare as compare_mod

    yield (f"compare-odoo: Odoo {result.odoo_version}: {result.tables_compared} tables compared, "
           f"{result.tables_left_out} left out; {result.equal:,} items equal")
    yield "mapped by rule:"
    for r, n in result.mapped.items():
        yield f"  {r:<22} {n:>6,}  {compare_mod.RULES[r]}"
    yield "left out by reason:"
    for r, kinds in result.left_out.items():
        parts = ", ".join(f"{n:,} {k.replace('index', 'indexe')}s" for k, n in kinds.items())
        yield f"  {r:<22} {sum(kinds.values()):>6,}  {compare_mod.REASONS[r]} ({parts})"
    yield f"unexplained: {len(result.unexplained)}"
    yield from (f"  {i.describe()}" for i in result.unexplained)


def comparison_json(result) -> dict:
    from generator import compare as compare_mod

    return {
        "ok": result.ok,
        "odoo_version": result.odoo_version,
        "tables_compared": result.tables_compared,
        "tables_left_out": result.tables_left_out,
        "equal": result.equal,
        "mapped": {r: {"count": n, "rule": compare_mod.RULES[r]} for r, n in result.mapped.items()},
        "left_out": {r: {"count": sum(kinds.values()), "by_kind": kinds, "reason": compare_mod.REASONS[r]}
                     for r, kinds in result.left_out.items()},
        "unexplained": [dataclasses.asdict(i) for i in result.unexplained],
        "items": [dataclasses.asdict(i) for i in result.items if i.outcome != compare_mod.EQUAL],
    }


def import_json(result) -> dict:
    return {
        "ok": result.ok,
        "tenant": result.tenant,
        "check": result.check,
        "seconds": round(result.seconds, 3),
        "loaded_rows": result.loaded_rows,
        "foreign_keys": result.foreign_keys,
        "tables": [dataclasses.asdict(t) for t in result.tables],
        "rows_not_carried": [dataclasses.asdict(p) for p in result.problems],
        "skipped_file": result.skipped_file,
        "phases": result.phases,
        "notes": list(result.notes),
    }


def imported(result) -> Iterator[str]:
    rows = [("table", "from Odoo", "Odoo rows", "rows", "not carried", "values nulled", "seconds", "")]
    for t in result.tables:
        nulled = sum(t.nulled.values())
        rows.append((t.table, t.odoo_table, f"{t.source_rows:,}", f"{t.rows:,}", f"{t.left_out:,}" if t.left_out else "",
                     f"{nulled:,}" if nulled else "", f"{t.seconds:.2f}" if t.seconds else "", t.action))
    yield from table(rows, numbers=range(2, 7))
    for t in result.tables:
        for column, n in sorted(t.nulled.items()):
            yield f"{t.table}.{column}: {n:,} value(s) nulled (their row or model is not in the schema)"
        if t.detail:
            yield f"{t.table}: {t.detail}"
    for p in result.problems:
        yield f"not carried ({'skipped' if p.action == 'invalid' else p.action}): {p.table}: {p.describe()}"
    if result.skipped_file:
        yield f"skipped rows written to {result.skipped_file}"
    yield from (f"note: {note}" for note in result.notes)
    yield from _import_summary(result)


def _import_summary(result) -> Iterator[str]:
    if result.check:
        different = len(result.differences)
        fks = f"; {result.foreign_keys} foreign key(s) set aside or NOT VALID" if result.foreign_keys else ""
        yield f"import --check: {len(result.tables) - different} table(s) equal, {different} differ{fks}"
        return
    loaded = [t for t in result.tables if t.action == "loaded"]
    if not loaded:
        yield (f"nothing to load: tenant {result.tenant} already holds Odoo's rows ({len(result.tables)} tables "
               "unchanged)")
        return
    yield (f"loaded {result.loaded_rows:,} row(s) into {len(loaded)} table(s) for tenant {result.tenant} in "
           f"{result.seconds:.1f} s ({len(result.tables) - len(loaded)} unchanged); "
           f"{result.foreign_keys} foreign key(s) put back and validated")
