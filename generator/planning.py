"""Planning: a diff's ``Plan`` cut into migration files, before any SQL is written.

An initial schema is grouped per Odoo module (``group_initial``); a change is one group. Each group
is then split so that tables already holding rows are never locked for long (``lock_safe``), and the
files get consecutive sqlx versions (``versions``). A file that would lock more relations than the
lock budget is cut into parts (``within_lock_budget``), every table's statements kept together.
``anchor_of`` picks the table that new distributed tables are colocated with. Pure functions over
operations: no file, no template.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import chain

from generator import naming, ops
from generator.diff import Plan
from generator.rules import Rules
from generator.tables import Check, ForeignKey, Index, IndexColumn, Schema, Unique

VERSION_FORMAT = "%Y%m%d%H%M%S"


# The most relations one migration file may lock when the rules file says nothing (rules.Rules)
DEFAULT_LOCK_BUDGET = Rules.lock_budget


def files(plan: Plan, description: str | None, lock_budget: int = DEFAULT_LOCK_BUDGET) -> list[FilePlan]:
    """The migration files of ``plan``: with ``description`` one change by that name, else an
    initial schema grouped per module; each group split lock-safe, then cut to the lock budget."""
    groups = [(description, list(plan.operations))] if description else group_initial(list(plan.operations), plan.new)
    planned = [file for name, group in groups for file in lock_safe(name, group)]
    return within_lock_budget(planned, LockCost(plan.old, plan.new), lock_budget)


def anchor_of(old: Schema, new: Schema, operations: list[ops.Op]) -> str | None:
    """The table new distributed tables are colocated with: the first (by name) table that exists
    before the migration and stays, else the first table the migration creates."""
    kept = sorted({t.name for t in old.tables} & {t.name for t in new.tables})
    if kept:
        return kept[0]
    return next((op.table.name for op in operations if isinstance(op, ops.CreateTable)), None)


@dataclass(frozen=True)
class FilePlan:
    """The operations of one migration file; a no-transaction file holds one CONCURRENTLY statement."""

    description: str
    operations: tuple[ops.Op, ...]
    no_transaction: bool = False


@dataclass(frozen=True)
class Timeouts:
    lock_timeout: str = "5s"
    statement_timeout: str = "1h"


def lock_safe(description: str, operations: list[ops.Op]) -> list[FilePlan]:
    """Split one migration so that tables that already hold rows are never locked for long.

    Tables created in the same file are exempt. On the others: indexes are built (and dropped)
    CONCURRENTLY, each alone in a ``-- no-transaction`` file; foreign keys and CHECKs are added
    NOT VALID and validated in a following file (VALIDATE lets writes go on); a new NOT NULL goes
    through a NOT VALID ``CHECK (col IS NOT NULL)``, VALIDATE, SET NOT NULL (no scan thanks to the
    check), then the check is dropped; a UNIQUE constraint adopts an index built concurrently.
    """
    created = {op.table.name for op in operations if isinstance(op, ops.CreateTable)}
    dropped = {op.table.name for op in operations if isinstance(op, ops.DropTable)}
    before: list[FilePlan] = []
    main: list[ops.Op] = []
    after: list[FilePlan] = []
    validate: list[ops.Op] = []
    for op in operations:
        table = op.table_name
        if table in dropped and (isinstance(op, (ops.DropIndex, ops.DisablePolicy)) or (
                isinstance(op, ops.DropConstraint) and not isinstance(op.constraint, ForeignKey))):
            # DROP TABLE takes them along; foreign keys are still dropped first, since the tables a
            # migration drops may point at each other
            main.append(replace(op, with_table=True))
        elif not table or table in created or table in dropped:
            main.append(op)
        elif isinstance(op, ops.CreateIndex):
            after.append(FilePlan(f"index {op.index.name}", (replace(op, concurrently=True),), True))
        elif isinstance(op, ops.DropIndex):
            before.append(FilePlan(f"drop index {op.index.name}", (replace(op, concurrently=True),), True))
        elif isinstance(op, ops.AddConstraint) and isinstance(op.constraint, Unique):
            k = op.constraint
            index = Index(k.name, table, tuple(IndexColumn(c) for c in k.columns), unique=True, origin=k.origin)
            after.append(FilePlan(f"index {k.name}", (ops.CreateIndex(index=index, concurrently=True),), True))
            validate.append(replace(op, using_index=True))
        elif isinstance(op, ops.AddConstraint):
            main.append(replace(op, not_valid=True))
            validate.append(ops.ValidateConstraint(table=table, name=op.constraint.name))
        elif isinstance(op, ops.AlterColumn) and op.after.not_null and not op.before.not_null:
            nullable = replace(op.after, not_null=False)
            if op.before.type != op.after.type or op.before.default != op.after.default:
                main.append(replace(op, after=nullable))
            if op.after.backfill is not None:
                main.append(ops.FillNulls(table=table, column=op.after.name, value=op.after.backfill))
            check = Check(naming.shorten(f"{table}_{op.after.name}_not_null"), f"{naming.ident(op.after.name)} IS NOT NULL")
            main.append(ops.AddConstraint(table=table, constraint=check, not_valid=True))
            validate += [ops.ValidateConstraint(table=table, name=check.name),
                         ops.AlterColumn(table=table, before=nullable, after=op.after),
                         ops.DropConstraint(table=table, constraint=check, not_valid=True)]
        else:
            main.append(op)
    plans = before + ([FilePlan(description, tuple(main))] if main else []) + after
    if validate:
        # Every VALIDATE (a scan that lets writes go on) before the brief exclusive steps: a lock is
        # held to the end of the transaction, so SET NOT NULL must not come before a long scan.
        scans = [op for op in validate if isinstance(op, ops.ValidateConstraint)]
        rest = [op for op in validate if not isinstance(op, ops.ValidateConstraint)]
        plans.append(FilePlan(f"{description} validate", tuple(scans + rest)))
    return plans


def versions(start: datetime, count: int, after: int | None = None) -> list[int]:
    """``count`` consecutive sqlx versions (YYYYMMDDHHMMSS, one second apart), all above ``after``."""
    first = start
    if after is not None and int(first.strftime(VERSION_FORMAT)) <= after:
        first = datetime.strptime(str(after), VERSION_FORMAT) + timedelta(seconds=1)
    return [int((first + timedelta(seconds=i)).strftime(VERSION_FORMAT)) for i in range(count)]


def group_initial(operations: list[ops.Op], schema: Schema) -> list[tuple[str, list[ops.Op]]]:
    """Split an initial schema into files: extensions, one file per Odoo module (its tables,
    indexes and policies), then every foreign key, so each names tables that already exist."""
    module_of = {t.name: t.module or "misc" for t in schema.tables}
    extensions = [op for op in operations if isinstance(op, ops.CreateExtension)]
    fks = [op for op in operations if op.phase == "add_fk"]
    per_module: dict[str, list[ops.Op]] = {}
    for op in operations:
        if op in extensions or op.phase == "add_fk":
            continue
        per_module.setdefault(module_of.get(op.table_name, "misc"), []).append(op)
    groups = [("extensions", extensions)] if extensions else []
    groups += [(f"{module} tables", per_module[module]) for module in sorted(per_module)]
    if fks:
        groups.append(("foreign keys", fks))
    return groups


class LockCost:
    """The objects an operation's transaction keeps locked, estimated from the schemas before and
    after, as keys so that a file's count is the size of their union. A statement that opens a
    table whole (CREATE TABLE, most ALTER TABLEs, and the scan of a VALIDATE on both tables of a
    foreign key) locks it with its TOAST table and index, every index and its row types; adding a
    foreign key NOT VALID locks just both tables and the referenced key's index, plus one object of
    its own. An upper bound: tests/test_locks.py applies every file of the 19.0 all-modules schema
    and counts the objects each holds in pg_locks."""

    def __init__(self, old: Schema, new: Schema) -> None:
        self._tables = {t.name: t for t in old.tables} | {t.name: t for t in new.tables}
        self._keys = {(t.name, k.name): k for t in self._tables.values() for k in t.foreign_keys}
        self._whole: dict[str, frozenset[tuple]] = {}

    def created(self, table: str) -> frozenset[tuple]:
        """What its CREATE TABLE alone locks: the table, its TOAST table and index, its primary key
        and UNIQUE constraints' indexes, its two row types."""
        t = self._tables.get(table)
        return frozenset((table, part) for part in ("", "toast", "toast index", "pkey", "type", "array type",
                                                    *(u.name for u in (t.uniques if t else ()))))

    def forget(self) -> None:
        """Drop the remembered lock sets (memory: a file's tables are seldom another file's)."""
        self._whole.clear()

    def whole(self, table: str) -> frozenset[tuple]:
        """A table opened whole: what its CREATE TABLE locks, and every index."""
        if table not in self._whole:
            t = self._tables.get(table)
            self._whole[table] = self.created(table) | {(table, i.name) for i in (t.indexes if t else ())}
        return self._whole[table]

    def foreign_key(self, op: ops.Op) -> ForeignKey | None:
        """The foreign key ``op`` adds, drops or validates, if it is about one."""
        if isinstance(op, ops.ValidateConstraint):
            return self._keys.get((op.table, op.name))
        constraint = getattr(op, "constraint", None)
        return constraint if isinstance(constraint, ForeignKey) else None

    def tables(self, op: ops.Op) -> set[str]:
        """The tables ``op`` locks: its own and, for a foreign key, the one it references."""
        return self.of(op)[0]

    def of(self, op: ops.Op) -> tuple[set[str], ForeignKey | None, tuple[frozenset[tuple], ...]]:
        """What ``_cut`` asks of each statement, found in one pass: the tables it locks, the foreign
        key it is about (if any) and the keys of the objects it keeps locked, as the sets whose union
        they are: each table's set is shared by every statement on it (a file of 60,000 foreign keys
        holds 60,000 pairs of references, not 60,000 unions)."""
        table = op.table_name
        fk = self.foreign_key(op)
        tables = {table} if table else set()
        if fk is None:
            return tables, None, tuple([self.whole(t) for t in tables])
        tables.add(fk.ref_table)
        if isinstance(op, ops.AddConstraint) and op.not_valid:
            return tables, fk, (frozenset({(op.table, ""), (fk.ref_table, ""), (fk.ref_table, "pkey"),
                                           (op.table, "constraint", fk.name)}),)
        return tables, fk, tuple([self.whole(t) for t in tables])


