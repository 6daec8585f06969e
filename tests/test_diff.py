"""The diff: named cases without a database, then equivalence, reversibility and data survival on
PostgreSQL, including >= 200 hypothesis-generated mutation sequences of the bundled snapshot."""

from __future__ import annotations

import os

import subprocess
import sys
from dataclasses import replace

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from generator import api, diff, ops, renames, snapshot, tenant
from generator.capture.scope import Scope, select
from generator.errors import UsageError
from generator.model import Constraint, Field, Model, SelectionValue, Snapshot
from generator.tables import Schema
from tests.support import equivalence as eq
from tests.support.states import BASE, change_field, drop_field
from tests.support.rows import RowMaker

# ------------------------------------------------------------------------------------------------
# named states (Django-style): a tiny base and one change each

def kinds(operations) -> list[tuple[str, bool]]:
    return [(type(op).__name__, op.destructive) for op in operations]


def describe(operations) -> str:
    return "\n".join(op.describe() for op in operations)


CASES = [
    ("add column", lambda s: change_field(s, "x.order", "ref", type="char", label="Ref"), [("AddColumn", False)]),
    ("drop column", lambda s: drop_field(s, "x.order", "note"), [("DropColumn", True)]),
    ("widen type", lambda s: change_field(s, "x.order", "amount", type="float", label="Amount"),
     [("AlterColumn", False)]),
    ("narrow type", lambda s: change_field(s, "x.order", "note", type="char", label="Note", size=10),
     [("AlterColumn", True)]),
    ("grow size", lambda s: change_field(s, "x.partner", "name", type="char", label="Name", required=True, size=128),
     [("AlterColumn", False)]),
    ("shrink size", lambda s: change_field(s, "x.partner", "name", type="char", label="Name", required=True, size=8),
     [("AlterColumn", True)]),
    ("required on", lambda s: change_field(s, "x.order", "note", type="text", label="Note", required=True),
     [("AlterColumn", False)]),
    ("selection widened", lambda s: change_field(s, "x.order", "state", type="selection", label="State", selection=(
        SelectionValue("draft", "D"), SelectionValue("done", "D"), SelectionValue("cancel", "C"))),
     [("DropConstraint", False), ("AddConstraint", False)]),
    ("selection narrowed", lambda s: change_field(s, "x.order", "state", type="selection", label="State",
                                                  selection=(SelectionValue("draft", "D"),)),
     [("DropConstraint", False), ("AddConstraint", True)]),
    ("on_delete", lambda s: change_field(s, "x.order", "partner_id", type="many2one", label="Partner",
                                         relation="x.partner", on_delete="cascade"),
     [("DropConstraint", False), ("AddConstraint", False)]),
    ("index added", lambda s: change_field(s, "x.order", "amount", type="integer", label="Amount", index="btree"),
     [("CreateIndex", False)]),
    ("label", lambda s: change_field(s, "x.order", "note", type="text", label="Internal note"), [("SetComment", False)]),
    ("many2many added", lambda s: change_field(s, "x.order", "tag_ids", type="many2many", label="Tags",
                                               relation="x.partner", relation_table="x_order_x_partner_rel",
                                               column1="order_id", column2="partner_id"),
     [("CreateTable", False), ("CreateIndex", False), ("AddConstraint", False), ("AddConstraint", False),
      ("EnablePolicy", False)]),
    ("constraint changed", lambda s: replace(s, models=tuple(replace(m, constraints=(
        Constraint("x_order_amount_positive", "check(amount > 0)", "m"),)) if m.name == "x.order" else m
        for m in s.models)), [("DropConstraint", False), ("AddConstraint", False)]),
    ("model dropped", lambda s: replace(s, models=s.models[:1], external_models=("x.partner",)), None),
]


@pytest.mark.parametrize("name, change, expected", CASES, ids=[c[0] for c in CASES])
def test_named_changes(name, change, expected):
    operations = diff.diff(BASE, change(BASE))
    if expected is not None:
        assert kinds(operations) == expected, describe(operations)
    else:
        assert any(isinstance(op, ops.DropTable) and op.destructive for op in operations), describe(operations)
    assert diff.diff(change(BASE), change(BASE)) == []


