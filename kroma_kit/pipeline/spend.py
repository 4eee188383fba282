"""Moved to :mod:`kroma_kit.providers.spend` (one guard for runs and standalone post-processing);
these names stay importable."""

from kroma_kit.providers.spend import SPEND_LOCKED_MESSAGE, Budgets, SpendGuard, require_confirmation

__all__ = ["SPEND_LOCKED_MESSAGE", "Budgets", "SpendGuard", "require_confirmation"]
