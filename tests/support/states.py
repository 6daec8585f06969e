"""Named snapshot states shared by the tests (Django-style): a tiny base and helpers that change one
field of it."""

from __future__ import annotations

from dataclasses import replace

from generator.model import Constraint, Field, Model, SelectionValue, Snapshot

BASE = Snapshot("17.0", ("m",), (
    Model("x.partner", "x_partner", "Partner", "m", fields=(
        Field("name", "char", "Name", required=True, size=64),
    )),
    Model("x.order", "x_order", "Order", "m", fields=(
        Field("amount", "integer", "Amount"),
        Field("note", "text", "Note"),
        Field("partner_id", "many2one", "Partner", relation="x.partner", on_delete="set null"),
        Field("state", "selection", "State", selection=(SelectionValue("draft", "Draft"), SelectionValue("done", "Done"))),
    ), constraints=(Constraint("x_order_amount_positive", "check(amount >= 0)", "m"),)),
))


def change_field(snap: Snapshot, model: str, name: str, **kw) -> Snapshot:
    def edit(m: Model) -> Model:
        if m.name != model:
            return m
        fields = [replace(f, **kw) if f.name == name else f for f in m.fields]
        if name not in m.field_map:
            fields.append(Field(name=name, **kw))
        return replace(m, fields=tuple(sorted(fields, key=lambda f: f.name)))
    return replace(snap, models=tuple(edit(m) for m in snap.models))


def drop_field(snap: Snapshot, model: str, name: str) -> Snapshot:
    return replace(snap, models=tuple(replace(m, fields=tuple(f for f in m.fields if f.name != name))
                                      if m.name == model else m for m in snap.models))
