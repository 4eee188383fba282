"""Typed errors. Every message says what failed, why, and what to do next.

The CLI prints ``str(error)`` on one line and exits non-zero; panels show it inline. Nothing
here imports anything heavy, so every module can raise these freely.
"""

from __future__ import annotations


class KromaError(Exception):
    """Base for every error Kroma Kit raises on purpose (bad input, policy, provider)."""

    exit_code = 2


class ConfigError(KromaError):
    """A settings, manifest or post-process file is missing, unreadable or invalid."""


class InputError(KromaError):
    """An input file or argument is unusable (missing, corrupt, too large, bad slug)."""


class ImageInputError(InputError):
    """An image cannot be used: missing, not an image, corrupt, or a decompression bomb."""


class NotFoundError(KromaError):
    """A named thing (project, run, profile, ...) does not exist."""


class SpendError(KromaError):
    """A paid call was refused by the spend guard (no confirm_spend, limits, budgets)."""


class LimitExceeded(SpendError):
    """A plan is over a safety limit (batch size, candidates per job) that a flag can lift."""


class BudgetExceeded(SpendError):
    """The next paid call would cross a per-run or per-project budget."""


class ProviderError(KromaError):
    """A provider call failed. ``retryable`` tells the retry loop whether to try again."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False,
                 retry_after: float | None = None, provider: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after
        self.provider = provider


class ProviderNotConfigured(ProviderError):
    """A provider needs a key, a model file or a package that is not present."""


class StorageError(KromaError):
    """A file or catalog operation failed (permissions, path escapes, archive problems)."""


class AuthError(KromaError):
    """A request carries no credential, or one that is unknown, expired or revoked."""


class PermissionDenied(KromaError):
    """A valid credential that may not do this (a token scoped to another project)."""
