"""scripts/check_public_names.py: what counts as reaching past the public names."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_public_names.py"


@pytest.fixture(scope="module")
def check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_public_names", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def found(check: ModuleType, tmp_path: Path, source: str, *, name: str = "test_x.py") -> list[str]:
    """What the check reports for a file holding `source`, without the file's name."""
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    return [line.split(":", 2)[2].strip() for line in check.problems([path])]


@pytest.mark.parametrize(
    "source",
    [
        "import eventsourcing_kit.stores._store\n",
        "from eventsourcing_kit.stores._store import EventStore\n",
        "from eventsourcing_kit.stores import _ddl\n",
        "from eventsourcing_kit import _store\n",
    ],
)
def test_importing_a_private_module_or_name_of_the_package_is_found(
    check: ModuleType, tmp_path: Path, source: str
) -> None:
    assert len(found(check, tmp_path, source)) == 1


def test_public_imports_pass(check: ModuleType, tmp_path: Path) -> None:
    source = (
        "import eventsourcing_kit\n"
        "from eventsourcing_kit.stores.driver import prepare_write\n"
        "from eventsourcing_kit.stores.postgres import PostgresEventStore\n"
        "from _pytest.monkeypatch import MonkeyPatch\n"  # private modules of others: theirs
    )
    assert found(check, tmp_path, source) == []


def test_a_private_path_of_the_package_written_as_a_string_is_found(
    check: ModuleType, tmp_path: Path
) -> None:
    source = 'monkeypatch.setattr("eventsourcing_kit.stores._ddl._store_root", root)\n'
    assert found(check, tmp_path, source) == [
        "names the private path 'eventsourcing_kit.stores._ddl._store_root'"
    ]


@pytest.mark.parametrize("source", ["store._driver\n", "store.pool._closed\n", "f()._x\n"])
def test_a_private_attribute_of_another_object_is_found(
    check: ModuleType, tmp_path: Path, source: str
) -> None:
    assert found(check, tmp_path, source) == [
        f"reaches the private attribute .{source.rsplit('.', 1)[1].strip()}"
    ]


def test_a_chain_through_self_is_found_past_self(check: ModuleType, tmp_path: Path) -> None:
    assert found(check, tmp_path, "self._store._driver\n") == [
        "reaches the private attribute ._driver"
    ]


@pytest.mark.parametrize("source", ["self._store\n", "cls._registry\n", "store.__class__\n"])
def test_own_private_attributes_and_dunders_pass(
    check: ModuleType, tmp_path: Path, source: str
) -> None:
    assert found(check, tmp_path, source) == []


@pytest.mark.parametrize(
    "source",
    [
        'getattr(store, "_driver")\n',
        'hasattr(store, "_driver")\n',
        'monkeypatch.setattr(store, "_driver", fake)\n',
        'monkeypatch.delattr(store, "_driver")\n',
    ],
)
def test_a_private_attribute_named_as_a_string_is_found(
    check: ModuleType, tmp_path: Path, source: str
) -> None:
    assert found(check, tmp_path, source) == ["reaches the private attribute '_driver' by name"]


def test_python_blocks_of_docs_are_checked_at_their_line(check: ModuleType, tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n```python\nimport eventsourcing_kit\n```\n\n"
        "```py\nawait store._driver.close()\n```\n\n```text\nstate._start_kit()\n```\n",
        encoding="utf-8",
    )
    assert [line.split(":", 1)[1] for line in check.problems([page])] == [
        "8: reaches the private attribute ._driver"
    ]


def test_code_that_cannot_be_parsed_is_reported(check: ModuleType, tmp_path: Path) -> None:
    [problem] = found(check, tmp_path, "def broken(:\n")
    assert problem.startswith("cannot be parsed")
