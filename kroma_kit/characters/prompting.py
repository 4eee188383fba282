"""Prompts for a character's images, built only from what the project already knows.

:func:`suggest_reference_prompt` assembles the master-reference prompt from the character's
profile and identity constraints and the style guide's rules (no invented values: a field that
is empty is left out, never filled in), with the seed's framing clause. :func:`suggest_prompt`
is the "Suggest" button: when an OpenAI-compatible chat endpoint is configured it asks the model
to rewrite that prompt from the same data (structured output, JSON schema) and keeps the
framing; otherwise, or when the endpoint fails, it returns the template with the reason.
Quotes are stripped from every prompt (seed 004: "avoid quotes in generated content").
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from typing import Any

from kroma_kit.characters.records import Character, StyleGuide
from kroma_kit.errors import ProviderError

# seed 004, "Reference Prompt Requirements"
FRAMING_CLAUSE = ("chest-to-mid-thigh crop, equal headroom, characters pinned to left/right thirds, "
                  "inter-subject gap ≈ 7% of frame width, matched eye level, 35mm lens.")
VIEW_PHRASES = {
    "front": "front view, facing the viewer",
    "three_quarter_left": "three-quarter view turned to the left",
    "left_profile": "left profile, facing left",
    "back": "back view, facing away from the viewer",
    "right_profile": "right profile, facing right",
    "three_quarter_right": "three-quarter view turned to the right",
}
_QUOTES = re.compile(r"[\"“”„«»‘’`]")
PROMPT_SCHEMA = {"type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"],
                 "additionalProperties": False}


def strip_quotes(text: str) -> str:
    """Remove quotation marks (keep apostrophes inside words) and collapse whitespace."""
    cleaned = _QUOTES.sub("", text)
    cleaned = re.sub(r"(^|\s)'|'(\s|$)", r"\1\2", cleaned)
    return re.sub(r"\s+", " ", cleaned).strip()


def _identity_sentences(character: Character) -> list[str]:
    identity = character.identity
    parts = [f"{label}: {value.strip().rstrip('.')}." for label, value in (
        ("Hair", identity.hair), ("Eyes", identity.eyes), ("Skin", identity.skin), ("Build", identity.build),
        ("Outfit", identity.outfit)) if value and value.strip()]
    if identity.signature_colors:
        parts.append(f"Signature colours: {', '.join(identity.signature_colors)}.")
    if identity.must_keep:
        parts.append(f"Must keep: {'; '.join(identity.must_keep)}.")
    if identity.never:
        parts.append(f"Never: {'; '.join(identity.never)}.")
    return parts


def style_sentences(guide: StyleGuide | None) -> list[str]:
    """The style guide's rules as prompt sentences (empty rules add nothing)."""
    if guide is None:
        return []
    rules = guide.rules
    parts = []
    if rules.palette:
        parts.append(f"Palette: {', '.join(rules.palette)}.")
    if rules.line_weight:
        parts.append(f"Line weight: {rules.line_weight.strip().rstrip('.')}.")
    if rules.notes:
        parts.append(f"{rules.notes.strip().rstrip('.')}.")
    if rules.forbidden_words:
        parts.append(f"Avoid: {', '.join(rules.forbidden_words)}.")
    return parts


def suggest_reference_prompt(character: Character, style_guide: StyleGuide | None = None) -> str:
    """The built-in master-reference prompt for ``character`` (no network)."""
    parts = [f"Master reference image of {character.name}."]
    if character.bio.strip():
        parts.append(character.bio.strip().rstrip(".") + ".")
    parts += _identity_sentences(character)
    parts.append(f"Framing: {FRAMING_CLAUSE}")
    parts += style_sentences(style_guide)
    return strip_quotes(" ".join(parts))


def identity_summary(character: Character) -> str:
    return " ".join(_identity_sentences(character))


