"""What the JSON declarations of the snapshot types (``attr`` in generator/model.py) give: the JSON
Schema, a reader that validates and builds in one pass, and the plain JSON data to write and its
text.

The reader accepts exactly what the schema accepts (a test holds them together on mutated
snapshots) and knows only the schema keywords the declarations use: an unknown keyword is refused
when the reader is built, never skipped. It reads the objects of ``json.loads(text,
object_pairs_hook=Pairs)`` (so a repeated key is seen) and says only *that* something is wrong:
explaining where and why is generator/snapshot.py's slow path, with jsonschema over the same schema.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from functools import lru_cache
from json.encoder import encode_basestring as _quote  # the C function json.dumps(ensure_ascii=False) uses
from typing import Any

from generator import model

SCHEMA_ID = f"https://fbs-schema/snapshot-{model.FORMAT}.schema.json"
DEFINED = {model.Model: "model", model.Field: "field"}  # classes written once under #/definitions
TYPE_KEY = "type"  # the attribute ``required_if_type`` looks at


class Pairs(list):
    """A JSON object as json.loads read it (``object_pairs_hook``): its (key, value) pairs."""


class Invalid(Exception):
    """The data is not a valid snapshot (the slow path says where and why)."""


def _json_attrs(cls):
    hints = typing.get_type_hints(cls, vars(model))
    for f in dataclasses.fields(cls):
        meta = f.metadata.get("json")
        if meta is not None:
            element = typing.get_args(hints[f.name])[0] if meta["mapped"] or meta["pairs"] else None
            yield f, meta, element


def _has_default(f: dataclasses.Field) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def _key_attr(cls) -> tuple[str, dict[str, Any]]:
    return next((f.name, meta["schema"]) for f, meta, _ in _json_attrs(cls) if meta["map_key"])


# ---------------------------------------------------------------------------------------------
# the JSON Schema


def json_schema(root=model.Snapshot) -> dict[str, Any]:
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "$id": SCHEMA_ID,
              "title": f"fbs-schema snapshot, format {model.FORMAT}", **_object_schema(root, inline=True)}
    schema["definitions"] = {**model.DEFINITIONS, **{name: _object_schema(cls, inline=True)
                                                     for cls, name in DEFINED.items()}}
    return schema


def _object_schema(cls, inline: bool = False) -> dict[str, Any]:
    if not inline and cls in DEFINED:
        return {"$ref": f"#/definitions/{DEFINED[cls]}"}
    properties, required, conditions = {}, [], {}
    for f, meta, element in _json_attrs(cls):
        if meta["map_key"]:
            continue
        key = meta["key"] or f.name
        properties[key] = _value_schema(meta, element)
        if meta["required"] or not _has_default(f):
            required.append(key)
        if meta["required_if_type"]:
            conditions.setdefault(meta["required_if_type"], []).append(key)
    out = {"type": "object", "additionalProperties": False, "required": required, "properties": properties}
    if conditions:
        out["allOf"] = [{"if": {"properties": {TYPE_KEY: {"enum": list(types)} if len(types) > 1
                                               else {"const": types[0]}}},
                         "then": {"required": keys}} for types, keys in conditions.items()]
    return out


def _value_schema(meta: dict[str, Any], element) -> dict[str, Any]:
    if meta["mapped"]:
        return {"type": "object", "propertyNames": _key_attr(element)[1],
                "additionalProperties": _object_schema(element)}
    if meta["pairs"]:
        items = [m["schema"] for _, m, _ in _json_attrs(element)]
        return {"type": "array", "items": {"type": "array", "items": items, "additionalItems": False,
                                           "minItems": len(items)}}
    return meta["schema"]


# ---------------------------------------------------------------------------------------------
# the reader: a predicate per declared value, compiled from its schema fragment


def _predicate(schema: dict[str, Any]):
    namespace: dict[str, Any] = {}
    return eval(f"lambda v: {_test(schema, namespace)}", namespace)  # noqa: S307 - text built from the declarations


def _test(schema: dict[str, Any], ns: dict[str, Any]) -> str:
    """A Python expression over ``v`` that is true when ``v`` matches ``schema`` (draft 7, for the
    keywords the declarations use; JSON arrays are lists, objects Pairs)."""
    if "$ref" in schema:
        return _test(model.DEFINITIONS[schema["$ref"].rsplit("/", 1)[-1]], ns)
    unknown = set(schema) - {"type", "minLength", "maxLength", "minimum", "maximum", "enum", "const", "items",
                             "additionalItems", "minItems", "uniqueItems"}
    if unknown:
        raise TypeError(f"the snapshot reader does not know the schema keyword(s) {sorted(unknown)}")
    kinds = schema.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else kinds
    strings_only = all(isinstance(x, str) for x in schema.get("enum", ()))
    if len(kinds) > 1 and sorted(kinds) != ["null", "string"] or not strings_only:
        raise TypeError(f"the snapshot reader cannot check {schema}")
    parts = []
    if "string" in kinds or "minLength" in schema or "maxLength" in schema:
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        length = f"{low} <= len(v)" + (f" <= {high}" if high is not None else "")
        parts.append(f"(type(v) is str and {length})" if "string" in kinds else f"(type(v) is not str or {length})")
    if "null" in kinds:
        parts = [f"(v is None or {' and '.join(parts) or 'False'})" if "string" in kinds else "v is None"]
    if "boolean" in kinds:
        parts.append("type(v) is bool")
    if "integer" in kinds:
        bounds = "".join(f" and v {op} {schema[k]}" for k, op in (("minimum", ">="), ("maximum", "<=")) if k in schema)
        parts.append(f"(type(v) is int{bounds})")
    if "enum" in schema:  # of strings
        name = f"E{len(ns)}"
        ns[name] = frozenset(schema["enum"])
        parts.append(f"(type(v) is str and v in {name})")
    if "const" in schema:
        if type(schema["const"]) is not int:
            raise TypeError(f"the snapshot reader cannot check {schema}")
        parts.append(f"(type(v) is int and v == {schema['const']})")
    if "array" in kinds:
        parts.append(_array_test(schema, ns))
    if not parts:
        raise TypeError(f"the snapshot reader cannot check {schema}")
    return " and ".join(parts)


def _array_test(schema: dict[str, Any], ns: dict[str, Any]) -> str:
    items = schema.get("items")
    test = "type(v) is list"
    if isinstance(items, list):
        high = len(items) if schema.get("additionalItems") is False else None
        low = schema.get("minItems", 0)
        if not low == len(items) == high:  # only a fixed length: each position checked
            raise TypeError(f"the snapshot reader cannot check {schema}")
        names = []
        for item in items:
            names.append(f"P{len(ns)}")
            ns[names[-1]] = _predicate(item)
        test += f" and len(v) == {len(items)} and " + " and ".join(f"{n}(v[{i}])" for i, n in enumerate(names))
    else:
        if "minItems" in schema:
            test += f" and len(v) >= {schema['minItems']}"
        if items is not None:
            name = f"P{len(ns)}"
            ns[name] = _predicate(items)
            test += f" and all(map({name}, v))"
    if schema.get("uniqueItems"):
        test += " and len(set(v)) == len(v)"  # items checked first: strings, hashable
    return f"({test})"


_set = object.__setattr__


def _build(cls, values: dict[str, Any]) -> Any:
    """An instance of a declared class from checked attribute values, in the class's attribute order
    (``__init__`` skipped: it would check nothing more). Set one by one, in the same order for every
    instance, the attributes share their names with the class's other instances (CPython's
    key-sharing instance dictionaries): 60 MB less for the fields of 10,000 models than a dictionary
    of their own, which ``__dict__.update`` would make."""
    out = object.__new__(cls)
    for name, value in values.items():
        _set(out, name, value)
    return out


def _any(value: Any) -> bool:
    return True  # a mapped value: its conversion checks it


class _Reader:
    """Validates one declared class's JSON object and builds the instance in the same pass."""

    def __init__(self, cls):
        self.cls, self.key_attr, self.key_test = cls, None, None
        # every attribute in the class's order, at its default (MISSING for a required one: present in
        # any object the checks let through), so that each instance is built in that order
        self.defaults = {f.name: f.default for f in dataclasses.fields(cls)}
        self.tests: dict[str, Any] = {}  # JSON key -> predicate
        self.converts: list[tuple[str, str, Any]] = []  # (JSON key, attribute, conversion of a checked value)
        required, conditions = set(), {}
        for f, meta, element in _json_attrs(cls):
            key = meta["key"] or f.name
            if meta["map_key"]:
                self.key_attr, self.key_test = f.name, _predicate(meta["schema"])
                continue
            if meta["required"] or not _has_default(f):
                required.add(key)
            for t in meta["required_if_type"]:
                conditions.setdefault(t, set()).add(key)
            self.tests[key] = _any if meta["mapped"] else _predicate(_value_schema(meta, element))
            convert = _reader(element).read_map if meta["mapped"] else _pairs(element) if meta["pairs"] \
                else (lambda v: tuple(sorted(v))) if meta["sort"] else tuple if meta["schema"].get("type") == "array" \
                else None
            if convert is not None or key != f.name:
                self.converts.append((key, f.name, convert or (lambda v: v)))
        self.required, self.allowed = frozenset(required), frozenset(self.tests)
        self.conditions = {t: frozenset(keys) for t, keys in conditions.items()}

    def read(self, obj: Any, name: str | None = None) -> Any:
        if type(obj) is not Pairs:
            raise Invalid
        d = dict(obj)
        keys = d.keys()
        if len(d) != len(obj) or not keys >= self.required or not keys <= self.allowed:
            raise Invalid
        tests = self.tests
        for key, value in d.items():
            if not tests[key](value):
                raise Invalid
        if self.conditions:
            needed = self.conditions.get(d.get(TYPE_KEY))
            if needed is not None and not keys >= needed:
                raise Invalid
        values = self.defaults.copy()
        values.update(d)
        for key, attr, convert in self.converts:
            if key in d:
                if key != attr:
                    del values[key]
                values[attr] = convert(d[key])
        if name is not None:
            values[self.key_attr] = name
        return _build(self.cls, values)

    def read_map(self, obj: Any) -> tuple:
        """A JSON object of instances keyed by their ``map_key``: a tuple in key order."""
        if type(obj) is not Pairs:
            raise Invalid
        d = dict(obj)
        if len(d) != len(obj) or not all(map(self.key_test, d)):
            raise Invalid
        read = self.read
        return tuple([read(d[key], key) for key in sorted(d)])


