"""The tenant rules of DESIGN.md: ``build(snapshot, rules, placement) -> Schema``, deterministic.

Each rule below is a small function (``rule_keys``, ``rule_many2one``, ``rule_relation_tables``, ...)
that returns its ``Parts`` of a table (columns, checks, uniques, foreign keys, indexes, external
references) or its own tables; ``model_tables`` and ``_build`` only add them up. What the rules
share is in ``_Context``: the registry of relation names (so a clash is reported, never emitted),
each model's table, and the notes and extensions they add.

1. Every table: ``tenant_id uuid NOT NULL``, ``id uuid NOT NULL DEFAULT gen_random_uuid()``,
   ``PRIMARY KEY (tenant_id, id)``.
2. Every stored many2one: a uuid column and ``FOREIGN KEY (tenant_id, col) REFERENCES target
   (tenant_id, id)``; ON DELETE as Odoo says, ``set null`` as ``SET NULL (col)`` (tenant_id kept).
   Integer fields that hold another row's id (``is_record_id``) are uuid columns too.
3. Every many2many: a relation table (tenant_id, col1, col2), that primary key, two tenant-scoped
   foreign keys ON DELETE CASCADE (the comodel's end RESTRICT where the snapshot, captured from the
   Odoo database, says Odoo declared it so) and a (tenant_id, col2, col1) index for the reverse direction.
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

import math
from dataclasses import dataclass, field, replace

from generator import odoo_sql
from generator.errors import RenderError, SnapshotError, UsageError
from generator.model import Field, Model, Snapshot
from generator.naming import (MAX_COLUMNS, MAX_INDEX_COLUMNS, SYSTEM_COLUMNS, SYSTEM_PREFIX, NameRegistry, ident,
                              literal, shorten)
from generator.snapshot import json_path
from generator.placement import DEFAULT as DEFAULT_PLACEMENT
from generator.placement import Placement
from generator.rules import Rules
from generator import tables as prov
from generator.tables import (
    Check,
    Column,
    ExternalReference,
    ForeignKey,
    Index,
    IndexColumn,
    NotCarried,
    Policy,
    Provenance,
    Schema,
    Table,
    TableProvenance,
    Unique,
)

TENANT = "tenant_id"
ID = "id"
POLICY = "tenant_isolation"
TENANT_COLUMN = Column(TENANT, "uuid", not_null=True, comment="Tenant that owns the row", provenance=prov.RULES)
ID_COLUMN = Column(ID, "uuid", not_null=True, default="gen_random_uuid()", comment="Row id",
                   provenance=Provenance(prov.KEY))
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
INTEGER_RANGES = {"integer": (-2**31, 2**31 - 1), "bigint": (-2**63, 2**63 - 1)}


def fits(ctype: str, value: object) -> bool:
    """Whether a rules-file value (TOML: text, integer, float, boolean) can be stored in a column of
    SQL type ``ctype`` — checked at generate time, so a wrong one never reaches the SQL."""
    if ctype in NUMBER_TYPES:
        if isinstance(value, bool):
            return False
        try:
            number = float(str(value).strip()) if isinstance(value, str) else float(value)
        except (ValueError, OverflowError):
            return False
        if not math.isfinite(number):
            return False
        if ctype in INTEGER_RANGES:
            low, high = INTEGER_RANGES[ctype]
            text = str(value).strip()
            return (isinstance(value, int) or (isinstance(value, str) and text.lstrip("+-").isdigit())) \
                and low <= int(number if not isinstance(value, str) else text) <= high
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


def _origin(model: Model, f: Field) -> str:
    return f"{model.name}.{f.name}"


def field_role(model: str, f: Field, rules: Rules) -> str:
    """What a field's column holds (``tables.ROLES``): a many2one's key, another row's id, a reference's
    'model,id' text, or a value."""
    if f.type == "many2one":
        return prov.MANY2ONE
    if f.type == "many2one_reference" or is_record_id(model, f, rules):
        return prov.RECORD_ID
    if f.type == "reference":
        return prov.REFERENCE
    return prov.VALUE


def _field_provenance(model: Model, f: Field, rules: Rules, role: str | None = None) -> Provenance:
    return Provenance(role or field_role(model.name, f, rules), model.name, f.name, f.name,
                      f.relation or "" if f.type == "many2one" else "")


class _Path(tuple):
    """Where a snapshot entry is, as its keys; the JSON path text (``$.models["sale.order"].fields.name``)
    is built only when a message needs it."""

    def __str__(self) -> str:
        return json_path(self)


def _path(*parts: str) -> _Path:
    return _Path(parts)


def _field_path(model: Model, f: Field, *more: str) -> _Path:
    return _Path(("models", model.name, "fields", f.name, *more))


def _columns(name: str) -> NameRegistry:
    return NameRegistry(f"column of {name}", reserved=SYSTEM_COLUMNS)


# -- the parts of a table, and what the rules share -------------------------------------------

@dataclass(frozen=True)
class Parts:
    """Pieces of one table that a rule contributes; rules' parts add up in the order they ran."""

    columns: tuple[Column, ...] = ()
    checks: tuple[Check, ...] = ()
    uniques: tuple[Unique, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[Index, ...] = ()
    external: tuple[ExternalReference, ...] = ()

    def __add__(self, other: "Parts") -> "Parts":
        return total([self, other])


NOTHING = Parts()


def total(found: list[Parts]) -> Parts:
    """Parts added up in order, each kind of piece concatenated once (a table's fields can be many)."""
    found = [p for p in found if p is not NOTHING]
    if len(found) <= 1:
        return found[0] if found else NOTHING
    pieces: tuple[list, ...] = ([], [], [], [], [], [])
    for p in found:
        for into, more in zip(pieces, (p.columns, p.checks, p.uniques, p.foreign_keys, p.indexes, p.external)):
            into += more
    return Parts(*map(tuple, pieces))


@dataclass
class _Context:
    """What every rule reads (the snapshot, the rules file, the placement) and the little they share:
    the schema-wide registry of relation names (tables and indexes), each model's table, the notes
    for the command output and the extensions the schema needs. Rules only add to the last three."""

    snapshot: Snapshot
    rules: Rules
    placement: Placement
    relations: NameRegistry
    sharing: dict[str, list[Model]]  # table -> the models stored in it
    table_of: dict[str, str]  # model -> its table
    notes: list[str | NotCarried] = field(default_factory=list)
    extensions: set[str] = field(default_factory=set)

    @property
    def model_tables(self) -> dict[str, str]:
        return {t: ms[0].name for t, ms in self.sharing.items()}


@dataclass(frozen=True)
class _Names:
    """The names of one table: its own, its columns' and its constraints' (the primary key's claimed)."""

    table: str
    columns: NameRegistry
    constraints: NameRegistry
    pkey: str


def _context(snapshot: Snapshot, rules: Rules, placement: Placement) -> _Context:
    """Every model's table, claimed (with its primary key's index name) before any other name, so
    that a declared constraint that wants one of those names is the one reported."""
    relations = NameRegistry("table/index", reserved_prefix=SYSTEM_PREFIX)
    sharing: dict[str, list[Model]] = {}
    for m in snapshot.models:
        sharing.setdefault(shorten(placement.table(m.table)), []).append(m)
    table_of: dict[str, str] = {}
    for table, models in sharing.items():
        owner = " and ".join(f"model {m.name}" for m in models)
        path = _path("models", models[0].name, "table")
        claimed = relations.claim(table, owner, path)
        relations.claim(f"{claimed}_pkey", f"primary key of {claimed}", path)
        for m in models:
            table_of[m.name] = claimed
    # rules naming a model this snapshot lacks apply to none of its tables: rules.check_models refuses
    # them where rules meet the snapshot they are for (an older snapshot may not have the model yet)
    return _Context(snapshot, rules, placement, relations, sharing, table_of)


def _index(ctx: _Context, table: str, columns: list[IndexColumn], owner: str, *, method: str = "btree",
           where: str | None = None, name: str | None = None, unique: bool = False,
           path: _Path | None = None) -> Index:
    base = name or f"{table}__{'_'.join(c.name for c in columns[1:])}_index"
    return Index(ctx.relations.claim(base, owner, path), table, tuple(columns), method, where, unique, origin=owner)


def _fk(ctx: _Context, names: _Names, col: str, target_model: str, on_delete: str, owner: str,
        path: _Path | None = None) -> ForeignKey:
    sql = ON_DELETE_SQL[on_delete]
    return ForeignKey(
        name=names.constraints.claim(f"{names.table}_{col}_fkey", owner, path),
        columns=(TENANT, col),
        ref_table=ctx.table_of[target_model],
        ref_columns=(TENANT, ID),
        on_delete=sql,
        set_null_columns=(col,) if sql == "SET NULL" else (),
        origin=owner,
    )


def _check_width(table: str, columns: int, path: _Path) -> None:
    if columns > MAX_COLUMNS:
        raise SnapshotError(f"table {table!r} would have {columns} columns (with the tenant rules' own); "
                            f"PostgreSQL allows at most {MAX_COLUMNS}", at=path)


def _trigram(ctx: _Context, table: str, f: Field, col: str, owner: str, path: _Path | None = None) -> Index:
    ctype = column_type(f, ctx.rules) or ""
    if ctype not in ("character varying", "text") and not ctype.startswith("character varying("):
        message = f"{owner}: a trigram index needs a text column, not {ctype}"
        raise SnapshotError(message, at=_Path((*path, "index"))) if path else UsageError(message)
    ctx.extensions.update(("pg_trgm", "btree_gin"))
    return _index(ctx, table, [IndexColumn(TENANT), IndexColumn(col, opclass="gin_trgm_ops")], owner,
                  method="gin", name=f"{table}__{col}_trgm_index", path=path)


# -- rule 1: tenant_id, id and the primary key ------------------------------------------------

def rule_keys(ctx: _Context, table: str, path: _Path | None, *own: str) -> _Names:
    """A table's name registries, holding its primary key (a relation name too) and ``own`` columns."""
    constraints = NameRegistry(f"constraint of {table}")
    owner = f"primary key of {table}"
    pkey = constraints.claim(ctx.relations.claim(f"{table}_pkey", owner, path), owner, path)
    names = _Names(table, _columns(table), constraints, pkey)
    for c in own:
        names.columns.claim(c, "the tenant rules")
    return names


# -- rules 2, 4 and 5 for one field's column --------------------------------------------------

def rule_many2one(ctx: _Context, names: _Names, f: Field, col: str, origin: str, path: _Path | None) -> Parts:
    """Rule 2: a stored many2one's tenant-scoped foreign key and its tenant-led index (rule 5), or
    an external reference when its target is outside the schema (rule 8)."""
    if f.type != "many2one":
        return NOTHING
    if f.relation not in ctx.table_of:
        return Parts(external=(ExternalReference(names.table, col, f.relation or "", origin),))
    fk = _fk(ctx, names, col, f.relation, f.on_delete or "set null", origin, path)
    return Parts(foreign_keys=(fk,), indexes=(_index(ctx, names.table, _lead(col), origin, path=path),))


def rule_selection(names: _Names, f: Field, col: str, origin: str, path: _Path | None) -> Parts:
    """Rule 4: CHECK (col IN (values)) for a selection."""
    if f.type != "selection" or not f.selection:
        return NOTHING
    values = tuple(s.value for s in f.selection)
    expr = f"{ident(col)} IN ({', '.join(literal(v) for v in values)})"
    return Parts(checks=(Check(names.constraints.claim(f"{names.table}_{col}_check", origin, path), expr, values,
                               origin, (col,)),))


def rule_field_index(ctx: _Context, names: _Names, f: Field, col: str, origin: str, path: _Path | None) -> Parts:
    """Rule 5: the index Odoo gives a field, led by tenant_id (a many2one has its FK index already)."""
    if not f.index or (f.type == "many2one" and f.relation in ctx.table_of):
        return NOTHING
    if f.index == "trigram":
        return Parts(indexes=(_trigram(ctx, names.table, f, col, origin, path),))
    cond = f"{ident(col)} IS NOT NULL" if f.index == "btree_not_null" else None
    return Parts(indexes=(_index(ctx, names.table, _lead(col), origin, where=cond, path=path),))


def _lead(col: str) -> list[IndexColumn]:
    return [IndexColumn(TENANT), IndexColumn(col)]


def field_keys(ctx: _Context, names: _Names, f: Field, col: str, origin: str, path: _Path | None = None) -> Parts:
    """The foreign key, selection CHECK and indexes that a field's column brings."""
    return total([rule_many2one(ctx, names, f, col, origin, path), rule_selection(names, f, col, origin, path),
                  rule_field_index(ctx, names, f, col, origin, path)])


# -- model tables -----------------------------------------------------------------------------

def _merged(ctx: _Context, table: str, models: list[Model]) -> tuple[Model, list[tuple[Model, Field]]]:
    """The model that names a shared table, and every field of the models stored in it (a field that
    two of them declare must be the same column)."""
    primary = sorted(models, key=lambda m: (m.table != m.name.replace(".", "_"), -len(m.fields), m.name))[0]
    by_name: dict[str, tuple[Model, Field]] = {}
    for m in sorted(models, key=lambda m: m.name):
        for f in m.fields:
            seen = by_name.setdefault(f.name, (m, f))
            a, b = seen[1], f
            if a is not b and (column_type(a, ctx.rules, seen[0].name), a.relation, a.company_dependent) != \
                    (column_type(b, ctx.rules, m.name), b.relation, b.company_dependent):
                raise SnapshotError(
                    f"table {table!r} is shared by {seen[0].name} and {m.name}, whose field {f.name!r} "
                    f"differs ({a.type} vs {b.type})",
                    at=_field_path(m, f),
                )
    return primary, [by_name[name] for name in sorted(by_name)]


def rule_columns(ctx: _Context, names: _Names, stored: list[tuple[Model, Field]]
                 ) -> tuple[Parts, dict[str, str], list[tuple[Model, Field]]]:
    """Rules 2, 4 and 5 over a model table's fields: (their columns and keys, field -> column, the
    company-dependent fields left for rule 9)."""
    defaults = {(d.model, d.field): d for d in ctx.rules.defaults}
    columns: list[Column] = []
    found: list[Parts] = []  # the keys of the columns (no columns: those are gathered on their own)
    column_of: dict[str, str] = {}
    per_company: list[tuple[Model, Field]] = []
    for owner_model, f in stored:
        ctype = column_type(f, ctx.rules, owner_model.name)
        if ctype is None:
            continue
        origin = _origin(owner_model, f)
        path = _field_path(owner_model, f)
        if f.name in (TENANT, ID):
            raise SnapshotError(f"{origin}: a field named {f.name!r} clashes with the tenant rules' own column",
                                at=path)
        if f.company_dependent:
            per_company.append((owner_model, f))
            continue
        col = names.columns.claim(f.name, f"field {origin}", path)
        column_of[f.name] = col
        rule = defaults.get((owner_model.name, f.name))
        if rule is not None and not fits(ctype, rule.value):
            raise UsageError(f"{rule.at}.value: {rule.value!r} is not a value of {origin} ({ctype})")
        column = Column(col, ctype, not_null=f.required, comment=f.label or None,
                        provenance=_field_provenance(owner_model, f, ctx.rules),
                        backfill=literal(rule.value) if rule is not None else None,
                        translated=ctype == "jsonb" and f.translate)
        columns.append(column)
        keys = field_keys(ctx, names, f, col, origin, path)
        if keys is not NOTHING:
            found.append(keys)
    return total([Parts(columns=tuple(columns)), *found]), column_of, per_company


def rule_declared(ctx: _Context, names: _Names, model: Model, models: list[Model], types: dict[str, str],
                  by_field: dict[str, str]) -> Parts:
    """Rule 4: Odoo's SQL constraints (and 19.0's declared indexes), translated to the tenant schema:
    UNIQUE ones and indexes led by tenant_id. One that cannot be translated becomes a note."""
    found: list[Parts] = []
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
            ctx.notes.append(NotCarried(model.name, c.name, c.definition, str(exc), str(path)))
            continue
        if tr.kind == "unique":
            ucols = (TENANT,) + tuple(by_field[x] for x in tr.columns if x != TENANT)
            name = ctx.relations.claim(ctx.placement.table(c.name), owner, path)
            found.append(Parts(uniques=(Unique(names.constraints.claim(name, owner, path), ucols, owner),)))
        elif tr.kind == "index":
            icols = [IndexColumn(TENANT)] + [IndexColumn(by_field[x], d, coalesce=k) for x, d, k
                                             in zip(tr.columns, tr.descending, tr.coalesce) if x != TENANT]
            found.append(Parts(indexes=(_index(ctx, names.table, icols, owner, where=tr.expression,
                                                name=ctx.placement.table(c.name), unique=tr.unique, path=path),)))
        else:
            found.append(Parts(checks=(Check(names.constraints.claim(c.name, owner, path), tr.expression or "", None,
                                              owner, tuple(by_field[x] for x in tr.columns if x in by_field)),)))
    return total(found)


def _rules_index(ctx: _Context, table: str, rule, fields_here: dict[str, Field], column_of: dict[str, str],
                 types: dict[str, str]) -> Index:
    """One ``[[index]]`` entry of the rules file as an index led by tenant_id."""
    if rule.kind == "trigram":
        fname = rule.fields[0][0]
        return _trigram(ctx, table, fields_here[fname], column_of[fname], rule.at)
    cols = [IndexColumn(TENANT)] + [IndexColumn(column_of[f], desc) for f, desc in rule.fields]
    where = None
    if rule.where_field:
        wcol = ident(column_of[rule.where_field])
        if rule.where_in is not None:
            wtype = types[column_of[rule.where_field]]
            for value in rule.where_in:
                if not fits(wtype, value):
                    raise UsageError(f"{rule.at}.where.in: {value!r} is not a value of "
                                     f"{rule.model}.{rule.where_field} ({wtype})")
            where = f"{wcol} IN ({', '.join(literal(str(v)) for v in rule.where_in)})"
        elif rule.where_not_null:
            where = f"{wcol} IS NOT NULL"
    suffix = "_".join(c.name + ("_desc" if c.descending else "") for c in cols[1:])
    return _index(ctx, table, cols, rule.at, where=where, name=f"{table}__{suffix}{'_partial' if where else ''}_index")


def rule_rules_file(ctx: _Context, names: _Names, column_of: dict[str, str], types: dict[str, str]) -> Parts:
    """Rule 5's extras and the CHECKs of the rules file (``[[index]]``, ``[[check]]``) for one table."""
    table = names.table
    fields_here = {f.name: f for m in ctx.sharing[table] for f in m.fields}
    found: list[Parts] = []
    for rule in ctx.rules.indexes:
        if ctx.table_of.get(rule.model) != table:
            continue
        wanted = [fname for fname, _ in rule.fields] + ([rule.where_field] if rule.where_field else [])
        for fname in wanted:
            if fname not in column_of:
                raise UsageError(f"{rule.at}: {rule.model} has no column for field {fname!r}")
        try:
            idx = _rules_index(ctx, table, rule, fields_here, column_of, types)
        except RenderError as exc:  # its name is another index's: the one the tenant rules give the field
            raise UsageError(f"{rule.at}: {rule.model} has this index already ({exc}); leave the entry out") from None
        found.append(Parts(indexes=(idx,)))
    for rule in ctx.rules.checks:
        if ctx.table_of.get(rule.model) != table:
            continue
        if rule.field not in column_of:
            raise UsageError(f"{rule.at}: {rule.model} has no column for field {rule.field!r}")
        ctype = types[column_of[rule.field]]
        for value in (v for v in (rule.min, rule.max) if v is not None):
            if not fits(ctype, value) or isinstance(value, bool) or ctype not in NUMBER_TYPES:
                raise UsageError(f"{rule.at}: min/max need a number column; {rule.model}.{rule.field} is {ctype}")
        for value in rule.values or ():
            if not fits(ctype, value):
                raise UsageError(f"{rule.at}.in: {value!r} is not a value of {rule.model}.{rule.field} ({ctype})")
        col = ident(column_of[rule.field])
        terms = []
        if rule.min is not None:
            terms.append(f"{col} >= {literal(rule.min)}")
        if rule.max is not None:
            terms.append(f"{col} <= {literal(rule.max)}")
        if rule.values is not None:
            terms.append(f"{col} IN ({', '.join(literal(v) for v in rule.values)})")
        name = names.constraints.claim(f"{table}_{column_of[rule.field]}_rule_check", rule.at)
        found.append(Parts(checks=(Check(name, " AND ".join(terms), None, rule.at, (column_of[rule.field],)),)))
    return total(found)


def rule_policy(ctx: _Context) -> Policy:
    """Rule 6: row-level security keyed on the session setting."""
    return Policy(POLICY, ctx.rules.setting)


def _table(name: str, names: _Names, parts: Parts, primary_key: tuple[str, ...], policy: Policy, *, comment: str,
           provenance: TableProvenance, module: str) -> Table:
    return Table(
        name=name,
        columns=parts.columns,
        primary_key=primary_key,
        primary_key_name=names.pkey,
        checks=parts.checks,
        uniques=parts.uniques,
        foreign_keys=parts.foreign_keys,
        indexes=tuple(sorted(parts.indexes, key=lambda i: i.name)),
        policy=policy,
        comment=comment,
        provenance=provenance,
        module=module,
        external=parts.external,
    )


def model_tables(ctx: _Context, table: str, models: list[Model]) -> list[Table]:
    """The table of one or more models (Odoo's ``_table``): rules 1, 2, 4, 5, 6, and rule 9's
    per-company table beside it when some fields are company-dependent."""
    model, stored = _merged(ctx, table, models)
    names = rule_keys(ctx, table, _path("models", model.name, "table"), TENANT, ID)
    fields_parts, column_of, per_company = rule_columns(ctx, names, stored)
    id_column = replace(ID_COLUMN, provenance=Provenance(prov.ID, model.name, ID, ID, model.name))
    parts = Parts(columns=(TENANT_COLUMN, id_column)) + fields_parts
    _check_width(table, len(parts.columns), _path("models", model.name, "fields"))
    types = {c.name: c.type for c in parts.columns}
    by_field = {**column_of, TENANT: TENANT, ID: ID}
    parts += rule_declared(ctx, names, model, models, types, by_field)
    parts += rule_rules_file(ctx, names, column_of, types)
    listed = ", ".join(m.name for m in sorted(models, key=lambda m: m.name))
    main = _table(table, names, parts, (TENANT, ID), rule_policy(ctx),
                  comment=f"{model.label} (Odoo model{'s' if len(models) > 1 else ''} {listed})",
                  provenance=TableProvenance(prov.MODEL_TABLE, model.table,
                                             tuple(dict.fromkeys([model.name, *(m.name for m in models)]))),
                  module=model.module)
    return [main, rule_company_values(ctx, table, model, per_company)] if per_company else [main]


# -- rule 9: company-dependent fields ---------------------------------------------------------

def rule_company_values(ctx: _Context, table: str, model: Model, stored: list[tuple[Model, Field]]) -> Table:
    """Rule 9: the per-company values of a model's company-dependent fields."""
    tpath = _path("models", model.name, "table")
    name = ctx.relations.claim(f"{table}{COMPANY_TABLE_SUFFIX}", f"company-dependent fields of {model.name}", tpath)
    owner = f"{model.name} (company-dependent fields)"
    names = rule_keys(ctx, name, tpath, TENANT, RES_ID, COMPANY_ID)
    found = [Parts(
        columns=(
            TENANT_COLUMN,
            Column(RES_ID, "uuid", not_null=True, comment=f"The {model.name} row",
                   provenance=Provenance(prov.COMPANY_ROW, model.name, target=model.name)),
            Column(COMPANY_ID, "uuid", not_null=True, comment="The company the values are for",
                   provenance=Provenance(prov.COMPANY, model.name, target=COMPANY_MODEL)),
        ),
        foreign_keys=(ForeignKey(names.constraints.claim(f"{name}_{RES_ID}_fkey", owner, tpath), (TENANT, RES_ID),
                                 table, (TENANT, ID), "CASCADE", origin=owner),),
    )]
    if COMPANY_MODEL in ctx.table_of:
        found.append(Parts(foreign_keys=(_fk(ctx, names, COMPANY_ID, COMPANY_MODEL, "cascade", owner, tpath),)))
    else:
        found.append(Parts(external=(ExternalReference(name, COMPANY_ID, COMPANY_MODEL, owner),)))
    found.append(Parts(indexes=(_index(ctx, name, _lead(COMPANY_ID), owner, path=tpath),)))
    columns: list[Column] = []
    for owner_model, f in stored:
        origin = _origin(owner_model, f)
        path = _field_path(owner_model, f)
        col = names.columns.claim(f.name, f"field {origin}", path)
        columns.append(Column(col, column_type(f, ctx.rules, owner_model.name) or "", comment=f.label or None,
                              provenance=_field_provenance(owner_model, f, ctx.rules, prov.COMPANY_VALUE)))
        found.append(field_keys(ctx, names, f, col, origin, path))
    parts = total([*found, Parts(columns=tuple(columns))])  # after the table's own three (found[0])
    _check_width(name, len(parts.columns), _path("models", model.name, "fields"))
    return _table(name, names, parts, (TENANT, RES_ID, COMPANY_ID), rule_policy(ctx),
                  comment=f"Per-company values of {model.label} (Odoo model {model.name}, company-dependent fields)",
                  provenance=TableProvenance(prov.COMPANY_VALUES, model.table, (model.name,)), module=model.module)


# -- rule 3: relation tables ------------------------------------------------------------------

def rule_relation_tables(ctx: _Context) -> list[Table]:
    """One table per relation table name, whichever many2many fields declare it."""
    declared: dict[str, list[tuple[Model, Field]]] = {}
    model_tables_ = ctx.model_tables
    for model in ctx.snapshot.models:
        for f in model.fields:
            if f.type != "many2many":
                continue
            name = shorten(ctx.placement.table(f.relation_table or ""))
            if name in model_tables_:
                ctx.notes.append(f"{_origin(model, f)}: many2many stored in the table of model "
                                 f"{model_tables_[name]}; no separate relation table")
                continue
            declared.setdefault(name, []).append((model, f))
    out = []
    for name in sorted(declared):
        users = declared[name]
        if len({_ends(m, f) for m, f in users}) == 1:
            table = _relation_table(ctx, name, *users[0], users)
            if len(users) > 1:  # the two sides of one relation: every field using it is its provenance
                table = replace(table, provenance=replace(
                    table.provenance, models=tuple(dict.fromkeys(m.name for m, _ in users)),
                    fields=tuple(_origin(m, f) for m, f in users)))
            out.append(table)
        else:
            out.append(_shared_relation_table(ctx, name, users))
    return out


def _ends(model: Model, f: Field) -> tuple[tuple[str, str], tuple[str, str]]:
    """The two (column, target model) ends in a canonical order (by column name), so a table is the
    same whichever of the many2many fields that share it declares it."""
    a, b = sorted(((f.column1 or "", model.name), (f.column2 or "", f.relation or "")))
    return a, b


def _end_on_delete(users: list[tuple[Model, Field]], odoo_column: str) -> str:
    """ON DELETE of a relation table's end: CASCADE, but RESTRICT where a many2many using the table
    has this end as its comodel's (``column2``) and the snapshot says Odoo declared it ``ondelete=
    'restrict'`` (captured from the database; the metadata over RPC does not say)."""
    restrict = any(f.column2 == odoo_column and f.on_delete == "restrict" for _, f in users)
    return "restrict" if restrict else "cascade"


def _relation_ends(ctx: _Context, names: _Names, col: str, target: str, origin: str, path: _Path,
                   on_delete: str = "cascade") -> Parts:
    """A relation table column's tenant-scoped foreign key, or an external reference."""
    if target in ctx.table_of:
        return Parts(foreign_keys=(_fk(ctx, names, col, target, on_delete, origin, path),))
    return Parts(external=(ExternalReference(names.table, col, target, origin),))


def _relation_table(ctx: _Context, table: str, model: Model, f: Field, users: list[tuple[Model, Field]]) -> Table:
    origin = _origin(model, f)
    path = _field_path(model, f)
    name = ctx.relations.claim(table, f"many2many {origin}", _field_path(model, f, "relation_table"))
    names = rule_keys(ctx, name, path, TENANT)
    (odoo1, first), (odoo2, second) = _ends(model, f)
    c1 = names.columns.claim(odoo1, f"{origin} first column", path)
    c2 = names.columns.claim(odoo2, f"{origin} second column", path)
    parts = Parts(columns=(
        TENANT_COLUMN,
        Column(c1, "uuid", not_null=True, comment=first,
               provenance=Provenance(prov.RELATION_END, model.name, f.name, odoo1, first)),
        Column(c2, "uuid", not_null=True, comment=second,
               provenance=Provenance(prov.RELATION_END, model.name, f.name, odoo2, second)),
    ))
    parts += _relation_ends(ctx, names, c1, first, origin, path, _end_on_delete(users, odoo1)) + \
        _relation_ends(ctx, names, c2, second, origin, path, _end_on_delete(users, odoo2))
    parts += Parts(indexes=(_index(ctx, name, [IndexColumn(TENANT), IndexColumn(c2), IndexColumn(c1)], origin,
                                   name=f"{name}_{c2}_{c1}_idx", path=path),))
    return _table(name, names, parts, (TENANT, c1, c2), rule_policy(ctx),
                  comment=f"{f.label} (Odoo many2many {origin})", module=model.module,
                  provenance=TableProvenance(prov.RELATION_TABLE, f.relation_table or "", (model.name,), (origin,)))


def _shared_relation_table(ctx: _Context, table: str, users: list[tuple[Model, Field]]) -> Table:
    """A relation table that many2many fields use with different column pairs: every column
    (nullable unless every pair has it), an id key, a UNIQUE and a foreign key per column."""
    origins = ", ".join(_origin(m, f) for m, f in users)
    first_path = _field_path(*users[0])
    name = ctx.relations.claim(table, f"many2many {origins}", _field_path(*users[0], "relation_table"))
    names = rule_keys(ctx, name, first_path, TENANT, ID)
    target_of: dict[str, tuple[str, str]] = {}
    field_of: dict[str, tuple[Model, Field]] = {}
    pairs = sorted({_ends(m, f) for m, f in users})
    for (m, f) in users:
        for col, target in _ends(m, f):
            field_of.setdefault(col, (m, f))
            seen = target_of.setdefault(col, (target, _origin(m, f)))
            if seen[0] != target:
                raise SnapshotError(f"relation table {table!r}: column {col!r} points at {seen[0]} for {seen[1]} "
                                    f"but at {target} for {_origin(m, f)}", at=_field_path(m, f))
    everywhere = set.intersection(*({a[0], b[0]} for a, b in pairs))
    found = [Parts(columns=(TENANT_COLUMN, ID_COLUMN))]
    for col in sorted(target_of):
        target, origin = target_of[col]
        claimed = names.columns.claim(col, f"{origin} column", first_path)
        m, f = field_of[col]
        found.append(Parts(columns=(Column(claimed, "uuid", not_null=col in everywhere, comment=target,
                                           provenance=Provenance(prov.RELATION_END, m.name, f.name, col, target)),)))
        found.append(_relation_ends(ctx, names, claimed, target, origin, first_path, _end_on_delete(users, col)))
        found.append(Parts(indexes=(_index(ctx, name, _lead(claimed), origin, path=first_path),)))
    _check_width(name, len(total(found).columns), first_path)
    for a, b in pairs:
        owner = f"many2many pair {a[0]}, {b[0]} of {name}"
        key = names.constraints.claim(ctx.relations.claim(f"{name}_{a[0]}_{b[0]}_key", owner, first_path), owner,
                                      first_path)
        found.append(Parts(uniques=(Unique(key, (TENANT, shorten(a[0]), shorten(b[0])), origins),)))
    parts = total(found)
    model, f = users[0]
    return _table(name, names, parts, (TENANT, ID), rule_policy(ctx),
                  comment=f"Relation table of the Odoo many2many fields {origins}",
                  provenance=TableProvenance(prov.RELATION_TABLE, users[0][1].relation_table or "",
                                             tuple(dict.fromkeys(m.name for m, _ in users)),
                                             tuple(_origin(m, f) for m, f in users)),
                  module=model.module)


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
    """The rules composed: every model table (with its per-company table), then the relation tables."""
    ctx = _context(snapshot, rules, placement)
    tables = [t for table, models in ctx.sharing.items() for t in model_tables(ctx, table, models)]
    tables += rule_relation_tables(ctx)
    return Schema(
        tables=tuple(sorted(tables, key=lambda t: t.name)),
        extensions=tuple(sorted(ctx.extensions)),
        notes=tuple(ctx.notes),
    )
