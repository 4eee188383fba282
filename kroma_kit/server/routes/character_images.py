"""``/api/projects/{slug}/characters/{character_id}/...``: seed 004's character image workspace
(the seed's ``/v1/characters/:id/...`` routes, inside the project). The three generate routes make
a pipeline run and answer at once with its id (``pipeline_trigger``, as ``runs/trigger`` does);
the images appear in ``images`` when the run ends, its progress is read from the runs routes.
The seed generated inside the request and held it open for a whole 360° set. Bad input, an
unconfirmed paid provider or a missing reference are refused before anything is written."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from kroma_kit.characters import images
from kroma_kit.characters.generation import CharacterRunRequest
from kroma_kit.characters.overview import prompt_for
from kroma_kit.characters.profiles import find_character
from kroma_kit.server.auth import WS, Slug
from kroma_kit.server.knowledge_models import CharacterImage
from kroma_kit.server.launch import RunLauncher, confined_refs
from kroma_kit.server.models import DeletedResponse, Envelope
from kroma_kit.server.routes import ERRORS
from kroma_kit.server.routes.runs import Trigger, launcher

router = APIRouter(prefix="/api/projects/{slug}/characters/{character_id}", tags=["character images"],
                   responses=ERRORS)
Views = Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(min_length=1, max_length=32)]
Launcher = Annotated[RunLauncher, Depends(launcher)]


class GenerateOptions(BaseModel):
    candidates: int | None = Field(default=None, ge=1, le=64, description="default: the manifest's")
    provider: str | None = Field(default=None, max_length=64,
                                 description="local (free, offline), openai or character_library")
    confirm_spend: bool = Field(default=False, description="required for a paid provider")


class InitialImageRequest(GenerateOptions):
    prompt: str | None = Field(default=None, max_length=20_000, description="default: the suggested prompt")


class SetRequest(GenerateOptions):
    reference_image_id: str | None = Field(default=None, max_length=200, description="default: the best reference")
    views: Views | None = Field(default=None, description="default: the six turnaround views")
    extra_views: Views | None = Field(default=None, description="expressions or poses added to the turnaround")


class SceneRequest(GenerateOptions):
    scene_context: str = Field(min_length=1, max_length=20_000, description="what happens, where")
    reference_image_id: str | None = Field(default=None, max_length=200, description="default: the best reference")
    scene_ref: str | None = Field(default=None, min_length=1, max_length=1000,
                                  description="a scene image inside the project root")


class CharacterTrigger(Trigger):
    character: str
    kind: Literal["reference", "portfolio", "scene"]
    images_url: str


class TriggerResponse(Envelope):
    pipeline_trigger: CharacterTrigger


class ImageList(Envelope):
    count: int
    character_images: list[CharacterImage]


class ImageResponse(Envelope):
    character_image: CharacterImage


class ImageDeleted(DeletedResponse):
    character_image: CharacterImage


class InitialPrompt(Envelope):
    success: bool = True
    prompt: str
    source: str = Field(description="template, or chat when a chat model rewrote it")
    model: str | None = None
    fallback_reason: str | None = None
    latency_ms: int | None = None


def _launch(slug: str, character_id: str, ws: WS, runs: RunLauncher, kind: str, body: GenerateOptions,
            **fields: object) -> dict:
    code = find_character(ws, slug, character_id).code
    request = CharacterRunRequest(project=slug, code=code, kind=kind, candidates=body.candidates,
                                  provider=body.provider, **fields)  # type: ignore[arg-type]
    planned = runs.generate_character(ws, request, confirm_spend=body.confirm_spend)
    base = f"/api/projects/{slug}"
    return {"ok": True, "pipeline_trigger": {
        "mode": "run", "run_id": planned.run_id, "status": "running", "run_url": f"{base}/runs/{planned.run_id}",
        "estimated_cost_usd": planned.estimated_cost_usd, "jobs_total": planned.jobs_total, "character": code,
        "kind": kind, "images_url": f"{base}/characters/{code}/images"}}


@router.post("/generate-initial-image", response_model=TriggerResponse)
def generate_initial_image(slug: Slug, character_id: str, body: InitialImageRequest, ws: WS, runs: Launcher) -> dict:
    """A master reference image (``kroma character reference``)."""
    return _launch(slug, character_id, ws, runs, "reference", body, prompt=body.prompt)


@router.post("/generate-360-set", response_model=TriggerResponse)
def generate_360_set(slug: Slug, character_id: str, body: SetRequest, ws: WS, runs: Launcher) -> dict:
    """The turnaround views from a reference, one run (``kroma character portfolio``)."""
    return _launch(slug, character_id, ws, runs, "portfolio", body, reference_image_id=body.reference_image_id,
                   views=body.views, extra_views=body.extra_views)


@router.post("/generate-scene-image", response_model=TriggerResponse)
def generate_scene_image(slug: Slug, character_id: str, body: SceneRequest, ws: WS, runs: Launcher) -> dict:
    """The character in a scene (``kroma character scene``)."""
    scene_ref = confined_refs(ws, slug, [body.scene_ref])[0] if body.scene_ref else None  # type: ignore[index]
    return _launch(slug, character_id, ws, runs, "scene", body, reference_image_id=body.reference_image_id,
                   scene_context=body.scene_context, scene_ref=scene_ref)


@router.get("/images", response_model=ImageList)
def list_images(slug: Slug, character_id: str, ws: WS,
                kind: Literal["reference", "portfolio_item", "scene"] | None = None,
                include_deleted: Annotated[bool, Query()] = False) -> dict:
    code = find_character(ws, slug, character_id).code
    found = [image.to_dict() for image in images.list_character_images(ws, slug, code, kind=kind,
                                                                      include_deleted=include_deleted)]
    return {"ok": True, "count": len(found), "character_images": found}


@router.get("/images/{image_id}", response_model=ImageResponse)
def get_image(slug: Slug, character_id: str, image_id: str, ws: WS) -> dict:
    code = find_character(ws, slug, character_id).code
    return {"ok": True, "character_image": images.get_character_image(ws, slug, code, image_id).to_dict()}


@router.delete("/images/{image_id}", response_model=ImageDeleted)
def delete_image(slug: Slug, character_id: str, image_id: str, ws: WS) -> dict:
    """Archive the file, mark the image deleted and audit it (a Character Library reference is
    also deleted remotely, once)."""
    code = find_character(ws, slug, character_id).code
    image = images.delete_character_image(ws, slug, code, image_id)
    return {"ok": True, "deleted": True, "id": image.id, "character_image": image.to_dict()}


@router.get("/initial-image-prompt", response_model=InitialPrompt)
def initial_image_prompt(slug: Slug, character_id: str, ws: WS, suggest: bool = False) -> dict:
    """The prompt the reference panel pre-fills, built only from the character's data; with
    ``suggest`` the configured chat model rewrites it (falls back to the template, saying why)."""
    code = find_character(ws, slug, character_id).code
    return {"ok": True, "success": True, **prompt_for(ws, slug, code, use_chat=suggest).to_dict()}
