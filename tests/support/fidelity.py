"""Compare the generated schema with the tables Odoo 17 itself created (tests/fixtures/odoo17/odoo_columns.json,
names and types read from the reference database's catalog).

For every generated table that Odoo also has: each Odoo column of a field in the snapshot must be present
with the mapped type; ours has no column Odoo lacks except tenant_id. Documented exceptions:
- ``id`` and integer columns of many2one / many2one_reference fields, and integer fields that hold
  a record id (tenant.is_record_id), are uuid here (tenant rule 2);
- float fields are numeric here (ir.model.fields does not say whether a float has digits; Odoo uses
  double precision for the ones without);
- binary fields with ``attachment=False`` have a bytea column in Odoo and none here (ir.model.fields does
  not say which binaries are attachments);
- a char field whose ir.model.fields ``size`` is set is ``character varying(size)`` here even where Odoo's
  column has no length (res.currency.name: size 3, column unsized).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from generator import tenant
from generator.model import Snapshot
from generator.tables import Schema
from tests.support.make_fixtures import FIXTURES


@dataclass
class Fidelity:
    tables: int = 0
    expected: int = 0  # Odoo columns of fields in the snapshot (plus id)
    same_type: int = 0
    mapped_type: int = 0  # documented type exceptions (uuid for ids, numeric for floats)
    binary_without_column: int = 0
    problems: list[str] = field(default_factory=list)
    not_selected: int = 0  # Odoo columns of fields that modules outside the selection add

    @property
    def coverage(self) -> float:
        return (self.same_type + self.mapped_type) / self.expected if self.expected else 0.0


def compare(snapshot: Snapshot, schema: Schema) -> Fidelity:
    odoo = json.loads((FIXTURES / "odoo_columns.json").read_text("utf-8"))
    result = Fidelity()
    for model in snapshot.models:
        if model.table not in odoo or model.name not in odoo[model.table]["models"]:
            continue
        table = schema.table(model.table)
        ours = {c.name: c.type for c in table.columns}
        theirs = odoo[model.table]["columns"]
        fields = model.field_map
        result.tables += 1
        for col, otype in theirs.items():
            f = fields.get(col)
            if col != "id" and f is None:
                result.not_selected += 1
                continue
            result.expected += 1
            if f is not None and f.type == "binary":
                result.binary_without_column += 1
                if col in ours:
                    result.problems.append(f"{model.table}.{col}: binary field has a column")
                continue
            if col not in ours:
                result.problems.append(f"{model.table}.{col}: missing (Odoo: {otype})")
                continue
            want = otype
            if col == "id" or (f is not None and f.type in ("many2one", "many2one_reference")):
                want = "uuid"
            elif f is not None and tenant.is_record_id(model.name, f):
                want = "uuid"
            elif f is not None and f.type == "float" and otype == "double precision":
                want = "numeric"
            elif f is not None and f.type == "char" and f.size and otype == "character varying":
                want = f"character varying({f.size})"
            if ours[col] != want:
                result.problems.append(f"{model.table}.{col}: {ours[col]} (Odoo: {otype}, expected {want})")
            elif want == otype:
                result.same_type += 1
            else:
                result.mapped_type += 1
        for col in ours:
            if col != "tenant_id" and col not in theirs:
                result.problems.append(f"{model.table}.{col}: not a column of Odoo's table")
    return result
