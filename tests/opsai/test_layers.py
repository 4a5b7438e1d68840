"""The layers hold: no import against them, siblings only through their public modules, and no
import hidden inside a function to dodge a cycle. These read the source; no database."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("opsai", "audit", "accounts", "usecases", "kpis", "governance")
# What kpis and governance may import of each other: their public face.
SIBLING_PUBLIC = {"services", "selectors", "choices", "signals"}
SIBLINGS = {"kpis": "governance", "governance": "kpis"}


def _sources(app: str) -> list[Path]:
    return [p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts]


def _imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module]
    return []


def test_the_import_linter_contracts_are_kept():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_kpis_and_governance_use_each_other_only_through_their_public_modules():
    offences = []
    for app, sibling in SIBLINGS.items():
        for path in _sources(app):
            for node in ast.walk(ast.parse(path.read_text())):
                for module in _imported_modules(node):
                    parts = module.split(".")
                    if parts[0] == sibling and (len(parts) < 2 or parts[1] not in SIBLING_PUBLIC):
                        offences.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {module}")
    assert offences == []


def test_no_app_imports_inside_a_function():
    """Imports of opsai's own apps sit at the top of a module; only AppConfig.ready may wait."""
    offences = []
    for app in APPS:
        for path in _sources(app):
            for function in ast.walk(ast.parse(path.read_text())):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                if function.name == "ready" and path.name == "apps.py":
                    continue
                for node in ast.walk(function):
                    for module in _imported_modules(node):
                        if module.split(".")[0] in APPS:
                            offences.append(
                                f"{path.relative_to(ROOT)}:{node.lineno} imports {module}"
                            )
    assert offences == []
