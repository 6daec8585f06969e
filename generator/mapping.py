"""The Odoo -> generated mapping: for every generated table, which Odoo rows it holds, and for every
column, where its values come from (``tables.Provenance``: role, model, field, Odoo column, target).

One module that both ``compare-odoo`` (is each Odoo table, column and constraint in the schema?) and
``import`` (which Odoo rows and columns fill each table?) read. Pure: it only indexes what the tenant
rules recorded while building the schema (``tenant.build``); it never parses names or notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from generator.tables import (COMPANY_VALUE, COMPANY_VALUES, MANY2ONE, MODEL_TABLE, RECORD_ID, REFERENCE,
                              RELATION_TABLE, VALUE, Column, Schema, Table, TableProvenance)

# Roles whose column holds one Odoo field's values
FIELD_ROLES = (VALUE, MANY2ONE, RECORD_ID, REFERENCE, COMPANY_VALUE)


@dataclass(frozen=True)
class TableMap:
    """One generated table and the Odoo rows it holds."""

    table: Table
    provenance: TableProvenance

    @property
    def kind(self) -> str:
        return self.provenance.kind

    @property
    def odoo_table(self) -> str:
        return self.provenance.odoo_table

    @cached_property
    def by_field(self) -> dict[str, Column]:
        """Odoo field name -> the generated column holding its values (first model first, when
        several models share the table)."""
        out: dict[str, Column] = {}
        for c in self.table.columns:
            if c.provenance.role in FIELD_ROLES:
                out.setdefault(c.provenance.field, c)
        return out

    @cached_property
    def by_odoo_column(self) -> dict[str, Column]:
        """Column of Odoo's table -> the generated column filled from it (``id``, a field's column, a
        relation table's end)."""
        return {c.provenance.column: c for c in self.table.columns if c.provenance.column}


@dataclass(frozen=True)
class Mapping:
    tables: tuple[TableMap, ...]

    @cached_property
    def _index(self) -> dict[tuple[str, str], TableMap]:
        return {(t.kind, t.odoo_table): t for t in self.tables}

    def model_table(self, odoo_table: str) -> TableMap | None:
        """The generated table holding the rows of Odoo's model table ``odoo_table``."""
        return self._index.get((MODEL_TABLE, odoo_table))

    def relation_table(self, odoo_table: str) -> TableMap | None:
        """The generated table holding the rows of Odoo's many2many relation table ``odoo_table``."""
        return self._index.get((RELATION_TABLE, odoo_table))

    def company_values(self, odoo_table: str) -> TableMap | None:
        """The per-company table of the company-dependent fields of the model stored in ``odoo_table``."""
        return self._index.get((COMPANY_VALUES, odoo_table))

    @cached_property
    def table_of_model(self) -> dict[str, str]:
        """Odoo model -> Odoo's table of it, for every model the schema holds rows of."""
        return {m: t.odoo_table for t in self.tables if t.kind == MODEL_TABLE for m in t.provenance.models}


def of(schema: Schema) -> Mapping:
    """The mapping of a schema built by ``tenant.build`` (tables without provenance are skipped)."""
    return Mapping(tuple(TableMap(t, t.provenance) for t in schema.tables if t.provenance is not None))
