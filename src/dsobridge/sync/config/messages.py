"""pydantic's validation errors → one clear line per problem, built from the error type and the schema.

``explain`` never uses the input value in a message (pydantic errors carry it: a secret typed into the wrong
place must not be printed); the file, line and key say where the value is. An unknown key gets the closest
known name (difflib), an out-of-range number the range (from the field's constraints).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AliasChoices, BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from dsobridge.sync.config.errors import quoted, suggest
from dsobridge.sync.config.schema import ItemTypes
from dsobridge.sync.config.secrets import MISPLACED, SECRET_ENV

Loc = tuple[str | int, ...]

_NOUNS = {int: "a whole number", float: "a number", Decimal: "a number", bool: "true or false", str: "a text"}
_SCALAR_ERRORS = frozenset(
    {
        "int_parsing",
        "int_type",
        "int_from_float",
        "float_parsing",
        "float_type",
        "decimal_parsing",
        "decimal_type",
        "finite_number",
        "bool_parsing",
        "bool_type",
        "string_type",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
    }
)
_PHRASES = {
    "list_type": 'must be a list, e.g. ["a", "b"]',
    "tuple_type": 'must be a list, e.g. ["a", "b"]',
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "dict_type": "must be a table",
    "string_too_short": "must not be empty",
}


@dataclass(frozen=True)
class Origin:
    """Where a value came from: ``dsobridge.toml:14``, ``$DSOBRIDGE_SYNC__MAX_DROP`` or ``<tenant>``."""

    text: str
    variable: Callable[[Loc], str] | None = None  # for an environment variable: the variable of a path
    line: int = 0  # in a file: the line (0 = unknown)


# --- the schema at a location -------------------------------------------------------------------------------
def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _model_field(model: type[BaseModel], name: str) -> FieldInfo | None:
    for field_name, info in model.model_fields.items():
        alias = info.validation_alias
        names = alias.choices if isinstance(alias, AliasChoices) else [alias]
        if name == field_name or name in names:
            return info
    return None


def schema_at(root: type[BaseModel], loc: Loc) -> tuple[Any, FieldInfo | None]:
    """The (unwrapped) type at ``loc`` and the field that declares it; ``(None, None)`` if unknown."""
    annotation: Any = root
    info: FieldInfo | None = None
    for part in loc:
        annotation = _unwrap(annotation)
        origin = get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and isinstance(part, str):
            info = _model_field(annotation, part)
            if info is None:
                return None, None
            annotation = info.annotation
        elif (origin in (tuple, list) and isinstance(part, int)) or (origin is dict and part == "[key]"):
            annotation, info = get_args(annotation)[0], None
        elif origin is dict:
            annotation, info = get_args(annotation)[1], None
        else:
            return None, None
    return _unwrap(annotation), info


def _is_table(annotation: Any) -> bool:
    is_model = isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return is_model or get_origin(annotation) is dict


def split(root: type[BaseModel], loc: Loc) -> tuple[Loc, Loc]:
    """``("sync", "max_drop")`` → table ``("sync",)``, key ``("max_drop",)``."""
    end = len(loc)
    while end and not _is_table(schema_at(root, loc[:end])[0]):
        end -= 1
    return loc[:end], loc[end:]


def table_label(table: Loc) -> str:
    """``("mapping", "clients")`` → ``[mapping.clients]``; ``("users", 1)`` → ``[[users]] #2``."""
    names = ".".join(p for p in table if isinstance(p, str))
    index = [p for p in table if isinstance(p, int)]
    return f"[[{names}]] #{index[0] + 1}" if index else f"[{names}]" if names else ""


def key_label(key: Loc) -> str:
    return "".join(f" #{p + 1}" if isinstance(p, int) else f".{p}" for p in key).lstrip(".")


# --- phrases ------------------------------------------------------------------------------------------------
def _bounds(info: FieldInfo | None) -> str:
    limits: dict[str, Any] = {}
    for item in info.metadata if info else ():
        for name in ("ge", "gt", "le", "lt"):
            if isinstance(item, getattr(annotated_types, name.capitalize())):
                limits[name] = getattr(item, name)
    low, high = limits.get("ge", limits.get("gt")), limits.get("le", limits.get("lt"))
    if "ge" in limits and "le" in limits:
        return f" between {low} and {high}"
    parts = [f"{'of at least' if 'ge' in limits else 'greater than'} {low}"] if low is not None else []
    parts += [f"{'of at most' if 'le' in limits else 'less than'} {high}"] if high is not None else []
    return " " + " and ".join(parts) if parts else ""


def _required(model: type[BaseModel]) -> str:
    return ", ".join(name for name, info in model.model_fields.items() if info.is_required())


