"""Load ir.* records (fixtures or the reference export) into the ir_model* tables of a real
database, the way Odoo stores them, so capture can read them with --odoo-dsn.

Translated labels become jsonb {"en_US": ...}; ``modules`` (which Odoo computes from external ids)
becomes one ir_model_data row per module, as Odoo's own xml ids are."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

DDL = Path(__file__).resolve().parent.parent / "fixtures" / "odoo17" / "ir_tables.sql"


def _id(value):
    return value[0] if isinstance(value, list) else value


def _v(value):
    return None if value is False else value


def load(dsn: str, records: dict[str, list[dict]]) -> None:
    """Odoo 17's columns, plus what later series added, as the records show: 18.0's
    ir_model_fields.company_dependent, 19.0's ir_model.abstract and its varchar ``translate``."""
    fields0 = records["ir.model.fields"][0]
    has_cd = "company_dependent" in fields0
    has_abstract = "abstract" in records["ir.model"][0]
    text_translate = any(isinstance(r["translate"], str) for r in records["ir.model.fields"])
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(DDL.read_text("utf-8"))
        if has_cd:
            cur.execute("ALTER TABLE ir_model_fields ADD COLUMN company_dependent boolean")
        if has_abstract:
            cur.execute("ALTER TABLE ir_model ADD COLUMN abstract boolean")
        if text_translate:
            cur.execute("ALTER TABLE ir_model_fields ALTER COLUMN translate TYPE character varying")
        with cur.copy("COPY ir_module_module (id, name, state, latest_version) FROM STDIN") as cp:
            for r in records["ir.module.module"]:
                cp.write_row((r["id"], r["name"], r["state"], _v(r["latest_version"])))
        data = []
        with cur.copy(f"COPY ir_model (id, model, name, transient{', abstract' if has_abstract else ''}) FROM STDIN") as cp:
            for r in records["ir.model"]:
                cp.write_row((r["id"], r["model"], json.dumps({"en_US": r["name"]}), r["transient"])
                             + ((r["abstract"],) if has_abstract else ()))
                slug = r["model"].replace(".", "_")
                data += [(r["id"], f"model_{slug}", m, "ir.model") for m in _modules(r["modules"])]
        model_ids = {r["model"]: r["id"] for r in records["ir.model"]}
        cols = ("id", "model_id", "size", "name", "model", "relation", "ttype", "on_delete", "relation_table",
                "column1", "column2", "field_description", "required", "index", "translate", "store") \
            + (("company_dependent",) if has_cd else ())
        with cur.copy(f"COPY ir_model_fields ({', '.join(cols)}) FROM STDIN") as cp:
            for r in records["ir.model.fields"]:
                cp.write_row((r["id"], model_ids[r["model"]], r["size"], r["name"], r["model"], _v(r["relation"]),
                              r["ttype"], _v(r["on_delete"]), _v(r["relation_table"]), _v(r["column1"]),
                              _v(r["column2"]), json.dumps({"en_US": r["field_description"]}), r["required"],
                              r["index"], _v(r["translate"]) if text_translate else r["translate"], r["store"])
                             + ((r["company_dependent"],) if has_cd else ()))
                slug = r["model"].replace(".", "_")
                data += [(r["id"], f"field_{slug}__{r['name']}", m, "ir.model.fields") for m in _modules(r["modules"])]
        with cur.copy("COPY ir_model_fields_selection (id, field_id, sequence, value, name) FROM STDIN") as cp:
            for r in records["ir.model.fields.selection"]:
                cp.write_row((r["id"], _id(r["field_id"]), r["sequence"], r["value"], json.dumps({"en_US": r["name"]})))
        with cur.copy("COPY ir_model_constraint (id, model, module, name, definition, type) FROM STDIN") as cp:
            for r in records["ir.model.constraint"]:
                cp.write_row((r["id"], _id(r["model"]), _id(r["module"]), r["name"], _v(r["definition"]), r["type"]))
        with cur.copy("COPY ir_model_data (res_id, name, module, model) FROM STDIN") as cp:
            for row in data:
                cp.write_row(row)


def _modules(value) -> list[str]:
    return [m.strip() for m in str(value or "").split(",") if m.strip()]


