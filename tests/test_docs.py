"""The documentation cannot drift: its examples run, its links resolve, its figures are measured.

**Shell examples.** Every fenced ```sh, ```bash, ```shell or ```console block of README.md and
docs/*.md is one test. The harness reads the blocks from the markdown at test time and runs each
with ``bash`` under ``set -euo pipefail``, in a fresh temporary directory, with ``.venv/bin`` first
on PATH and DATABASE_URL naming a fresh, empty scratch database (dropped afterwards). A ```console
block runs its ``$ `` lines. What an example needs besides is said in the markdown, in a one-line
HTML comment before the block (blank lines may come between), which the harness prepares:

    <!-- given: ITEM, ITEM, ... -->

    migrations          ./migrations is a copy of this repository's committed migrations/ (the
                        bundled snapshot's, as `fbs-schema generate` writes them)
    migrated            the same, and the DATABASE_URL database holds them applied (ledger included)
    odoo                a live Odoo: ODOO_BASE_URL, ODOO_DATABASE, ODOO_USER and ODOO_PASSWORD of the
                        Odoo stand-in of tests/support/odoo_server.py, serving the Odoo 17.0
                        reference metadata (tests/fixtures/odoo17)
    odoo-dsn            ODOO_DSN: an Odoo 17.0 database, Odoo's own tables and ir_model* rows
                        (tests/fixtures/odoo-17.0, as tests/test_compare_odoo.py builds it); read only
    database NAME       the variable NAME: the URL of one more fresh, empty scratch database
    file PATH = previous LANG block
                        PATH holds the nearest ```LANG block above this one on the same page
    file PATH = REPO_PATH
                        PATH is a copy of this repository's file REPO_PATH

A block that cannot run here is marked, with its reason, and is the only kind the harness skips:

    <!-- not run: needs a Citus cluster (CITUS_URL); tests/test_citus.py covers it -->

An unmarked block runs; a marker without a reason, an unknown item, or a run block that calls
``make`` or ``pytest`` (this suite itself) is a failure. Examples state an expected non-zero exit
themselves (``fbs-schema plan ... || test $? -eq 1``).

**The other documents.** Every relative link of README.md and docs/*.md names an existing file
(and heading); the GitHub Actions workflow of docs/ci.md runs its ``run:`` steps in order; the hooks
of .pre-commit-hooks.yaml pass on a generated folder and fail when its snapshot changed without
migrations; a measured figure quoted anywhere (a decimal number of seconds, MiB, ...) is one that
``make bench`` wrote to bench/results.md.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
import yaml

from tests.support import pg

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"sh", "bash", "shell", "console"}
BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin" / "fbs-schema").exists() else Path(sys.executable).parent
BUNDLED_MIGRATIONS = ROOT / "migrations"
TIMEOUT = 300  # seconds for one example; a hung example fails instead of hanging the suite


# -- reading the markdown ---------------------------------------------------------------------

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\s`]*)")
_COMMENT = re.compile(r"^\s*<!--\s*(?P<text>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    end: int  # of the closing fence
    lang: str
    text: str  # the content, without the fence's indentation
    comment: str | None  # the HTML comment right before the block

    @property
    def where(self) -> str:
        page = self.page.relative_to(ROOT) if ROOT in self.page.parents else self.page
        return f"{page}:{self.line}"


def read_blocks(page: Path) -> list[Block]:
    lines = page.read_text("utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        body, j = [], i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                break
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        else:
            raise AssertionError(f"{page.relative_to(ROOT)}:{i + 1}: a fenced block is never closed")
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        comment = _COMMENT.match(lines[k]) if k >= 0 else None
        blocks.append(Block(page, i + 1, j + 1, opening["info"].lower(), "\n".join(body) + "\n",
                            comment["text"] if comment else None))
        i = j + 1
    return blocks


def shell_blocks() -> list[Block]:
    return [b for page in PAGES for b in read_blocks(page) if b.lang in SHELL]


def script_of(block: Block) -> str:
    """The commands of a block: all of it, or a console block's `$ ` lines (with their continuations)."""
    if block.lang != "console":
        return block.text
    out, continued = [], False
    for line in block.text.splitlines():
        if line.startswith("$ ") or continued:
            command = line[2:] if line.startswith("$ ") and not continued else line
            out.append(command)
            continued = command.rstrip().endswith("\\")
    return "\n".join(out) + "\n"


