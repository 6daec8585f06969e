"""Rendering: fidelity to Odoo's own tables, determinism, headers, hostile input."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import psycopg
import pytest

from generator import api, snapshot, tenant
from generator.errors import RenderError, SnapshotError
from generator.model import Field, Model, SelectionValue, Snapshot
from tests.support.fidelity import compare
from tests.support.migrations import generate, psql_apply, sql_files


def test_fidelity_to_the_tables_odoo_created(bundled):
    result = compare(bundled, tenant.build(bundled))
    assert result.problems == []
    assert result.tables >= 60
    assert result.same_type + result.mapped_type + result.binary_without_column == result.expected
    assert result.coverage > 0.99
    assert result.same_type > result.mapped_type > 0


def test_same_snapshot_gives_byte_identical_files_and_no_changes_after(bundled, tmp_path):
    first = generate(bundled, tmp_path / "a")
    second = generate(bundled, tmp_path / "b")
    assert [f.filename for f in first.files] == [f.filename for f in second.files]
    for f in first.files:
        raw = (tmp_path / "a" / f.filename).read_bytes()
        assert raw == (tmp_path / "b" / f.filename).read_bytes()
        assert raw.endswith(b";\n") and not raw.endswith(b"\n\n") and b"\r" not in raw
        raw.decode("utf-8")
        assert f"-- Snapshot: sha256:{first.snapshot_sha}".encode() in raw
    before = sorted(p.name for p in (tmp_path / "a").iterdir())
    again = generate(bundled, tmp_path / "a")
    assert again.status == "no changes"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == before
    kept = (tmp_path / "a" / api.KEPT_SNAPSHOT).read_text("utf-8")
    assert snapshot.sha256(kept) == first.snapshot_sha


def test_sqlx_file_names_and_versions(bundled_migrations):
    files = sql_files(bundled_migrations)
    versions = [int(p.name.split("_", 1)[0]) for p in files]
    assert versions == sorted(set(versions)) and all(len(str(v)) == 14 for v in versions)
    # the foreign keys come last, cut to the lock budget: "foreign keys part 1 of N", then the same
    # for their validation
    keys = [p for p in files if "_foreign_keys_" in p.name and "validate" not in p.name]
    checks = [p for p in files if "_foreign_keys_validate_" in p.name]
    n = len(keys)
    assert n > 1 and [p.name.split("_", 1)[1] for p in keys] == [f"foreign_keys_part_{k}_of_{n}.sql" for k in range(1, n + 1)]
    assert files[-len(checks) - n:] == keys + checks and checks[-1].name.endswith(f"_of_{len(checks)}.sql")
    assert "REFERENCES" not in "".join(p.read_text() for p in files[:-len(checks) - n])
    assert sum(p.read_text().count("VALIDATE CONSTRAINT") for p in checks) == sum(p.read_text().count("NOT VALID;") for p in keys)


def test_external_references_are_listed_per_column(tmp_path, bundled):
    narrow = snapshot.loads(api.capture(api.Source(snapshot_path=str(api.BUNDLED_SNAPSHOT)),
                                        api.scoping.Scope(modules=("sale",))).text)
    result = generate(narrow, tmp_path / "m")
    assert any(ref.table == "sale_order" and ref.column == "partner_id" and ref.model == "res.partner"
               for ref in result.external)
    sale = next(p for p in sql_files(tmp_path / "m") if p.name.endswith("_sale_tables.sql")).read_text()
    assert "--   sale_order.partner_id -> res.partner (sale.order.partner_id)" in sale


def hostile_snapshot() -> Snapshot:
    weird = ['we"ird', "semi;colon", "$$dollar$$", "back\\slash", "ünïcödé", "select", "x" * 200, "é" * 100]
    fields = tuple(
        Field(name=name, type="selection", label=f"label {name} ' -- */ $$", required=False,
              selection=(SelectionValue("it's", "a"), SelectionValue("$$", "b"), SelectionValue("back\\", "c")))
        for name in weird
    ) + (Field(name="target_id", type="many2one", label="t", relation="x.target" + "y" * 150, on_delete="set null"),)
    return Snapshot(
        odoo_version="17.0", modules=("m",),
        models=(
            Model(name="x.target" + "y" * 150, table="target_" + "y" * 150, label="Target\nnew line", module="m"),
            Model(name="x.weird", table='weird"; DROP TABLE x; --', label="O'Brien $$ \\", module="m",
                  fields=tuple(sorted(fields, key=lambda f: f.name))),
        ),
    )


def test_hostile_names_and_texts_are_quoted_and_apply(db, tmp_path):
    snap = snapshot.loads(snapshot.dumps(hostile_snapshot()))
    generate(snap, tmp_path / "m")
    out = psql_apply(db, sql_files(tmp_path / "m"))
    assert "truncated" not in out
    with psycopg.connect(db) as conn:
        tables = {t for (t,) in conn.execute("SELECT relname FROM pg_class WHERE relkind = 'r'"
                                             " AND relnamespace = 'public'::regnamespace")}
        assert 'weird"; DROP TABLE x; --' in tables and len(tables) == 2
        cols = {c for (c,) in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0",
            ('"weird""; DROP TABLE x; --"',))}
        assert {'we"ird', "semi;colon", "$$dollar$$", "back\\slash", "ünïcödé", "select"} <= cols
        assert all(len(c.encode()) <= 63 for c in cols)
        conn.execute("""INSERT INTO "weird""; DROP TABLE x; --" (tenant_id, "we""ird") VALUES (gen_random_uuid(), 'it''s')""")
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("""INSERT INTO "weird""; DROP TABLE x; --" (tenant_id, "semi;colon") VALUES (gen_random_uuid(), 'nope')""")


@pytest.mark.parametrize("bad, error, message", [
    (lambda s: replace(s, models=(replace(s.models[0], fields=(Field("tenant_id", "char", "x"),)),)), SnapshotError,
     r'\$\.models\["a\.b"\]\.fields\.tenant_id: .*clashes with the tenant rules'),
    (lambda s: replace(s, models=(replace(s.models[0], table="a\x00b"),)), RenderError, "NUL"),
])
def test_render_refuses_what_it_cannot_hold(bad, error, message):
    snap = Snapshot("17.0", ("m",), (Model("a.b", "a_b", "A", "m"),))
    with pytest.raises(error, match=message):
        tenant.build(bad(snap))


def test_rules_file_adds_indexes_and_checks(bundled, db, tmp_path):
    rules = tmp_path / "fbs-schema.toml"
    rules.write_text("""
