"""Capture source: an Odoo PostgreSQL database, read directly (``--odoo-dsn``).

Reads the same ir_model* records that the RPC source (capture/rpc.py) asks Odoo for (queries in
``generator/capture/sql/``), computing ``modules`` from ir_model_data exactly as Odoo does
(installed modules that own an external id of the record), so both sources yield the same
``OdooMetadata``. It also reads which tables and views the database holds (``relations``), which
the RPC APIs cannot see: classification uses it to confirm what the metadata suggests (see
``capture/catalog.py``). Columns that only some Odoo series have are read through
``to_jsonb(row)``, so one query serves 17.0, 18.0 and 19.0. It also reads the ON DELETE action of
every foreign key Odoo created (``foreign_keys``), which the metadata does not always carry: a
many2many's ``ondelete`` is not in ir.model.fields at all. The connection is read-only.
"""

from __future__ import annotations

from importlib import resources

import psycopg
from psycopg.rows import dict_row

from generator.capture import profiles
from generator.capture.records import OdooMetadata, build_metadata, odoo_series
from generator.dsn import connect_error, redact
from generator.errors import CaptureError, one_line

# pg_constraint.confdeltype -> Odoo's on_delete ("no action" behaves as restrict: the delete is refused)
ON_DELETE = {"c": "cascade", "r": "restrict", "a": "restrict", "n": "set null"}
TABLES = (
    ("ir.module.module", "ir_module_module"),  # first: its base version names the series (profile)
    ("ir.model", "ir_model"),
    ("ir.model.fields", "ir_model_fields"),
    ("ir.model.fields.selection", "ir_model_fields_selection"),
    ("ir.model.constraint", "ir_model_constraint"),
)


def _query(name: str) -> str:
    return resources.files("generator.capture").joinpath(f"sql/{name}.sql").read_text("utf-8")


def fetch(dsn: str, *, lang: str = "en_US", company_dependent: tuple[tuple[str, str], ...] = ()) -> OdooMetadata:
    try:
        conn = psycopg.connect(dsn, row_factory=dict_row, connect_timeout=15)
    except psycopg.Error as exc:
        raise CaptureError(connect_error("the Odoo database", dsn, exc)) from None
    rows: dict[str, list[dict]] = {}
    profile = profiles.for_series("unknown")
    with conn:
        conn.read_only = True
        for model, table in TABLES:
            if model == "ir.model":
                base = next((r for r in rows["ir.module.module"] if r["name"] == "base"), None)
                profile = profiles.for_series(odoo_series(base["latest_version"] if base else None))
            known = profile.known_company_dependent_with(company_dependent)
            params = {"lang": lang, "company_dependent_names": sorted({f for _, f in known})}
            try:
                with conn.cursor() as cur:
                    cur.execute(_query(table), params)
                    rows[model] = cur.fetchall()
            except psycopg.errors.UndefinedTable:
                raise CaptureError(
                    f"the database ({redact(dsn)}) has no table {table}: is it an Odoo database?"
                ) from None
            except psycopg.Error as exc:
                raise CaptureError(f"reading {table} from the Odoo database failed: {one_line(exc)}") from None
        with conn.cursor() as cur:
            cur.execute(_query("relations"))
            relations = {r["name"]: r["kind"] for r in cur.fetchall()}
            cur.execute(_query("foreign_keys"))
            foreign_keys = {(r["table_name"], r["column_name"]): ON_DELETE[r["action"]]
                            for r in cur.fetchall() if r["action"] in ON_DELETE}
    module_names = {r["id"]: r["name"] for r in rows["ir.module.module"]}
    return build_metadata(rows, module_names=module_names,
                          company_dependent=profile.known_company_dependent_with(company_dependent),
                          relations=relations, foreign_keys=foreign_keys)