def not_run_reason(block: Block) -> str | None:
    if block.comment and block.comment.startswith("not run"):
        reason = block.comment[len("not run"):].lstrip(":").strip()
        assert reason, f"{block.where}: `not run` needs a reason (<!-- not run: why -->)"
        return reason
    return None


@dataclass(frozen=True)
class Given:
    kind: str  # migrations | migrated | odoo | odoo-dsn | database | file
    name: str = ""  # the variable (database) or the path (file)
    source: str = ""  # file: a repository path, or "previous <lang> block"


def given(block: Block) -> list[Given]:
    if block.comment is None or not_run_reason(block) is not None:
        return []
    assert block.comment.startswith("given:"), (
        f"{block.where}: the comment before a shell block is `<!-- given: ... -->` or `<!-- not run: why -->`, "
        f"not {block.comment!r}")
    items = []
    for item in (s.strip() for s in block.comment[len("given:"):].split(",")):
        if item in ("migrations", "migrated", "odoo", "odoo-dsn"):
            items.append(Given(item))
        elif m := re.fullmatch(r"database ([A-Z][A-Z0-9_]*)", item):
            items.append(Given("database", m[1]))
        elif m := re.fullmatch(r"file (\S+) = (previous \w+ block)", item):
            items.append(Given("file", m[1], m[2]))
        elif m := re.fullmatch(r"file (\S+) = (\S+)", item):
            assert (ROOT / m[2]).is_file(), f"{block.where}: {m[2]} is not a file of this repository"
            items.append(Given("file", m[1], m[2]))
        else:
            raise AssertionError(f"{block.where}: unknown item {item!r} in `given:` (see tests/test_docs.py)")
    return items


def previous_block(block: Block, lang: str) -> Block:
    before = [b for b in read_blocks(block.page) if b.line < block.line and b.lang == lang]
    assert before, f"{block.where}: no ```{lang} block above it"
    return before[-1]


# -- what the examples are given ----------------------------------------------------------------

def url(dsn: str) -> str:
    """A scratch database's DSN as a postgresql:// URL (what users put in DATABASE_URL), when the
    server has a TCP host; else the conninfo string, which every tool here accepts too."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    host = info.get("host")
    if not host or host.startswith("/") or set(info) - {"host", "port", "user", "password", "dbname"}:
        return dsn
    user = quote(info.get("user", ""), safe="")
    auth = user + (":" + quote(info["password"], safe="") if info.get("password") else "")
    return f"postgresql://{auth}{'@' if auth else ''}{host}:{info.get('port', '5432')}/{quote(info['dbname'], safe='')}"


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ODOO_", "FBS_")) and k not in ("DATABASE_URL", "CITUS_URL", "VIRTUAL_ENV")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def fbs(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "fbs-schema"), *args], cwd=cwd, env=env or base_env(), capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def docs_odoo():
    """The Odoo stand-in serving the 17.0 reference metadata, and the variables capture reads."""
    from tests.support.make_fixtures import FIXTURES, load_records
    from tests.support.odoo_server import DB, PASSWORD, USER, FakeOdoo

    with FakeOdoo(load_records(FIXTURES)) as server:
        yield {"ODOO_BASE_URL": server.url, "ODOO_DATABASE": DB, "ODOO_USER": USER, "ODOO_PASSWORD": PASSWORD}


@pytest.fixture(scope="module")
def docs_odoo_dsn(pg_server):
    """An Odoo 17.0 database: Odoo's own schema and ir_model* rows (the trimmed fixture)."""
    from tests.support import make_odoo_catalog_fixtures

    with pg.fresh_database("fbs_docs_odoo") as dsn:
        make_odoo_catalog_fixtures.load(dsn, "17.0")
        yield url(dsn)