def test_relation_target_change_replaces_the_foreign_key():
    two = replace(BASE, models=BASE.models + (Model("x.shop", "x_shop", "Shop", "m"),))
    changed = change_field(two, "x.order", "partner_id", type="many2one", label="Partner", relation="x.shop",
                           on_delete="set null")
    operations = diff.diff(two, changed)
    fk = [op for op in operations if isinstance(op, ops.AddConstraint)]
    assert len(fk) == 1 and fk[0].constraint.ref_table == "x_shop"


# ------------------------------------------------------------------------------------------------
# equivalence and reversibility on PostgreSQL


def assert_equivalent(conn, a: Snapshot, b: Snapshot, hints=renames.Renames()) -> list[ops.Op]:
    """full(A) then diff(A->B) == full(B); then the down migration == full(A). Rolled back after."""
    up = diff.diff(a, b, renames=hints)
    with conn.transaction(force_rollback=True):
        eq.build(conn, "a", a)
        cat_a = eq.read(conn, "a")
        eq.run_in(conn, "a", eq.statements(up))
        after_up = eq.read(conn, "a")
        eq.build(conn, "b", b)
        cat_b = eq.read(conn, "b")
        assert after_up == cat_b, eq.explain(cat_b, after_up)
        eq.run_in(conn, "a", eq.statements(diff.reverse(up)))
        after_down = eq.read(conn, "a")
        assert after_down == cat_a, eq.explain(cat_a, after_down)
    return up


@pytest.fixture(scope="module")
def purchase_pair(rpc_catalog):
    with_refs = dict(with_references=True)
    a = select(rpc_catalog, Scope(modules=("product", "sale", "sale_management", "stock", "uom"), **with_refs))
    b = select(rpc_catalog, Scope(modules=("product", "purchase", "sale", "sale_management", "stock", "uom"), **with_refs))
    return a, b


def test_adding_purchase_equals_a_fresh_build_and_reverts(db, purchase_pair):
    a, b = purchase_pair
    with psycopg.connect(db) as conn:
        up = assert_equivalent(conn, a, b)
    created = {op.table.name for op in up if isinstance(op, ops.CreateTable)}
    assert {"purchase_order", "purchase_order_line"} <= created
    added = {(op.table, op.column.name) for op in up if isinstance(op, ops.AddColumn)}
    assert ("product_template", "purchase_method") in added and ("product_packaging", "purchase") in added
    # purchase_method is a selection: its CHECK comes with the column
    assert any(isinstance(op, ops.AddConstraint) and op.table == "product_template"
               and op.constraint.name == "product_template_purchase_method_check" for op in up)
    assert not any(op.destructive for op in up)


def test_non_destructive_diff_keeps_every_row(db, purchase_pair, tmp_path):
    a, b = purchase_pair
    rules = tmp_path / "fbs-schema.toml"
    rules.write_text('[[default]]\nmodel = "product.template"\nfield = "purchase_line_warn"\nvalue = "no-message"\n'
                     '[[default]]\nmodel = "res.company"\nfield = "po_lead"\nvalue = 0\n', "utf-8")
    from generator import rules as rules_mod

    loaded = rules_mod.load(rules)
    with psycopg.connect(db) as conn:
        eq.run_in(conn, "public", eq.statements(diff.diff(Snapshot.empty(), a)))
        maker = RowMaker(conn)
        for table in ("sale_order_line", "stock_move", "product_product", "stock_picking", "res_partner"):
            maker.make(table, "00000000-0000-0000-0000-00000000000a", reuse=False)
        tables = [t for (t,) in conn.execute("SELECT relname FROM pg_class WHERE relkind = 'r' "
                                             "AND relnamespace = 'public'::regnamespace ORDER BY 1")]
        before = {t: conn.execute(f'SELECT * FROM "{t}" ORDER BY 1, 2').fetchall() for t in tables}
        columns = {t: [d.name for d in conn.execute(f'SELECT * FROM "{t}" LIMIT 0').description] for t in tables}
        assert sum(map(len, before.values())) > 10
        conn.commit()
        eq.run_in(conn, "public", eq.statements(diff.diff(a, b, loaded, old_rules=loaded)))
        for t in tables:
            cols = ", ".join(f'"{c}"' for c in columns[t])
            assert conn.execute(f'SELECT {cols} FROM "{t}" ORDER BY 1, 2').fetchall() == before[t], t
        assert conn.execute("SELECT DISTINCT po_lead FROM res_company").fetchall() == [(0,)]


