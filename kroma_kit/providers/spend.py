"""The spend guard: nobody pays by accident, and nobody pays past a budget.

Two rules (ARCHITECTURE decision 7, seed §5.2 plus the budgets the seed's docs asked for):

1. A paid provider is never called without ``confirm_spend`` (the seed's "Spending is locked").
2. Before EVERY paid call the guard checks, per run and per project, that
   ``spent so far + estimates of calls still in flight + this call's estimate <= budget``.
   Counting in-flight estimates matters with concurrency: eight calls checked at once against
   "spent so far" alone could all pass and overshoot by seven calls. When a call would cross, the
   guard stops: that call and every later one are refused, calls already in flight finish and
   are paid, and the run ends ``partial`` with :attr:`SpendGuard.stop_reason` recorded.

Actual cost (from the provider's usage) replaces the estimate as each call settles.
Free providers pass through: no confirmation, no budget.

One guard for every paid call: a run's candidates and post steps, and standalone
post-processing of project files (:meth:`SpendGuard.check_call` is the chain's
``before_paid_call``). It lives beside the providers, below the pipeline and post-processing,
so both use it; it knows nothing of the catalog (callers pass what was spent).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from kroma_kit.errors import SpendError

SPEND_LOCKED_MESSAGE = ("Spending is locked. Add --confirm-spend for paid calls "
                        "(confirm_spend=True from Python); `kroma dry` shows the plan and its cost first.")


def require_confirmation(paid: bool, confirm_spend: bool, provider_code: str) -> None:
    """Refuse a paid run that was not confirmed, before anything is written or sent."""
    if paid and not confirm_spend:
        raise SpendError(f"{SPEND_LOCKED_MESSAGE} (provider '{provider_code}' is paid)")


@dataclass(frozen=True)
class Budgets:
    """USD ceilings; None means no ceiling."""

    per_run_usd: float | None = None
    per_project_usd: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return {"per_run_usd": self.per_run_usd, "per_project_usd": self.per_project_usd}


class SpendGuard:
    """Thread-safe ledger of one run's paid calls.

    ``run_spent`` is what this run already paid (non-zero on resume); ``project_spent`` is what
    the project paid in every *other* run (the sum of its ``cost_events``).
    """

    def __init__(self, *, paid: bool, budgets: Budgets, run_spent: float = 0.0,
                 project_spent: float = 0.0) -> None:
        self.paid = paid
        self.budgets = budgets
        self._run_spent = float(run_spent)
        self._project_spent_other = float(project_spent)
        self._in_flight: dict[str, float] = {}
        self._lock = threading.Lock()
        self._calls = 0
        self.stop_reason: str | None = None

    @property
    def stopped(self) -> bool:
        return self.stop_reason is not None

    @property
    def run_spent(self) -> float:
        with self._lock:
            return round(self._run_spent, 6)

    def reserve(self, key: str, estimate: float) -> bool:
        """May the call ``key`` (estimated at ``estimate`` USD) start? True reserves its estimate
        until :meth:`settle`; False means the budget is spent and the run must stop here."""
        if not self.paid:
            return True
        with self._lock:
            if self.stop_reason is not None:
                return False
            pending = sum(self._in_flight.values())
            run_total = self._run_spent + pending + estimate
            limit = self.budgets.per_run_usd
            if limit is not None and run_total > limit + 1e-9:
                self.stop_reason = (
                    f"budget: the per-run budget ${limit:.2f} would be crossed by the next call "
                    f"(spent ${self._run_spent:.4f} + in flight ${pending:.4f} + next ${estimate:.4f}); "
                    f"raise budgets.per_run_usd or resume the run later")
                return False
            project_total = self._project_spent_other + run_total
            limit = self.budgets.per_project_usd
            if limit is not None and project_total > limit + 1e-9:
                self.stop_reason = (
                    f"budget: the per-project budget ${limit:.2f} would be crossed by the next call "
                    f"(project spent ${self._project_spent_other + self._run_spent:.4f} + in flight "
                    f"${pending:.4f} + next ${estimate:.4f}); raise budgets.per_project_usd to go on")
                return False
            self._in_flight[key] = estimate
            return True

    def settle(self, key: str, actual: float) -> None:
        """The call ``key`` ended: replace its reservation by what it really cost (0 on failure)."""
        with self._lock:
            self._in_flight.pop(key, None)
            self._run_spent += float(actual or 0.0)

    def stop(self, reason: str) -> None:
        """Stop further calls for a reason other than money (cancel); the first reason wins."""
        with self._lock:
            if self.stop_reason is None:
                self.stop_reason = reason

    def check_call(self, code: str, estimate: float) -> None:
        """``before_paid_call`` of a post chain outside a run: reserve ``estimate`` for the call
        ``code`` or raise SpendError saying which budget it would cross. The reservation stands
        until :meth:`settle_calls`."""
        with self._lock:
            self._calls += 1
            key = f"{code}#{self._calls}"
        if not self.reserve(key, estimate):
            reason = self.stop_reason or "budget reached"
            with self._lock:
                self.stop_reason = None  # one refused call does not stop the next file's free steps
            raise SpendError(f"{code}: {reason}")

    def settle_calls(self, actual: float) -> None:
        """Every call reserved by :meth:`check_call` ended, together costing ``actual`` USD."""
        with self._lock:
            self._in_flight.clear()
            self._run_spent += float(actual or 0.0)
