"""One clock for every record: ISO-8601 UTC with milliseconds and a ``Z``, so stamps sort as text.

It lives in the base layer because the catalog, the run-log files and the services all stamp
what they write, and none of them may import another just to tell the time.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``; sorts as text."""
    moment = datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
