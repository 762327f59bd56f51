"""One error hierarchy, rendered as RFC 9457 ``application/problem+json``.

Services raise these; ``app.main`` turns them (and framework errors) into problem documents.
"""

from __future__ import annotations

from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://datapedia.be/problems/"


class DatapediaError(Exception):
    """Base of every error the API reports to a client."""

    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        problem: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            problem["instance"] = instance
        problem.update(self.extensions)
        return problem


class NotFound(DatapediaError):
    status = 404
    slug = "not-found"
    title = "Not found"


class BadRequest(DatapediaError):
    status = 400
    slug = "bad-request"
    title = "Bad request"


class InvalidParameter(DatapediaError):
    status = 422
    slug = "invalid-parameter"
    title = "Invalid parameter"

    def __init__(self, parameter: str, detail: str, **extensions: Any) -> None:
        super().__init__(detail, parameter=parameter, **extensions)


class Unauthorized(DatapediaError):
    """No key, or a key that is unknown or revoked."""

    status = 401
    slug = "unauthorized"
    title = "Unauthorized"


class Forbidden(DatapediaError):
    """A valid key that lacks the right; ``right`` names what is missing."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"

    def __init__(self, right: str, detail: str, **extensions: Any) -> None:
        super().__init__(detail, missing_right=right, **extensions)


class Conflict(DatapediaError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class RequestTimeout(DatapediaError):
    """The client stopped sending its request body (an upload) for too long."""

    status = 408
    slug = "request-timeout"
    title = "Request timeout"


class PayloadTooLarge(DatapediaError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(DatapediaError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class Unprocessable(DatapediaError):
    """The request was understood but its content is invalid (e.g. an upload's rows)."""

    status = 422
    slug = "invalid-content"
    title = "Invalid content"


class TooManyRequests(DatapediaError):
    status = 429
    slug = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


class ServiceUnavailable(DatapediaError):
    """The database is unreachable or not migrated: nothing was done; try again later."""

    status = 503
    slug = "unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str, retry_after: int | None = None, **extensions: Any) -> None:
        if retry_after is not None:
            extensions["retry_after"] = retry_after
        super().__init__(detail, **extensions)
        self.retry_after = retry_after


class NotAcceptable(DatapediaError):
    status = 406
    slug = "not-acceptable"
    title = "Not acceptable"


class RangeNotSatisfiable(DatapediaError):
    """A byte range that starts beyond the representation's end (RFC 9110 §15.5.17): the
    answer states the representation's size in ``Content-Range: bytes */size``."""

    status = 416
    slug = "range-not-satisfiable"
    title = "Range not satisfiable"

    def __init__(self, detail: str, size: int) -> None:
        super().__init__(detail, size=size)
        self.size = size

    @property
    def content_range(self) -> str:
        return f"bytes */{self.size}"


class SourceDataError(Exception):
    """A source file could not be imported; carries every problem found (file, line, reason)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the source data")
        self.problems = problems


def first_line(exc: BaseException) -> str:
    """An error's first line (a driver's message runs on over several), for one log line."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
