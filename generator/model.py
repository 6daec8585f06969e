"""Snapshot data types, shared by every stage of the pipeline.

A snapshot is plain, frozen data that round-trips to JSON (see generator/snapshot.py).
Both sides of a diff are snapshots; ``Snapshot.empty()`` stands for "nothing yet".

Equality is declared: attributes marked ``compare=False`` never cause a migration
(they are provenance, not schema).

The JSON form is declared here too, once, on each attribute (``attr``): its JSON Schema fragment
and how it is written. ``generator/declared.py`` derives from these declarations the JSON Schema
(``generator/schema/snapshot-1.schema.json``, generated and checked by a test), the reader that
validates and builds in one pass, and the writer.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field
from functools import cached_property
from typing import Any

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

# Shared JSON Schema definitions (``{"$ref": "#/definitions/name"}``)
DEFINITIONS: dict[str, dict[str, Any]] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 256},
    "label": {"type": "string", "maxLength": 2000},
}
NAME = {"$ref": "#/definitions/name"}
LABEL = {"$ref": "#/definitions/label"}


def attr(schema: dict[str, Any] | None, default: Any = MISSING, *, compare: bool = True, repr: bool = True,
         key: str | None = None, required: bool = False, omit_default: bool = False, required_if_type: tuple = (),
         sort: bool = False, map_key: bool = False, pairs: bool = False, mapped: bool = False) -> Any:
    """A dataclass attribute with its JSON declaration (an attribute declared without it, such as
    ``Snapshot.source``, is never saved). ``schema``: the JSON Schema of a plain value (None for a
    tuple of dataclasses, ``mapped`` or ``pairs``: their own attributes declare it). In the JSON, an
    attribute is required when it has no default or ``required``; ``key`` renames it;
    ``omit_default`` leaves it out at its default (unless ``required_if_type`` names the field's
    type, which also makes it required); ``sort`` sorts a tuple; ``mapped`` writes a tuple of
    dataclasses as an object keyed by their ``map_key`` attribute; ``pairs`` writes each dataclass
    of a tuple as an array of its attribute values."""
    meta = {"schema": schema, "key": key, "required": required, "omit_default": omit_default,
            "required_if_type": required_if_type, "sort": sort, "map_key": map_key, "pairs": pairs, "mapped": mapped}
    return field(default=default, compare=compare, repr=repr, metadata={"json": meta})


@dataclass(frozen=True, order=True)
class SelectionValue:
    value: str = attr({"type": "string", "maxLength": 2000})
    label: str = attr(LABEL)


@dataclass(frozen=True)
class Field:
    """A stored Odoo field that shapes the schema (``id`` is implied, one2many never stored)."""

    name: str = attr(NAME, map_key=True)
    type: str = attr({"enum": list(FIELD_TYPES)})
    label: str = attr(LABEL)
    required: bool = attr({"type": "boolean"}, False, omit_default=True)
    index: str | None = attr({"enum": list(INDEX_KINDS)}, None, omit_default=True)  # one of INDEX_KINDS, or None
    translate: bool = attr({"type": "boolean"}, False, omit_default=True)
    size: int | None = attr({"type": "integer", "minimum": 1, "maximum": 10485760}, None, omit_default=True)
    # target model of many2one / many2many
    relation: str | None = attr(NAME, None, omit_default=True, required_if_type=("many2one", "many2many", "one2many"))
    on_delete: str | None = attr({"enum": list(ON_DELETE)}, None, omit_default=True)  # many2one only
    relation_table: str | None = attr(NAME, None, omit_default=True, required_if_type=("many2many",))  # many2many only
    column1: str | None = attr(NAME, None, omit_default=True, required_if_type=("many2many",))
    column2: str | None = attr(NAME, None, omit_default=True, required_if_type=("many2many",))
    selection: tuple[SelectionValue, ...] = attr(None, (), omit_default=True, required_if_type=("selection",),
                                                 pairs=True)
    # A value per company (Odoo's company_dependent): rendered in the model's per-company table
    company_dependent: bool = attr({"type": "boolean"}, False, omit_default=True)
    # Provenance: which Odoo modules define or extend the field. Never triggers a migration.
    modules: tuple[str, ...] = attr({"type": "array", "items": NAME}, (), compare=False, omit_default=True)


@dataclass(frozen=True)
class Constraint:
    """An SQL constraint or index Odoo declares: ``_sql_constraints`` up to 18.0 and 19.0's
    ``models.Constraint`` (ir.model.constraint type ``u``: ``unique(...)`` / ``check(...)``), and
    19.0's ``models.Index`` / ``models.UniqueIndex`` (type ``i``: ``[UNIQUE] INDEX (...) [WHERE ...]``)."""

    name: str = attr(NAME, map_key=True)
    definition: str = attr({"type": "string", "minLength": 1, "maxLength": 4000})
    module: str = attr({"type": "string", "maxLength": 256}, "", compare=False, omit_default=True)


@dataclass(frozen=True)
class Model:
    name: str = attr(NAME, map_key=True)
    table: str = attr(NAME)
    label: str = attr(LABEL)
    module: str = attr(NAME, compare=False)  # the module that created the model
    # "selected": created by a selected module; "reference": pulled in because a selected model points at it
    origin: str = attr({"enum": ["selected", "reference"]}, "selected", compare=False)
    fields: tuple[Field, ...] = attr(None, (), required=True, mapped=True)
    constraints: tuple[Constraint, ...] = attr(None, (), omit_default=True, mapped=True)

    @cached_property
    def field_map(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}


TABLELESS_KINDS = ("view", "manual")


@dataclass(frozen=True)
class TablelessModel:
    """A model of the selection that gets no table, and why: ``view`` (Odoo reads it from an SQL
    view or a query: ``_auto = False``) or ``manual`` (a table Odoo creates by hand in init())."""

    name: str = attr(NAME, map_key=True)
    kind: str = attr({"enum": list(TABLELESS_KINDS)})
    module: str = attr({"type": "string", "maxLength": 256}, compare=False)


_NAMES = {"type": "array", "items": NAME, "uniqueItems": True}


@dataclass(frozen=True)
class Snapshot:
    odoo_version: str = attr({"type": "string", "minLength": 1, "maxLength": 64})
    # the module selection this snapshot was captured for
    modules: tuple[str, ...] = attr(_NAMES, sort=True)
    models: tuple[Model, ...] = attr(None, (), required=True, mapped=True)
    # Models that fields point at but that are not part of the snapshot (kept as plain uuid columns).
    external_models: tuple[str, ...] = attr(_NAMES, (), required=True, sort=True)
    # Models of the selected modules that are not tables (SQL views, hand-made tables): reported
    tableless: tuple[TablelessModel, ...] = attr(None, (), key="tableless_models", omit_default=True, mapped=True)
    preset: str | None = attr({"type": ["string", "null"], "maxLength": 256}, None, compare=False)
    with_references: bool = attr({"type": "boolean"}, False, compare=False)
    format: int = attr({"const": FORMAT}, FORMAT, required=True)
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
