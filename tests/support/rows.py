"""Insert plausible rows into any generated table, for behaviour tests (FKs, RLS, on_delete).

``RowMaker.make(table, tenant)`` fills every NOT NULL column with a value of its type (the first
allowed value where a CHECK lists them) and creates the rows that NOT NULL foreign keys need, in
the same tenant, recursively.
"""

from __future__ import annotations

import re
import uuid

import psycopg
from psycopg import sql

CATALOG = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef
FROM pg_attribute a
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
FKS = """
SELECT a.attname, c.confrelid::regclass::text
FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[2]
WHERE c.contype = 'f' AND c.conrelid = %s::regclass
"""
CHECKS = """
SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'c' AND conrelid = %s::regclass
"""


def check_values(definition: str, column: str) -> list[str] | None:
    """The values of a `col IN (...)` CHECK, as PostgreSQL prints it back."""
    single = re.fullmatch(rf"CHECK \(\(\(\"?{re.escape(column)}\"?\)::text = '((?:[^']|'')*)'::text\)\)", definition)
    if single:  # a one-value IN list is printed as an equality
        return [single.group(1).replace("''", "'")]
    if not re.match(rf"CHECK \(\(\(\"?{re.escape(column)}\"?\)::text = ANY", definition):
        return None
    return [v.replace("''", "'") for v in re.findall(r"'((?:[^']|'')*)'::character varying", definition)]


# Values that satisfy Odoo's own CHECKs where a generic value would not (a note line of an order).
OVERRIDES = {
    "sale_order_line": {"display_type": "line_note", "price_unit": 0, "product_uom_qty": 0, "customer_lead": 0},
    "purchase_order_line": {"display_type": "line_note", "price_unit": 0, "product_qty": 0, "product_uom_qty": 0},
    "sale_order_template_line": {"display_type": "line_note", "product_uom_qty": 0},
    "account_move_line": {"display_type": "line_note", "debit": 0, "credit": 0, "amount_currency": 0, "balance": 0},
}


class RowMaker:
    def __init__(self, conn: psycopg.Connection, prefix: str = ""):
        self.conn = conn
        self.prefix = prefix  # a solution's table prefix: OVERRIDES are by unprefixed name
        self.made: dict[tuple[str, str], str] = {}

    def columns(self, table: str):
        return self.conn.execute(CATALOG, (table,)).fetchall()

    def fks(self, table: str) -> dict[str, str]:
        return dict(self.conn.execute(FKS, (table,)).fetchall())

    def value(self, table: str, column: str, ctype: str):
        for (definition,) in self.conn.execute(CHECKS, (table,)).fetchall():
            values = check_values(definition, column)
            if values:
                return values[0]
        if ctype == "uuid":
            return str(uuid.uuid4())
        if ctype.startswith(("character varying", "text")):
            return "x"
        if ctype in ("integer", "bigint", "numeric", "double precision"):
            return 1
        if ctype == "boolean":
            return True
        if ctype.startswith(("date", "timestamp")):
            return "2026-01-01"
        if ctype == "jsonb":
            return psycopg.types.json.Jsonb({"en_US": "x"})
        raise ValueError(ctype)

    def make(self, table: str, tenant: str, *, reuse: bool = True, _stack: tuple = (), **values) -> str:
        key = (table, tenant)
        if reuse and not values and key in self.made:
            return self.made[key]
        fks = self.fks(table)
        explicit = bool(values)
        values = {**OVERRIDES.get(table.removeprefix(self.prefix), {}), **values}
        row = {"tenant_id": tenant}
        for name, ctype, not_null, has_default in self.columns(table):
            if name in values:
                row[name] = values[name]
            elif name in row or has_default or not not_null:
                continue
            elif name in fks and fks[name] not in _stack:
                row[name] = self.make(fks[name], tenant, _stack=_stack + (table,))
            else:
                row[name] = self.value(table, name, ctype)
        query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING {}").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, row)),
            sql.SQL(", ").join(sql.Placeholder() * len(row)),
            sql.Identifier("id") if "id" in {c[0] for c in self.columns(table)} else sql.Identifier("tenant_id"),
        )
        with self.conn.transaction():
            new_id = str(self.conn.execute(query, list(row.values())).fetchone()[0])
        if reuse and not explicit:
            self.made[key] = new_id
        return new_id
