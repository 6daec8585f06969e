"""Carry Odoo's SQL constraints (``_sql_constraints`` and 19.0's ``models.Constraint``,
ir.model.constraint type ``u``) and 19.0's declared indexes (``models.Index`` /
``models.UniqueIndex``, type ``i``: ``[UNIQUE] INDEX (col [DESC], ...) [WHERE ...]``) over safely.

A definition is SQL text from Odoo metadata, so it is never pasted: it is tokenised, every
identifier must be a column of the table and is re-quoted with ``naming.ident``, every string
with ``naming.literal``; only numbers, a fixed set of operators, keywords and functions pass.
Anything else (``;``, ``$$``, comments, unknown functions, unbalanced parentheses) is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


def _index(text: str, columns: dict[str, str]) -> Translated:
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
    for tok in tokens[pos + 1 : end]:
        if tok[1] == ",":
            items.append([])
        else:
            items[-1].append(tok)
    names, desc = [], []
    for item in items:
        if not item or item[0][0] != "word" or len(item) > 2 or (len(item) == 2 and item[1][1].lower() not in ("asc", "desc")):
            raise Untranslatable("only plain columns (ASC/DESC) are carried over, not expressions")
        if item[0][1] not in columns:
            raise Untranslatable(f"column {item[0][1]} not in this table")
        names.append(item[0][1])
        desc.append(len(item) == 2 and item[1][1].lower() == "desc")
    if len(set(names)) != len(names):
        raise Untranslatable("a column is listed twice")
    rest = tokens[(end or 0) + 1 :]
    where = None
    if rest:
        if rest[0][1].lower() != "where" or len(rest) == 1:
            raise Untranslatable("only a WHERE clause may follow the index columns")
        where, _ = _expression(rest[1:], columns)
    return Translated("index", tuple(names), where, tuple(desc), unique)


def translate(definition: str, columns: dict[str, str]) -> Translated:
    """``columns`` maps the table's column names to their SQL types."""
    text = definition.strip()
    if re.match(r"(?is)(unique\s+)?index\b", text):
        return _index(text, columns)
    m = re.fullmatch(r"(?is)(unique|check)\s*\((.*)\)", text)
    if not m:
        raise Untranslatable("only unique(...), check(...) and [UNIQUE] INDEX (...) definitions are carried over")
    kind, body = m.group(1).lower(), m.group(2)
    tokens = _tokens(body)
    _balanced(tokens)
    if kind == "unique":
        names = [tok for k, tok in tokens if k != "op" or tok != ","]
        if not names or any(k != "word" for k, tok in tokens if tok != ","):
            raise Untranslatable("unique(...) must list column names only")
        missing = [n for n in names if n not in columns]
        if missing:
            raise Untranslatable(f"column(s) {', '.join(missing)} not in this table")
        return Translated("unique", tuple(names))
    expression, used = _expression(tokens, columns)
    return Translated("check", used, expression)


def _expression(tokens: list[tuple[str, str]], columns: dict[str, str]) -> tuple[str, tuple[str, ...]]:
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
                out.append(ident(tok))
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
