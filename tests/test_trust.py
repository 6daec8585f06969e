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
