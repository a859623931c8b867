"""DynamoDB Local, Amazon's emulator, for your own tests and benchmarks of a DynamoDB store.

The kit's pytest plugin uses these to give ``store_factory.open("dynamodb")``
a table on an emulator it installs (with npm) and starts for the session;
call them directly to do the same outside pytest:

    emulator = LocalEmulator.start(install(default_install_dir()))
    url = f"dynamodb://my-table?endpoint_url={emulator.endpoint_url}&region={REGION}"
    store = await DynamoDBEventStore.open(url, **DYNAMODB_DEFAULTS)
    ...
    emulator.stop()

`ENDPOINT_ENV` names the environment variable that points at an emulator
already running instead.
"""

from eventsourcing_kit.testing._dynamodb_local import (
    ENDPOINT_ENV,
    LocalEmulator,
    default_install_dir,
    install,
)
from eventsourcing_kit.testing._dynamodb_server import DYNAMODB_DEFAULTS, REGION

__all__ = [
    "DYNAMODB_DEFAULTS",
    "ENDPOINT_ENV",
    "REGION",
    "LocalEmulator",
    "default_install_dir",
    "install",
]
