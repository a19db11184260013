"""Load the YAML config with line numbers, resolve ``${SHOPWATCH_...}`` references (``core.env_refs``: other
names are refused), and report every problem with its key path and line
(``config.yaml: line 42: cameras[3].port: ...``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from shopwatch.core.config import Settings
from shopwatch.core.env_refs import env_reference, outside_prefix
from shopwatch.core.errors import ConfigError, ConfigProblem, Invalid

Loc = tuple[str | int, ...]


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


class _Located:
    """Python values built from a YAML node tree, plus the line of every key path."""

    def __init__(self) -> None:
        self.lines: dict[Loc, int] = {}
        self._scalars = yaml.SafeLoader("")  # constructs scalars with YAML 1.1 types (ints, bools, ...)

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.lines[loc] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._scalars.construct_object(key_node, deep=True)
                if key in out:
                    raise _DuplicateKey(format_loc((*loc, key)), key_node.start_mark.line + 1)
                out[key] = self.build(value_node, (*loc, key))
                self.lines[(*loc, key)] = key_node.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
        return self._scalars.construct_object(node, deep=True)

    def line_of(self, loc: Loc) -> int | None:
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return None


class _DuplicateKey(Invalid):
    def __init__(self, where: str, line: int) -> None:
        self.where, self.line = where, line


def parse_yaml_with_lines(text: str, source: str) -> tuple[Any, _Located]:
    located = _Located()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(source, [ConfigProblem("(yaml)", f"not valid YAML: {problem}", line)]) from None
    if node is None:
        return {}, located
    try:
        return located.build(node, ()), located
    except _DuplicateKey as dup:
        raise ConfigError(source, [ConfigProblem(dup.where, "key given twice", dup.line)]) from None


def _resolve_env(value: Any, loc: Loc, env: Mapping[str, str], problems: list[tuple[Loc, str]]) -> Any:
    if isinstance(value, dict):
        return {k: _resolve_env(v, (*loc, k), env, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_env(v, (*loc, i), env, problems) for i, v in enumerate(value)]
    if isinstance(value, str) and (name := env_reference(value)) is not None:
        if (refused := outside_prefix(name)) is not None:
            problems.append((loc, refused))
            return ""
        if name not in env:
            problems.append((loc, f"environment variable {name} is not set"))
            return ""
        return env[name]
    return value


def _duplicate_camera_ids(data: Any) -> list[tuple[Loc, str]]:
    cameras = data.get("cameras") if isinstance(data, dict) else None
    if not isinstance(cameras, list):
        return []
    first: dict[str, int] = {}
    out: list[tuple[Loc, str]] = []
    for i, cam in enumerate(cameras):
        cam_id = cam.get("id") if isinstance(cam, dict) else None
        if isinstance(cam_id, str):
            if cam_id in first:
                out.append((("cameras", i, "id"), f"camera id {cam_id!r} already used by cameras[{first[cam_id]}]"))
            else:
                first[cam_id] = i
    return out


def _describe_error(err: Any) -> str:
    msg = str(err["msg"])
    if err["type"] == "extra_forbidden":
        return "unknown key (not part of the configuration schema)"
    if err["type"] == "missing":
        return "required key is missing"
    value = err.get("input")
    if isinstance(value, str | int | float | bool):
        return f"{msg} (found {value!r})"
    return msg


def settings_from_text(text: str, source: str = "<config>", env: Mapping[str, str] | None = None) -> Settings:
    data, located = parse_yaml_with_lines(text, source)
    if not isinstance(data, dict):
        raise ConfigError(source, [ConfigProblem("(top level)", "expected a mapping of sections", 1)])
    env_problems: list[tuple[Loc, str]] = []
    data = _resolve_env(data, (), os.environ if env is None else env, env_problems)
    duplicates = _duplicate_camera_ids(data)
    problems = [
        ConfigProblem(format_loc(loc), msg, located.line_of(loc)) for loc, msg in env_problems + duplicates
    ]
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            if any(p.where == format_loc(loc) for p in problems) or (duplicates and loc == ("cameras",)):
                continue  # already reported, with a better line
            problems.append(ConfigProblem(format_loc(loc), _describe_error(err), located.line_of(loc)))
        settings = None
    if problems or settings is None:
        problems.sort(key=lambda p: (p.line or 0, p.where))
        raise ConfigError(source, problems)
    return settings


def load_settings(path: str | Path, env: Mapping[str, str] | None = None) -> Settings:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [ConfigProblem("(file)", f"cannot read: {exc.strerror}")]) from None
    return settings_from_text(text, str(path), env)
