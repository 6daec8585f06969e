"""Follow Odoo upgrades: a folder generated from Odoo 17.0 metadata takes 18.0's, then 19.0's, as
ordinary reviewed migrations; rename suggestions come with their evidence; the upgraded database is
the one a fresh 18.0 (19.0) generation gives, and rows in unchanged and renamed columns survive."""

from __future__ import annotations

import shutil

import psycopg
import pytest

from generator import api, renames
from generator.capture import scope as scoping
from generator.errors import DestructiveChange, PossibleRename, SnapshotError
from generator.runner.apply import RunOptions
from tests.support import versions
from tests.support.migrations import generate
from tests.support.rows import RowMaker

SI = scoping.Scope(preset="sales-inventory", with_references=True)

# The rename suggestions of each step of the reference metadata (sales-inventory with references),
# with their evidence, exactly as `generate` lists them.
SUGGESTIONS = {
    ("17.0", "18.0"): [
        ("account.move", "payment_id", "origin_payment_id",
         "same label 'Payment'; same relation account.payment; same module account; same required/index/size; same type many2one"),
        ("account.move", "send_and_print_values", "sending_data", "same module account; same type json"),
        ("account.move", "to_check", "checked", "same module account; same type boolean"),
        ("account.move", "to_check", "is_manually_modified", "same module account; same type boolean"),
        ("account.move", "to_check", "made_sequence_gap", "same module account; same type boolean"),
        ("account.move.line", "blocked", "is_imported", "same module account; same type boolean"),
        ("product.document", "attached_on", "attached_on_sale",
         "shared selection values inside, quotation, sale_order; same module sale, sale_pdf_quote_builder; same type selection"),
        ("product.template", "detailed_type", "service_tracking",
         "same module product; same required/index/size; same type selection"),
        ("product.template", "priority", "service_tracking", "same module product; same type selection"),
        ("stock.warehouse.orderpoint", "qty_to_order", "qty_to_order_manual", "same module stock; same type float"),
    ],
    ("18.0", "19.0"): [
        ("account.journal", "autocheck_on_post", "is_self_billing", "same module account; same type boolean"),
        ("account.move.line", "tax_tag_invert", "collapse_composition", "same module account; same type boolean"),
        ("account.move.line", "tax_tag_invert", "collapse_prices", "same module account; same type boolean"),
        ("account.move.line", "tax_tag_invert", "is_storno", "same module account; same type boolean"),
        ("account.move.line", "tax_tag_invert", "no_followup", "same module account; same type boolean"),
        ("purchase.order", "notes", "note", "same label 'Terms and Conditions'; same module purchase; same type html"),
        ("purchase.order", "mail_reception_confirmed", "acknowledged", "same module purchase; same type boolean"),
        ("purchase.order", "mail_reception_confirmed", "locked", "same module purchase; same type boolean"),
        ("purchase.order", "mail_reception_confirmed", "receipt_reminder_email", "same module purchase; same type boolean"),
        ("purchase.order", "mail_reception_declined", "acknowledged", "same module purchase; same type boolean"),
        ("purchase.order", "mail_reception_declined", "locked", "same module purchase; same type boolean"),
        ("purchase.order", "mail_reception_declined", "receipt_reminder_email", "same module purchase; same type boolean"),
        ("purchase.order", "mail_reminder_confirmed", "acknowledged", "same module purchase; same type boolean"),
        ("purchase.order", "mail_reminder_confirmed", "locked", "same module purchase; same type boolean"),
        ("purchase.order", "mail_reminder_confirmed", "receipt_reminder_email", "same module purchase; same type boolean"),
        ("purchase.order.line", "taxes_id", "tax_ids",
         "same label 'Taxes'; same relation account.tax; same module purchase; same type many2many"),
        ("purchase.order.line", "product_uom", "product_uom_id", "same relation uom.uom; same module purchase; same type many2one"),
        ("purchase.order.line", "product_packaging_qty", "technical_price_unit", "same module purchase; same type float"),
        ("res.company", "po_lead", "horizon_days", "same required/index/size; same type float"),
        ("res.users", "groups_id", "group_ids", "same label 'Groups'; same relation res.groups; same module base; same type many2many"),
        ("sale.order.line", "tax_id", "tax_ids", "same label 'Taxes'; same relation account.tax; same module sale; same type many2many"),
        ("sale.order.line", "product_uom", "product_uom_id", "same relation uom.uom; same module sale; same type many2one"),
        ("stock.move", "description_picking", "description_picking_manual", "same module stock; same type text"),
        ("stock.move", "name", "inventory_name", "same module stock; same type char"),
        ("stock.route", "packaging_selectable", "package_type_selectable", "same module stock; same type boolean"),
        ("stock.warehouse.orderpoint", "qty_multiple", "qty_to_order_computed", "same module stock; same type float"),
        ("uom.uom", "rounding", "relative_factor", "same module uom; same required/index/size; same type float"),
    ],
}
# What a reviewer decides for each step: these are renames; every other suggestion is unrelated.
ACCEPTED = {
    ("17.0", "18.0"): {("account.move", "payment_id", "origin_payment_id"), ("account.move", "to_check", "checked")},
    ("18.0", "19.0"): {("purchase.order", "notes", "note"), ("purchase.order.line", "taxes_id", "tax_ids"),
                       ("purchase.order.line", "product_uom", "product_uom_id"),
                       ("sale.order.line", "tax_id", "tax_ids"), ("sale.order.line", "product_uom", "product_uom_id"),
                       ("res.users", "groups_id", "group_ids")},
}
STEPS = list(SUGGESTIONS)


