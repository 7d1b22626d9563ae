"""Reading scenario files, and turning every way they can be wrong into a plain message.

The CLI prints ``ScenarioError`` as ``FILE: FIELD: PROBLEM`` lines and exits with code 2; it
never shows a traceback. Pydantic's error locations are mapped back to the YAML field path, and
an unknown key gets a "did you mean" from the keys that the model at that place accepts.
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from ctdild_sim.scenario.distributions import Distribution
from ctdild_sim.scenario.product import StockPolicy
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.scenario.yaml_reader import MAX_BYTES, YamlRefused, load_yaml


class ScenarioError(Exception):
    """A scenario file that cannot be used; ``problems`` are (field, message) pairs."""

    def __init__(self, path: str | Path, problems: list[tuple[str, str]]):
        self.path = str(path)
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(
            f"{self.path}: {field}: {message}" if field else f"{self.path}: {message}"
            for field, message in self.problems
        )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file (following its ``extends`` chain)."""
    path = Path(path)
    data = _read_mapping(path, chain=())
    return _validate(data, path)


def parse_scenario(
    text: str, source: str | Path = "<scenario>", *, base_dir: Path | None = None, within: Path | None = None
) -> Scenario:
    """Validate scenario YAML text; ``source`` names it in messages.

    ``extends`` is relative to ``base_dir`` (default: the folder of ``source``). With ``within``,
    every file of the ``extends`` chain must lie in that folder: text from an untrusted place (an
    upload) cannot make the loader read other files.
    """
    source = Path(source)
    if len(text) > MAX_BYTES:
        raise ScenarioError(source, [("", f"is larger than {MAX_BYTES // 1024} kB: not a scenario file")])
    located = (base_dir / source.name) if base_dir is not None else source
    data = _parse_mapping(text, source)
    if EXTENDS in data:
        data = _extend(data, located, chain=(located.resolve(),), within=within, shown=source)
    return _validate(data, source)


EXTENDS = "extends"
"""Key naming a parent scenario file (relative to this one): its fields apply unless overridden."""
MAX_EXTENDS = 16
"""Longest ``extends`` chain followed (the shipped files use one step)."""


