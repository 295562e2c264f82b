"""A refusal by a throttle or a tenant's quota: the API answers it 429 with `Retry-After` and a
body that names the limit (core.api); pages show its `detail`."""

from __future__ import annotations


class LimitExceeded(Exception):
    def __init__(self, *, limit: str, detail: str, retry_after: int, **extra):
        super().__init__(detail)
        self.limit = limit
        self.detail = detail
        self.retry_after = max(1, int(retry_after))
        self.extra = extra

    def body(self) -> dict:
        return {
            "detail": self.detail,
            "limit": self.limit,
            "retry_after": self.retry_after,
            **self.extra,
        }


def wait_text(seconds: int) -> str:
    """'40 seconds', '3 minutes', '2 hours': how long a refusal lasts, for people."""
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 2 * 3600:
        return f"{-(-seconds // 60)} minutes"
    return f"{-(-seconds // 3600)} hours"
