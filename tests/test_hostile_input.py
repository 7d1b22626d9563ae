"""No scenario file can hang the engine, exhaust memory or end in a traceback.

The mutation corpus: every leaf of every shipped scenario file set to NaN, +inf, -inf, 1e308, 1e30,
-1, 0 and a value of the wrong type. Each mutant must be refused by ``validate`` (exit 2, a
``FILE: FIELD: PROBLEM`` message, no traceback) or run 3 replicates to completion. The bound on an
accepted mutant's run is the replicate budget (``ctdild_sim.sim.budget``): a replicate that would go
past it stops with ``BudgetExceeded``, which the CLI reports as bad input (exit 2). Then the
attacks that need no schema: empty, binary, non-UTF-8, Python tags, alias bombs, deep nesting,
duplicate keys, huge strings, an endless device.
"""

from __future__ import annotations

import copy
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ctdild_sim.cli import main
from ctdild_sim.model.engine import run_replicate
from ctdild_sim.scenario.loading import ScenarioError, load_scenario
from ctdild_sim.sim.budget import BudgetExceeded

from conftest import ROOT, SCENARIOS

MUTATIONS = {
    "nan": math.nan,
    "+inf": math.inf,
    "-inf": -math.inf,
    "1e308": 1e308,
    "1e30": 1e30,
    "-1": -1,
    "0": 0,
}
WRONG_TYPE = {str: ["a", "list"], bool: "maybe", int: "twelve", float: "twelve", dict: 7, list: {"a": 1}}
SLOWEST = {"seconds": 0.0, "mutant": ""}


def leaves(node, path=()):
    """Every (path, value) of a YAML document's scalars and empty lists."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list) and node:
        for i, value in enumerate(node):
            yield from leaves(value, (*path, i))
    else:
        yield path, node


def replaced(data, path, value):
    data = copy.deepcopy(data)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


ORIGINALS = {file.name: yaml.safe_load(file.read_text()) for file in sorted(SCENARIOS.glob("*.yaml"))}


def corpus():
    for name, data in ORIGINALS.items():
        for path, value in leaves(data):
            if path == ("extends",):
                continue
            for label, mutation in MUTATIONS.items():
                yield name, path, label, mutation
            yield name, path, "wrong type", WRONG_TYPE.get(type(value), 7)


CORPUS = list(corpus())


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A copy of the scenarios folder, so mutants of derived files find their parent."""
    target = tmp_path_factory.mktemp("mutants")
    for file in SCENARIOS.glob("*.yaml"):
        shutil.copy(file, target / file.name)
    return target


def test_the_corpus_covers_every_leaf_of_every_shipped_file():
    files = {f for f, *_ in CORPUS}
    assert files == {p.name for p in SCENARIOS.glob("*.yaml")}
    assert len(CORPUS) > 8 * 150  # the base file alone has over 150 leaves


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(8))
def test_every_mutant_is_refused_or_runs_within_its_budget(folder, chunk):
    runner = CliRunner()
    accepted = 0
    for i, (name, path, label, value) in enumerate(CORPUS):
        if (i // 8) % 8 != chunk:  # whole leaves per chunk, each with all its mutations
            continue
        mutant = folder / f"mutant-{chunk}-{name}"
        mutant.write_text(yaml.safe_dump(replaced(ORIGINALS[name], path, value), sort_keys=False))
        where = f"{name}: {'.'.join(map(str, path))} = {label}"
        result = runner.invoke(main, ["validate", str(mutant)])
        assert result.exit_code in (0, 2), f"{where}: exit {result.exit_code}"
        assert result.exception is None or isinstance(result.exception, SystemExit), f"{where}: {result.exception!r}"
        if result.exit_code == 2:
            message = result.stderr
            assert message.startswith(f"{mutant}: ") and "Traceback" not in message, where
            continue
        accepted += 1
        scenario = load_scenario(mutant)
        started = time.perf_counter()
        for replicate in range(3):
            try:
                outcome = run_replicate(scenario, 1, replicate).outcome
            except BudgetExceeded:
                break  # stopped by the budget: the CLI reports it as bad input
            assert outcome in ("completed", "stopped", "horizon"), where
        seconds = time.perf_counter() - started
        if seconds > SLOWEST["seconds"]:
            SLOWEST.update(seconds=seconds, mutant=where)
    print(f"chunk {chunk}: {accepted} mutants ran; slowest so far {SLOWEST['seconds']:.2f} s ({SLOWEST['mutant']})")


@pytest.mark.slow
def test_true_is_never_taken_for_a_number(folder):
    """YAML's booleans were accepted as 1 in numeric fields (19 such mutants of 622): every numeric
    leaf of every shipped file set to ``true`` is refused, naming its path."""
    numeric = [
        (name, path)
        for name, data in ORIGINALS.items()
        for path, value in leaves(data)
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]
    assert len(numeric) > 100
    for name, path in numeric:
        mutant = folder / f"true-{name}"
        mutant.write_text(yaml.safe_dump(replaced(ORIGINALS[name], path, True), sort_keys=False))
        with pytest.raises(ScenarioError) as refused:
            load_scenario(mutant)
        shown = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path).lstrip(".")
        assert f"{shown}: " in str(refused.value) and "(got 'true')" in str(refused.value), (path, str(refused.value))


