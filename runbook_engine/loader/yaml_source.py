"""YAML loading that remembers where every mapping, sequence and value was written.

Mappings load as `YamlMap` and sequences as `YamlList`; both know their own position and
the position of each key / item, so later validation can point at file:line:column.
YAML's traps are refused instead of silently accepted: duplicate keys, and numbers written
with a leading zero keep that fact (`OctalInt`) so a file mode like `644` can be told apart
from `0644`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from runbook_engine.errors import InputError, Position

try:  # the C loader is several times faster; fall back when libyaml is missing
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _BaseLoader = yaml.SafeLoader


class YamlMap(dict):
    """A dict that knows where it and each of its keys and values were written."""

    __slots__ = ("key_positions", "position", "value_positions")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.position: Position | None = None
        self.key_positions: dict[Any, Position] = {}
        self.value_positions: dict[Any, Position] = {}

    def pos(self, key: Any | None = None) -> Position | None:
        """Position of `key` (or of the mapping itself), falling back to the mapping."""
        if key is not None and key in self.key_positions:
            return self.key_positions[key]
        return self.position

    def value_pos(self, key: Any) -> Position | None:
        return self.value_positions.get(key) or self.pos(key)


class YamlList(list):
    """A list that knows where it and each of its items were written."""

    __slots__ = ("item_positions", "position")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.position: Position | None = None
        self.item_positions: list[Position] = []

    def pos(self, index: int | None = None) -> Position | None:
        if index is not None and 0 <= index < len(self.item_positions):
            return self.item_positions[index]
        return self.position


class OctalInt(int):
    """An integer written with a leading zero in YAML (0644): YAML 1.1 reads it as octal."""


def position_of(value: Any) -> Position | None:
    return getattr(value, "position", None)


def _mark_position(filename: str, mark: yaml.Mark | None) -> Position:
    if mark is None:
        return Position(filename)
    return Position(filename, mark.line + 1, mark.column + 1)


class VaultTagged(str):
    """A `!vault` scalar: ciphertext to be decrypted when variables are resolved."""

    __slots__ = ()


def _make_loader(filename: str) -> type:
    class PositionLoader(_BaseLoader):  # type: ignore[misc, valid-type]
        pass

    def construct_mapping(loader: Any, node: yaml.MappingNode) -> YamlMap:
        result = YamlMap()
        result.position = _mark_position(filename, node.start_mark)
        loader.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise InputError(
                    "a mapping key must be a plain value, not a list or mapping",
                    _mark_position(filename, key_node.start_mark),
                ) from None
            if key in result:
                first = result.key_positions[key]
                raise InputError(
                    f"duplicate key '{key}' (first written at line {first.line})",
                    _mark_position(filename, key_node.start_mark),
                    hint="YAML keeps only the last value of a repeated key; remove one of them",
                )
            result[key] = loader.construct_object(value_node, deep=True)
            result.key_positions[key] = _mark_position(filename, key_node.start_mark)
            result.value_positions[key] = _mark_position(filename, value_node.start_mark)
        return result

    def construct_sequence(loader: Any, node: yaml.SequenceNode) -> YamlList:
        result = YamlList(loader.construct_object(child, deep=True) for child in node.value)
        result.position = _mark_position(filename, node.start_mark)
        result.item_positions = [_mark_position(filename, c.start_mark) for c in node.value]
        return result

    def construct_int(loader: Any, node: yaml.ScalarNode) -> int:
        value = yaml.SafeLoader.construct_yaml_int(loader, node)
        text = str(node.value).lstrip("+-")
        if len(text) > 1 and text.startswith("0") and text[1:2].isdigit():
            return OctalInt(value)
        return value

    def construct_vault(loader: Any, node: yaml.ScalarNode) -> VaultTagged:
        return VaultTagged(loader.construct_scalar(node))

    PositionLoader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping
    )
    PositionLoader.add_constructor(
        yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence
    )
    PositionLoader.add_constructor("tag:yaml.org,2002:int", construct_int)
    PositionLoader.add_constructor("!vault", construct_vault)
    return PositionLoader


def load_yaml_text(text: str, filename: str) -> Any:
    """Parse YAML text; a syntax error becomes an InputError at the offending line."""
    try:
        return yaml.load(text, Loader=_make_loader(filename))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{problem} ({exc.context})"
        raise InputError(f"YAML syntax: {problem}", _mark_position(filename, mark)) from None
    except yaml.YAMLError as exc:
        raise InputError(f"YAML syntax: {exc}", Position(filename)) from None


def load_yaml_file(path: str | Path) -> Any:
    """Read and parse a YAML file, naming the file in every error."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text: {exc.reason}", Position(str(path))) from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    return load_yaml_text(text, str(path))
