"""Static rules for how the modules of ``course_lib`` import each other, and how long they may grow.

Every ``.py`` file under ``course_lib/`` is parsed with :mod:`ast` (nothing is imported), and:

(a) the module-level imports between course_lib modules form no cycle (each cycle is reported as a chain);
(b) no module imports a private name (``_x``) from another course_lib module, nor reads ``module._x`` from one;
(c) course_lib never imports the maintainer package ``course_tools`` (only ``course_lib/__main__.py`` may);
(d) no module is over 500 lines and no function over 60 lines, except the declarative tables allowed below.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PACKAGE = "course_lib"
ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / PACKAGE
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
TOOLS_PACKAGE = "course_tools"
TOOLS_ALLOWED_IN = {"course_lib/__main__.py"}

# Long on purpose: declarative tables (data written as code), not logic. "path::qualified.name": reason.
LONG_FUNCTION_ALLOWED: dict[str, str] = {}
LONG_MODULE_ALLOWED: dict[str, str] = {}


# ----------------------------------------------------------------------------------------------- the modules
@dataclass
class Module:
    """One parsed course_lib file: its dotted name, path relative to the repository, and syntax tree."""

    name: str
    rel: str
    tree: ast.Module
    lines: int
    is_package: bool
    imports: list[tuple[str, int]] = field(default_factory=list)  # module-level (target, line)


def _module_name(path: Path) -> tuple[str, bool]:
    """The dotted module name of ``path`` and whether it is a package ``__init__``."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_package else parts), is_package


@lru_cache(maxsize=1)
def modules() -> dict[str, Module]:
    """Every course_lib module by dotted name, parsed, with its module-level imports filled in."""
    found = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        name, is_package = _module_name(path)
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=str(path))
        found[name] = Module(name, path.relative_to(ROOT).as_posix(), tree, len(text.splitlines()), is_package)
    for module in found.values():
        for node in _module_level_imports(module.tree.body):
            module.imports += [(t, node.lineno) for t, _ in _targets(node, module, found)]
    return found


def _is_type_checking(node: ast.If) -> bool:
    """``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``): imports there never run."""
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """The import statements that run when the module is imported (not inside functions or TYPE_CHECKING)."""
    out: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append(node)
        elif isinstance(node, ast.If):
            out += [] if _is_type_checking(node) else _module_level_imports(node.body) + _module_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                out += _module_level_imports(block)
        elif isinstance(node, (ast.With, ast.ClassDef)):
            out += _module_level_imports(node.body)
    return out


def _absolute(node: ast.ImportFrom, module: Module) -> str:
    """The absolute module name that ``from ... import`` names, relative levels resolved."""
    if node.level == 0:
        return node.module or ""
    parts = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(node: ast.Import | ast.ImportFrom, module: Module, known: dict[str, Module]) -> list[tuple[str, str | None]]:
    """The course_lib modules an import statement loads, each with the imported name (None for ``import x``)."""
    if isinstance(node, ast.Import):
        return [(a.name, None) for a in node.names if a.name in known]
    base = _absolute(node, module)
    out = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        if sub in known:  # `from . import training` loads the submodule
            out.append((sub, None))
        elif base in known:
            out.append((base, alias.name))
    return out


# ----------------------------------------------------------------------------------------------- (a) cycles
def _cycle_through(start: str, graph: dict[str, set[str]], members: set[str]) -> list[str]:
    """One shortest import chain from ``start`` back to itself inside ``members`` (breadth-first)."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                return paths[node] + [start]
            if nxt not in paths:
                paths[nxt] = paths[node] + [nxt]
                queue.append(nxt)
    return []


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components of ``graph`` (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def import_cycles() -> list[str]:
    """Each module-level import cycle among course_lib modules, as 'a (file:line) -> b (file:line) -> a'."""
    mods = modules()
    graph = {name: {t for t, _ in m.imports if t != name} for name, m in mods.items()}
    reports = []
    for component in _strongly_connected(graph):
        if len(component) < 2:
            continue
        chain = _cycle_through(min(component), graph, component)
        steps = []
        for here, there in zip(chain, chain[1:]):
            line = min(ln for t, ln in mods[here].imports if t == there)
            steps.append(f"{here} ({mods[here].rel}:{line})")
        more = f" [cycle group: {', '.join(sorted(component))}]" if len(component) > len(chain) - 1 else ""
        reports.append(" -> ".join(steps + [chain[-1]]) + more)
    return sorted(reports)


def test_no_import_cycles():
    cycles = import_cycles()
    assert not cycles, "module-level import cycles in course_lib:\n" + "\n".join(cycles)


# ----------------------------------------------------------------------------------------------- (b) private
def _is_private(name: str) -> bool:
    """``_x`` is private; dunders like ``__version__`` are not."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_aliases(module: Module, node: ast.Import | ast.ImportFrom, known: dict[str, Module]) -> dict[str, str]:
    """Local names that an import binds to course_lib modules (``import course_lib.x as y`` -> {'y': ...})."""
    bound = {}
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] == PACKAGE:
                bound[alias.asname or PACKAGE] = alias.name if alias.asname else PACKAGE
        return bound
    base = _absolute(node, module)
    for alias in node.names:
        if f"{base}.{alias.name}" in known:
            bound[alias.asname or alias.name] = f"{base}.{alias.name}"
    return bound


