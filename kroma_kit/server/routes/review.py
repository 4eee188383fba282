"""Human review of a run's winners (``kroma review set-winner | history``): choose another
candidate as a job's winner (the run log, the final asset and the catalog follow, and the choice is
kept by a run still going) and read the job's winner history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from kroma_kit.catalog.run_views import check_run_in_project
from kroma_kit.pipeline.review import override_winner, winner_history
from kroma_kit.server.auth import WS, Slug
from kroma_kit.server.models import Envelope, Record
from kroma_kit.server.routes import ERRORS

router = APIRouter(prefix="/api/projects/{slug}/runs/{run_id}/jobs/{job_key}", tags=["review"], responses=ERRORS)


class WinnerChoice(BaseModel):
    candidate_index: int = Field(ge=1, le=1000)
    note: str = Field(default="", max_length=2000)
    reviewer: str = Field(default="local", min_length=1, max_length=100)
    force: bool = Field(default=False, description="allow a candidate that failed the output guard")


class Review(Record):
    run_id: str
    job_key: str
    candidate_index: int
    previous_candidate: int | None = None
    changed: bool
    final_asset_id: str | None = None
    reviewed_at: str


class ReviewResponse(Envelope):
    review: Review


class HistoryEntry(Record):
    source: str
    candidate_index: int | None = None


class HistoryResponse(Envelope):
    count: int
    history: list[HistoryEntry]


@router.put("/winner", response_model=ReviewResponse)
def set_winner(slug: Slug, run_id: str, job_key: str, body: WinnerChoice, ws: WS) -> dict[str, Any]:
    review = override_winner(ws, check_run_in_project(ws, slug, run_id), job_key, body.candidate_index,
                             note=body.note, reviewer=body.reviewer, force=body.force)
    return {"ok": True, "review": review}


@router.get("/winner-history", response_model=HistoryResponse)
def history(slug: Slug, run_id: str, job_key: str, ws: WS) -> dict[str, Any]:
    entries = winner_history(ws, check_run_in_project(ws, slug, run_id), job_key)
    return {"ok": True, "count": len(entries), "history": entries}
