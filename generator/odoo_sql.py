"""Carry Odoo's SQL constraints (``_sql_constraints`` and 19.0's ``models.Constraint``,
ir.model.constraint type ``u``) and 19.0's declared indexes (``models.Index`` /
``models.UniqueIndex``, type ``i``: ``[UNIQUE] INDEX (col [DESC], ...) [WHERE ...]``) over safely.

A definition is SQL text from Odoo metadata, so it is never pasted: it is tokenised, every
identifier must be a column of the table and is re-quoted with ``naming.ident``, every string
with ``naming.literal``; only numbers, a fixed set of operators, keywords and functions pass.
Anything else (``;``, ``$$``, comments, unknown functions, unbalanced parentheses) is refused.

The re-quoted text is then parsed by PostgreSQL's own grammar (pglast, which wraps libpg_query) as
the one statement it will be part of, and its expression is type-checked against the table's column
types (boolean condition, operators and casts that exist, constants that convert, nothing PostgreSQL
evaluates when it creates the constraint), so what is carried over is what PostgreSQL accepts.
What is not is reported as a note and left out, as Odoo itself does with a constraint PostgreSQL
refuses (it logs a warning and goes on).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from generator.naming import ident, literal

KEYWORDS = {"and", "or", "not", "is", "null", "in", "like", "ilike", "true", "false", "between", "escape"}
FUNCTIONS = {"coalesce", "char_length", "length", "lower", "upper", "abs", "trim", "nullif", "greatest", "least",
             "jsonb_typeof"}
CAST_TYPES = {"jsonb", "json", "text", "integer", "numeric", "date", "boolean", "varchar"}  # allowed after ::
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>::|>=|<=|!=|<>|\|\||[=<>*+\-/%(),])
    """,
    re.X,
)


class Untranslatable(Exception):
    """The definition cannot be carried over; the message says why."""


@dataclass(frozen=True)
class Translated:
    kind: str  # "unique" | "check" | "index"
    columns: tuple[str, ...]  # unique/index: the columns (without tenant_id); check: columns referenced
    expression: str | None = None  # check: the SQL expression; index: its WHERE clause (re-quoted)
    descending: tuple[bool, ...] = ()  # index: per column
    unique: bool = False  # index: a UNIQUE INDEX
    coalesce: tuple[str | None, ...] = ()  # index: per column, the SQL constant NULL counts as (COALESCE)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise Untranslatable(f"unexpected character {text[pos]!r} at position {pos}")
        pos = m.end()
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group()))
    return out


def _balanced(tokens: list[tuple[str, str]]) -> None:
    depth = 0
    for _, tok in tokens:
        depth += tok == "("
        depth -= tok == ")"
        if depth < 0:
            raise Untranslatable("unbalanced parentheses")
    if depth:
        raise Untranslatable("unbalanced parentheses")


def _index(text: str, columns: dict[str, str], names: dict[str, str]) -> Translated:
    """``[UNIQUE] INDEX (col [ASC|DESC], ...) [WHERE condition]`` (19.0's models.Index)."""
    tokens = _tokens(text)
    _balanced(tokens)
    words = [t.lower() for _, t in tokens]
    unique = words[:1] == ["unique"]
    pos = 2 if unique else 1
    if words[pos - 1 : pos + 1] != ["index", "("]:
        raise Untranslatable("an index definition is [UNIQUE] INDEX (columns) [WHERE condition]")
    depth, end = 0, None
    for i in range(pos, len(tokens)):
        depth += words[i] == "("
        depth -= words[i] == ")"
        if depth == 0:
            end = i
            break
    items: list[list[tuple[str, str]]] = [[]]
    depth = 0
    for tok in tokens[pos + 1 : end]:
        depth += tok[1] == "("
        depth -= tok[1] == ")"
        if tok[1] == "," and depth == 0:
            items.append([])
        else:
            items[-1].append(tok)
    listed, desc, coalesce = [], [], []
    for item in items:
        order = item[-1][1].lower() if item and item[-1][1].lower() in ("asc", "desc") else None
        core = item[:-1] if order else item
        if len(core) == 1 and core[0][0] == "word":
            column, instead = core[0][1], None
        elif [t.lower() for _, t in core[:2]] == ["coalesce", "("] and len(core) == 6 and core[2][0] == "word" \
                and core[3][1] == "," and core[4][0] in ("number", "string") and core[5][1] == ")":
            column = core[2][1]
            instead = _null_key(core[4], columns.get(column, ""), column) if column in columns else None
        else:
            raise Untranslatable("only plain columns and COALESCE(column, constant) (ASC/DESC) are carried over, "
                                 "not other expressions")
        if column not in columns:
            raise Untranslatable(f"column {column} not in this table")
        listed.append(column)
        desc.append(order == "desc")
        coalesce.append(instead)
    if len(set(listed)) != len(listed):
        raise Untranslatable("a column is listed twice")
    rest = tokens[(end or 0) + 1 :]
    where = None
    if rest:
        if rest[0][1].lower() != "where" or len(rest) == 1:
            raise Untranslatable("only a WHERE clause may follow the index columns")
        where, _ = _expression(rest[1:], columns, names)
        _check_condition(where, {names.get(f, f): t for f, t in columns.items()}, in_index=True)
    return Translated("index", tuple(listed), where, tuple(desc), unique, tuple(coalesce))


