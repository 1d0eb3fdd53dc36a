"""The house without loops: the project's imports, read by grimp from the source.

Three rules, each counting imports inside functions too (grimp reads every import
statement, so a lazy import does not hide an edge):

- no import cycle among the project's modules (``portal``, ``api``, ``harness``; the
  migrations are Alembic's scripts and the tests are not the project's modules);
- no cycle among the packages taken as units: each subpackage of ``portal`` (its
  ``__init__`` and everything under it), ``api``, ``harness``, and each top-level module
  of ``portal`` (the factory, ``portal/__init__.py``, is one of them);
- the domain never imports a front door (``FRONT_DOORS``: the ways in that adapt
  requests, commands and the factory that wires everything to the domain's calls).
"""
from __future__ import annotations

import grimp
import pytest

pytestmark = pytest.mark.no_db

PACKAGES = ("portal", "api", "harness")
#: The ways in: the REST API, the desk UI (Flask-Admin), the portal's own pages, the
#: command line and the application factory. Each entry covers the module and all below it.
FRONT_DOORS = ("api", "portal.admin", "portal.home", "portal.preferences",
               "portal.auth.token_pages", "portal.commands", "portal")


@pytest.fixture(scope="module")
def imports() -> dict[str, set[str]]:
    """Each project module and the project modules it imports (anywhere in the file)."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    modules = {name for name in graph.modules if not name.startswith("portal.migrations")}
    return {name: graph.find_modules_directly_imported_by(name) & modules
            for name in modules}


def unit(module: str) -> str:
    """The package a module counts in: ``portal.sla.clock`` → ``portal.sla``."""
    parts = module.split(".")
    if parts[0] != "portal":
        return parts[0]
    return ".".join(parts[:2])


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def is_front_door(module: str) -> bool:
    return any(module == door or (door != "portal" and module.startswith(door + "."))
               for door in FRONT_DOORS)


def test_the_unit_of_a_module_is_its_package_or_itself():
    assert [unit(name) for name in ("portal.sla.clock", "portal.sla", "portal.display",
                                    "portal", "api.schemas", "harness.servers")] == [
        "portal.sla", "portal.sla", "portal.display", "portal", "api", "harness"]


def test_cycles_finds_loops_and_only_them():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_round_a_loop(imports):
    assert cycles(imports) == []


def test_no_package_imports_itself_round_a_loop(imports):
    between: dict[str, set[str]] = {}
    for source, targets in imports.items():
        between.setdefault(unit(source), set()).update(
            unit(target) for target in targets if unit(target) != unit(source))
    found = cycles(between)
    assert found == [], [
        f"{source} -> {target}" for source, targets in sorted(imports.items())
        for target in sorted(targets) for loop in found
        if unit(source) in loop and unit(target) in loop and unit(source) != unit(target)]


def test_the_domain_imports_no_front_door(imports):
    upward = sorted(f"{source} -> {target}" for source, targets in imports.items()
                    if not is_front_door(source)
                    for target in targets if is_front_door(target))
    assert upward == []
