"""What differs between Odoo series, as data: one ``Profile`` per series (17.0, 18.0, 19.0).

Capture reads ir.module.module first, learns the series from the installed version of ``base``,
and then reads the other ir.* models with the columns and domain of that series' profile. Every
difference between series that capture or classification meets lives here, nowhere else:

- which columns ir.model / ir.model.fields have (18.0 adds ``ir.model.fields.company_dependent``;
  19.0 adds ``ir.model.abstract`` and removes ``ir.model.fields.complete_name``; 19.0's
  ``translate`` is a selection, not a boolean: ``records`` reads any non-empty value as true);
- how company-dependent fields are told apart: 18.0 and 19.0 say so in
  ``ir.model.fields.company_dependent``; 17.0 metadata cannot tell (such fields are not stored,
  their values live in ir_property, and nothing in ir.model.fields marks them), so for 17.0 the
  profile lists the company-dependent fields of Odoo's own modules (those that 18.0/19.0 mark
  company-dependent and that 17.0 has as non-stored fields) and capture takes more with
  ``--company-dependent MODEL.FIELD``;
- tables that Odoo creates without leaving a foreign-key row in ir.model.constraint (the tables of
  base's bootstrap SQL, and two that keep no foreign keys by design), which is the evidence
  capture otherwise uses to find a model's table and its name (see ``capture/catalog.py``);
- tables that Odoo creates by hand in ``init()`` with columns that no field describes (API key
  hashes): not rendered, reported as ``manual``.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.capture.records import CONSTRAINT_COLUMNS, FIELD_COLUMNS, MODEL_COLUMNS, SELECTION_COLUMNS

# Tables Odoo creates with no ir.model.constraint foreign-key row: base's bootstrap SQL
# (odoo/addons/base/data/base_data.sql) creates ir_actions and ir_module_module_dependency with
# their keys; ir.logging keeps an integer create_uid on purpose (no FK, no lock on res_users);
# ir.profile has no log access and no many2one. Same in 17.0, 18.0 and 19.0.
KEYLESS_TABLES = {
    "ir.actions.actions": "ir_actions",
    "ir.logging": "ir_logging",
    "ir.module.module.dependency": "ir_module_module_dependency",
    "ir.profile": "ir_profile",
}
# _auto = False models whose table Odoo creates by hand in init() with columns no field describes.
MANUAL_TABLES = ("auth_totp.device", "res.users.apikeys")

# Odoo 17.0: company-dependent fields of Odoo's own modules (non-stored in 17.0, values in
# ir_property). Facts read from the 18.0/19.0 metadata, where these are marked company_dependent.
COMPANY_DEPENDENT_17 = (
    ("account.analytic.plan", "default_applicability"),
    ("account.cash.rounding", "loss_account_id"),
    ("account.cash.rounding", "profit_account_id"),
    ("product.category", "property_account_creditor_price_difference_categ"),
    ("product.category", "property_account_expense_categ_id"),
    ("product.category", "property_account_income_categ_id"),
    ("product.category", "property_cost_method"),
    ("product.category", "property_stock_account_input_categ_id"),
    ("product.category", "property_stock_account_output_categ_id"),
    ("product.category", "property_stock_journal"),
    ("product.category", "property_stock_valuation_account_id"),
    ("product.category", "property_valuation"),
    ("product.product", "standard_price"),
    ("product.template", "property_account_creditor_price_difference"),
    ("product.template", "property_account_expense_id"),
    ("product.template", "property_account_income_id"),
    ("product.template", "property_stock_inventory"),
    ("product.template", "property_stock_production"),
    ("product.template", "responsible_id"),
    ("product.template", "service_to_purchase"),
    ("res.partner", "barcode"),
    ("res.partner", "credit_limit"),
    ("res.partner", "property_account_payable_id"),
    ("res.partner", "property_account_position_id"),
    ("res.partner", "property_account_receivable_id"),
    ("res.partner", "property_payment_term_id"),
    ("res.partner", "property_purchase_currency_id"),
    ("res.partner", "property_stock_customer"),
    ("res.partner", "property_stock_supplier"),
    ("res.partner", "property_supplier_payment_term_id"),
    ("res.partner", "receipt_reminder_email"),
    ("res.partner", "reminder_date_before_receipt"),
    ("res.partner", "trust"),
    ("res.users", "property_warehouse_id"),
    ("sale.order.template", "journal_id"),
)


@dataclass(frozen=True)
class Profile:
    series: str  # "17.0", "18.0", "19.0"
    model_columns: tuple[str, ...]
    field_columns: tuple[str, ...]
    # ir.model.fields.company_dependent exists (18.0+); else company-dependent fields are known by name
    company_dependent_column: bool
    # 17.0: (model, field) pairs known to be company-dependent (non-stored in ir.model.fields)
    known_company_dependent: tuple[tuple[str, str], ...] = ()
    selection_columns: tuple[str, ...] = SELECTION_COLUMNS
    constraint_columns: tuple[str, ...] = CONSTRAINT_COLUMNS

    def field_domain(self, extra_company_dependent: tuple[tuple[str, str], ...] = ()) -> list:
        """The ir.model.fields domain: stored fields that can shape a column (never one2many), and
        on 17.0 also the non-stored fields named like a known company-dependent field."""
        names = sorted({f for _, f in (*self.known_company_dependent, *extra_company_dependent)})
        if self.company_dependent_column or not names:
            return [["store", "=", True], ["ttype", "!=", "one2many"]]
        return ["|", ["store", "=", True], ["name", "in", names], ["ttype", "!=", "one2many"]]

    def known_company_dependent_with(self, extra: tuple[tuple[str, str], ...] = ()) -> frozenset[tuple[str, str]]:
        return frozenset(() if self.company_dependent_column else self.known_company_dependent) | frozenset(extra)

    def read_plan(self, extra_company_dependent: tuple[tuple[str, str], ...] = ()) -> tuple:
        """(model, columns, domain) of each batched search_read after ir.module.module."""
        return (
            ("ir.model", self.model_columns, []),
            ("ir.model.fields", self.field_columns, self.field_domain(extra_company_dependent)),
            ("ir.model.fields.selection", self.selection_columns, []),
            ("ir.model.constraint", self.constraint_columns, []),
        )


PROFILES = {
    "17.0": Profile("17.0", MODEL_COLUMNS, FIELD_COLUMNS, False, COMPANY_DEPENDENT_17),
    "18.0": Profile("18.0", MODEL_COLUMNS, FIELD_COLUMNS + ("company_dependent",), True),
    "19.0": Profile("19.0", MODEL_COLUMNS + ("abstract",), FIELD_COLUMNS + ("company_dependent",), True),
}
OLDEST, NEWEST = "17.0", "19.0"


def for_series(series: str) -> Profile:
    """The profile of an Odoo series; a saas~ or later minor release takes the profile of the
    series it belongs to (saas~18.2 -> 18.0's columns, which every 18.x has)."""
    if series in PROFILES:
        return PROFILES[series]
    number = series.removeprefix("saas~")
    try:
        major = int(float(number))
    except ValueError:
        return PROFILES[NEWEST]
    if major < 17:
        return PROFILES[OLDEST]
    return PROFILES.get(f"{major}.0", PROFILES[NEWEST])