def portfolio_prompt(character: Character, view: str, style_guide: StyleGuide | None = None) -> str:
    """One view of the 360° turnaround, from the chosen reference image."""
    phrase = VIEW_PHRASES.get(view, view.replace("_", " "))
    parts = [f"Character turnaround of {character.name}: {phrase}.",
             "Same character as the reference image: same face, proportions, outfit and colours.",
             identity_summary(character), "Full figure on a plain background, no text."]
    parts += style_sentences(style_guide)
    return strip_quotes(" ".join(p for p in parts if p))


def scene_prompt(character: Character, scene_context: str, style_guide: StyleGuide | None = None) -> str:
    parts = [f"{character.name} in this scene: {scene_context.strip().rstrip('.')}.",
             "Same character as the reference image: same face, proportions, outfit and colours.",
             identity_summary(character)]
    parts += style_sentences(style_guide)
    return strip_quotes(" ".join(p for p in parts if p))


@dataclass
class PromptSuggestion:
    """A suggested prompt and where it came from (``template`` or ``chat``)."""

    prompt: str
    source: str
    model: str | None = None
    fallback_reason: str | None = None
    latency_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ChatEndpoint:
    """An OpenAI-compatible chat endpoint: ``OPENAI_BASE_URL`` + a model (``OPENAI_CHAT_MODEL``
    or the project's ``settings_json`` key ``chat_model``) + the optional ``OPENAI_API_KEY``."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 30.0

    @classmethod
    def from_environment(cls, project_settings: dict[str, Any] | None = None,
                         env: dict[str, str] | None = None) -> ChatEndpoint | None:
        env = dict(os.environ) if env is None else env
        base = env.get("OPENAI_BASE_URL", "").strip()
        model = (env.get("OPENAI_CHAT_MODEL") or (project_settings or {}).get("chat_model") or "").strip()
        if not base or not model:
            return None
        return cls(base_url=base, model=model, api_key=env.get("OPENAI_API_KEY") or None)


def suggest_prompt(character: Character, style_guide: StyleGuide | None = None, *,
                   endpoint: ChatEndpoint | None = None, transport: Any = None) -> PromptSuggestion:
    """The "Suggest" action: the chat model's rewrite when an endpoint is configured, else the
    template. The answer must keep the framing clause (it is appended when the model dropped it)."""
    template = suggest_reference_prompt(character, style_guide)
    if endpoint is None:
        return PromptSuggestion(template, "template", fallback_reason="no chat endpoint configured "
                                "(set OPENAI_BASE_URL and OPENAI_CHAT_MODEL)")
    from kroma_kit.providers.openai_chat import chat_json

    facts = {"name": character.name, "bio": character.bio, "identity": character.identity.model_dump(),
             "style_rules": style_guide.rules.model_dump() if style_guide else {},
             "framing": FRAMING_CLAUSE, "draft": template}
    messages = [
        {"role": "system", "content": (
            "You write one image-generation prompt for the master reference image of a comic character. "
            "Use only the facts given; never invent hair, eyes, skin, build, outfit or colours that are not "
            "in them. Keep the framing sentence word for word. Do not use quotation marks. Answer with JSON "
            "matching the schema.")},
        {"role": "user", "content": json.dumps(facts, ensure_ascii=False)},
    ]
    try:
        answer = chat_json(endpoint.base_url, endpoint.model, messages, PROMPT_SCHEMA,
                           schema_name="reference_prompt", api_key=endpoint.api_key,
                           timeout_s=endpoint.timeout_s, transport=transport)
    except ProviderError as exc:
        return PromptSuggestion(template, "template", fallback_reason=str(exc))
    text = answer.data.get("prompt")
    if not isinstance(text, str) or not text.strip():
        return PromptSuggestion(template, "template", model=answer.model,
                                fallback_reason="chat: the answer has no 'prompt' text")
    prompt = strip_quotes(text)
    if FRAMING_CLAUSE.split(",")[0] not in prompt:
        prompt = f"{prompt} Framing: {FRAMING_CLAUSE}"
    return PromptSuggestion(prompt, "chat", model=answer.model, latency_ms=answer.latency_ms)
