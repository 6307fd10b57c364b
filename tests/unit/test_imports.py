"""The project's modules import each other without cycles, function-level imports included.

A cycle makes the import order matter (a module half-initialised when its partner asks for a
name) and keeps layers from being read or tested alone: the CLI is argparse plus dispatch,
and nothing below it imports it back.
"""

from __future__ import annotations

import argparse
import ast
import typing
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[2] / "customer_tiers"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts).removesuffix(".__init__")


def import_graph() -> dict[str, set[str]]:
    """Each module of customer_tiers and the project modules it imports anywhere in its body."""
    files = {_module_name(path): path for path in PACKAGE_ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            for target in targets:
                while target and target not in files:
                    target = target.rpartition(".")[0]
                # a package's __init__ importing its own submodules is how packages export
                if target and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that returns to its start, or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for neighbour in sorted(graph[node]):
            if state.get(neighbour) == "open":
                return [*stack[stack.index(neighbour) :], neighbour]
            if neighbour not in state and (cycle := visit(neighbour)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_checker_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_function_level_imports() -> None:
    graph = import_graph()
    # cli imports the pipeline inside _cmd_run only
    assert "customer_tiers.orchestration.pipeline" in graph["customer_tiers.orchestration.cli"]


def test_no_import_cycle_among_the_project_modules() -> None:
    cycle = find_cycle(import_graph())
    if cycle:
        pytest.fail("import cycle: " + " -> ".join(cycle))


def test_nothing_imports_the_cli() -> None:
    graph = import_graph()
    importers = sorted(
        m for m, targets in graph.items() if "customer_tiers.orchestration.cli" in targets
    )
    assert importers == []


def _choices(command: str, option: str) -> tuple[str, ...]:
    from customer_tiers.orchestration.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    action = next(a for a in subparsers.choices[command]._actions if option in a.option_strings)
    return tuple(action.choices or ())


def test_the_cli_choices_are_their_owners_values() -> None:
    """The CLI writes its option choices out (importing their modules would cost `tiers` a
    second or two of start-up on every command); each must be its owner's list."""
    from customer_tiers.ingest.demo_data import ENCODINGS
    from customer_tiers.orchestration.backfill import EVERY_CHOICES
    from customer_tiers.orchestration.engine import ENGINES
    from customer_tiers.orchestration.export import FORMATS
    from customer_tiers.orchestration.report.text import LANGS
    from customer_tiers.orchestration.worklists import Lang

    assert _choices("demo-data", "--encoding") == ENCODINGS
    assert _choices("run", "--engine") == ENGINES
    assert _choices("backfill", "--every") == EVERY_CHOICES
    assert _choices("export", "--format") == FORMATS
    assert _choices("report", "--lang") == LANGS
    assert _choices("worklists", "--lang") == typing.get_args(Lang)