def test_hinted_rename_keeps_the_data(db):
    a = BASE
    b = change_field(drop_field(a, "x.order", "note"), "x.order", "memo", type="text", label="Note")
    hints, _ = renames.resolve(renames.Renames(fields=(("x.order", "note", "memo"),)), a, b)
    with psycopg.connect(db) as conn:
        up = assert_equivalent(conn, a, b, hints)
        assert [type(op).__name__ for op in up] == ["RenameColumn"]
        eq.run_in(conn, "public", eq.statements(diff.diff(Snapshot.empty(), a)))
        conn.execute("INSERT INTO x_order (tenant_id, note) VALUES (gen_random_uuid(), 'keep me')")
        eq.run_in(conn, "public", eq.statements(up))
        assert conn.execute("SELECT memo FROM x_order").fetchall() == [("keep me",)]


def test_renamed_model_keeps_its_rows(db):
    b = replace(BASE, models=(BASE.models[0], replace(BASE.models[1], name="x.sale", table="x_sale")))
    hints, _ = renames.resolve(renames.Renames(models=(("x.order", "x.sale"),)), BASE, b)
    with psycopg.connect(db) as conn:
        up = assert_equivalent(conn, BASE, b, hints)
    assert not any(op.destructive for op in up) and any(isinstance(op, ops.RenameTable) for op in up)


# --- hypothesis: sequences of mutations of the bundled snapshot ----------------------------------

SIMPLE_TYPES = ("char", "integer", "float", "boolean", "date", "datetime", "text", "monetary", "html", "json")


def _models(snap: Snapshot) -> list[Model]:
    return [m for m in snap.models]


def _with_model(snap: Snapshot, model: Model) -> Snapshot:
    models = {m.name: m for m in snap.models}
    models[model.name] = replace(model, fields=tuple(sorted(model.fields, key=lambda f: f.name)))
    return replace(snap, models=tuple(models[k] for k in sorted(models)))


