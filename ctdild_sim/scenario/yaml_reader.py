"""YAML for scenario files, read so that no file can hang, exhaust or crash the reader.

``yaml.safe_load`` already refuses Python tags, but on its own it merges duplicate keys silently
(the second ``safety:`` block wins), turns ``2024-13-01`` into a traceback from inside the
parser, recurses once per nesting level (a 10 kB file of ``[[[[...`` ends in ``RecursionError``)
and expands aliases without limit once the data is walked (a "billion laughs" file). This reader:

- leaves dates as text, so the scenario model parses them and names the field when one is wrong;
- refuses a key that appears twice in one mapping, naming it and both lines;
- refuses nesting deeper than ``MAX_DEPTH`` while it composes (no recursion past that), and a
  document that expands, through aliases, to more than ``MAX_NODES`` nodes or deeper than
  ``MAX_DEPTH``, or that refers to itself.

Callers cap the bytes they read (``MAX_BYTES``) before the text reaches the parser.
"""

from __future__ import annotations

from typing import ClassVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_BYTES = 1024 * 1024
"""Largest scenario file read (the shipped ones are under 20 kB)."""
MAX_DEPTH = 32
"""Deepest nesting of mappings and lists (the scenario model itself is 6 deep)."""
MAX_NODES = 100_000
"""Most values a document may hold once its aliases are expanded (the base scenario has ~600)."""


class YamlRefused(Exception):
    """A document the reader will not take: ``field`` is where (dotted path, may be empty)."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


def _line(node: Node) -> int:
    return node.start_mark.line + 1


class ScenarioLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` without timestamps, with duplicate-key, depth and expansion checks."""

    yaml_implicit_resolvers: ClassVar[dict] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise YamlRefused("", f"line {mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            check_document(node)
        return node


def _key_text(node: Node) -> str:
    return str(node.value) if isinstance(node, ScalarNode) else f"<{node.tag.rsplit(':', 1)[-1]}>"


def check_document(root: Node) -> None:
    """Refuse duplicate keys, and expansions too large, too deep or circular (iteratively: the
    check itself must not recurse on hostile input)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    # (node, path, children pushed?) — a post-order walk over the node graph, each node once
    stack: list[tuple[Node, str, bool]] = [(root, "", False)]
    on_path: set[int] = set()
    while stack:
        node, path, expanded = stack.pop()
        key = id(node)
        if expanded:
            on_path.discard(key)
            children = _children(node)
            size[key] = 1 + sum(size[id(c)] for c, _ in children)
            depth[key] = 1 + max((depth[id(c)] for c, _ in children), default=0)
            if size[key] > MAX_NODES:
                raise YamlRefused(path, f"expands to more than {MAX_NODES:,} values (aliases repeated too often)")
            if depth[key] > MAX_DEPTH:
                raise YamlRefused(path, f"nested more than {MAX_DEPTH} levels deep once aliases are expanded")
            continue
        if key in size:
            continue
        if key in on_path:
            raise YamlRefused(path, f"line {_line(node)}: an alias refers to a value that contains it")
        on_path.add(key)
        stack.append((node, path, True))
        if isinstance(node, MappingNode):
            _check_duplicates(node, path)
        for child, child_path in _children(node, path):
            if id(child) not in size:
                stack.append((child, child_path, False))


def _children(node: Node, path: str = "") -> list[tuple[Node, str]]:
    if isinstance(node, SequenceNode):
        return [(child, f"{path}[{i}]") for i, child in enumerate(node.value)]
    if isinstance(node, MappingNode):
        out = []
        for key_node, value_node in node.value:
            name = _key_text(key_node)
            out.append((key_node, path))
            out.append((value_node, f"{path}.{name}" if path else name))
        return out
    return []


def _check_duplicates(node: MappingNode, path: str) -> None:
    seen: dict[str, Node] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        name = key_node.value
        if name in seen:
            where = f"{path}.{name}" if path else name
            raise YamlRefused(
                where, f"duplicate key: first on line {_line(seen[name])}, again on line {_line(key_node)}"
            )
        seen[name] = key_node


def load_yaml(text: str):
    """Parse one YAML document with ``ScenarioLoader``; ``YamlRefused`` or ``yaml.YAMLError``."""
    loader = ScenarioLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
