"""The code's layout, checked: no import cycles, no routes in package ``__init__`` files, no
module past 600 lines, and a start that leaves the drawing libraries for the first drawing
(docs/development.md explains the layout)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("integrity", "surveys", "crypto", "admin")
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _type_checking(test: ast.expr) -> bool:
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _executed(tree: ast.AST) -> list[ast.AST]:
    """Every node that can run: imports under ``if TYPE_CHECKING:`` only serve the checker."""
    found: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        found.append(node)
        if isinstance(node, ast.If) and _type_checking(node.test):
            stack.extend(node.orelse)
        else:
            stack.extend(ast.iter_child_nodes(node))
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports, at module level and inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in _executed(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            # "import a.b.c" runs a, a.b and a.b.c: each is a dependency.
            parts = target.split(".")
            for end in range(1, len(parts) + 1):
                candidate = ".".join(parts[:end])
                if candidate in known and candidate != name:
                    out.add(candidate)
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    modules = _modules()
    known = set(modules)
    graph = {name: _imports(name, path, known) for name, path in modules.items()}
    # A package's __init__ is run before any of its modules; that edge is not a cycle.
    for name in graph:
        graph[name] = {other for other in graph[name] if not name.startswith(other + ".")}
    assert _cycles(graph) == []


def test_no_routes_in_package_init_files() -> None:
    offenders = [
        str(path.relative_to(ROOT)) for path in _modules().values()
        if path.name == "__init__.py"
        and any(isinstance(node, ast.Attribute) and node.attr in {"route", "add_url_rule", "get",
                                                                 "post"}
                and isinstance(node.value, ast.Name) and node.value.id == "bp"
                for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))
    ]
    assert offenders == []


def test_no_module_past_600_lines() -> None:
    long = {str(path.relative_to(ROOT)): n for path in _modules().values()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_a_server_or_command_starts_without_matplotlib_or_scipy_stats(tmp_path: Path) -> None:
    # Every server and every `integrity` command builds the application: matplotlib loads with
    # the first chart, report, poster or slips drawn, and the estimates need only
    # scipy.special. Together the two took 1.2 s of each start.
    start = ("import sys\n"
             "from integrity.app import create_app\n"
             "from integrity.config import Settings\n"
             "environ = {'INTEGRITY_DATA_DIR': sys.argv[1], 'INTEGRITY_SECRET_KEY': 'k'}\n"
             "create_app(Settings.from_env(environ=environ))\n"
             "print(sorted(m for m in sys.modules\n"
             "             if m.split('.')[0] == 'matplotlib' or m.startswith('scipy.stats')))\n")
    loaded = subprocess.run([sys.executable, "-c", start, str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=600, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout
