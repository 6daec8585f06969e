"""Why a change loses data, told in Odoo's terms: for each destructive operation of a migration,
what happened to the model or field between the two snapshots (an Odoo upgrade, a module removed,
a field that became company-dependent or non-stored, a model that became an SQL view), and what the
user can do. Pure: operations and both snapshots in, text out."""

from __future__ import annotations

from generator import ops
from generator.model import Snapshot
from generator.tables import COMPANY_VALUES, RELATION_TABLE

KIND_TEXT = {"view": "an SQL view or query (no table)", "manual": "a table Odoo makes by hand (not rendered)"}


def reason(op: ops.Op, previous: Snapshot, new: Snapshot) -> str:
    """A short explanation of a destructive operation; "" when there is nothing to add."""
    where = f"Odoo {new.odoo_version}"
    tableless = {t.name: t.kind for t in new.tableless}
    if isinstance(op, ops.DropTable):
        p = op.table.provenance
        if p is None:
            return ""
        company = p.kind == COMPANY_VALUES
        model, field = p.models[0], ""
        if p.kind == RELATION_TABLE:  # a relation table: the many2many field that declared it
            model, _, field = p.fields[0].rpartition(".")
        if model in tableless:
            return f"{model} is {KIND_TEXT[tableless[model]]} in {where}"
        if model in previous.model_map and model not in new.model_map:
            return f"{model} is not in the new snapshot (removed in {where}, or its module left the selection)"
        if company:
            return f"{model} has no company-dependent field left in the new snapshot"
        if field and model in new.model_map and field not in new.model_map[model].field_map:
            return f"{model}.{field} is not a stored many2many of the new snapshot (removed, renamed or computed in {where})"
        if field:
            return f"{model}.{field} now keeps its rows in another table"
        return ""
    if isinstance(op, ops.DropColumn):
        model, name = op.column.provenance.model, op.column.provenance.field
        before = previous.model_map.get(model)
        after = new.model_map.get(model)
        if not model or before is None or name not in before.field_map:
            return ""
        if after is not None and name in after.field_map:
            field = after.field_map[name]
            if field.company_dependent and not before.field_map[name].company_dependent:
                return (f"{model}.{name} is company-dependent in {where}: its values move to the per-company "
                        f"table, one row per company, and only you know which company each old value is for. "
                        f"Copy them there in a migration of your own, then confirm with --allow-destructive")
            return ""
        return (f"{model}.{name} is not a stored field of the new snapshot (removed, renamed or computed in "
                f"{where}); if it was renamed, say so in the rename hints and the column keeps its data")
    if isinstance(op, ops.AlterColumn) and not op.convertible:
        return (f"{op.table}.{op.after.name}: no conversion from {op.before.type} to {op.after.type}; "
                "the column is emptied")
    return ""


def explain(operations: list[ops.Op], previous: Snapshot, new: Snapshot) -> list[str]:
    """One line per destructive operation: what it does, and why, when the snapshots tell."""
    out = []
    for op in operations:
        if op.destructive:
            why = reason(op, previous, new)
            out.append(op.describe() + (f": {why}" if why else ""))
    return out
