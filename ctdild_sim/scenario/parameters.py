"""Every parameter of a scenario as a row: its dotted path, value, checked range and description
(what the Scenario page and the reports list)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from pydantic import BaseModel

from ctdild_sim.scenario.base import plausible_range
from ctdild_sim.scenario.comments import Comment


def scenario_parameters(model: BaseModel, prefix: str = "") -> pd.DataFrame:
    """Every parameter of a scenario as rows: parameter (dotted path), value, the plausible range
    validation checks it against, description."""
    rows: list[tuple[str, str, str, str]] = []

    def walk(obj: BaseModel, path: str, inherited: str = "") -> None:
        """``inherited``: the range of the field ``obj`` fills (a distribution's parameters)."""
        for name, info in type(obj).model_fields.items():
            value = getattr(obj, name)
            key = f"{path}{info.alias or name}"
            items = (
                list(value.items())
                if isinstance(value, dict)
                else list(enumerate(value))
                if isinstance(value, list | tuple)
                else None
            )
            if isinstance(value, BaseModel):
                walk(value, key + ".", plausible_range(info))
            elif items and all(isinstance(v, BaseModel) for _, v in items):
                for k, v in items:
                    walk(v, f"{key}.{k}.")
            else:
                rows.append((key, parameter_text(value), inherited or plausible_range(info), info.description or ""))

    walk(model, prefix)
    return pd.DataFrame(rows, columns=["parameter", "value", "range", "description"])


def parameter_text(value: object) -> str:
    """A parameter's value as the file would write it: 25 not 25.0, 1e+06 not 1000000.0."""
    if value is None:
        return "(not set)"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {parameter_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "[" + ", ".join(parameter_text(v) for v in value) + "]"
    return str(value)


TREE_COLUMNS = ["group", "parameter", "value", "range", "description", "source", "weak"]


def _is_distribution(value: object) -> bool:
    return isinstance(value, BaseModel) and isinstance(getattr(value, "dist", None), str)


def parameter_tree(model: BaseModel, comments: dict[str, Comment] | None = None) -> pd.DataFrame:
    """Every parameter grouped as the file groups it: ``group`` is the section holding it
    (``product.lots``, ``sites.0``; ``trial`` for the top level), ``parameter`` its key there; a
    distribution is one parameter (``lognormal: median 35, p90 56``). ``source`` and ``weak``: the
    file's comment on that parameter (``comments`` from ``scenario.comments``), not its section's."""
    comments = comments or {}
    rows: list[tuple] = []

    def row(group: str, key: str, path: str, value: object, info) -> None:
        comment = comments.get(path)
        if _is_distribution(value):
            shown = value.model_dump(exclude_none=True)
            text = f"{shown.pop('dist')}: " + ", ".join(f"{k} {parameter_text(v)}" for k, v in shown.items())
        else:
            text = parameter_text(value)
        rows.append(
            (
                group or "trial",
                key,
                text,
                plausible_range(info),
                info.description or "",
                comment.text if comment else "",
                bool(comment and comment.weak),
            )
        )

    def walk(obj: BaseModel, path: str) -> None:
        for name, info in type(obj).model_fields.items():
            value = getattr(obj, name)
            key = info.alias or name
            full = f"{path}.{key}" if path else key
            items = (
                list(value.items())
                if isinstance(value, dict)
                else list(enumerate(value))
                if isinstance(value, list | tuple)
                else None
            )
            if isinstance(value, BaseModel) and not _is_distribution(value):
                walk(value, full)
            elif items and all(isinstance(v, BaseModel) and not _is_distribution(v) for _, v in items):
                for k, v in items:
                    walk(v, f"{full}.{k}")
            else:
                row(path, key, full, value, info)

    walk(model, "")
    return pd.DataFrame(rows, columns=TREE_COLUMNS)
