"""The package's layout as docs/ARCHITECTURE.md describes it: one name, one thing, and each package's
docstring naming exactly the modules it holds.

Why it exists: two modules with the same file name, or two classes with the same name, mislead grep
and completion; a package docstring listing modules that are gone misleads a reader. Both drift
silently as the code grows, so a test keeps them true.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "inspector"


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py"))


def packages() -> list[Path]:
    return sorted(p.parent for p in PACKAGE.rglob("__init__.py"))


def _relative(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def test_no_two_modules_share_a_file_name() -> None:
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in modules():
        by_name[path.name].append(_relative(path))
    assert {name: paths for name, paths in by_name.items() if len(paths) > 1} == {}


def test_no_two_classes_share_a_name() -> None:
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                by_name[node.name].append(f"{_relative(path)}:{node.lineno}")
    assert {name: where for name, where in by_name.items() if len(where) > 1} == {}


def named_in_docstring(package: Path) -> set[str]:
    """The modules and subpackages a package's docstring names, written `name.py` and `name/`."""
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    return set(re.findall(r"`(\w+)(?:\.py|/)`", doc))


def held(package: Path) -> set[str]:
    found = {p.stem for p in package.glob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    return found | {p.name for p in package.iterdir() if (p / "__init__.py").is_file()}


@pytest.mark.parametrize("package", packages(), ids=_relative)
def test_each_package_docstring_names_exactly_its_modules(package: Path) -> None:
    assert named_in_docstring(package) == held(package)
