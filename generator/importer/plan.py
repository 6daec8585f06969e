"""What fills each generated table: a ``Load`` per table, built from the Odoo -> generated mapping
(``generator.mapping``), the snapshot and the facts of the source database. Pure data; the SQL is
rendered from it by ``templates/import/`` (``sql``).

Each generated column gets a ``Value``: how its value is computed from the Odoo row ``s``:

- ``tenant``: the tenant's uuid;
- ``key``: the uuid of an Odoo row (``keys``): the row's own id, a many2one, a many2many end, the
  row and the company of a per-company value; NULL when the Odoo id is NULL, and for a reference
  to a row that is not carried (a dangling id, a row left out): see ``integrity``;
- ``natural key``: the uuid of a row without an Odoo id (a shared relation table), from its ends;
- ``value``: the column as is, cast to the generated type (a float into ``numeric`` through its
  shortest exact text; a plain text into a translated field's ``{"en_US": text}``);
- ``record id``: the uuid of the row that an integer names in the model another column names
  (``res_model`` / ``res_id``), NULL when that model has no table in the schema;
- ``reference``: Odoo's ``'model,id'`` text with the id replaced by the row's uuid;
- ``null``: no value (a reference to a model outside the schema).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from generator import tables as t
from generator.errors import CaptureError
from generator.importer import keys
from generator.importer.source import Facts
from generator.mapping import Mapping, TableMap
from generator.model import Field, Model, Snapshot
from generator.capture.catalog import default_table
from generator.tenant import COMPANY_MODEL

TENANT, KEY, NATURAL_KEY, VALUE, RECORD_ID, REFERENCE, NULL = (
    "tenant", "key", "natural key", "value", "record id", "reference", "null")
# How a company-dependent field's value is read: 17.0 from ir_property rows, 18.0+ from a jsonb
# column of the model's table keyed by company id.
IR_PROPERTY, JSONB = "ir_property", "jsonb"
PROPERTY_TABLE = "ir_property"
# Generated column types a value is cast to (typmods dropped: the target checks them)
CASTS = ("boolean", "integer", "bigint", "numeric", "double precision", "character varying", "text", "date",
         "timestamp without time zone", "jsonb", "uuid")
_TYPMOD = re.compile(r"\(\d+(,\d+)?\)$")


@dataclass(frozen=True)
class Value:
    """How one generated column's value is computed from the source row ``s`` (see the module doc)."""

    column: str  # the generated column
    how: str  # TENANT | KEY | NATURAL_KEY | VALUE | RECORD_ID | REFERENCE | NULL
    source: str = ""  # the source row's column
    prefix: str = ""  # KEY, NATURAL_KEY: the key prefix of the Odoo table the id is of
    table: str = ""  # KEY, NATURAL_KEY: that Odoo table
    cast: str = ""  # VALUE, NULL: the SQL type
    convert: str = ""  # VALUE: "" | "float" (float8 -> shortest exact text -> numeric) | "translate"
    models: tuple[tuple[str, str], ...] = ()  # RECORD_ID, REFERENCE: (model, key prefix of its table)
    model_column: str = ""  # RECORD_ID: the source column naming the model ("" with model_via fixed)
    model_via: str = ""  # RECORD_ID: "name" (a char column) | "ir.model" (a many2one to ir.model) | "fixed"
    natural: tuple[str, ...] = ()  # NATURAL_KEY: the source columns forming the natural key
    origin: str = ""  # the Odoo field (messages)
    reason: str = ""  # NULL: why no value is carried


@dataclass(frozen=True)
class Reference:
    """A column holding another Odoo row's key: ``integrity`` decides what happens when that row is not
    carried (``on_delete`` of the generated foreign key; relation ends and per-company rows cascade)."""

    column: str  # generated column
    source: str  # source column holding the Odoo id
    target: str  # the Odoo table of the referenced rows
    on_delete: str  # "CASCADE" | "RESTRICT" | "SET NULL"
    not_null: bool
    validated: bool  # the source holds a validated foreign key: the id always exists there
    origin: str = ""


@dataclass(frozen=True)
class Rule:
    """A condition the generated table puts on a value that Odoo's own table may not (NOT NULL, a
    selection's values, a char's size): checked on the source before anything is written."""

    column: str  # generated column (messages)
    source: str  # source column
    kind: str  # "not null" | "in" | "length"
    values: tuple[str, ...] = ()  # kind "in"
    length: int = 0  # kind "length"
    origin: str = ""


