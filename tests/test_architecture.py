"""The apps' import order (docs/architecture.md, "Which app may import which"), read from the source."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "allocation", "verification", "market", "gxregistry")
# What each app may import, besides itself and third-party code.
MAY_IMPORT = {
    "accounts": {"gxregistry"},
    "allocation": {"gxregistry", "accounts"},
    "verification": {"gxregistry", "accounts", "allocation"},  # reports are per facility; parameters
    "market": {"gxregistry", "accounts", "allocation"},  # hands the engine the FY's average price
}
KERNEL_MODULES = ("authorization", "errors", "querysets", "access", "audit", "api", "pdf", "importing", "pages", "exports",
                  "transitions", "storage", "notifications", "jobs", "replica", "public_cache", "uploads", "back_office")


def _imports(path: Path) -> set[str]:
    """Top-level packages of the project's apps that a module imports (anywhere in it)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names if name.split(".")[0] in APPS}
    return found


def _sources(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if "tests" in parts or "migrations" in parts:
            continue
        yield path


@pytest.mark.parametrize("app", sorted(MAY_IMPORT))
def test_an_app_imports_only_what_comes_before_it(app):
    wrong = {str(path.relative_to(ROOT)): sorted(_imports(path) - MAY_IMPORT[app] - {app})
             for path in _sources(app)}
    assert {path: apps for path, apps in wrong.items() if apps} == {}


def test_the_kernel_imports_no_app_but_the_roles_at_module_level():
    """Loading the kernel must not load an app's models or services (they import the kernel)."""
    wrong = {}
    for name in KERNEL_MODULES:
        tree = ast.parse((ROOT / "gxregistry" / f"{name}.py").read_text(encoding="utf-8"))
        modules = {node.module if isinstance(node, ast.ImportFrom) else alias.name
                   for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)
                   for alias in node.names if not getattr(node, "level", 0)}
        apps = {module for module in modules if module.split(".")[0] in APPS and module.split(".")[0] != "gxregistry"}
        if apps - {"accounts.roles"}:
            wrong[name] = sorted(apps)
    assert wrong == {}
