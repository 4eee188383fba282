"""``quality-reports``, ``cost-events`` and ``audit-events`` of a project: read-only listings. The
audit trail is the one ``kroma audit list`` shows (newest first, actor's name, one-line summary),
filtered by an event-code prefix (``secret.``, ``sync.``, ``project.exported``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kroma_kit.catalog import report_views
from kroma_kit.security.audit_view import audit_rows
from kroma_kit.server.auth import WS, Slug
from kroma_kit.server.models import AuditEvent, CostEvent, Envelope, QualityReport
from kroma_kit.server.routes import ERRORS

router = APIRouter(prefix="/api/projects/{slug}", tags=["reports"], responses=ERRORS)
Limit = Annotated[int, Query(ge=1, le=5000)]


class QualityReportList(Envelope):
    count: int
    quality_reports: list[QualityReport]


class CostEventList(Envelope):
    count: int
    cost_events: list[CostEvent]


class AuditEventList(Envelope):
    count: int
    audit_events: list[AuditEvent]


@router.get("/quality-reports", response_model=QualityReportList)
def quality_reports(slug: Slug, ws: WS, limit: Limit = 200, run_id: str | None = None) -> dict:
    found = report_views.list_quality_reports(ws, slug, limit=limit, run_id=run_id)
    return {"ok": True, "count": len(found), "quality_reports": found}


@router.get("/cost-events", response_model=CostEventList)
def cost_events(slug: Slug, ws: WS, limit: Limit = 200, run_id: str | None = None) -> dict:
    found = report_views.list_cost_events(ws, slug, limit=limit, run_id=run_id)
    return {"ok": True, "count": len(found), "cost_events": found}


@router.get("/audit-events", response_model=AuditEventList)
def audit_events(slug: Slug, ws: WS, limit: Limit = 200,
                 code: Annotated[str | None, Query(max_length=100, description="only event codes starting with "
                                                   "this, e.g. secret. or sync.")] = None) -> dict:
    found = audit_rows(ws, slug, limit=limit, code_prefix=code or None)
    return {"ok": True, "count": len(found), "audit_events": found}