# The uuid that stands for Odoo's "no record" 0 where an id column holds uuids (COALESCE(company_id, 0)).
NIL_UUID = "00000000-0000-0000-0000-000000000000"


def _null_key(constant: tuple[str, str], ctype: str, column: str) -> str:
    """The SQL constant of ``COALESCE(column, constant)`` in an index: what NULL counts as. Odoo's 0
    for an id column that holds uuids here becomes the nil uuid, so NULLs still count as one value."""
    kind, text = constant
    if ctype == "uuid" and text == "0":
        return f"{literal(NIL_UUID)}::uuid"
    if kind == "number" and ctype in ("integer", "bigint", "numeric", "double precision") and (
            "." not in text or ctype in ("numeric", "double precision")):
        return text
    if kind == "string" and (ctype in ("text", "character varying") or ctype.startswith("character varying(")):
        return literal(text[1:-1].replace("''", "'"))
    raise Untranslatable(f"COALESCE({column}, {text}) does not fit the column's type here ({ctype})")


def translate(definition: str, columns: dict[str, str], names: dict[str, str] | None = None) -> Translated:
    """``columns`` maps the table's field names to their SQL types; ``names`` maps a field name to
    its column name where they differ (a name shortened to 63 bytes). The result's ``columns`` are
    field names; its SQL (``expression``) uses the column names."""
    names = names or {}
    text = definition.strip()
    if re.match(r"(?is)(unique\s+)?index\b", text):
        return _index(text, columns, names)
    m = re.fullmatch(r"(?is)(unique|check)\s*\((.*)\)", text)
    if not m:
        raise Untranslatable("only unique(...), check(...) and [UNIQUE] INDEX (...) definitions are carried over")
    kind, body = m.group(1).lower(), m.group(2)
    tokens = _tokens(body)
    _balanced(tokens)
    if kind == "unique":
        listed = [tok for k, tok in tokens if k != "op" or tok != ","]
        if not listed or any(k != "word" for k, tok in tokens if tok != ","):
            raise Untranslatable("unique(...) must list column names only")
        missing = [n for n in listed if n not in columns]
        if missing:
            raise Untranslatable(f"column(s) {', '.join(missing)} not in this table")
        if len(set(listed)) != len(listed):
            raise Untranslatable("a column is listed twice")
        return Translated("unique", tuple(listed))
    expression, used = _expression(tokens, columns, names)
    _check_condition(expression, {names.get(f, f): t for f, t in columns.items()})
    return Translated("check", used, expression)


