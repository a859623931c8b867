"""Tell whether tests, benchmarks, samples and docs code use eventsourcing-kit's public names only.

Usage: ``python scripts/check_public_names.py [PATH ...]``

They are written the way users write code, so they must hold to what users
may rely on: what the package's public faces export. This check fails on

- an import of a private module of eventsourcing_kit (a dotted component
  that starts with ``_``: ``eventsourcing_kit.stores._store``), or of a
  private name from it (``from eventsourcing_kit.stores import _ddl``);
- the same path written as a string (``"eventsourcing_kit.stores._ddl"``,
  as ``monkeypatch.setattr`` or ``importlib`` take it);
- a private attribute reached on anything but ``self`` or ``cls``
  (``store._driver``, ``pool._closed``), or named as a string to
  ``getattr``, ``setattr``, ``delattr``, ``hasattr`` or ``monkeypatch``.

Dunder names (``__init__``) are Python's, not private. It checks every
``*.py`` under tests/, benchmarks/ and samples/, and every ```python and
```py block of README.md and docs/*.md; or the PATHs given. Exit status 1
lists what it found, one ``file:line: what`` per line.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "eventsourcing_kit"
CODE_FOLDERS = ("tests", "benchmarks", "samples")
PAGES = ("README.md", "docs")
# A Markdown code block of Python; ```py blocks are fragments, checked all the same.
BLOCK = re.compile(r"^```(?:python|py)\n(.*?)^```", re.MULTILINE | re.DOTALL)
# A whole string that names a module or attribute path inside the package.
DOTTED = re.compile(rf"{PACKAGE}(\.[A-Za-z_][A-Za-z0-9_]*)+")
SELVES = frozenset({"self", "cls"})
ATTRIBUTE_FUNCTIONS = frozenset({"getattr", "setattr", "delattr", "hasattr"})
# monkeypatch.setattr(target, name, value) and monkeypatch.delattr(target, name).
ATTRIBUTE_METHODS = frozenset({"setattr", "delattr"})


def is_private(name: str) -> bool:
    """A name the convention keeps to its own module or class: ``_x``, not ``__x__``."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_path(dotted: str) -> bool:
    """Whether a dotted path inside the package goes through a private component."""
    parts = dotted.split(".")
    return parts[0] == PACKAGE and any(is_private(part) for part in parts[1:])


class Finder(ast.NodeVisitor):
    """Collects (line, what) for every use of a private name of the kind above."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []

    def report(self, node: ast.AST, what: str) -> None:
        self.found.append((getattr(node, "lineno", 0), what))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if private_path(alias.name):
                self.report(node, f"imports the private module {alias.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level == 0 and module.split(".")[0] == PACKAGE:
            if private_path(module):
                self.report(node, f"imports from the private module {module}")
            for alias in node.names:
                if is_private(alias.name):
                    self.report(node, f"imports the private name {alias.name} from {module}")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        owner = node.value
        if is_private(node.attr) and not (isinstance(owner, ast.Name) and owner.id in SELVES):
            self.report(node, f"reaches the private attribute .{node.attr}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        function = node.func
        named = isinstance(function, ast.Name) and function.id in ATTRIBUTE_FUNCTIONS
        method = isinstance(function, ast.Attribute) and function.attr in ATTRIBUTE_METHODS
        if (named or method) and len(node.args) >= 2:
            name = node.args[1]
            if (
                isinstance(name, ast.Constant)
                and isinstance(name.value, str)
                and is_private(name.value)
            ):
                self.report(node, f"reaches the private attribute {name.value!r} by name")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, str) and DOTTED.fullmatch(value) and private_path(value):
            self.report(node, f"names the private path {value!r}")


def python_files(paths: list[Path]) -> Iterator[tuple[Path, int, str]]:
    """(file, line of its first line, source) for each Python source to check."""
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                if found.suffix in (".py", ".md") and ".venv" not in found.parts:
                    yield from python_files([found])
        elif path.suffix == ".py":
            yield path, 1, path.read_text(encoding="utf-8")
        elif path.suffix == ".md":
            text = path.read_text(encoding="utf-8")
            for match in BLOCK.finditer(text):
                yield path, text.count("\n", 0, match.start(1)) + 1, match.group(1)


def problems(paths: list[Path]) -> list[str]:
    """Every finding as ``file:line: what``, in file order."""
    lines: list[str] = []
    for path, first, source in python_files(paths):
        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        try:
            # Docs blocks may await at top level, as in an asyncio REPL.
            tree = compile(
                source, str(path), "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
            )
        except SyntaxError as error:
            lines.append(
                f"{where}:{first + (error.lineno or 1) - 1}: cannot be parsed: {error.msg}"
            )
            continue
        finder = Finder()
        finder.visit(tree)
        lines += [f"{where}:{first + line - 1}: {what}" for line, what in sorted(finder.found)]
    return lines


def default_paths() -> list[Path]:
    paths = [ROOT / folder for folder in CODE_FOLDERS]
    return [*paths, ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: all)")
    arguments = parser.parse_args(argv)
    paths = [path.resolve() for path in arguments.paths] or default_paths()
    found = problems(paths)
    for line in found:
        print(line)
    if found:
        print(
            f"{len(found)} use(s) of private names of eventsourcing_kit or of private attributes: "
            "use the public faces (eventsourcing_kit, .stores, .stores.driver, .stores.<backend>, "
            ".serialization, .testing), or give the unit a documented public name there",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