def read_text(path: Path) -> str:
    """A scenario file's text: a regular file of at most ``MAX_BYTES`` bytes of UTF-8."""
    try:
        if not path.is_file():
            problem = "file not found" if not path.exists() else "is a directory, not a scenario file"
            if path.exists() and not path.is_dir():
                problem = "is not a regular file (a device, pipe or socket), not a scenario file"
            raise ScenarioError(path, [("", problem)])
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(path, [("", f"cannot be read ({exc.strerror or exc})")]) from None
    if len(raw) > MAX_BYTES:
        raise ScenarioError(path, [("", f"is larger than {MAX_BYTES // 1024} kB: not a scenario file")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(path, [("", f"is not UTF-8 text (byte {exc.start} cannot be decoded)")]) from None


def _parse_mapping(text: str, source: Path) -> dict:
    try:
        data = load_yaml(text)
    except YamlRefused as exc:
        raise ScenarioError(source, [(exc.field, exc.message)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(source, [("", f"YAML syntax error: {where}{problem}")]) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # an explicit tag with a bad value
        raise ScenarioError(source, [("", f"a value cannot be read ({exc})")]) from None
    if data is None:
        raise ScenarioError(source, [("", "the file is empty; a scenario is a YAML mapping of fields")])
    if not isinstance(data, dict):
        raise ScenarioError(source, [("", f"the top level must be a mapping of fields, not a {type(data).__name__}")])
    return data


def _read_mapping(path: Path, chain: tuple[Path, ...], within: Path | None = None) -> dict:
    data = _parse_mapping(read_text(path), path)
    if EXTENDS in data:
        data = _extend(data, path, (*chain, path.resolve()), within)
    return data


def _extend(
    data: dict, path: Path, chain: tuple[Path, ...], within: Path | None = None, shown: Path | None = None
) -> dict:
    """Merge ``data`` over the scenario it extends.

    Mappings merge key by key; lists, values and tagged mappings (a distribution's ``dist``, a
    stock policy's ``kind``) replace the parent's whole. ``shown`` names ``path`` in messages.
    """
    shown = shown or path
    parent_name = data.pop(EXTENDS)
    if not isinstance(parent_name, str) or not parent_name:
        raise ScenarioError(shown, [(EXTENDS, f"must be a file name (got {parent_name!r})")])
    parent_path = (path.parent / parent_name) if not Path(parent_name).is_absolute() else Path(parent_name)
    if within is not None and not parent_path.resolve().is_relative_to(within.resolve()):
        raise ScenarioError(shown, [(EXTENDS, f"{parent_name} is not a scenario file of {within.name}/")])
    if parent_path.resolve() in chain:
        raise ScenarioError(shown, [(EXTENDS, f"{parent_name} extends this file again (a cycle)")])
    if len(chain) > MAX_EXTENDS:
        raise ScenarioError(shown, [(EXTENDS, f"more than {MAX_EXTENDS} files in the extends chain")])
    if not parent_path.is_file():
        raise ScenarioError(shown, [(EXTENDS, f"parent scenario {parent_name} not found beside this file")])
    return _deep_merge(_read_mapping(parent_path, chain, within), data)


DISCRIMINATORS = frozenset({"dist", "kind"})
"""Keys that tag a mapping as one of several models: such a mapping replaces, never merges."""


def _deep_merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and not DISCRIMINATORS & value.keys():
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _validate(data: dict, source: str | Path) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, [_describe(err) for err in exc.errors()]) from None


def _is_branch_tag(item: object) -> bool:
    """Whether a location step is pydantic's name for a union member, not a key of the file."""
    return isinstance(item, str) and ("[" in item or item in _SCALAR_TAGS)


_SCALAR_TAGS = {"float", "int", "str", "bool", "list", "dict"}


def _field_path(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item in _TAGS or item == "[key]" or _is_branch_tag(item):
            continue  # pydantic inserts the discriminator tag; the file has no such level
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _describe(err: dict) -> tuple[str, str]:
    loc = tuple(err["loc"])
    kind = err["type"]
    field = _field_path(loc)
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        message = "unknown field"
        if hint:
            message += f"; did you mean '{hint[0]}'?"
        elif allowed:
            message += f"; allowed here: {', '.join(sorted(allowed))}"
        return field, message
    if kind == "missing":
        return field, "required field is missing"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        key = err["ctx"]["discriminator"].strip("'")
        what = {"dist": "distribution", "kind": "stock policy"}.get(key, key)
        options = ", ".join(sorted(_TAGS_BY_KEY.get(key, ())))
        if kind == "union_tag_not_found":
            return field, f"a {what} needs a '{key}' key ({options})"
        return field, f"unknown {what} {err['ctx']['tag']!r}; use one of {options}"
    message = err["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if "input" in err and kind not in ("value_error",) and not isinstance(err["input"], dict | list):
        message += f" (got {err['input']!r})"
    return field, message


def _tags(union: typing.Any, key: str) -> set[str]:
    """The tag values (``dist: lognormal``, ``kind: schedule``) of a tagged union's models."""
    members = typing.get_args(typing.get_args(union)[0])
    return {typing.get_args(m.model_fields[key].annotation)[0] for m in members}


_TAGS_BY_KEY = {"dist": _tags(Distribution, "dist"), "kind": _tags(StockPolicy, "kind")}
_TAGS = set().union(*_TAGS_BY_KEY.values())
"""Tags pydantic inserts into error locations; the file has no such level."""


def _allowed_keys(loc: tuple) -> list[str]:
    """The keys accepted by the model found at ``loc`` (for "did you mean" hints)."""
    model: typing.Any = Scenario
    for item in loc:
        model = _step(model, item)
        if model is None:
            return []
    model = _unwrap_model(model)
    if model is None:
        return []
    return [f.alias or name for name, f in model.model_fields.items()]


def _unwrap_model(tp: typing.Any) -> type[BaseModel] | None:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    return None


def _step(tp: typing.Any, item: typing.Any) -> typing.Any:
    """Descend one location step from a type: a model field, a list index, a dict key, a union tag."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _step(typing.get_args(tp)[0], item)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            model = _unwrap_model(arg)
            if model is not None and item in _TAGS:
                for key in DISCRIMINATORS & model.model_fields.keys():
                    if typing.get_args(model.model_fields[key].annotation) == (item,):
                        return model
            if model is not None and isinstance(item, str) and item in model.model_fields:
                return _step(model, item)
        return None
    if origin is list:
        return typing.get_args(tp)[0] if isinstance(item, int) else None
    if origin is dict:
        return typing.get_args(tp)[1]
    model = _unwrap_model(tp)
    if model is not None:
        if item in _TAGS and DISCRIMINATORS & model.model_fields.keys():
            return model
        for name, f in model.model_fields.items():
            if item in (name, f.alias):
                return f.annotation
    return None


SHIPPED = "scenario_files"
"""Where the shipped scenario files are installed in the package (from the repository's
``scenarios/``; see ``pyproject.toml``)."""


def shipped_scenarios_dir() -> Path | None:
    """The scenario files installed with the package (``ctdild_sim/scenario_files``), or the
    repository's ``scenarios/`` folder in an editable install; None if neither is there."""
    package = Path(__file__).resolve().parents[1]
    for folder in (package / SHIPPED, package.parent / "scenarios"):
        if folder.is_dir() and any(folder.glob("*.yaml")):
            return folder
    return None


def shipped_scenario(path: Path) -> Path | None:
    """The shipped file or folder a missing ``path`` like ``scenarios/NAME.yaml``,
    ``scenarios/actuals/NAME`` or ``NAME.yaml`` stands for, if there is one."""
    folder = shipped_scenarios_dir()
    if folder is None or path.exists() or path.is_absolute():
        return None
    parts = path.parts[1:] if path.parts[:1] == ("scenarios",) else path.parts
    if not parts or ".." in parts:
        return None
    candidate = folder.joinpath(*parts)
    return candidate if candidate.exists() else None