def _expression(tokens: list[tuple[str, str]], columns: dict[str, str],
                names: dict[str, str]) -> tuple[str, tuple[str, ...]]:
    """A boolean expression, re-quoted: (SQL, the columns it uses)."""
    out: list[str] = []
    used: list[str] = []
    skip = 0
    for i, (k, tok) in enumerate(tokens):
        if skip:
            skip -= 1
            continue
        if k == "op" and tok == "::":
            target = tokens[i + 1][1].lower() if i + 1 < len(tokens) else ""
            if target not in CAST_TYPES:
                raise Untranslatable(f"cast to {target!r} is not carried over")
            out += ["::", target]
            skip = 1
            continue
        if k == "string":
            out.append(literal(tok[1:-1].replace("''", "'")))
        elif k == "number":
            out.append(tok)
        elif k == "op":
            out.append(tok)
        else:
            low = tok.lower()
            nxt = tokens[i + 1][1] if i + 1 < len(tokens) else ""
            if low in FUNCTIONS and nxt == "(":
                out.append(low)
            elif low in KEYWORDS:
                out.append(low.upper())
            elif tok in columns:
                zero = _zero_id_test(tokens, i)
                if columns[tok] == "uuid" and zero is not None:
                    # Odoo's 0 means "no record"; no uuid equals 0, so the test has a fixed answer
                    out.append(zero)
                    used.append(tok)
                    skip = 2
                    continue
                if columns[tok] == "uuid" and not _null_test(tokens, i):
                    raise Untranslatable(f"compares {tok}, which is a uuid here, with a value")
                out.append(ident(names.get(tok, tok)))
                used.append(tok)
            else:
                raise Untranslatable(f"{tok!r} is neither a column of this table nor an allowed keyword or function")
    return _join(out), tuple(dict.fromkeys(used))


def _zero_id_test(tokens: list[tuple[str, str]], i: int) -> str | None:
    """``col = 0`` -> 'FALSE', ``col != 0`` / ``col <> 0`` -> 'TRUE' (an id column compared with Odoo's
    "no record" 0, once the column holds uuids); None for anything else."""
    rest = [t for _, t in tokens[i + 1 : i + 3]]
    if len(rest) == 2 and rest[1] == "0" and rest[0] in ("=", "!=", "<>"):
        return "FALSE" if rest[0] == "=" else "TRUE"
    return None


def _null_test(tokens: list[tuple[str, str]], i: int) -> bool:
    rest = [t.lower() for _, t in tokens[i + 1 : i + 4]]
    return rest[:2] == ["is", "null"] or rest[:3] == ["is", "not", "null"]


def _join(parts: list[str]) -> str:
    text = ""
    previous = ""
    for part in parts:
        if not text or text.endswith("(") or part in (")", ",", "::") or previous == "::" \
                or (part == "(" and previous in FUNCTIONS):
            text += part
        else:
            text += " " + part
        previous = part
    return text.replace(" ,", ",")


# ---------------------------------------------------------------------------------------------
# PostgreSQL's own grammar (pglast wraps libpg_query, the parser of PostgreSQL itself), then types:
# the re-quoted text must parse as exactly one statement, and its expression must be a boolean
# condition whose operators, functions and casts PostgreSQL resolves for these column types.

_CATEGORY = {
    "boolean": "bool", "integer": "int", "numeric": "num", "double precision": "float", "text": "text",
    "character varying": "text", "date": "date", "timestamp without time zone": "ts", "jsonb": "jsonb",
    "uuid": "uuid",
}
_CAST_CATEGORY = {"jsonb": "jsonb", "json": "json", "text": "text", "int4": "int", "numeric": "num",
                  "date": "date", "bool": "bool", "varchar": "text"}
