"""Typed data the copilot passes between its parts: an engine's reply, the draft instruction it
proposes, and the seed-002 §9.2 envelope the instruction is stored (and dispatched) as."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Every action the copilot knows, with its instruction type (seed 002 §9.2 types).
ACTION_TYPES: dict[str, str] = {
    "dry_run": "pipeline_run",
    "run": "pipeline_run",
    "qa_check": "qa_check",
    "archive_bad": "asset_edit",
    "postprocess": "asset_edit",
    "set_winner": "asset_edit",
    "character_reference": "custom",
    "character_portfolio": "custom",
    "sync_push": "storage_sync",
}
# Actions a person asks for directly (API, scripts) that the chat never drafts.
DIRECT_ACTIONS: dict[str, str] = {"sync_pull": "storage_sync"}
KNOWN_ACTIONS: dict[str, str] = {**ACTION_TYPES, **DIRECT_ACTIONS}
# Read-only actions answered in the chat at once, with no instruction.
ANSWER_ACTIONS = ("show_costs", "show_status")


@dataclass
class InstructionDraft:
    """What an engine wants done. ``execution['action']`` names the executor; the guardrails, not
    the engine, decide whether it needs confirmation."""

    instruction_type: str
    action: str
    objective: str
    inputs: dict[str, Any] = field(default_factory=dict)
    execution: dict[str, Any] = field(default_factory=dict)
    constraints: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.execution = {**self.execution, "action": self.action}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EngineReply:
    """An engine's answer to one message: text, maybe a draft or a read-only answer action, and
    what the reply cost (tokens, USD) when an LLM wrote it."""

    text: str
    draft: InstructionDraft | None = None
    answer: str | None = None  # one of ANSWER_ACTIONS
    understood: bool = True
    usage: dict[str, Any] = field(default_factory=dict)
    cost_usd: float = 0.0
    engine: str = "builtin"
    model: str | None = None


def envelope(draft: InstructionDraft, *, instruction_id: str, project_slug: str, confirmation_required: bool,
             requested_by: str = "local") -> dict[str, Any]:
    """The §9.2 payload: what is stored in ``payload_json`` and POSTed to an external agent."""
    base = f"/api/projects/{project_slug}/agent/instructions/{instruction_id}"
    return {
        "instruction_id": instruction_id,
        "project_slug": project_slug,
        "instruction_type": draft.instruction_type,
        "objective": draft.objective,
        "constraints": dict(draft.constraints),
        "inputs": dict(draft.inputs),
        "execution": dict(draft.execution),
        "confirmation_required": bool(confirmation_required),
        "requested_by": requested_by,
        "callback": {"status": base, "events": f"{base}/events"},
    }
