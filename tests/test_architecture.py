"""The package's shape, checked by reading the code with ``ast`` (nothing is imported):

- no import cycle between modules of ``shopwatch/`` (every import counts: module level, under ``TYPE_CHECKING``
  and inside functions — a deferred import hides a cycle, it does not remove it);
- no import from a lower layer to a higher one, per the ``layers`` block of docs/ARCHITECTURE.md (lowest first;
  packages on one line may import each other); a package missing from that list fails too;
- no broad ``except`` (bare, ``Exception``, ``BaseException``) that swallows: each one either raises (cleans up
  and re-raises, or converts the error) or is a task boundary — marked ``task boundary`` in its comment and
  logging the traceback (``log.exception`` or ``exc_info=``), or marked ``handed back`` where the exception
  object is passed to another thread that raises it;
- no two public classes of different packages share a name (one name, one concept: "which ``Outcome``?").
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "shopwatch"
BROAD = frozenset({"Exception", "BaseException"})


# -- reading the code --------------------------------------------------------------------------------------------


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package under ``root``."""
    found = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """(imported module of the package, line) for every import in the file, wherever it is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    yield _resolve(alias.name, known), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                full = f"{target}.{alias.name}"
                yield (full if full in known else _resolve(target, known)), node.lineno


def _resolve(dotted: str, known: dict[str, Path]) -> str:
    while dotted not in known and "." in dotted:
        dotted = dotted.rpartition(".")[0]
    return dotted


def import_graph(root: Path) -> dict[str, dict[str, int]]:
    """module -> {imported module: first line}, within the package."""
    known = modules(root)
    graph: dict[str, dict[str, int]] = {}
    for name, path in known.items():
        edges: dict[str, int] = {}
        for target, line in imports(name, path, known):
            if target != name and target in known:
                edges.setdefault(target, line)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            step = next(edges, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = counter
                    counter += 1
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(graph[step])))
                elif step in on_stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def layers(doc: Path) -> dict[str, int]:
    """Top-level package or module name -> its layer (0 lowest), from the doc's fenced ``layers`` block."""
    match = re.search(r"^```layers\n(.*?)^```", doc.read_text(encoding="utf-8"), re.M | re.S)
    assert match, f"{doc} has no ```layers block"
    return {unit: level for level, line in enumerate(match.group(1).splitlines()) for unit in line.split()}


