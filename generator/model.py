"""Snapshot data types, shared by every stage of the pipeline.

A snapshot is plain, frozen data that round-trips to JSON (see generator/snapshot.py).
Both sides of a diff are snapshots; ``Snapshot.empty()`` stands for "nothing yet".

Equality is declared: attributes marked ``compare=False`` never cause a migration
(they are provenance, not schema).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

FORMAT = 1

# Odoo 17 field types (ir.model.fields.ttype). Anything else is rejected by the loader.
FIELD_TYPES = (
    "binary",
    "boolean",
    "char",
    "date",
    "datetime",
    "float",
    "html",
    "integer",
    "json",
    "many2many",
    "many2one",
    "many2one_reference",
    "monetary",
    "one2many",
    "properties",
    "properties_definition",
    "reference",
    "selection",
    "text",
)

ON_DELETE = ("cascade", "restrict", "set null")
INDEX_KINDS = ("btree", "btree_not_null", "trigram")
# Columns every Odoo model with log access carries (besides ``id``, which is implied).
MAGIC_FIELDS = ("create_date", "create_uid", "write_date", "write_uid")


@dataclass(frozen=True, order=True)
class SelectionValue:
    value: str
    label: str


@dataclass(frozen=True)
class Field:
    """A stored Odoo field that shapes the schema (``id`` is implied, one2many never stored)."""

    name: str
    type: str
    label: str
    required: bool = False
    index: str | None = None  # one of INDEX_KINDS, or None
    translate: bool = False
    size: int | None = None
    relation: str | None = None  # target model of many2one / many2many
    on_delete: str | None = None  # many2one only
    relation_table: str | None = None  # many2many only
    column1: str | None = None
    column2: str | None = None
    selection: tuple[SelectionValue, ...] = ()
    # A value per company (Odoo's company_dependent): rendered in the model's per-company table
    company_dependent: bool = False
    # Provenance: which Odoo modules define or extend the field. Never triggers a migration.
    modules: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Constraint:
    """An SQL constraint or index Odoo declares: ``_sql_constraints`` up to 18.0 and 19.0's
    ``models.Constraint`` (ir.model.constraint type ``u``: ``unique(...)`` / ``check(...)``), and
    19.0's ``models.Index`` / ``models.UniqueIndex`` (type ``i``: ``[UNIQUE] INDEX (...) [WHERE ...]``)."""

    name: str
    definition: str
    module: str = field(default="", compare=False)


@dataclass(frozen=True)
class Model:
    name: str
    table: str
    label: str
    module: str = field(compare=False)  # the module that created the model
    # "selected": created by a selected module; "reference": pulled in because a selected model points at it
    origin: str = field(default="selected", compare=False)
    fields: tuple[Field, ...] = ()
    constraints: tuple[Constraint, ...] = ()

    @cached_property
    def field_map(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}


TABLELESS_KINDS = ("view", "manual")


@dataclass(frozen=True)
class TablelessModel:
    """A model of the selection that gets no table, and why: ``view`` (Odoo reads it from an SQL
    view or a query: ``_auto = False``) or ``manual`` (a table Odoo creates by hand in init())."""

    name: str
    kind: str
    module: str = field(compare=False)


@dataclass(frozen=True)
class Snapshot:
    odoo_version: str
    modules: tuple[str, ...]  # the module selection this snapshot was captured for
    models: tuple[Model, ...] = ()
    # Models that fields point at but that are not part of the snapshot (kept as plain uuid columns).
    external_models: tuple[str, ...] = ()
    # Models of the selected modules that are not tables (SQL views, hand-made tables): reported
    tableless: tuple[TablelessModel, ...] = ()
    preset: str | None = field(default=None, compare=False)
    with_references: bool = field(default=False, compare=False)
    format: int = FORMAT
    # The file it was loaded from (for messages); never saved, never compared
    source: str | None = field(default=None, compare=False, repr=False)

    @cached_property
    def model_map(self) -> dict[str, Model]:
        return {m.name: m for m in self.models}

    @staticmethod
    def empty(odoo_version: str = "") -> "Snapshot":
        return Snapshot(odoo_version=odoo_version, modules=())


def series_key(version: str) -> tuple[int, ...]:
    """'17.0' -> (17, 0); 'saas~17.2' -> (17, 2): Odoo series in release order."""
    parts = []
    for part in version.removeprefix("saas~").split("."):
        try:
            parts.append(int(part))
        except ValueError:
            break
    return tuple(parts)