@st.composite
def mutation_sequences(draw, base: Snapshot):
    snap = base
    steps = []
    names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=3, max_size=12).map(lambda s: "x_" + s)
    for _ in range(draw(st.integers(1, 4))):
        models = _models(snap)
        model = draw(st.sampled_from(models))
        plain = [f for f in model.fields if f.type in SIMPLE_TYPES + ("selection", "many2one")
                 and f.name not in ("create_uid", "write_uid", "create_date", "write_date")]
        kind = draw(st.sampled_from(["add", "drop", "type", "required", "selection", "on_delete", "target",
                                     "m2m", "index", "constraint", "label", "new_model", "drop_model"]))
        if kind == "add":
            name = draw(names)
            if name in model.field_map:
                continue
            ftype = draw(st.sampled_from(SIMPLE_TYPES + ("many2one",)))
            extra = {"relation": draw(st.sampled_from(models)).name, "on_delete": "set null"} if ftype == "many2one" else {}
            snap = _with_model(snap, replace(model, fields=model.fields + (Field(
                name, ftype, name, required=draw(st.booleans()), **extra),)))
        elif kind == "drop" and plain:
            f = draw(st.sampled_from(plain))
            snap = _with_model(snap, replace(model, fields=tuple(x for x in model.fields if x.name != f.name),
                                             constraints=()))
        elif kind == "type" and plain:
            f = draw(st.sampled_from([x for x in plain if x.type in SIMPLE_TYPES] or plain))
            if f.type == "many2one":
                continue
            new_type = draw(st.sampled_from(SIMPLE_TYPES))
            size = draw(st.one_of(st.none(), st.integers(1, 300))) if new_type == "char" else None
            snap = _with_model(snap, replace(model, constraints=(), fields=tuple(
                replace(x, type=new_type, size=size, translate=False, selection=(), index=None) if x.name == f.name
                else x for x in model.fields)))
        elif kind == "required" and plain:
            f = draw(st.sampled_from(plain))
            snap = _with_model(snap, replace(model, fields=tuple(
                replace(x, required=not x.required) if x.name == f.name else x for x in model.fields)))
        elif kind == "selection":
            sels = [f for f in model.fields if f.type == "selection" and f.selection]
            if not sels:
                continue
            f = draw(st.sampled_from(sels))
            values = list(f.selection)
            if draw(st.booleans()) and len(values) > 1:
                values.pop(draw(st.integers(0, len(values) - 1)))
            else:
                values.append(SelectionValue(draw(names), "new"))
            snap = _with_model(snap, replace(model, fields=tuple(
                replace(x, selection=tuple(values)) if x.name == f.name else x for x in model.fields)))
        elif kind in ("on_delete", "target"):
            m2o = [f for f in model.fields if f.type == "many2one"]
            if not m2o:
                continue
            f = draw(st.sampled_from(m2o))
            if kind == "on_delete":
                change = {"on_delete": draw(st.sampled_from(["cascade", "restrict", "set null"]))}
            else:
                change = {"relation": draw(st.sampled_from(models)).name}
            snap = _with_model(snap, replace(model, fields=tuple(
                replace(x, **change) if x.name == f.name else x for x in model.fields)))
        elif kind == "m2m":
            m2m = [f for f in model.fields if f.type == "many2many"]
            if m2m and draw(st.booleans()):
                f = draw(st.sampled_from(m2m))
                snap = _with_model(snap, replace(model, fields=tuple(x for x in model.fields if x.name != f.name)))
            else:
                name = draw(names)
                target = draw(st.sampled_from(models))
                if name in model.field_map:
                    continue
                snap = _with_model(snap, replace(model, fields=model.fields + (Field(
                    name, "many2many", name, relation=target.name, relation_table=f"{model.table}_{name}_rel",
                    column1="src_id", column2="dst_id"),)))
        elif kind == "index" and plain:
            f = draw(st.sampled_from(plain))
            snap = _with_model(snap, replace(model, fields=tuple(
                replace(x, index=None if x.index else "btree") if x.name == f.name else x for x in model.fields)))
        elif kind == "constraint":
            if model.constraints:
                snap = _with_model(snap, replace(model, constraints=model.constraints[1:]))
            elif plain:
                f = draw(st.sampled_from(plain))
                snap = _with_model(snap, replace(model, constraints=(
                    Constraint(f"{model.table}_{f.name}_uniq", f"unique({f.name})", "m"),)))
        elif kind == "label":
            snap = _with_model(snap, replace(model, label=model.label + " (renamed)"))
        elif kind == "new_model":
            name = "x.new." + draw(names)
            if name in snap.model_map:
                continue
            snap = _with_model(snap, Model(name, name.replace(".", "_"), "New", "m", fields=(
                Field("partner_ref", "many2one", "Ref", relation=model.name, on_delete="cascade", index="btree"),
                Field("title", "char", "Title", required=True))))
        elif kind == "drop_model" and len(models) > 2:
            gone = model.name
            kept = tuple(m for m in snap.models if m.name != gone)
            external = tuple(sorted(set(snap.external_models) | {gone}))
            snap = replace(snap, models=kept, external_models=external)
        else:
            continue
        steps.append(kind)
    return steps, snapshot.loads(snapshot.dumps(snap))  # every mutated snapshot is a valid snapshot


@pytest.fixture(scope="module")
def mutation_db(bundled_template):
    from tests.support import pg

    with pg.template_copy(bundled_template["name"]) as dsn:
        with psycopg.connect(dsn) as conn:
            yield conn, eq.read(conn, "public")


def fresh_build_of_changed_tables(conn, full_a: dict, a: Snapshot, b: Snapshot) -> dict:
    """The catalog a fresh build of B would have. Tables whose physical definition is the same in A and B
    get identical DDL from a fresh build of either, so their rows come from full(A); every table that
    differs (or is new) is built fresh, from nothing, in a scratch schema (its foreign keys to unchanged
    tables resolve to those in public). Only this keeps 200 examples within minutes."""
    schema_a, schema_b = tenant.build(a), tenant.build(b)
    before = {t.name: t for t in schema_a.tables}
    changed = [t for t in schema_b.tables if before.get(t.name) != t]
    stale = {t.name for t in changed} | (set(before) - {t.name for t in schema_b.tables})
    eq.run_in(conn, "fresh_b", [])  # search_path
    conn.execute("CREATE SCHEMA fresh_b")
    eq.run_in(conn, "fresh_b", eq.statements(diff.diff_schemas(Schema(), Schema(tables=tuple(changed)))))
    expected = {k: v for k, v in full_a.items() if k[1] not in stale}
    expected.update(eq.read(conn, "fresh_b"))
    return expected


