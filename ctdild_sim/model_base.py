"""The strict pydantic base every scenario model derives from, and the field types they share.

Unknown keys are errors (a typo must never silently fall back to a default), every number must
be finite (``.inf`` and ``.nan`` are refused everywhere), and fields are populated by their YAML
names (``mean`` is a field alias because it is also a property).
"""

import math
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo


class StrictModel(BaseModel):
    """Frozen, extra-forbidding model of finite numbers: scenarios are read once, never mutated."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


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
