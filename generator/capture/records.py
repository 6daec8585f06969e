"""What every capture source produces: Odoo's metadata, normalised, before any selection.

XML-RPC and the database read the same ir_model* records and both produce ``OdooMetadata``;
``scope.select`` then turns it into a Snapshot, so both sources give byte-identical snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RawSelection:
    field_id: int
    value: str
    label: str
    sequence: int


@dataclass(frozen=True)
class RawField:
    id: int
    model: str
    name: str
    ttype: str
    label: str
    store: bool
    required: bool
    index: bool
    translate: bool
    size: int | None
    relation: str | None
    on_delete: str | None
    relation_table: str | None
    column1: str | None
    column2: str | None
    modules: tuple[str, ...]
    company_dependent: bool = False


@dataclass(frozen=True)
class RawModel:
    id: int
    model: str
    label: str
    transient: bool
    modules: tuple[str, ...]
    abstract: bool | None = None  # ir.model.abstract (19.0+); None where Odoo does not say


@dataclass(frozen=True)
class RawConstraint:
    model_id: int
    name: str
    type: str  # "u" SQL constraint, "f" foreign key, "i" index (19.0+)
    definition: str
    module: str


@dataclass(frozen=True)
class OdooMetadata:
    odoo_version: str  # e.g. "17.0", from the installed version of module base
    installed_modules: tuple[str, ...]
    models: tuple[RawModel, ...]
    fields: tuple[RawField, ...]
    selections: tuple[RawSelection, ...]
    constraints: tuple[RawConstraint, ...]
    # Database source only: relation kind of every table and view in the Odoo database's public
    # schema ("r" table, "v" view, ...); None over the RPC APIs, which cannot see the catalog.
    relations: dict[str, str] | None = None
    # Database source only: the ON DELETE action ("cascade", "restrict", "set null") of every
    # single-column foreign key, by (table, column): what Odoo really created. None over the RPC APIs.
    foreign_keys: dict[tuple[str, str], str] | None = None


# The exact columns capture reads from each ir.* model (both sources read the same ones).
MODEL_COLUMNS = ("id", "model", "name", "transient", "modules")
FIELD_COLUMNS = (
    "id", "model", "name", "ttype", "field_description", "store", "required", "index", "translate",
    "size", "relation", "on_delete", "relation_table", "column1", "column2", "modules",
)
# Which ir.model.fields rows are read (stored, not one2many, plus 17.0's company-dependent ones)
# is the series profile's field_domain (capture/profiles.py); sql/ir_model_fields.sql does the same.
SELECTION_COLUMNS = ("id", "field_id", "value", "name", "sequence")
CONSTRAINT_COLUMNS = ("id", "model", "module", "name", "definition", "type")
MODULE_COLUMNS = ("id", "name", "state", "latest_version")


def split_modules(value: object) -> tuple[str, ...]:
    """ir.model(.fields).modules is a ', '-joined string of module names."""
    if not value:
        return ()
    return tuple(sorted(m.strip() for m in str(value).split(",") if m.strip()))


def odoo_series(latest_version: str | None) -> str:
    """'17.0.1.3' -> '17.0'; 'saas~17.2.1.0' -> 'saas~17.2'."""
    if not latest_version:
        return "unknown"
    parts = latest_version.split(".")
    return ".".join(parts[:2])


def none_if_false(value: object) -> object:
    """XML-RPC renders NULL as False."""
    return None if value is False or value == "" else value


def truthy(value: object) -> bool:
    """A flag that is a boolean in one series and a selection in another (19.0's ``translate``:
    'standard' / 'html_translate' / 'xml_translate'; NULL, false or '' mean no)."""
    return value not in (None, False, "", 0)


def build_metadata(rows: dict[str, list[dict]], *, module_names: dict[int, str],
                   company_dependent: frozenset[tuple[str, str]] = frozenset(),
                   relations: dict[str, str] | None = None,
                   foreign_keys: dict[tuple[str, str], str] | None = None) -> OdooMetadata:
    """Normalise rows as XML-RPC returns them with ``load=''`` (many2one values are plain ids).

    ``rows`` has keys ir.model, ir.model.fields, ir.model.fields.selection, ir.model.constraint,
    ir.module.module. The database source produces the same dicts, so this is shared.
    ``company_dependent``: (model, field) pairs known to be company-dependent where the rows cannot
    say so (Odoo 17.0, where such fields are not stored); any other non-stored row is dropped.
    """
    installed = sorted(r["name"] for r in rows["ir.module.module"] if r["state"] == "installed")
    base = next((r for r in rows["ir.module.module"] if r["name"] == "base"), None)
    version = odoo_series(base["latest_version"] if base else None)
    models = tuple(
        RawModel(
            id=r["id"], model=r["model"], label=r["name"] or r["model"], transient=bool(r["transient"]),
            modules=split_modules(r["modules"]),
            abstract=bool(r["abstract"]) if r.get("abstract") is not None else None,
        )
        for r in rows["ir.model"]
    )
    fields = []
    for r in rows["ir.model.fields"]:
        cd = truthy(r.get("company_dependent")) or (r["model"], r["name"]) in company_dependent
        if not r["store"] and not cd:
            continue  # a non-stored field read only because it is named like a company-dependent one
        fields.append(RawField(
            id=r["id"], model=r["model"], name=r["name"], ttype=r["ttype"], label=r["field_description"] or r["name"],
            store=bool(r["store"]) or cd, required=bool(r["required"]), index=bool(r["index"]),
            translate=truthy(r["translate"]), size=(r["size"] or None), relation=none_if_false(r["relation"]),
            on_delete=none_if_false(r["on_delete"]), relation_table=none_if_false(r["relation_table"]),
            column1=none_if_false(r["column1"]), column2=none_if_false(r["column2"]),
            modules=split_modules(r["modules"]), company_dependent=cd,
        ))
    selections = tuple(
        RawSelection(field_id=r["field_id"], value=r["value"], label=r["name"] or "", sequence=r["sequence"] or 0)
        for r in rows["ir.model.fields.selection"]
    )
    constraints = tuple(
        RawConstraint(
            model_id=r["model"], name=r["name"], type=r["type"], definition=none_if_false(r["definition"]) or "",
            module=module_names.get(r["module"], ""),
        )
        for r in rows["ir.model.constraint"]
    )
    return OdooMetadata(version, tuple(installed), models, tuple(fields), selections, constraints, relations,
                        foreign_keys)
