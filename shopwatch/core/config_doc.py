"""Render the configuration reference (docs/CONFIGURATION.md, between its markers) from the pydantic models, so
the docs cannot drift.

``python -m shopwatch.core.config_doc`` prints the markdown tables."""

from __future__ import annotations

import sys
import types
import typing
from enum import Enum
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from shopwatch.core.config import CameraConfig, Settings


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is list:
        return f"list of {_type_name(typing.get_args(annotation)[0])}"
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " \\| ".join(str(m.value) for m in annotation)
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _bounds(field: FieldInfo) -> str:
    out = []
    for meta in field.metadata:
        for attr, sym in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"), ("min_length", "len ≥"),
                          ("max_length", "len ≤"), ("pattern", "pattern")):
            value = getattr(meta, attr, None)
            if value is not None:
                out.append(f"{sym} `{value}`" if attr == "pattern" else f"{sym} {value}")
    return ", ".join(out)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        return "(section)" if isinstance(field.default_factory, type) else "[]"
    value = field.default
    if value is PydanticUndefined or value is None:
        return "—"
    if isinstance(value, Enum):
        return f"`{value.value}`"
    if hasattr(value, "get_secret_value"):
        return '`""`'
    return f"`{value!r}`" if isinstance(value, str) else f"`{value}`"


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue  # filled in by the service, not configuration (``detection.learnt``)
        path = f"{prefix}{name}"
        nested = _nested_model(field.annotation)
        if nested is not None and nested is not CameraConfig:
            rows.append(f"| `{path}` | section | {_default(field)} | | {field.description or ''} |")
            rows.extend(_rows(nested, path + "."))
            continue
        rows.append(
            f"| `{path}` | {_type_name(field.annotation)} | {_default(field)} | {_bounds(field)} "
            f"| {field.description or ''} |"
        )
    return rows


def render() -> str:
    header = "| key | type | default | bounds | meaning |\n|---|---|---|---|---|"
    top = [r for r in _rows(Settings, "") if not r.startswith("| `cameras`")]
    return "\n".join(
        [
            "#### Service, API and ingest settings",
            "",
            header,
            *top,
            "",
            "#### Each entry of `cameras:`",
            "",
            header,
            *_rows(CameraConfig, ""),
            "",
        ]
    )


if __name__ == "__main__":
    sys.stdout.write(render())
