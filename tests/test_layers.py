"""Imports run one way: faces -> services -> lower -> base, and packages form no cycle.

Every module under ``kroma_kit`` is parsed with :mod:`ast`; every import counts,
including imports inside functions and under ``TYPE_CHECKING``: an import hidden in a
function is still a dependency, and hiding it is how cycles creep back in.

Adding a package? Put its name in ``LAYERS`` below. A top-level package or module not
listed is a *service* by default (``knowledge``, ``characters``, ``continuity``,
``copilot``, ``sync`` ...).
"""

from __future__ import annotations

import ast
from pathlib import Path

import kroma_kit

# The layer table: higher number = higher layer. A module may import its own layer
# or any lower one, never a higher one. Names are the first part under ``kroma_kit``
# ("" is ``kroma_kit/__init__.py``).
LAYERS: dict[str, int] = {
    # base
    "": 0,
    "errors": 0,
    "config": 0,
    "settings_models": 0,
    "workspace": 0,
    "imaging": 0,
    "clock": 0,
    "processes": 0,
    "postgres": 0,
    "sqlite_held": 0,
    # lower: records, backends, files, pictures
    "catalog": 1,
    "providers": 1,
    "storage": 1,
    "figures": 1,
    # services (and anything not listed)
    "pipeline": 2,
    "postprocess": 2,
    "analytics": 2,
    "manifest_edit": 2,
    "project_setup": 2,
    "samples": 2,
    # faces
    "cli": 3,
    "widgets": 3,
    "dashboards": 3,
    "dashboards_server": 3,
    "lab_server": 3,
    "demo": 3,
    "server": 3,
    "api": 3,
    "__main__": 3,
}
SERVICE = 2
LAYER_NAMES = {0: "base", 1: "lower", 2: "service", 3: "face"}

# Packages whose top-level modules must not import each other in a circle either
# (the cycles the House issue removed).
MODULE_CYCLE_PACKAGES = ("pipeline", "analytics", "catalog", "postprocess", "storage")

