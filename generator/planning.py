"""Planning: a diff's ``Plan`` cut into migration files, before any SQL is written.

An initial schema is grouped per Odoo module (``group_initial``); a change is one group. Each group
is then split so that tables already holding rows are never locked for long (``lock_safe``), and the
files get consecutive sqlx versions (``versions``). ``anchor_of`` picks the table that new
distributed tables are colocated with. Pure functions over operations: no file, no template.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from generator import naming, ops
from generator.diff import Plan
from generator.tables import Check, ForeignKey, Index, IndexColumn, Schema, Unique

VERSION_FORMAT = "%Y%m%d%H%M%S"


def files(plan: Plan, description: str | None) -> list[FilePlan]:
    """The migration files of ``plan``: with ``description`` one change by that name, else an
    initial schema grouped per module; each group split lock-safe."""
    groups = [(description, list(plan.operations))] if description else group_initial(list(plan.operations), plan.new)
    return [file for name, group in groups for file in lock_safe(name, group)]


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
            if op.before.type != op.after.type:
                main.append(replace(op, after=nullable))
            if op.after.backfill is not None:
                main.append(ops.FillNulls(table=table, column=op.after.name, value=op.after.backfill))
            check = Check(naming.shorten(f"{table}_{op.after.name}_not_null"), f"{naming.ident(op.after.name)} IS NOT NULL")
            main.append(ops.AddConstraint(table=table, constraint=check, not_valid=True))
            validate += [ops.ValidateConstraint(table=table, name=check.name),
                         ops.AlterColumn(table=table, before=nullable, after=op.after),
                         ops.DropConstraint(table=table, constraint=check)]
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
