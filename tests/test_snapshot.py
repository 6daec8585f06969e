"""Snapshot format: round trip, determinism, and clear errors naming the JSON path."""

from __future__ import annotations

import copy
import functools
import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import event, given, settings, strategies as st

from generator import api, declared, snapshot
from generator.errors import SnapshotError
from generator.model import FIELD_TYPES, FORMAT, Constraint, Field, Model, SelectionValue, Snapshot


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


# -- one declaration: the schema file, the reader and the writer all come from generator/model.py


def test_the_schema_file_is_the_one_the_declarations_give():
    """Regenerate with ``python -m generator.declared`` after changing an ``attr`` in generator/model.py."""
    committed = resources.files("generator").joinpath(f"schema/snapshot-{FORMAT}.schema.json").read_text("utf-8")
    assert committed == declared.schema_text()


def test_the_reader_refuses_a_schema_keyword_it_does_not_know():
    with pytest.raises(TypeError, match="pattern"):
        declared._test({"type": "string", "pattern": "^a"}, {})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_the_writer_gives_the_bytes_of_json_dumps(value):
    """dumps writes what ``json.dumps(indent=1, sort_keys=True, ensure_ascii=False)`` writes (any text:
    control characters, quotes, backslashes, U+2028, astral characters), at C speed."""
    assert declared.encode(value, "\n") == json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)


short = st.sampled_from(["a", "b", "é", "x\"y", "", "\u2028"])
any_fields = st.builds(Field, name=short, type=st.sampled_from(FIELD_TYPES), label=short, required=st.booleans(),
                   index=st.none() | short, translate=st.booleans(), size=st.none() | st.integers(0, 9),
                   relation=st.none() | short, on_delete=st.none() | short, relation_table=st.none() | short,
                   column1=st.none() | short, column2=st.none() | short,
                   selection=st.lists(st.builds(SelectionValue, short, short), max_size=2).map(tuple),
                   company_dependent=st.booleans(), modules=st.lists(short, max_size=2).map(tuple))
any_models = st.builds(Model, name=short, table=short, label=short, module=short, origin=short,
                   fields=st.lists(any_fields, max_size=3).map(tuple),  # in any order, a name twice
                   constraints=st.lists(st.builds(Constraint, short, short, short), max_size=2).map(tuple))


@settings(max_examples=300, deadline=None)
@given(any_models, st.sampled_from(["\n", "\n  "]))
def test_the_text_writer_writes_what_the_data_writer_gives(model, pad):
    """dumps writes each model with ``declared.to_text``, generated from the declarations: the text of
    its plain JSON data (``to_json``), whatever its attributes hold (the reader's checks aside)."""
    assert declared.to_text(model, pad) == declared.encode(declared.to_json(model), pad)


def test_kept_snapshots_round_trip_byte_identical():
    root = Path(__file__).resolve().parent.parent
    kept = [p for pattern in ("snapshots/*.json", "tests/golden/**/*.json") for p in root.glob(pattern)
            if '"odoo_version"' in p.read_text("utf-8")]
    assert len(kept) >= 10
    for p in kept:
        text = p.read_text("utf-8")
        assert snapshot.dumps(snapshot.loads(text)) == text, p


def _pairs(d):
    return json.loads(json.dumps(d), object_pairs_hook=declared.Pairs)


@functools.lru_cache(maxsize=None)
def _bundled() -> dict:
    return json.loads(api.BUNDLED_SNAPSHOT.read_text("utf-8"))


odd_values = st.one_of(st.none(), st.booleans(), st.integers(-3, 10485762), st.sampled_from(
    ["", "x", "x" * 257, "x" * 2001, "many2one", "many2many", "selection", "btree", "set null", "reference", "view"]),
    st.lists(st.sampled_from(["a", "", "b"]), max_size=3), st.just(["a", "a"]), st.just([["a", "A"]]), st.just([["a"]]),
    st.just({}))


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_the_reader_accepts_exactly_what_the_schema_accepts(data):
    """The fast reader and jsonschema over the committed schema agree on mutated snapshots (a key
    set to an odd value, removed, or added, at every level)."""
    import jsonschema

    whole = _bundled()
    model_name = data.draw(st.sampled_from(sorted(whole["models"])))
    d = {**copy.deepcopy({k: v for k, v in whole.items() if k != "models"}),
         "models": {model_name: copy.deepcopy(whole["models"][model_name])}}  # one model: jsonschema is slow
    target = data.draw(st.sampled_from(["top", "model", "field", "constraint"]))
    node = d if target == "top" else d["models"][model_name]
    if target == "field":
        node = node["fields"][data.draw(st.sampled_from(sorted(node["fields"])))]
    elif target == "constraint":
        node = node.setdefault("constraints", {}).setdefault("c", {"definition": "unique(x)"})
    keys = sorted(node) + ["selection", "relation", "index", "size", "origin", "tableless_models", "extra"]
    for _ in range(data.draw(st.integers(1, 2))):
        key = data.draw(st.sampled_from(keys))
        if data.draw(st.booleans()):
            node.pop(key, None)
        else:
            node[key] = data.draw(odd_values)
    valid = jsonschema.Draft7Validator(snapshot._schema()).is_valid(d)
    try:
        declared.read(_pairs(d))
        accepted = True
    except declared.Invalid:
        accepted = False
    event(f"schema accepts: {valid}")
    assert accepted == valid, node


def test_a_text_that_only_looks_suspect_loads(data):
    """An escaped backslash before ``u0000`` is no NUL: the slow path finds nothing and reads it."""
    d = copy.deepcopy(data)
    d["models"]["sale.order"]["label"] = "C:\\u0000\\ud800"
    snap = snapshot.loads(json.dumps(d), path="s.json")
    assert snap.model_map["sale.order"].label == "C:\\u0000\\ud800" and snap.source == "s.json"


def test_loading_and_saving_import_no_jsonschema():
    """jsonschema only explains a refused snapshot; a good one never imports it (about 50 ms)."""
    code = ("import sys; from generator import api, snapshot; s = snapshot.load(api.BUNDLED_SNAPSHOT); "
            "snapshot.dumps(s); print(sorted(m for m in ('jsonschema', 'fastjsonschema') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
