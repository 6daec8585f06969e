"""Render operations into migration files through the Jinja templates in ``templates/``.

One template per operation kind (``templates/ops/<kind>.sql.j2``) and one for the file
(``templates/migration.sql.j2``). Identifiers only through the ``ident`` filter, constants only
through ``literal``, comment text through ``comment``. Output is deterministic: UTF-8, LF, one
trailing newline. Files follow sqlx's layout ``<VERSION>_<description>.sql`` (``.up.sql`` /
``.down.sql`` for reversible pairs).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import jinja2

from generator import naming, ops
from generator import rules as rules_mod
from generator import snapshot as snapshots
from generator.errors import RenderError
from generator import layout
from generator.layout import KEPT_RULES, KEPT_SNAPSHOT
from generator.model import Snapshot
from generator.rules import Rules
from generator.tables import Check, ExternalReference, ForeignKey, Index, IndexColumn, Schema, Unique
from generator.target import POSTGRES, Target

TEMPLATES = Path(os.environ.get("FBS_TEMPLATES") or layout.shipped("templates"))
VERSION_FORMAT = "%Y%m%d%H%M%S"


@dataclass(frozen=True)
class SnapshotInfo:
    sha256: str
    odoo_version: str
    modules: tuple[str, ...]
    upgrade: str | None = None  # "17.0 -> 18.0" when the migration follows an Odoo upgrade


@dataclass(frozen=True)
class MigrationFile:
    version: int
    description: str
    text: str
    suffix: str = ".sql"  # or ".up.sql" / ".down.sql"

    @property
    def filename(self) -> str:
        return f"{self.version}_{slug(self.description)}{self.suffix}"


SLUG_MAX = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")


def slug(description: str) -> str:
    """The description as the safe part of a file name: ASCII letters, digits and ``_`` only (so no
    path separator, no ``..``, nothing a shell or sqlx reads differently), at most SLUG_MAX bytes.
    A description that had to change keeps it deterministic and distinct: its cut form ends in
    ``_`` and 8 hex digits of the SHA-256 of the description. ``account tables`` stays ``account_tables``."""
    plain = description.replace(" ", "_")
    safe = _UNSAFE.sub("_", plain).strip("_")
    if safe == plain and len(safe) <= SLUG_MAX:
        return safe
    digest = hashlib.sha256(description.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{safe[: SLUG_MAX - 9].rstrip('_')}_{digest}".lstrip("_")


def load_kept(folder: Path) -> tuple[Snapshot | None, Rules]:
    """The snapshot (None when there is none) and rules kept beside the migrations in ``folder``."""
    kept, kept_rules = folder / KEPT_SNAPSHOT, folder / KEPT_RULES
    previous = snapshots.load(kept) if kept.exists() else None
    return previous, (rules_mod.load(kept_rules) if kept_rules.exists() else Rules())


@lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    if not (TEMPLATES / "migration.sql.j2").exists():
        raise RenderError(f"templates not found in {TEMPLATES} (set FBS_TEMPLATES to the project's templates/ folder)")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # templates do not change while a process runs: no stat() per statement
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["ident"] = naming.ident
    env.filters["literal"] = naming.literal
    env.filters["comment"] = naming.comment
    env.filters["shorten"] = naming.shorten
    return env


def template(target: Target, name: str) -> jinja2.Template:
    """``templates/<target folder>/<name>`` where the target's SQL differs, else ``templates/<name>``."""
    return environment().select_template([f"{folder}/{name}" for folder in target.templates] + [name])


def statement(op: ops.Op, target: Target = POSTGRES, anchor: str | None = None) -> str:
    """One operation as SQL for ``target``. ``anchor``: the table every new distributed table is
    colocated with (Citus); None when the operation's own table is the first one."""
    text = template(target, f"ops/{op.kind}.sql.j2").render(op=op, target=target, anchor=anchor)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


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


def render_file(operations: list[ops.Op], *, description: str, version: int, snapshot: SnapshotInfo,
                external: tuple[ExternalReference, ...] = (), suffix: str = ".sql",
                down_of: int | None = None, no_transaction: bool = False,
                timeouts: Timeouts = Timeouts(), target: Target = POSTGRES, anchor: str | None = None) -> MigrationFile:
    text = template(target, "migration.sql.j2").render(
        target=target,
        down_of=down_of,
        timeouts=timeouts,
        description=description,
        snapshot_sha=snapshot.sha256,
        odoo_version=snapshot.odoo_version,
        upgrade=snapshot.upgrade,
        modules=snapshot.modules,
        destructive=[op for op in operations if op.destructive],
        external=external,
        statements=[statement(op, target, anchor) for op in operations],
        no_transaction=no_transaction,
    )
    return MigrationFile(version, description, text.rstrip("\n") + "\n", suffix)


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


def external_refs(schema: Schema) -> dict[str, tuple[ExternalReference, ...]]:
    """Each table's references to models outside the schema, by table name (build it once per schema)."""
    return {t.name: t.external for t in schema.tables if t.external}


def external_of(operations: list[ops.Op], schema: Schema,
                refs: dict[str, tuple[ExternalReference, ...]] | None = None) -> tuple[ExternalReference, ...]:
    """The external references of the tables and columns ``operations`` create, in table order. Costs
    the size of ``operations`` when ``refs`` (``external_refs(schema)``) is given, so calling it per
    file stays linear in the schema."""
    refs = external_refs(schema) if refs is None else refs
    created = {op.table.name for op in operations if isinstance(op, ops.CreateTable)}
    added = {(op.table, op.column.name) for op in operations if isinstance(op, ops.AddColumn)}
    return tuple(
        ref for name in sorted(created | {t for t, _ in added}) for ref in refs.get(name, ())
        if name in created or (ref.table, ref.column) in added
    )
