"""What Odoo's rows hold that the target's constraints refuse, decided on the source before anything is
written: every row carried, left out or refused, for a reason a user can act on.

- A value a generated NOT NULL, selection CHECK or ``character varying(n)`` refuses (``plan.Rule``)
  makes its row *invalid*.
- A reference to a row that is not carried (one Odoo does not hold, which only a column without a
  validated foreign key in Odoo can name, or one left out) follows the generated foreign key's
  ON DELETE, as Odoo's would have had that row been deleted: CASCADE leaves the referencing row out
  too (*dropped*), SET NULL nulls the value (counted in the load's statistics, nothing to decide
  here), RESTRICT or a NOT NULL column makes the row *invalid*.
- ``on_invalid="stop"``: any invalid row refuses the import before a row is written (the rows are
  named); ``"skip"``: invalid rows are left out too, and everything that depends on them follows.

Left-out rows are found to a fixed point (a row dropped because its order was dropped drops its
lines in turn). The sets hold only rows that are not carried: the rows of a clean Odoo database
leave them empty, and their size is that of the problem, not of the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from generator.importer import sql
from generator.importer.plan import Load

STOP, SKIP = "stop", "skip"
SHOWN = 20  # invalid rows named in the refusal


@dataclass(frozen=True)
class Problem:
    table: str  # generated table
    odoo_table: str
    odoo_id: int
    column: str  # generated column
    value: str | None
    reason: str
    action: str  # "invalid" (refused, or skipped with --on-invalid skip) | "dropped" (ON DELETE CASCADE)

    def describe(self) -> str:
        shown = "NULL" if self.value is None else repr(self.value)
        return f"{self.odoo_table} id {self.odoo_id}, column {self.column} = {shown}: {self.reason}"


@dataclass
class Integrity:
    excluded: dict[str, set[int]] = field(default_factory=dict)  # Odoo table -> ids not carried
    problems: list[Problem] = field(default_factory=list)

    def frozen(self) -> dict[str, tuple[int, ...]]:
        return {k: tuple(sorted(v)) for k, v in self.excluded.items() if v}

    @property
    def invalid(self) -> list[Problem]:
        return [p for p in self.problems if p.action == "invalid"]

    def left_out(self, odoo_table: str) -> int:
        return len(self.excluded.get(odoo_table, ()))


def check(conn: psycopg.Connection, loads: tuple[Load, ...], on_invalid: str, progress=None) -> Integrity:
    """Read the source (in its snapshot transaction) and decide every row that is not carried."""
    found = Integrity()
    model_loads = [x for x in loads if x.row_id]
    seen: set[tuple[str, int]] = set()

    def leave_out(load: Load, odoo_id: int, column: str, value, reason: str, action: str) -> bool:
        if (load.odoo_table, odoo_id) in seen:
            return False
        seen.add((load.odoo_table, odoo_id))
        found.problems.append(Problem(load.table, load.odoo_table, odoo_id, column,
                                      None if value is None else str(value), reason, action))
        if action == "dropped" or on_invalid == SKIP:
            found.excluded.setdefault(load.odoo_table, set()).add(odoo_id)
        return True

    for load in model_loads:
        if not load.rules:
            continue
        if progress:
            progress(f"checking {load.odoo_table}'s values against the generated constraints")
        for row_id, failed, shown in conn.execute(sql.violations(load)).fetchall():
            rule = next(r for r, bad in zip(load.rules, failed) if bad)
            value = shown[load.rules.index(rule)]
            leave_out(load, row_id, rule.column, value, _why(rule), "invalid")
    rounds = 0
    while True:
        rounds += 1
        excluded = found.frozen()
        changed = False
        for load in model_loads:
            for ref in load.references:
                if ref.validated and not excluded.get(ref.target):
                    continue
                if ref.on_delete == "SET NULL" and not ref.not_null:
                    continue  # the value becomes NULL in the load: counted there
                query = sql.gone_rows(load, ref, excluded)
                for row_id, value in conn.execute(query).fetchall():
                    held = excluded.get(ref.target, ())
                    what = "is left out" if value in held else "is not in the Odoo database"
                    reason = f"{ref.origin} points at {ref.target} id {value}, which {what}"
                    if ref.on_delete == "CASCADE":
                        changed |= leave_out(load, row_id, ref.column, value, reason + " (ON DELETE CASCADE: the row "
                                             "goes with it, as in Odoo)", "dropped")
                    else:
                        rule = "ON DELETE RESTRICT" if ref.on_delete == "RESTRICT" else "the column is NOT NULL"
                        changed |= leave_out(load, row_id, ref.column, value, f"{reason} ({rule})", "invalid")
        if not changed:
            return found


def _why(rule) -> str:
    if rule.kind == "not null":
        return f"{rule.origin} is required (NOT NULL) but empty in Odoo"
    if rule.kind == "in":
        return f"{rule.origin} is not one of the selection's values ({', '.join(rule.values)})"
    return f"{rule.origin} is longer than its size ({rule.length} characters)"
