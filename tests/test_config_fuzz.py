"""Hostile config files (issue "Trust"): rules files, rename hints and solution configs, random and with
the cases of the review (non-finite numbers, min > max, values of the wrong type, unknown models,
duplicates, names with a trailing newline, reserved schemas, huge timeouts, broken bytes). Every one
either generates SQL that applies on PostgreSQL, or is refused with exit 2 naming the file: never a
traceback, never exit 0 with SQL PostgreSQL refuses, never a password in the output. ``make fuzz``
runs it longer and random (FBS_CONFIG_FUZZ_EXAMPLES, FBS_FUZZ_RANDOM)."""

from __future__ import annotations

import json
import math
import os

import pytest
from click.testing import CliRunner
from hypothesis import event, given
from hypothesis import strategies as st

from generator.cli import cli
from tests.hostile import base, files_are_safe, fuzz_settings, generate, scratch_database

FUZZ = fuzz_settings("FBS_CONFIG_FUZZ_EXAMPLES", 40)
SECRET = "Fuzz3dS3cret"


@pytest.fixture(scope="module")
def database(pg_server):
    with scratch_database("fbs_config_fuzz") as d:
        yield d


# -- a small TOML writer for what the strategies make -------------------------------------------------

def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(v)


def toml_text(data: dict) -> str:
    lines = []
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
            for entry in value:
                lines.append(f"[[{key}]]")
                lines += [f"{json.dumps(k)} = {_value(v)}" for k, v in entry.items()]
        elif isinstance(value, dict) and all(isinstance(x, dict) for x in value.values()) and value:
            for name, section in value.items():
                lines.append(f"[{key}.{json.dumps(name)}]")
                lines += [f"{json.dumps(k)} = {_value(v)}" for k, v in section.items()]
        elif isinstance(value, dict):
            lines.append(f"[{key}]")
            lines += [f"{json.dumps(k)} = {_value(v)}" for k, v in value.items()]
        else:
            lines.append(f"{json.dumps(key)} = {_value(value)}")
    return "\n".join(lines) + "\n"


# -- strategies: the review's cases among random ones ---------------------------------------------------

HOSTILE_TEXT = ["", "x\n", "name\n", "a.a", "b.b", "nope", "pg_x", "information_schema", "app.tenant_id\n", "'; DROP",
                "ü", "a" * 70, "5s", "99999999s", "0", "1 h", "-1s", "nan"]


def mostly(good, hostile):
    """``good`` nine times in ten, so that most files are valid and their SQL gets applied."""
    return st.integers(0, 9).flatmap(lambda n: hostile if n == 9 else good)  # hypothesis favours 0: good


numbers = mostly(st.one_of(st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False)),
                 st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([2**31, 2**63, 1e308])))
texts = mostly(st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
               st.sampled_from(HOSTILE_TEXT))
scalars = st.one_of(texts, numbers, st.booleans())
models = mostly(st.sampled_from(["a.a", "b.b"]), st.sampled_from(["no.such", "a.a\n", "", "A.A"]))
fields = mostly(st.sampled_from(["name", "b_id", "amount", "qty", "res_id", "state", "name desc", "amount DESC"]),
                st.sampled_from(["nope", "name\n", "", "name sideways"]))


def snapshot() -> dict:
    """The hostile tests' two models, with a number, an integer, a record id and a selection field on
    a.a, so that checks, defaults and record_id entries can be valid too."""
    data = base()
    data["models"]["a.a"]["fields"].update({
        "amount": {"type": "float", "label": "Amount"},
        "qty": {"type": "integer", "label": "Quantity"},
        "res_id": {"type": "integer", "label": "Record"},
        "state": {"type": "selection", "label": "State", "selection": [["draft", "Draft"], ["done", "Done"]]},
    })
    return data


@st.composite
def rules_files(draw) -> str:
    data: dict = {}
    if draw(st.booleans()):
        data["tenant"] = {"setting": draw(mostly(st.sampled_from(["app.tenant_id", "app.x.y"]),
                                                 st.sampled_from(["app.tenant\n", "nodot", "a.b;", ""])))}
    if draw(st.booleans()):
        data["migration"] = {k: draw(mostly(st.sampled_from(["5s", "500ms", "1h", "24d", " 3 min ", "0"]),
                                             st.sampled_from(["99999999s", "25d", "x", "", "-1s"])))
                             for k in draw(st.lists(st.sampled_from(["lock_timeout", "statement_timeout"]), max_size=2))}
    if draw(st.booleans()):
        data["types"] = {"float": draw(mostly(st.sampled_from(["numeric", "double precision"]), st.just("real")))}
    for section in draw(st.lists(st.sampled_from(["index", "check", "default", "record_id"]), max_size=3)):
        entries = []
        for _ in range(draw(st.integers(1, 3))):
            entry: dict = {"model": draw(models)}
            if section == "index":
                entry["fields"] = draw(mostly(st.lists(fields, min_size=1, max_size=2, unique=True),
                                              st.lists(fields, max_size=3)))
                if draw(st.booleans()):
                    entry["kind"] = draw(st.sampled_from(["btree", "trigram", "hash"]))
                if draw(st.booleans()):
                    where = {"field": draw(fields)}
                    if draw(st.booleans()):
                        where["in"] = draw(st.lists(scalars, min_size=0, max_size=3))
                    else:
                        where["not_null"] = draw(st.booleans())
                    entry["where"] = where
            elif section == "check":
                entry["field"] = draw(fields)
                for key in draw(st.lists(st.sampled_from(["min", "max", "in"]), max_size=3, unique=True)):
                    entry[key] = draw(st.lists(scalars, max_size=3)) if key == "in" else draw(numbers)
            elif section == "default":
                entry["field"] = draw(fields)
                entry["value"] = draw(scalars)
            else:
                entry["field"] = draw(fields)
                entry["uuid"] = draw(st.booleans())
            if draw(st.integers(0, 9)) == 9:
                entry[draw(st.sampled_from(["knd", "feild", "extra"]))] = draw(scalars)
            entries.append(entry)
        if draw(st.integers(0, 9)) == 9 and entries:
            entries.append(dict(entries[0]))  # a duplicate
        data[section] = entries
    text = toml_text(data)
    mutation = draw(st.integers(0, 29))
    if mutation == 29:
        text = text + "\nx = " + "[" * 3000 + "]" * 3000 + "\n"
    elif mutation == 28:
        return text.encode("utf-8")[: draw(st.integers(0, 40))].decode("utf-8", "ignore") + "\udcff"
    return text


