"""How much data a planned change would lose, read from a live database (``plan --database-url``):
the rows of every table a migration drops, the values of every column it drops or empties, and the
rows a narrowed CHECK (a selection value Odoo removed) would refuse. The
query is rendered from ``templates/count.sql.j2`` (identifiers through ``ident``); the connection is
read-only.

Counts honour the solution's placement: a schema's tables are counted in that schema (named
explicitly, whatever the connection's search_path), and a prefix is already in every table name of
the plan's operations (``tenant.build``), so another solution's table of the same name in the same
database is never counted."""

from __future__ import annotations

import psycopg

from generator import ops, render
from generator.placement import DEFAULT as DEFAULT_PLACEMENT
from generator.placement import Placement
from generator.runner.apply import connect
from generator.tables import Check


def target(op: ops.Op) -> tuple[str, str | None, str | None] | None:
    """(table, column or None for whole rows, CHECK expression the rows must pass) that a
    destructive operation loses or refuses."""
    if isinstance(op, ops.DropTable):
        return op.table.name, None, None
    if isinstance(op, ops.DropColumn):
        return op.table, op.column.name, None
    if isinstance(op, ops.AlterColumn) and not op.convertible:
        return op.table, op.after.name, None
    if isinstance(op, ops.AddConstraint) and isinstance(op.constraint, Check):
        return op.table, None, op.constraint.expression
    return None


def lost(operations: list[ops.Op], database_url: str | None,
         placement: Placement = DEFAULT_PLACEMENT) -> dict[int, int | None]:
    """Operation index -> rows (or non-NULL values) it would lose; None where the table or column
    (or the placement's schema) is not in the database (not applied yet)."""
    wanted = {i: t for i, op in enumerate(operations) if op.destructive and (t := target(op))}
    out: dict[int, int | None] = {}
    if not wanted:
        return out
    with connect(database_url) as conn:
        conn.read_only = True
        template = render.environment().get_template("count.sql.j2")
        for i, (table, column, expression) in wanted.items():
            query = template.render(schema=placement.schema, table=table, column=column,
                                    expression=expression).strip()
            try:
                with conn.transaction():
                    out[i] = conn.execute(query).fetchone()[0]
            except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn, psycopg.errors.InvalidSchemaName):
                out[i] = None
    return out
