"""The project's TOML files (the rules file, the rename hints) are declared once, as JSON Schema in
``generator/schema/``, read by ``load_toml`` and checked against it before anything uses them: an unknown or misspelt
key, a value of the wrong type, a table where an array of tables belongs are refused with the key's
path (``fbs-schema.toml: index[0].knd: unknown key; known: fields, kind, model, where``)."""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import UsageError

if TYPE_CHECKING:
    import jsonschema

TYPE_NAMES = {"string": "text", "number": "a number", "integer": "an integer", "boolean": "true or false",
              "array": "an array ([[...]] tables or [...] values)", "object": "a table"}


@lru_cache(maxsize=None)
def _validator(name: str) -> jsonschema.Draft7Validator:
    import jsonschema  # here, not at the top: its import costs about 50 ms, and most runs have no TOML file

    text = (Path(__file__).resolve().parent / "schema" / f"{name}.schema.json").read_text("utf-8")
    return jsonschema.Draft7Validator(json.loads(text))


def _path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _describe(err: jsonschema.ValidationError) -> list[str]:
    where = _path(err.absolute_path)
    if err.validator == "additionalProperties":
        known = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(known)) if isinstance(err.instance, dict) else []
        out = []
        for key in extra or ["?"]:
            at = f"{where}.{key}" if err.absolute_path else key
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            out.append(f"{at}: unknown key{hint}; known: {', '.join(known)}")
        return out
    return [_describe_one(err, where)]


def _describe_one(err: jsonschema.ValidationError, where: str) -> str:
    if err.validator == "type":
        wanted = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        return f"{where}: expected {' or '.join(TYPE_NAMES.get(w, w) for w in wanted)}, got {err.instance!r}"
    if err.validator == "required":
        return f"{where}: missing key {err.message.split(' ')[0]}"
    if err.validator == "enum":
        return f"{where}: {err.instance!r} is not one of {', '.join(map(repr, err.validator_value))}"
    if err.validator == "pattern":
        return f"{where}: {err.instance!r} is not valid here"
    return f"{where}: {err.message}"


SHOWN = 20  # problems listed in one message


def check(data: Any, name: str, source: str) -> None:
    """Raise UsageError (exit 2) naming the file and the key path of every problem (an unknown key
    with the known one it most resembles)."""
    try:
        errors = sorted(_validator(name).iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    except RecursionError:
        raise UsageError(f"{source}: nested too deeply to check") from None
    problems = list(dict.fromkeys(line for err in errors for line in _describe(err)))
    if len(problems) == 1:
        raise UsageError(f"{source}: {problems[0]}")
    if problems:
        listing = "\n".join(f"  - {p}" for p in problems[:SHOWN])
        more = f"\n  ... and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
        raise UsageError(f"{source}: {len(problems)} problems:\n{listing}{more}")


def load_toml(path: str | Path | None, default_file: str, what: str):
    """(data, source) of a TOML file; ``path`` None means ``default_file`` when it exists, else (None, "")."""
    if path is None:
        if not Path(default_file).exists():
            return None, ""
        path = default_file
    import tomllib  # here: most runs read no TOML file

    p = Path(path)
    try:
        return tomllib.loads(p.read_text("utf-8")), str(p)
    except FileNotFoundError:
        raise UsageError(f"{what} file {p} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{p}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{p}: not UTF-8 text (byte {exc.start}); TOML files are UTF-8") from None
    except RecursionError:
        raise UsageError(f"{p}: nested too deeply to read") from None
    except OSError as exc:
        raise UsageError(f"{what} file {p}: {exc.strerror or exc}") from None
