"""The physical, tenant-scoped schema: what PostgreSQL will hold.

``tenant.build`` turns a snapshot into a ``Schema`` (all tenant rules live there); ``diff`` compares
two Schemas; ``render`` prints operations on them. Names here are final (already within 63 bytes);
SQL fragments (``Check.expression``, ``Index.where``) were built with ``naming.ident/literal``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# What a generated column holds, in Odoo's terms (``Provenance.role``). ``generator/mapping.py`` reads
# them to tell compare-odoo and import where each column's values come from.
TENANT = "tenant"  # tenant_id: the tenant the rows belong to (no Odoo column)
ID = "id"  # a model table's key: the Odoo row's id
KEY = "key"  # the key of a table whose Odoo rows have no id (a relation table shared by several pairs)
VALUE = "value"  # a field's value (converted by type where the type map says so)
MANY2ONE = "many2one"  # the key of the row a many2one points at (``target``)
RECORD_ID = "record id"  # an integer holding the id of a row of a model named beside it (res_model / res_id)
REFERENCE = "reference"  # Odoo's reference field: the text 'model,id'
RELATION_END = "relation end"  # one end of a many2many relation table (``column``: Odoo's column name)
COMPANY_ROW = "company row"  # in <table>_company_values: the row the values are for (``target``: its model)
COMPANY = "company"  # in <table>_company_values: the company the values are for
COMPANY_VALUE = "company value"  # in <table>_company_values: one company-dependent field's value
ROLES = (TENANT, ID, KEY, VALUE, MANY2ONE, RECORD_ID, REFERENCE, RELATION_END, COMPANY_ROW, COMPANY, COMPANY_VALUE)
# What a generated table holds (``TableProvenance.kind``)
MODEL_TABLE = "model"  # the rows of one or more Odoo models (Odoo's ``_table``)
RELATION_TABLE = "relation"  # the rows of a many2many relation table
COMPANY_VALUES = "company values"  # the company-dependent values of a model, a row per (record, company)
TABLE_KINDS = (MODEL_TABLE, RELATION_TABLE, COMPANY_VALUES)


@dataclass(frozen=True)
class Provenance:
    """Where a generated column's values come from in Odoo: never compared, never rendered."""

    role: str  # one of ROLES
    model: str = ""  # the Odoo model of the field ("" for tenant_id and computed keys)
    field: str = ""  # the Odoo field ("id" for ID; the many2many for RELATION_END)
    column: str = ""  # the column of Odoo's table the values are read from ("" when computed)
    target: str = ""  # the model a key points at (MANY2ONE, RELATION_END, ID, COMPANY_ROW, COMPANY)

    @property
    def origin(self) -> str:
        """``model.field`` (what messages name), or the role when the column is the tenant rules' own."""
        return f"{self.model}.{self.field}" if self.model and self.field else self.role


RULES = Provenance(TENANT)


@dataclass(frozen=True)
class TableProvenance:
    """Which Odoo rows a generated table holds: never compared, never rendered."""

    kind: str  # one of TABLE_KINDS
    odoo_table: str  # Odoo's table (a model's _table, or the relation table); COMPANY_VALUES: the model's
    models: tuple[str, ...] = ()  # MODEL_TABLE: the models stored in it; COMPANY_VALUES: its model;
    #                               RELATION_TABLE: the models of the many2many fields using it
    fields: tuple[str, ...] = ()  # RELATION_TABLE: "model.field" of each many2many field using it

    def describe(self) -> str:
        if self.kind == RELATION_TABLE:
            return f"many2many {', '.join(self.fields)}"
        if self.kind == COMPANY_VALUES:
            return f"company-dependent fields of {self.models[0]}"
        return f"model{'s' if len(self.models) > 1 else ''} {', '.join(self.models)}"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # SQL type text, e.g. "uuid", "character varying(64)", "jsonb"
    not_null: bool = False
    default: str | None = None  # SQL expression, from a fixed set (gen_random_uuid())
    comment: str | None = None
    # Where the column's values come from in Odoo (and what messages call it: ``.origin``)
    provenance: Provenance = field(default=RULES, compare=False)
    # SQL literal that existing rows get when this NOT NULL column is added to a populated table
    backfill: str | None = field(default=None, compare=False)
    # jsonb holding {language: text} (a translated field): how a type change converts its values
    translated: bool = field(default=False, compare=False)

    @property
    def origin(self) -> str:
        return self.provenance.origin


@dataclass(frozen=True)
class Check:
    name: str
    expression: str  # SQL, built through naming.ident / naming.literal
    # For selection CHECKs: the allowed values (to tell widening from narrowing)
    values: tuple[str, ...] | None = None
    origin: str = field(default="", compare=False)
    # The columns the expression reads (not compared: the expression says it)
    columns: tuple[str, ...] = field(default=(), compare=False)


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
    # Provenance (not compared): the Odoo rows it holds, and the module that made it
    provenance: TableProvenance | None = field(default=None, compare=False)
    module: str = field(default="", compare=False)
    external: tuple[ExternalReference, ...] = field(default=(), compare=False)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class NotCarried:
    """An SQL constraint or index Odoo declares that the schema does not carry over, and why."""

    model: str
    constraint: str
    definition: str
    why: str
    at: str  # the snapshot entry (JSON path)

    def __str__(self) -> str:
        return f"{self.model}: SQL constraint {self.constraint} ({self.definition!r}) not carried over: {self.why} ({self.at})"


@dataclass(frozen=True)
class Schema:
    tables: tuple[Table, ...] = ()
    extensions: tuple[str, ...] = ()
    # Notes for the user: text, or a NotCarried constraint (str() gives its text)
    notes: tuple[str | NotCarried, ...] = field(default=(), compare=False)

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)