@pytest.fixture(scope="module")
def docs_migrated(pg_server, tmp_path_factory):
    """A database holding the committed migrations, applied by `fbs-schema migrate`; examples get copies."""
    folder = tmp_path_factory.mktemp("docs-migrated") / "migrations"
    shutil.copytree(BUNDLED_MIGRATIONS, folder)
    with pg.fresh_database("fbs_docs_tpl") as dsn:
        done = fbs("migrate", "-q", "--migrations", str(folder), "--database-url", dsn)
        assert done.returncode == 0, done.stdout + done.stderr
        yield pg.dbname(dsn)


def _prepare(block: Block, work: Path, env: dict, request, stack) -> None:
    items = given(block)
    kinds = {g.kind for g in items}
    if kinds & {"migrations", "migrated"}:
        shutil.copytree(BUNDLED_MIGRATIONS, work / "migrations")
    if "migrated" in kinds:
        env["DATABASE_URL"] = url(stack.enter_context(pg.template_copy(request.getfixturevalue("docs_migrated"))))
    else:
        env["DATABASE_URL"] = url(stack.enter_context(pg.fresh_database("fbs_docs")))
    if "odoo" in kinds:
        env.update(request.getfixturevalue("docs_odoo"))
    if "odoo-dsn" in kinds:
        env["ODOO_DSN"] = request.getfixturevalue("docs_odoo_dsn")
    for g in items:
        if g.kind == "database":
            env[g.name] = url(stack.enter_context(pg.fresh_database("fbs_docs")))
        elif g.kind == "file":
            target = work / g.name
            target.parent.mkdir(parents=True, exist_ok=True)
            if g.source.startswith("previous "):
                target.write_text(previous_block(block, g.source.split()[1]).text, "utf-8")
            else:
                shutil.copy(ROOT / g.source, target)


_RECURSIVE = re.compile(r"^\s*(?:\w+=\S*\s+)*(?:make|pytest|\S*/pytest)(?:\s|$)")

BLOCKS = shell_blocks()


@pytest.mark.parametrize("block", BLOCKS, ids=[b.where for b in BLOCKS])
def test_shell_example_runs(block, request, tmp_path, pg_server):
    from contextlib import ExitStack

    reason = not_run_reason(block)
    if reason is not None:
        pytest.skip(f"not run (marked in the markdown): {reason}")
    script = script_of(block)
    for line in script.splitlines():
        assert not _RECURSIVE.match(line), (
            f"{block.where}: `{line.strip()}` would run make or the test suite from inside it: "
            f"mark the block <!-- not run: ... --> or show it as plain text")
    work = tmp_path / "work"
    work.mkdir()
    env = base_env()
    with ExitStack() as stack:
        _prepare(block, work, env, request, stack)
        path = tmp_path / "example.sh"
        path.write_text("set -euo pipefail\n" + script, "utf-8")
        proc = subprocess.run(["bash", str(path)], cwd=work, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=TIMEOUT)
    assert proc.returncode == 0, (
        f"{block.where}: the example exited {proc.returncode}\n--- the example\n{script}"
        f"--- standard output (end)\n{proc.stdout[-4000:]}\n--- standard error (end)\n{proc.stderr[-4000:]}")


def test_the_harness_sees_every_shell_block_and_few_are_not_run():
    """Every page's shell blocks are found (a miscounted fence would hide some), and the not-run
    exceptions stay rare: each names its reason, and they are at most a fifth of the examples."""
    assert len(PAGES) > 10 and (ROOT / "docs" / "import.md") in PAGES
    total = 0
    for page in PAGES:
        text = page.read_text("utf-8")
        found = [b for b in read_blocks(page) if b.lang in SHELL]
        opened = len(re.findall(r"^[ \t]*(?:```|~~~)[ \t]*(?:sh|bash|shell|console)[ \t]*$", text, re.M | re.I))
        assert len(found) == opened, page
        total += len(found)
        for b in found:
            given(b)  # every comment before a shell block is understood
    not_run = [b for b in BLOCKS if not_run_reason(b) is not None]
    assert total == len(BLOCKS) and total >= 25
    assert len(not_run) * 5 <= total, "\n".join(f"{b.where}: {not_run_reason(b)}" for b in not_run)