@dataclass(frozen=True)
class CompanyField:
    name: str  # the field, and the column of the derived source
    ttype: str  # Odoo's field type
    source_type: str  # type of the derived column


@dataclass(frozen=True)
class Company:
    """The derived source of a per-company table: one row per (record, company) with a column per
    company-dependent field, from ir_property (17.0) or from the model table's jsonb columns (18.0+)."""

    way: str  # IR_PROPERTY | JSONB
    model: str
    model_table: str  # Odoo's table of the model
    fields: tuple[CompanyField, ...]
    company_table: str  # Odoo's res_company


@dataclass(frozen=True)
class Load:
    """How one generated table is filled."""

    table: str  # generated table
    kind: str  # tables.TABLE_KINDS
    odoo_table: str  # Odoo's table its rows come from (the model's table for per-company values)
    describe: str  # what it holds, in Odoo's terms
    values: tuple[Value, ...]
    references: tuple[Reference, ...] = ()
    rules: tuple[Rule, ...] = ()
    company: Company | None = None
    row_id: str = ""  # the source column that identifies a row (model tables: id)
    range_column: str = ""  # generated column whose key marks this tenant's rows from Odoo
    range_table: str = ""  # the Odoo table of that key
    needed: tuple[tuple[str, str, str], ...] = ()  # (Odoo table, column, what it holds) read

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(v.column for v in self.values)


def base_type(sql_type: str) -> str:
    return _TYPMOD.sub("", sql_type)


def _convert(source_type: str, column: t.Column, where: str) -> tuple[str, str]:
    """(cast, convert) of a value column: how Odoo's type becomes the generated one."""
    to = base_type(column.type)
    src = base_type(source_type)
    if to not in CASTS:
        raise CaptureError(f"{where}: no conversion to {column.type}")
    if to == "numeric" and src in ("double precision", "real"):
        return to, "float"
    if to == "jsonb" and src in ("character varying", "text") and column.translated:
        return to, "translate"
    same = {src, to} <= {"character varying", "text"} or src == to
    numbers = ("integer", "bigint", "smallint", "numeric", "double precision", "real")
    if same or (src in numbers and to in numbers) or (src == "jsonb" and to == "jsonb") \
            or (src == "timestamp without time zone" and to == "date"):
        return to, ""
    raise CaptureError(f"{where}: Odoo's column is {source_type}, the generated one {column.type}; "
                       "no conversion carries those values")


_RECORD_SUFFIXES = ("res_id", "thread_id")


def record_model(model: Model, f: Field) -> tuple[str, str]:
    """Where the model of a record id is named: ("name", char field), ("ir.model", many2one to
    ir.model), ("fixed", model) or ("", "") when no field says. Odoo pairs them by name: res_id with
    res_model (or model), <x>_res_id with <x>_model / <x>_res_model / <x>_model_id, alias_force_thread_id
    with alias_model_id (stems shortened word by word), <x>_id_int with the many2one <x>_id."""
    fields = model.field_map
    if f.name.endswith("_id_int"):
        m2o = fields.get(f.name.removesuffix("_int"))
        if m2o is not None and m2o.type == "many2one" and m2o.relation:
            return "fixed", m2o.relation
        return "", ""
    stem = f.name
    for suffix in _RECORD_SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)].rstrip("_")
            break
    words = stem.split("_") if stem else []
    for n in range(len(words), -1, -1):
        lead = "_".join(words[:n])
        join = (lead + "_") if lead else ""
        for name in (f"{join}res_model", f"{join}model"):
            g = fields.get(name)
            if g is not None and g.type in ("char", "selection") and name != f.name:
                return "name", name
        for name in (f"{join}res_model_id", f"{join}model_id"):
            g = fields.get(name)
            if g is not None and g.type == "many2one" and g.relation == "ir.model":
                return "ir.model", name
    return "", ""


