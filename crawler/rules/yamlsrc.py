"""YAML loading that keeps line numbers, so that every data error names its file and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from crawler.errors import ConfigError


class LDict(dict):  # type: ignore[type-arg]
    """A mapping from YAML that remembers its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class LList(list):  # type: ignore[type-arg]
    """A sequence from YAML that remembers its own line and the line of each item (1-based)."""

    line: int = 0
    item_lines: list[int]


# The C (libyaml) parser when available: it keeps node marks too, and is several times faster.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    pass


def _map(loader: _Loader, node: yaml.MappingNode) -> LDict:
    d = LDict()
    d.line = node.start_mark.line + 1
    d.key_lines = {}
    for k_node, v_node in node.value:
        key = loader.construct_object(k_node, deep=True)
        if key in d:
            raise ConfigError(
                f"{Path(node.start_mark.name)}:{k_node.start_mark.line + 1}: duplicate key {key!r}"
            )
        d[key] = loader.construct_object(v_node, deep=True)
        d.key_lines[str(key)] = k_node.start_mark.line + 1
    return d


def _seq(loader: _Loader, node: yaml.SequenceNode) -> LList:
    lst = LList(loader.construct_object(n, deep=True) for n in node.value)
    lst.line = node.start_mark.line + 1
    lst.item_lines = [n.start_mark.line + 1 for n in node.value]
    return lst


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _seq)


def load_yaml(path: Path) -> Any:
    """Parse one YAML file; a syntax error becomes a :class:`ConfigError` with file and line."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    try:
        loader = _Loader(text)
        loader.name = str(path)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else 0
        raise ConfigError(f"{path}:{line}: invalid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc


def line_of(obj: Any, key: str | int | None = None) -> int:
    """Best-known line of ``obj`` (or of one of its keys/items)."""
    if isinstance(obj, LDict):
        if key is not None and str(key) in obj.key_lines:
            return obj.key_lines[str(key)]
        return obj.line
    if isinstance(obj, LList):
        if isinstance(key, int) and 0 <= key < len(obj.item_lines):
            return obj.item_lines[key]
        return obj.line
    return 0
