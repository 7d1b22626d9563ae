"""Which assumption matters: every assumption moved alone to its low and its high value, each arm
simulated on the base's seed (common random numbers), and the tornado of the outcomes' changes.

Ranges come from a ranges file (``--ranges``), else the scenario's ``ranges:`` block, else every
field the scenario file marks WEAK, scaled by ``1 - spread`` and ``1 + spread``. A range is
``PATH: [LOW, HIGH]`` (a number) or ``PATH: {scale: [A, B]}`` (a number or a distribution, every
parameter of it multiplied). A declared end must give a valid scenario; a WEAK field's default
end that does not (a probability over 1) is pulled towards the base value until it does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ctdild_sim.analysis.sensitivity import tornado
from ctdild_sim.runs.runner import RunTables, run_scenario, simulate_metrics
from ctdild_sim.scenario.comments import Comment, chain_comments, parent_texts
from ctdild_sim.scenario.loading import ScenarioError, read_text
from ctdild_sim.scenario.paths import PathError, check_path, get_value, leaf_paths, with_value
from ctdild_sim.scenario.trial import Scenario
from ctdild_sim.scenario.yaml_reader import load_yaml

DEFAULT_SPREAD = 0.5
"""A WEAK assumption without a declared range is moved to x0.5 and x1.5 of its value."""
SHRINK_STEPS = 8
"""Times an invalid end is pulled halfway back towards the base value before it is given up."""
MAX_ASSUMPTIONS = 200
NOT_SIMULATED = ("ranges", "learning", "name", "description")
"""Sections nothing simulated depends on (with ``product.costs``): never moved by default."""


class RangesError(ValueError):
    """A ranges file or block that cannot be used: ``FILE: ranges.PATH: PROBLEM``."""


@dataclass(frozen=True)
class Assumption:
    """One assumption's two ends: the scenarios and the values shown for them."""

    path: str
    base_value: float
    low_value: float
    high_value: float
    low: Scenario
    high: Scenario
    how: str  # "range", "scale", or "WEAK x0.5-1.5"


def _central(value: object) -> float:
    """The number a field is shown by: itself, or a distribution's median, mean, value or low."""
    if isinstance(value, dict):
        for key in ("median", "mean", "value", "low"):
            if isinstance(value.get(key), int | float):
                return float(value[key])
        return math.nan
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


def _scaled(value: object, factor: float) -> object:
    if isinstance(value, dict):
        return {k: _scaled(v, factor) if k not in ("dist",) else v for k, v in value.items()}
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, int):
        moved = round(value * factor)
        if moved == value and factor != 1:
            moved = value + (1 if factor > 1 else -1)  # a count moves by at least one
        return max(moved, 0)
    return value * factor


def _end(base: Scenario, path: str, make: Callable[[float], object], shrink: bool, where: str) -> Scenario:
    """The scenario with ``path`` set to ``make(1)``; with ``shrink``, an invalid one is pulled back
    towards the base (``make(t)``, t halved) until it is valid. ``RangesError`` otherwise."""
    t = 1.0
    for _ in range(SHRINK_STEPS if shrink else 1):
        try:
            return with_value(base, path, make(t), source=where)
        except ScenarioError as exc:
            problem = exc
            t /= 2
    value = make(1.0)
    shown = f"{value:g}" if _is_number(value) else repr(value)
    raise RangesError(
        f"{where}: {path} = {shown} makes the scenario invalid: "
        + "; ".join(f"{field}: {message}" for field, message in problem.problems)
    )


