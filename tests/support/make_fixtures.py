"""Trim a reference export (../shared/reference/odoo-<version>) to the test fixtures.

Keeps only the records and columns that capture reads (see generator/capture/records.py and the
series profiles in generator/capture/profiles.py), exactly as XML-RPC returned them (many2one
values as [id, display name], NULL as false). No help texts, no constraint messages, no dates.
ir.model.fields keeps the rows any capture can read: stored non-one2many fields, and the
non-stored ones named like a known company-dependent field (17.0).

17.0 lives uncompressed in tests/fixtures/odoo17 (as it always did); 18.0 and 19.0 are gzipped
JSON in tests/fixtures/odoo-<version>/.

Usage: python -m tests.support.make_fixtures REFERENCE_DIR [REFERENCE_DIR ...]
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

from generator.capture import profiles
from generator.capture.records import MODULE_COLUMNS

ROOT = Path(__file__).resolve().parent.parent / "fixtures"
FIXTURES = ROOT / "odoo17"
VERSIONS = ("17.0", "18.0", "19.0")
NAMES = {
    "ir.model": "ir_model.json",
    "ir.model.fields": "ir_model_fields.json",
    "ir.model.fields.selection": "ir_model_fields_selection.json",
    "ir.model.constraint": "ir_model_constraint.json",
    "ir.module.module": "ir_module_module.json",
}


def folder(version: str) -> Path:
    return FIXTURES if version == "17.0" else ROOT / f"odoo-{version}"


def _columns(version: str) -> dict[str, tuple[str, ...]]:
    p = profiles.PROFILES[version]
    return {
        "ir.model": p.model_columns,
        "ir.model.fields": p.field_columns,
        "ir.model.fields.selection": p.selection_columns,
        "ir.model.constraint": p.constraint_columns,
        "ir.module.module": MODULE_COLUMNS,
    }


def _read(path: Path) -> list[dict]:
    gz = path.with_name(path.name + ".gz")
    if gz.exists():
        return json.loads(gzip.decompress(gz.read_bytes()).decode("utf-8"))
    return json.loads(path.read_text("utf-8"))


def load_records(where: Path | str = FIXTURES) -> dict[str, list[dict]]:
    """The records of each ir.* model, from a reference export or a fixture folder (or a version)."""
    path = folder(where) if isinstance(where, str) and where in VERSIONS else Path(where)
    return {model: _read(path / name) for model, name in NAMES.items()}


def _keep_field(row: dict, cd_names: set[str]) -> bool:
    return row["ttype"] != "one2many" and (row["store"] or row["name"] in cd_names)


def main(reference: str) -> None:
    src = Path(reference)
    meta = json.loads((src / "export_meta.json").read_text("utf-8"))
    version = meta["server_version"]["server_serie"]
    out = folder(version)
    out.mkdir(parents=True, exist_ok=True)
    cd_names = {f for _, f in profiles.PROFILES[version].known_company_dependent}
    kept_fields = {r["id"] for r in json.loads((src / NAMES["ir.model.fields"]).read_text("utf-8"))
                   if _keep_field(r, cd_names)}
    for model, columns in _columns(version).items():
        rows = json.loads((src / NAMES[model]).read_text("utf-8"))
        if model == "ir.model.fields":
            rows = [r for r in rows if r["id"] in kept_fields]
        if model == "ir.model.fields.selection":
            rows = [r for r in rows if r["field_id"][0] in kept_fields]
        trimmed = [{c: r[c] for c in columns} for r in sorted(rows, key=lambda r: r["id"])]
        text = "[\n" + ",\n".join(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in trimmed) + "\n]\n"
        if version == "17.0":
            (out / NAMES[model]).write_text(text, "utf-8")
        else:
            (out / (NAMES[model] + ".gz")).write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
        print(f"{out / NAMES[model]}: {len(trimmed)} records", file=sys.stderr)


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
    refs = sys.argv[1:] or ["../shared/reference/odoo-17.0"]
    for ref in refs:
        main(ref)
        if ref.rstrip("/").endswith("17.0"):
            odoo_columns(Path(ref))
