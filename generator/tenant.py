"""The tenant rules of DESIGN.md, as one pure function: ``build(snapshot, rules) -> Schema``.

1. Every table: ``tenant_id uuid NOT NULL``, ``id uuid NOT NULL DEFAULT gen_random_uuid()``,
   ``PRIMARY KEY (tenant_id, id)``.
2. Every stored many2one: a uuid column and ``FOREIGN KEY (tenant_id, col) REFERENCES target
   (tenant_id, id)``; ON DELETE as Odoo says, ``set null`` as ``SET NULL (col)`` (tenant_id kept).
3. Every many2many: a relation table (tenant_id, col1, col2), that primary key, two tenant-scoped
   foreign keys ON DELETE CASCADE and a (tenant_id, col2, col1) index for the reverse direction.
4. Selection: CHECK (col IN (values)); required: NOT NULL; Odoo's SQL constraints carried over,
   UNIQUE ones with tenant_id in front.
5. Indexes led by tenant_id on every FK column, every field Odoo indexes, and rules-file extras.
6. Row-level security on every table, keyed on the session setting (default app.tenant_id).
7. Every identifier within 63 bytes (``naming.shorten``); clashes are errors, never truncations.
8. Columns pointing outside the schema stay plain uuid columns and are listed (ExternalReference).
"""

from __future__ import annotations

from generator import odoo_sql
from generator.errors import RenderError, UsageError
from generator.model import Field, Model, Snapshot
from generator.naming import Namespace, ident, literal, shorten
from generator.rules import Rules
from generator.tables import (
    Check,
    Column,
    ExternalReference,
    ForeignKey,
    Index,
    IndexColumn,
    Policy,
    Schema,
    Table,
    Unique,
)

TENANT = "tenant_id"
ID = "id"
POLICY = "tenant_isolation"
TENANT_COLUMN = Column(TENANT, "uuid", not_null=True, comment="Tenant that owns the row", origin="tenant rules")
ON_DELETE_SQL = {"cascade": "CASCADE", "restrict": "RESTRICT", "set null": "SET NULL"}

# Odoo field type -> PostgreSQL type, as format_type() prints it (README: "Type map").
TYPE_MAP = {
    "boolean": "boolean",
    "integer": "integer",
    "float": "numeric",  # Odoo: numeric with digits, else double precision; digits are not in ir.model.fields
    "monetary": "numeric",
    "char": "character varying",
    "text": "text",
    "html": "text",
    "date": "date",
    "datetime": "timestamp without time zone",
    "selection": "character varying",
    "reference": "character varying",
    "many2one": "uuid",
    "many2one_reference": "uuid",  # holds the id of a row of another table: a uuid here
    "json": "jsonb",
    "properties": "jsonb",
    "properties_definition": "jsonb",
}
NO_COLUMN = ("one2many", "many2many", "binary")  # binary: Odoo keeps attachments in ir_attachment


def column_type(f: Field) -> str | None:
    if f.type in NO_COLUMN:
        return None
    if f.translate and f.type in ("char", "text", "html"):
        return "jsonb"
    if f.type == "char" and f.size:
        return f"character varying({f.size})"
    return TYPE_MAP[f.type]


def _where(model: Model, f: Field) -> str:
    return f"{model.name}.{f.name}"


