"""What an attacker or a careless colleague would try (issue "Trust"): a password in any form of
connection string is never printed by any command; identifiers that come from connection settings are
quoted, never cast from text; output to a device or a FIFO is written in place, never replaced."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

from generator import api
from generator.runner.apply import RunOptions
from tests.support import pg

SECRET = "S3cr3tW"
# Passwords a URL holds wrongly or oddly: an unescaped @, / or space, a bad percent sequence, a quote
HOSTILE = (f"Sup3r%zz{SECRET}", f"p@ss/w0rd {SECRET}", f"h%40rd:{SECRET}@x", f"it's{SECRET}\\", f"{SECRET}?a=b#c")
DOWN = "127.0.0.1:1"  # nobody listens: every command fails fast, naming the connection


def fbs(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "generator", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL, timeout=120)


def _connection_strings(password: str) -> list[str]:
    """The same password in every form a user may give it."""
    return [f"postgresql://postgres:{password}@{DOWN}/odoo",
            f"postgresql://postgres:{quote(password, safe='')}@{DOWN}/odoo",
            f"postgresql://postgres@{DOWN}/odoo?password={quote(password, safe='')}",
            "host=127.0.0.1 port=1 dbname=odoo user=postgres password='" + password.replace("\\", "\\\\")
            .replace("'", "\\'") + "'"]


def _commands(dsn: str, password: str, tmp: Path) -> list[tuple[str, ...]]:
    migrations = str(api.PROJECT_ROOT / "migrations")
    out = [
        ("capture", "--odoo-dsn", dsn, "-o", str(tmp / "s.json")),
        ("generate", "--odoo-dsn", dsn, "--migrations", str(tmp / "m")),
        ("compare-odoo", "--odoo-dsn", dsn, "--snapshot", str(api.BUNDLED_SNAPSHOT)),
        ("import", "--odoo-dsn", dsn, "--database-url", dsn, "--migrations", migrations, "--tenant",
         "0a0a0a0a-0000-4000-8000-00000000000a"),
        ("plan", "--snapshot", str(api.BUNDLED_SNAPSHOT), "--migrations", str(tmp / "none"), "--database-url", dsn),
    ]
    for command in ("migrate", "status", "verify", "revert", "baseline"):
        out.append((command, "--database-url", dsn, "--migrations", migrations))
    return out


@pytest.mark.parametrize("password", HOSTILE, ids=range(len(HOSTILE)))
def test_no_command_prints_a_password(password, tmp_path):
    seen = 0
    for dsn in _connection_strings(password):
        for args in _commands(dsn, password, tmp_path):
            proc = fbs(*args, cwd=tmp_path)
            text = proc.stdout + proc.stderr
            assert SECRET not in text and "Traceback" not in text, (args[0], dsn, text)
            assert proc.returncode != 0 or args[0] == "plan", (args, text)
            seen += 1
    # Odoo's URL with a user and password in it, and the password in ODOO_PASSWORD
    for url in (f"https://admin:{quote(password, safe='')}@{DOWN}", f"https://admin:{password}@{DOWN}"):
        proc = fbs("capture", "--odoo-url", url, "--odoo-db", "odoo", "--odoo-user", "admin",
                   env={"ODOO_PASSWORD": password}, cwd=tmp_path)
        text = proc.stdout + proc.stderr
        assert proc.returncode in (2, 3) and SECRET not in text and "Traceback" not in text, text
        seen += 1
    # a solution's database URL from its environment variable
    (tmp_path / "fbs-schema.toml").write_text('[solution.sales]\npreset = "sales"\n'
                                              'database_url_env = "SALES_URL"\n', "utf-8")
    for args in (("solutions",), ("setup", "sales"), ("migrate", "--solution", "sales"), ("verify", "--all")):
        proc = fbs(*args, cwd=tmp_path, env={"SALES_URL": _connection_strings(password)[0]})
        text = proc.stdout + proc.stderr
        assert proc.returncode != 0 and SECRET not in text and "Traceback" not in text, (args, text)
        seen += 1
    assert seen >= 40


def test_a_schema_whose_name_needs_quoting_migrates_and_verifies(db, tmp_path):
    """A search_path naming a mixed-case schema, as the README shows for sqlx
    (?options=-csearch_path=...): the runner's and verify's catalog reads quote it."""
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier("Sales")))
    option = '-csearch_path="Sales"'
    url = psycopg.conninfo.make_conninfo(db, options=option)
    folder = api.PROJECT_ROOT / "migrations"
    steps = api.migrate(RunOptions(migrations_dir=folder, database_url=url), api.Silent())
    assert steps and all(s.action == "applied" for s in steps)
    assert api.verify(RunOptions(migrations_dir=folder, database_url=url), api.Silent()) == []
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'Sales'").fetchone()[0] > 100
        assert conn.execute('SELECT count(*) FROM "Sales"._sqlx_migrations').fetchone()[0] == len(steps)


def _reader(path: Path, into: list) -> threading.Thread:
    def read():
        with open(path, "rb") as fh:
            into.append(fh.read())
    thread = threading.Thread(target=read)
    thread.start()
    return thread


@pytest.mark.parametrize("command", [("capture", "--from-snapshot", str(api.BUNDLED_SNAPSHOT), "--modules", "uom"),
                                     ("diagram", "--module", "uom")], ids=["capture", "diagram"])
def test_output_to_a_fifo_or_a_device_is_written_in_place(command, tmp_path):
    """-o a FIFO: its reader gets the text and the FIFO is still a FIFO; -o a character device (a
    private /dev/null, made with mknod where the tests run as root; else /dev/null itself): still a
    device afterwards; -o a regular file: replaced atomically, its symlink kept."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _reader(fifo, got)
    proc = fbs(*command, "-o", str(fifo), cwd=tmp_path)
    reader.join(timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and got and len(got[0]) > 50
    device = tmp_path / "null"
    if os.geteuid() == 0:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    else:
        device = Path("/dev/null")
    proc = fbs(*command, "-o", str(device), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISCHR(os.stat(device).st_mode) and os.stat(device).st_rdev == os.makedev(1, 3)
    regular = tmp_path / "out.txt"
    regular.write_text("old", "utf-8")
    link = tmp_path / "link.txt"
    link.symlink_to(regular)
    assert fbs(*command, "-o", str(link), cwd=tmp_path).returncode == 0
    assert link.is_symlink() and regular.read_bytes() == got[0]
    folder = tmp_path / "a-folder"
    folder.mkdir()
    bad = fbs(*command, "-o", str(folder), cwd=tmp_path)
    assert bad.returncode == 2 and "cannot write" in bad.stderr and "Traceback" not in bad.stderr


def _generated_names(tmp_path: Path) -> list[str]:
    """The migration file names generate writes for the bundled snapshot (into a scratch folder)."""
    scratch = tmp_path / "scratch"
    assert fbs("generate", "-q", "--migrations", str(scratch), "--timestamp", "20260101000000",
               cwd=tmp_path).returncode == 0
    return sorted(p.name for p in scratch.glob("*.sql"))


def test_generate_ends_with_its_exit_code_and_all_its_output(tmp_path):
    """generate and plan end the process at once after their output (console.end_process): through
    a pipe (block-buffered), every line is still there, and the exit code is the command's."""
    folder = tmp_path / "migrations"
    done = fbs("generate", "--migrations", str(folder), "--timestamp", "20260101000000", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    wrote = [line for line in done.stdout.splitlines() if line.startswith("wrote ")]
    assert sorted(line.split("/")[-1] for line in wrote) == sorted(p.name for p in folder.glob("*.sql"))
    assert len(wrote) > 20
    other = tmp_path / "other.json"
    assert fbs("capture", "--from-snapshot", str(api.BUNDLED_SNAPSHOT), "--modules", "uom", "-o", str(other),
               cwd=tmp_path).returncode == 0
    stale = fbs("generate", "--check", "--snapshot", str(other), "--migrations", str(folder), cwd=tmp_path)
    assert stale.returncode == 1 and stale.stdout.strip(), (stale.stdout, stale.stderr)
    planned = fbs("plan", "--snapshot", str(other), "--migrations", str(folder), cwd=tmp_path)
    assert planned.returncode == 1 and "DESTRUCTIVE" in planned.stdout, planned.stderr
    assert fbs("generate", "--check", "--migrations", str(folder), cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("kind", ["fifo", "folder", "link out"])
def test_generate_writes_no_migration_when_one_cannot_be_put_in_place(kind, tmp_path):
    """A FIFO, a folder, or a link to elsewhere under the name of the last migration file: generate
    refuses naming it, exit 2, and no migration file (nor the staging folder) is left behind."""
    names = _generated_names(tmp_path)
    folder = tmp_path / "migrations"
    folder.mkdir()
    last = folder / names[-1]
    if kind == "fifo":
        os.mkfifo(last)
    elif kind == "folder":
        last.mkdir()
    else:
        last.symlink_to(tmp_path / "elsewhere.sql")
    proc = fbs("generate", "-q", "--migrations", str(folder), "--timestamp", "20260101000000", cwd=tmp_path)
    assert proc.returncode == 2 and names[-1] in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert sorted(p.name for p in folder.iterdir()) == [names[-1]]
    assert not (tmp_path / "elsewhere.sql").exists()


# -- every config value checked before anything is written -----------------------------------------

BAD_RULES = {
    "check[0].min: nan is not a finite number": '[[check]]\nmodel = "sale.order.line"\nfield = "price_unit"\nmin = nan\n',
    "check[0].max: inf is not a finite number": '[[check]]\nmodel = "sale.order.line"\nfield = "price_unit"\nmax = inf\n',
    "check[0]: min 5 is greater than max 1": '[[check]]\nmodel = "sale.order.line"\nfield = "price_unit"\nmin = 5\nmax = 1\n',
    "default[0].value: nan is not a finite number": '[[default]]\nmodel = "res.company"\nfield = "po_lead"\nvalue = nan\n',
    "migration.lock_timeout: '99999999s' is longer than PostgreSQL's longest timeout":
        '[migration]\nlock_timeout = "99999999s"\n',
    "index[0].where.in: 'abc' is not a value of sale.order.line.price_unit (numeric)":
        '[[index]]\nmodel = "sale.order.line"\nfields = ["name"]\nwhere = { field = "price_unit", in = ["abc"] }\n',
    "record_id[0]: model 'no.such.model' is not in the snapshot":
        '[[record_id]]\nmodel = "no.such.model"\nfield = "res_id"\nuuid = true\n',
    "check[0]: model 'sale.ordr' is not in the snapshot (did you mean 'sale.order'?)":
        '[[check]]\nmodel = "sale.ordr"\nfield = "amount_total"\nmin = 0\n',
    "index[1]: the same index as index[0]; give it once":
        '[[index]]\nmodel = "sale.order"\nfields = ["name"]\n\n[[index]]\nmodel = "sale.order"\nfields = ["name"]\n',
    "tenant.setting: 'app.tenant\\n' is not valid here": '[tenant]\nsetting = "app.tenant\\n"\n',
    "index[0]: sale.order has this index already": '[[index]]\nmodel = "sale.order"\nfields = ["partner_id"]\n',
}


@pytest.mark.parametrize("expected", sorted(BAD_RULES))
def test_config_values_are_checked_before_anything_is_written(expected, tmp_path):
    rules = tmp_path / "fbs-schema.toml"
    rules.write_text(BAD_RULES[expected], "utf-8")
    proc = fbs("generate", "--migrations", str(tmp_path / "m"), "--rules", str(rules), "-q", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"{rules}: {expected}" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "m").exists()


BAD_SOLUTIONS = {
    "schema": ('schema = "information_schema"', "solution.s.schema: 'information_schema' is not valid here"),
    "pg schema": ('schema = "pg_sales"', "solution.s.schema: 'pg_sales' is not valid here"),
    "newline schema": ('schema = "inventory\\n"', "solution.s.schema: 'inventory\\n' is not valid here"),
    "newline prefix": ('prefix = "pur_\\n"', "solution.s.prefix: 'pur_\\n' is not valid here"),
}


def test_a_solution_name_with_a_newline_is_refused(tmp_path):
    (tmp_path / "fbs-schema.toml").write_text('[solution."sales\\n"]\npreset = "sales"\ndatabase_url_env = "S_URL"\n',
                                              "utf-8")
    proc = fbs("solutions", cwd=tmp_path, env={"S_URL": f"postgresql://postgres@{DOWN}/x"})
    assert proc.returncode == 2 and "solution: 'sales\\n' is not valid here" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("case", sorted(BAD_SOLUTIONS))
def test_solution_names_are_matched_whole_and_reserved_schemas_refused(case, tmp_path):
    line, expected = BAD_SOLUTIONS[case]
    (tmp_path / "fbs-schema.toml").write_text(f'[solution.s]\npreset = "sales"\ndatabase_url_env = "S_URL"\n{line}\n',
                                              "utf-8")
    proc = fbs("setup", "s", cwd=tmp_path, env={"S_URL": f"postgresql://postgres@{DOWN}/x"})
    assert proc.returncode == 2 and expected in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    name = fbs("solutions", cwd=tmp_path, env={"S_URL": "x"})
    assert "Traceback" not in name.stderr


@pytest.mark.parametrize("content", [b"[a]\nb = 1\n\xff\xfe\n", ("x = " + "[" * 5000 + "]" * 5000 + "\n").encode()],
                         ids=["not utf-8", "5000 levels deep"])
def test_unreadable_toml_is_exit_2_naming_the_file(content, tmp_path):
    for name, args in (("fbs-schema.toml", ("generate", "--dry-run", "--migrations", str(tmp_path / "m"))),
                       ("fbs-renames.toml", ("generate", "--dry-run", "--migrations", str(tmp_path / "m"))),
                       ("fbs-schema.toml", ("solutions",))):
        for other in tmp_path.glob("*.toml"):
            other.unlink()
        (tmp_path / name).write_bytes(content)
        proc = fbs(*args, cwd=tmp_path)
        assert proc.returncode == 2 and name in proc.stderr and "Traceback" not in proc.stderr, (name, proc.stderr)


def test_verify_and_baseline_work_with_index_and_check_rules(db, tmp_path):
    """The rules are checked against the snapshot they are for, not the empty one verify starts from."""
    (tmp_path / "fbs-schema.toml").write_text(
        '[[index]]\nmodel = "sale.order"\nfields = ["date_order desc"]\nwhere = { field = "state", in = ["sale"] }\n\n'
        '[[check]]\nmodel = "sale.order.line"\nfield = "price_unit"\nmin = 0\n', "utf-8")
    made = fbs("generate", "--migrations", "m", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert fbs("migrate", "--migrations", "m", "--database-url", db, cwd=tmp_path).returncode == 0
    checked = fbs("verify", "--migrations", "m", "--database-url", db, cwd=tmp_path)
    assert checked.returncode == 0 and "matches" in checked.stdout, checked.stdout + checked.stderr
    with pg.fresh_database("fbs_baseline") as other:
        applied = subprocess.run(["sh", str(api.PROJECT_ROOT / "scripts" / "psql-apply.sh"), str(tmp_path / "m"), other],
                                 capture_output=True, text=True)
        assert applied.returncode == 0, applied.stderr
        recorded = fbs("baseline", "--migrations", "m", "--database-url", other, cwd=tmp_path)
        assert recorded.returncode == 0, recorded.stderr


# -- verify sees every object of the placement ------------------------------------------------------

DRIFT = [
    ("CREATE TABLE stray (id int)", ("table", "stray", "", "unexpected"), ""),
    ("CREATE VIEW all_orders AS SELECT * FROM sale_order", ("view", "all_orders", "", "unexpected"),
     "past row-level security"),
    ("CREATE VIEW my_orders WITH (security_invoker = true) AS SELECT id FROM sale_order",
     ("view", "my_orders", "", "unexpected"), ""),
    ("CREATE MATERIALIZED VIEW partner_names AS SELECT name FROM res_partner",
     ("materialized view", "partner_names", "", "unexpected"), "past row-level security"),
    ("CREATE SEQUENCE order_numbers", ("sequence", "order_numbers", "", "unexpected"), ""),
    ("CREATE FUNCTION count_orders() RETURNS bigint SECURITY DEFINER LANGUAGE sql AS 'SELECT count(*) FROM sale_order'",
     ("function", "", "count_orders()", "unexpected"), "past row-level security"),
    ("ALTER POLICY tenant_isolation ON res_partner TO pg_monitor", ("policy", "res_partner", "tenant_isolation",
                                                                    "different"), ""),
    ("ALTER TABLE sale_order FORCE ROW LEVEL SECURITY", ("table", "sale_order", "", "different"), "FORCED"),
    ("COMMENT ON COLUMN sale_order.note IS 'changed'", ("comment", "sale_order", "note", "different"), ""),
    ("GRANT SELECT ON res_partner TO PUBLIC", ("grant", "res_partner", "PUBLIC", "unexpected"), "SELECT"),
    ("CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';"
     "CREATE TRIGGER audit BEFORE INSERT ON sale_order FOR EACH ROW EXECUTE FUNCTION noop()",
     ("trigger", "sale_order", "audit", "unexpected"), ""),
]


def test_verify_names_every_object_the_snapshot_does_not_make(schema_db, bundled_migrations):
    """Each drift of the review: verify exits 8 and names it (--json: kind, table, name, problem), a
    view, materialized view or SECURITY DEFINER function reading tenant tables called out as reading
    past row-level security; extensions' objects (pg_trgm's functions) are not listed."""
    def verify() -> tuple[int, list[dict]]:
        proc = fbs("verify", "--json", "--database-url", schema_db, "--migrations", str(bundled_migrations))
        import json

        return proc.returncode, json.loads(proc.stdout)["differences"] if proc.stdout else proc.stderr

    assert verify() == (0, [])
    with psycopg.connect(schema_db, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        assert verify() == (0, [])
        for statement, _, _ in DRIFT:
            conn.execute(statement)
    code, found = verify()
    assert code == 8
    keys = {(d["kind"], d["table"], d["name"], d["problem"]): d for d in found}
    for statement, key, needle in DRIFT:
        assert key in keys, (statement, sorted(keys))
        assert needle in (keys[key]["actual"] or ""), (statement, keys[key])
    # the view running as the invoker is listed, not called out
    assert "past row-level security" not in keys[("view", "my_orders", "", "unexpected")]["actual"]
    # the trigger's function is a stray function too; nothing else is reported
    assert set(keys) - {k for _, k, _ in DRIFT} == {("function", "", "noop()", "unexpected")}
    text = fbs("verify", "--database-url", schema_db, "--migrations", str(bundled_migrations))
    assert text.returncode == 8 and "unexpected view all_orders: view reading sale_order: reads tenant tables" \
        in text.stdout, text.stdout
