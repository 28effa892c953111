"""Lazy boto3 clients and the translation of AWS errors into Podium's.

Nothing here imports boto3 or botocore at module import: the first
:meth:`AwsClients.client` call does, so a platform that loads podium-aws but
never touches AWS never pays for boto3.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from podium.plugin import ConfigError, PodiumError, ResourceError, TransientError
from podium_aws.settings import Settings

#: AWS error codes worth retrying: throttling and the service being briefly unable to answer.
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "OperationAborted",
        "ConcurrentModificationException",
    }
)


class AwsClients:
    """Creates boto3 clients on first use and caches one per (service, region).

    boto3 sessions are not thread-safe but the clients they make are, so client
    creation happens under a lock and the clients are then shared.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self._lock = threading.Lock()
        self._session: Any = None
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._account: str | None = None

    def region(self, override: str | None = None) -> str:
        region = override or self.settings.region or self._boto_session().region_name
        if not region:
            raise ConfigError(
                "no AWS region configured",
                field="plugins.aws.region",
                hint="set region in [plugins.aws] or AWS_REGION / AWS_DEFAULT_REGION",
            )
        return str(region)

    def client(self, service: str, region: str | None = None) -> Any:
        resolved = self.region(region)
        key = (service, resolved)
        with self._lock:
            cached = self._clients.get(key)
            if cached is None:
                session = self._boto_session_locked()
                cached = session.client(
                    service, region_name=resolved, endpoint_url=self.settings.endpoint_url
                )
                self._clients[key] = cached
            return cached

    def _boto_session(self) -> Any:
        with self._lock:
            return self._boto_session_locked()

    def _boto_session_locked(self) -> Any:
        if self._session is None:
            import boto3

            self._session = boto3.session.Session(
                profile_name=self.settings.profile, region_name=self.settings.region
            )
        return self._session

    def account_id(self) -> str:
        """The account the credentials belong to (asked once: it cannot change)."""
        if self._account is None:
            with aws_errors("sts:GetCallerIdentity"):
                self._account = str(self.client("sts").get_caller_identity()["Account"])
        return self._account

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (``""`` for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def is_not_found(exc: BaseException, *codes: str) -> bool:
    code = error_code(exc)
    if code in codes or code in {"404", "NotFound", "NoSuchEntity", "ResourceNotFoundException"}:
        return True
    status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
    return bool(status == 404 and not codes)


def translate(exc: BaseException, action: str) -> PodiumError | None:
    """Map a botocore failure to a transient, config or resource error."""
    if not type(exc).__module__.startswith("botocore"):
        return None
    from botocore import exceptions as bx

    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return ConfigError(
            f"{action}: no usable AWS credentials",
            hint="set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, or run on a role",
        )
    if isinstance(exc, bx.NoRegionError):
        return ConfigError(f"{action}: no AWS region", field="plugins.aws.region")
    if isinstance(
        exc,
        bx.EndpointConnectionError | bx.ConnectTimeoutError | bx.ReadTimeoutError,
    ):
        return TransientError(f"{action}: cannot reach AWS ({exc})")
    if isinstance(exc, bx.ClientError):
        code = error_code(exc)
        message = exc.response.get("Error", {}).get("Message", "") or str(exc)
        text = f"{action}: {code}: {message}"
        if code in TRANSIENT_CODES:
            return TransientError(text)
        return ResourceError(text)
    if isinstance(exc, bx.WaiterError):
        return TransientError(f"{action}: {exc}")
    return ResourceError(f"{action}: {exc}")


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Re-raise botocore failures inside the block as Podium errors naming ``action``."""
    try:
        yield
    except PodiumError:
        raise
    except Exception as exc:
        translated = translate(exc, action)
        if translated is None:
            raise
        raise translated from exc


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