def _choices(annotation: Any) -> list[str]:
    return [str(a) for a in get_args(annotation)] if get_origin(annotation) is Literal else []


def _listing(choices: Sequence[str]) -> str:
    return f" (one of: {', '.join(choices)})" if 0 < len(choices) <= 12 else ""


def _unknown_key(root: type[BaseModel], table: Loc, name: str, value: Any, origin: Origin) -> str:
    """The phrase for a key the schema does not know, with the closest known one."""
    secret = MISPLACED.get((str(table[0]), name)) if len(table) == 1 else None
    if secret:
        return (
            f"{name} does not belong in the config file: secrets come from ${SECRET_ENV[secret]} "
            "or a secrets file (see docs/configuration.md)"
        )
    annotation = schema_at(root, table)[0]
    known = list(annotation.model_fields) if isinstance(annotation, type) else []
    show = (lambda k: "$" + origin.variable((*table, k))) if origin.variable else quoted
    if not table:
        if isinstance(value, dict):
            hint = suggest(name, known, show=show if origin.variable else lambda k: f"[{k}]")
            return f"unknown section [{name}]{hint}"
        return f"unknown setting {name!r}: settings belong in a section, e.g. [sync]"
    hint = suggest(name, known, show=show)
    noun = "Dynaccount posting kind" if annotation is ItemTypes else "setting"
    return f"unknown {noun} {name!r}{hint or _listing(known)}"


def _unknown_column(root: type[BaseModel], table: Loc, name: str) -> str:
    choices = _choices(schema_at(root, (*table, "[key]"))[0])
    hint = suggest(name, choices)
    return f"{name!r} is not a column of the My DSO Manager {table[-1]} file{hint}"


def _phrase(root: type[BaseModel], error: ErrorDetails, annotation: Any, info: FieldInfo | None) -> str:
    kind = error["type"]
    if kind in _SCALAR_ERRORS:
        return f"must be {_NOUNS.get(annotation, 'a value')}{_bounds(info)}"
    if kind == "literal_error":
        value = error.get("input")
        hint = suggest(value, _choices(annotation)) if isinstance(value, str) else ""
        return f"must be {(error.get('ctx') or {}).get('expected', 'one of the listed values')}{hint}"
    if kind == "value_error":
        return str((error.get("ctx") or {}).get("error", "is not valid"))
    if kind == "missing":
        return "is required"
    return _PHRASES.get(kind, error["msg"].lower())


def explain(
    root: type[BaseModel], errors: list[ErrorDetails], data: dict[str, Any], where: Callable[[Loc], Origin]
) -> list[str]:
    """One message per error: ``<origin>: <[table]> <key> <phrase>``; the environment's first, then by line"""
    messages: list[tuple[bool, int, str]] = []
    for error in errors:
        loc: Loc = tuple(error["loc"])
        origin = where(loc[:-1] if loc[-1:] == ("[key]",) else loc)
        table, key = split(root, loc)
        if error["type"] == "extra_forbidden":
            text = _unknown_key(root, table, key_label(key), _value_at(data, loc), origin)
        elif key[-1:] == ("[key]",):
            text = _unknown_column(root, table, key_label(key[:-1]))
        elif error["type"] == "missing" and not key:
            text = f"is missing (it must hold {_required(schema_at(root, loc)[0])})"
        else:
            annotation, info = schema_at(root, loc)
            text = f"{key_label(key)} {_phrase(root, error, annotation, info)}".strip()
        line = f"{origin.text}: " + " ".join(p for p in (table_label(table), text) if p)
        messages.append((origin.variable is None, origin.line, line))
    return [line for *_, line in sorted(messages, key=lambda m: m[:2])]


def _value_at(data: Any, loc: Loc) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def explain_secrets(
    errors: list[ErrorDetails], origins: dict[str, str], label: str, missing: str
) -> list[str]:
    """One message per error of ``SecretValues``; ``missing`` tells how to give a secret (``{var}``,
    ``{name}``). Like every message here, none holds a value."""
    messages = []
    for error in errors:
        name = str(error["loc"][0]) if error["loc"] else ""
        where = origins.get(name, label)
        if error["type"] == "missing":
            how = missing.format(var=SECRET_ENV.get(name, ""), name=name)
            messages.append(f"{label}: secret {name!r} is missing: {how}")
        elif error["type"] == "extra_forbidden":
            messages.append(f"{where}: unknown secret {name!r}{suggest(name, SECRET_ENV)}")
        else:
            reason = (error.get("ctx") or {}).get("error") if error["type"] == "value_error" else None
            messages.append(f"{where}: secret {name!r} {reason or 'must be a text'}")
    return messages
