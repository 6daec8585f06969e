"""Render operations into migration files through the Jinja templates in ``generator/templates/``.

One template per operation kind (``templates/ops/<kind>.sql.j2``, whose macro ``statement(op,
target, anchor)`` renders one operation) and one for the file (``templates/migration.sql.j2``), the
same for every target: a template reads the target's flags where its SQL differs. Identifiers only
through the ``ident`` filter (``idents`` for a list), constants only through ``literal``, comment
text through ``comment``. Output is deterministic: UTF-8, LF, one trailing newline. Files follow
sqlx's layout ``<VERSION>_<description>.sql`` (``.up.sql`` / ``.down.sql`` for reversible pairs).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import jinja2
import jinja2.bccache

from generator import naming, ops
from generator.errors import RenderError
from generator import layout
from generator.planning import Timeouts
from generator.tables import ExternalReference, Schema
from generator.target import POSTGRES, Target

TEMPLATES = layout.TEMPLATES


@dataclass(frozen=True)
class SnapshotInfo:
    sha256: str
    odoo_version: str
    modules: tuple[str, ...]
    upgrade: str | None = None  # "17.0 -> 18.0" when the migration follows an Odoo upgrade


@dataclass(frozen=True)
class MigrationFile:
    version: int
    description: str
    text: str
    suffix: str = ".sql"  # or ".up.sql" / ".down.sql"

    @property
    def filename(self) -> str:
        return f"{self.version}_{slug(self.description)}{self.suffix}"


SLUG_MAX = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")


def slug(description: str) -> str:
    """The description as the safe part of a file name: ASCII letters, digits and ``_`` only (so no
    path separator, no ``..``, nothing a shell or sqlx reads differently), at most SLUG_MAX bytes.
    A description that had to change keeps it deterministic and distinct: its cut form ends in
    ``_`` and 8 hex digits of the SHA-256 of the description. ``account tables`` stays ``account_tables``."""
    plain = description.replace(" ", "_")
    safe = _UNSAFE.sub("_", plain).strip("_")
    if safe == plain and len(safe) <= SLUG_MAX:
        return safe
    digest = hashlib.sha256(description.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{safe[: SLUG_MAX - 9].rstrip('_')}_{digest}".lstrip("_")


class _QuietBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's cache of compiled templates, where one that cannot be read or written is not used."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # unreadable, cut short, garbled (pickle, marshal): compile it again
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _bytecode_cache(env: jinja2.Environment) -> jinja2.BytecodeCache | None:
    """The templates compiled by an earlier run, in ``$XDG_CACHE_HOME/fbs-schema/templates`` (else
    ``~/.cache/...``): compiling them is most of a small run's rendering time (tens of ms; loading
    them, 3 ms). A cached template is used only for the same source (Jinja checks it), Python and
    Jinja versions, syntax options and filter names (the file name says them), so an edited template
    or setting is compiled again. None when no such folder can be made."""
    root = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(root):
        root = os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(root, "fbs-schema", "templates")
    if not os.path.isabs(folder):  # no home folder
        return None
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    options = (jinja2.__version__, env.block_start_string, env.block_end_string, env.variable_start_string,
               env.variable_end_string, env.comment_start_string, env.comment_end_string, env.line_statement_prefix,
               env.line_comment_prefix, env.trim_blocks, env.lstrip_blocks, env.newline_sequence,
               env.keep_trailing_newline, env.autoescape, env.optimized, env.finalize, sorted(env.extensions),
               sorted(env.filters), sorted(env.tests))
    key = hashlib.sha256(repr(options).encode("utf-8")).hexdigest()[:16]
    return _QuietBytecodeCache(folder, f"{key}_%s.cache")


def _make_environment() -> jinja2.Environment:
    if not (TEMPLATES / "migration.sql.j2").exists():
        raise RenderError(f"templates not found in {TEMPLATES}: the fbs-schema package is incomplete; reinstall it")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # templates do not change while a process runs: no stat() per statement
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["ident"] = naming.ident
    env.filters["idents"] = idents
    env.filters["literal"] = naming.literal
    env.filters["comment"] = naming.comment
    env.filters["shorten"] = naming.shorten
    env.bytecode_cache = _bytecode_cache(env)
    return env


def idents(names: Iterable[str]) -> str:
    """``a, "B", c``: each name through ``ident`` (what ``names|map('ident')|join(', ')`` gives, in a
    tenth of the time: it runs for every key of every table)."""
    return ", ".join(map(naming.ident, names))


@lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    """The environment of the file, import, count and diagram templates."""
    return _make_environment()


@lru_cache(maxsize=None)
def _statement_environment() -> jinja2.Environment:
    """The environment of the operation templates: without Jinja's globals (range, namespace ...,
    which they do not use), so ``Template.render`` does not copy them into every statement's context,
    once per operation (150,000 times for 10,000 models)."""
    env = _make_environment()
    env.globals.clear()
    return env


@lru_cache(maxsize=None)
def template(target: Target, name: str) -> jinja2.Template:
    """``templates/<name>`` (or ``templates/<target folder>/<name>`` where a target has its own)."""
    return _template(target, name, environment())


def _template(target: Target, name: str, env: jinja2.Environment) -> jinja2.Template:
    missing = [folder for folder in target.templates if not (TEMPLATES / folder).is_dir()]
    if missing:
        raise RenderError(f"target {target.name}: its templates ({', '.join(missing)}/ in {TEMPLATES}) are not "
                          "installed, so its SQL cannot be written; reinstall fbs-schema")
    try:
        return env.select_template([f"{folder}/{name}" for folder in target.templates] + [name])
    except jinja2.TemplateNotFound as e:
        raise RenderError(f"template {name} not found in {TEMPLATES} (target {target.name}): the fbs-schema "
                          "package is incomplete; reinstall it") from e


class _KindTemplates(dict):
    """One target's operation templates by kind, each looked up once: the macro ``statement(op,
    target, anchor)`` that each defines (a macro call costs a fifth of rendering a template, which
    builds a new context every time: 200,000 statements for 10,000 models)."""

    def __init__(self, target: Target) -> None:
        super().__init__()
        self.target = target

    def __missing__(self, kind: str) -> Callable[[ops.Op, Target, str | None], str]:
        name = f"ops/{kind}.sql.j2"
        found = getattr(_template(self.target, name, _statement_environment()).module, "statement", None)
        if not callable(found):
            raise RenderError(f"template {name} in {TEMPLATES} defines no macro statement(op, target, anchor): "
                              "the fbs-schema package is incomplete or was edited; reinstall it")
        self[kind] = found
        return found


@lru_cache(maxsize=None)
def _kind_templates(target: Target) -> _KindTemplates:
    return _KindTemplates(target)


_BLANK_LINES = re.compile(r"\n{3,}")


def statements(operations: Iterable[ops.Op], target: Target = POSTGRES, anchor: str | None = None) -> list[str]:
    """Each operation as SQL for ``target``, in order. ``anchor``: the table every new distributed
    table is colocated with (Citus); None when the operation's own table is the first one. Each
    template's macro sees just these three names; it is looked up once per kind, not per operation."""
    templates = _kind_templates(target)
    out = []
    for op in operations:
        text = templates[op.kind](op, target, anchor)
        if "\n\n\n" in text:  # a test is cheaper than the substitution, most statements have none
            text = _BLANK_LINES.sub("\n\n", text)
        out.append(text.strip("\n"))
    return out