class _Builder:
    def __init__(self, snapshot: Snapshot, rules: Rules):
        self.snapshot = snapshot
        self.rules = rules
        self.relations = Namespace("table/index")  # pg_class: tables, indexes (incl. pkey/unique)
        self.table_of: dict[str, str] = {}
        self.notes: list[str] = []
        self.extensions: set[str] = set()
        for m in snapshot.models:
            self.table_of[m.name] = self.relations.claim(m.table, f"model {m.name}")
        self.model_tables = {t: m for m, t in self.table_of.items()}
        self.defaults = {(d.model, d.field): d.value for d in rules.defaults}

    # -- helpers ------------------------------------------------------------------------------
    def index(self, table: str, columns: list[IndexColumn], owner: str, *, method: str = "btree",
              where: str | None = None, name: str | None = None) -> Index:
        base = name or f"{table}__{'_'.join(c.name for c in columns[1:])}_index"
        return Index(self.relations.claim(base, owner), table, tuple(columns), method, where, origin=owner)

    def fk(self, table: str, col: str, target_model: str, on_delete: str, names: Namespace, owner: str) -> ForeignKey:
        sql = ON_DELETE_SQL[on_delete]
        return ForeignKey(
            name=names.claim(f"{table}_{col}_fkey", owner),
            columns=(TENANT, col),
            ref_table=self.table_of[target_model],
            ref_columns=(TENANT, ID),
            on_delete=sql,
            set_null_columns=(col,) if sql == "SET NULL" else (),
            origin=owner,
        )

    # -- model tables -------------------------------------------------------------------------
    def model_table(self, model: Model) -> Table:
        table = self.table_of[model.name]
        cols = Namespace(f"column of {table}")
        cons = Namespace(f"constraint of {table}")
        cols.claim(TENANT, "the tenant rules")
        cols.claim(ID, "the tenant rules")
        columns = [
            TENANT_COLUMN,
            Column(ID, "uuid", not_null=True, default="gen_random_uuid()", comment="Row id", origin="tenant rules"),
        ]
        checks: list[Check] = []
        uniques: list[Unique] = []
        fks: list[ForeignKey] = []
        indexes: dict[tuple, Index] = {}
        external: list[ExternalReference] = []
        column_of: dict[str, str] = {}
        for f in model.fields:
            ctype = column_type(f)
            if ctype is None:
                continue
            where = _where(model, f)
            if f.name in (TENANT, ID):
                raise RenderError(f"{where}: a field named {f.name!r} clashes with the tenant rules' own column")
            col = cols.claim(f.name, f"field {where}")
            column_of[f.name] = col
            backfill = self.defaults.get((model.name, f.name))
            columns.append(Column(col, ctype, not_null=f.required, comment=f.label or None, origin=where,
                                  backfill=literal(backfill) if backfill is not None else None))
            lead = [IndexColumn(TENANT), IndexColumn(col)]
            if f.type == "many2one":
                if f.relation in self.table_of:
                    fks.append(self.fk(table, col, f.relation, f.on_delete or "set null", cons, where))
                    indexes[(TENANT, col)] = self.index(table, lead, where)
                else:
                    external.append(ExternalReference(table, col, f.relation or "", where))
            if f.type == "selection" and f.selection:
                values = tuple(s.value for s in f.selection)
                expr = f"{ident(col)} IN ({', '.join(literal(v) for v in values)})"
                checks.append(Check(cons.claim(f"{table}_{col}_check", where), expr, values, where))
            if f.index and (TENANT, col) not in indexes:
                if f.index == "trigram":
                    indexes[(TENANT, col)] = self.trigram(table, f, col, where)
                else:
                    cond = f"{ident(col)} IS NOT NULL" if f.index == "btree_not_null" else None
                    indexes[(TENANT, col)] = self.index(table, lead, where, where=cond)
        types = {c.name: c.type for c in columns}
        by_field = {**column_of, TENANT: TENANT, ID: ID}
        for c in model.constraints:
            owner = f"{model.name} constraint {c.name}"
            try:
                tr = odoo_sql.translate(c.definition, {f: types[col] for f, col in by_field.items()})
            except odoo_sql.Untranslatable as exc:
                self.notes.append(f"{model.name}: SQL constraint {c.name} ({c.definition!r}) not carried over: {exc}")
                continue
            if tr.kind == "unique":
                ucols = (TENANT,) + tuple(by_field[x] for x in tr.columns if x != TENANT)
                uniques.append(Unique(self.relations.claim(c.name, owner), ucols, owner))
            else:
                expr = tr.expression or ""
                for fname, col in by_field.items():  # fields renamed by shortening: re-quote
                    if fname != col:
                        expr = expr.replace(ident(fname), ident(col))
                checks.append(Check(cons.claim(c.name, owner), expr, None, owner))
        self.apply_rules(model, table, column_of, types, checks, indexes, cons)
        return Table(
            name=table,
            columns=tuple(columns),
            primary_key=(TENANT, ID),
            primary_key_name=self.relations.claim(f"{table}_pkey", f"primary key of {table}"),
            checks=tuple(checks),
            uniques=tuple(uniques),
            foreign_keys=tuple(fks),
            indexes=tuple(sorted(indexes.values(), key=lambda i: i.name)),
            policy=Policy(POLICY, self.rules.setting),
            comment=f"{model.label} (Odoo model {model.name})",
            origin=model.name,
            module=model.module,
            external=tuple(external),
        )

    def trigram(self, table: str, f: Field, col: str, owner: str) -> Index:
        if column_type(f) not in ("character varying", "text") and not (column_type(f) or "").startswith("character varying("):
            raise UsageError(f"{owner}: a trigram index needs a text column, not {column_type(f)}")
        self.extensions.update(("pg_trgm", "btree_gin"))
        return self.index(table, [IndexColumn(TENANT), IndexColumn(col, opclass="gin_trgm_ops")], owner,
                          method="gin", name=f"{table}__{col}_trgm_index")

    def apply_rules(self, model, table, column_of, types, checks, indexes, cons) -> None:
        fields = model.field_map
        for rule in self.rules.indexes:
            if rule.model != model.name:
                continue
            names = [fname for fname, _ in rule.fields] + ([rule.where_field] if rule.where_field else [])
            for fname in names:
                if fname not in column_of:
                    raise UsageError(f"{rule.where}: {model.name} has no column for field {fname!r}")
            if rule.kind == "trigram":
                fname = rule.fields[0][0]
                idx = self.trigram(table, fields[fname], column_of[fname], rule.where)
            else:
                cols = [IndexColumn(TENANT)] + [IndexColumn(column_of[f], desc) for f, desc in rule.fields]
                where = None
                if rule.where_field:
                    wcol = ident(column_of[rule.where_field])
                    if rule.where_in is not None:
                        where = f"{wcol} IN ({', '.join(literal(v) for v in rule.where_in)})"
                    elif rule.where_not_null:
                        where = f"{wcol} IS NOT NULL"
                suffix = "_".join(c.name + ("_desc" if c.descending else "") for c in cols[1:])
                idx = self.index(table, cols, rule.where, where=where,
                                 name=f"{table}__{suffix}{'_partial' if where else ''}_index")
            indexes[("rule", idx.name)] = idx
        for rule in self.rules.checks:
            if rule.model != model.name:
                continue
            if rule.field not in column_of:
                raise UsageError(f"{rule.where}: {model.name} has no column for field {rule.field!r}")
            col = ident(column_of[rule.field])
            parts = []
            if rule.min is not None:
                parts.append(f"{col} >= {literal(rule.min)}")
            if rule.max is not None:
                parts.append(f"{col} <= {literal(rule.max)}")
            if rule.values is not None:
                parts.append(f"{col} IN ({', '.join(literal(v) for v in rule.values)})")
            name = cons.claim(f"{table}_{column_of[rule.field]}_rule_check", rule.where)
            checks.append(Check(name, " AND ".join(parts), None, rule.where))

    # -- relation tables ----------------------------------------------------------------------
    def relation_tables(self) -> list[Table]:
        seen: dict[str, tuple[str, frozenset]] = {}
        out = []
        for model in self.snapshot.models:
            for f in model.fields:
                if f.type != "many2many":
                    continue
                where = _where(model, f)
                name = shorten(f.relation_table or "")
                if name in self.model_tables:
                    self.notes.append(f"{where}: many2many stored in the table of model {self.model_tables[name]}; "
                                      "no separate relation table")
                    continue
                key = frozenset({(f.column1, model.name), (f.column2, f.relation)})
                if name in seen:
                    if seen[name][1] != key:
                        raise RenderError(
                            f"relation table {name!r} is declared differently by {seen[name][0]} and {where}"
                        )
                    continue
                seen[name] = (where, key)
                out.append(self.relation_table(model, f, where))
        return out

    def relation_table(self, model: Model, f: Field, where: str) -> Table:
        name = self.relations.claim(f.relation_table or "", f"many2many {where}")
        cols = Namespace(f"column of {name}")
        cons = Namespace(f"constraint of {name}")
        cols.claim(TENANT, "the tenant rules")
        c1 = cols.claim(f.column1 or "", f"{where} column1")
        c2 = cols.claim(f.column2 or "", f"{where} column2")
        # The two ends in a canonical order (by column name), so the table is the same whichever of
        # the two many2many fields that share it declares it.
        ends = sorted(((c1, model.name), (c2, f.relation or "")))
        (c1, first), (c2, second) = ends
        fks, external = [], []
        for col, target in ends:
            if target in self.table_of:
                fks.append(self.fk(name, col, target, "cascade", cons, where))
            else:
                external.append(ExternalReference(name, col, target, where))
        reverse = self.index(name, [IndexColumn(TENANT), IndexColumn(c2), IndexColumn(c1)], where,
                             name=f"{name}_{c2}_{c1}_idx")
        return Table(
            name=name,
            columns=(
                TENANT_COLUMN,
                Column(c1, "uuid", not_null=True, comment=first, origin=where),
                Column(c2, "uuid", not_null=True, comment=second, origin=where),
            ),
            primary_key=(TENANT, c1, c2),
            primary_key_name=self.relations.claim(f"{name}_pkey", f"primary key of {name}"),
            foreign_keys=tuple(fks),
            indexes=(reverse,),
            policy=Policy(POLICY, self.rules.setting),
            comment=f"{f.label} (Odoo many2many {where})",
            origin=where,
            module=model.module,
            external=tuple(external),
        )


def build(snapshot: Snapshot, rules: Rules = Rules()) -> Schema:
    b = _Builder(snapshot, rules)
    for rule in (*rules.indexes, *rules.checks):
        if rule.model not in b.table_of:
            raise UsageError(f"{rule.where}: model {rule.model!r} is not in the snapshot")
    tables = [b.model_table(m) for m in snapshot.models] + b.relation_tables()
    return Schema(
        tables=tuple(sorted(tables, key=lambda t: t.name)),
        extensions=tuple(sorted(b.extensions)),
        notes=tuple(b.notes),
    )
