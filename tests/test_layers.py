"""The layers of ``ctdild_sim`` import one way, down: a small import-graph check over the package.

Bottom to top: scenario, sim, supply, model, actuals, learning, analysis, runs, studies, reports,
then the CLI and the dashboard. A module may import from its own layer and the layers below. Imports made only for
type hints (under ``if TYPE_CHECKING:``) may point up: the model's components see
``model.engine.Trial`` that way, as the context they are handed (the supply does not: it names
what it needs as protocols). The package root (``__version__``
and the public names) is not a layer: every module may import ``__version__`` from it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import ROOT

# fmt: off
LAYERS = [
    "scenario", "sim", "supply", "model", "actuals", "learning", "analysis", "runs", "studies", "views", "reports",
    "interface",
]
# fmt: on
"""Bottom to top; ``interface`` is the CLI and the dashboard."""


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] == "dashboard" or module in ("ctdild_sim.cli", "ctdild_sim.__main__"):
        return "interface"
    if parts[0] == "ctdild_sim" and len(parts) > 1 and parts[1] in LAYERS:
        return parts[1]
    return None  # the package root, its README-promised shim, or not ours


def modules() -> dict[str, Path]:
    found = {}
    for top in ("ctdild_sim", "dashboard"):
        for path in (ROOT / top).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Line numbers of imports under ``if TYPE_CHECKING:``."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for child in node.body:
                for inner in ast.walk(child):
                    if isinstance(inner, ast.Import | ast.ImportFrom):
                        lines.add(inner.lineno)
    return lines


MODULES = set(modules())


def imports(path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import of ``ctdild_sim`` or ``dashboard`` at run time."""
    tree = ast.parse(path.read_text())
    typing_only = _type_checking_only(tree)
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom) or node.lineno in typing_only:
            continue
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from dashboard import callbacks`` imports the module, not the package's own code
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                out.append((submodule if submodule in MODULES else node.module, node.lineno))
    return [(m, line) for m, line in out if m.split(".")[0] in ("ctdild_sim", "dashboard")]


def nested_imports(path: Path) -> list[int]:
    """Lines of imports made inside a function or a class."""
    tree = ast.parse(path.read_text())
    return [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom) and n.col_offset > 0]


def violations() -> list[str]:
    found = []
    for name, path in modules().items():
        mine = layer_of(name)
        if mine is None:
            continue
        for target, line in imports(path):
            theirs = layer_of(target)
            if theirs is not None and LAYERS.index(theirs) > LAYERS.index(mine):
                found.append(f"{path.relative_to(ROOT)}:{line}: {mine} imports {target} ({theirs})")
    return found


def test_imports_run_down_the_layers():
    assert violations() == []


def test_every_module_belongs_to_a_layer():
    loose = [n for n in modules() if layer_of(n) is None and n not in ("ctdild_sim", "ctdild_sim.results")]
    assert loose == []


@pytest.mark.parametrize("package", LAYERS[:-1])
def test_every_layer_says_what_lives_there_and_what_it_may_import(package):
    doc = ast.get_docstring(ast.parse((ROOT / "ctdild_sim" / package / "__init__.py").read_text()))
    assert doc and "May import" in doc


def test_the_check_finds_an_upward_import(tmp_path, monkeypatch):
    # guard against a check that cannot fail: an import of runs from model is reported, a type-only one is not
    fake = tmp_path / "ctdild_sim" / "model"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text(
        "from typing import TYPE_CHECKING\nfrom ctdild_sim.runs.runner import run_scenario\n"
        "if TYPE_CHECKING:\n    from ctdild_sim.reports.terminal import table\n"
    )
    assert imports(fake / "bad.py") == [("ctdild_sim.runs.runner", 2)]
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    assert violations() == ["ctdild_sim/model/bad.py:2: model imports ctdild_sim.runs.runner (runs)"]


PACKAGES = [p.parent for top in ("ctdild_sim", "dashboard") for p in (ROOT / top).rglob("__init__.py")]


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_package_docstring_names_every_module_it_holds(package):
    """A package's docstring is its overview: one line per module (``name``), kept true by this test."""
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    held = [p.stem for p in package.glob("*.py") if p.stem != "__init__"]
    held += [p.name for p in package.iterdir() if (p / "__init__.py").is_file()]
    assert [name for name in sorted(held) if f"``{name}``" not in doc] == []


def test_the_dashboard_has_no_import_cycle_and_no_import_inside_a_function():
    """The callbacks and the scenario editor once imported each other (one inside a function): a
    page's code could not be read without the other's."""
    graph, nested = {}, {}
    for name, path in modules().items():
        if name.startswith("dashboard"):
            graph[name] = {target for target, _ in imports(path)}
            if nested_imports(path):
                nested[name] = nested_imports(path)
    graph = {name: {m for m in targets if m in graph and m != name} for name, targets in graph.items()}
    assert nested == {}, f"imports inside functions: {nested}"
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            pytest.fail("import cycle: " + " -> ".join([*path[path.index(name) :], name]))
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_the_clis_docstring_names_every_command():
    """It named 6 of its 13 commands."""
    from ctdild_sim import cli

    first = (cli.__doc__ or "").split("\n\n")[0]
    assert [name for name in sorted(cli.main.commands) if name not in first] == []


def test_the_scenario_reference_in_docs_is_the_schemas():
    """docs/scenario-reference.md is generated from the JSON Schema; regenerate it when a field
    changes: python -m ctdild_sim.scenario.reference > docs/scenario-reference.md"""
    from ctdild_sim.scenario.reference import scenario_reference

    assert (ROOT / "docs" / "scenario-reference.md").read_text() == scenario_reference() + "\n"


def test_the_supply_names_nothing_of_the_model_not_even_for_type_hints():
    """model and supply were joined by a type-only cycle (5 imports under TYPE_CHECKING)."""
    found = []
    for name, path in modules().items():
        if name.startswith("ctdild_sim.supply"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ctdild_sim.model"):
                    found.append(f"{name}:{node.lineno}")
    assert found == []


def test_a_page_s_controls_are_used_by_that_page_s_module_alone():
    """A page is one module: the components its layout adds (beyond the state and view every page
    has) are named, in the dashboard's code, by that page's module only (and ``ids``)."""
    import re

    from dashboard import ids
    from dashboard.pages import PAGES

    names = {value: name for name, value in vars(ids).items() if isinstance(value, str) and name.isupper()}
    shared = {ids.QUERY, ids.VIEW}
    sources = {
        path.stem if path.parent.name == "pages" else f"dashboard.{path.stem}": path.read_text()
        for path in (ROOT / "dashboard").rglob("*.py")
        if path.name not in ("ids.py", "__init__.py")
    }
    for page in PAGES:
        root = page.layout()
        own = {c.id for c in [root, *root._traverse()] if isinstance(getattr(c, "id", None), str)} - shared
        assert bool(own) == hasattr(page, "register"), page.KEY  # a page with controls wires them itself
        for component in own & names.keys():  # ids spelt out in a layout are its own
            pattern = re.compile(rf"\bids\.{names[component]}\b")
            users = sorted(module for module, text in sources.items() if pattern.search(text))
            assert users == [page.KEY], f"{component} of the {page.KEY} page is named in {users}"
