"""The tenant rules of DESIGN.md, as one pure function: ``build(snapshot, rules) -> Schema``.

1. Every table: ``tenant_id uuid NOT NULL``, ``id uuid NOT NULL DEFAULT gen_random_uuid()``,
   ``PRIMARY KEY (tenant_id, id)``.
2. Every stored many2one: a uuid column and ``FOREIGN KEY (tenant_id, col) REFERENCES target
   (tenant_id, id)``; ON DELETE as Odoo says, ``set null`` as ``SET NULL (col)`` (tenant_id kept).
   Integer fields that hold another row's id (``is_record_id``) are uuid columns too.
3. Every many2many: a relation table (tenant_id, col1, col2), that primary key, two tenant-scoped
   foreign keys ON DELETE CASCADE and a (tenant_id, col2, col1) index for the reverse direction.
   A relation table that is a model's table is that model's table; one that several many2many
   fields use with different column pairs gets every column, an id key and a UNIQUE per pair.
4. Selection: CHECK (col IN (values)); required: NOT NULL; Odoo's SQL constraints carried over,
   UNIQUE ones with tenant_id in front; 19.0's declared indexes led by tenant_id.
5. Indexes led by tenant_id on every FK column, every field Odoo indexes, and rules-file extras.
6. Row-level security on every table, keyed on the session setting (default app.tenant_id).
7. Every identifier within 63 bytes (``naming.shorten``); clashes are errors, never truncations.
8. Columns pointing outside the schema stay plain uuid columns and are listed (ExternalReference).
9. Company-dependent fields (a value per company) live in the model's per-company table
   ``<table>_company_values`` keyed (tenant_id, res_id, company_id), one column per field; a
   company-dependent many2one keeps its tenant-scoped foreign key there.
Models that share one table (Odoo's ``_table``) make one table with the union of their fields.
"""

from __future__ import annotations

from generator import odoo_sql
from generator.errors import SnapshotError, UsageError
from generator.model import Field, Model, Snapshot
from generator.naming import (MAX_COLUMNS, MAX_INDEX_COLUMNS, SYSTEM_COLUMNS, SYSTEM_PREFIX, Namespace, ident,
                              literal, shorten)
from generator.snapshot import json_path
from generator.placement import DEFAULT as DEFAULT_PLACEMENT
from generator.placement import Placement
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
ID_COLUMN = Column(ID, "uuid", not_null=True, default="gen_random_uuid()", comment="Row id", origin="tenant rules")
ON_DELETE_SQL = {"cascade": "CASCADE", "restrict": "RESTRICT", "set null": "SET NULL"}
COMPANY_MODEL = "res.company"
COMPANY_TABLE_SUFFIX = "_company_values"
RES_ID, COMPANY_ID = "res_id", "company_id"

