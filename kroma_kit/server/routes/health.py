"""``GET /health``: the only route open without a token."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from kroma_kit.server.models import Envelope

router = APIRouter(tags=["system"])


class HealthResponse(Envelope):
    status: Literal["ok"] = "ok"
    service: str = "kroma-kit"


@router.get("/health", response_model=HealthResponse, responses={500: {"description": "internal error"}})
def health() -> HealthResponse:
    return HealthResponse()
