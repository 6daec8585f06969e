"""Which models and fields a module selection takes (documented in README, "What is captured").

For a selection S of installed modules:
1. Selected models: every model with a table whose creating module is in S.
2. Their fields: every stored field (not one2many, not ``id``) that a module of S defines or
   extends (ir.model.fields.modules ∩ S ≠ ∅). That includes the fields a model gets from mixins
   (Odoo files them under the model's module) and the magic columns create_uid, create_date,
   write_uid, write_date. Fields added by modules outside S (e.g. sale_stock's
   stock.move.sale_line_id when sale_stock is not selected) are left out.
3. SQL constraints (ir.model.constraint type u) whose module is in S.
4. With references: every model with a table that a kept many2one/many2many points at is pulled
   in (``reference_depth`` hops, 0 = the whole closure), with the fields and constraints of its
   creating module and of S.
5. A many2many whose relation table is another model's table (project.task's user_ids and
   personal_stage_type_ids use ``project_task_user_rel``, the table of project.task.stage.personal)
   pulls that model in, with or without references: its table is where the field's rows live.
6. Every other relation target is listed in ``external_models``; the renderer keeps such columns
   as plain uuid columns and reports them. Nothing is dropped silently.
7. Models of the selected modules that have no table of their own (SQL views and queries,
   tables Odoo makes by hand) are listed in ``tableless`` with their kind, and so are relation
   targets of those kinds.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from generator.errors import CaptureError, UsageError
from generator.model import TABLELESS_KINDS, Model, Snapshot, TablelessModel

if TYPE_CHECKING:  # a type only: generate's scope flags need no catalog code
    from generator.capture.catalog import Catalog

PRESETS: dict[str, tuple[str, ...]] = {
    # The sales and inventory core of Odoo: products and units, stock, sales, purchases.
    "sales-inventory": ("product", "purchase", "sale", "sale_management", "stock", "uom"),
    "inventory": ("product", "stock", "uom"),
    "sales": ("product", "sale", "sale_management", "uom"),
    "purchase": ("product", "purchase", "uom"),
}
ALL = "all"


@dataclass(frozen=True)
class Scope:
    modules: tuple[str, ...] = ()  # empty with preset None means: every installed module
    preset: str | None = None
    with_references: bool = False
    reference_depth: int = 1  # hops followed with references; 0 = until nothing new


def resolve_modules(scope: Scope) -> tuple[str, ...] | None:
    """The module names a scope asks for; None means all installed modules."""
    if scope.preset and scope.modules:
        raise UsageError("give either --modules or --preset, not both")
    if scope.preset:
        if scope.preset not in PRESETS:
            raise UsageError(f"unknown preset {scope.preset!r}; known presets: {', '.join(sorted(PRESETS))}")
        return PRESETS[scope.preset]
    if not scope.modules or scope.modules == (ALL,):
        return None
    return tuple(sorted(set(scope.modules)))


def _check_installed(modules: tuple[str, ...], installed: tuple[str, ...], source: str) -> None:
    known = set(installed)
    for name in modules:
        if name not in known:
            close = difflib.get_close_matches(name, installed, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise CaptureError(f"module {name!r} is not installed in {source}{hint}")


def _narrow(model: Model, allowed: set[str], origin: str) -> Model:
    return replace(
        model,
        origin=origin,
        fields=tuple(f for f in model.fields if allowed.intersection(f.modules)),
        constraints=tuple(c for c in model.constraints if c.module in allowed),
    )


def select(catalog: Catalog, scope: Scope, *, source: str = "this Odoo") -> Snapshot:
    wanted = resolve_modules(scope)
    if wanted is not None:
        _check_installed(wanted, catalog.installed_modules, source)
    selection = set(wanted if wanted is not None else catalog.installed_modules)

    by_name = {m.name: m for m in catalog.models}
    chosen: dict[str, Model] = {
        m.name: _narrow(m, selection, "selected") for m in catalog.models if m.module in selection
    }
    if scope.with_references:
        frontier = list(chosen.values())
        depth = 0
        while frontier and (scope.reference_depth == 0 or depth < scope.reference_depth):
            depth += 1
            new: dict[str, Model] = {}
            for m in frontier:
                for f in m.fields:
                    target = f.relation
                    if target and target in by_name and target not in chosen and target not in new:
                        ref = by_name[target]
                        new[target] = _narrow(ref, selection | {ref.module}, "reference")
            chosen.update(new)
            frontier = list(new.values())

    by_table = {m.table: m for m in catalog.models}
    pending = list(chosen.values())
    while pending:
        storage: dict[str, Model] = {}
        for m in pending:
            for f in m.fields:
                owner = by_table.get(f.relation_table or "") if f.type == "many2many" else None
                if owner is not None and owner.name not in chosen and owner.name not in storage:
                    storage[owner.name] = _narrow(owner, selection | {owner.module}, "reference")
        chosen.update(storage)
        pending = list(storage.values())

    known = set(by_name) | set(catalog.tableless)
    external: set[str] = set()
    for m in chosen.values():
        for f in m.fields:
            if f.relation and f.relation not in chosen:
                if f.relation not in known:
                    raise CaptureError(f"field {m.name}.{f.name} points at model {f.relation!r}, which {source} does not have")
                external.add(f.relation)

    tableless = {
        name: TablelessModel(name, kind, catalog.tableless_modules.get(name, ""))
        for name, kind in catalog.tableless.items()
        if kind in TABLELESS_KINDS and (catalog.tableless_modules.get(name) in selection or name in external)
    }
    return Snapshot(
        odoo_version=catalog.odoo_version,
        modules=tuple(sorted(selection)),
        preset=scope.preset,
        with_references=scope.with_references,
        models=tuple(chosen[k] for k in sorted(chosen)),
        external_models=tuple(sorted(external)),
        tableless=tuple(tableless[k] for k in sorted(tableless)),
    )
