"""The comments of a scenario file, by the parameter they describe: where each assumption comes
from, and which are WEAK (no good published figure).

A YAML loader drops comments, so the file's lines are read as written. A comment belongs to the
key on its own line (``female: 0.85  # 90% (Respir Res 2022)``) and to the key right after a
block of comment lines (a blank line ends a block); list items are numbered as the model numbers
them (``sites.0.activation_days``). The opening block of the file describes the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ctdild_sim.scenario.loading import ScenarioError, read_text
from ctdild_sim.scenario.yaml_reader import load_yaml

KEY = re.compile(r"""^(?P<key>[A-Za-z0-9_.\-]+|"[^"]*"|'[^']*')\s*:(?:\s+|$)(?P<rest>.*)$""")
WEAK = re.compile(r"\bWEAK\b")


@dataclass(frozen=True)
class Comment:
    """What the file says about a parameter."""

    text: str

    @property
    def weak(self) -> bool:
        return bool(WEAK.search(self.text))


def _split_comment(value: str) -> tuple[str, str]:
    """A value and its end-of-line comment (a ``#`` after a space, outside quotes)."""
    quote = None
    for i, ch in enumerate(value):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or value[i - 1] in " \t"):
            return value[:i].rstrip(), value[i + 1 :].strip()
    return value.rstrip(), ""


def file_comments(text: str) -> dict[str, Comment]:
    """Each commented key's dotted path (``population.female``, ``sites.0.activation_days``) and
    its comment; ``""``: the file's opening block."""
    out: dict[str, Comment] = {}
    stack: list[tuple[int, str]] = []  # (indent, path) of the open mappings and list items
    counters: dict[str, int] = {}  # path of a sequence -> items seen
    pending: list[str] = []
    opening = True
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped in ("---", "..."):
            if opening and pending:
                out[""] = Comment(" ".join(pending))
                opening = False
            pending = []
            continue
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("#").strip())
            continue
        opening = False
        indent = len(raw) - len(raw.lstrip(" "))
        content = stripped
        while content.startswith("- "):  # a list item, perhaps holding a mapping
            while stack and stack[-1][0] >= indent:
                stack.pop()
            parent = stack[-1][1] if stack else ""
            index = counters.get(parent, 0)
            counters[parent] = index + 1
            item = f"{parent}.{index}" if parent else str(index)
            stack.append((indent, item))
            content = content[2:].lstrip()
            indent += 2
            if not KEY.match(content):
                value, note = _split_comment(content)
                _record(out, item, pending, note)
                pending = []
                content = ""
                break
        if not content:
            continue
        match = KEY.match(content)
        if not match:
            pending = []
            continue
        key = match["key"].strip("\"'")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else ""
        path = f"{parent}.{key}" if parent else key
        value, note = _split_comment(match["rest"])
        _record(out, path, pending, note)
        pending = []
        if not value or value in ("|", ">", "|-", ">-"):
            stack.append((indent, path))  # a nested block (or a block scalar's lines, which hold no keys)
    return out


def _record(out: dict[str, Comment], path: str, block: list[str], note: str) -> None:
    text = " ".join([*block, note]).strip()
    if text:
        out[path] = Comment(text)


def comment_for(comments: dict[str, Comment], path: str) -> Comment | None:
    """The comment of ``path`` or of the nearest parameter above it that has one
    (``sites.0.activation_days.median`` -> ``sites.0.activation_days``)."""
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        found = comments.get(".".join(parts[:end]))
        if found is not None:
            return found
    return None


def weak_assumptions(comments: dict[str, Comment]) -> list[str]:
    """The assumptions a scenario file marks WEAK (a guess, not a published figure): the paths of
    its WEAK comments, in file order. Every count of WEAK assumptions is the length of this."""
    return [path for path, comment in comments.items() if path and comment.weak]


def parent_texts(text: str, folder: Path, limit: int = 16) -> list[tuple[str, str]]:
    """The files a scenario text ``extends`` (nearest first), read from ``folder`` as the loader
    reads them; a parent that cannot be read ends the chain (its comments are then unknown)."""
    out: list[tuple[str, str]] = []
    seen: set[Path] = set()
    while len(out) < limit:
        try:
            data = load_yaml(text)
        except Exception:  # the loader reports bad YAML; here it only ends the chain
            break
        name = data.get("extends") if isinstance(data, dict) else None
        if not isinstance(name, str) or not name:
            break
        path = (folder / name).resolve()
        if path in seen or not path.is_file():
            break
        seen.add(path)
        try:
            text = read_text(path)
        except ScenarioError:
            break
        out.append((name, text))
        folder = path.parent
    return out


def chain_comments(text: str, parents: list[tuple[str, str]]) -> dict[str, Comment]:
    """The comments of a file and of the files it extends: a file's own comment wins."""
    merged: dict[str, Comment] = {}
    for _, parent in reversed(parents):
        merged.update(file_comments(parent))
    merged.update(file_comments(text))
    return merged