def _snapshot(version: str):
    return scoping.select(versions.catalog(version), SI)


def _hints(step, tmp_path) -> str:
    """The reviewer's answer to the suggestions of a step, as a rename-hints file."""
    lines = []
    decided_old = set()
    for model, old, new, _ in SUGGESTIONS[step]:
        if (model, old, new) in ACCEPTED[step]:
            lines.append(f'[[field]]\nmodel = "{model}"\nold = "{old}"\nnew = "{new}"\n')
            decided_old.add((model, old))
    for model, old, new, _ in SUGGESTIONS[step]:
        if (model, old, new) not in ACCEPTED[step]:
            lines.append(f'[[unrelated]]\nmodel = "{model}"\nold = "{old}"\nnew = "{new}"\n')
    path = tmp_path / f"renames-{step[1]}.toml"
    path.write_text("\n".join(lines), "utf-8")
    return str(path)


@pytest.mark.parametrize("step", STEPS)
def test_rename_suggestions_of_each_upgrade_step_with_their_evidence(step):
    old, new = (_snapshot(v) for v in step)
    got = [(s.model, s.old, s.new, "; ".join(s.evidence)) for s in renames.suggest(old, new, renames.Renames())]
    assert got == SUGGESTIONS[step]


def test_generate_refuses_until_suggestions_are_decided_and_unrelated_drops_need_the_flag(tmp_path):
    folder = tmp_path / "m"
    generate(_snapshot("17.0"), folder)
    with pytest.raises(PossibleRename) as refused:
        generate(_snapshot("18.0"), folder)
    message = str(refused.value)
    assert "account.move: to_check -> checked (same module account; same type boolean)" in message
    assert '[[field]]\nmodel = "account.move"\nold = "payment_id"\nnew = "origin_payment_id"' in message
    hints = _hints(("17.0", "18.0"), tmp_path)
    with pytest.raises(DestructiveChange) as destructive:
        generate(_snapshot("18.0"), folder, renames_path=hints)
    text = str(destructive.value)
    # a wrong suggestion refused with [[unrelated]]: the old column is dropped, only with the flag
    assert "DROP column product_template.detailed_type" in text
    assert "account.analytic.account is not in the new snapshot" in text
    assert not list(folder.glob("*upgrade*"))


def test_an_older_series_over_a_newer_folder_is_refused(tmp_path):
    folder = tmp_path / "m"
    generate(_snapshot("18.0"), folder)
    with pytest.raises(SnapshotError, match="older Odoo series"):
        generate(_snapshot("17.0"), folder)


def _defaults(step, old, new, tmp_path, dsn: str) -> str:
    """A rules file giving existing rows a value for each required field the upgrade adds to a
    table that already exists (the README's [[default]] path), as a team would write it; a new
    required many2one gets the id of a row of its target (one tenant here: a constant works)."""
    renamed_new = {(m, n) for m, _, n in ACCEPTED[step]}
    lines = []
    for model in new.models:
        before = old.model_map.get(model.name)
        if before is None:
            continue
        for f in model.fields:
            was = before.field_map.get(f.name)
            if not f.required or f.company_dependent or (was is not None and was.required) \
                    or (model.name, f.name) in renamed_new:
                continue
            if f.type in ("many2many", "binary", "one2many"):
                continue
            value = {"selection": f'"{f.selection[0].value}"' if f.selection else '"x"', "boolean": "false",
                     "integer": "1", "float": "1", "monetary": "1", "date": '"2026-01-01"',
                     "datetime": '"2026-01-01 00:00:00"'}.get(f.type, '"x"')
            if f.type == "many2one":
                if was is not None or f.relation not in old.model_map:
                    continue  # an existing column: the team points it at rows themselves (_link_required)
                with psycopg.connect(dsn) as conn:
                    row = conn.execute(f'SELECT id::text FROM "{old.model_map[f.relation].table}" LIMIT 1').fetchone()
                if row is None:
                    continue
                value = f'"{row[0]}"'
            lines.append(f'[[default]]\nmodel = "{model.name}"\nfield = "{f.name}"\nvalue = {value}\n')
    path = tmp_path / f"rules-{step[1]}.toml"
    path.write_text("\n".join(lines), "utf-8")
    return str(path)


