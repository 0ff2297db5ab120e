"""Which AWS failures are worth retrying: an API answers them 503 with Retry-After, not 500.

The SDK has already retried these (standard mode) by the time they reach a handler; what is
left is an overloaded or briefly unreachable dependency, which the caller can retry later.
Anything else (a validation error, access denied, a missing table) is a bug or a
misconfiguration and stays a 500.
"""

from __future__ import annotations

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

# botocore's throttling and transient codes (botocore/retries/standard.py), and DynamoDB's conflicts.
RETRYABLE_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
    "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
    "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException", "RequestTimeout", "RequestTimeoutException", "InternalError", "InternalServerError",
    "InternalFailure", "ServiceUnavailable", "TransactionConflictException",
})
# Why DynamoDB cancelled a transaction, per item: these pass if tried again.
RETRYABLE_CANCELLATIONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, (ConnectionError, HTTPClientError)):  # endpoint unreachable, read/connect timeouts
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if error.get("Code") == "TransactionCanceledException":  # retryable only when a cancellation reason is
            reasons = exc.response.get("CancellationReasons") or []
            return any(r.get("Code") in RETRYABLE_CANCELLATIONS for r in reasons)
        return error.get("Code") in RETRYABLE_CODES or status in (502, 503, 504)
    return False


def error_code(exc: BaseException) -> str | None:
    """The AWS error code, for logs (messages may quote request values; codes never do)."""
    return exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