def _pairs(cls):
    """The conversion of checked arrays of attribute values (``pairs``) to instances of ``cls``."""
    names = [f.name for f, _, _ in _json_attrs(cls)]
    return lambda v: tuple([_build(cls, dict(zip(names, item))) for item in v])


@lru_cache(maxsize=None)
def _reader(cls) -> _Reader:
    return _Reader(cls)


def read(data: Any, cls=model.Snapshot) -> Any:
    """``data`` (json.loads with ``object_pairs_hook=Pairs``) as a ``cls``; Invalid when the schema
    refuses it (or a key is repeated)."""
    return _reader(cls).read(data)


# ---------------------------------------------------------------------------------------------
# the writer: plain JSON data


@lru_cache(maxsize=None)
def _writer(cls):
    """``to_json`` of one declared class: a function generated from its declarations, as dataclasses
    generates ``__init__`` (a loop over the attributes costs twice as much; a snapshot has thousands
    of fields)."""
    ns: dict[str, Any] = {}
    lines = ["def write(obj):", "    out = {}"]
    for i, (f, meta, element) in enumerate(_json_attrs(cls)):
        if meta["map_key"]:
            continue
        if meta["mapped"]:
            ns[f"W{i}"] = _writer(element)
            value = f"{{x.{_key_attr(element)[0]}: W{i}(x) for x in x{i}}}"
        else:
            value = _plain(meta, element, f"x{i}")
        lines.append(f"    x{i} = obj.{f.name}")
        lines += _written(ns, i, f, meta, f"x{i}", f"out[{meta['key'] or f.name!r}] = {value}")
    exec("\n".join(lines + ["    return out"]), ns)  # noqa: S102 - text built from the declarations
    return ns["write"]


