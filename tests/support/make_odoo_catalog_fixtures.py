"""Trimmed copies of real Odoo databases, for ``tests/test_compare_odoo.py`` (and anyone who wants
an Odoo 17.0 / 18.0 / 19.0 catalog without an Odoo server).

Maintainer script: ``.venv/bin/python -m tests.support.make_odoo_catalog_fixtures`` turns each
reference export (``../shared/reference/odoo-<ver>/``, see its PROVENANCE.md; needs PostgreSQL like
the tests) into ``tests/fixtures/odoo-<ver>/``:

- ``odoo_schema.sql.gz``: the statements of Odoo's own ``pg_dump --schema-only`` that shape what
  ``compare-odoo`` and capture read: CREATE EXTENSION, CREATE TABLE, CREATE VIEW (and the rule that
  completes a view), PRIMARY KEY / UNIQUE / CHECK / FOREIGN KEY constraints and unique indexes.
  No comments (Odoo's help texts live there), sequences, defaults, ordinary indexes or grants.
- ``odoo_ir_data.sql.gz``: the rows of the ir_model* tables that database capture reads
  (``generator/capture/sql/*.sql``), only the columns it reads plus those Odoo declares NOT NULL,
  labels in en_US only, in pg_dump's COPY format.
- ``odoo_registry.json.gz``: per model, what Odoo's registry says of it (``_table``, ``_auto``,
  ``_abstract``, ``_transient``, whether it has a ``_table_query``, ``_original_module``).

``load(dsn, version)`` puts both into an empty database: the result is, for capture and for
``compare-odoo``, the Odoo database the reference was exported from.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path

import psycopg

from tests.support import pg
from tests.support.reference import REFERENCE

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
VERSIONS = ("17.0", "18.0", "19.0")
REFERENCES = REFERENCE.parent  # ../shared/reference (FBS_REFERENCE_DIR moves it)
SCHEMA_FILE, DATA_FILE, TABLES_FILE = "odoo_schema.sql.gz", "odoo_ir_data.sql.gz", "odoo_registry.json.gz"
# What the running registry said of each model (the reference's model_tables.json), trimmed
MODEL_TABLE_KEYS = ("table", "auto", "abstract", "transient", "table_query", "original_module")
KEPT_OBJECTS = ("EXTENSION", "TABLE", "VIEW", "RULE", "CONSTRAINT", "FK CONSTRAINT", "INDEX")
# The rows capture reads: (table, columns capture needs, row filter). NOT NULL columns are added.
IR_DATA = (
    ("ir_module_module", ("id", "name", "state", "latest_version"), "state = 'installed'"),
    ("ir_model", ("id", "model", "name", "transient", "abstract"), "true"),
    ("ir_model_fields", ("id", "model_id", "model", "name", "ttype", "field_description", "store", "required",
                         "index", "translate", "size", "relation", "on_delete", "relation_table", "column1",
                         "column2", "company_dependent"), "true"),
    ("ir_model_fields_selection", ("id", "field_id", "value", "name", "sequence"), "true"),
    ("ir_model_constraint", ("id", "model", "module", "name", "definition", "type"), "true"),
    ("ir_model_data", ("id", "res_id", "module", "model", "name"),
     "model IN ('ir.model', 'ir.model.fields') AND module IN (SELECT name FROM ir_module_module "
     "WHERE state = 'installed')"),
)
LABELS = {("ir_model", "name"), ("ir_model_fields", "field_description"), ("ir_model_fields_selection", "name")}
_BLOCK = re.compile(r"^--\n-- Name: (?P<name>.*?); Type: (?P<type>[A-Z ]+); Schema: .*?\n--\n\n(?P<sql>.*?)(?=^--\n|\Z)",
                    re.S | re.M)
_COPY = re.compile(r"^(COPY public\.\w+ \(.*?\) FROM stdin;)\n(.*?)^\\\.$", re.S | re.M)


def reference(version: str) -> Path:
    return REFERENCES / f"odoo-{version}"


def fixture(version: str) -> Path:
    return FIXTURES / f"odoo-{version}"


def trimmed_schema(schema_sql: str) -> str:
    """The kept statements of a pg_dump --schema-only, in dump order (constraints after tables)."""
    text = "\n".join(line for line in schema_sql.splitlines() if not line.startswith("\\"))  # \restrict
    out = []
    for block in _BLOCK.finditer(text + "\n"):
        kind, sql = block.group("type"), block.group("sql").strip()
        if kind not in KEPT_OBJECTS or (kind == "INDEX" and not sql.startswith("CREATE UNIQUE INDEX")):
            continue
        out.append(sql)
    return "\n\n".join(out) + "\n"


def _not_null(cur, table: str) -> list[str]:
    cur.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                "AND NOT attisdropped AND attnotnull ORDER BY attnum", (f"public.{table}",))
    return [r[0] for r in cur.fetchall()]


def _columns(cur, table: str) -> list[str]:
    cur.execute("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
                "AND NOT attisdropped ORDER BY attnum", (f"public.{table}",))
    return [r[0] for r in cur.fetchall()]


def trimmed_data(dsn: str) -> str:
    """COPY blocks of the ir_model* rows capture reads, from a database holding the full export."""
    parts = []
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for table, wanted, where in IR_DATA:
            present = _columns(cur, table)
            cols = [c for c in present if c in wanted or c in _not_null(cur, table)]
            select = ", ".join(
                f"jsonb_build_object('en_US', {c} ->> 'en_US')" if (table, c) in LABELS else f'"{c}"' for c in cols
            )
            quoted = ", ".join(f'"{c}"' if c in ("order", "index") else c for c in cols)
            rows = []
            with cur.copy(f"COPY (SELECT {select} FROM public.{table} WHERE {where} ORDER BY id) TO STDOUT") as cp:
                for chunk in cp:
                    rows.append(bytes(chunk).decode("utf-8"))
            parts.append(f"COPY public.{table} ({quoted}) FROM stdin;\n{''.join(rows)}\\.\n")
    return "\n".join(parts)


def _load_full_ir_tables(dsn: str, ref: Path) -> None:
    """The reference's ir_model* tables (DDL from schema.sql, every row), modules from its JSON."""
    schema = (ref / "schema.sql").read_text("utf-8")
    tables = ("ir_module_module", "ir_model", "ir_model_fields", "ir_model_fields_selection", "ir_model_constraint",
              "ir_model_data", "ir_model_relation", "ir_model_fields_group_rel")
    ddl = [re.search(rf"^CREATE TABLE public\.{t} \(.*?^\);", schema, re.S | re.M).group(0) for t in tables]
    dump = gzip.decompress((ref / "ir_model_tables_data.sql.gz").read_bytes()).decode("utf-8")
    modules = json.loads((ref / "ir_module_module.json").read_text("utf-8"))
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("\n".join(ddl))
        for statement, data in _COPY.findall(dump):
            with cur.copy(statement.replace(" FROM stdin;", " FROM STDIN")) as cp:
                cp.write(data)
        for m in modules:
            cur.execute("INSERT INTO ir_module_module (id, name, state, latest_version) VALUES (%s, %s, %s, %s)",
                        (m["id"], m["name"], m["state"], m["latest_version"]))