_NUMBERS = {"int", "num", "float"}
_COMPARABLE = [_NUMBERS, {"text"}, {"date", "ts"}, {"bool"}, {"jsonb"}, {"uuid"}]
_COMPARISONS = {"=", "<>", "!=", "<", ">", "<=", ">="}
_ARITHMETIC = {"+", "-", "*", "/", "%"}
_CASTS = {  # (from, to) pairs PostgreSQL has a cast for, besides to/from text and to itself
    ("int", "num"), ("int", "float"), ("num", "int"), ("num", "float"), ("float", "int"), ("float", "num"),
    ("int", "bool"), ("bool", "int"), ("jsonb", "int"), ("jsonb", "num"), ("jsonb", "float"), ("jsonb", "bool"),
    ("jsonb", "json"), ("json", "jsonb"), ("date", "ts"), ("ts", "date"),
}
_FUNCTIONS = {  # name: (argument categories accepted, result category or None for "same as the argument")
    "char_length": ({"text"}, "int"), "length": ({"text"}, "int"), "lower": ({"text"}, "text"),
    "upper": ({"text"}, "text"), "btrim": ({"text"}, "text"), "ltrim": ({"text"}, "text"),
    "rtrim": ({"text"}, "text"), "abs": (_NUMBERS, None), "jsonb_typeof": ({"jsonb"}, "text"),
}
_NUMBER_TEXT = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*\Z")
_BOOL_TEXT = {"t", "true", "y", "yes", "on", "1", "f", "false", "n", "no", "off", "0"}


@dataclass(frozen=True)
class _Value:
    category: str  # a _CATEGORY value, "unknown" (a string constant), "null", "json"
    constant: bool  # no column in it
    text: str | None = None  # the string constant, for "unknown"


def _literal_fits(text: str, category: str) -> bool:
    """Whether PostgreSQL turns the string constant ``text`` into a value of ``category`` (it does so
    when it creates the constraint, and an error there fails the migration)."""
    if category in ("text", "unknown"):
        return True
    if category == "int":
        return bool(re.fullmatch(r"\s*[+-]?\d+\s*", text)) and -2**31 <= int(text) < 2**31
    if category in ("num", "float"):
        return bool(_NUMBER_TEXT.match(text))
    if category == "bool":
        return text.strip().lower() in _BOOL_TEXT
    if category in ("date", "ts"):
        pattern = r"\d{4}-\d{2}-\d{2}" if category == "date" else r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?"
        if not re.fullmatch(pattern, text.strip()):
            return False
        try:
            datetime.fromisoformat(text.strip())
        except ValueError:
            return False
        return True
    if category in ("jsonb", "json"):
        try:
            json.loads(text, parse_constant=_no_constant)
        except ValueError:
            return False
        return True
    if category == "uuid":
        return bool(re.fullmatch(r"\s*[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}\s*", text))
    return False


def _no_constant(text: str) -> None:
    raise ValueError(text)


def _common(values: list[_Value], what: str) -> str:
    """The category PostgreSQL resolves ``values`` to, compared or combined; Untranslatable if none."""
    known = {v.category for v in values if v.category not in ("unknown", "null")}
    if not known:
        return "text" if any(v.category == "unknown" for v in values) else "null"
    group = next((g for g in _COMPARABLE if known <= g), None)
    if group is None:
        raise Untranslatable(f"{what}: PostgreSQL has no operator for {' and '.join(sorted(known))} values here")
    target = "float" if "float" in known else "num" if "num" in known else "ts" if "ts" in known else known.pop()
    for v in values:
        if v.category == "unknown" and not _literal_fits(v.text or "", target):
            raise Untranslatable(f"{what}: {v.text!r} is not a valid {target} value")
    return target