def _link_required(dsn: str, step, old, new) -> None:
    """What a team does before an upgrade that makes a many2one required: point the rows that have
    none at a row of the target, in their tenant."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for model in new.models:
            before = old.model_map.get(model.name)
            if before is None:
                continue
            for f in model.fields:
                was = before.field_map.get(f.name)
                if f.type == "many2one" and f.required and was is not None and not was.required \
                        and f.relation in old.model_map:
                    table, target = before.table, old.model_map[f.relation].table
                    conn.execute(f'UPDATE "{table}" AS t SET "{f.name}" = (SELECT id FROM "{target}" AS r '
                                 f'WHERE r.tenant_id = t.tenant_id LIMIT 1) WHERE "{f.name}" IS NULL')


def _clear_external(dsn: str, schema, made: dict[str, str]) -> None:
    """Generic rows put random uuids in columns that point outside the schema; real ones would
    point at rows the upgrade's new foreign keys can find. Clear them (delete link rows)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in schema.tables:
            for ref in table.external:
                column = table.column(ref.column)
                if column.not_null:
                    conn.execute(f'DELETE FROM "{table.name}"')
                    made.pop(table.name, None)
                else:
                    conn.execute(f'UPDATE "{table.name}" SET "{ref.column}" = NULL')


def _map_removed_selection_values(dsn: str, old, new) -> None:
    """What a team does before an upgrade that removes selection values: map the rows that hold
    one to a value the new series keeps (here simply its first)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for model in new.models:
            before = old.model_map.get(model.name)
            for f in model.fields:
                was = before.field_map.get(f.name) if before else None
                if f.type != "selection" or was is None or not f.selection or f.company_dependent:
                    continue
                kept = [v.value for v in f.selection]
                removed = [v.value for v in was.selection if v.value not in kept]
                if removed:
                    conn.execute(f'UPDATE "{before.table}" SET "{f.name}" = %s WHERE "{f.name}" = ANY(%s)',
                                 (kept[0], removed))


def _fill(dsn: str, schema_tables: list[str], tenant: str) -> dict[str, str]:
    """One row in every table a generic row can go into; table -> id."""
    made = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = RowMaker(conn)
        for table in schema_tables:
            try:
                made[table] = rows.make(table, tenant)
            except psycopg.Error:
                continue  # a table whose CHECKs a generic row cannot satisfy
    return made


def _counts(dsn: str, tables) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


@pytest.mark.parametrize("step", STEPS)
def test_upgrade_is_equivalent_to_a_fresh_schema_and_keeps_rows(step, tmp_path, db):
    from generator import tenant as tenant_rules

    old, new = (_snapshot(v) for v in step)
    folder = tmp_path / "m"
    generate(old, folder)
    api.migrate(RunOptions(migrations_dir=folder, database_url=db))
    tenant = "00000000-0000-0000-0000-0000000000aa"
    old_tables = [t.name for t in tenant_rules.build(old).tables]
    made = _fill(db, old_tables, tenant)
    _clear_external(db, tenant_rules.build(old), made)
    assert len(made) > len(old_tables) * 0.8, (len(made), len(old_tables))
    renamed = sorted(ACCEPTED[step])
    model, old_field, new_field = renamed[0]
    table = old.model_map[model].table
    with psycopg.connect(db, autocommit=True) as conn:
        ctype = conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = %s::regclass "
                             "AND attname = %s", (table, old_field)).fetchone()[0]
        marker = {"boolean": True, "uuid": None}.get(ctype, "kept")
        if marker is not None:
            conn.execute(f'UPDATE "{table}" SET "{old_field}" = %s', (marker,))
    _link_required(db, step, old, new)
    _map_removed_selection_values(db, old, new)
    before = _counts(db, made)

    rules_path = _defaults(step, old, new, tmp_path, db)
    planned = generate(new, folder, renames_path=_hints(step, tmp_path), allow_destructive=True,
                       rules_path=rules_path, dry_run=True)
    at_risk = api.data_at_risk(planned, db)  # what `plan --database-url` prints
    dropped = {op.table.name: at_risk[i] for i, op in enumerate(planned.operations) if op.kind == "drop_table"}
    assert dropped and all(n == before.get(t, 0) for t, n in dropped.items()), (dropped, before)
    assert all(planned.reasons[i] for i, op in enumerate(planned.operations) if op.kind in ("drop_table", "drop_column"))
    upgrade = generate(new, folder, renames_path=_hints(step, tmp_path), allow_destructive=True,
                       rules_path=rules_path)
    assert not [n for n in upgrade.notes if "new required column" in n]
    # left: the many2one columns the team pointed at real rows before the upgrade (_link_required)
    assert all("_id becomes NOT NULL" in n or "location" in n for n in upgrade.notes if "becomes NOT NULL" in n)
    assert upgrade.status == "written" and upgrade.upgrade == f"{step[0]} -> {step[1]}"
    assert all(f"-- Odoo upgrade: {step[0]} -> {step[1]}" in f.text for f in upgrade.files)
    assert any("upgrade_to_odoo" in f.filename for f in upgrade.files)
    # the upgrade files lint like any other change
    from generator import lint

    only = tmp_path / "only"
    only.mkdir()
    for f in upgrade.files:
        shutil.copy(folder / f.filename, only / f.filename)
    assert [str(x) for x in lint.semantic(folder)] == []
    code, out = lint.run_squawk(sorted(only.glob("*.sql")))
    assert code == 0, out
    code, out = lint.run_sqlfluff(sorted(only.glob("*.sql")))
    assert code == 0, out

    api.migrate(RunOptions(migrations_dir=folder, database_url=db))
    assert api.verify(RunOptions(migrations_dir=folder, database_url=db)) == []  # catalog-equal to fresh(new)
    survivors = [t for t in made if t in {t.name for t in tenant_rules.build(new).tables}]
    assert _counts(db, survivors) == {t: before[t] for t in survivors}
    if marker is not None:
        with psycopg.connect(db) as conn:
            values = {r[0] for r in conn.execute(f'SELECT "{new_field}" FROM "{table}"').fetchall()}
        assert values == {marker}, (table, new_field, values)


def test_type_changes_and_storage_changes_say_what_happens(tmp_path):
    """Odoo's changes between series, each with a data-keeping path or a named refusal."""
    from dataclasses import replace

    from generator import ops, tenant, upgrade
    from generator.model import TablelessModel

    old = _snapshot("17.0")
    partner = old.model_map["res.partner"]
    fields = {f.name: f for f in partner.fields}
    changed = dict(fields)
    changed["ref"] = replace(fields["ref"], translate=True)                  # becomes translatable
    changed["comment"] = replace(fields["comment"], type="char")             # html -> char: a cast
    changed["color"] = replace(fields["color"], type="date")                 # integer -> date: no conversion
    changed["website"] = replace(fields["website"], company_dependent=True)  # becomes company-dependent
    new_partner = replace(partner, fields=tuple(changed[n] for n in sorted(changed)))
    models = tuple(new_partner if m.name == "res.partner" else m for m in old.models
                   if m.name != "uom.category")
    new = replace(old, odoo_version="18.0", models=models,
                  tableless=old.tableless + (TablelessModel("uom.category", "view", "uom"),))
    from generator import diff

    up = diff.diff_schemas(tenant.build(old), tenant.build(new))
    by = {(op.kind, op.table_name, getattr(getattr(op, "after", None), "name", None)
           or getattr(getattr(op, "column", None), "name", None)): op for op in up}
    ref = by[("alter_column", "res_partner", "ref")]
    assert ref.convertible and not ref.destructive and "jsonb_build_object('en_US', ref)" in render_sql(ref)
    color = by[("alter_column", "res_partner", "color")]
    assert not color.convertible and color.destructive and "USING NULL::date" in render_sql(color)
    assert "values cannot become date" in render_sql(color)
    website = by[("drop_column", "res_partner", "website")]
    assert "company-dependent in Odoo 18.0" in upgrade.reason(website, old, new)
    dropped = next(op for op in up if isinstance(op, ops.DropTable) and op.table.name == "uom_category")
    assert upgrade.reason(dropped, old, new) == "uom.category is an SQL view or query (no table) in Odoo 18.0"
    assert "no conversion from integer to date" in upgrade.reason(color, old, new)


def render_sql(op) -> str:
    from generator import render

    return render.statement(op)
