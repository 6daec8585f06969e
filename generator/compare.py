"""Fidelity to a user's own Odoo (``compare-odoo``): every table, column, primary key, foreign key,
UNIQUE and CHECK constraint and unique index of the Odoo database is either in the generated schema
(the same, or changed by a named ``RULES`` entry) or left out for a named ``REASONS`` entry;
anything else is *unexplained*.

Pure: ``compare(odoo_tables, catalog, metadata, snapshot, schema)`` takes what capture read (the
database's tables as PostgreSQL holds them, and the ir.* metadata as a Catalog and as raw
records) and what ``tenant.build`` made of the snapshot, and returns one ``Item`` per Odoo item.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from generator import mapping as mapping_mod
from generator import tenant
from generator.capture.catalog import Catalog, default_table
from generator.capture.odoo_catalog import PgConstraint, PgTable
from generator.capture.records import OdooMetadata
from generator.model import Field, Model, Snapshot
from generator.rules import Rules
from generator.tables import NotCarried, Schema, Table

EQUAL, MAPPED, LEFT_OUT, UNEXPLAINED = "equal", "mapped", "left out", "unexplained"
ITEM_KINDS = ("table", "column", "primary key", "foreign key", "unique", "check", "unique index")

# Named mapping rules: an Odoo item that is in the generated schema in another form (README,
# "compare-odoo"). Each is a deliberate consequence of the tenant rules or of what metadata says.
ID_UUID = "id-uuid"
MANY2ONE_UUID = "many2one-uuid"
MANY2MANY_UUID = "many2many-uuid"
RECORD_ID_UUID = "record-id-uuid"
FLOAT_TYPE = "float-type"
CHAR_SIZE = "char-size"
COMPANY_DEPENDENT = "company-dependent"
TENANT_PRIMARY_KEY = "tenant-primary-key"
SHARED_RELATION_KEY = "shared-relation-key"
TENANT_FOREIGN_KEY = "tenant-foreign-key"
TENANT_UNIQUE = "tenant-unique"
TENANT_UNIQUE_INDEX = "tenant-unique-index"
MANY2MANY_CASCADE = "many2many-cascade"
UNDECLARED_LENGTH = "undeclared-length"
RULES = {
    ID_UUID: "id integer -> id uuid DEFAULT gen_random_uuid() (tenant rule 1)",
    MANY2ONE_UUID: "many2one column integer -> uuid (tenant rule 2)",
    MANY2MANY_UUID: "many2many relation table column integer -> uuid (tenant rule 3)",
    RECORD_ID_UUID: "integer field holding another row's id (res_id style, many2one_reference) -> uuid",
    FLOAT_TYPE: "float -> the rules file's [types] float (numeric by default); Odoo picks double precision "
                "or numeric from digits, which metadata does not carry",
    CHAR_SIZE: "char column without a length -> character varying(size) from ir.model.fields.size",
    UNDECLARED_LENGTH: "character varying(n) that no field declares (base's bootstrap SQL: ir_module_module.state, "
                       "license) -> the field's type",
    COMPANY_DEPENDENT: "company-dependent jsonb column -> one column of <table>_company_values (tenant rule 9)",
    TENANT_PRIMARY_KEY: "PRIMARY KEY (cols) -> PRIMARY KEY (tenant_id, cols)",
    SHARED_RELATION_KEY: "relation table that many2many fields share with different columns: PRIMARY KEY (c1, c2) "
                         "-> UNIQUE (tenant_id, c1, c2) beside the key (tenant_id, id)",
    TENANT_FOREIGN_KEY: "FOREIGN KEY (col) REFERENCES t (id) -> FOREIGN KEY (tenant_id, col) REFERENCES "
                        "t (tenant_id, id), same ON DELETE (SET NULL only on col)",
    MANY2MANY_CASCADE: "relation table FOREIGN KEY ON DELETE RESTRICT (Many2many ondelete='restrict', which "
                         "metadata does not carry) -> tenant-scoped ON DELETE CASCADE (tenant rule 3)",
    TENANT_UNIQUE: "UNIQUE (cols) -> UNIQUE (tenant_id, cols)",
    TENANT_UNIQUE_INDEX: "UNIQUE INDEX (cols) -> UNIQUE INDEX (tenant_id, cols) (19.0 models.UniqueIndex)",
}

# Named reasons for leaving an Odoo item out.
TRANSIENT = "transient"
OUTSIDE_SELECTION = "outside-selection"
TABLELESS = "view-or-manual"
BINARY = "binary-column"
EXTERNAL_REFERENCE = "external-reference"
NOT_CARRIED_OVER = "not-carried-over"
NOT_IN_METADATA = "not-in-metadata"
ORM_INTERNAL = "orm-internal"
REASONS = {
    TRANSIENT: "table of a transient model (a wizard; Odoo empties it on a timer), or a relation table of one",
    OUTSIDE_SELECTION: "model, field, constraint or relation table that no selected module defines or extends",
    TABLELESS: "model Odoo backs with an SQL view or a table it makes by hand in init() (not rendered)",
    BINARY: "binary field stored in the table (attachment=False): metadata cannot tell, so no column here",
    EXTERNAL_REFERENCE: "foreign key to a table outside the selection: the column stays a plain uuid",
    NOT_CARRIED_OVER: "SQL constraint or index that cannot be carried over safely (the schema note says why)",
    NOT_IN_METADATA: "column or unique index that Odoo's code makes by hand (init(), base's bootstrap SQL; "
                     "unique indexes before 19.0): no stored field or ir.model.constraint row describes it",
    ORM_INTERNAL: "table the ORM keeps for itself, no model (19.0's registry and cache signalling, orm_signaling_*)",
}
ORM_TABLE_PREFIXES = ("orm_signaling_",)
# Columns Odoo's code creates by hand for non-stored fields or its bootstrap (17.0-19.0): not-in-metadata
HAND_MADE_COLUMNS = {
    ("ir_module_module", "web"): "base's bootstrap SQL",
    ("res_users", "password"): "res.users init() (the password field is not stored)",
    ("res_users", "totp_secret"): "auth_totp init() (the field is not stored)",
    ("res_partner", "signup_token"): "auth_signup init() (17.0; the field is not stored)",
    ("auth_passkey_key", "public_key"): "auth_passkey init() (19.0; the field is not stored)",
}
# Columns base's bootstrap SQL gives a length that no field declares: undeclared-length
BOOTSTRAP_LENGTHS = (("ir_module_module", "state"), ("ir_module_module", "license"))


@dataclass(frozen=True)
class Item:
    table: str
    kind: str  # ITEM_KINDS
    name: str  # column or constraint name; the table's name for kind "table"
    outcome: str  # EQUAL | MAPPED | LEFT_OUT | UNEXPLAINED
    rule: str = ""  # MAPPED: a RULES key; LEFT_OUT: a REASONS key
    detail: str = ""

    def describe(self) -> str:
        what = f"table {self.table}" if self.kind == "table" else f"{self.table}: {self.kind} {self.name}"
        return f"{what}: {self.detail}" if self.detail else what


@dataclass(frozen=True)
class Comparison:
    odoo_version: str
    snapshot_modules: int
    tables_compared: int  # Odoo tables that the generated schema has
    tables_left_out: int
    items: tuple[Item, ...]

    @cached_property
    def unexplained(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.outcome == UNEXPLAINED)

    @property
    def ok(self) -> bool:
        return not self.unexplained

    @cached_property
    def equal(self) -> int:
        return sum(i.outcome == EQUAL for i in self.items)

    @cached_property
    def mapped(self) -> dict[str, int]:
        counts = Counter(i.rule for i in self.items if i.outcome == MAPPED)
        return {r: counts[r] for r in RULES if counts[r]}

    @cached_property
    def left_out(self) -> dict[str, dict[str, int]]:
        """reason -> item kind -> count."""
        out: dict[str, Counter] = {}
        for i in self.items:
            if i.outcome == LEFT_OUT:
                out.setdefault(i.rule, Counter())[i.kind] += 1
        return {r: {k: out[r][k] for k in ITEM_KINDS if out[r][k]} for r in REASONS if r in out}


def _columns_by_field(table: mapping_mod.TableMap | None) -> dict[str, str]:
    """field name -> column of ``table`` (read from the columns' provenance)."""
    return {name: c.name for name, c in table.by_field.items()} if table else {}


class _Comparer:
    def __init__(self, catalog: Catalog, metadata: OdooMetadata, snapshot: Snapshot, schema: Schema, rules: Rules):
        self.catalog, self.snapshot, self.schema, self.rules = catalog, snapshot, schema, rules
        self.generated = {t.name: t for t in schema.tables}
        self.mapping = mapping_mod.of(schema)
        self.catalog_models: dict[str, list[Model]] = {}
        for m in catalog.models:
            self.catalog_models.setdefault(m.table, []).append(m)
        self.snapshot_models: dict[str, list[Model]] = {}
        for m in snapshot.models:
            self.snapshot_models.setdefault(m.table, []).append(m)
        # relation table -> the kinds of model whose many2many fields use it ("table" or a KIND)
        self.relation_users: dict[str, set[str]] = {}
        kinds = dict(catalog.tableless)
        for f in metadata.fields:
            if f.ttype == "many2many" and f.relation_table:
                self.relation_users.setdefault(f.relation_table, set()).add(kinds.get(f.model, "table"))
        self.snapshot_relations = {
            f.relation_table for m in snapshot.models for f in m.fields if f.type == "many2many" and f.relation_table
        }
        self.tableless_tables = {default_table(name): kind for name, kind in catalog.tableless.items()}
        self.not_carried = {n.constraint: n.why for n in schema.notes if isinstance(n, NotCarried)}
        self.selection = set(snapshot.modules)
        self.items: list[Item] = []
        self.compared = self.left = 0

    # -- helpers ------------------------------------------------------------------------------
    def add(self, table: str, kind: str, name: str, outcome: str, rule: str = "", detail: str = "") -> None:
        self.items.append(Item(table, kind, name, outcome, rule, detail))

    def leave_out(self, t: PgTable, reason: str, detail: str) -> None:
        self.left += 1
        self.add(t.name, "table", t.name, LEFT_OUT, reason, detail)
        for c in t.columns:
            self.add(t.name, "column", c.name, LEFT_OUT, reason)
        for k in t.constraints:
            self.add(t.name, k.kind, k.name, LEFT_OUT, reason)

    # -- tables -------------------------------------------------------------------------------
    def table(self, t: PgTable) -> None:
        if t.name in self.snapshot_models:
            found = self.mapping.model_table(t.name)
            if found is None:
                self.add(t.name, "table", t.name, UNEXPLAINED, detail="the snapshot's model has no generated table")
                return
            self.compared += 1
            self.add(t.name, "table", t.name, EQUAL)
            self.model_table(t, found, self.snapshot_models[t.name])
            return
        if t.name in self.snapshot_relations:
            gen = self.mapping.relation_table(t.name)
            if gen is None:
                self.add(t.name, "table", t.name, UNEXPLAINED, detail="relation table of the snapshot not generated")
                return
            self.compared += 1
            self.add(t.name, "table", t.name, EQUAL)
            self.relation_table(t, gen)
            return
        if t.name in self.catalog_models:
            selected = [m.name for m in self.catalog_models[t.name] if m.module in self.selection]
            if selected:
                self.add(t.name, "table", t.name, UNEXPLAINED,
                         detail=f"model {', '.join(selected)} of a selected module is not in the snapshot")
                return
            models = ", ".join(m.name for m in self.catalog_models[t.name])
            modules = ", ".join(sorted({m.module for m in self.catalog_models[t.name]}))
            return self.leave_out(t, OUTSIDE_SELECTION, f"model {models} (module {modules})")
        users = self.relation_users.get(t.name)
        if users:
            if users == {"transient"}:
                return self.leave_out(t, TRANSIENT, "relation table of a transient model's many2many")
            return self.leave_out(t, OUTSIDE_SELECTION, "relation table of many2many fields outside the selection")
        kind = self.tableless_tables.get(t.name)
        if kind == "transient":
            return self.leave_out(t, TRANSIENT, "transient model")
        if kind in ("manual", "view"):
            return self.leave_out(t, TABLELESS, f"{kind} model")
        if t.name.startswith(ORM_TABLE_PREFIXES):
            return self.leave_out(t, ORM_INTERNAL, "the ORM's own table")
        self.add(t.name, "table", t.name, UNEXPLAINED, detail="no model or many2many field of the metadata has it")

    def model_table(self, t: PgTable, found: mapping_mod.TableMap, models: list[Model]) -> None:
        fields: dict[str, tuple[Model, Field]] = {f.name: (m, f) for m in models for f in m.fields}
        known: dict[str, tuple[Model, Field]] = {
            f.name: (m, f) for m in self.catalog_models.get(t.name, []) for f in m.fields
        }
        gen, company_map = found.table, self.mapping.company_values(t.name)
        company = company_map.table if company_map else None
        columns, company_columns = _columns_by_field(found), _columns_by_field(company_map)
        types = {c.name: c.type for c in gen.columns}
        company_types = {c.name: c.type for c in company.columns} if company else {}
        for c in t.columns:
            if c.name == tenant.ID:
                if types.get(tenant.ID) == "uuid":
                    self.mapped_or_equal(t.name, "column", c.name, c.type, "uuid", ID_UUID)
                else:
                    self.add(t.name, "column", c.name, UNEXPLAINED, detail="no uuid id column")
                continue
            owner = fields.get(c.name)
            if owner is None:
                self.absent_field(t.name, "column", c.name, known.get(c.name), models)
                continue
            model, f = owner
            if f.company_dependent:
                col = company_columns.get(f.name)
                if col is None:
                    self.add(t.name, "column", c.name, UNEXPLAINED,
                             detail=f"company-dependent field {model.name}.{f.name} has no per-company column")
                else:
                    self.add(t.name, "column", c.name, MAPPED, COMPANY_DEPENDENT,
                             f"{c.type} -> {company.name}.{col} {company_types[col]}")
                continue
            col = columns.get(f.name)
            if col is None:
                if f.type == "binary":
                    self.add(t.name, "column", c.name, LEFT_OUT, BINARY, f"{c.type} ({model.name}.{f.name})")
                else:
                    self.add(t.name, "column", c.name, UNEXPLAINED,
                             detail=f"field {model.name}.{f.name} ({f.type}) has no generated column")
                continue
            self.column(t.name, c.name, c.type, types[col], model, f)
        for k in t.constraints:
            if k.kind == "primary key":
                self.primary_key(t.name, k, gen)
            elif k.kind == "foreign key":
                self.foreign_key(t.name, k, gen, fields, known, columns, company_map, models)
            else:
                self.declared(t.name, k, gen, models)

    def relation_table(self, t: PgTable, found: mapping_mod.TableMap) -> None:
        gen = found.table
        for c in t.columns:
            ours = found.by_odoo_column.get(c.name)
            if ours is None:
                self.add(t.name, "column", c.name, UNEXPLAINED, detail="not a column of the generated relation table")
            else:
                self.mapped_or_equal(t.name, "column", c.name, c.type, ours.type, MANY2MANY_UUID)
        for k in t.constraints:
            if k.kind == "primary key":
                self.primary_key(t.name, k, gen)
            elif k.kind == "foreign key" and len(k.columns) == 1:
                ours = found.by_odoo_column.get(k.columns[0])
                self.foreign_key_of(t.name, k, gen, ours.name if ours else k.columns[0], relation=True)
            else:
                self.add(t.name, k.kind, k.name, UNEXPLAINED, detail=k.definition)

    # -- columns ------------------------------------------------------------------------------
    def mapped_or_equal(self, table: str, kind: str, name: str, odoo: str, ours: str, rule: str) -> None:
        if odoo == ours:
            self.add(table, kind, name, EQUAL)
        elif odoo == "integer" and ours == "uuid":
            self.add(table, kind, name, MAPPED, rule, f"{odoo} -> {ours}")
        else:
            self.add(table, kind, name, UNEXPLAINED, detail=f"Odoo {odoo}, generated {ours}")

    def column(self, table: str, name: str, odoo: str, ours: str, model: Model, f: Field) -> None:
        if odoo == ours:
            return self.add(table, "column", name, EQUAL)
        rule = None
        if odoo == "integer" and ours == "uuid":
            rule = MANY2ONE_UUID if f.type == "many2one" else RECORD_ID_UUID \
                if f.type == "many2one_reference" or tenant.is_record_id(model.name, f, self.rules) else None
        elif f.type == "float" and {odoo, ours} <= {"numeric", "double precision"}:
            rule = FLOAT_TYPE
        elif f.type == "char" and f.size and odoo == "character varying" and ours == f"character varying({f.size})":
            rule = CHAR_SIZE
        elif (table, name) in BOOTSTRAP_LENGTHS and odoo.startswith("character varying(") \
                and ours == "character varying":
            rule = UNDECLARED_LENGTH
        if rule:
            self.add(table, "column", name, MAPPED, rule, f"{odoo} -> {ours}")
        else:
            self.add(table, "column", name, UNEXPLAINED,
                     detail=f"Odoo {odoo}, generated {ours} ({model.name}.{f.name}, {f.type})")

    def allowed(self, models: list[Model]) -> set[str]:
        """The modules whose fields and constraints the snapshot keeps for these models (a model pulled
        in as a reference also keeps those of its own module)."""
        return self.selection | {m.module for m in models if m.origin == "reference"}

    def absent_field(self, table: str, kind: str, name: str, known: tuple[Model, Field] | None,
                     models: list[Model]) -> None:
        if known is not None and self.allowed(models) & set(known[1].modules):
            model, f = known
            self.add(table, kind, name, UNEXPLAINED,
                     detail=f"field {model.name}.{f.name} of a selected module ({', '.join(f.modules)}) "
                            "is not in the snapshot")
        elif known is None and (table, name) in HAND_MADE_COLUMNS:
            self.add(table, kind, name, LEFT_OUT, NOT_IN_METADATA, HAND_MADE_COLUMNS[table, name])
        elif known is None:
            self.add(table, kind, name, UNEXPLAINED, detail="no stored field of the metadata has this column")
        else:
            model, f = known
            modules = ", ".join(f.modules) or "none"
            self.add(table, kind, name, LEFT_OUT, OUTSIDE_SELECTION, f"field {model.name}.{f.name} (modules {modules})")

    # -- constraints --------------------------------------------------------------------------
    def primary_key(self, table: str, k: PgConstraint, gen: Table) -> None:
        wanted = {tenant.TENANT, *k.columns}
        if set(gen.primary_key) == wanted and len(gen.primary_key) == len(wanted):
            self.add(table, k.kind, k.name, MAPPED, TENANT_PRIMARY_KEY, f"({', '.join(gen.primary_key)})")
        elif any(set(u.columns) == wanted for u in gen.uniques):
            self.add(table, k.kind, k.name, MAPPED, SHARED_RELATION_KEY, f"key ({', '.join(gen.primary_key)})")
        else:
            self.add(table, k.kind, k.name, UNEXPLAINED,
                     detail=f"{k.definition}; generated PRIMARY KEY ({', '.join(gen.primary_key)})")

    def foreign_key(self, table: str, k: PgConstraint, gen: Table, fields: dict, known: dict,
                    columns: dict[str, str], company: mapping_mod.TableMap | None, models: list[Model]) -> None:
        if len(k.columns) != 1:
            self.add(table, k.kind, k.name, UNEXPLAINED, detail=k.definition)
            return
        field_name = k.columns[0]
        owner = fields.get(field_name)
        if owner is None:
            self.absent_field(table, k.kind, k.name, known.get(field_name), models)
            return
        model, f = owner
        if f.company_dependent and company is not None:
            col = _columns_by_field(company).get(f.name)
            return self.foreign_key_of(table, k, company.table, col or f.name)
        self.foreign_key_of(table, k, gen, columns.get(f.name, field_name))

    def foreign_key_of(self, table: str, k: PgConstraint, gen: Table, col: str, relation: bool = False) -> None:
        fk = next((x for x in gen.foreign_keys if x.columns == (tenant.TENANT, col)), None)
        if fk is not None:
            ref = self.generated.get(fk.ref_table)
            if fk.ref_table == k.ref_table and fk.on_delete == k.on_delete and ref is not None:
                self.add(table, k.kind, k.name, MAPPED, TENANT_FOREIGN_KEY, f"{fk.name} ON DELETE {fk.on_delete}")
            elif relation and fk.ref_table == k.ref_table and (k.on_delete, fk.on_delete) == ("RESTRICT", "CASCADE"):
                self.add(table, k.kind, k.name, MAPPED, MANY2MANY_CASCADE, f"{fk.name} ON DELETE CASCADE")
            else:
                self.add(table, k.kind, k.name, UNEXPLAINED,
                         detail=f"{k.definition}; generated {fk.name} -> {fk.ref_table} ON DELETE {fk.on_delete}")
            return
        ext = next((e for e in gen.external if e.column == col), None)
        if ext is not None:
            self.add(table, k.kind, k.name, LEFT_OUT, EXTERNAL_REFERENCE, f"{col} -> {ext.model} ({k.ref_table})")
        else:
            self.add(table, k.kind, k.name, UNEXPLAINED, detail=f"{k.definition}; no generated foreign key on {col}")

    def declared(self, table: str, k: PgConstraint, gen: Table, models: list[Model]) -> None:
        """UNIQUE, CHECK and unique indexes: Odoo's declared SQL constraints and indexes."""
        selected = {c.name for m in models for c in m.constraints}
        known = {c.name: c for m in self.catalog_models.get(table, []) for c in m.constraints}
        if k.kind == "unique":
            wanted = (tenant.TENANT, *k.columns)
            hit = next((u for u in gen.uniques if u.name == k.name or u.columns == wanted), None)
            if hit is not None:
                return self.add(table, k.kind, k.name, MAPPED, TENANT_UNIQUE, f"({', '.join(hit.columns)})")
        elif k.kind == "check":
            hit = next((c for c in gen.checks if c.name == k.name), None)
            if hit is not None:
                return self.add(table, k.kind, k.name, EQUAL)
        else:
            hit = next((i for i in gen.indexes if i.name == k.name and i.unique), None)
            if hit is not None:
                cols = ", ".join(f"COALESCE({c.name}, {c.coalesce})" if c.coalesce else c.name for c in hit.columns)
                return self.add(table, k.kind, k.name, MAPPED, TENANT_UNIQUE_INDEX, f"({cols})")
        if k.name in self.not_carried:
            return self.add(table, k.kind, k.name, LEFT_OUT, NOT_CARRIED_OVER, self.not_carried[k.name])
        if k.name in selected or (k.name in known and known[k.name].module in self.allowed(models)):
            return self.add(table, k.kind, k.name, UNEXPLAINED,
                            detail=f"{k.definition}: of a selected module, not generated")
        if k.name in known:
            return self.add(table, k.kind, k.name, LEFT_OUT, OUTSIDE_SELECTION, f"module {known[k.name].module}")
        if k.kind == "unique index":
            return self.add(table, k.kind, k.name, LEFT_OUT, NOT_IN_METADATA, k.definition)
        self.add(table, k.kind, k.name, UNEXPLAINED, detail=f"{k.definition}: ir.model.constraint does not list it")


def compare(odoo_tables: tuple[PgTable, ...], catalog: Catalog, metadata: OdooMetadata, snapshot: Snapshot,
            schema: Schema, rules: Rules = Rules()) -> Comparison:
    c = _Comparer(catalog, metadata, snapshot, schema, rules)
    for t in odoo_tables:
        c.table(t)
    return Comparison(
        odoo_version=catalog.odoo_version,
        snapshot_modules=len(snapshot.modules),
        tables_compared=c.compared,
        tables_left_out=c.left,
        items=tuple(c.items),
    )
