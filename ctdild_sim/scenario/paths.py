"""Scenario fields by dotted path (``screening.duration_days.median``, ``sites.0.referral_rate_per_month``):
read one, change one and re-validate the whole scenario. What sensitivity, what-ifs and the solver
move.

A path names a key of the scenario as its file writes it (aliases, not Python names); list items
are numbered from 0. A path that names nothing gets a "did you mean" from the paths that exist.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from ctdild_sim.scenario.loading import ScenarioError, _validate
from ctdild_sim.scenario.trial import Scenario


class PathError(ValueError):
    """A field path that names no field of the scenario, or a value it cannot take."""


def _data(scenario: Scenario) -> dict:
    return scenario.model_dump(by_alias=True, exclude_none=True, mode="python")


def leaf_paths(scenario: Scenario) -> list[str]:
    """Every path to a single value of the scenario (numbers, text, switches), in file order."""
    out: list[str] = []

    def walk(value: object, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for k, item in enumerate(value):
                walk(item, f"{path}.{k}")
        else:
            out.append(path)

    walk(_data(scenario), "")
    return out


def numeric_paths(scenario: Scenario) -> list[str]:
    """The leaf paths holding a number (not a switch): what a range can move."""
    return [p for p in leaf_paths(scenario) if _is_number(get_value(scenario, p))]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _suggest(path: str, scenario: Scenario) -> str:
    candidates = leaf_paths(scenario)
    prefixes = {".".join(p.split(".")[:k]) for p in candidates for k in range(1, p.count(".") + 1)}
    close = difflib.get_close_matches(path, [*candidates, *sorted(prefixes)], n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def _walk_to(data: object, path: str, scenario: Scenario) -> tuple[object, str | int]:
    """The container holding ``path``'s last step, and that step."""
    if not isinstance(path, str) or not path or any(not part for part in path.split(".")):
        raise PathError(f"{path!r} is not a field path (keys separated by dots, e.g. safety.hold_days)")
    parts = path.split(".")
    node = data
    for depth, part in enumerate(parts):
        step: str | int = part
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise PathError(f"{path}: {'.'.join(parts[:depth])} has items 0 to {len(node) - 1}, not {part!r}")
            step = int(part)
        elif not isinstance(node, dict) or part not in node:
            raise PathError(f"{path}: no such field{_suggest(path, scenario)}")
        if depth == len(parts) - 1:
            return node, step
        node = node[step]
    raise AssertionError("unreachable")


def get_value(scenario: Scenario, path: str) -> object:
    """The value at ``path`` (a number, text, switch, or a section as a mapping)."""
    container, step = _walk_to(_data(scenario), path, scenario)
    return container[step]  # type: ignore[index]


def check_path(scenario: Scenario, path: str, *, numeric: bool = False) -> str:
    """``path`` if it names a field (a number, with ``numeric``), else a ``PathError``."""
    value = get_value(scenario, path)
    if numeric and not _is_number(value):
        kind = "a section" if isinstance(value, dict | list) else type(value).__name__
        hint = ""
        if isinstance(value, dict):
            numbers = [k for k, v in value.items() if _is_number(v)]
            hint = f" (its numbers: {', '.join(f'{path}.{k}' for k in numbers)})" if numbers else ""
        raise PathError(f"{path}: is {kind}, not a number{hint}")
    return path


def with_values(scenario: Scenario, changes: dict[str, object], source: str | Path = "<changed scenario>") -> Scenario:
    """The scenario with each path set to its value, validated as a whole (a ``ScenarioError``
    with the usual ``FILE: FIELD: PROBLEM`` messages if the result is not a valid scenario)."""
    data = _data(scenario)
    for path, value in changes.items():
        container, step = _walk_to(data, path, scenario)
        current = container[step]  # type: ignore[index]
        if _is_number(current) and isinstance(current, int) and _is_number(value) and float(value).is_integer():
            value = int(value)  # a count stays a whole number
        container[step] = value  # type: ignore[index]
    return _validate(data, source)


def with_value(scenario: Scenario, path: str, value: object, source: str | Path = "<changed scenario>") -> Scenario:
    """The scenario with one path set to ``value`` (see ``with_values``)."""
    return with_values(scenario, {path: value}, source)


__all__ = [
    "PathError",
    "ScenarioError",
    "check_path",
    "get_value",
    "leaf_paths",
    "numeric_paths",
    "with_value",
    "with_values",
]