def _assumption(base: Scenario, path: str, spec: object, how: str, where: str, shrink: bool = False) -> Assumption:
    """One assumption from its spec: ``[low, high]`` or ``{"scale": [a, b]}``."""
    try:
        current = get_value(base, path)
    except PathError as exc:
        raise RangesError(f"{where}: {exc}") from None
    if isinstance(spec, dict) and set(spec) == {"scale"} and _pair(spec["scale"]):
        if not (isinstance(current, dict) or _is_number(current)):
            raise RangesError(f"{where}: {path}: is neither a number nor a distribution, so it cannot be scaled")
        a, b = spec["scale"]
        ends = [_end(base, path, lambda t, f=f: _scaled(current, 1 + t * (f - 1)), shrink, where) for f in (a, b)]
    elif isinstance(spec, dict) and set(spec) == {"ends"}:  # two scenario files' values, set whole
        ends = [_end(base, path, lambda t, v=v: v, False, where) for v in spec["ends"]]
    elif _pair(spec):
        try:
            check_path(base, path, numeric=True)
        except PathError as exc:
            raise RangesError(f"{where}: {exc}; give a number's path, or {{scale: [a, b]}} for a section") from None
        ends = [_end(base, path, lambda t, v=v: current + t * (v - current), shrink, where) for v in spec]
    else:
        raise RangesError(f"{where}: {path}: give [low, high] or {{scale: [low factor, high factor]}}")
    low, high = ends
    return Assumption(
        path, _central(current), _central(get_value(low, path)), _central(get_value(high, path)), low, high, how
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _pair(value: object) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(_is_number(v) for v in value)
        and all(math.isfinite(v) for v in value)
    )


def read_ranges(path: Path) -> dict[str, object]:
    """A ranges file: ``ranges:`` and a mapping of field paths to ranges (``RangesError`` naming
    the file otherwise)."""
    try:
        text = read_text(path)
        data = load_yaml(text)
    except ScenarioError as exc:
        raise RangesError(str(exc)) from None
    except Exception as exc:  # the YAML reader's own refusals
        raise RangesError(f"{path}: not a YAML ranges file ({str(exc).splitlines()[0][:200]})") from None
    if not isinstance(data, dict) or set(data) != {"ranges"} or not isinstance(data["ranges"], dict):
        raise RangesError(f"{path}: a ranges file holds one mapping, ranges:, of field paths to [low, high]")
    if not data["ranges"]:
        raise RangesError(f"{path}: ranges: is empty")
    return data["ranges"]


def assumptions(
    base: Scenario,
    ranges: dict[str, object] | None,
    comments: dict[str, Comment] | None = None,
    spread: float = DEFAULT_SPREAD,
    source: str = "ranges",
) -> list[Assumption]:
    """Every assumption to move: the declared ranges, else the default candidates: the WEAK fields
    of ``comments`` and what each site draws (``drawn_paths``), each scaled by ``1 -+ spread``."""
    if ranges:
        if len(ranges) > MAX_ASSUMPTIONS:
            raise RangesError(f"{source}: {len(ranges)} ranges; at most {MAX_ASSUMPTIONS}")
        out = []
        for path, spec in ranges.items():
            how = next(iter(spec)) if isinstance(spec, dict) else "range"
            out.append(_assumption(base, str(path), spec, how, f"{source}: ranges.{path}"))
        return out
    if not 0 < spread < 1:
        raise RangesError(f"the spread must be between 0 and 1 (got {spread:g})")
    out = []
    weak = weak_paths(base, comments or {})
    for path in dict.fromkeys([*weak, *drawn_paths(base)]):
        how = f"{'WEAK' if path in weak else 'drawn'} x{1 - spread:g}-{1 + spread:g}"
        try:
            found = _assumption(base, path, {"scale": [1 - spread, 1 + spread]}, how, "default", shrink=True)
        except RangesError:
            continue  # a WEAK choice that is not a number (a policy's kind): nothing to scale
        if found.low_value != found.base_value or found.high_value != found.base_value:
            out.append(found)
    return out


def drawn_paths(base: Scenario) -> list[str]:
    """What each site's replicate draws once, its referral rate and activation delay: the inputs the
    variance ranking (``analysis.ranking``) finds matter most, whatever the file's WEAK flags."""
    return [f"sites.{k}.{field}" for k in range(len(base.sites)) for field in DRAWN_FIELDS]


DRAWN_FIELDS = ("referral_rate_per_month", "activation_days")


