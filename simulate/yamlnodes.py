"""YAML read as nodes, so every value keeps the line it was written on.

Validation errors must name the offending line of the scenario. PyYAML's composed node
tree carries each node's start mark; `line_of` walks it along a pydantic error location.
Timestamps are read as strings (the implicit timestamp resolver is removed): pydantic
parses them, so a bad date is a validation error with a line like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml


class _Loader(yaml.SafeLoader):
    """SafeLoader without the implicit timestamp type."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class YamlSyntaxError(ValueError):
    """The text is not YAML; ``line`` is 1-based (0: unknown)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def compose(text: str) -> tuple[Any, yaml.Node | None]:
    """The document's data and its node tree (both None for an empty document).

    Raises:
        YamlSyntaxError: the text is not valid YAML.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise YamlSyntaxError(f"not valid YAML: {error.problem or error}", line) from None
    except yaml.YAMLError as error:
        raise YamlSyntaxError(f"not valid YAML: {error}", 0) from None
    finally:
        loader.dispose()
    return data, node


def child(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    """The value node under ``key`` (a mapping key or a sequence index), if any."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(key):
                value: yaml.Node = value_node
                return value
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        found: yaml.Node = node.value[key]
        return found
    return None


def key_line(node: yaml.Node | None, key: str) -> int | None:
    """The line of ``key`` itself in a mapping node (where an unknown key is written)."""
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return int(key_node.start_mark.line) + 1
    return None


def line_of(root: yaml.Node | None, location: Sequence[str | int]) -> int:
    """The 1-based line of the deepest node found along ``location`` (0: no document)."""
    node = root
    line = node.start_mark.line + 1 if node is not None else 0
    for part in location:
        deeper = child(node, part)
        if deeper is None:
            # An unknown or extra key: point at the key when it is written there.
            found = key_line(node, str(part))
            return found if found is not None else line
        node = deeper
        line = node.start_mark.line + 1
    return line
