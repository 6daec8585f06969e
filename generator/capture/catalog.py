"""Everything a source knows, before any module selection: every model that has a table, with
every stored field, plus the names of the models that have none.

Two ways in, one way out: ``from_metadata`` (XML-RPC or database records) and ``from_snapshot``
(re-filtering a saved snapshot). ``scope.select`` works on a Catalog only.

How a model is classified from ir.* records alone (Odoo does not publish ``_table``/``_auto``):
- its creating module is the module of its ``id`` field (Odoo gives ``id`` the external id of the
  module that created the model; checked on all 325 models of the Odoo 17 reference);
- it has a table when it is not transient, has an ``id`` field (abstract models have none) and
  either has log-access columns (``create_date``) or foreign keys listed in ir.model.constraint.
  SQL-view reports (sale.report, purchase.report, ...) have neither and are left out. On the Odoo 17
  reference this is right for 409 of 412 models; the three misses are in base/auth_totp
  (ir.module.module.dependency, res.users.apikeys, auth_totp.device);
- its table is the model name with ``.`` replaced by ``_`` (Odoo's default; the eight
  ir.actions.* models that set ``_table`` themselves are not told apart).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from generator.capture.records import OdooMetadata
from generator.model import Constraint, Field, Model, SelectionValue, Snapshot


@dataclass(frozen=True)
class Catalog:
    odoo_version: str
    installed_modules: tuple[str, ...]
    models: tuple[Model, ...]  # every model with a table, every stored field (fields carry their modules)
    tableless_models: tuple[str, ...]  # abstract, transient, SQL views: known, but never a table


def table_name(model: str) -> str:
    return model.replace(".", "_")


def from_metadata(meta: OdooMetadata) -> Catalog:
    fields_by_model: dict[str, list] = defaultdict(list)
    for f in meta.fields:
        fields_by_model[f.model].append(f)
    selections: dict[int, list] = defaultdict(list)
    for s in meta.selections:
        selections[s.field_id].append(s)
    model_by_id = {m.id: m.model for m in meta.models}
    fk_models = {model_by_id.get(c.model_id) for c in meta.constraints if c.type == "f"}
    sql_constraints: dict[str, list[Constraint]] = defaultdict(list)
    for c in meta.constraints:
        if c.type == "u" and c.definition.strip() and c.model_id in model_by_id:
            sql_constraints[model_by_id[c.model_id]].append(Constraint(c.name, c.definition.strip(), c.module))

    models: list[Model] = []
    tableless: list[str] = []
    for m in meta.models:
        raw_fields = {f.name: f for f in fields_by_model.get(m.model, ())}
        id_field = raw_fields.get("id")
        has_table = (
            not m.transient
            and id_field is not None
            and ("create_date" in raw_fields or m.model in fk_models)
        )
        if not has_table:
            tableless.append(m.model)
            continue
        fields = []
        for f in sorted(raw_fields.values(), key=lambda f: f.name):
            if not f.store or f.name == "id" or f.ttype == "one2many":
                continue
            is_relational = f.ttype in ("many2one", "many2many")
            sels = sorted(selections.get(f.id, ()), key=lambda s: (s.sequence, s.value))
            fields.append(
                Field(
                    name=f.name,
                    type=f.ttype,
                    label=f.label,
                    required=f.required,
                    index="btree" if f.index else None,
                    translate=f.translate and f.ttype in ("char", "text", "html"),
                    size=f.size if f.size and f.ttype == "char" else None,
                    relation=f.relation if is_relational else None,
                    on_delete=(f.on_delete or "set null") if f.ttype == "many2one" else None,
                    relation_table=f.relation_table if f.ttype == "many2many" else None,
                    column1=f.column1 if f.ttype == "many2many" else None,
                    column2=f.column2 if f.ttype == "many2many" else None,
                    selection=tuple(SelectionValue(s.value, s.label) for s in sels),
                    modules=f.modules,
                )
            )
        creator = id_field.modules[0] if id_field.modules else (m.modules[0] if m.modules else "")
        models.append(
            Model(
                name=m.model,
                table=table_name(m.model),
                label=m.label,
                module=creator,
                fields=tuple(fields),
                constraints=tuple(sorted(sql_constraints.get(m.model, ()), key=lambda c: c.name)),
            )
        )
    return Catalog(
        odoo_version=meta.odoo_version,
        installed_modules=meta.installed_modules,
        models=tuple(sorted(models, key=lambda m: m.name)),
        tableless_models=tuple(sorted(tableless)),
    )


def from_snapshot(snapshot: Snapshot) -> Catalog:
    """A saved snapshot as a source: it knows its own models and modules, nothing more."""
    modules = set(snapshot.modules)
    for m in snapshot.models:
        modules.add(m.module)
    return Catalog(
        odoo_version=snapshot.odoo_version,
        installed_modules=tuple(sorted(modules)),
        models=snapshot.models,
        tableless_models=snapshot.external_models,
    )