class _Planner:
    def __init__(self, mapping: Mapping, snapshot: Snapshot, facts: Facts, tenant: uuid.UUID):
        self.mapping, self.snapshot, self.facts = mapping, snapshot, facts
        self.tenant = tenant
        self.model_prefixes = tuple(sorted((m, keys.prefix(tenant, odoo)) for m, odoo in mapping.table_of_model.items()))

    def prefix(self, odoo_table: str) -> str:
        return keys.prefix(self.tenant, odoo_table)

    def field(self, model: str, name: str) -> Field | None:
        m = self.snapshot.model_map.get(model)
        return m.field_map.get(name) if m else None

    # -- values ---------------------------------------------------------------------------------
    def value(self, tm: TableMap, c: t.Column, source_types: dict[str, str]) -> Value:
        p = c.provenance
        where = f"{tm.table.name}.{c.name} ({p.origin})"
        if p.role == t.TENANT:
            return Value(c.name, TENANT, origin=p.origin)
        if p.role == t.ID:
            return Value(c.name, KEY, "id", self.prefix(tm.odoo_table), table=tm.odoo_table, origin=p.origin)
        if p.role == t.KEY:
            ends = tuple(x.provenance.column for x in tm.table.columns if x.provenance.role == t.RELATION_END)
            return Value(c.name, NATURAL_KEY, prefix=self.prefix(tm.odoo_table), table=tm.odoo_table, natural=ends,
                         origin=p.origin)
        if p.role in (t.MANY2ONE, t.RELATION_END, t.COMPANY_ROW, t.COMPANY) or \
                (p.role == t.COMPANY_VALUE and p.target):
            source = {t.COMPANY_ROW: "res_id", t.COMPANY: "company_id"}.get(p.role, p.column)
            odoo = self.mapping.table_of_model.get(p.target)
            required = c.not_null or any(c.name in k.columns for k in tm.table.checks)
            if odoo is None and (required or p.role in (t.RELATION_END, t.COMPANY)):
                # a reference to a model outside the schema where the schema needs a value (NOT NULL, or
                # a CHECK of Odoo's reads it) keeps the key its row would have (under Odoo's default
                # table name of the model): NULL would be refused, and an import of that model later
                # lines up with it
                odoo = default_table(p.target)
            if odoo is None:
                return Value(c.name, NULL, source, cast="uuid", origin=p.origin,
                             reason=f"points at {p.target}, which has no table in the schema")
            return Value(c.name, KEY, source, self.prefix(odoo), table=odoo, origin=p.origin)
        if p.role == t.RECORD_ID:
            model = self.snapshot.model_map[p.model]
            via, named = record_model(model, model.field_map[p.field])
            if not via:
                return Value(c.name, NULL, p.column, cast="uuid", origin=p.origin,
                             reason="no field beside it names the model of the id")
            if via == "fixed":
                odoo = self.mapping.table_of_model.get(named)
                if odoo is None:
                    return Value(c.name, NULL, p.column, cast="uuid", origin=p.origin,
                                 reason=f"holds ids of {named}, which has no table in the schema")
                return Value(c.name, KEY, p.column, self.prefix(odoo), table=odoo, origin=p.origin)
            return Value(c.name, RECORD_ID, p.column, models=self.model_prefixes, model_column=named, model_via=via,
                         origin=p.origin)
        if p.role == t.REFERENCE:
            return Value(c.name, REFERENCE, p.column, models=self.model_prefixes, origin=p.origin)
        source = source_types.get(p.column, "")
        cast, convert = _convert(source, c, where)
        return Value(c.name, VALUE, p.column, cast=cast, convert=convert, origin=p.origin)

    def reference(self, tm: TableMap, c: t.Column, v: Value, source_table: str) -> Reference | None:
        """The integrity facts of a key that points at another row (not the row's own id)."""
        p = c.provenance
        if v.how != KEY or p.role == t.ID:
            return None
        odoo = self.mapping.table_of_model.get(p.target) if p.target else None
        if odoo is None:  # a fixed-model record id: no foreign key, so nothing can dangle
            return None
        fk = next((k for k in tm.table.foreign_keys if k.columns == ("tenant_id", c.name)), None)
        if p.role in (t.RELATION_END, t.COMPANY_ROW, t.COMPANY):
            on_delete = "CASCADE"  # the row means nothing without that end
        elif fk is not None:
            on_delete = fk.on_delete
        else:
            return None
        validated = (source_table, v.source, odoo) in self.facts.validated
        return Reference(c.name, v.source, odoo, on_delete, c.not_null, validated, p.origin)

    def rules_of(self, c: t.Column, v: Value) -> list[Rule]:
        """What the generated column demands of a value that Odoo's column may not."""
        if v.how not in (VALUE, KEY) or c.provenance.role in (t.ID, t.KEY):
            return []
        out = []
        p = c.provenance
        if c.not_null and v.source:
            out.append(Rule(c.name, v.source, "not null", origin=p.origin))
        f = self.field(p.model, p.field)
        if v.how == VALUE and f is not None and f.type == "selection" and f.selection:
            out.append(Rule(c.name, v.source, "in", tuple(s.value for s in f.selection), origin=p.origin))
        length = re.search(r"^character varying\((\d+)\)$", c.type)
        if v.how == VALUE and length:
            out.append(Rule(c.name, v.source, "length", length=int(length.group(1)), origin=p.origin))
        return out

    # -- tables ---------------------------------------------------------------------------------
    def load(self, tm: TableMap) -> Load:
        if tm.kind == t.COMPANY_VALUES:
            return self.company_load(tm)
        source_types = self.facts.columns.get(tm.odoo_table, {})
        values = tuple(self.value(tm, c, source_types) for c in tm.table.columns)
        refs = tuple(r for c, v in zip(tm.table.columns, values) if (r := self.reference(tm, c, v, tm.odoo_table)))
        rules = tuple(r for c, v in zip(tm.table.columns, values) for r in self.rules_of(c, v))
        needed = [(tm.odoo_table, c.provenance.column, c.provenance.origin)
                  for c in tm.table.columns if c.provenance.column]
        needed += [(tm.odoo_table, v.model_column, f"the model of {v.origin}") for v in values if v.model_column]
        model = tm.kind == t.MODEL_TABLE
        first = tm.table.primary_key[1]
        range_table = next(v.table for v in values if v.column == first)
        return Load(tm.table.name, tm.kind, tm.odoo_table, tm.provenance.describe(), values, refs, rules,
                    row_id="id" if model else "", range_column=first, range_table=range_table,
                    needed=tuple(dict.fromkeys(needed)))

    def company_load(self, tm: TableMap) -> Load:
        model = self.snapshot.model_map[tm.provenance.models[0]]
        way = IR_PROPERTY if self.snapshot.odoo_version.startswith("17.") else JSONB
        company_table = self.mapping.table_of_model.get(COMPANY_MODEL, default_table(COMPANY_MODEL))
        fields, source_types = [], {"res_id": "integer", "company_id": "integer"}
        for c in tm.table.columns:
            p = c.provenance
            if p.role != t.COMPANY_VALUE:
                continue
            f = model.field_map[p.field]
            stype = _company_source_type(f, way)
            fields.append(CompanyField(f.name, f.type, stype))
            source_types[f.name] = stype
        company = Company(way, model.name, model.table, tuple(fields), company_table)
        values = tuple(self.value(tm, c, source_types) for c in tm.table.columns)
        # the derived rows exist only for rows of the model and companies that exist (see sql.py)
        refs = tuple(r for c, v in zip(tm.table.columns, values)
                     if (r := self.reference(tm, c, v, "")) and c.provenance.role == t.COMPANY_VALUE)
        if way == IR_PROPERTY:
            needed = [(PROPERTY_TABLE, col, "17.0 company-dependent values")
                      for col in ("res_id", "company_id", "fields_id", "value_float", "value_integer", "value_text",
                                  "value_reference", "value_datetime")]
        else:
            needed = [(model.table, f.name, f"{model.name}.{f.name}") for f in fields]
        return Load(tm.table.name, tm.kind, model.table, tm.provenance.describe(), values, refs, (),
                    company=company, range_column="res_id", range_table=model.table, needed=tuple(needed))