[[index]]
model = "sale.order"
fields = ["date_order desc"]
where = { field = "state", in = ["sale"] }

[[index]]
model = "product.template"
fields = ["default_code"]
kind = "trigram"

[[check]]
model = "sale.order.line"
field = "price_unit"
min = 0
""", "utf-8")
    generate(bundled, tmp_path / "m", rules_path=str(rules))
    psql_apply(db, sql_files(tmp_path / "m"))
    with psycopg.connect(db) as conn:
        defs = [d for (d,) in conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename IN ('sale_order', 'product_template')")]
        assert any("(tenant_id, date_order DESC) WHERE ((state)::text = 'sale'::text)" in d for d in defs), defs
        assert any("USING gin (tenant_id, default_code gin_trgm_ops)" in d for d in defs), defs
        checks = [d for (d,) in conn.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname LIKE '%rule_check'")]
        assert checks == ["CHECK ((price_unit >= (0)::numeric))"]


def test_rules_file_errors_name_the_entry(bundled, tmp_path):
    rules = tmp_path / "r.toml"
    rules.write_text('[[index]]\nmodel = "sale.ordr"\nfields = ["x"]\n', "utf-8")
    proc = subprocess.run([sys.executable, "-m", "generator", "generate", "--migrations", str(tmp_path / "m"),
                           "--rules", str(rules)], capture_output=True, text=True)
    assert proc.returncode == 2 and "index[0]: model 'sale.ordr' is not in the snapshot" in proc.stderr
    assert not (tmp_path / "m").exists()


def test_every_command_explains_its_options():
    """Every command of the group: each option has help text, and its --help (as a user runs it)
    shows every option and the command's own exit codes."""
    import click

    from generator.cli import COMMAND_CODES, cli

    commands = cli.commands
    assert len(commands) >= 13 and set(commands) == set(COMMAND_CODES), sorted(commands)
    for name, command in sorted(commands.items()):
        options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden]
        assert all(o.help and o.help.strip() for o in options), (name, [o.name for o in options if not o.help])
        proc = subprocess.run([sys.executable, "-m", "generator", name, "--help"], capture_output=True, text=True)
        assert proc.returncode == 0 and "Usage:" in proc.stdout, (name, proc.stderr)
        for o in options:
            assert any(flag in proc.stdout for flag in o.opts), (name, o.opts)
        codes = proc.stdout.split("Exit codes:", 1)[1].split()
        assert all(str(code) in codes for code in COMMAND_CODES[name]), (name, proc.stdout)
    top = subprocess.run([sys.executable, "-m", "generator", "--help"], capture_output=True, text=True)
    assert top.returncode == 0 and all(name in top.stdout for name in commands)




def test_committed_migrations_are_up_to_date_with_the_bundled_snapshot(bundled):
    result = api.generate(bundled, api.GenerateOptions(migrations_dir=api.PROJECT_ROOT / "migrations", check=True))
    assert result.status == "no changes", [op.describe() for op in result.operations[:10]]


def test_index_kinds_from_the_snapshot():
    snap = Snapshot("17.0", ("m",), (Model("a.b", "a_b", "A", "m", fields=(
        Field("code", "char", "Code", index="trigram"),
        Field("ref", "char", "Ref", index="btree_not_null"),
        Field("seq", "integer", "Seq", index="btree"),
    )),))
    indexes = {i.name: i for i in tenant.build(snap).table("a_b").indexes}
    assert indexes["a_b__ref_index"].where == "ref IS NOT NULL"
    assert [c.name for c in indexes["a_b__seq_index"].columns] == ["tenant_id", "seq"]
    trigram = indexes["a_b__code_trgm_index"]
    assert trigram.method == "gin" and trigram.columns[1].opclass == "gin_trgm_ops"
    assert tenant.build(snap).extensions == ("btree_gin", "pg_trgm")


def test_compiled_templates_are_kept_between_runs_and_a_garbled_one_is_compiled_again(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from generator import render
    from generator.target import POSTGRES, YUGABYTE

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    op = SimpleNamespace(table=SimpleNamespace(name="sale_order"))
    first = render._make_environment().get_template("ops/drop_table.sql.j2")
    kept = list((tmp_path / "fbs-schema" / "templates").iterdir())
    assert len(kept) == 1
    kept[0].write_bytes(b"garbled")
    again = render._make_environment().get_template("ops/drop_table.sql.j2")
    for target in (POSTGRES, YUGABYTE):
        assert again.module.statement(op, target, None) == first.module.statement(op, target, None)
    assert "DROP TABLE IF EXISTS sale_order;" in again.module.statement(op, YUGABYTE, None)
    assert kept[0].read_bytes() != b"garbled"  # compiled again, and kept again