def test_a_mutant_that_runs_away_stops_on_its_budget_with_exit_2(tmp_path):
    # valid field by field, but nobody ever consents while 1,000 sites refer 1,000 candidates a month each
    runaway = tmp_path / "runaway.yaml"
    runaway.write_text(
        f"extends: {SCENARIOS / 'nct06574581.yaml'}\nname: runaway\n"
        "sites:\n  - {name: S, count: 1000, activation_days: {dist: fixed, value: 0}, referral_rate_per_month: 1000, "
        "referral_rate_cv: 0}\npopulation:\n  consents: 0\n"
    )
    result = CliRunner().invoke(main, ["run", str(runaway), "-n", "3", "-j", "1", "--no-store", "--quiet"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{runaway}: sites[].referral_rate_per_month: replicate 0: more than")
    assert "Traceback" not in result.output


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ctdild_sim", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


ATTACKS = {
    "empty": b"",
    "binary": bytes(range(256)) * 8,
    "non-utf8": "name: caf\xe9\n".encode("latin-1"),
    "python-tag": b"name: !!python/object/apply:os.system ['echo owned']\n",
    "alias-bomb": b"a: &a [x,x,x,x,x,x,x,x,x]\n"
    + b"".join(f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n".encode() for i in range(8)),
    "recursive-alias": b"a: &a [1, *a]\n",
    "deep-flow": b"[" * 50_000 + b"]" * 50_000,
    "deep-block": "".join("  " * i + f"k{i}:\n" for i in range(200)).encode(),
    "duplicate-keys": b"name: x\nsafety:\n  hold_days: 28\nname: y\n",
    "huge-string": b"name: " + b"x" * (3 * 1024 * 1024) + b"\n",
    "bad-date": (SCENARIOS / "nct06574581.yaml")
    .read_bytes()
    .replace(b"start_date: 2024-08-20", b"start_date: 2024-13-01"),
    "explicit-bad-timestamp": b"start_date: !!timestamp 2024-13-01\n",
}
EXPECTED = {
    "empty": "the file is empty",
    "binary": "",
    "non-utf8": "is not UTF-8 text",
    "python-tag": "YAML syntax error",
    "alias-bomb": "expands to more than",
    "recursive-alias": "an alias refers to a value that contains it",
    "deep-flow": "nested more than 32 levels deep",
    "deep-block": "nested more than 32 levels deep",
    "duplicate-keys": "name: duplicate key: first on line 1, again on line 4",
    "huge-string": "is larger than 1024 kB",
    "bad-date": "start_date: Input should be a valid date",
    "explicit-bad-timestamp": "a value cannot be read",
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_schema_free_attacks_are_refused_fast(tmp_path, attack):
    path = tmp_path / f"{attack}.yaml"
    path.write_bytes(ATTACKS[attack])
    started = time.monotonic()
    for args in (["validate", str(path)], ["run", str(path), "-n", "1", "--no-store"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.stderr.startswith(f"{path}: ") and EXPECTED[attack] in result.stderr, result.stderr
    assert time.monotonic() - started < 30  # a hang guard, not a benchmark: each is refused in well under a second


@pytest.mark.parametrize("attack", ["deep-flow", "alias-bomb", "duplicate-keys"])
def test_attacks_end_the_real_command_with_exit_2_and_no_traceback(tmp_path, attack):
    path = tmp_path / f"{attack}.yaml"
    path.write_bytes(ATTACKS[attack])
    result = _cli("run", str(path), "-n", "1", "--no-store")
    assert result.returncode == 2 and EXPECTED[attack] in result.stderr and "Traceback" not in result.stderr


def test_an_endless_device_is_not_read_forever():
    result = _cli("validate", "/dev/zero")
    assert result.returncode == 2 and "/dev/zero: is not a regular file" in result.stderr


def test_a_long_extends_chain_is_refused(tmp_path):
    (tmp_path / "f0.yaml").write_text((SCENARIOS / "nct06574581.yaml").read_text())
    for i in range(1, 300):
        (tmp_path / f"f{i}.yaml").write_text(f"extends: f{i - 1}.yaml\n")
    with pytest.raises(ScenarioError, match="more than 16 files in the extends chain"):
        load_scenario(tmp_path / "f299.yaml")


def test_a_name_with_rich_markup_is_printed_as_it_is(tmp_path):
    marked = tmp_path / "marked.yaml"
    marked.write_text(f"extends: {SCENARIOS / 'nct06574581.yaml'}\nname: 'base [/b] [bold]x'\n")
    result = CliRunner().invoke(main, ["run", str(marked), "-n", "2", "-j", "1", "--no-store", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "base [/b] [bold]x: milestone dates" in " ".join(result.stdout.split())