def chosen_assumptions(
    base: Scenario,
    scenario_file: Path,
    ranges_file: Path | None = None,
    ends: tuple[Scenario, Scenario, str] | None = None,
    spread: float = DEFAULT_SPREAD,
) -> tuple[list[Assumption], bool]:
    """The assumptions a sensitivity run moves, from where the module says: a ranges file, two
    end scenarios (``ends``: low, high and how they were named), the scenario's ``ranges:``
    block, or the default candidates; and whether they are the default (which a run screens
    first, ``screen``). ``RangesError`` when none is left to move."""
    text = read_text(scenario_file)
    comments = chain_comments(text, parent_texts(text, scenario_file.parent))
    if ranges_file is not None and ends is not None:
        raise RangesError("give --ranges or --ends, not both")
    if ranges_file is not None:
        ranges, source = read_ranges(ranges_file), str(ranges_file)
    elif ends is not None:
        ranges, source = ranges_from_ends(base, ends[0], ends[1]), ends[2]
        if not ranges:
            raise RangesError(f"{source}: the two files differ in no simulated number")
    else:
        ranges, source = base.ranges, str(scenario_file)
    found = assumptions(base, ranges, comments, spread, source)
    if not found:
        raise RangesError(
            f"{scenario_file}: no assumption to move: declare ranges (--ranges FILE or a ranges: block) or mark "
            "fields WEAK in the file"
        )
    return found, ranges_file is None and ends is None and not base.ranges


def ranges_from_ends(base: Scenario, low: Scenario, high: Scenario) -> dict[str, object]:
    """Ranges from two scenario files (an optimistic and a pessimistic one): every number or
    distribution in which they differ, at each file's value (``{"ends": [low's, high's]}``).
    Names, descriptions, costs and priors are left out: no simulated outcome depends on them."""
    out: dict[str, object] = {}
    for path in leaf_paths(base):
        parts = path.split(".")
        if parts[0] in NOT_SIMULATED or path.startswith("product.costs"):
            continue
        # a distribution's parameters move together: the path of the distribution itself
        owner = ".".join(parts[:-1])
        try:
            section = get_value(base, owner) if owner else None
            if isinstance(section, dict) and "dist" in section:
                path = owner
            values = (get_value(low, path), get_value(high, path))
        except PathError:
            continue  # a field the other files do not have (a list of another length)
        if values[0] != values[1] and (
            all(_is_number(v) for v in values) or all(isinstance(v, dict) and "dist" in v for v in values)
        ):
            out[path] = {"ends": list(values)}
    return out


def weak_paths(base: Scenario, comments: dict[str, Comment]) -> list[str]:
    """The numbers and distributions the file's comments mark WEAK (a WEAK section: each of its
    numbers and distributions), in file order; costs and forecast priors are left out: no
    simulated outcome depends on them."""
    out: list[str] = []
    for path, comment in comments.items():
        if not path or not comment.weak or path.split(".")[0] in NOT_SIMULATED or path.startswith("product.costs"):
            continue
        try:
            value = get_value(base, path)
        except PathError:
            continue
        if _is_number(value) or (isinstance(value, dict) and "dist" in value):
            out.append(path)
        elif isinstance(value, dict):
            out += [f"{path}.{k}" for k, v in value.items() if _is_number(v) or (isinstance(v, dict) and "dist" in v)]
    return list(dict.fromkeys(out))


@dataclass
class Sensitivity:
    """A tornado and what it was made from (and, for the default candidates, the screen that chose
    the assumptions it moves)."""

    tornado: pd.DataFrame
    assumptions: list[Assumption]
    base: RunTables
    arm_metrics: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    screen: pd.DataFrame | None = None

    def tables(self) -> list[tuple[str, pd.DataFrame]]:
        """What a stored sensitivity run holds besides its base run's tables."""
        tables = [
            ("tornado", self.tornado),
            ("sensitivity_arms", self.arms_table()),
            ("sensitivity_metrics", self.metrics_table()),
        ]
        return tables + ([("sensitivity_screen", self.screen)] if self.screen is not None else [])

    def arms_table(self) -> pd.DataFrame:
        """The arms: assumption, end, value and how the range was set."""
        rows = [
            {
                "parameter": a.path,
                "how": a.how,
                "base_value": a.base_value,
                "low_value": a.low_value,
                "high_value": a.high_value,
            }
            for a in self.assumptions
        ]
        return pd.DataFrame(rows, columns=["parameter", "how", "base_value", "low_value", "high_value"])

    def metrics_table(self) -> pd.DataFrame:
        """Every arm's metrics, with the arm's assumption and end (the base: empty assumption)."""
        frames = [self.base.metrics.assign(parameter="", end="base")]
        frames += [m.assign(parameter=path, end=end) for (path, end), m in self.arm_metrics.items()]
        return pd.concat(frames, ignore_index=True)


def run_sensitivity(
    base: Scenario,
    found: list[Assumption],
    replicates: int,
    seed: int,
    on_replicate: Callable[[int], None] | None = None,
    **options,
) -> Sensitivity:
    """Simulate the base and both ends of every assumption on ``seed`` and make the tornado."""
    tables = run_scenario(base, replicates, seed, on_replicate=on_replicate, **options)
    result = Sensitivity(pd.DataFrame(), found, tables)
    arms: dict[tuple[str, str], tuple[float, pd.DataFrame]] = {}
    metric_options = {k: v for k, v in options.items() if k not in ("keep_events", "metrics_only")}
    for a in found:
        for end, scenario, value in (("low", a.low, a.low_value), ("high", a.high, a.high_value)):
            if scenario == base:
                metrics = tables.metrics  # the end is the base value: nothing to simulate
                if on_replicate is not None:
                    on_replicate(replicates)
            else:
                metrics = simulate_metrics(scenario, replicates, seed, on_replicate=on_replicate, **metric_options)
            result.arm_metrics[(a.path, end)] = metrics
            arms[(a.path, end)] = (value, metrics)
    result.tornado = tornado(tables.metrics, arms, base, {a.path: a.base_value for a in found}, seed)
    return result


TOP_ASSUMPTIONS = 10
"""Assumptions a default sensitivity run moves on all its replicates, after the screen."""
SCREEN_FRACTION = 5
"""The screen moves every default candidate on a fifth of the replicates (at least ``MIN_SCREEN``)."""
MIN_SCREEN = 20


def screen_replicates(replicates: int) -> int:
    return min(replicates, max(MIN_SCREEN, replicates // SCREEN_FRACTION))


def screen_scores(tornado_table: pd.DataFrame) -> pd.DataFrame:
    """Each assumption's largest swing over the outcomes, each outcome's swings scaled by its
    largest (so days and vials compare), largest first: the screen's ranking."""
    largest = tornado_table.groupby("outcome")["swing"].transform("max")
    scaled = (tornado_table["swing"] / largest.where(largest > 0)).fillna(0.0)
    frame = tornado_table.assign(score=scaled).sort_values("score", ascending=False)
    top = frame.drop_duplicates("parameter")[["parameter", "outcome_label", "score"]]
    return top.rename(columns={"outcome_label": "moves_most"}).reset_index(drop=True)


def screened_sensitivity(
    base: Scenario,
    candidates: list[Assumption],
    replicates: int,
    seed: int,
    top: int = TOP_ASSUMPTIONS,
    on_replicate: Callable[[int], None] | None = None,
    **options,
) -> Sensitivity:
    """Which assumptions matter, then how much: every candidate moved on ``screen_replicates``, and
    the ``top`` that move any outcome most moved on all ``replicates`` (the tornado). With ``top``
    candidates or fewer there is nothing to screen."""
    if len(candidates) <= top:
        return run_sensitivity(base, candidates, replicates, seed, on_replicate, **options)
    screen_options = {k: v for k, v in options.items() if k != "keep_events"}
    first = run_sensitivity(base, candidates, screen_replicates(replicates), seed, on_replicate, **screen_options)
    scores = screen_scores(first.tornado)
    chosen = set(scores["parameter"].head(top))
    result = run_sensitivity(
        base, [a for a in candidates if a.path in chosen], replicates, seed, on_replicate, **options
    )
    result.screen = scores.assign(moved=scores["parameter"].isin(chosen), replicates=screen_replicates(replicates))
    return result


def replicates_needed(candidates: int, replicates: int, screened: bool, top: int = TOP_ASSUMPTIONS) -> int:
    """The replicates a sensitivity run simulates (its progress bar's total)."""
    if not screened or candidates <= top:
        return replicates * (1 + 2 * candidates)
    return screen_replicates(replicates) * (1 + 2 * candidates) + replicates * (1 + 2 * top)