# Odoo field type -> PostgreSQL type, as format_type() prints it (README: "Type map").
TYPE_MAP = {
    "boolean": "boolean",
    "integer": "integer",
    "float": "numeric",  # Odoo: numeric with digits, else double precision; rules [types] float switches
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
# Integer fields named like these hold the id of another model's row (Odoo's res_id style, next to
# a field naming the model; the _id_int ones keep the id of a row that may be deleted).
RECORD_ID_NAMES = ("res_id",)
RECORD_ID_SUFFIXES = ("_res_id", "_thread_id", "_id_int")


def looks_like_record_id(name: str) -> bool:
    return name in RECORD_ID_NAMES or name.endswith(RECORD_ID_SUFFIXES)


def is_record_id(model: str, f: Field, rules: Rules = Rules()) -> bool:
    """An integer field that holds another row's id: a uuid column here. The rules file's
    ``[[record_id]]`` entries decide for a field; otherwise its name does (``looks_like_record_id``)."""
    if f.type != "integer":
        return False
    for rule in rules.record_ids:
        if (rule.model, rule.field) == (model, f.name):
            return rule.uuid
    return looks_like_record_id(f.name)


def column_type(f: Field, rules: Rules = Rules(), model: str = "") -> str | None:
    if f.type in NO_COLUMN:
        return None
    if f.translate and f.type in ("char", "text", "html"):
        return "jsonb"
    if f.type == "char" and f.size:
        return f"character varying({f.size})"
    if f.type == "float":
        return rules.float_type
    if is_record_id(model, f, rules):
        return "uuid"
    return TYPE_MAP[f.type]


NUMBER_TYPES = ("integer", "bigint", "numeric", "double precision")


def fits(ctype: str, value: object) -> bool:
    """Whether a rules-file value (TOML: text, integer, float, boolean) can be stored in a column of
    SQL type ``ctype`` — checked at generate time, so a wrong one never reaches the SQL."""
    if ctype in NUMBER_TYPES:
        if isinstance(value, bool):
            return False
        if isinstance(value, (int, float)):
            return ctype != "integer" and ctype != "bigint" or float(value).is_integer()
        try:
            float(str(value))
        except ValueError:
            return False
        return True
    if ctype == "boolean":
        return isinstance(value, bool)
    if ctype.startswith(("character varying", "text")):
        return not isinstance(value, bool)
    if ctype == "uuid":
        import uuid

        try:
            uuid.UUID(str(value))
        except ValueError:
            return False
        return True
    return isinstance(value, str)  # dates, timestamps, jsonb: as text, PostgreSQL parses it


def _where(model: Model, f: Field) -> str:
    return f"{model.name}.{f.name}"


class _Path(tuple):
    """Where a snapshot entry is, as its keys; the JSON path text (``$.models["sale.order"].fields.name``)
    is built only when a message needs it."""

    def __str__(self) -> str:
        return json_path(self)


def _path(*parts: str) -> _Path:
    return _Path(parts)


def _field_path(model: Model, f: Field, *more: str) -> _Path:
    return _Path(("models", model.name, "fields", f.name, *more))


def _columns(name: str) -> Namespace:
    return Namespace(f"column of {name}", reserved=SYSTEM_COLUMNS)


class _Builder:
    def __init__(self, snapshot: Snapshot, rules: Rules, placement: Placement = DEFAULT_PLACEMENT):
        self.snapshot = snapshot
        self.rules = rules
        self.placement = placement
        # pg_class: tables, indexes (incl. pkey/unique)
        self.relations = Namespace("table/index", reserved_prefix=SYSTEM_PREFIX)
        self.table_of: dict[str, str] = {}
        self.notes: list[str] = []
        self.extensions: set[str] = set()
        self.sharing: dict[str, list[Model]] = {}  # table -> the models stored in it
        for m in snapshot.models:
            self.sharing.setdefault(shorten(placement.table(m.table)), []).append(m)
        for table, models in self.sharing.items():
            owner = " and ".join(f"model {m.name}" for m in models)
            path = _path("models", models[0].name, "table")
            claimed = self.relations.claim(table, owner, path)
            # the primary keys' indexes first, so that a declared constraint that wants one of their
            # names is the one reported
            self.relations.claim(f"{claimed}_pkey", f"primary key of {claimed}", path)
            for m in models:
                self.table_of[m.name] = claimed
        self.model_tables = {t: ms[0].name for t, ms in self.sharing.items()}
        self.defaults = {(d.model, d.field): d for d in rules.defaults}

    # -- helpers ------------------------------------------------------------------------------
    def index(self, table: str, columns: list[IndexColumn], owner: str, *, method: str = "btree",
              where: str | None = None, name: str | None = None, unique: bool = False,
              path: _Path | None = None) -> Index:
        base = name or f"{table}__{'_'.join(c.name for c in columns[1:])}_index"
        return Index(self.relations.claim(base, owner, path), table, tuple(columns), method, where, unique,
                     origin=owner)

    def keys(self, table: str, path: _Path | None) -> tuple[Namespace, str]:
        """A table's constraint namespace, holding its primary key already (a relation name too)."""
        cons = Namespace(f"constraint of {table}")
        owner = f"primary key of {table}"
        pkey = cons.claim(self.relations.claim(f"{table}_pkey", owner, path), owner, path)
        return cons, pkey

    def fk(self, table: str, col: str, target_model: str, on_delete: str, names: Namespace, owner: str,
           path: _Path | None = None) -> ForeignKey:
        sql = ON_DELETE_SQL[on_delete]
        return ForeignKey(
            name=names.claim(f"{table}_{col}_fkey", owner, path),
            columns=(TENANT, col),
            ref_table=self.table_of[target_model],
            ref_columns=(TENANT, ID),
            on_delete=sql,
            set_null_columns=(col,) if sql == "SET NULL" else (),
            origin=owner,
        )

    def policy(self) -> Policy:
        return Policy(POLICY, self.rules.setting)

    # -- model tables -------------------------------------------------------------------------
    def merged(self, table: str, models: list[Model]) -> tuple[Model, list[tuple[Model, Field]]]:
        """The model that names a shared table, and every field of the models stored in it (a
        field that two of them declare must be the same column)."""
        primary = sorted(models, key=lambda m: (m.table != m.name.replace(".", "_"), -len(m.fields), m.name))[0]
        fields: dict[str, tuple[Model, Field]] = {}
        for m in sorted(models, key=lambda m: m.name):
            for f in m.fields:
                seen = fields.setdefault(f.name, (m, f))
                a, b = seen[1], f
                if (column_type(a, self.rules, seen[0].name), a.relation, a.company_dependent) != \
                        (column_type(b, self.rules, m.name), b.relation, b.company_dependent):
                    raise SnapshotError(
                        f"table {table!r} is shared by {seen[0].name} and {m.name}, whose field {f.name!r} "
                        f"differs ({a.type} vs {b.type})",
                        where=_field_path(m, f),
                    )
        return primary, [fields[name] for name in sorted(fields)]

    def model_table(self, table: str, models: list[Model]) -> list[Table]:
        model, fields = self.merged(table, models)
        cols = _columns(table)
        cons, pkey = self.keys(table, _path("models", model.name, "table"))
        cols.claim(TENANT, "the tenant rules")
        cols.claim(ID, "the tenant rules")
        columns = [TENANT_COLUMN, ID_COLUMN]
        checks: list[Check] = []
        uniques: list[Unique] = []
        fks: list[ForeignKey] = []
        indexes: dict[tuple, Index] = {}
        external: list[ExternalReference] = []
        column_of: dict[str, str] = {}
        per_company: list[tuple[Model, Field]] = []
        for owner_model, f in fields:
            ctype = column_type(f, self.rules, owner_model.name)
            if ctype is None:
                continue
            where = _where(owner_model, f)
            path = _field_path(owner_model, f)
            if f.name in (TENANT, ID):
                raise SnapshotError(f"{where}: a field named {f.name!r} clashes with the tenant rules' own column",
                                    where=path)
            if f.company_dependent:
                per_company.append((owner_model, f))
                continue
            col = cols.claim(f.name, f"field {where}", path)
            column_of[f.name] = col
            rule = self.defaults.get((owner_model.name, f.name))
            backfill = rule.value if rule is not None else None
            if rule is not None and not fits(ctype, rule.value):
                raise UsageError(f"{rule.where}.value: {rule.value!r} is not a value of {where} ({ctype})")
            columns.append(Column(col, ctype, not_null=f.required, comment=f.label or None, origin=where,
                                  backfill=literal(backfill) if backfill is not None else None,
                                  translated=ctype == "jsonb" and f.translate))
            self.field_keys(table, f, col, where, cons, checks, fks, indexes, external, path)
        self.check_width(table, len(columns), _path("models", model.name, "fields"))
        types = {c.name: c.type for c in columns}
        by_field = {**column_of, TENANT: TENANT, ID: ID}
        declared = {c.name: (m, c) for m in models for c in m.constraints}
        for declaring, c in (declared[name] for name in sorted(declared)):
            owner = f"{model.name} constraint {c.name}"
            path = _path("models", declaring.name, "constraints", c.name)
            try:
                tr = odoo_sql.translate(c.definition, {f: types[col] for f, col in by_field.items()}, by_field)
                key_columns = 1 + len([x for x in tr.columns if x != TENANT])
                if tr.kind != "check" and key_columns > MAX_INDEX_COLUMNS:
                    raise odoo_sql.Untranslatable(f"with tenant_id in front it has {key_columns} columns; "
                                                  f"PostgreSQL indexes hold at most {MAX_INDEX_COLUMNS}")
            except odoo_sql.Untranslatable as exc:
                self.notes.append(f"{model.name}: SQL constraint {c.name} ({c.definition!r}) not carried over: {exc} "
                                  f"({path})")
                continue
            if tr.kind == "unique":
                ucols = (TENANT,) + tuple(by_field[x] for x in tr.columns if x != TENANT)
                uniques.append(Unique(cons.claim(self.relations.claim(self.placement.table(c.name), owner, path), owner,
                                                 path), ucols, owner))
            elif tr.kind == "index":
                icols = [IndexColumn(TENANT)] + [IndexColumn(by_field[x], d) for x, d in zip(tr.columns, tr.descending)
                                                 if x != TENANT]
                indexes[("declared", c.name)] = self.index(table, icols, owner, where=tr.expression,
                                                           name=self.placement.table(c.name), unique=tr.unique,
                                                           path=path)
            else:
                checks.append(Check(cons.claim(c.name, owner, path), tr.expression or "", None, owner))
        self.apply_rules(model, table, column_of, types, checks, indexes, cons)
        names = ", ".join(m.name for m in sorted(models, key=lambda m: m.name))
        main = Table(
            name=table,
            columns=tuple(columns),
            primary_key=(TENANT, ID),
            primary_key_name=pkey,
            checks=tuple(checks),
            uniques=tuple(uniques),
            foreign_keys=tuple(fks),
            indexes=tuple(sorted(indexes.values(), key=lambda i: i.name)),
            policy=self.policy(),
            comment=f"{model.label} (Odoo model{'s' if len(models) > 1 else ''} {names})",
            origin=model.name,
            module=model.module,
            external=tuple(external),
        )
        out = [main]
        if per_company:
            out.append(self.company_table(table, model, per_company))
        return out

    def field_keys(self, table: str, f: Field, col: str, where: str, cons: Namespace, checks: list[Check],
                   fks: list[ForeignKey], indexes: dict[tuple, Index], external: list[ExternalReference],
                   path: _Path | None = None) -> None:
        """The foreign key, selection CHECK and indexes that a field's column brings."""
        lead = [IndexColumn(TENANT), IndexColumn(col)]
        if f.type == "many2one":
            if f.relation in self.table_of:
                fks.append(self.fk(table, col, f.relation, f.on_delete or "set null", cons, where, path))
                indexes[(TENANT, col)] = self.index(table, lead, where, path=path)
            else:
                external.append(ExternalReference(table, col, f.relation or "", where))
        if f.type == "selection" and f.selection:
            values = tuple(s.value for s in f.selection)
            expr = f"{ident(col)} IN ({', '.join(literal(v) for v in values)})"
            checks.append(Check(cons.claim(f"{table}_{col}_check", where, path), expr, values, where))
        if f.index and (TENANT, col) not in indexes:
            if f.index == "trigram":
                indexes[(TENANT, col)] = self.trigram(table, f, col, where, path)
            else:
                cond = f"{ident(col)} IS NOT NULL" if f.index == "btree_not_null" else None
                indexes[(TENANT, col)] = self.index(table, lead, where, where=cond, path=path)

    @staticmethod
    def check_width(table: str, columns: int, path: _Path) -> None:
        if columns > MAX_COLUMNS:
            raise SnapshotError(f"table {table!r} would have {columns} columns (with the tenant rules' own); "
                                f"PostgreSQL allows at most {MAX_COLUMNS}", where=path)

    def company_table(self, table: str, model: Model, fields: list[tuple[Model, Field]]) -> Table:
        """Rule 9: the per-company values of a model's company-dependent fields."""
        tpath = _path("models", model.name, "table")
        name = self.relations.claim(f"{table}{COMPANY_TABLE_SUFFIX}", f"company-dependent fields of {model.name}",
                                    tpath)
        owner = f"{model.name} (company-dependent fields)"
        cols = _columns(name)
        cons, pkey = self.keys(name, tpath)
        for c in (TENANT, RES_ID, COMPANY_ID):
            cols.claim(c, "the tenant rules")
        columns = [
            TENANT_COLUMN,
            Column(RES_ID, "uuid", not_null=True, comment=f"The {model.name} row", origin=owner),
            Column(COMPANY_ID, "uuid", not_null=True, comment="The company the values are for", origin=owner),
        ]
        checks: list[Check] = []
        fks: list[ForeignKey] = []
        indexes: dict[tuple, Index] = {}
        external: list[ExternalReference] = []
        fks.append(ForeignKey(cons.claim(f"{name}_{RES_ID}_fkey", owner, tpath), (TENANT, RES_ID), table, (TENANT, ID),
                              "CASCADE", origin=owner))
        if COMPANY_MODEL in self.table_of:
            fks.append(self.fk(name, COMPANY_ID, COMPANY_MODEL, "cascade", cons, owner, tpath))
        else:
            external.append(ExternalReference(name, COMPANY_ID, COMPANY_MODEL, owner))
        indexes[(TENANT, COMPANY_ID)] = self.index(name, [IndexColumn(TENANT), IndexColumn(COMPANY_ID)], owner,
                                                   path=tpath)
        for owner_model, f in fields:
            where = _where(owner_model, f)
            path = _field_path(owner_model, f)
            col = cols.claim(f.name, f"field {where}", path)
            columns.append(Column(col, column_type(f, self.rules, owner_model.name) or "", comment=f.label or None,
                                  origin=where))
            self.field_keys(name, f, col, where, cons, checks, fks, indexes, external, path)
        self.check_width(name, len(columns), _path("models", model.name, "fields"))
        return Table(
            name=name,
            columns=tuple(columns),
            primary_key=(TENANT, RES_ID, COMPANY_ID),
            primary_key_name=pkey,
            checks=tuple(checks),
            foreign_keys=tuple(fks),
            indexes=tuple(sorted(indexes.values(), key=lambda i: i.name)),
            policy=self.policy(),
            comment=f"Per-company values of {model.label} (Odoo model {model.name}, company-dependent fields)",
            origin=owner,
            module=model.module,
            external=tuple(external),
        )

    def trigram(self, table: str, f: Field, col: str, owner: str, path: _Path | None = None) -> Index:
        ctype = column_type(f, self.rules) or ""
        if ctype not in ("character varying", "text") and not ctype.startswith("character varying("):
            message = f"{owner}: a trigram index needs a text column, not {ctype}"
            raise SnapshotError(message, where=_Path((*path, "index"))) if path else UsageError(message)
        self.extensions.update(("pg_trgm", "btree_gin"))
        return self.index(table, [IndexColumn(TENANT), IndexColumn(col, opclass="gin_trgm_ops")], owner,
                          method="gin", name=f"{table}__{col}_trgm_index", path=path)

    def apply_rules(self, model, table, column_of, types, checks, indexes, cons) -> None:
        fields = {f.name: f for m in self.sharing[table] for f in m.fields}
        for rule in self.rules.indexes:
            if self.table_of.get(rule.model) != table:
                continue
            names = [fname for fname, _ in rule.fields] + ([rule.where_field] if rule.where_field else [])
            for fname in names:
                if fname not in column_of:
                    raise UsageError(f"{rule.where}: {rule.model} has no column for field {fname!r}")
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
            if self.table_of.get(rule.model) != table:
                continue
            if rule.field not in column_of:
                raise UsageError(f"{rule.where}: {rule.model} has no column for field {rule.field!r}")
            ctype = types[column_of[rule.field]]
            for value in (v for v in (rule.min, rule.max) if v is not None):
                if not fits(ctype, value) or isinstance(value, bool) or ctype not in NUMBER_TYPES:
                    raise UsageError(f"{rule.where}: min/max need a number column; {rule.model}.{rule.field} is {ctype}")
            for value in rule.values or ():
                if not fits(ctype, value):
                    raise UsageError(f"{rule.where}.in: {value!r} is not a value of {rule.model}.{rule.field} ({ctype})")
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
        """One table per relation table name, whichever many2many fields declare it."""
        declared: dict[str, list[tuple[Model, Field]]] = {}
        for model in self.snapshot.models:
            for f in model.fields:
                if f.type != "many2many":
                    continue
                name = shorten(self.placement.table(f.relation_table or ""))
                if name in self.model_tables:
                    self.notes.append(f"{_where(model, f)}: many2many stored in the table of model "
                                      f"{self.model_tables[name]}; no separate relation table")
                    continue
                declared.setdefault(name, []).append((model, f))
        out = []
        for name in sorted(declared):
            users = declared[name]
            pairs = {self.ends(m, f) for m, f in users}
            model, f = users[0]
            if len(pairs) == 1:
                out.append(self.relation_table(name, model, f, _where(model, f)))
            else:
                out.append(self.shared_relation_table(name, users))
        return out

    @staticmethod
    def ends(model: Model, f: Field) -> tuple[tuple[str, str], tuple[str, str]]:
        """The two (column, target model) ends in a canonical order (by column name), so a table is
        the same whichever of the many2many fields that share it declares it."""
        a, b = sorted(((f.column1 or "", model.name), (f.column2 or "", f.relation or "")))
        return a, b

    def relation_table(self, table: str, model: Model, f: Field, where: str) -> Table:
        path = _field_path(model, f)
        name = self.relations.claim(table, f"many2many {where}", _field_path(model, f, "relation_table"))
        cols = _columns(name)
        cons, pkey = self.keys(name, path)
        cols.claim(TENANT, "the tenant rules")
        (c1, first), (c2, second) = self.ends(model, f)
        c1, c2 = cols.claim(c1, f"{where} first column", path), cols.claim(c2, f"{where} second column", path)
        fks, external = [], []
        for col, target in ((c1, first), (c2, second)):
            if target in self.table_of:
                fks.append(self.fk(name, col, target, "cascade", cons, where, path))
            else:
                external.append(ExternalReference(name, col, target, where))
        reverse = self.index(name, [IndexColumn(TENANT), IndexColumn(c2), IndexColumn(c1)], where,
                             name=f"{name}_{c2}_{c1}_idx", path=path)
        return Table(
            name=name,
            columns=(
                TENANT_COLUMN,
                Column(c1, "uuid", not_null=True, comment=first, origin=where),
                Column(c2, "uuid", not_null=True, comment=second, origin=where),
            ),
            primary_key=(TENANT, c1, c2),
            primary_key_name=pkey,
            foreign_keys=tuple(fks),
            indexes=(reverse,),
            policy=self.policy(),
            comment=f"{f.label} (Odoo many2many {where})",
            origin=where,
            module=model.module,
            external=tuple(external),
        )

    def shared_relation_table(self, table: str, users: list[tuple[Model, Field]]) -> Table:
        """A relation table that many2many fields use with different column pairs: every column
        (nullable unless every pair has it), an id key, a UNIQUE and a foreign key per column."""
        wheres = ", ".join(_where(m, f) for m, f in users)
        first_path = _field_path(*users[0])
        name = self.relations.claim(table, f"many2many {wheres}", _field_path(*users[0], "relation_table"))
        cols = _columns(name)
        cons, pkey = self.keys(name, first_path)
        cols.claim(TENANT, "the tenant rules")
        cols.claim(ID, "the tenant rules")
        target_of: dict[str, tuple[str, str]] = {}
        pairs = sorted({self.ends(m, f) for m, f in users})
        for (m, f) in users:
            for col, target in self.ends(m, f):
                seen = target_of.setdefault(col, (target, _where(m, f)))
                if seen[0] != target:
                    raise SnapshotError(f"relation table {table!r}: column {col!r} points at {seen[0]} for {seen[1]} "
                                        f"but at {target} for {_where(m, f)}", where=_field_path(m, f))
        everywhere = set.intersection(*({a[0], b[0]} for a, b in pairs))
        columns = [TENANT_COLUMN, ID_COLUMN]
        fks, external, indexes = [], [], []
        for col in sorted(target_of):
            target, where = target_of[col]
            claimed = cols.claim(col, f"{where} column", first_path)
            columns.append(Column(claimed, "uuid", not_null=col in everywhere, comment=target, origin=where))
            if target in self.table_of:
                fks.append(self.fk(name, claimed, target, "cascade", cons, where, first_path))
            else:
                external.append(ExternalReference(name, claimed, target, where))
            indexes.append(self.index(name, [IndexColumn(TENANT), IndexColumn(claimed)], where, path=first_path))
        self.check_width(name, len(columns), first_path)
        uniques = []
        for a, b in pairs:
            owner = f"many2many pair {a[0]}, {b[0]} of {name}"
            key = cons.claim(self.relations.claim(f"{name}_{a[0]}_{b[0]}_key", owner, first_path), owner, first_path)
            uniques.append(Unique(key, (TENANT, shorten(a[0]), shorten(b[0])), wheres))
        model, f = users[0]
        return Table(
            name=name,
            columns=tuple(columns),
            primary_key=(TENANT, ID),
            primary_key_name=pkey,
            uniques=tuple(uniques),
            foreign_keys=tuple(fks),
            indexes=tuple(sorted(indexes, key=lambda i: i.name)),
            policy=self.policy(),
            comment=f"Relation table of the Odoo many2many fields {wheres}",
            origin=_where(model, f),
            module=model.module,
            external=tuple(external),
        )


def build(snapshot: Snapshot, rules: Rules = Rules(), placement: Placement = DEFAULT_PLACEMENT) -> Schema:
    """The physical schema. What PostgreSQL would refuse is refused here, as a SnapshotError naming the
    snapshot file (when it came from one) and the JSON path of the entry at fault. ``placement``: its
    prefix goes in front of every table name (and the relation-namespace names Odoo declares); its
    schema is the runner's business, not the SQL's."""
    try:
        return _build(snapshot, rules, placement)
    except SnapshotError as exc:
        raise exc.in_file(snapshot.source) from None


def _build(snapshot: Snapshot, rules: Rules, placement: Placement) -> Schema:
    b = _Builder(snapshot, rules, placement)
    for rule in (*rules.indexes, *rules.checks):
        if rule.model not in b.table_of:
            raise UsageError(f"{rule.where}: model {rule.model!r} is not in the snapshot")
    tables = [t for table, models in b.sharing.items() for t in b.model_table(table, models)] + b.relation_tables()
    return Schema(
        tables=tuple(sorted(tables, key=lambda t: t.name)),
        extensions=tuple(sorted(b.extensions)),
        notes=tuple(b.notes),
    )
