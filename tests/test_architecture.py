"""The floor plan of docs/architecture.md, checked against the code: domain modules import
only apps below their own, no cycle runs between the domain apps, no product module
imports the demo, no view module imports another app's views, and no project module is
imported inside a function (the sign of a dodged cycle), apps' ready() aside.

The graph is read from the source: module-level and function-level imports, relative
imports resolved, and dotted strings naming a project module (import_string targets,
task names), so an import hidden in a function or a string still counts.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Bottom to top: an app's domain modules may import the apps before it in this list.
LAYERS = ["oms", "accounts", "channels", "catalog", "orders", "automations", "demo"]
PRODUCT_APPS = LAYERS[:-1]
# Modules that compose apps for people and clients; they may import any app's domain.
INTERFACE_NAMES = {
    "views",
    "api",
    "api_urls",
    "urls",
    "forms",
    "serializers",
    "admin",
    "settings",
    "wsgi",
    "asgi",
}
INTERFACE_PACKAGES = {"templatetags", "management", "api"}


@dataclass(frozen=True)
class Edge:
    source: str  # dotted module
    target: str  # dotted module or module.attribute
    line: int
    in_function: bool


def _production_files():
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts or path.name == "conftest.py":
                continue
            yield path


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _edges(path: Path, module: str | None = None) -> list[Edge]:
    module = module or _module_name(path)
    tree = ast.parse(path.read_text(), filename=str(path))
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function.update(id(n) for n in ast.walk(node) if n is not node)
    edges = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, path.name == "__init__.py", node)
            targets = [f"{base}.{alias.name}" if alias.name != "*" else base for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _names_a_module(node.value):
            # import_string("orders.retention.run"), task names, registry paths.
            targets = [node.value]
        edges += [Edge(module, t, node.lineno, id(node) in in_function) for t in targets]
    return [e for e in edges if e.target.split(".")[0] in LAYERS]


def _names_a_module(value: str) -> bool:
    """A dotted path to a project module or to a name in one ("orders.retention.run").
    Model references ("channels.Channel") name no module: Django's registry resolves
    them, and docs/architecture.md lists the foreign keys that point up."""
    parts = value.split(".")
    if len(parts) < 2 or parts[0] not in LAYERS or not all(p.isidentifier() for p in parts):
        return False
    for end in range(len(parts), 1, -1):
        candidate = ROOT.joinpath(*parts[:end])
        if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
            return True
    return False


def _is_interface(module: str) -> bool:
    parts = module.split(".")
    return parts[-1] in INTERFACE_NAMES or any(p in INTERFACE_PACKAGES for p in parts[1:-1])


def _app(module: str) -> str:
    return module.split(".")[0]


def _graph() -> list[Edge]:
    return [edge for path in _production_files() for edge in _edges(path)]


def test_domain_modules_import_only_apps_below_their_own():
    wrong = [
        f"{e.source}:{e.line} imports {e.target}"
        for e in _graph()
        if not _is_interface(e.source) and LAYERS.index(_app(e.target)) > LAYERS.index(_app(e.source))
    ]
    assert wrong == []


def test_no_cycle_between_the_domain_apps():
    apps = {
        (_app(e.source), _app(e.target))
        for e in _graph()
        if not _is_interface(e.source) and _app(e.source) != _app(e.target)
    }
    below = {app: {b for a, b in apps if a == app} for app in LAYERS}

    def reaches(start, goal, seen=()):
        return any(b == goal or (b not in seen and reaches(b, goal, (*seen, b))) for b in below[start])

    assert [app for app in LAYERS if reaches(app, app)] == []


def test_no_product_module_imports_the_demo():
    assert [
        f"{e.source}:{e.line}"
        for e in _graph()
        if _app(e.source) in PRODUCT_APPS and _app(e.target) == "demo"
    ] == []


def test_no_view_imports_another_apps_views():
    wrong = [
        f"{e.source}:{e.line} imports {e.target}"
        for e in _graph()
        if _app(e.source) != _app(e.target) and ".views" in f".{e.target.split('.', 1)[-1]}"
    ]
    assert wrong == []


def test_no_project_module_is_imported_inside_a_function():
    """apps.py's ready() is where Django wants receivers connected; nothing else waits."""
    wrong = [
        f"{e.source}:{e.line} imports {e.target}"
        for e in _graph()
        if e.in_function and not e.source.endswith(".apps")
    ]
    assert wrong == []


def test_the_checker_sees_lazy_imports_and_import_string_targets(tmp_path):
    """The graph is only as good as its reading: a function-level import and a dotted
    string both count as edges."""
    path = tmp_path / "probe.py"
    path.write_text(
        "X = 'automations.tasks.execute_run'\nY = 'channels.Channel'\n\n"
        "def f():\n    from orders import workflow\n    return workflow\n"
    )
    edges = _edges(path, module="channels.probe")
    assert {(e.target, e.in_function) for e in edges} == {
        ("automations.tasks.execute_run", False),
        ("orders.workflow", True),
    }