def unit_of(module: str) -> str | None:
    """``shopwatch.core.errors`` -> ``core``; ``shopwatch.app`` -> ``app``; the package itself -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def upward_imports(graph: dict[str, dict[str, int]], levels: dict[str, int]) -> list[str]:
    found = []
    for module, edges in graph.items():
        source = unit_of(module)
        for target, line in edges.items():
            dest = unit_of(target)
            if source is None or dest is None or source == dest:
                continue
            if levels[dest] > levels[source]:
                found.append(f"{module}:{line} imports {target} ({source} is below {dest})")
    return found


@dataclass(frozen=True)
class BroadExcept:
    where: str
    problem: str


def broad_excepts(root: Path) -> list[BroadExcept]:
    """Broad handlers that neither raise nor are a marked task boundary logging the traceback."""
    found = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source, str(path))):
            if not isinstance(node, ast.ExceptHandler) or not _is_broad(node):
                continue
            if any(isinstance(n, ast.Raise) for stmt in node.body for n in ast.walk(stmt)):
                continue  # cleans up and re-raises, or converts the error into one of ours
            first_body_line = node.body[0].lineno
            comment = " ".join(lines[node.lineno - 1 : first_body_line]).lower()
            where = f"{path.relative_to(root)}:{node.lineno}"
            if "handed back" in comment:
                continue
            if "task boundary" not in comment:
                found.append(BroadExcept(where, "broad except without a '# task boundary: why' comment"))
            elif not _logs_traceback(node):
                found.append(BroadExcept(where, "task boundary that does not log the traceback"))
    return found


def _is_broad(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(n, ast.Name) and n.id in BROAD for n in names)


def _logs_traceback(handler: ast.ExceptHandler) -> bool:
    for stmt in handler.body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call):
                if isinstance(node.func, ast.Attribute) and node.func.attr == "exception":
                    return True
                if any(k.arg == "exc_info" for k in node.keywords):
                    return True
    return False


def shared_class_names(root: Path) -> dict[str, list[str]]:
    """Public class name -> its modules, for names defined in more than one package of ``shopwatch``."""
    where: dict[str, list[str]] = {}
    for name, path in modules(root).items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                where.setdefault(node.name, []).append(name)
    return {k: v for k, v in where.items() if len({unit_of(m) for m in v}) > 1}


# -- the checks on shopwatch --------------------------------------------------------------------------------------


def test_no_import_cycle_inside_the_package() -> None:
    found = cycles(import_graph(ROOT))
    assert found == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_every_package_is_in_the_layer_list_of_the_architecture_doc() -> None:
    levels = layers(ROOT / "docs" / "ARCHITECTURE.md")
    units = {unit_of(m) for m in modules(ROOT)} - {None}
    assert units - levels.keys() == set(), "add these to the layers block of docs/ARCHITECTURE.md"


def test_no_import_from_a_lower_layer_to_a_higher_one() -> None:
    found = upward_imports(import_graph(ROOT), layers(ROOT / "docs" / "ARCHITECTURE.md"))
    assert found == [], "imports climbing the layers:\n" + "\n".join(found)


def test_every_broad_except_is_a_logged_task_boundary() -> None:
    found = broad_excepts(ROOT)
    assert found == [], "\n".join(f"{b.where}: {b.problem}" for b in found)


def test_no_class_name_is_shared_across_packages() -> None:
    found = shared_class_names(ROOT)
    assert found == {}, "rename one of each:\n" + "\n".join(f"{k}: {', '.join(v)}" for k, v in found.items())


# -- the checker itself, on a made-up package ---------------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / PACKAGE / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_checker_finds_a_type_checking_cycle_an_upward_import_and_a_swallowing_except(tmp_path: Path) -> None:
    _write(tmp_path, {
        "__init__.py": "",
        "core/__init__.py": "",
        "core/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from shopwatch.api.b import B\n",
        "api/__init__.py": "",
        "api/b.py": "from ..core import a\n",
        "api/c.py": (
            "import logging\nlog = logging.getLogger()\n"
            "def f():\n    try:\n        pass\n    except Exception:\n        pass\n"
            "def g():\n    try:\n        pass\n"
            "    except Exception:  # task boundary: a loop\n        log.exception('x')\n"
            "def h():\n    try:\n        pass\n    except BaseException:\n        raise\n"
        ),
    })  # fmt: skip
    (tmp_path / "ARCH.md").write_text("```layers\ncore\napi\n```\n", encoding="utf-8")
    graph = import_graph(tmp_path)
    assert cycles(graph) == [["shopwatch.api.b", "shopwatch.core.a"]]
    levels = layers(tmp_path / "ARCH.md")
    assert upward_imports(graph, levels) == ["shopwatch.core.a:3 imports shopwatch.api.b (core is below api)"]
    assert [b.where for b in broad_excepts(tmp_path)] == [str(Path("shopwatch/api/c.py")) + ":6"]


def test_the_checker_finds_a_class_name_defined_in_two_packages(tmp_path: Path) -> None:
    _write(tmp_path, {
        "__init__.py": "",
        "core/__init__.py": "",
        "core/records.py": "class Outcome:\n    pass\nclass _Row:\n    pass\n",
        "core/other.py": "class Outcome:\n    pass\n",  # the same package: its own business
        "store/__init__.py": "",
        "store/rows.py": "class Outcome:\n    pass\nclass _Row:\n    pass\n",
    })  # fmt: skip
    assert shared_class_names(tmp_path) == {
        "Outcome": ["shopwatch.core.other", "shopwatch.core.records", "shopwatch.store.rows"]
    }


@pytest.mark.parametrize("block", ["", "```\ncore\n```\n"])
def test_a_doc_without_a_layers_block_is_refused(tmp_path: Path, block: str) -> None:
    (tmp_path / "ARCH.md").write_text(block, encoding="utf-8")
    with pytest.raises(AssertionError, match="no ```layers block"):
        layers(tmp_path / "ARCH.md")
