"""Find the SQL and table definition files under `store/` that the package ships and applies.

They are the single source of the DDL: in a wheel they live inside the
package (``eventsourcing_kit/_store``), in a source checkout at the top of
the repository.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from eventsourcing_kit.errors import ConfigurationError

__all__ = ["sql_files", "store_file"]


def _store_root() -> Traversable:
    packaged = resources.files("eventsourcing_kit") / "_store"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "store"
    if checkout.is_dir():
        return checkout
    raise ConfigurationError(
        "the SQL files of eventsourcing-kit are missing (no eventsourcing_kit/_store in the "
        "installed package and no store/ beside it); reinstall the package"
    )


def sql_files(backend: str) -> list[tuple[str, str]]:
    """The ``*.sql`` files of one backend folder as (name, text), in name order."""
    folder = _store_root() / backend
    files = [item for item in folder.iterdir() if item.name.endswith(".sql")]
    return [(item.name, item.read_text(encoding="utf-8")) for item in sorted(files, key=_name)]


def store_file(backend: str, name: str) -> str:
    """The text of one definition file of a backend folder (``dynamodb/table.json``)."""
    item = _store_root() / backend / name
    if not item.is_file():
        raise ConfigurationError(
            f"the store definition {backend}/{name} is missing from eventsourcing-kit; "
            "reinstall the package"
        )
    return item.read_text(encoding="utf-8")


def _name(item: Traversable) -> str:
    return item.name
