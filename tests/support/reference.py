"""The Odoo 17 reference export in ../shared (present in CI and on developers' machines, not in a
user's clone). Tests that use it say so when it is absent; the suite's other tests use the trimmed
fixtures in tests/fixtures/odoo17 instead."""

from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = Path(os.environ.get("FBS_REFERENCE_DIR", ROOT.parent / "shared" / "reference" / "odoo-17.0"))
IR_TABLES = ("ir_model", "ir_model_fields", "ir_model_fields_selection", "ir_model_constraint",
             "ir_module_module", "ir_model_data", "ir_model_relation", "ir_model_fields_group_rel")


def available() -> bool:
    return (REFERENCE / "ir_model_fields.json").exists()


def load_odoo_dump(dsn: str) -> None:
    """Odoo's own ir_model* tables (DDL from schema.sql, rows from the pg_dump), without FKs."""
    schema = (REFERENCE / "schema.sql").read_text("utf-8")
    ddl = []
    for table in IR_TABLES:
        match = re.search(rf"^CREATE TABLE public\.{table} \(.*?^\);", schema, re.S | re.M)
        ddl.append(match.group(0))
    dump = gzip.decompress((REFERENCE / "ir_model_tables_data.sql.gz").read_bytes()).decode("utf-8")
    copies = re.findall(r"^(COPY public\.\w+ \(.*?\) FROM stdin;)\n(.*?)^\\\.$", dump, re.S | re.M)
    modules = json.loads((REFERENCE / "ir_module_module.json").read_text("utf-8"))
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("\n".join(ddl))
        for statement, data in copies:
            with cur.copy(statement.replace(" FROM stdin;", " FROM STDIN")) as cp:
                cp.write(data)
        for m in modules:
            cur.execute("INSERT INTO ir_module_module (id, name, state, latest_version) VALUES (%s, %s, %s, %s)",
                        (m["id"], m["name"], m["state"], m["latest_version"]))
