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
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2

from generator import naming, ops
from generator.errors import RenderError
from generator import layout
from generator.planning import Timeouts
from generator.tables import ExternalReference, Schema
from generator.target import POSTGRES, Target

TEMPLATES = Path(os.environ.get("FBS_TEMPLATES") or layout.shipped("templates"))


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


@lru_cache(maxsize=None)
def template(target: Target, name: str) -> jinja2.Template:
    """``templates/<target folder>/<name>`` where the target's SQL differs, else ``templates/<name>``."""
    return environment().select_template([f"{folder}/{name}" for folder in target.templates] + [name])


_BLANK_LINES = re.compile(r"\n{3,}")


def statement(op: ops.Op, target: Target = POSTGRES, anchor: str | None = None) -> str:
    """One operation as SQL for ``target``. ``anchor``: the table every new distributed table is
    colocated with (Citus); None when the operation's own table is the first one. Rendered in a
    context of just these three names (the operation templates use no Jinja globals): a statement is
    rendered per operation, 150,000 times for 10,000 models, and Template.render's merging of the
    globals into every context was a tenth of generate's time."""
    t = template(target, f"ops/{op.kind}.sql.j2")
    text = "".join(t.root_render_func(t.new_context({"op": op, "target": target, "anchor": anchor}, shared=True)))
    return _BLANK_LINES.sub("\n\n", text).strip("\n")


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
