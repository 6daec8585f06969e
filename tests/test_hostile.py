"""Hostile snapshots (issue 15): every input either generates SQL that applies on PostgreSQL, or is
refused (exit 4) in one line naming the file and the JSON path. Never a traceback, never a file
outside --migrations, never exit 0 with SQL that PostgreSQL refuses or truncates.

One test per class of the fuzz report, then a property test (hypothesis) over the snapshot's shape
with hostile strings, numbers and SQL definitions; ``make fuzz`` runs it longer."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import event, given
from hypothesis import strategies as st

from generator.cli import cli
from generator.model import FIELD_TYPES, INDEX_KINDS, ON_DELETE
from tests.hostile import assert_refused, base, files_are_safe, fuzz_settings, generate, scratch_database


@pytest.fixture(scope="module")
def database(pg_server):
    with scratch_database("fbs_hostile") as d:
        yield d


def applies(run, database) -> None:
    assert run.exception is None, run.exception
    assert run.code == 0, (run.code, run.stdout, run.stderr)
    files_are_safe(run)
    database.apply(run.folder)


def with_(mutate) -> dict:
    d = base()
    mutate(d)
    return d


A = ("models", "a.a")


def model(d: dict, name: str = "a.a") -> dict:
    return d["models"][name]


# -- path traversal ---------------------------------------------------------------------------

@pytest.mark.parametrize("module", ["a/b", "x/../../escaped", "../../../../tmp/evil", "é" * 120, "a b\tc", ".."])
def test_module_names_become_safe_file_names_inside_migrations(tmp_path, database, module):
    run = generate(tmp_path, with_(lambda d: model(d).update(module=module)))
    applies(run, database)
    names = sorted(p.name for p in run.folder.glob("*.sql"))
    assert len(names) == 4  # two module files, the foreign keys and their validation
    assert all(len(n.encode()) < 120 for n in names)


def test_module_name_with_nul_or_over_256_characters_is_refused(tmp_path):
    assert_refused(generate(tmp_path, with_(lambda d: model(d).update(module="a\x00b"))),
                   '$.models["a.a"].module', "NUL")
    assert_refused(generate(tmp_path, with_(lambda d: model(d).update(module="m" * 300))),
                   '$.models["a.a"].module', "too long")


# -- tracebacks -------------------------------------------------------------------------------

def test_lone_surrogate_is_refused_in_generate_and_capture(tmp_path):
    text = json.dumps(with_(lambda d: model(d).update(label="\ud800")))  # json.dumps writes \ud800
    assert_refused(generate(tmp_path, text), '$.models["a.a"].label', "surrogate")
    (tmp_path / "s.json").write_text(text, "utf-8")
    result = CliRunner().invoke(cli, ["capture", "--from-snapshot", str(tmp_path / "s.json"), "-q"])
    assert result.exit_code == 4 and isinstance(result.exception, SystemExit), result.output
    assert 's.json: $.models["a.a"].label' in result.stderr


def test_surrogate_in_a_key_is_refused(tmp_path):
    text = json.dumps(with_(lambda d: model(d)["fields"].update({"\udfff": {"type": "char", "label": "x"}})))
    assert_refused(generate(tmp_path, text), '$.models["a.a"].fields', "key contains a lone surrogate")


def test_absurd_nesting_and_huge_integers_are_refused(tmp_path):
    deep = json.dumps(base())[:-1] + ', "preset": ' + "[" * 5000 + "]" * 5000 + "}"
    assert_refused(generate(tmp_path, deep), "$.preset[0]", "nested deeper")
    big = json.dumps(with_(lambda d: model(d)["fields"]["name"].update(size=1))).replace('"size": 1', '"size": ' + "9" * 5000)
    assert_refused(generate(tmp_path, big), '$.models["a.a"].fields.name.size', "5000 digits")


# -- exit 0, then PostgreSQL refused the SQL --------------------------------------------------

@pytest.mark.parametrize("name, definition", [
    ("a_a_b_id_fkey", "unique(name)"),  # the generated FK's name
    ("a_a_pkey", "check(name IS NOT NULL)"),  # the primary key's name, as a CHECK
    ("a_a_state_check", "unique(name)"),  # the selection CHECK's name
    ("b_b_pkey", "unique(name)"),  # another table's primary key index (relation namespace)
])
def test_constraint_names_are_checked_in_each_tables_constraint_namespace(tmp_path, name, definition):
    def mutate(d):
        model(d)["fields"]["state"] = {"type": "selection", "label": "S", "selection": [["a", "A"]]}
        model(d)["constraints"] = {name: {"definition": definition}}
    assert_refused(generate(tmp_path, with_(mutate)), f'$.models["a.a"].constraints.{name}', name)


@pytest.mark.parametrize("field", ["xmin", "xmax", "cmin", "cmax", "ctid", "tableoid"])
def test_system_column_names_are_refused(tmp_path, field):
    run = generate(tmp_path, with_(lambda d: model(d)["fields"].update({field: {"type": "integer", "label": "x"}})))
    assert_refused(run, f'$.models["a.a"].fields.{field}', "system column")


def test_many2many_column_named_like_a_system_column_is_refused(tmp_path):
    def mutate(d):
        model(d)["fields"]["b_ids"] = {"type": "many2many", "label": "Bs", "relation": "b.b",
                                       "relation_table": "a_b_rel", "column1": "ctid", "column2": "b_id"}
    assert_refused(generate(tmp_path, with_(mutate)), '$.models["a.a"].fields.b_ids', "system column")


@pytest.mark.parametrize("catalog", ["pg_class", "pg_type", "pg_stats", "pg_namespace"])
def test_tables_named_like_system_catalogs_are_refused(tmp_path, catalog):
    assert_refused(generate(tmp_path, with_(lambda d: model(d).update(table=catalog))),
                   '$.models["a.a"].table', "system catalogs")

    def m2m(d):
        model(d)["fields"]["b_ids"] = {"type": "many2many", "label": "Bs", "relation": "b.b",
                                       "relation_table": catalog, "column1": "a_id", "column2": "b_id"}
    assert_refused(generate(tmp_path, with_(m2m)), '$.models["a.a"].fields.b_ids.relation_table', "system catalogs")


@pytest.mark.parametrize("size, fragment", [(10485761, "maximum"), (2**31, "maximum"), (0, "minimum"),
                                            (2**63, "19 digits")])
def test_char_size_beyond_postgresql_limits_is_refused(tmp_path, size, fragment):
    run = generate(tmp_path, with_(lambda d: model(d)["fields"]["name"].update(size=size)))
    assert_refused(run, '$.models["a.a"].fields.name.size', fragment)


def test_char_size_at_postgresql_limit_applies(tmp_path, database):
    applies(generate(tmp_path, with_(lambda d: model(d)["fields"]["name"].update(size=10485760))), database)


@pytest.mark.parametrize("definition", [
    "check()", "check(x in ())", "check(x +)", "check(1)", "check(x)", "check(name > 5)", "check(x = 'abc')",
    "check(x > 1/0)", "check(lower(x) > 0)", "unique(name, name)", "check(x::date > '2020-13-45')",
    "INDEX (x) WHERE name::date > '2020-01-01'", "check(d - 1)", "check(name || 1 = 'a')", "check(f % 2 = 0)",
])
def test_sql_constraints_postgresql_refuses_are_left_out_with_a_note(tmp_path, database, definition):
    def mutate(d):
        model(d)["fields"].update({"x": {"type": "integer", "label": "X"}, "d": {"type": "date", "label": "D"},
                                   "f": {"type": "float", "label": "F"}})
        model(d)["constraints"] = {"a_a_bad": {"definition": definition}}
    run = generate(tmp_path, with_(mutate), "--rules", str(_float_rules(tmp_path)))
    applies(run, database)
    assert 'not carried over' in run.stderr and '$.models["a.a"].constraints.a_a_bad' in run.stderr, run.stderr
    assert "a_a_bad" not in "".join(p.read_text() for p in run.folder.glob("*.sql"))


def _float_rules(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('[types]\nfloat = "double precision"\n')
    return path


@pytest.mark.parametrize("definition, expected", [
    ("check(x > 0 AND x < 10)", "CHECK (x > 0 AND x < 10)"),
    ("check(x = '12')", "CHECK (x = '12')"),
    ("check(lower(name) LIKE 'a%' OR name IS NULL)", "CHECK (lower(name) LIKE 'a%' OR name IS NULL)"),
    ("check(d > '2020-01-01')", "CHECK (d > '2020-01-01')"),
    ("unique(name, x)", "UNIQUE (tenant_id, name, x)"),
])
def test_sql_constraints_postgresql_accepts_are_carried_over(tmp_path, database, definition, expected):
    def mutate(d):
        model(d)["fields"].update({"x": {"type": "integer", "label": "X"}, "d": {"type": "date", "label": "D"}})
        model(d)["constraints"] = {"a_a_good": {"definition": definition}}
    run = generate(tmp_path, with_(mutate))
    applies(run, database)
    assert expected in "".join(p.read_text() for p in run.folder.glob("*.sql"))


def test_more_than_1600_columns_are_refused(tmp_path):
    fields = {f"f{i}": {"type": "integer", "label": "x"} for i in range(1599)}
    assert_refused(generate(tmp_path, with_(lambda d: model(d)["fields"].update(fields))),
                   '$.models["a.a"].fields', "1600")


def test_unique_over_32_index_columns_is_left_out(tmp_path, database):
    def mutate(d):
        model(d)["fields"].update({f"f{i}": {"type": "integer", "label": "x"} for i in range(40)})
        model(d)["constraints"] = {"a_a_wide": {"definition": f"unique({', '.join(f'f{i}' for i in range(32))})"}}
    run = generate(tmp_path, with_(mutate))
    applies(run, database)
    assert "at most 32" in run.stderr


# -- a valid snapshot refused -----------------------------------------------------------------

def test_long_field_name_on_a_model_with_a_check(tmp_path, database):
    long = "a_rather_long_field_name_that_goes_on_and_on_past_sixty_three_bytes_x"
    def mutate(d):
        model(d)["fields"][long] = {"type": "integer", "label": "L"}
        model(d)["constraints"] = {"a_a_positive": {"definition": f"check({long} >= 0)"}}
    run = generate(tmp_path, with_(mutate))
    applies(run, database)
    sql = "".join(p.read_text() for p in run.folder.glob("*.sql"))
    assert "CONSTRAINT a_a_positive CHECK (a_rather_long_field_name_that_goes_on_and_on_past_si_" in sql


# -- silently accepted ------------------------------------------------------------------------

def test_non_integers_duplicates_and_huge_labels_are_refused(tmp_path):
    text = json.dumps(base())
    assert_refused(generate(tmp_path, text.replace('"format": 1', '"format": 1.0')), "$.format", "not an integer")
    sized = json.dumps(with_(lambda d: model(d)["fields"]["name"].update(size=5))).replace('"size": 5', '"size": 5.0')
    assert_refused(generate(tmp_path, sized), '$.models["a.a"].fields.name.size', "not an integer")
    assert_refused(generate(tmp_path, text.replace('"format": 1', '"format": true')), "$.format")
    dup = text.replace('"models": {', '"models": {"b.b": {"table": "x", "label": "X", "module": "m", "fields": {}}, ')
    assert_refused(generate(tmp_path, dup), "$.models", "duplicate key 'b.b'")
    assert_refused(generate(tmp_path, text.replace('"format": 1', '"format": 1, "format": 1')), "$:", "duplicate key")
    assert_refused(generate(tmp_path, with_(lambda d: model(d).update(label="x" * 100_000))),
                   '$.models["a.a"].label', "too long")
    assert_refused(generate(tmp_path, text.replace('"format": 1', '"format": 1, "preset": NaN')), "$.preset", "NaN")


# -- messages ---------------------------------------------------------------------------------

def test_a_directory_as_snapshot_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["generate", "--snapshot", str(tmp_path), "--migrations", str(tmp_path / "m"), "-q"])
    assert result.exit_code == 4 and result.stderr.strip().count("\n") == 0, result.stderr
    assert "is a directory" in result.stderr


def test_render_level_problems_name_the_file_and_the_json_path(tmp_path):
    def mutate(d):  # two fields that shorten to one column name can't happen; two models sharing a table can clash
        model(d, "b.b")["table"] = "a_a"
        model(d, "b.b")["fields"]["name"] = {"type": "integer", "label": "Name"}
    run = generate(tmp_path, with_(mutate))
    assert_refused(run, "shared by")


# -- the property test ------------------------------------------------------------------------

HOSTILE_NAMES = [
    "a", "b", "name", "state", "x", "id", "tenant_id", "res_id", "company_id", "xmin", "ctid", "tableoid", "oid",
    "pg_class", "pg_type", "pg_toast", "select", "user", "table", 'we"ird', "semi;colon", "$$", "back\\slash",
    "a/b", "../../escaped", "..", ".", " ", "a b", "UPPER", "ünïcödé", "é" * 40, "x" * 63, "x" * 64, "y" * 200,
    "a_a", "b_b", "a_a_pkey", "a_a_name_check", "a_a_b_id_fkey", "a_a_x_fkey", "a_a__b_id_index", "a\x00b",
    "\ud800", "\n", "--", "/*", "fbs_guard", "sentinel",
]
HOSTILE_DEFINITIONS = [
    "check()", "check(x in ())", "check(x +)", "check(1)", "check(x)", "unique(x, x)", "unique(x)", "unique(name)",
    "check(x > 0)", "check(name > 5)", "check(x = 'a')", "check(x in (1, 2))", "check(x > 1/0)",
    "check(name IS NOT NULL)", "check(a; DROP TABLE fbs_guard.sentinel)", "check(x > 0)); DROP TABLE t; --",
    "INDEX (x)", "UNIQUE INDEX (name DESC) WHERE x > 0", "INDEX (x) WHERE name::date > '2020-01-01'",
    "check(coalesce(x, 0) >= 0)", "check(lower(name) like 'a%')", "check(x::text = 'a')", "exclude (x with =)",
    "check(state in ('a', 'b'))", "check(b_id IS NULL OR x > 0)", "check(b_id = 0)", "unique(b_id, state)",
]
text = st.one_of(st.sampled_from(HOSTILE_NAMES), st.text(min_size=0, max_size=12))
names = st.one_of(st.sampled_from(HOSTILE_NAMES), st.text(min_size=1, max_size=12))
sizes = st.one_of(st.integers(1, 300), st.sampled_from([0, -1, 10485760, 10485761, 2**31, 2**63, 5.0, True]))


@st.composite
def fields(draw, models: list[str]):
    ftype = draw(st.sampled_from(FIELD_TYPES))
    f: dict = {"type": ftype, "label": draw(text)}
    if draw(st.booleans()):
        f["required"] = draw(st.booleans())
    if ftype == "char" and draw(st.booleans()):
        f["size"] = draw(sizes)
    if ftype in ("char", "text", "html") and draw(st.booleans()):
        f["translate"] = True
    if draw(st.integers(0, 5)) == 0:
        f["index"] = draw(st.sampled_from(INDEX_KINDS))
    if ftype in ("many2one", "many2many", "one2many"):
        f["relation"] = draw(st.sampled_from(models + ["ext.model"]))
    if ftype == "many2one" and draw(st.booleans()):
        f["on_delete"] = draw(st.sampled_from(ON_DELETE))
    if ftype == "many2many":
        f["relation_table"] = draw(names)
        f["column1"] = draw(names)
        f["column2"] = draw(names)
    if ftype == "selection":
        f["selection"] = draw(st.lists(st.tuples(text, text).map(list), max_size=3))
    if draw(st.integers(0, 9)) == 0:
        f["company_dependent"] = True
    return f


@st.composite
def snapshots(draw):
    model_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    models = {}
    for m in model_names:
        field_names = draw(st.lists(names, max_size=5, unique=True))
        entry = {"table": draw(st.one_of(st.just(m.replace(".", "_") or "t"), names)), "label": draw(text),
                 "module": draw(names), "fields": {f: draw(fields(model_names)) for f in field_names}}
        if draw(st.booleans()):
            entry["constraints"] = {
                draw(names): {"definition": draw(st.one_of(st.sampled_from(HOSTILE_DEFINITIONS), st.text(max_size=20)))}
                for _ in range(draw(st.integers(1, 3)))
            }
        models[m] = entry
    data = {"format": 1, "odoo_version": "17.0", "modules": sorted({e["module"] for e in models.values()}),
            "external_models": ["ext.model"], "models": models}
    out = json.dumps(data)
    mutation = draw(st.integers(0, 19))
    if mutation == 0:  # a duplicate key
        out = out.replace('"models": {', '"models": {"a": {}, "a": {}, ', 1) if draw(st.booleans()) else out
    elif mutation == 1:  # a non-integer number
        out = out.replace('"format": 1', '"format": 1.0')
    elif mutation == 2:  # absurd nesting
        out = out[:-1] + ', "preset": ' + "[" * 3000 + "]" * 3000 + "}"
    return out


FUZZ = fuzz_settings("FBS_FUZZ_EXAMPLES", 300)


@FUZZ
@given(snapshots())
def test_property_every_snapshot_applies_or_is_refused(tmp_path_factory, database, text):
    run = generate(tmp_path_factory.mktemp("fuzz"), text)
    assert run.exception is None, f"traceback: {run.exception!r}"
    assert run.code in (0, 4), (run.code, run.stderr)
    event(f"exit {run.code}")
    if run.code == 4:
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and "snapshot.json" in lines[0], run.stderr
        return
    files_are_safe(run)
    database.apply(run.folder)
