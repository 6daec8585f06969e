"""Carry Odoo's SQL constraints (``_sql_constraints``, ir.model.constraint type ``u``) over safely.

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
FUNCTIONS = {"coalesce", "char_length", "length", "lower", "upper", "abs", "trim", "nullif", "greatest", "least"}
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>>=|<=|!=|<>|\|\||[=<>*+\-/%(),])
    """,
    re.X,
)


class Untranslatable(Exception):
    """The definition cannot be carried over; the message says why."""


@dataclass(frozen=True)
class Translated:
    kind: str  # "unique" | "check"
    columns: tuple[str, ...]  # unique: the columns (without tenant_id); check: columns referenced
    expression: str | None = None  # check: the SQL expression, safely re-quoted


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


def translate(definition: str, columns: dict[str, str]) -> Translated:
    """``columns`` maps the table's column names to their SQL types."""
    text = definition.strip()
    m = re.fullmatch(r"(?is)(unique|check)\s*\((.*)\)", text)
    if not m:
        raise Untranslatable("only unique(...) and check(...) definitions are carried over")
    kind, body = m.group(1).lower(), m.group(2)
    tokens = _tokens(body)
    depth = 0
    for _, tok in tokens:
        depth += tok == "("
        depth -= tok == ")"
        if depth < 0:
            raise Untranslatable("unbalanced parentheses")
    if depth:
        raise Untranslatable("unbalanced parentheses")
    if kind == "unique":
        names = [tok for k, tok in tokens if k != "op" or tok != ","]
        if not names or any(k != "word" for k, tok in tokens if tok != ","):
            raise Untranslatable("unique(...) must list column names only")
        missing = [n for n in names if n not in columns]
        if missing:
            raise Untranslatable(f"column(s) {', '.join(missing)} not in this table")
        return Translated("unique", tuple(names))

    out: list[str] = []
    used: list[str] = []
    for i, (k, tok) in enumerate(tokens):
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
                if columns[tok] == "uuid" and not _null_test(tokens, i):
                    raise Untranslatable(f"compares {tok}, which is a uuid here, with a value")
                out.append(ident(tok))
                used.append(tok)
            else:
                raise Untranslatable(f"{tok!r} is neither a column of this table nor an allowed keyword or function")
    return Translated("check", tuple(dict.fromkeys(used)), _join(out))


def _null_test(tokens: list[tuple[str, str]], i: int) -> bool:
    rest = [t.lower() for _, t in tokens[i + 1 : i + 4]]
    return rest[:2] == ["is", "null"] or rest[:3] == ["is", "not", "null"]


def _join(parts: list[str]) -> str:
    text = ""
    previous = ""
    for part in parts:
        if not text or text.endswith("(") or part in (")", ",") or (part == "(" and previous in FUNCTIONS):
            text += part
        else:
            text += " " + part
        previous = part
    return text.replace(" ,", ",")
