"""Snapshot format: round trip, determinism, and clear errors naming the JSON path."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings, strategies as st

from generator import api, snapshot
from generator.errors import SnapshotError
from generator.model import FIELD_TYPES, Field, Model, SelectionValue, Snapshot


@pytest.fixture(scope="module")
def data() -> dict:
    return json.loads(api.BUNDLED_SNAPSHOT.read_text("utf-8"))


def test_round_trip_is_byte_identical(data):
    text = api.BUNDLED_SNAPSHOT.read_text("utf-8")
    assert snapshot.dumps(snapshot.loads(text)) == text
    assert text.endswith("}\n") and "\r" not in text


def _error(d, *needles):
    with pytest.raises(SnapshotError) as exc:
        snapshot.loads(json.dumps(d), path="snap.json")
    for needle in needles:
        assert needle in str(exc.value), str(exc.value)
    return str(exc.value)


def test_wrong_format_version(data):
    d = copy.deepcopy(data)
    d["format"] = 2
    _error(d, "snap.json", "$.format", "unsupported snapshot format 2")


def test_not_a_snapshot():
    _error({"hello": 1}, "missing key 'format'")
    with pytest.raises(SnapshotError, match="not valid JSON"):
        snapshot.loads("{", path="x.json")


def test_missing_key(data):
    d = copy.deepcopy(data)
    del d["models"]["sale.order"]["fields"]["state"]["label"]
    _error(d, '$.models["sale.order"].fields.state', "'label' is a required property")


def test_unknown_field_type(data):
    d = copy.deepcopy(data)
    d["models"]["sale.order"]["fields"]["state"]["type"] = "wormhole"
    _error(d, '$.models["sale.order"].fields.state.type', "unknown field type 'wormhole'")


def test_relation_to_a_model_that_does_not_exist(data):
    d = copy.deepcopy(data)
    d["models"]["sale.order"]["fields"]["partner_id"]["relation"] = "res.nobody"
    _error(d, '$.models["sale.order"].fields.partner_id.relation', "sale.order.partner_id", "'res.nobody'")


def test_unexpected_key(data):
    d = copy.deepcopy(data)
    d["models"]["sale.order"]["fields"]["state"]["help"] = "some help"
    _error(d, '$.models["sale.order"].fields.state', "unexpected key", "help")


def test_two_models_one_table_load_and_conflicting_fields_are_refused_at_render(data):
    """Odoo lets models share a table (ir.actions.*): allowed, rendered as one table, unless two of
    them declare one field as different columns (refused naming the file and the JSON path)."""
    from generator import tenant

    d = copy.deepcopy(data)
    d["models"]["sale.order"]["table"] = "sale_order_line"
    snap = snapshot.loads(json.dumps(d), path="s.json")
    with pytest.raises(SnapshotError, match=r'^s\.json: \$\.models\["sale\.order.*shared by sale.order and sale.order.line'):
        tenant.build(snap)


def test_missing_file(tmp_path):
    with pytest.raises(SnapshotError, match="file not found"):
        snapshot.load(tmp_path / "nope.json")


names = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=30)


@st.composite
def snapshots(draw):
    models = []
    for mname in draw(st.lists(names, min_size=0, max_size=4, unique=True)):
        fields = []
        for fname in draw(st.lists(names, max_size=4, unique=True)):
            ftype = draw(st.sampled_from([t for t in FIELD_TYPES if t not in ("many2one", "many2many", "one2many")]))
            sel = tuple(SelectionValue(v, draw(names)) for v in draw(st.lists(names, max_size=3, unique=True))) \
                if ftype == "selection" else ()
            fields.append(Field(fname, ftype, draw(names), required=draw(st.booleans()), selection=sel,
                                size=draw(st.one_of(st.none(), st.integers(1, 500))) if ftype == "char" else None))
        models.append(Model(mname, f"t{len(models)}", draw(names), module=draw(names),
                            fields=tuple(sorted(fields, key=lambda f: f.name))))
    return Snapshot("17.0", tuple(sorted(draw(st.lists(names, max_size=3, unique=True)))),
                    tuple(sorted(models, key=lambda m: m.name)))


@settings(max_examples=200, deadline=None)
@given(snapshots())
def test_property_round_trip(snap):
    text = snapshot.dumps(snap)
    back = snapshot.loads(text)
    assert back == snap
    assert snapshot.dumps(back) == text
