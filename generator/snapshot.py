"""Load, save and validate snapshot JSON.

The file is deterministic: sorted keys, no timestamps, LF line ends, one trailing newline, so
capturing the same Odoo twice gives byte-identical files and a git diff reads as the schema change.
The format is declared once, on the types of generator/model.py; generator/declared.py derives
from it the JSON Schema (``generator/schema/snapshot-<format>.schema.json``), the reader and the
writer. Loading reads a good file in one pass (C json.loads, then the declared reader, which checks
and builds together) and checks what a JSON Schema cannot (relations naming models that exist). A
file it refuses is read again, strictly and slowly, to name the JSON path at fault.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from generator import declared
from generator.errors import SnapshotError, UsageError
from generator.model import FORMAT, Snapshot


@lru_cache(maxsize=None)
def _schema() -> dict[str, Any]:
    """The committed schema (generated from the declarations in generator/model.py; a test keeps
    the file equal to ``declared.json_schema()``)."""
    from importlib import resources  # the slow path only

    text = resources.files("generator").joinpath(f"schema/snapshot-{FORMAT}.schema.json").read_text("utf-8")
    return json.loads(text)


def to_dict(snapshot: Snapshot) -> dict[str, Any]:
    """The snapshot's plain JSON data, as the declarations in generator/model.py say."""
    return declared.to_json(snapshot)


# ---------------------------------------------------------------------------------------------
# text


def dumps(snapshot: Snapshot) -> str:
    """The bytes of ``json.dumps(to_dict(snapshot), indent=1, sort_keys=True, ensure_ascii=False) + "\\n"``
    in a third of the time: json.dumps leaves its C encoder for a pure-Python one when asked to
    indent; ``declared.to_text`` writes the text straight from the objects (keys in an order fixed
    by the declarations, C string quoting), so the whole snapshot's data never exists as
    dictionaries (a few hundred MB at 10,000 models)."""
    return declared.to_text(snapshot, "\n") + "\n"


def sha256(text: str) -> str:
    import hashlib  # here: its import (OpenSSL) costs milliseconds, and most runs never hash

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def json_path(parts: Any) -> str:
    """``$.models["sale.order"].fields.name``: where in a snapshot something is (for messages)."""
    out = "$"
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            text = _clip(str(p))
            out += f".{text}" if text.isidentifier() else f"[{json.dumps(text)}]"
    return out


_json_path = json_path


def _clip(text: str, limit: int = 80) -> str:
    """Text for a one-line message: at most ``limit`` characters, no line breaks."""
    text = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}"
                   for ch in text[: limit + 1])
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------------------------------------
# strict JSON: what json.loads lets through but a snapshot must not hold

MAX_DEPTH = 12  # the deepest a valid snapshot goes is 6 ($.models[m].fields[f].selection[i][0])
MAX_INTEGER_DIGITS = 18  # integers in a snapshot are small (format, size); also below int4300 limit
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})|[\x00\ud800-\udfff]")
_BAD_CHAR = re.compile(r"[\x00\ud800-\udfff]")
_EMPTY_PAIR = re.compile(r"\[\]|\{\}")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class _Odd:
    """A value json.loads produced that a snapshot must not hold; the walk names its path."""

    def __init__(self, problem: str):
        self.problem = problem


class _Object(dict):
    duplicate: str | None = None