def within_lock_budget(planned: list[FilePlan], cost: LockCost, budget: int) -> list[FilePlan]:
    """Every transactional file that would lock more than ``budget`` relations cut into parts
    ("foreign keys part 2 of 5"), each within the budget where one statement's share allows, the
    statements in their order. The statements of a table the file creates or drops stay in one part
    (so an index is built in the file that creates its table), with the tables they link (a foreign
    key needs its referenced table; a dropped table, the drop of the keys pointing at it).
    Statements on no table (extensions, functions) open the first part, or close the last when a
    table's statement comes before them (a dropped extension)."""
    out: list[FilePlan] = []
    for file in planned:
        parts = [] if file.no_transaction else _cut(list(file.operations), cost, budget)
        cost.forget()  # what a file's tables lock is not asked again for another file's
        if len(parts) <= 1:
            out.append(file)
            continue
        out += [FilePlan(f"{file.description} part {k} of {len(parts)}", tuple(part))
                for k, part in enumerate(parts, 1)]
    return out


def _cut(operations: list[ops.Op], cost: LockCost, budget: int) -> list[list[ops.Op]]:
    touched, fks, locks = zip(*map(cost.of, operations)) if operations else ((), (), ())
    if len(set().union(*chain.from_iterable(locks))) <= budget:
        return [operations]
    created = {op.table_name for op in operations if isinstance(op, ops.CreateTable)}
    made = created | {op.table_name for op in operations if isinstance(op, ops.DropTable)}
    # Units: statements that must share a part. Union-find over the tables a statement links while
    # one of them is created or dropped; a foreign key's statement on tables that exist before and
    # after is a unit of its own (a table with many is spread over parts); the other statements on
    # such a table stay together (a NOT NULL with the CHECK validated before it, as squawk wants)
    parent: dict[str, str] = {}

    def root(t: str) -> str:
        while parent.setdefault(t, t) != t:
            t = parent[t]
        return t

    for tables in touched:
        if len(tables) > 1 and tables & made:
            first, *rest = sorted(tables)
            for t in rest:
                parent[root(t)] = root(first)
    unit_of_op = [root(min(tables & made)) if tables & made else
                  f"#{i}" if fk or not op.table_name else root(op.table_name)
                  for i, (op, tables, fk) in enumerate(zip(operations, touched, fks))]
    if all(tables <= created for tables in touched):
        # New tables only (a module's): no statement needs another table's, so each table's
        # statements gather in the part of its CREATE TABLE; those on no table open the first part
        # or, after a table's, close the last
        held: dict[str, set[tuple]] = {}  # unit -> the objects its statements lock, units in first-seen order
        for unit, op, groups in zip(unit_of_op, operations, locks):
            if op.table_name:
                held.setdefault(unit, set()).update(*groups)
        part_of = _pack([(unit, (objects,)) for unit, objects in held.items()], budget)
        last = max(part_of.values())
        parts: list[list[ops.Op]] = [[] for _ in range(last + 1)]
        seen_table = False
        for op, unit in zip(operations, unit_of_op):
            parts[part_of[unit] if op.table_name else last if seen_table else 0].append(op)
            seen_table = seen_table or bool(op.table_name)
        return parts
    # A change: its order stays (a dropped column takes its foreign key along, a new column comes
    # before the key on it); cut only between statements where no unit has some on both sides
    end = {unit: i for i, unit in enumerate(unit_of_op)}
    segments: list[tuple[int, int]] = []
    begin = reach = 0
    for i, unit in enumerate(unit_of_op):
        reach = max(reach, end[unit])
        if reach == i:
            segments.append((begin, i + 1))
            begin = i + 1
    part_of = _pack([(seg, tuple(chain.from_iterable(locks[seg[0]:seg[1]]))) for seg in segments], budget)
    parts = [[] for _ in range(max(part_of.values()) + 1)]
    for seg in segments:
        parts[part_of[seg]] += operations[seg[0]:seg[1]]
    return parts


def _pack(items: list[tuple], budget: int) -> dict:
    """Consecutive items (key, the sets of objects it locks) into parts: a new part when the next
    item's objects would take the current one over the budget. Key -> part number."""
    part_of = {}
    locked: set[tuple] = set()
    part = 0
    for key, groups in items:
        new = set().union(*groups)
        new -= locked
        if locked and len(locked) + len(new) > budget:
            part, locked = part + 1, set()
            new = set().union(*groups)
        part_of[key] = part
        locked |= new
    return part_of
