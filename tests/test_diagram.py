"""`fbs-schema diagram`: Mermaid ER text with one relationship per foreign key."""

from __future__ import annotations

import re
import subprocess
import sys

from generator import api, tenant

CORE = "sale_order,sale_order_line,product_template,product_product,stock_picking,stock_move,res_partner,uom_uom"


def diagram(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "generator", "diagram", *args], capture_output=True, text=True)


def test_core_diagram_has_every_internal_foreign_key(bundled):
    proc = diagram("--tables", CORE, "--internal")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "erDiagram"
    relations = {tuple(re.match(r"    (\w+) (\}o--\|\||\}o--o\|) (\w+) : \"(\w+)\"$", l).group(1, 3, 4))
                 for l in lines if "--" in l}
    schema = tenant.build(bundled)
    chosen = set(CORE.split(","))
    expected = {(t.name, fk.ref_table, fk.columns[-1]) for t in schema.tables if t.name in chosen
                for fk in t.foreign_keys if fk.ref_table in chosen}
    assert relations == expected and ("sale_order_line", "sale_order", "order_id") in relations
    assert "    sale_order_line }o--|| sale_order : \"order_id\"" in lines  # required: exactly one order
    assert "        uuid tenant_id PK" in lines


def test_module_and_changes_and_errors(tmp_path):
    proc = diagram("--module", "uom", "--columns", "all")
    assert proc.returncode == 0 and "uom_uom {" in proc.stdout and "res_users {" not in proc.stdout
    assert 'uom_uom }o--o| res_users : "create_uid"' in proc.stdout
    proc = diagram("--changes", str(api.PROJECT_ROOT / "migrations"))
    assert proc.returncode == 2 and "no table changes" in proc.stderr
    proc = diagram("--module", "nope")
    assert proc.returncode == 2 and "no table of module 'nope'" in proc.stderr
