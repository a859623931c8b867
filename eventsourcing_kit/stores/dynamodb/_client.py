"""The AWS clients of one store, and every call through them: retries and errors.

Each call goes through `Calls`, which retries what DynamoDB asks to be
retried (throttling, transaction conflicts, a dropped connection) with
jittered exponential backoff, and turns everything else into the kit's
errors. botocore's own retries are turned off so that there is one retry
policy, logged and tested, not two stacked.
"""

from __future__ import annotations

import asyncio
import random
from contextlib import AsyncExitStack
from typing import Any

import attrs

from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.errors import (
    ConfigurationError,
    StoreError,
    StoreUnavailableError,
    TransientStoreError,
)
from eventsourcing_kit.stores.dynamodb._location import Location

__all__ = ["Calls", "Canceled", "Credentials", "RetryPolicy", "open_clients"]

logger = get_logger(__name__)

# Codes DynamoDB uses for "slow down" or "try again": never a conflict of versions.
THROTTLING = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
    }
)
# Cancellation reasons of a transaction that say the same, item by item.
RETRYABLE_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "None"}
)


@attrs.frozen(kw_only=True)
class Credentials:
    """Explicit AWS credentials or profile; all None: the standard credential chain."""

    aws_access_key_id: str | None = attrs.field(default=None, repr=False)
    aws_secret_access_key: str | None = attrs.field(default=None, repr=False)
    aws_session_token: str | None = attrs.field(default=None, repr=False)
    profile_name: str | None = None


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How throttled or conflicting requests are retried: `attempts` in all."""

    attempts: int = 10
    base_delay: float = 0.01
    max_delay: float = 1.0

    def delay(self, attempt: int) -> float:
        # Full jitter: retrying writers spread out instead of colliding again.
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


class Canceled(Exception):
    """A write whose condition failed, or a transaction DynamoDB cancelled for a
    reason other than load: its reasons, in order (one for a single write)."""

    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        super().__init__([reason.get("Code") for reason in reasons])
        self.reasons = reasons


def _code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


class Calls:
    """Every request of one store goes through here (`dynamodb` and `streams`)."""

    def __init__(self, dynamodb: Any, streams: Any, location: Location, retry: RetryPolicy):
        self.dynamodb = dynamodb
        self.streams = streams
        self.location = location
        self.retry = retry

    async def __call__(self, operation: str, **params: Any) -> dict[str, Any]:
        return await self._call(self.dynamodb, operation, params)

    async def stream(self, operation: str, **params: Any) -> dict[str, Any]:
        return await self._call(self.streams, operation, params)

    async def _call(self, client: Any, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        attempt = 0
        while True:
            try:
                response: dict[str, Any] = await getattr(client, operation)(**params)
                return response
            except ClientError as error:
                code = _code(error)
                if code == "ConditionalCheckFailedException":
                    item = error.response.get("Item") or {}
                    raise Canceled([{"Code": "ConditionalCheckFailed", "Item": item}]) from None
                if code == "TransactionCanceledException":
                    reasons = error.response.get("CancellationReasons") or []
                    if not all(reason.get("Code") in RETRYABLE_REASONS for reason in reasons):
                        raise Canceled(reasons) from None
                elif code not in THROTTLING:
                    raise self._translate(operation, code, error) from error
                failure: Exception = error
            except NoCredentialsError as error:
                raise ConfigurationError(
                    "no AWS credentials found for the DynamoDB store: configure the AWS "
                    "credential chain, or pass aws_access_key_id= and aws_secret_access_key="
                ) from error
            except (BotoCoreError, OSError) as error:
                failure = error
            attempt += 1
            if attempt >= self.retry.attempts:
                raise self._exhausted(operation, failure) from failure
            logger.debug(
                "dynamodb request retried",
                operation=operation,
                code=_code(failure) or type(failure).__name__,
                attempt=attempt,
            )
            await asyncio.sleep(self.retry.delay(attempt))

    def _exhausted(self, operation: str, failure: Exception) -> StoreError:
        code = _code(failure)
        if code:
            return TransientStoreError(
                f"DynamoDB kept refusing {operation} ({code}) after {self.retry.attempts} "
                "attempts with backoff: the table is throttled or contended; try again later "
                "or raise its capacity"
            )
        return StoreUnavailableError(
            f"DynamoDB at {self.location.endpoint_url or 'the AWS endpoint'} did not answer "
            f"{operation} after {self.retry.attempts} attempts: {failure}"
        )

    def _translate(self, operation: str, code: str, error: Exception) -> StoreError:
        table = self.location.table
        if code == "ResourceNotFoundException":
            return StoreError(
                f"DynamoDB table {table!r} does not exist (or its stream is off): create it with "
                f"`eventsourcing-kit migrate --url {self.location.url()}`"
            )
        return StoreError(f"DynamoDB {operation} on table {table!r} failed: {code}: {error}")


async def open_clients(
    stack: AsyncExitStack,
    location: Location,
    credentials: Credentials,
    *,
    pool_size: int,
    session: Any = None,
) -> tuple[Any, Any]:
    """The ``dynamodb`` and ``dynamodbstreams`` clients, closed with `stack`.

    Made from `session` (an ``aioboto3.Session``) when given, else from a
    new session with `credentials`. A new session loads botocore's service
    models again, which costs more than the clients themselves: processes
    that open many stores share one.
    """
    try:
        import aioboto3
        from botocore.config import Config
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ConfigurationError(
            "dynamodb:// needs aioboto3: pip install 'eventsourcing-kit[dynamodb]'"
        ) from error
    if session is None:
        session = aioboto3.Session(
            aws_access_key_id=credentials.aws_access_key_id,
            aws_secret_access_key=credentials.aws_secret_access_key,
            aws_session_token=credentials.aws_session_token,
            profile_name=credentials.profile_name,
            region_name=location.region,
        )
    elif not isinstance(session, aioboto3.Session):
        raise ConfigurationError(
            f"invalid session {session!r}: pass an aioboto3.Session, or None for a new one"
        )
    elif credentials != Credentials():
        raise ConfigurationError(
            "give either a session or credentials (aws_access_key_id, aws_secret_access_key, "
            "aws_session_token, profile_name), not both: the session has its own"
        )
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        max_pool_connections=pool_size,
    )
    options = {"endpoint_url": location.endpoint_url, "config": config}
    if location.region is not None:
        options["region_name"] = location.region
    try:
        dynamodb = await stack.enter_async_context(session.client("dynamodb", **options))
        streams = await stack.enter_async_context(session.client("dynamodbstreams", **options))
    except Exception as error:
        # botocore raises NoRegionError and friends at client creation.
        raise ConfigurationError(f"cannot create the DynamoDB client: {error}") from error
    return dynamodb, streams
