"""Everything a source knows, before any module selection: every model that has a table, with
every stored field, plus what every other model is.

Two ways in, one way out: ``from_metadata`` (XML-RPC or database records) and ``from_snapshot``
(re-filtering a saved snapshot). ``scope.select`` works on a Catalog only.

How a model is classified from ir.* records (Odoo publishes neither ``_table`` nor ``_auto``);
README "What is a table" states the same rule:

- ``abstract``: ir.model says so (19.0), or the model has no ``id`` field (17.0/18.0: abstract
  models have none). Never a table.
- ``transient``: a wizard (ir.model.transient). Odoo gives it a table that it empties on a
  timer; no business data, not rendered.
- ``manual``: a table Odoo creates by hand in ``init()`` with columns no field describes (the
  API-key tables, ``profiles.MANUAL_TABLES``). Not rendered.
- ``table``: Odoo creates the table from the fields (``_auto``). The evidence: ir.model.constraint
  holds a foreign-key or UNIQUE/CHECK row of the model (Odoo writes those rows only for the tables
  it creates; every log-access model has at least ``<table>_create_uid_fkey``; 19.0's index rows
  do not count, views declare them too), or the model
  is one of the few whose table has no such row (``profiles.KEYLESS_TABLES``), or the database
  source sees a table of that name in the catalog.
- ``view``: every other model with an ``id``: ``_auto = False``, backed by an SQL view
  (sale.report, hr.employee.public) or a ``_table_query`` (account.root). Not rendered.

A model's table is its ``_table``: the name that its foreign-key rows carry
(``<table>_<column>_fkey`` for a many2one column of the model, as PostgreSQL names them), else
``profiles.KEYLESS_TABLES``, else Odoo's default (the model name with ``.`` replaced by ``_``).
Models can share a table (ir.actions.actions and ir.actions.act_window_close share
``ir_actions``); ``tenant.build`` renders one table for them. On the 17.0, 18.0 and 19.0
references this gives every model's kind and table exactly (``tests/test_odoo_versions.py``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from generator.capture.profiles import KEYLESS_TABLES, MANUAL_TABLES
from generator.capture.records import OdooMetadata, RawConstraint, RawField, RawModel
from generator.model import Constraint, Field, Model, SelectionValue, Snapshot

KINDS = ("abstract", "transient", "manual", "view")  # what a model without a rendered table is


@dataclass(frozen=True)
class Catalog:
    odoo_version: str
    installed_modules: tuple[str, ...]
    models: tuple[Model, ...]  # every model with a table, every stored field (fields carry their modules)
    # every other model Odoo knows -> its kind (KINDS), or "external" when re-read from a snapshot
    tableless: dict[str, str] = field(default_factory=dict)
    # the module that created each tableless model (to list the views of a selected module)
    tableless_modules: dict[str, str] = field(default_factory=dict)


def default_table(model: str) -> str:
    return model.replace(".", "_")


def infer_table(model: RawModel, fields: dict[str, RawField], constraints: list[RawConstraint]) -> str:
    """The model's table, from the names of its foreign-key rows (see the module docstring)."""
    if model.model in KEYLESS_TABLES:
        return KEYLESS_TABLES[model.model]
    default = default_table(model.model)
    relation_prefixes = {
        f"{f.relation_table}_{col}_fkey"
        for f in fields.values() if f.ttype == "many2many" and f.relation_table
        for col in (f.column1, f.column2)
    }
    columns = [f.name for f in fields.values() if f.ttype == "many2one" and not f.company_dependent]
    votes: Counter[str] = Counter()
    for c in constraints:
        if c.type != "f" or c.name in relation_prefixes:
            continue
        for col in columns:
            suffix = f"_{col}_fkey"
            if c.name.endswith(suffix) and len(c.name) > len(suffix):
                votes[c.name[: -len(suffix)]] += 1
    if not votes or default in votes:
        return default
    return _most(votes)


