"""The physical, tenant-scoped schema: what PostgreSQL will hold.

``tenant.build`` turns a snapshot into a ``Schema`` (all tenant rules live there); ``diff`` compares
two Schemas; ``render`` prints operations on them. Names here are final (already within 63 bytes);
SQL fragments (``Check.expression``, ``Index.where``) were built with ``naming.ident/literal``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # SQL type text, e.g. "uuid", "character varying(64)", "jsonb"
    not_null: bool = False
    default: str | None = None  # SQL expression, from a fixed set (gen_random_uuid())
    comment: str | None = None
    # Where the column comes from, for messages: "sale.order.partner_id"
    origin: str = field(default="", compare=False)
    # SQL literal that existing rows get when this NOT NULL column is added to a populated table
    backfill: str | None = field(default=None, compare=False)
    # jsonb holding {language: text} (a translated field): how a type change converts its values
    translated: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Check:
    name: str
    expression: str  # SQL, built through naming.ident / naming.literal
    # For selection CHECKs: the allowed values (to tell widening from narrowing)
    values: tuple[str, ...] | None = None
    origin: str = field(default="", compare=False)


@dataclass(frozen=True)
class Unique:
    name: str
    columns: tuple[str, ...]
    origin: str = field(default="", compare=False)


@dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str  # "CASCADE" | "RESTRICT" | "SET NULL"
    set_null_columns: tuple[str, ...] = ()  # ON DELETE SET NULL (col): keeps tenant_id
    origin: str = field(default="", compare=False)


@dataclass(frozen=True)
class IndexColumn:
    name: str
    descending: bool = False
    opclass: str | None = None  # e.g. gin_trgm_ops
    # Index COALESCE(name, coalesce) instead of the column: the SQL constant NULL counts as (odoo_sql)
    coalesce: str | None = None


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    columns: tuple[IndexColumn, ...]
    method: str = "btree"  # btree | gin
    where: str | None = None  # SQL, built through naming.ident / naming.literal
    unique: bool = False
    origin: str = field(default="", compare=False)


@dataclass(frozen=True)
class Policy:
    name: str
    setting: str  # the session setting holding the tenant id, e.g. app.tenant_id


@dataclass(frozen=True)
class ExternalReference:
    """A column pointing at a model outside the schema: kept as plain uuid, no foreign key."""

    table: str
    column: str
    model: str  # the Odoo model it points at
    origin: str  # model.field


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    primary_key_name: str
    checks: tuple[Check, ...] = ()
    uniques: tuple[Unique, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[Index, ...] = ()
    policy: Policy | None = None
    comment: str | None = None
    # Provenance (not compared): the Odoo model (or many2many field) and its module
    origin: str = field(default="", compare=False)
    module: str = field(default="", compare=False)
    external: tuple[ExternalReference, ...] = field(default=(), compare=False)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class Schema:
    tables: tuple[Table, ...] = ()
    extensions: tuple[str, ...] = ()
    # Notes for the user (constraints that could not be carried over, and why)
    notes: tuple[str, ...] = field(default=(), compare=False)

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)
