"""The strict pydantic base every scenario model derives from.

Unknown keys are errors (a typo must never silently fall back to a default), and fields are
populated by their YAML names (``mean`` is a field alias because it is also a property).
"""

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Frozen, extra-forbidding model: scenarios are read once and never mutated."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