ROOT = Path(kroma_kit.__file__).parent


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str | None = None) -> list[tuple[str, int]]:
    """Every ``kroma_kit`` module named by an import in ``path`` (the module ``module``, by default
    the one at ``path`` in the package), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = module or _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "kroma_kit"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "kroma_kit":
                continue
            if node.module is None or target == "kroma_kit":
                # ``from . import x`` / ``from kroma_kit import x``: x may be a submodule
                found += [(f"{target}.{a.name}", node.lineno) for a in node.names]
            else:
                found.append((target, node.lineno))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value.startswith("kroma_kit"):
                found.append((arg.value, node.lineno))
    return found


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _existing_top(module: str) -> str:
    """The top-level unit of ``module``; ``kroma_kit.x`` where x is not a module is the package root."""
    top = _top(module)
    if top and not ((ROOT / top).is_dir() or (ROOT / f"{top}.py").exists()):
        return ""
    return top


def _layer(top: str) -> int:
    return LAYERS.get(top, SERVICE)


def _all_edges() -> list[tuple[str, str, str, int]]:
    """(importer module, imported module, file, line) for every import in the package."""
    edges = []
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        rel = path.relative_to(ROOT.parent)
        edges += [(module, target, str(rel), line) for target, line in _imports(path)]
    return edges


EDGES = _all_edges()


def _find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _cycle_report(graph_edges: list[tuple[str, str, str, int]]) -> list[str]:
    graph: dict[str, set[str]] = {}
    for a, b, _, _ in graph_edges:
        graph.setdefault(a, set()).add(b)
    problems = []
    for comp in _find_cycles(graph):
        members = set(comp)
        lines = [f"{f}:{ln} {a} -> {b}" for a, b, f, ln in graph_edges if a in members and b in members]
        problems.append("cycle " + " <-> ".join(comp) + ":\n    " + "\n    ".join(sorted(set(lines))))
    return problems


def test_the_parser_sees_imports_inside_functions_and_type_checking(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from kroma_kit.cli import main\n"
        "def f():\n    from ..dashboards import figures\n    import kroma_kit.widgets\n",
        encoding="utf-8")
    found = sorted(_imports(probe, "kroma_kit.catalog.probe"))
    assert found == [("kroma_kit.cli", 3), ("kroma_kit.dashboards", 5), ("kroma_kit.widgets", 6)]
    assert all(_layer(_top(target)) > _layer("catalog") for target, _ in found)


def test_every_top_level_unit_has_a_known_layer_or_is_a_service() -> None:
    units = {p.stem if p.suffix == ".py" else p.name for p in ROOT.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    assert {"catalog", "pipeline", "cli"} <= units
    assert all(_layer(u) in LAYER_NAMES for u in units | {""})


def test_no_module_imports_a_higher_layer() -> None:
    upward = []
    for importer, target, file, line in EDGES:
        src, dst = _existing_top(importer), _existing_top(target)
        if _layer(dst) > _layer(src):
            upward.append(
                f"{file}:{line} {importer} ({LAYER_NAMES[_layer(src)]}) imports {target} ({LAYER_NAMES[_layer(dst)]})"
            )
    assert not upward, "upward imports:\n  " + "\n  ".join(upward)


def test_packages_do_not_import_each_other_in_a_circle() -> None:
    edges = [
        (_existing_top(a), _existing_top(b), f, ln)
        for a, b, f, ln in EDGES
        if _existing_top(a) != _existing_top(b) and _existing_top(a) and _existing_top(b)
    ]
    problems = _cycle_report(edges)
    assert not problems, "\n".join(problems)


def test_modules_inside_a_package_do_not_import_each_other_in_a_circle() -> None:
    problems = []
    for package in MODULE_CYCLE_PACKAGES:
        prefix = f"kroma_kit.{package}."

        def unit(module: str, prefix: str = prefix) -> str | None:
            if not module.startswith(prefix):
                return None
            return module[len(prefix) :].split(".")[0]

        edges = [
            (unit(a), unit(b), f, ln)
            for a, b, f, ln in EDGES
            if unit(a) and unit(b) and unit(a) != unit(b)
        ]
        problems += [f"[{package}] {p}" for p in _cycle_report(edges)]  # type: ignore[arg-type]
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- where SQL lives

# SQL lives in the catalog, in the module that owns the table. Exempt: ``analytics`` (DuckDB SQL
# over its own snapshot of the catalog, not the catalog's tables) and ``workspace`` (the pragmas
# every catalog connection is opened with), ``sqlite_held`` (the pragma a held connection is lent
# read-only with) and ``postgres`` (the dialect layer under those connections).
SQL_HOMES = ("catalog", "analytics", "workspace", "sqlite_held", "postgres")
SQL_KEYWORDS = ("SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "ALTER", "DROP", "WITH", "BEGIN",
                "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA", "ATTACH", "VACUUM")
EXECUTE_METHODS = ("execute", "executemany", "executescript")


def _sql_calls(path: Path) -> list[tuple[int, str]]:
    """``(line, first words)`` of every ``.execute(...)`` in ``path`` whose first argument is a
    string (or f-string) that starts with an SQL keyword."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in EXECUTE_METHODS and node.args):
            continue
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            text = arg.value
        elif isinstance(arg, ast.JoinedStr):
            text = "".join(v.value for v in arg.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
        else:
            continue
        words = text.strip().split()
        if words and words[0].upper() in SQL_KEYWORDS:
            found.append((node.lineno, " ".join(words[:4])))
    return sorted(found)


def test_the_sql_finder_sees_strings_and_f_strings(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "conn.execute('SELECT 1')\n"
        "conn.execute(f'  update t SET x = {x}')\n"
        "conn.executemany(sql, rows)\n"
        "pool.execute(task)\n"
        "conn.execute('BEGIN IMMEDIATE')\n",
        encoding="utf-8")
    assert [line for line, _ in _sql_calls(probe)] == [1, 2, 5]


def test_sql_lives_in_the_catalog() -> None:
    strays = []
    for path in sorted(ROOT.rglob("*.py")):
        if _existing_top(_module_name(path)) in SQL_HOMES:
            continue
        strays += [f"{path.relative_to(ROOT.parent)}:{line} {words} ..." for line, words in _sql_calls(path)]
    assert not strays, "SQL outside kroma_kit/catalog (move it into the catalog module of its table):\n  " + \
        "\n  ".join(strays)
