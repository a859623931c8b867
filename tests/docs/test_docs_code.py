"""Every ```python block of the README and docs/ (subfolders too) runs as written.

Blocks fenced as ```py are fragments (they need context) and are not run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks() -> list[pytest.param]:  # type: ignore[valid-type]
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for number, match in enumerate(BLOCK.finditer(text), start=1):
            line = text.count("\n", 0, match.start()) + 1
            found.append(
                pytest.param(match.group(1), id=f"{page.relative_to(ROOT)}:{line}#{number}")
            )
    return found


@pytest.mark.parametrize("code", _blocks())
def test_the_code_block_runs(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # files a block creates land in a temporary folder
    exec(compile(code, "<docs>", "exec"), {"__name__": "__main__"})
