"""The demo stands beside the product: no product module imports it (nor the tests-only
helpers), not even inside a function, so the product ships and runs without demo/."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("oms", "accounts", "channels", "catalog", "orders", "automations")
DEV_ONLY = ("demo", "tests")


def imported_modules(source: str) -> set[str]:
    """Absolute modules a file imports anywhere in it, including `import_module` and
    `import_string` targets written as literals."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in ("import_module", "import_string") and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
    return found


def dev_imports(root: Path, packages=PRODUCT) -> list[str]:
    """`path: module` for each import of a development-only package by production code."""
    offences = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "tests" in path.relative_to(root).parts:
                continue
            for module in imported_modules(path.read_text()):
                if module.split(".")[0] in DEV_ONLY:
                    offences.append(f"{path.relative_to(root)}: {module}")
    return offences


def test_no_product_module_imports_the_demo_or_the_test_helpers():
    assert dev_imports(ROOT) == []


def test_the_check_sees_function_level_and_import_string_imports(tmp_path):
    (tmp_path / "channels" / "tests").mkdir(parents=True)
    (tmp_path / "channels" / "connectors.py").write_text(
        "def connect():\n    from demo.sandbox.store import SandboxStore\n    return SandboxStore\n"
    )
    (tmp_path / "channels" / "registry.py").write_text(
        "from django.utils.module_loading import import_string\nSEED = import_string('demo.data.seed')\n"
    )
    (tmp_path / "channels" / "tests" / "test_x.py").write_text("import demo.data\n")
    assert dev_imports(tmp_path, packages=("channels",)) == [
        "channels/connectors.py: demo.sandbox.store",
        "channels/registry.py: demo.data.seed",
    ]