# 60 fixed examples in `make test` (about 40 s); `make fuzz` runs FBS_MUTATION_EXAMPLES (default 400) random ones
@settings(max_examples=int(os.environ.get("FBS_MUTATION_EXAMPLES", "60")), deadline=None,
          derandomize=not os.environ.get("FBS_FUZZ_RANDOM"),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_mutation_sequences_equal_a_fresh_build_and_revert(mutation_db, bundled, data):
    conn, full_a = mutation_db
    steps, b = data.draw(mutation_sequences(bundled))
    up = diff.diff(bundled, b)
    with conn.transaction(force_rollback=True):
        eq.run_in(conn, "public", eq.statements(up))
        after_up = eq.read(conn, "public")
        full_b = fresh_build_of_changed_tables(conn, full_a, bundled, b)
        assert after_up == full_b, f"{steps}\n" + eq.explain(full_b, after_up)
        eq.run_in(conn, "public", eq.statements(diff.reverse(up)))
        assert eq.read(conn, "public") == full_a, f"{steps}\n" + eq.explain(full_a, eq.read(conn, "public"))


# ------------------------------------------------------------------------------------------------
# the command: destructive refusal, possible renames, hints, reversible pairs, bad input


def _generate(folder, snap_path, *extra, cwd=None):
    return subprocess.run([sys.executable, "-m", "generator", "generate", "--migrations", str(folder),
                           "--snapshot", str(snap_path), "--timestamp", "20260101000000", *extra],
                          capture_output=True, text=True, cwd=cwd)


@pytest.fixture
def started(tmp_path):
    folder = tmp_path / "migrations"
    (tmp_path / "a.json").write_text(snapshot.dumps(BASE))
    assert _generate(folder, tmp_path / "a.json").returncode == 0
    return folder


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_destructive_diff_without_the_flag_writes_nothing(tmp_path, started):
    (tmp_path / "b.json").write_text(snapshot.dumps(drop_field(BASE, "x.order", "amount")))
    before = _files(started)
    proc = _generate(started, tmp_path / "b.json")
    assert proc.returncode == 6 and "DROP column x_order.amount" in proc.stderr and "--allow-destructive" in proc.stderr
    assert _files(started) == before
    proc = _generate(started, tmp_path / "b.json", "--allow-destructive")
    assert proc.returncode == 0
    new = [p for p in _files(started) if p not in before]
    assert len(new) == 1 and "!!! DESTRUCTIVE" in (started / new[0]).read_text()


def test_possible_rename_stops_and_says_how_to_confirm(tmp_path, started):
    b = change_field(drop_field(BASE, "x.order", "note"), "x.order", "memo", type="text", label="Note")
    (tmp_path / "b.json").write_text(snapshot.dumps(b))
    before = _files(started)
    proc = _generate(started, tmp_path / "b.json")
    assert proc.returncode == 6 and "x.order: note -> memo" in proc.stderr and "[[field]]" in proc.stderr
    assert "[[unrelated]]" in proc.stderr and _files(started) == before
    hints = tmp_path / "renames.toml"
    hints.write_text('[[field]]\nmodel = "x.order"\nold = "note"\nnew = "memo"\n')
    proc = _generate(started, tmp_path / "b.json", "--renames", str(hints))
    assert proc.returncode == 0, proc.stderr
    new = [p for p in _files(started) if p not in before]
    assert 'RENAME COLUMN note TO memo' in (started / new[0]).read_text()
    # the hint stays in the file: next time it is already applied and skipped
    assert _generate(started, tmp_path / "b.json", "--renames", str(hints)).returncode == 0


def test_unrelated_confirms_drop_and_add(tmp_path, started):
    b = change_field(drop_field(BASE, "x.order", "note"), "x.order", "memo", type="text", label="Note")
    (tmp_path / "b.json").write_text(snapshot.dumps(b))
    hints = tmp_path / "renames.toml"
    hints.write_text('[[unrelated]]\nmodel = "x.order"\nold = "note"\nnew = "memo"\n')
    assert _generate(started, tmp_path / "b.json", "--renames", str(hints)).returncode == 6  # still destructive
    proc = _generate(started, tmp_path / "b.json", "--renames", str(hints), "--allow-destructive")
    assert proc.returncode == 0, proc.stderr


def test_hints_naming_nothing_are_refused(tmp_path, started):
    (tmp_path / "b.json").write_text(snapshot.dumps(change_field(BASE, "x.order", "ref", type="char", label="R")))
    hints = tmp_path / "renames.toml"
    hints.write_text('[[field]]\nmodel = "x.order"\nold = "nope"\nnew = "nada"\n')
    before = _files(started)
    proc = _generate(started, tmp_path / "b.json", "--renames", str(hints))
    assert proc.returncode == 2 and "names fields that do not exist" in proc.stderr and _files(started) == before
    with pytest.raises(UsageError, match="does not have"):
        renames.resolve(renames.Renames(fields=(("x.nothing", "a", "b"),)), BASE, BASE)


def test_reversible_pairs_revert_with_the_runner(tmp_path, db):
    folder = tmp_path / "m"
    (tmp_path / "a.json").write_text(snapshot.dumps(BASE))
    assert _generate(folder, tmp_path / "a.json", "--reversible").returncode == 0
    first_schema = max(int(p.name.split("_")[0]) for p in folder.glob("*.up.sql"))
    b = change_field(BASE, "x.order", "ref", type="char", label="Ref", index="btree")
    (tmp_path / "b.json").write_text(snapshot.dumps(b))
    proc = subprocess.run([sys.executable, "-m", "generator", "generate", "--migrations", str(folder), "--snapshot",
                           str(tmp_path / "b.json"), "--reversible"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    ups, downs = list(folder.glob("*.up.sql")), list(folder.glob("*.down.sql"))
    plain = [p for p in folder.glob("*.sql") if not p.name.endswith((".up.sql", ".down.sql"))]
    assert len(ups) == len(downs) >= 3 and plain == []
    run = lambda *a: subprocess.run([sys.executable, "-m", "generator", *a, "--database-url", db, "--migrations",
                                     str(folder)], capture_output=True, text=True)
    assert run("migrate").returncode == 0
    with psycopg.connect(db) as conn:
        latest = eq.read(conn, "public")
    # the update is a main file plus a CREATE INDEX CONCURRENTLY file: revert both
    assert run("revert").returncode == 0
    assert run("revert", "--target-version", str(first_schema)).returncode == 0
    assert run("verify").returncode == 8  # one migration back: the database is at the previous snapshot
    with psycopg.connect(db) as conn:
        assert ("column", "x_order", "ref") not in eq.read(conn, "public")
    assert run("migrate").returncode == 0
    with psycopg.connect(db) as conn:
        assert eq.read(conn, "public") == latest
    assert run("revert", "--target-version", "0").returncode == 0
    with psycopg.connect(db) as conn:
        assert [k for k in eq.read(conn, "public") if k[1] != "_sqlx_migrations"] == []


def test_older_odoo_version_and_edited_kept_snapshot_are_refused(tmp_path, started):
    """A newer series is an upgrade (tests/test_upgrade.py); an older one is refused."""
    (tmp_path / "b.json").write_text(snapshot.dumps(replace(BASE, odoo_version="16.0")))
    proc = _generate(started, tmp_path / "b.json")
    assert proc.returncode == 4 and "Odoo 16.0" in proc.stderr and "Odoo 17.0" in proc.stderr
    assert "older Odoo series" in proc.stderr
    kept = started / api.KEPT_SNAPSHOT
    kept.write_text(kept.read_text().replace('"Partner"', '"Partner!"'))
    (tmp_path / "c.json").write_text(snapshot.dumps(BASE))
    proc = _generate(started, tmp_path / "c.json")
    assert proc.returncode == 4 and "is not the snapshot that the newest migration" in proc.stderr


def test_plan_prints_changes_per_table(tmp_path, started):
    (tmp_path / "b.json").write_text(snapshot.dumps(drop_field(change_field(BASE, "x.order", "ref", type="char",
                                                                            label="R"), "x.partner", "name")))
    proc = subprocess.run([sys.executable, "-m", "generator", "plan", "--migrations", str(started), "--snapshot",
                           str(tmp_path / "b.json")], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr  # the plan holds a destructive change (plan --help)
    assert "x_order:\n  + add column x_order.ref character varying" in proc.stdout
    assert "- DROP column x_partner.name (its values are lost)   [DESTRUCTIVE]" in proc.stdout
    (tmp_path / "c.json").write_text(snapshot.dumps(change_field(BASE, "x.order", "ref", type="char", label="R")))
    additive = subprocess.run([sys.executable, "-m", "generator", "plan", "--migrations", str(started), "--snapshot",
                               str(tmp_path / "c.json")], capture_output=True, text=True)
    assert additive.returncode == 0 and "[DESTRUCTIVE]" not in additive.stdout, additive.stdout + additive.stderr