def test_the_parser_reads_fences_comments_and_console_blocks(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("text\n<!-- given: migrations, database X_URL -->\n\n```sh\necho a\n```\n"
                    "- item\n\n  ```console\n  $ echo b \\\n    c\n  b c\n  ```\n"
                    "<!-- not run: because -->\n````bash\n```\n````\n")
    a, b, c = read_blocks(page)
    assert (a.lang, a.text, a.comment, a.line) == ("sh", "echo a\n", "given: migrations, database X_URL", 4)
    assert [g.kind for g in given(a)] == ["migrations", "database"] and given(a)[1].name == "X_URL"
    assert b.comment is None and script_of(b) == "echo b \\\n  c\n"
    assert not_run_reason(c) == "because" and c.text == "```\n"


# -- links ----------------------------------------------------------------------------------------

_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\((?P<target><[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _prose_lines(page: Path) -> list[str]:
    """The page's lines outside its fenced blocks."""
    fenced = {n for b in read_blocks(page) for n in range(b.line, b.end + 1)}
    return [line for n, line in enumerate(page.read_text("utf-8").splitlines(), 1) if n not in fenced]


def _prose(page: Path) -> str:
    """The page without its fenced blocks and inline code, where links are not links."""
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "", "\n".join(_prose_lines(page)), flags=re.S)


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors of a markdown page."""
    seen: dict[str, int] = {}
    out = set()
    for line in _prose_lines(page):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m[1].replace("`", "").lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def test_every_relative_link_resolves():
    problems, count = [], 0
    for page in PAGES:
        for m in _LINK.finditer(_prose(page)):
            target = m["target"].strip("<>")
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:
                continue
            count += 1
            path, _, fragment = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            where = f"{page.relative_to(ROOT)}: ({target})"
            if not resolved.exists():
                problems.append(f"{where}: no file {path}")
            elif ROOT not in resolved.parents and resolved != ROOT:
                problems.append(f"{where}: outside the repository")
            elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
                problems.append(f"{where}: no heading #{fragment} in {resolved.relative_to(ROOT)}")
    assert not problems, "\n".join(problems)
    assert count > 30  # the README points to every docs page


def test_every_docs_page_is_reachable_from_the_readme():
    readme = (ROOT / "README.md").read_text("utf-8")
    missing = [p.name for p in PAGES[1:] if f"docs/{p.name}" not in readme]
    assert not missing, f"README.md does not link {missing}"


# -- measured figures come from `make bench` ------------------------------------------------------

_FIGURE = re.compile(r"(?<![\w.])\d[\d,]*\.\d+ ?(?:s|ms|min|MiB|MB|GiB|GB|x|rows/s)(?![\w/])")


def test_quoted_measurements_are_those_of_bench_results():
    """A measured figure (a decimal number of seconds, milliseconds, MiB, MB, or a ratio) in the
    README or a docs page must appear in bench/results.md, which `make bench` writes: figures are
    quoted from a run, never typed by hand."""
    results = set(re.findall(r"\d[\d,]*(?:\.\d+)?", (ROOT / "bench" / "results.md").read_text("utf-8")))
    stray = []
    for page in PAGES:
        for figure in _FIGURE.findall(page.read_text("utf-8")):
            if re.match(r"\d[\d,]*\.\d+", figure)[0] not in results:
                stray.append(f"{page.relative_to(ROOT)}: {figure}")
    assert not stray, "figures not in bench/results.md:\n" + "\n".join(stray)


def test_benchmarks_page_explains_every_case_bench_runs():
    from bench import __main__ as bench

    page = (ROOT / "docs" / "benchmarks.md").read_text("utf-8")
    assert "](../bench/results.md)" in page and "](../bench/results.json)" in page
    for part in bench.PARTS:  # every part `python -m bench PART` runs is explained
        assert f"`{part}`" in page, part


# -- the CI workflow of docs/ci.md --------------------------------------------------------------

def _yaml_blocks(page: Path) -> list[Block]:
    return [b for b in read_blocks(page) if b.lang in ("yaml", "yml")]


def _small_project(work: Path, modules: str = "uom", generate: bool = True) -> None:
    """A project as a team keeps it: snapshot.json (the bundled snapshot's `modules`) and the
    migrations generated from it; small, so that a cold sqlfluff run stays short."""
    work.mkdir(parents=True, exist_ok=True)
    for args in (("capture", "-q", "--from-snapshot", str(ROOT / "snapshots" / "odoo-17.0-sales-inventory.json"),
                  "--modules", modules, "-o", "snapshot.json"),
                 ("generate", "-q", "--snapshot", "snapshot.json"))[:2 if generate else 1]:
        done = fbs(*args, cwd=work)
        assert done.returncode == 0, done.stdout + done.stderr


def test_ci_workflow_runs_its_steps_in_order(tmp_path, pg_server):
    """docs/ci.md's GitHub Actions job, its `run:` steps in order, in a project folder, against a
    scratch database, with the package of .venv standing for the `pip install` step."""
    (block,) = [b for b in _yaml_blocks(ROOT / "docs" / "ci.md") if "jobs:" in b.text]
    workflow = yaml.safe_load(block.text)
    (job,) = workflow["jobs"].values()
    assert "postgres" in job["services"] and "DATABASE_URL" in job["env"]
    runs = [step["run"] for step in job["steps"] if "run" in step]
    install = [r for r in runs if re.search(r"\bpip install\b", r)]
    assert len(install) == 1 and "fbs-schema" in install[0] and runs[0] == install[0]
    commands = runs[1:]
    wanted = ["fbs-schema lint", "fbs-schema generate --check", "fbs-schema migrate", "fbs-schema verify"]
    assert [next(w for w in wanted if c.startswith(w)) for c in commands] == wanted, commands
    work = tmp_path / "project"
    _small_project(work)
    env = base_env()
    with pg.fresh_database("fbs_docs_ci") as dsn:
        env["DATABASE_URL"] = url(dsn)
        for command in commands:
            proc = subprocess.run(["bash", "-c", "set -euo pipefail\n" + command], cwd=work, env=env,
                                  capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT)
            assert proc.returncode == 0, f"docs/ci.md step `{command}` exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


# -- the pre-commit hooks -------------------------------------------------------------------------

def test_pre_commit_hooks_pass_on_a_generated_folder_and_fail_when_the_snapshot_changed(tmp_path):
    """Each hook of .pre-commit-hooks.yaml, run as pre-commit runs it (its entry and args, then the
    args of docs/ci.md's .pre-commit-config.yaml example, no file names), in a copy of a generated
    project: exit 0; after the snapshot changed without new migrations: non-zero."""
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))}
    assert set(hooks) == {"fbs-schema-lint", "fbs-schema-generate-check"}
    assert hooks["fbs-schema-lint"]["entry"].split() == ["fbs-schema", "lint"]
    assert hooks["fbs-schema-generate-check"]["entry"].split() == ["fbs-schema", "generate", "--check"]
    (example,) = [b for b in _yaml_blocks(ROOT / "docs" / "ci.md") if "hooks:" in b.text]
    (repo,) = yaml.safe_load(example.text)["repos"]
    configured = {h["id"]: h for h in repo["hooks"]}
    assert set(configured) == set(hooks)
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["pass_filenames"] is False and hook["name"]
        for changed in ("migrations/20261130012156_product_tables.sql", "migrations/fbs-snapshot.json",
                        "snapshot.json", "fbs-schema.toml"):
            assert re.search(hook["files"], changed), (hook["id"], changed)
        assert not re.search(hook["files"], "README.md")

    def run_hooks(work: Path) -> dict[str, int]:
        codes = {}
        for hook_id, hook in hooks.items():
            argv = shlex.split(hook["entry"]) + list(hook.get("args", [])) + list(configured[hook_id].get("args", []))
            proc = subprocess.run(argv, cwd=work, env=base_env(), capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, timeout=TIMEOUT)
            codes[hook_id] = proc.returncode
        return codes

    work = tmp_path / "project"
    _small_project(work)
    assert run_hooks(work) == {h: 0 for h in hooks}
    _small_project(work / "wider", "uom,product", generate=False)  # a new capture, no migrations
    shutil.copy(work / "wider" / "snapshot.json", work / "snapshot.json")
    shutil.rmtree(work / "wider")
    codes = run_hooks(work)
    assert all(code != 0 for code in codes.values()), codes
