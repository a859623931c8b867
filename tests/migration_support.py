"""What the previous release shipped in store/, and what an edited file looks like to a database.

Import it from any test folder (``from migration_support import ...``).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable

from eventsourcing_kit.stores.driver import sql_files

__all__ = ["RELEASED", "apply_as_before_checksums", "checksum_of_an_edit", "released_files"]

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
    return [(name, text) for name, text in sql_files(backend) if name in RELEASED[backend]]


def checksum_of_an_edit(backend: str, name: str) -> str:
    """The checksum a database records for store/<backend>/<name> if it applied
    another text of that file than the one shipped (the file with a line
    added): recording it is how a test makes a shipped file look edited
    after that database applied it."""
    [text] = [text for file, text in sql_files(backend) if file == name]
    edited = text + "-- edited later\n"
    return hashlib.sha256(edited.encode("utf-8")).hexdigest()


def apply_as_before_checksums(
    connection: sqlite3.Connection, files: Iterable[tuple[str, str]]
) -> None:
    """Apply SQLite `files` (name, text) as releases before 005 did: each
    file's statements, then its name and time in schema_migrations (no
    checksum column yet). sqlite3 runs each script itself."""
    for name, text in files:
        connection.executescript(text)
        connection.execute(
            "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
            (name, "2026-01-01T00:00:00.000000+00:00"),
        )
