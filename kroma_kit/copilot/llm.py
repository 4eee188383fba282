"""The LLM copilot engine: any OpenAI-compatible ``/chat/completions`` endpoint with tool calling
(OpenAI, Ollama, llama.cpp ``--jinja``, vLLM with a tool parser; provider-wire.md §3).

The tools are exactly the instruction types (``pipeline_run``, ``asset_edit``, ``qa_check``,
``storage_sync``, ``custom``), restricted to those the project allows; each takes the action and
the envelope's ``objective``/``inputs``/``execution``. The model proposes; the guardrails in
:mod:`.guardrails` (not the model) decide whether a draft is allowed and needs confirmation.
Token usage and cost (from ``copilot.llm_price_*_per_1m``) are returned with every reply.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import httpx

from kroma_kit.copilot.context import ProjectContext
from kroma_kit.copilot.drafts import ACTION_TYPES, ANSWER_ACTIONS, EngineReply, InstructionDraft
from kroma_kit.errors import ProviderError, ProviderNotConfigured
from kroma_kit.providers.http import RetryPolicy, send_with_retries
from kroma_kit.settings_models import CopilotSettings

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def tools_for(allowed_types: list[str]) -> list[dict[str, Any]]:
    """One function tool per allowed instruction type, plus ``answer`` for read-only questions."""
    tools = []
    for kind in allowed_types:
        actions = sorted(a for a, t in ACTION_TYPES.items() if t == kind) or ["custom"]
        tools.append({"type": "function", "function": {
            "name": kind,
            "description": f"Create a {kind} agent instruction for this project (it may need the user's "
                           "confirmation before it runs).",
            "parameters": {"type": "object", "required": ["action", "objective"], "properties": {
                "action": {"type": "string", "enum": actions},
                "objective": {"type": "string", "description": "plain-language goal"},
                "inputs": {"type": "object", "description": "scenes (names), path inside the project, run_id, job, "
                                                            "candidate, character"},
                "execution": {"type": "object", "description": "stage, time, weather, candidates, provider, steps "
                                                               "(bg_remove|upscale|color), upscale_scale, "
                                                               "color_profile"},
                "constraints": {"type": "object"},
            }},
        }})
    tools.append({"type": "function", "function": {
        "name": "answer", "description": "Answer a read-only question about the project.",
        "parameters": {"type": "object", "required": ["topic"],
                       "properties": {"topic": {"type": "string", "enum": list(ANSWER_ACTIONS)}}}}})
    return tools


def system_prompt(ctx: ProjectContext) -> str:
    return ("You are the Kroma Kit copilot for the comic project '" + ctx.slug + "'. Turn the user's request into "
            "exactly one tool call when they ask for work; otherwise answer briefly. Only this project. "
            f"Scenes: {', '.join(ctx.scenes) or 'none'}. Characters: {', '.join(ctx.characters) or 'none'}. "
            f"Colour profiles: {', '.join(ctx.color_profiles)}. Stages: style, time, weather, characters; "
            "time day|night; weather clear|rain.")


@dataclass
class LLMEngine:
    """Chat completions with tools. ``transport`` lets tests and gateways swap the HTTP layer."""

    model: str
    base_url: str
    api_key: str | None
    timeout_s: float = 60.0
    price_input_per_1m: float | None = None
    price_output_per_1m: float | None = None
    policy: RetryPolicy | None = None
    transport: httpx.BaseTransport | None = None
    name: str = "llm"

    @classmethod
    def from_settings(cls, settings: CopilotSettings) -> LLMEngine:
        base = settings.llm_base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        key = os.environ.get("OPENAI_API_KEY")
        if not key and base.rstrip("/") == DEFAULT_BASE_URL:
            raise ProviderNotConfigured("The copilot's LLM engine needs OPENAI_API_KEY (or OPENAI_BASE_URL / "
                                        "copilot.llm_base_url for a local OpenAI-compatible server); set "
                                        "copilot.engine = 'builtin' to stay offline.", provider="chat")
        return cls(model=settings.llm_model, base_url=base.rstrip("/"), api_key=key, timeout_s=settings.llm_timeout_s,
                   price_input_per_1m=settings.llm_price_input_per_1m,
                   price_output_per_1m=settings.llm_price_output_per_1m)

    def cost(self, usage: dict[str, Any]) -> float:
        prompt = float(usage.get("prompt_tokens") or 0)
        completion = float(usage.get("completion_tokens") or 0)
        return round(prompt * (self.price_input_per_1m or 0) / 1e6 + completion * (self.price_output_per_1m or 0) / 1e6,
                     8)

    def reply(self, text: str, ctx: ProjectContext, history: list[dict[str, Any]] | None = None) -> EngineReply:
        messages = [{"role": "system", "content": system_prompt(ctx)}]
        messages += [m for m in (history or []) if m.get("role") in ("user", "assistant") and m.get("content")]
        messages.append({"role": "user", "content": text})
        body = {"model": self.model, "messages": messages, "tools": tools_for(ctx.settings.allowed_instruction_types),
                "tool_choice": "auto"}
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        with httpx.Client(timeout=self.timeout_s, transport=self.transport) as client:
            response, _ = send_with_retries(
                client, lambda: client.build_request("POST", f"{self.base_url}/chat/completions", json=body,
                                                     headers=headers),
                provider="chat", policy=self.policy or RetryPolicy(max_attempts=3))
        try:
            data = response.json()
            message = data["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise ProviderError(f"chat: unexpected answer from {self.base_url}: {response.text[:200]}",
                                provider="chat") from None
        usage = {k: v for k, v in (data.get("usage") or {}).items() if isinstance(v, int | float)}
        reply = EngineReply(text=str(message.get("content") or "").strip(), usage=usage, cost_usd=self.cost(usage),
                            engine=self.name, model=str(data.get("model") or self.model))
        calls = message.get("tool_calls") or []
        if not calls:
            reply.understood = bool(reply.text)
            reply.text = reply.text or "The model gave no answer; try rephrasing."
            return reply
        return self._from_call(calls[0].get("function") or {}, reply)

    def _from_call(self, function: dict[str, Any], reply: EngineReply) -> EngineReply:
        name = str(function.get("name") or "")
        try:
            args = json.loads(function.get("arguments") or "{}")
            if not isinstance(args, dict):
                raise ValueError("not an object")
        except ValueError:
            reply.text = f"The model called {name} with arguments that are not a JSON object; nothing was created."
            reply.understood = False
            return reply
        if name == "answer":
            topic = str(args.get("topic") or "")
            if topic in ANSWER_ACTIONS:
                reply.answer = topic
                return reply
        action = str(args.get("action") or "")
        if ACTION_TYPES.get(action) != name:
            reply.text = f"The model asked for {name}/{action or '?'}, which the copilot does not know; nothing " \
                         "was created."
            reply.understood = False
            return reply
        inputs = args.get("inputs") if isinstance(args.get("inputs"), dict) else {}
        execution = args.get("execution") if isinstance(args.get("execution"), dict) else {}
        constraints = args.get("constraints") if isinstance(args.get("constraints"), dict) else {}
        reply.draft = InstructionDraft(name, action, str(args.get("objective") or action), inputs=inputs,
                                       execution=execution, constraints=constraints)
        reply.text = reply.text or f"{reply.draft.objective}."
        return reply