@FUZZ
@given(rules_files())
def test_property_every_rules_file_applies_or_is_refused(tmp_path_factory, database, text):
    folder = tmp_path_factory.mktemp("rules-fuzz")
    rules = folder / "rules.toml"
    rules.write_bytes(text.encode("utf-8", "surrogateescape"))
    run = generate(folder, snapshot(), "--rules", str(rules))
    assert run.exception is None, f"traceback: {run.exception!r}\n{text}"
    assert run.code in (0, 2), (run.code, run.stderr, text)
    event(f"exit {run.code}")
    if run.code == 2:
        assert "rules.toml" in run.stderr and "Traceback" not in run.stderr, run.stderr
        assert not run.folder.exists() or not any(run.folder.iterdir())
        return
    files_are_safe(run)
    database.apply(run.folder)


@st.composite
def solution_configs(draw) -> str:
    sections = {}
    for _ in range(draw(st.integers(1, 3))):
        name = draw(mostly(st.sampled_from(["sales", "inv", "purchase"]),
                           st.one_of(st.sampled_from(["Sales", "a\n", "x" * 45, ""]), texts)))
        section: dict = {"database_url_env": draw(mostly(st.just("FUZZ_URL"),
                                                         st.sampled_from(["FUZZ_URL\n", "1BAD", "MISSING_VAR"])))}
        for key in draw(st.lists(st.sampled_from(["preset", "modules", "schema", "prefix", "target", "migrations",
                                                  "with_references", "reference_depth"]), max_size=4, unique=True)):
            section[key] = draw({
                "preset": mostly(st.sampled_from(["sales", "inventory"]), st.just("nope")),
                "modules": mostly(st.lists(st.sampled_from(["sale", "stock", "uom"]), min_size=1, max_size=2,
                                           unique=True),
                                  st.lists(st.sampled_from(["Nope", "a\n", "uom"]), max_size=3)),
                "schema": mostly(st.sampled_from(["inventory", "sales_s"]),
                                 st.sampled_from(["information_schema", "pg_x", "inventory\n", "Bad", "a" * 70])),
                "prefix": mostly(st.sampled_from(["pur_", "inv_"]), st.sampled_from(["pur_\n", "P", "a" * 30, ""])),
                "target": mostly(st.just("postgres"), st.sampled_from(["citus", "oracle"])),
                "migrations": mostly(st.sampled_from(["m/sales", "m/inv"]), st.sampled_from(["../outside", "", "/abs"])),
                "with_references": st.booleans(),
                "reference_depth": mostly(st.integers(0, 2), st.one_of(st.integers(-2, -1), st.floats())),
            }[key])
        sections[name] = section
    return toml_text({"solution": sections})


@FUZZ
@given(solution_configs())
def test_property_every_solutions_config_is_read_or_refused(tmp_path_factory, text):
    folder = tmp_path_factory.mktemp("solutions-fuzz")
    (folder / "fbs-schema.toml").write_text(text, "utf-8")
    env = {"FUZZ_URL": f"postgresql://postgres:{SECRET}%zz@127.0.0.1:1/x"}
    old = os.getcwd()
    os.chdir(folder)
    try:
        for args in (["solutions"], ["plan", "--all"], ["diagram", "--all"]):
            result = CliRunner().invoke(cli, args, env=env)
            assert not (result.exception and not isinstance(result.exception, SystemExit)), \
                f"traceback in {args}: {result.exception!r}\n{text}"
            output = result.stdout + result.stderr
            assert SECRET not in output, output
            event(f"{args[0]} exit {result.exit_code}")
    finally:
        os.chdir(old)


@st.composite
def rename_files(draw) -> str:
    data: dict = {}
    for section in draw(st.lists(mostly(st.sampled_from(["model", "field", "unrelated"]), st.just("other")),
                                 max_size=3)):
        entries = []
        for _ in range(draw(st.integers(1, 2))):
            if section == "model":
                entry = {"old": draw(mostly(st.sampled_from(["x.old", "a.a"]), texts)),
                         "new": draw(mostly(st.sampled_from(["a.a", "b.b"]), texts))}
            else:
                entry = {"model": draw(models), "old": draw(mostly(st.sampled_from(["title", "amount", "x"]), texts)),
                         "new": draw(mostly(st.sampled_from(["name", "amount", "qty"]), texts))}
            entries.append(entry)
        data[section] = entries
    return toml_text(data)


@FUZZ
@given(rename_files())
def test_property_every_rename_hints_file_applies_or_is_refused(tmp_path_factory, database, text):
    folder = tmp_path_factory.mktemp("renames-fuzz")
    (folder / "renames.toml").write_text(text, "utf-8")
    run = generate(folder, snapshot(), "--renames", str(folder / "renames.toml"))
    assert run.exception is None, f"traceback: {run.exception!r}\n{text}"
    assert run.code in (0, 2, 6), (run.code, run.stderr, text)
    event(f"exit {run.code}")
    if run.code == 0:
        files_are_safe(run)
        database.apply(run.folder)