class _Checker:
    def __init__(self, types: dict[str, str], in_index: bool):
        self.types = {name: _CATEGORY.get(t.split("(")[0], "other") for name, t in types.items()}
        self.in_index = in_index

    def value(self, node: dict) -> _Value:
        """``node``: a node of libpg_query's JSON parse tree, ``{"NodeType": {field: value}}`` (fields
        at their default value, 0, false or empty, are left out)."""
        ((kind, fields),) = node.items()
        handler = getattr(self, f"_{kind}", None)
        if handler is None:
            raise Untranslatable(f"{kind} is not carried over")
        return handler(fields)

    def _ColumnRef(self, node: dict) -> _Value:
        names = [f.get("String", {}).get("sval") for f in node["fields"]]
        if len(names) != 1 or names[0] not in self.types:
            raise Untranslatable(f"{'.'.join(map(str, names))} is not a column of this table")
        return _Value(self.types[names[0]], False)

    def _A_Const(self, node: dict) -> _Value:
        if node.get("isnull"):
            return _Value("null", True)
        if "ival" in node:
            return _Value("int", True)
        if "fval" in node:
            return _Value("num", True)
        if "boolval" in node:
            return _Value("bool", True)
        if "sval" in node:
            return _Value("unknown", True, node["sval"].get("sval", ""))
        raise Untranslatable(f"constant {'BitString' if 'bsval' in node else 'of this kind'} is not carried over")

    def _TypeCast(self, node: dict) -> _Value:
        arg = self.value(node["arg"])
        type_name = node["typeName"]
        if type_name.get("arrayBounds"):
            raise Untranslatable("casts to arrays are not carried over")
        name = type_name["names"][-1]["String"]["sval"]
        target = _CAST_CATEGORY.get(name)
        if target is None:
            raise Untranslatable(f"cast to {name} is not carried over")
        source = arg.category
        if source == "unknown":
            if not _literal_fits(arg.text or "", target):
                raise Untranslatable(f"{arg.text!r} is not a valid {target} value")
        elif arg.constant and source != "null" and target != "text":
            raise Untranslatable("a cast of a computed constant is not carried over (PostgreSQL evaluates it)")
        elif source not in (target, "text", "null") and target != "text" and (source, target) not in _CASTS:
            raise Untranslatable(f"PostgreSQL has no cast from {source} to {target}")
        if self.in_index and source in ("text", "unknown") and target in ("date", "ts") and not arg.constant:
            raise Untranslatable("a text to date cast is not immutable, so not allowed in an index predicate")
        return _Value(target, arg.constant)

    def _BoolExpr(self, node: dict) -> _Value:
        args = [self.value(a) for a in node["args"]]
        for a in args:
            self.boolean(a, node["boolop"].split("_")[0])
        return _Value("bool", all(a.constant for a in args))

    @staticmethod
    def boolean(v: _Value, what: str) -> None:
        if v.category == "unknown" and _literal_fits(v.text or "", "bool"):
            return
        if v.category not in ("bool", "null"):
            raise Untranslatable(f"{what} needs a boolean condition, not a {v.category} value")

    def _NullTest(self, node: dict) -> _Value:
        return _Value("bool", self.value(node["arg"]).constant)

    def _BooleanTest(self, node: dict) -> _Value:
        arg = self.value(node["arg"])
        self.boolean(arg, "IS TRUE/FALSE")
        return _Value("bool", arg.constant)

    def _CoalesceExpr(self, node: dict) -> _Value:
        args = [self.value(a) for a in node["args"]]
        return _Value(_common(args, "coalesce"), all(a.constant for a in args))

    def _MinMaxExpr(self, node: dict) -> _Value:
        args = [self.value(a) for a in node["args"]]
        return _Value(_common(args, node["op"].lower()), all(a.constant for a in args))

    def _FuncCall(self, node: dict) -> _Value:
        name = node["funcname"][-1]["String"]["sval"]
        args = [self.value(a) for a in node.get("args") or ()]
        if name == "like_escape" and len(args) == 2:
            for a in args:
                _common([a, _Value("text", False)], "ESCAPE")
            return _Value("text", all(a.constant for a in args))
        if name not in _FUNCTIONS or len(args) != 1 or node.get("agg_star") or node.get("over") \
                or node.get("agg_order") or node.get("agg_filter") or node.get("func_variadic"):
            raise Untranslatable(f"function {name} is not carried over in this form")
        accepted, result = _FUNCTIONS[name]
        arg = args[0]
        if arg.constant:
            raise Untranslatable(f"{name}() of a constant is not carried over (PostgreSQL evaluates it)")
        if arg.category not in accepted | {"null"}:
            raise Untranslatable(f"PostgreSQL has no {name}() for a {arg.category} value")
        return _Value(result or arg.category, False)

    def _A_Expr(self, node: dict) -> _Value:
        kind = node["kind"]
        op = node["name"][-1]["String"]["sval"] if node.get("name") else ""
        left = self.value(node["lexpr"]) if node.get("lexpr") else None
        right = node.get("rexpr")
        if kind == "AEXPR_IN":
            items = [self.value(r) for r in right["List"]["items"]]
            for item in items:
                _common([left, item], "IN")
            return _Value("bool", left.constant and all(i.constant for i in items))
        if kind in ("AEXPR_BETWEEN", "AEXPR_NOT_BETWEEN", "AEXPR_BETWEEN_SYM", "AEXPR_NOT_BETWEEN_SYM"):
            items = [self.value(r) for r in right["List"]["items"]]
            _common([left, *items], "BETWEEN")
            return _Value("bool", left.constant and all(i.constant for i in items))
        rv = self.value(right)
        if kind in ("AEXPR_LIKE", "AEXPR_ILIKE"):
            for v in (left, rv):
                if v.category not in ("text", "unknown", "null"):
                    raise Untranslatable(f"LIKE needs text, not a {v.category} value")
            return _Value("bool", left.constant and rv.constant)
        if kind == "AEXPR_NULLIF":
            category = _common([left, rv], "nullif")
            return _Value(left.category if left.category not in ("unknown", "null") else category,
                          left.constant and rv.constant)
        if kind != "AEXPR_OP":
            raise Untranslatable(f"{kind} is not carried over")
        if op in _COMPARISONS and left is not None:
            _common([left, rv], op)
            return _Value("bool", left.constant and rv.constant)
        if left is None:  # prefix operator
            if op in ("-", "+") and rv.category in _NUMBERS:
                return _Value(rv.category, rv.constant)
            raise Untranslatable(f"prefix {op} is not carried over")
        if left.constant and rv.constant:
            raise Untranslatable(f"arithmetic on constants ({op}) is not carried over (PostgreSQL evaluates it)")
        if op == "||":
            cats = {left.category, rv.category} - {"null"}
            if cats <= {"text", "unknown"}:
                return _Value("text", False)
            if cats == {"jsonb"}:
                return _Value("jsonb", False)
            raise Untranslatable(f"|| of {' and '.join(sorted(cats))} values is not carried over")
        if op in _ARITHMETIC:
            cats = {left.category, rv.category} - {"null"}
            for v in (left, rv):
                if v.category == "unknown":
                    raise Untranslatable(f"arithmetic ({op}) on a string constant is not carried over")
            if cats <= _NUMBERS and not (op == "%" and "float" in cats):
                return _Value("float" if "float" in cats else "num" if "num" in cats else "int", False)
            if left.category == "date" and rv.category == "int" and op in "+-":
                return _Value("date", False)
            if left.category == "date" and rv.category == "date" and op == "-":
                return _Value("int", False)
            raise Untranslatable(f"PostgreSQL has no {op} for {left.category} and {rv.category} values")
        raise Untranslatable(f"operator {op} is not carried over")


