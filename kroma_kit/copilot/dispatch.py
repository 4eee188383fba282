"""Handing an instruction's §9.2 envelope to an external agent API, when one is configured
(``KROMA_AGENT_API_URL`` and ``KROMA_AGENT_API_TOKEN``, else ``copilot.agent_api_url``).

HTTP retries (429, 5xx, timeouts, honouring ``Retry-After``) use the providers' shared retry loop;
a dispatch that still fails is a failed attempt the worker may retry later. The agent answers
``{instruction_id, status: accepted|rejected|running|done|failed, message, result?, error?}``.
``accepted``/``running`` mean the agent took the work: for this catalog the instruction is done
(handed over), and the agent's answer is kept in the result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx

from kroma_kit.errors import ProviderError
from kroma_kit.providers.http import RetryPolicy, send_with_retries

REMOTE_STATUS = {"done": "done", "accepted": "done", "running": "done", "queued": "done",
                 "failed": "failed", "rejected": "failed"}


@dataclass(frozen=True)
class AgentTarget:
    url: str
    token: str | None = None
    timeout_s: float = 20.0


@dataclass
class DispatchResult:
    status: str  # done | failed (our status)
    remote_status: str
    message: str
    http_status: int
    response: dict[str, Any]
    attempts: list[dict[str, Any]]


def agent_target(settings_url: str | None = None) -> AgentTarget | None:
    """The configured agent API, or ``None`` to run instructions in-process."""
    url = os.environ.get("KROMA_AGENT_API_URL") or settings_url
    if not url:
        return None
    return AgentTarget(url=url, token=os.environ.get("KROMA_AGENT_API_TOKEN") or None)


def full_envelope(item: Any, project_slug: str) -> dict[str, Any]:
    """The §9.2 envelope of a stored instruction, every key present (an instruction created
    through the API may carry only some of them)."""
    payload = dict(item.payload)
    base = f"/api/projects/{project_slug}/agent/instructions/{item.id}"
    return {
        **payload,
        "instruction_id": item.id,
        "project_slug": project_slug,
        "instruction_type": item.instruction_type,
        "objective": payload.get("objective") or f"Execute {item.instruction_type}",
        "constraints": payload.get("constraints") or {},
        "inputs": payload.get("inputs") or {},
        "execution": payload.get("execution") or {},
        "confirmation_required": bool(item.requires_confirmation),
        "requested_by": payload.get("requested_by") or "local",
        "callback": payload.get("callback") or {"status": base, "events": f"{base}/events"},
    }


def dispatch(target: AgentTarget, payload: dict[str, Any], *, policy: RetryPolicy | None = None,
             client: httpx.Client | None = None) -> DispatchResult:
    """POST the envelope; raise :class:`ProviderError` (``retryable`` set) when it cannot be delivered."""
    headers = {"Content-Type": "application/json"}
    if target.token:
        headers["Authorization"] = f"Bearer {target.token}"
    own = client is None
    client = client or httpx.Client(timeout=target.timeout_s)
    try:
        response, attempts = send_with_retries(
            client, lambda: client.build_request("POST", target.url, json=payload, headers=headers),
            provider="agent_api", policy=policy or RetryPolicy(max_attempts=3, base_delay_s=1.5))
    finally:
        if own:
            client.close()
    try:
        body = response.json() if response.content else {}
    except ValueError:
        raise ProviderError(f"agent_api: the answer was not JSON (HTTP {response.status_code}): "
                            f"{response.text[:200]}", status=response.status_code, provider="agent_api") from None
    remote = str(body.get("status") or "").lower()
    if remote not in REMOTE_STATUS:
        raise ProviderError(f"agent_api: unknown status '{remote}' in the answer (expected accepted, rejected, "
                            "running, done or failed).", status=response.status_code, provider="agent_api")
    error = body.get("error")
    message = str(body.get("message") or (error.get("message") if isinstance(error, dict) else error) or remote)
    return DispatchResult(REMOTE_STATUS[remote], remote, message, response.status_code, body,
                          [a.to_dict() for a in attempts])
