"""The strict pydantic base every scenario model derives from, and the field types they share.

Unknown keys are errors (a typo must never silently fall back to a default), every number must
be finite (``.inf`` and ``.nan`` are refused everywhere), and fields are populated by their YAML
names (``mean`` is a field alias because it is also a property).
"""

import math
import typing
import unicodedata
from typing import Annotated

import annotated_types
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, model_validator
from pydantic.fields import FieldInfo


class StrictModel(BaseModel):
    """Frozen, extra-forbidding model of finite numbers: scenarios are read once, never mutated."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, data: object) -> object:
        """YAML's ``true`` is not a number, though pydantic would take it as 1 (``cohorts[1].size:
        true``): where a field holds numbers and no booleans, one (also in a list or mapping of
        numbers) is passed on as the text ``true``, which the field refuses with its own path."""
        if not isinstance(data, dict):
            return data
        fields = {info.alias or name: info for name, info in cls.model_fields.items()}
        fields.update(cls.model_fields)
        out = dict(data)
        for key, value in data.items():
            info = fields.get(key) if isinstance(key, str) else None
            if info is None or _takes_booleans(info.annotation) or not _takes_numbers(info.annotation):
                continue
            out[key] = _as_text(value)
        return out


def _as_text(value: object) -> object:
    """``value`` with every boolean in it, at any depth of lists and mappings, as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_text(v) for k, v in value.items()}
    return value


def _takes_numbers(annotation: object) -> bool:
    """Whether a field's type holds numbers anywhere (``int``, ``float``, a list or union of them)."""
    if annotation is int or annotation is float:
        return True
    return any(_takes_numbers(arg) for arg in typing.get_args(annotation))


def _takes_booleans(annotation: object) -> bool:
    """Whether a field's type accepts ``true``/``false`` anywhere (a switch, ``bool | None``, a list of them)."""
    if annotation is bool or annotation is object or annotation is typing.Any:
        return True
    if typing.get_origin(annotation) is typing.Literal:
        return any(isinstance(choice, bool) for choice in typing.get_args(annotation))
    return any(_takes_booleans(arg) for arg in typing.get_args(annotation))


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""How a text cell starts that a spreadsheet would take as a formula (``=HYPERLINK(...)``)."""


def spreadsheet_text(value: object) -> object:
    """``value`` as a CSV cell no spreadsheet runs: text starting like a formula gets a leading
    apostrophe (which Excel shows as the text itself, and the records reader drops); numbers, and
    text that is a plain number (``-3``), stay as they are."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def unquoted(cell: str) -> str:
    """``spreadsheet_text`` undone: a cell as it was before it was made text for spreadsheets
    (``'=x`` is ``=x``), so the tool reads back the records it wrote."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] and cell[1] in FORMULA_STARTS else cell


MAX_LABEL = 80
"""Longest name of a scenario, site, cohort, ILD profile or AE kind (names are shown in tables)."""


def _check_label(value: str) -> str:
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise ValueError("must not contain control characters (newlines, tabs, escapes)")
    if value != value.strip():
        raise ValueError("must not start or end with spaces")
    return value


Label = Annotated[str, Field(min_length=1, max_length=MAX_LABEL), AfterValidator(_check_label)]
"""A name shown in reports: 1 to 80 printable characters."""


def check_probability(value: float, name: str) -> float:
    """``value`` if it is a probability; otherwise an error naming ``name`` and the value."""
    if not (0.0 <= value <= 1.0) or math.isnan(value):
        raise ValueError(f"{name} (={value}) must be a probability between 0 and 1")
    return value


def _probability_field(value: float, info: ValidationInfo) -> float:
    return check_probability(value, info.field_name or "probability")


Probability = Annotated[float, AfterValidator(_probability_field)]
"""A probability in [0, 1]; the error names the field and the value."""
PROBABILITY_CHECKS: set = {_probability_field}
"""Validators whose field is a probability (or probabilities): ``plausible_range`` says 0 to 1."""


def plausible_range(info: FieldInfo) -> str:
    """The range a field is checked against, in words ("0 < x <= 1000", "0 to 3650 days"), from
    its metadata; empty for fields without one (names, choices, switches)."""
    low = high = ""
    if info.annotation is str and any(isinstance(item, annotated_types.MaxLen) for item in info.metadata):
        longest = next(item.max_length for item in info.metadata if isinstance(item, annotated_types.MaxLen))
        return f"up to {longest:,} characters"
    for item in info.metadata:
        if isinstance(item, annotated_types.Ge):
            low = f"{item.ge:g} <= " if isinstance(item.ge, int | float) else f"{item.ge} <= "
        elif isinstance(item, annotated_types.Gt):
            low = f"{item.gt:g} < "
        elif isinstance(item, annotated_types.Le):
            high = f" <= {item.le:g}" if isinstance(item.le, int | float) else f" <= {item.le}"
        elif isinstance(item, annotated_types.Lt):
            high = f" < {item.lt:g}"
        elif getattr(item, "func", None) in PROBABILITY_CHECKS:
            return "0 to 1"
        elif hasattr(getattr(item, "func", None), "text"):
            return f"parameters {item.func.text()}"  # a distribution's ParameterRange
    return f"{low}x{high}" if low or high else ""
