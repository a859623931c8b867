"""What the previous release shipped in store/, and a way to change a file after the fact.

Import it from any test folder (``from migration_support import ...``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eventsourcing_kit.stores import _ddl

__all__ = ["RELEASED", "edit_after_release", "released_files", "use_store_copy"]

# The files of the previous release, each with the sha256 of its text: a
# released migration is never edited, and a database made by that release
# holds exactly what these made.
RELEASED: dict[str, dict[str, str]] = {
    "postgres": {
        "0001_schema.sql": "bc039c04708cbe5764b6465a7f9ea0323447f0fbc493077bf06994de53f40927",
        "0002_events.sql": "ba860d222bb0e9ffb2eeda897162df95d5feb6cfc7f3f9a4db0f57d6ac6ab784",
        "0003_events_indexes.sql": (
            "57cad9e8cd3a77642c4125d15c69aeb27c87d3259a43e401b53378c93a18d733"
        ),
        "0004_events_append_only.sql": (
            "693de1ac63c5eca871f07b9028283419730e422c9186ef29d59df3ab72e4125f"
        ),
        "0005_snapshots.sql": "90485aa4f2e8717edf2c977ef58ae249a926e879081b983bcf27082801871989",
        "0006_subscription_checkpoints.sql": (
            "6c4b5b7d209d4108c6dcbed6e8883e43300703811522ada3b0688a154e66ba57"
        ),
        "0007_append_functions.sql": (
            "099a31a92180c181b41258b290f4a04ef2f4ea9cd4b7523cb035c80cf3eae145"
        ),
        "0008_append_group_function.sql": (
            "72ca76470eb72fbd52801c02e6cfc8f2efbe0cad9e35b717a04e30e88d3441bb"
        ),
    },
    "sqlite": {
        "001_schema_migrations.sql": (
            "a307d3dfcf2abfc1521571ed957bb4484fe43042bfa74d6a287756c2d5f75331"
        ),
        "002_events.sql": "5315fe1eb5558618a71061e0a71b65bfc11138d70b57a0edac92ecda6a85f1ab",
        "003_snapshots.sql": "62473e2f9519fd1e04eb7005eac82770126513f507ecb5e15ed7f8ce1eff0c9d",
        "004_subscription_checkpoints.sql": (
            "06e9b5db4332ca85c3531f3c4abf2b881a2bf2a6761753a53e1492cd456e48b3"
        ),
    },
}


def released_files(backend: str) -> list[tuple[str, str]]:
    """The previous release's files of `backend` as (name, text), in order."""
    return [(name, text) for name, text in _ddl.sql_files(backend) if name in RELEASED[backend]]


def use_store_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the package read its SQL files from a copy of store/ in
    `tmp_path`, for the test to change; return the copy."""
    copy = tmp_path / "store"
    shutil.copytree(Path(str(_ddl._store_root())), copy)
    monkeypatch.setattr(_ddl, "_store_root", lambda: copy)
    return copy


def edit_after_release(
    backend: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Make the package see store/<backend>/<name> with a line added, as if
    someone edited it after databases applied it."""
    edited = use_store_copy(tmp_path, monkeypatch) / backend / name
    edited.write_text(edited.read_text(encoding="utf-8") + "-- edited later\n", encoding="utf-8")
