"""Rename hints (``fbs-renames.toml``): tell the diff that a model or field was renamed, so the
migration renames the table or column and keeps its data instead of dropping and re-adding it.

    [[model]]              # a renamed model: its table (and its many2many tables) are renamed
    old = "x.old_name"
    new = "x.new_name"

    [[field]]              # a renamed field: its column is renamed
    model = "sale.order"   # the model's name in the new snapshot
    old = "old_field"
    new = "new_field"

    [[unrelated]]          # not a rename: old is dropped (needs --allow-destructive), new is added
    model = "sale.order"
    old = "a"
    new = "b"

A hint that is already applied (the old snapshot has the new name and not the old one) is skipped,
so hints can stay in the file; a hint naming something neither snapshot has is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.model import Field

from generator import config_schema
from generator.errors import UsageError
from generator.model import Snapshot
from generator.config_schema import load_toml

DEFAULT_FILE = "fbs-renames.toml"


@dataclass(frozen=True)
class Renames:
    models: tuple[tuple[str, str], ...] = ()  # (old model, new model)
    fields: tuple[tuple[str, str, str], ...] = ()  # (new model, old field, new field)
    unrelated: tuple[tuple[str, str, str], ...] = ()  # (model, old field, new field): confirmed not a rename
    source: str = ""

    def model_map(self) -> dict[str, str]:
        return dict(self.models)


def parse(data: dict, source: str) -> Renames:
    config_schema.check(data, "renames", source)
    known = {"model", "field", "unrelated"}
    out: dict[str, list] = {"model": [], "field": [], "unrelated": []}
    for section in known:
        for i, entry in enumerate(data.get(section, [])):
            at = f"{source}: {section}[{i}]"
            keys = ("old", "new") if section == "model" else ("model", "old", "new")
            for k in keys:
                if not isinstance(entry.get(k), str) or not entry.get(k):
                    raise UsageError(f"{at}: missing text key {k!r}")
            out[section].append(tuple(entry[k] for k in keys))
    return Renames(tuple(out["model"]), tuple(out["field"]), tuple(out["unrelated"]), source)


def load(path: str | Path | None) -> Renames:
    """``path`` None: use ./fbs-renames.toml when it exists, else no hints."""
    data, source = load_toml(path, DEFAULT_FILE, "renames")
    return Renames() if data is None else parse(data, source)


def resolve(renames: Renames, old: Snapshot, new: Snapshot) -> tuple[Renames, list[str]]:
    """Keep the hints that apply to (old, new); skip the ones already applied; refuse the others."""
    notes: list[str] = []
    models, fields, unrelated = [], [], []
    at = renames.source or "renames"
    for o, n in renames.models:
        if o in old.model_map and n in new.model_map and n not in old.model_map:
            models.append((o, n))
        elif n in old.model_map and o not in old.model_map:
            notes.append(f"{at}: model rename {o} -> {n} is already applied; skipped")
        else:
            raise UsageError(
                f"{at}: model rename {o} -> {n} names models that do not exist "
                f"(the previous snapshot needs {o!r}, the new one {n!r})"
            )
    back = {n: o for o, n in models}
    for section, target in (("field", fields), ("unrelated", unrelated)):
        for model, o, n in getattr(renames, section if section == "unrelated" else "fields"):
            old_model = old.model_map.get(back.get(model, model))
            new_model = new.model_map.get(model)
            if new_model is None:
                raise UsageError(f"{at}: {section} hint names model {model!r}, which the new snapshot does not have")
            if old_model is not None and o in old_model.field_map and n in new_model.field_map \
                    and n not in old_model.field_map:
                target.append((model, o, n))
            elif old_model is not None and n in old_model.field_map and o not in old_model.field_map:
                notes.append(f"{at}: {section} hint {model}.{o} -> {n} is already applied; skipped")
            else:
                raise UsageError(
                    f"{at}: {section} hint {model}.{o} -> {n} names fields that do not exist "
                    f"(the previous snapshot needs {o!r}, the new one {n!r})"
                )
    return Renames(tuple(models), tuple(fields), tuple(unrelated), renames.source), notes


def possible_renames(old: Snapshot, new: Snapshot, renames: Renames) -> list[tuple[str, str, str]]:
    """(model, disappeared field, appeared field) pairs of the same type that no hint explains."""
    back = {n: o for o, n in renames.models}
    told = {(m, o, n) for m, o, n in renames.fields + renames.unrelated}
    renamed_old = {(m, o) for m, o, _ in renames.fields + renames.unrelated}
    renamed_new = {(m, n) for m, _, n in renames.fields + renames.unrelated}
    out = []
    for model in new.models:
        previous = old.model_map.get(back.get(model.name, model.name))
        if previous is None:
            continue
        gone = [f for f in previous.fields if f.name not in model.field_map and (model.name, f.name) not in renamed_old]
        came = [f for f in model.fields if f.name not in previous.field_map and (model.name, f.name) not in renamed_new]
        for g in gone:
            for c in came:
                if (g.type, g.relation) == (c.type, c.relation) and (model.name, g.name, c.name) not in told:
                    out.append((model.name, g.name, c.name))
    return out


@dataclass(frozen=True)
class Suggestion:
    """A field that disappeared and one that appeared on the same model, with what they share."""

    model: str
    old: str
    new: str
    evidence: tuple[str, ...]  # e.g. "same label 'To Check'", "same relation res.partner"

    @property
    def strong(self) -> bool:
        """Shares a label, a relation target or selection values, not just a type and a module:
        worth reviewing as a rename first."""
        return any(e.startswith(("same label", "same relation", "same selection", "shared selection"))
                   for e in self.evidence)


def evidence(old: Field, new: Field) -> tuple[str, ...]:
    """What two fields share, strongest first; the type always (pairs are only made of the same type)."""
    out = []
    if old.label and old.label == new.label:
        out.append(f"same label {old.label!r}")
    if old.relation and old.relation == new.relation:
        out.append(f"same relation {old.relation}")
    if old.selection and [s.value for s in old.selection] == [s.value for s in new.selection]:
        out.append("same selection values")
    elif old.selection and {s.value for s in old.selection} & {s.value for s in new.selection}:
        shared = sorted({s.value for s in old.selection} & {s.value for s in new.selection})
        out.append(f"shared selection values {', '.join(shared)}")
    if old.modules and set(old.modules) & set(new.modules):
        out.append(f"same module {', '.join(sorted(set(old.modules) & set(new.modules)))}")
    if (old.required, old.index, old.size) == (new.required, new.index, new.size) and (old.required or old.index or old.size):
        out.append("same required/index/size")
    out.append(f"same type {old.type}")
    return tuple(out)


def suggest(old: Snapshot, new: Snapshot, renames: Renames) -> list[Suggestion]:
    """possible_renames, each with its evidence; the strongest suggestions first within a model."""
    back = {n: o for o, n in renames.models}
    out = []
    for model, o, n in possible_renames(old, new, renames):
        before = old.model_map[back.get(model, model)].field_map[o]
        after = new.model_map[model].field_map[n]
        out.append(Suggestion(model, o, n, evidence(before, after)))
    return sorted(out, key=lambda s: (s.model, -len(s.evidence), s.old, s.new))


def explain(suggestions: list[Suggestion]) -> str:
    """The message of a refused generate: each suggestion with its evidence, and ready-to-paste
    TOML: [[field]] for the strong ones (review them), [[unrelated]] for the rest."""
    lines = []
    for s in suggestions:
        lines.append(f"  - {s.model}: {s.old} -> {s.new} ({'; '.join(s.evidence)})")
    toml = []
    taken: set[tuple[str, str]] = set()
    for s in suggestions:
        rename = s.strong and (s.model, s.old) not in taken and (s.model, s.new) not in taken
        if rename:
            taken |= {(s.model, s.old), (s.model, s.new)}
        section = "field" if rename else "unrelated"
        toml.append(f'[[{section}]]\nmodel = "{s.model}"\nold = "{s.old}"\nnew = "{s.new}"')
    return "\n".join(lines), "\n\n".join(toml)