def _attribute_module(node: ast.expr, aliases: dict[str, str], known: dict[str, Module]) -> str | None:
    """The course_lib module an expression like ``training`` or ``course_lib.training`` names, if any."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        parent = _attribute_module(node.value, aliases, known)
        if parent and f"{parent}.{node.attr}" in known:
            return f"{parent}.{node.attr}"
    return None


def private_imports() -> list[str]:
    """Every place a course_lib module takes a private name from another course_lib module, as file:line."""
    mods = modules()
    problems = []
    for module in mods.values():
        aliases: dict[str, str] = {}
        for node in ast.walk(module.tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                aliases.update(_module_aliases(module, node, mods))
                for target, name in _targets(node, module, mods):
                    private = name if name and _is_private(name) else None
                    if private is None and name is None and _is_private(target.rsplit(".", 1)[-1]):
                        private = target
                    if private and target != module.name:
                        problems.append(f"{module.rel}:{node.lineno}: imports private {private!r} from {target}")
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Attribute) and _is_private(node.attr):
                owner = _attribute_module(node.value, aliases, mods)
                if owner and owner != module.name:
                    problems.append(f"{module.rel}:{node.lineno}: uses private {owner}.{node.attr}")
    return sorted(set(problems))


def test_no_private_cross_module_imports():
    problems = private_imports()
    assert not problems, "private names used across course_lib modules (make them public or move them):\n" + "\n".join(problems)


# ----------------------------------------------------------------------------------------------- (c) course_tools
def tools_imports() -> list[str]:
    """Every import of ``course_tools`` in course_lib outside the files allowed to, as file:line."""
    problems = []
    for module in modules().values():
        if module.rel in TOOLS_ALLOWED_IN:
            continue
        for node in ast.walk(module.tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            if any(n.split(".")[0] == TOOLS_PACKAGE for n in names):
                problems.append(f"{module.rel}:{node.lineno}: imports {TOOLS_PACKAGE}")
    return problems


def test_course_lib_does_not_import_course_tools():
    problems = tools_imports()
    assert not problems, f"course_lib must not depend on {TOOLS_PACKAGE} (only {sorted(TOOLS_ALLOWED_IN)} may):\n" + "\n".join(problems)


# ----------------------------------------------------------------------------------------------- (d) sizes
def _functions(tree: ast.AST, prefix: str = "") -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method in ``tree`` with its qualified name (``Class.method``, ``outer.inner``)."""
    out = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.append((prefix + node.name, node))
            out += _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            out += _functions(node, f"{prefix}{node.name}.")
        else:
            out += _functions(node, prefix)
    return out


def long_code() -> list[str]:
    """Modules over MAX_MODULE_LINES and functions over MAX_FUNCTION_LINES (allow-lists aside), as file:line."""
    problems = []
    for module in modules().values():
        if module.lines > MAX_MODULE_LINES and module.rel not in LONG_MODULE_ALLOWED:
            problems.append(f"{module.rel}:1: module has {module.lines} lines (limit {MAX_MODULE_LINES})")
        for qualname, node in _functions(module.tree):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES and f"{module.rel}::{qualname}" not in LONG_FUNCTION_ALLOWED:
                problems.append(f"{module.rel}:{node.lineno}: {qualname} has {length} lines (limit {MAX_FUNCTION_LINES})")
    return problems


def test_no_long_modules_or_functions():
    problems = long_code()
    assert not problems, "split these (or, for a declarative table, allow-list it with a reason):\n" + "\n".join(problems)


def test_allow_lists_are_current():
    """Each allow-list entry names code that exists and is still long, and gives a reason."""
    mods = {m.rel: m for m in modules().values()}
    stale = []
    for key, reason in LONG_FUNCTION_ALLOWED.items():
        rel, _, qualname = key.partition("::")
        funcs = dict(_functions(mods[rel].tree)) if rel in mods else {}
        node = funcs.get(qualname)
        if not reason.strip() or node is None or node.end_lineno - node.lineno + 1 <= MAX_FUNCTION_LINES:
            stale.append(key)
    for rel, reason in LONG_MODULE_ALLOWED.items():
        if not reason.strip() or rel not in mods or mods[rel].lines <= MAX_MODULE_LINES:
            stale.append(rel)
    assert not stale, "allow-list entries without a reason, or no longer needed:\n" + "\n".join(stale)