def _plain(meta: dict[str, Any], element, x: str) -> str:
    """The expression of a (not mapped) attribute's plain JSON data, from its value ``x``."""
    if meta["pairs"]:
        return f"[[{', '.join(f'item.{g.name}' for g, _, _ in _json_attrs(element))}] for item in {x}]"
    if meta["sort"]:
        return f"sorted({x})"
    return f"list({x})" if meta["schema"].get("type") == "array" else x


def _written(ns: dict[str, Any], i: int, f: dataclasses.Field, meta: dict[str, Any], x: str, line: str) -> list[str]:
    """The generated lines that run ``line``, the writing of attribute ``i`` (its value ``x``): only
    when it is not at its default where its declaration leaves that out (unless the field's type
    requires it)."""
    if not meta["omit_default"]:
        return [f"    {line}"]
    ns[f"D{i}"], ns[f"T{i}"] = f.default, meta["required_if_type"]
    unless = f" or obj.{TYPE_KEY} in T{i}" if meta["required_if_type"] else ""
    return [f"    if {x} != D{i}{unless}:", f"        {line}"]


def to_json(obj: Any) -> dict[str, Any]:
    """The plain JSON data of a declared instance (attributes at their default left out where declared)."""
    return _writer(type(obj))(obj)


# ---------------------------------------------------------------------------------------------
# the writer's text: json.dumps(indent=1, sort_keys=True, ensure_ascii=False), at C speed for strings


