"""Guardrails every draft passes, whichever engine wrote it (an LLM is not trusted to set them):

- project scope: an instruction belongs to the chat's project, and every path it names must be
  inside that project's root;
- allowed types: ``copilot.allowed_instruction_types`` in the project's settings;
- confirmation: anything that spends money, writes over, moves or archives files, or leaves the
  machine waits as a ``draft`` until a person confirms it. Only read-only work (a dry run, a QA
  check) is queued at once.
"""

from __future__ import annotations

from kroma_kit.copilot.context import ProjectContext
from kroma_kit.copilot.drafts import KNOWN_ACTIONS, InstructionDraft
from kroma_kit.errors import KromaError
from kroma_kit.workspace import ProjectLayout

READ_ONLY_ACTIONS = frozenset({"dry_run", "qa_check"})
WHY_CONFIRM = {
    "run": "it generates images and archives the outputs it replaces",
    "postprocess": "it writes new files and archives the ones it replaces",
    "archive_bad": "it moves files to archive/bad",
    "set_winner": "it changes a job's final output",
    "sync_push": "it uploads the project's files to remote storage",
    "sync_pull": "it downloads files into the project and archives the local ones that differ",
    "character_reference": "it generates images",
    "character_portfolio": "it generates images",
}


class GuardrailError(KromaError):
    """The copilot was asked for something the project's guardrails do not allow."""


def check_draft(draft: InstructionDraft, ctx: ProjectContext) -> None:
    """Raise :class:`GuardrailError` for an unknown action, a type the settings do not allow, or
    a path outside the project."""
    if draft.action not in KNOWN_ACTIONS and draft.instruction_type != "custom":
        raise GuardrailError(f"Unknown action '{draft.action}' for a {draft.instruction_type} instruction. "
                             f"Known actions: {', '.join(sorted(KNOWN_ACTIONS))}.")
    if draft.action in KNOWN_ACTIONS and KNOWN_ACTIONS[draft.action] != draft.instruction_type:
        raise GuardrailError(f"Action '{draft.action}' is a {KNOWN_ACTIONS[draft.action]} instruction, "
                             f"not {draft.instruction_type}.")
    allowed = ctx.settings.allowed_instruction_types
    if draft.instruction_type not in allowed:
        raise GuardrailError(f"{draft.instruction_type} instructions are not allowed in project {ctx.slug} "
                             f"(copilot.allowed_instruction_types = {', '.join(allowed) or 'none'}).")
    layout = ProjectLayout(ctx.root)
    for key in ("path", "paths", "files"):
        value = draft.inputs.get(key)
        for path in value if isinstance(value, list) else [value] if value else []:
            try:
                layout.inside(str(path))
            except KromaError:
                raise GuardrailError(f"The instruction names {path}, which is outside project {ctx.slug}; "
                                     "the copilot only works inside its project.") from None
    target = draft.inputs.get("project") or draft.inputs.get("project_slug")
    if target and target != ctx.slug:
        raise GuardrailError(f"This chat belongs to project {ctx.slug}; it cannot act on project {target}.")


def confirmation_reason(draft: InstructionDraft) -> str | None:
    """Why ``draft`` needs a person's confirmation, or ``None`` when it may be queued at once."""
    if draft.action in READ_ONLY_ACTIONS:
        return None  # a dry run never calls a provider, paid or not
    if draft.execution.get("provider") == "openai":
        return "it spends money (paid provider)"
    return WHY_CONFIRM.get(draft.action, "the copilot does not know what it changes")