class _Strict:
    """json.loads hooks that mark (instead of silently resolving) duplicate keys, huge integers,
    non-integer numbers and NaN/Infinity, so that ``_walk`` can report each with its JSON path."""

    def __init__(self) -> None:
        self.odd = False

    def pairs(self, pairs: list[tuple[str, Any]]) -> dict:
        obj = _Object(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    obj.duplicate = key
                    break
                seen.add(key)
            self.odd = True
        return obj

    def integer(self, text: str) -> Any:
        digits = len(text.lstrip("-"))
        if digits > MAX_INTEGER_DIGITS:
            self.odd = True
            return _Odd(f"an integer of {digits} digits; integers in a snapshot are small")
        return int(text)

    def number(self, text: str) -> Any:
        self.odd = True
        return _Odd(f"{_clip(text, 30)} is not an integer; numbers in a snapshot are integers, written without "
                    "a fraction or exponent")

    def constant(self, text: str) -> Any:
        self.odd = True
        return _Odd(f"{text} is not JSON")


def _too_deep(text: str) -> bool:
    """True when the JSON text nests deeper than MAX_DEPTH (regex passes, no Python loop per byte)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(MAX_DEPTH):
        if not brackets:
            return False
        brackets, n = _EMPTY_PAIR.subn("", brackets)
        if not n:
            return False  # unbalanced: json.loads reports it
    return bool(brackets)


def _deep_path(text: str) -> list[Any]:
    """The JSON path at which ``text`` first nests deeper than MAX_DEPTH (slow; only on failure)."""
    stack: list[list[Any]] = []  # [kind, key or index]
    i, n, pending_key = 0, len(text), None
    while i < n:
        ch = text[i]
        if ch == '"':
            m = _STRING.match(text, i)
            end = m.end() if m else n
            if stack and stack[-1][0] == "{" and stack[-1][1] is None:
                try:
                    pending_key = json.loads(text[i:end])
                except ValueError:
                    pending_key = "?"
            i = end
            continue
        if ch == ":" and stack and stack[-1][0] == "{":
            stack[-1][1] = pending_key
        elif ch == "," and stack:
            if stack[-1][0] == "[":
                stack[-1][1] += 1
            else:
                stack[-1][1] = None
        elif ch in "[{":
            if len(stack) >= MAX_DEPTH:
                return [entry[1] for entry in stack]
            stack.append(["[", 0] if ch == "[" else ["{", None])
        elif ch in "]}" and stack:
            stack.pop()
        i += 1
    return []


def _walk(data: Any, check_text: bool) -> tuple[list[Any], str] | None:
    """The first (JSON path, problem) of the parsed data, depth first, or None. Iterative: no depth limit."""
    stack: list[tuple[Any, Any, int]] = [(data, None, 0)]  # (value, (parent path, key), depth)
    while stack:
        value, where, depth = stack.pop()

        if depth > MAX_DEPTH:
            return _unlink(where), f"nested deeper than {MAX_DEPTH} levels"
        if isinstance(value, _Odd):
            return _unlink(where), value.problem
        if isinstance(value, str):
            if check_text and _BAD_CHAR.search(value):
                return _unlink(where), _bad_text(value)
        elif isinstance(value, float):
            return _unlink(where), f"{value!r} is not an integer"
        elif isinstance(value, dict):
            if getattr(value, "duplicate", None) is not None:
                return _unlink(where), f"duplicate key {_clip(value.duplicate)!r} (JSON objects must not repeat a key)"
            for key in reversed(list(value)):
                if check_text and _BAD_CHAR.search(key):
                    return _unlink(where) + [key], _bad_text(key, "key")
                stack.append((value[key], (where, key), depth + 1))
        elif isinstance(value, list):
            for index in range(len(value) - 1, -1, -1):
                stack.append((value[index], (where, index), depth + 1))
    return None


def _unlink(node: Any) -> list[Any]:
    out = []
    while node is not None:
        node, key = node
        out.append(key)
    return out[::-1]


def _bad_text(text: str, what: str = "text") -> str:
    ch = _BAD_CHAR.search(text).group()  # type: ignore[union-attr]
    if ch == "\x00":
        return f"{what} contains a NUL character (\\u0000), which PostgreSQL cannot hold"
    return f"{what} contains a lone surrogate (\\u{ord(ch):04x}), which is not valid Unicode text"


def parse(text: str, *, path: str | None = None) -> Any:
    """Strict JSON: refuse duplicate keys, NUL and lone surrogates, non-integer numbers, NaN, huge
    integers and absurd nesting, each with its JSON path."""
    if _too_deep(text):
        raise SnapshotError(f"nested deeper than {MAX_DEPTH} levels", path=path, at=json_path(_deep_path(text)))
    hooks = _Strict()
    try:
        data = json.loads(text, object_pairs_hook=hooks.pairs, parse_int=hooks.integer, parse_float=hooks.number,
                          parse_constant=hooks.constant)
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", path=path) from None
    except RecursionError:  # not reached after _too_deep; kept so no input can give a traceback
        raise SnapshotError(f"nested deeper than {MAX_DEPTH} levels", path=path) from None
    suspect = bool(_SUSPECT_ESCAPE.search(text))
    if hooks.odd or suspect:
        found = _walk(data, suspect)
        if found:
            raise SnapshotError(found[1], path=path, at=json_path(found[0]))
    return data


def validate(data: Any, *, path: str | None = None) -> None:
    """Raise SnapshotError naming the JSON path of the first problem found."""
    if not isinstance(data, dict):
        raise SnapshotError("a snapshot must be a JSON object", path=path)
    fmt = data.get("format")
    if fmt is None:
        raise SnapshotError("missing key 'format' (is this an fbs-schema snapshot?)", path=path, at="$")
    if fmt != FORMAT or type(fmt) is not int:
        raise SnapshotError(
            f"unsupported snapshot format {fmt!r}; this version of fbs-schema reads format {FORMAT}",
            path=path,
            at="$.format",
        )
    import jsonschema  # only here, on the slow path that explains a problem (its import is slow)

    validator = jsonschema.Draft7Validator(_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        err = errors[0]
        at = _json_path(err.absolute_path)
        message = err.message
        if err.validator == "enum" and err.absolute_path and err.absolute_path[-1] == "type":
            message = f"unknown field type {err.instance!r}"
        elif err.validator == "additionalProperties":
            message = f"unexpected key: {err.message.split('(')[-1].rstrip(')')}"
        elif err.validator == "maxLength":
            message = f"is too long: {len(err.instance):,} characters, at most {err.validator_value:,}"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise SnapshotError(_clip(message, 200) + more, path=path, at=at)
    _check_references(data, path)


def _check_references(data: dict[str, Any], path: str | None) -> None:
    known = set(data["models"]) | set(data["external_models"]) | set(data.get("tableless_models", {}))
    for mname, m in data["models"].items():
        for fname, f in m["fields"].items():
            rel = f.get("relation")
            if rel is not None and rel not in known:
                raise SnapshotError(
                    f"field {_clip(mname)}.{_clip(fname)} points at model {_clip(rel)!r}, which is neither in the snapshot's "
                    "models nor in its external_models",
                    path=path,
                    at=_json_path(["models", mname, "fields", fname, "relation"]),
                )


def loads(text: str, *, path: str | None = None) -> Snapshot:
    """The snapshot in ``text``. Fast path: C json.loads and one pass of the declared reader
    (``declared.read``: validates and builds). Anything it refuses, and any text that may hold a NUL
    or a lone surrogate, takes the slow path: strict parse, then the JSON Schema and the references,
    which name the JSON path of the problem (and let through the rare text that only looked suspect)."""
    snap = None
    if not _suspect(text):
        try:
            snap = declared.read(json.loads(text, object_pairs_hook=declared.Pairs))
        except (ValueError, RecursionError, declared.Invalid):  # bad JSON, an int past int's digit limit
            snap = None
    if snap is None or not _references_known(snap):
        snap = _explained(text, path)
    return replace(snap, source=path) if path else snap


def _suspect(text: str) -> bool:
    """True when the text may hold a NUL or a lone surrogate, raw or escaped (mostly plain substring
    tests: the regex runs only on text with a ``\\u`` escape, the encode only on non-ASCII text)."""
    if "\x00" in text or "\\u" in text and _SUSPECT_ESCAPE.search(text):
        return True
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return True
    return False


def _references_known(snap: Snapshot) -> bool:
    known = {m.name for m in snap.models} | set(snap.external_models) | {t.name for t in snap.tableless}
    return all(f.relation is None or f.relation in known for m in snap.models for f in m.fields)


def _explained(text: str, path: str | None) -> Snapshot:
    """The slow path: raise SnapshotError naming the JSON path of the first problem; a text with
    none (it only looked suspect) is read as on the fast path."""
    validate(parse(text, path=path), path=path)
    try:
        return declared.read(json.loads(text, object_pairs_hook=declared.Pairs))
    except declared.Invalid:  # the reader and the schema disagree: a bug, said as such
        raise SnapshotError("refused by the snapshot reader although its JSON Schema accepts it (a bug in "
                            "generator/declared.py)", path=path, at="$") from None


def load(path: str | os.PathLike[str]) -> Snapshot:
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except FileNotFoundError:
        raise SnapshotError("file not found", path=str(p)) from None
    except IsADirectoryError:
        raise SnapshotError("is a directory, not a snapshot file", path=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"cannot read: {exc}", path=str(p)) from None
    return loads(text, path=str(p))


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write text to path. A regular file (or a new one) is replaced atomically, through a temporary
    file in the same folder and a rename (a symlink's target, keeping the link); anything else that
    exists there (a character device such as /dev/null or /dev/stdout, a FIFO, a socket) is written in
    place: replacing it would destroy it, and its reader would get nothing."""
    import tempfile

    p = Path(path)
    try:
        if p.exists() and not p.is_file():
            with open(p, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            return
        p = p.resolve() if p.is_symlink() else p
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; files get the user's usual mode
        os.replace(tmp, p)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save(snapshot: Snapshot, path: str | os.PathLike[str]) -> str:
    """Save deterministically; return the SHA-256 of the written text."""
    text = dumps(snapshot)
    write_atomic(path, text)
    return sha256(text)
