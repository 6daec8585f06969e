"""Load, save and validate snapshot JSON.

The file is deterministic: sorted keys, no timestamps, LF line ends, one trailing newline, so
capturing the same Odoo twice gives byte-identical files and a git diff reads as the schema change.
Loading validates against ``generator/schema/snapshot-<format>.schema.json`` and then checks what a
JSON Schema cannot (relations naming models that exist), naming the JSON path at fault.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema

from generator.errors import SnapshotError
from generator.model import FORMAT, Constraint, Field, Model, SelectionValue, Snapshot, TablelessModel


@lru_cache(maxsize=None)
def _schema() -> dict[str, Any]:
    text = resources.files("generator").joinpath(f"schema/snapshot-{FORMAT}.schema.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=None)
def _fast_check():
    """Compiled validator (fast path); jsonschema runs only to explain a failure with its JSON path."""
    return fastjsonschema.compile(_schema())


# ---------------------------------------------------------------------------------------------
# dataclasses <-> plain JSON data


def field_to_dict(f: Field) -> dict[str, Any]:
    d: dict[str, Any] = {"type": f.type, "label": f.label}
    if f.required:
        d["required"] = True
    if f.index:
        d["index"] = f.index
    if f.translate:
        d["translate"] = True
    if f.company_dependent:
        d["company_dependent"] = True
    for key in ("size", "relation", "on_delete", "relation_table", "column1", "column2"):
        value = getattr(f, key)
        if value is not None:
            d[key] = value
    if f.selection or f.type == "selection":
        d["selection"] = [[s.value, s.label] for s in f.selection]
    if f.modules:
        d["modules"] = list(f.modules)
    return d


def to_dict(snapshot: Snapshot) -> dict[str, Any]:
    models: dict[str, Any] = {}
    for m in snapshot.models:
        entry: dict[str, Any] = {
            "table": m.table,
            "label": m.label,
            "module": m.module,
            "origin": m.origin,
            "fields": {f.name: field_to_dict(f) for f in m.fields},
        }
        if m.constraints:
            entry["constraints"] = {
                c.name: ({"definition": c.definition, "module": c.module} if c.module else {"definition": c.definition})
                for c in m.constraints
            }
        models[m.name] = entry
    out = {
        "format": snapshot.format,
        "odoo_version": snapshot.odoo_version,
        "modules": sorted(snapshot.modules),
        "preset": snapshot.preset,
        "with_references": snapshot.with_references,
        "external_models": sorted(snapshot.external_models),
        "models": models,
    }
    if snapshot.tableless:
        out["tableless_models"] = {t.name: {"kind": t.kind, "module": t.module} for t in snapshot.tableless}
    return out


def _field_from_dict(name: str, d: dict[str, Any]) -> Field:
    return Field(
        name=name,
        type=d["type"],
        label=d["label"],
        required=d.get("required", False),
        index=d.get("index"),
        translate=d.get("translate", False),
        size=d.get("size"),
        relation=d.get("relation"),
        on_delete=d.get("on_delete"),
        relation_table=d.get("relation_table"),
        column1=d.get("column1"),
        column2=d.get("column2"),
        selection=tuple(SelectionValue(v, label) for v, label in d.get("selection", [])),
        company_dependent=d.get("company_dependent", False),
        modules=tuple(d.get("modules", [])),
    )


def from_dict(data: dict[str, Any]) -> Snapshot:
    """Build a Snapshot from already validated JSON data."""
    models = []
    for name in sorted(data["models"]):
        m = data["models"][name]
        models.append(
            Model(
                name=name,
                table=m["table"],
                label=m["label"],
                module=m["module"],
                origin=m.get("origin", "selected"),
                fields=tuple(_field_from_dict(fn, m["fields"][fn]) for fn in sorted(m["fields"])),
                constraints=tuple(
                    Constraint(cn, c["definition"], c.get("module", ""))
                    for cn, c in sorted(m.get("constraints", {}).items())
                ),
            )
        )
    return Snapshot(
        format=data["format"],
        odoo_version=data["odoo_version"],
        modules=tuple(sorted(data["modules"])),
        preset=data.get("preset"),
        with_references=data.get("with_references", False),
        models=tuple(models),
        external_models=tuple(sorted(data["external_models"])),
        tableless=tuple(TablelessModel(name, t["kind"], t["module"])
                        for name, t in sorted(data.get("tableless_models", {}).items())),
    )


# ---------------------------------------------------------------------------------------------
# text


def dumps(snapshot: Snapshot) -> str:
    return json.dumps(to_dict(snapshot), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _json_path(parts: Any) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}" if str(p).isidentifier() else f"[{json.dumps(p)}]"
    return out


def validate(data: Any, *, path: str | None = None) -> None:
    """Raise SnapshotError naming the JSON path of the first problem found."""
    if not isinstance(data, dict):
        raise SnapshotError("a snapshot must be a JSON object", path=path)
    fmt = data.get("format")
    if fmt is None:
        raise SnapshotError("missing key 'format' (is this an fbs-schema snapshot?)", path=path, where="$")
    if fmt != FORMAT:
        raise SnapshotError(
            f"unsupported snapshot format {fmt!r}; this version of fbs-schema reads format {FORMAT}",
            path=path,
            where="$.format",
        )
    try:
        _fast_check()(data)
        errors = []
    except fastjsonschema.JsonSchemaException:
        validator = jsonschema.Draft7Validator(_schema())
        errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        err = errors[0]
        where = _json_path(err.absolute_path)
        message = err.message
        if err.validator == "enum" and err.absolute_path and err.absolute_path[-1] == "type":
            message = f"unknown field type {err.instance!r}"
        elif err.validator == "additionalProperties":
            message = f"unexpected key: {err.message.split('(')[-1].rstrip(')')}"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise SnapshotError(message + more, path=path, where=where)
    _check_references(data, path)


def _check_references(data: dict[str, Any], path: str | None) -> None:
    known = set(data["models"]) | set(data["external_models"]) | set(data.get("tableless_models", {}))
    for mname, m in data["models"].items():
        for fname, f in m["fields"].items():
            rel = f.get("relation")
            if rel is not None and rel not in known:
                raise SnapshotError(
                    f"field {mname}.{fname} points at model {rel!r}, which is neither in the snapshot's "
                    "models nor in its external_models",
                    path=path,
                    where=_json_path(["models", mname, "fields", fname, "relation"]),
                )


def loads(text: str, *, path: str | None = None) -> Snapshot:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", path=path) from None
    validate(data, path=path)
    return from_dict(data)


def load(path: str | os.PathLike[str]) -> Snapshot:
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except FileNotFoundError:
        raise SnapshotError("file not found", path=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"cannot read: {exc}", path=str(p)) from None
    return loads(text, path=str(p))


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write text to path through a temporary file in the same folder and a rename."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; files get the user's usual mode
        os.replace(tmp, p)
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