def _most(counts: Counter[str]) -> str:
    """The name counted most; on a tie the first by name (deterministic)."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def classify(model: RawModel, fields: dict[str, RawField], constraints: list[RawConstraint], table: str,
             relations: dict[str, str] | None) -> str:
    """"table" or one of KINDS (see the module docstring)."""
    if model.abstract or "id" not in fields:
        return "abstract"
    if model.transient:
        return "transient"
    if model.model in MANUAL_TABLES:
        return "manual"
    if model.model in KEYLESS_TABLES or any(c.type in ("f", "u") for c in constraints):
        return "table"
    if relations is not None and relations.get(table) in ("r", "p"):
        return "table"
    return "view"


def creating_module(model: RawModel, fields: dict[str, RawField], constraints: list[RawConstraint], table: str) -> str:
    """The module that created the model. Up to 18.0 Odoo files the ``id`` field under that module
    alone. 19.0 files ``id`` under every module that extends the model; there the module of the
    table's ``create_uid``/``write_uid`` foreign-key row is the one that created the table, else the
    module of most of its constraint rows, else the module (of ``id``'s) that defines most fields."""
    id_modules = fields["id"].modules if "id" in fields else ()
    if len(id_modules) == 1:
        return id_modules[0]
    magic = {f"{table}_create_uid_fkey", f"{table}_write_uid_fkey"}
    for c in sorted(constraints, key=lambda c: c.name):
        if c.type == "f" and c.name in magic and c.module:
            return c.module
    counts = Counter(c.module for c in constraints if c.type in ("f", "u") and c.module)
    if counts:
        return _most(counts)
    candidates = id_modules or model.modules
    if not candidates:
        return ""
    defined = Counter(m for f in fields.values() for m in f.modules)
    return _most(Counter({m: defined[m] for m in candidates}))


def on_delete(f: RawField, table: str, foreign_keys: dict[tuple[str, str], str] | None) -> str | None:
    """The ON DELETE of a field's foreign key. A many2one: the action of its column's foreign key where
    the database source sees one (what Odoo really created), else ir.model.fields' (``set null`` when
    empty). A many2many: its relation table's foreign key on ``column2`` (the comodel's end, which
    Odoo creates with the field's ``ondelete``; ``column1`` is always CASCADE) when it is not CASCADE,
    the default; ir.model.fields has none, so over the RPC APIs it is always CASCADE."""
    found = foreign_keys or {}
    if f.ttype == "many2one":
        return found.get((table, f.name)) or f.on_delete or "set null"
    if f.ttype == "many2many" and f.relation_table and f.column2:
        return "restrict" if found.get((f.relation_table, f.column2)) == "restrict" else None
    return None


def _field(f: RawField, selections: list, table: str = "",
           foreign_keys: dict[tuple[str, str], str] | None = None) -> Field:
    is_relational = f.ttype in ("many2one", "many2many")
    sels = sorted(selections, key=lambda s: (s.sequence, s.value))
    return Field(
        name=f.name,
        type=f.ttype,
        label=f.label,
        required=f.required,
        index="btree" if f.index else None,
        translate=f.translate and f.ttype in ("char", "text", "html"),
        size=f.size if f.size and f.ttype == "char" else None,
        relation=f.relation if is_relational else None,
        on_delete=on_delete(f, table, foreign_keys),
        relation_table=f.relation_table if f.ttype == "many2many" else None,
        column1=f.column1 if f.ttype == "many2many" else None,
        column2=f.column2 if f.ttype == "many2many" else None,
        selection=tuple(SelectionValue(s.value, s.label) for s in sels),
        company_dependent=f.company_dependent,
        modules=f.modules,
    )


def from_metadata(meta: OdooMetadata) -> Catalog:
    fields_by_model: dict[str, dict[str, RawField]] = defaultdict(dict)
    for f in meta.fields:
        fields_by_model[f.model][f.name] = f
    selections: dict[int, list] = defaultdict(list)
    for s in meta.selections:
        selections[s.field_id].append(s)
    constraints_of: dict[int, list[RawConstraint]] = defaultdict(list)
    for c in meta.constraints:
        constraints_of[c.model_id].append(c)

    models: list[Model] = []
    tableless: dict[str, str] = {}
    tableless_modules: dict[str, str] = {}
    for m in meta.models:
        raw_fields = fields_by_model.get(m.model, {})
        own = constraints_of.get(m.id, [])
        table = infer_table(m, raw_fields, own)
        kind = classify(m, raw_fields, own, table, meta.relations)
        creator = creating_module(m, raw_fields, own, table)
        if kind != "table":
            tableless[m.model] = kind
            tableless_modules[m.model] = creator
            continue
        fields = tuple(
            _field(f, selections.get(f.id, []), table, meta.foreign_keys)
            for f in sorted(raw_fields.values(), key=lambda f: f.name)
            if f.store and f.name != "id" and f.ttype != "one2many"
        )
        # Odoo's SQL constraints (u) and, from 19.0, its declared indexes (i); foreign keys are the
        # fields' business.
        declared = sorted(
            (Constraint(c.name, c.definition.strip(), c.module) for c in own if c.type in ("u", "i") and c.definition.strip()),
            key=lambda c: c.name,
        )
        models.append(Model(name=m.model, table=table, label=m.label, module=creator, fields=fields,
                            constraints=tuple(declared)))
    return Catalog(
        odoo_version=meta.odoo_version,
        installed_modules=meta.installed_modules,
        models=tuple(sorted(models, key=lambda m: m.name)),
        tableless=dict(sorted(tableless.items())),
        tableless_modules=tableless_modules,
    )


def from_snapshot(snapshot: Snapshot) -> Catalog:
    """A saved snapshot as a source: it knows its own models and modules, nothing more."""
    modules = set(snapshot.modules)
    for m in snapshot.models:
        modules.add(m.module)
    tableless = {name: "external" for name in snapshot.external_models}
    tableless.update({t.name: t.kind for t in snapshot.tableless})
    return Catalog(
        odoo_version=snapshot.odoo_version,
        installed_modules=tuple(sorted(modules)),
        models=snapshot.models,
        tableless=tableless,
        tableless_modules={t.name: t.module for t in snapshot.tableless},
    )