def statement(op: ops.Op, target: Target = POSTGRES, anchor: str | None = None) -> str:
    """One operation as SQL for ``target`` (see ``statements``)."""
    return statements((op,), target, anchor)[0]


def render_file(operations: list[ops.Op], *, description: str, version: int, snapshot: SnapshotInfo,
                external: tuple[ExternalReference, ...] = (), suffix: str = ".sql",
                down_of: int | None = None, no_transaction: bool = False,
                timeouts: Timeouts = Timeouts(), target: Target = POSTGRES, anchor: str | None = None) -> MigrationFile:
    text = template(target, "migration.sql.j2").render(
        target=target,
        down_of=down_of,
        timeouts=timeouts,
        description=description,
        snapshot_sha=snapshot.sha256,
        odoo_version=snapshot.odoo_version,
        upgrade=snapshot.upgrade,
        modules=snapshot.modules,
        destructive=[op for op in operations if op.destructive],
        external=external,
        statements=statements(operations, target, anchor),
        no_transaction=no_transaction,
    )
    return MigrationFile(version, description, text.rstrip("\n") + "\n", suffix)


def external_refs(schema: Schema) -> dict[str, tuple[ExternalReference, ...]]:
    """Each table's references to models outside the schema, by table name (build it once per schema)."""
    return {t.name: t.external for t in schema.tables if t.external}


def external_of(operations: list[ops.Op], schema: Schema,
                refs: dict[str, tuple[ExternalReference, ...]] | None = None) -> tuple[ExternalReference, ...]:
    """The external references of the tables and columns ``operations`` create, in table order. Costs
    the size of ``operations`` when ``refs`` (``external_refs(schema)``) is given, so calling it per
    file stays linear in the schema."""
    refs = external_refs(schema) if refs is None else refs
    created = {op.table.name for op in operations if isinstance(op, ops.CreateTable)}
    added = {(op.table, op.column.name) for op in operations if isinstance(op, ops.AddColumn)}
    return tuple(
        ref for name in sorted(created | {t for t, _ in added}) for ref in refs.get(name, ())
        if name in created or (ref.table, ref.column) in added
    )
