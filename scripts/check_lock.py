"""Tell whether requirements/constraints.txt pins every dependency pyproject.toml names.

Usage: ``python scripts/check_lock.py [--warn]``

A dependency added to pyproject.toml without ``make lock`` installs at whatever
version is newest that day, silently: the install stays green but is no longer
reproducible. This check is offline and instant (names only; ``make lock``
does the resolving), so the install and ``make lint`` can afford to run it.
Exit status 1 names the unpinned packages; with ``--warn`` it only prints them.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"
TOOLS = ROOT / "requirements" / "tools.in"

# A requirement's name: what comes before any extras, version or marker.
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _normalize(name: str) -> str:
    # PEP 503: case and runs of -, _ and . do not distinguish names.
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(requirements: Iterable[str]) -> set[str]:
    names: set[str] = set()
    for line in requirements:
        line = line.split("#", 1)[0]
        match = _NAME.match(line)
        if match:
            names.add(_normalize(match.group(1)))
    return names


def unpinned() -> list[str]:
    """Names that pyproject.toml or tools.in require and the lock does not pin."""
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    wanted = _names(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        wanted |= _names(extra)
    wanted |= _names(TOOLS.read_text(encoding="utf-8").splitlines())
    wanted.discard(_normalize(project["name"]))  # the extras refer to the project itself
    pinned = _names(
        line for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines() if "==" in line
    )
    return sorted(wanted - pinned)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warn", action="store_true", help="report, but exit 0")
    args = parser.parse_args(argv)
    missing = unpinned()
    if not missing:
        return 0
    level = "warning" if args.warn else "error"
    print(
        f"{level}: {CONSTRAINTS.relative_to(ROOT)} does not pin {', '.join(missing)}, "
        "which pyproject.toml requires: run `make lock` and commit the result.",
        file=sys.stderr,
    )
    return 0 if args.warn else 1


if __name__ == "__main__":
    sys.exit(main())