def encode(value: Any, pad: str) -> str:
    """JSON text of plain data (dict, list, str, int, bool, None), keys sorted, one space per level
    (a string item is quoted in place: most items are, and a call per item is what costs)."""
    kind = type(value)
    if kind is dict:
        if not value:
            return "{}"
        inner = pad + " "
        return "{" + ",".join([f"{inner}{_quote(key)}: "
                               + (_quote(item) if type(item := value[key]) is str else encode(item, inner))
                               for key in sorted(value)]) + pad + "}"
    if kind is str:
        return _quote(value)
    if kind is list:
        if not value:
            return "[]"
        inner = pad + " "
        return "[" + ",".join([inner + (_quote(item) if type(item) is str else encode(item, inner))
                               for item in value]) + pad + "]"
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    raise TypeError(f"a snapshot holds no {kind.__name__}")


@lru_cache(maxsize=None)
def _text_writer(cls):
    """``to_text`` of one declared class, generated from its declarations as ``_writer`` is: the
    text ``encode(to_json(obj), pad)`` gives, without the dictionary in between or a sort per
    object (the keys' order is the declarations')."""
    ns: dict[str, Any] = {"Q": _quote, "E": encode}
    lines = ["def text(obj, pad):", "    inner = pad + ' '", "    out = []"]
    attrs = sorted(((meta["key"] or f.name, i, f, meta, element)
                    for i, (f, meta, element) in enumerate(_json_attrs(cls)) if not meta["map_key"]),
                   key=lambda a: a[0])
    for key, i, f, meta, element in attrs:
        if meta["mapped"]:
            ns[f"W{i}"] = _text_writer(element)
            value = f"M(x, W{i}, {_key_attr(element)[0]!r}, inner)"
        else:
            plain = _plain(meta, element, "x")
            value = "Q(x) if type(x) is str else E(x, inner)" if plain == "x" else f"E({plain}, inner)"
        lines.append(f"    x = obj.{f.name}")
        lines += _written(ns, i, f, meta, "x", f"out.append(inner + {_quote(key) + ': '!r} + ({value}))")
    lines.append("    return '{' + ','.join(out) + pad + '}' if out else '{}'")
    ns["M"] = _mapped_text
    exec("\n".join(lines), ns)  # noqa: S102 - text built from the declarations
    return ns["text"]


def _mapped_text(items: tuple, write, key_attr: str, pad: str) -> str:
    """A mapped attribute's text: an object of the instances by their key, keys sorted (the last
    instance of a key, as a dictionary of them keeps)."""
    if not items:
        return "{}"
    by_key = {getattr(item, key_attr): item for item in items}
    inner = pad + " "
    return "{" + ",".join([f"{inner}{_quote(key)}: {write(by_key[key], inner)}" for key in sorted(by_key)]) + pad + "}"


def to_text(obj: Any, pad: str = "\n") -> str:
    """``encode(to_json(obj), pad)``: the JSON text of a declared instance, its lines indented by ``pad``."""
    return _text_writer(type(obj))(obj, pad)


def schema_text() -> str:
    """The text of ``generator/schema/snapshot-<FORMAT>.schema.json``: regenerate it with
    ``python -m generator.declared`` after changing a declaration (tests/test_snapshot.py checks it)."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    from pathlib import Path

    target = Path(__file__).with_name("schema") / f"snapshot-{model.FORMAT}.schema.json"
    target.write_text(schema_text(), "utf-8")
