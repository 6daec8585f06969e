"""Where things live (a leaf module: every stage may import it): the names of the files kept
beside the migrations, the templates inside the package, and the data the package ships beside it
(the bundled snapshot, the lint settings)."""

from __future__ import annotations

import sys
from pathlib import Path

# The snapshot (and rules) the newest migration was generated from.
KEPT_SNAPSHOT = "fbs-snapshot.json"
KEPT_RULES = "fbs-rules.toml"


# The Jinja templates of every target's SQL: inside the package (pyproject's package-data), so an
# installed package cannot lack them; the checkout's top-level templates/ is a symlink to this folder.
TEMPLATES = Path(__file__).resolve().parent / "templates"


def shipped(name: str) -> Path:
    """``snapshots``: beside the package in a checkout (or an editable install), under
    ``<prefix>/share/fbs-schema/`` where a wheel installed it (pyproject's data-files)."""
    here = Path(__file__).resolve().parent.parent / name
    if here.is_dir():
        return here
    return Path(sys.prefix) / "share" / "fbs-schema" / name


# The lint settings the generated SQL is written to pass (sqlfluff's and squawk's), found without the
# working directory: the project's root in a checkout, <prefix>/share/fbs-schema/lint in a wheel.
LINT_SETTINGS = {"sqlfluff": ".sqlfluff", "squawk": ".squawk.toml"}


def lint_settings(tool: str) -> Path:
    name = LINT_SETTINGS[tool]
    here = Path(__file__).resolve().parent.parent / name
    if here.is_file():
        return here
    return Path(sys.prefix) / "share" / "fbs-schema" / "lint" / name
