"""The one line format every benchmark prints."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BenchLine:
    """``<name>: <figure> (goal <goal>)``; ``extra`` adds further figures, e.g. a median in ms."""

    name: str
    figure: str
    goal: str
    extra: str = ""

    def render(self) -> str:
        tail = f", {self.extra}" if self.extra else ""
        return f"{self.name}: {self.figure} (goal {self.goal}){tail}"


def ratio(baseline_s: float, candidate_s: float) -> str:
    """A speedup figure such as ``63.2x``."""
    return f"{baseline_s / max(candidate_s, 1e-9):.1f}x"