def _parsed(statement: str) -> dict:
    """The one statement of ``statement`` as PostgreSQL's parser sees it (libpg_query's JSON parse
    tree: pglast's tree of Python objects takes ten times as long to build); Untranslatable otherwise."""
    import pglast.parser  # imported when a snapshot has a constraint to translate (a generate without any starts faster)

    try:
        statements = json.loads(pglast.parser.parse_sql_json(statement))["stmts"]
    except pglast.parser.ParseError as exc:
        raise Untranslatable(f"PostgreSQL's parser refuses it: {exc.args[0]}") from None
    if len(statements) != 1:
        raise Untranslatable("not exactly one statement")
    return statements[0]["stmt"]


def _check_condition(expression: str, types: dict[str, str], *, in_index: bool = False) -> None:
    """Raise Untranslatable unless PostgreSQL would accept ``expression`` as a CHECK (or, with
    ``in_index``, as an index predicate) on a table with these columns."""
    if in_index:
        node = _parsed(f"CREATE INDEX i ON t (x) WHERE {expression}")["IndexStmt"]["whereClause"]
    else:
        stmt = _parsed(f"ALTER TABLE t ADD CONSTRAINT c CHECK ({expression})")["AlterTableStmt"]
        node = stmt["cmds"][0]["AlterTableCmd"]["def"]["Constraint"]["raw_expr"]
    try:
        value = _Checker(types, in_index).value(node)
    except RecursionError:
        raise Untranslatable("nested too deeply") from None
    _Checker.boolean(value, "a CHECK" if not in_index else "an index predicate")