def _company_source_type(f: Field, way: str) -> str:
    """The type of a company-dependent field's column in the derived source (see ``sql``)."""
    if f.type == "many2one":
        return "integer"
    if f.type in ("float", "monetary"):
        return "double precision" if way == IR_PROPERTY else "numeric"
    if f.type == "integer":
        return "integer"
    if f.type == "boolean":
        return "boolean"
    if f.type == "date":
        return "date"
    if f.type == "datetime":
        return "timestamp without time zone"
    return "text"


def plans(mapping: Mapping, snapshot: Snapshot, facts: Facts, tenant: uuid.UUID) -> tuple[Load, ...]:
    """A Load for every generated table, in table order."""
    planner = _Planner(mapping, snapshot, facts, tenant)
    return tuple(planner.load(tm) for tm in sorted(mapping.tables, key=lambda x: x.table.name))


def needed(snapshot: Snapshot, mapping: Mapping) -> list[str]:
    """The Odoo tables the source is read from (to ask their columns before planning)."""
    out = {tm.odoo_table for tm in mapping.tables}
    if snapshot.odoo_version.startswith("17.") and any(tm.kind == t.COMPANY_VALUES for tm in mapping.tables):
        out.add(PROPERTY_TABLE)
    out.add(mapping.table_of_model.get(COMPANY_MODEL, default_table(COMPANY_MODEL)))
    return sorted(out)
