"""Trim the Odoo 17 reference export (../shared/reference/odoo-17.0) to the test fixtures.

Keeps only the records and columns that capture reads (see generator/capture/records.py), exactly
as XML-RPC returned them (many2one values as [id, display name], NULL as false). No help texts,
no constraint messages, no dates. Usage: python -m tests.support.make_fixtures REFERENCE_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from generator.capture.records import (
    CONSTRAINT_COLUMNS,
    FIELD_COLUMNS,
    MODEL_COLUMNS,
    MODULE_COLUMNS,
    SELECTION_COLUMNS,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "odoo17"
FILES = {
    "ir.model": ("ir_model.json", MODEL_COLUMNS),
    "ir.model.fields": ("ir_model_fields.json", FIELD_COLUMNS),
    "ir.model.fields.selection": ("ir_model_fields_selection.json", SELECTION_COLUMNS),
    "ir.model.constraint": ("ir_model_constraint.json", CONSTRAINT_COLUMNS),
    "ir.module.module": ("ir_module_module.json", MODULE_COLUMNS),
}


def load_records(folder: Path) -> dict[str, list[dict]]:
    """The records of each ir.* model, from a reference export or from the fixtures."""
    return {model: json.loads((folder / name).read_text("utf-8")) for model, (name, _) in FILES.items()}


def main(reference: str) -> None:
    src = Path(reference)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for model, (name, columns) in FILES.items():
        rows = json.loads((src / name).read_text("utf-8"))
        trimmed = [{c: r[c] for c in columns} for r in sorted(rows, key=lambda r: r["id"])]
        text = "[\n" + ",\n".join(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in trimmed) + "\n]\n"
        (FIXTURES / name).write_text(text, "utf-8")
        print(f"{FIXTURES / name}: {len(trimmed)} records", file=sys.stderr)





def odoo_columns(reference: Path) -> None:
    """tables Odoo created -> {column: type}, from the reference pg_catalog.json (names and types only)."""
    catalog = json.loads((reference / "pg_catalog.json").read_text("utf-8"))
    out = {
        t["table"]: {
            "models": t["odoo_models"],
            "columns": {c["name"]: c["data_type"] for c in t["columns"]},
        }
        for t in catalog["tables"]
    }
    text = json.dumps(out, sort_keys=True, indent=0, ensure_ascii=False) + "\n"
    (FIXTURES / "odoo_columns.json").write_text(text, "utf-8")
    print(f"{FIXTURES / 'odoo_columns.json'}: {len(out)} tables", file=sys.stderr)


if __name__ == "__main__":
    ref = sys.argv[1] if len(sys.argv) > 1 else "../shared/reference/odoo-17.0"
    main(ref)
    odoo_columns(Path(ref))
