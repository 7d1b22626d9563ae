"""The strict pydantic base every scenario model derives from, and the field types they share.

Unknown keys are errors (a typo must never silently fall back to a default), and fields are
populated by their YAML names (``mean`` is a field alias because it is also a property).
"""

import math
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo


class StrictModel(BaseModel):
    """Frozen, extra-forbidding model: scenarios are read once and never mutated."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def check_probability(value: float, name: str) -> float:
    """``value`` if it is a probability; otherwise an error naming ``name`` and the value."""
    if not (0.0 <= value <= 1.0) or math.isnan(value):
        raise ValueError(f"{name} (={value}) must be a probability between 0 and 1")
    return value


def _probability_field(value: float, info: ValidationInfo) -> float:
    return check_probability(value, info.field_name or "probability")


Probability = Annotated[float, AfterValidator(_probability_field)]
"""A probability in [0, 1]; the error names the field and the value."""