def make(version: str) -> tuple[int, int]:
    ref, out = reference(version), fixture(version)
    out.mkdir(parents=True, exist_ok=True)
    schema = trimmed_schema((ref / "schema.sql").read_text("utf-8"))
    with pg.fresh_database("fbs_fixture") as dsn:
        _load_full_ir_tables(dsn, ref)
        data = trimmed_data(dsn)
    registry = json.loads((ref / "model_tables.json").read_text("utf-8"))
    tables = {m["model"]: {k: bool(m[k]) if k == "table_query" else m[k] for k in MODEL_TABLE_KEYS} for m in registry}
    (out / TABLES_FILE).write_bytes(gzip.compress(json.dumps(tables, sort_keys=True).encode("utf-8"), 9, mtime=0))
    sizes = []
    for name, text in ((SCHEMA_FILE, schema), (DATA_FILE, data)):
        blob = gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)
        (out / name).write_bytes(blob)
        sizes.append(len(blob))
    return sizes[0], sizes[1]


def model_tables(version: str) -> dict[str, dict]:
    return json.loads(gzip.decompress((fixture(version) / TABLES_FILE).read_bytes()))


def load(dsn: str, version: str, folder: Path | None = None) -> None:
    """Odoo's schema and ir_model* rows (the fixture of ``version``) into the empty database ``dsn``."""
    folder = folder or fixture(version)
    schema = gzip.decompress((folder / SCHEMA_FILE).read_bytes()).decode("utf-8")
    data = gzip.decompress((folder / DATA_FILE).read_bytes()).decode("utf-8")
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SET check_function_bodies = false")
        cur.execute(schema)
        for statement, rows in _COPY.findall(data):
            with cur.copy(statement.replace(" FROM stdin;", " FROM STDIN")) as cp:
                cp.write(rows)


def main(argv: list[str]) -> int:
    for version in argv or VERSIONS:
        if not (reference(version) / "schema.sql").exists():
            print(f"{reference(version)}: no reference export", file=sys.stderr)
            return 1
        schema_size, data_size = make(version)
        print(f"{fixture(version)}: {SCHEMA_FILE} {schema_size:,} bytes, {DATA_FILE} {data_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
