"""Everything a face shows about one character, in one call: profile, style guide, reference
set, image counts, best reference; and the prompt the reference panel pre-fills."""

from __future__ import annotations

from typing import Any

from kroma_kit.characters._common import project_of
from kroma_kit.characters.images import best_reference, latest_portfolio, list_character_images
from kroma_kit.characters.profiles import character_set_name, effective_style_guide, get_character
from kroma_kit.characters.prompting import ChatEndpoint, PromptSuggestion, suggest_prompt
from kroma_kit.characters.references import get_reference_set
from kroma_kit.errors import NotFoundError
from kroma_kit.workspace import Workspace


def prompt_for(ws: Workspace, project: str | dict[str, Any], code: str, *, use_chat: bool = False,
               endpoint: ChatEndpoint | None = None, transport: Any = None) -> PromptSuggestion:
    """The reference prompt: the template, or with ``use_chat`` the configured chat model's
    rewrite (falls back to the template, saying why)."""
    proj = project_of(ws, project)
    character = get_character(ws, proj, code)
    guide = effective_style_guide(ws, proj, character)
    if use_chat and endpoint is None:
        endpoint = ChatEndpoint.from_environment(proj.get("settings"))
    return suggest_prompt(character, guide, endpoint=endpoint if use_chat else None, transport=transport)


def character_overview(ws: Workspace, project: str | dict[str, Any], code: str) -> dict[str, Any]:
    proj = project_of(ws, project)
    character = get_character(ws, proj, code)
    guide = effective_style_guide(ws, proj, character)
    try:
        refset = get_reference_set(ws, proj, character_set_name(code)).to_dict()
    except NotFoundError:
        refset = None
    images = list_character_images(ws, proj, code)
    counts: dict[str, int] = {}
    for image in images:
        if image.status == "succeeded":
            counts[image.kind] = counts.get(image.kind, 0) + 1
    best = best_reference(ws, proj, code)
    return {"character": character.to_dict(), "style_guide": guide.to_dict() if guide else None,
            "reference_set": refset, "image_counts": counts,
            "best_reference": best.to_dict() if best else None,
            "portfolio": [image.to_dict() for image in latest_portfolio(ws, proj, code)]}
