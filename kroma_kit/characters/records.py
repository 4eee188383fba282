"""Typed records of the knowledge layer: what crosses from the characters service to faces and
to other services (the continuity gate reads :class:`Character` and its
:class:`IdentityConstraints`).

The catalog returns plain rows; these types validate what goes in (codes, hex colours, known
keys) and give what comes out names instead of string keys.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kroma_kit.catalog.character_images import PORTFOLIO_ORDER
from kroma_kit.errors import InputError

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
HEX_PATTERN = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
DEFAULT_PORTFOLIO_VIEWS = PORTFOLIO_ORDER  # the six turnaround views, in sheet order


def validate_code(code: object) -> str:
    """A character code is a stable short id that also names files: ``^[a-z0-9][a-z0-9_-]{0,63}$``."""
    if not isinstance(code, str) or not code:
        raise InputError("Character code is empty. Use 1-64 characters: a-z, 0-9, '_' and '-', starting "
                         "with a letter or digit (e.g. 'detective').")
    if not CODE_PATTERN.fullmatch(code):
        bad = sorted({ch for ch in code if not re.fullmatch(r"[a-z0-9_-]", ch)})
        detail = f" (not allowed: {' '.join(repr(ch) for ch in bad)})" if bad else \
            (" (longer than 64 characters)" if len(code) > 64 else " (it must start with a letter or digit)")
        raise InputError(f"Invalid character code {code!r}{detail}. Use a-z, 0-9, '_' and '-', starting "
                         "with a letter or digit, at most 64 characters.")
    return code


def normalise_hex(value: str) -> str:
    """``#RGB``/``RRGGBB``/``#rrggbb`` -> ``#rrggbb``; anything else is refused."""
    match = HEX_PATTERN.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not a hex colour like '#c8342e'")
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return f"#{digits}"


def hex_to_rgb(value: str) -> tuple[int, int, int]:
    digits = normalise_hex(value)[1:]
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IdentityConstraints(_Strict):
    """What must hold in every image of a character (``identity_constraints_json``)."""

    hair: str = ""
    eyes: str = ""
    skin: str = ""
    build: str = ""
    outfit: str = ""
    signature_colors: list[str] = Field(default_factory=list)
    must_keep: list[str] = Field(default_factory=list)
    never: list[str] = Field(default_factory=list)

    @field_validator("signature_colors")
    @classmethod
    def _hex(cls, colours: list[str]) -> list[str]:
        return [normalise_hex(colour) for colour in colours]

    @field_validator("must_keep", "never")
    @classmethod
    def _clean(cls, items: list[str]) -> list[str]:
        return [item.strip() for item in items if item.strip()]

    def signature_rgb(self) -> list[tuple[int, int, int]]:
        return [hex_to_rgb(colour) for colour in self.signature_colors]


class StyleRules(_Strict):
    """A style guide's rules (``rules_json``): palette, line weight, forbidden words, notes."""

    palette: list[str] = Field(default_factory=list)
    line_weight: str = ""
    forbidden_words: list[str] = Field(default_factory=list)
    notes: str = ""

    @field_validator("palette")
    @classmethod
    def _hex(cls, colours: list[str]) -> list[str]:
        return [normalise_hex(colour) for colour in colours]

    @field_validator("forbidden_words")
    @classmethod
    def _clean(cls, words: list[str]) -> list[str]:
        return [word.strip() for word in words if word.strip()]


def parse_model(model: type[BaseModel], data: Any, what: str) -> Any:
    """Validate ``data`` as ``model``; one error line naming the fields when it does not fit."""
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}"
                             for err in exc.errors()[:4])
        raise InputError(f"Invalid {what}: {problems}.") from None


@dataclass
class StyleGuide:
    id: str
    project_id: str
    name: str
    description: str
    rules: StyleRules
    is_default: bool
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StyleGuide:
        return cls(id=row["id"], project_id=row["project_id"], name=row["name"], description=row["description"],
                   rules=StyleRules.model_validate(row["rules"]), is_default=bool(row["is_default"]),
                   created_at=row["created_at"], updated_at=row["updated_at"])

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rules"] = self.rules.model_dump()
        return data


@dataclass
class Character:
    """A character of one project: stable ``code``, profile and identity constraints."""

    id: str
    project_id: str
    code: str
    name: str
    bio: str
    identity: IdentityConstraints
    style_guide_id: str | None
    metadata: dict[str, Any]
    created_at: str
    updated_at: str
    deleted_at: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Character:
        return cls(id=row["id"], project_id=row["project_id"], code=row["code"], name=row["name"], bio=row["bio"],
                   identity=IdentityConstraints.model_validate(row["identity"]),
                   style_guide_id=row.get("style_guide_id"), metadata=dict(row.get("metadata") or {}),
                   created_at=row["created_at"], updated_at=row["updated_at"], deleted_at=row.get("deleted_at"))

    @property
    def signature_colors(self) -> list[str]:
        return list(self.identity.signature_colors)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["identity"] = self.identity.model_dump()
        return data


@dataclass
class ReferenceItem:
    id: str
    asset_id: str
    path: Path
    weight: float
    notes: str
    role: str
    sha256: str | None
    width: int | None = None
    height: int | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ReferenceItem:
        return cls(id=row["id"], asset_id=row["asset_id"], path=Path(row["storage_uri"]), weight=float(row["weight"]),
                   notes=row["notes"], role=row["role"], sha256=row.get("sha256"), width=row.get("width"),
                   height=row.get("height"))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = self.path.as_posix()
        return data


@dataclass
class ReferenceSet:
    id: str
    project_id: str
    name: str
    kind: str
    character_id: str | None
    description: str
    metadata: dict[str, Any]
    items: list[ReferenceItem] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: dict[str, Any], items: list[dict[str, Any]]) -> ReferenceSet:
        return cls(id=row["id"], project_id=row["project_id"], name=row["name"], kind=row["kind"],
                   character_id=row.get("character_id"), description=row.get("description") or "",
                   metadata=dict(row.get("metadata") or {}), items=[ReferenceItem.from_row(i) for i in items])

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["items"] = [item.to_dict() for item in self.items]
        return data


@dataclass
class CharacterImage:
    """One image of a character's workspace (seed 004 metadata), with its file when it has one."""

    id: str
    character_id: str
    kind: str
    view: str | None
    provider: str
    prompt: str
    status: str
    asset_id: str | None
    path: Path | None
    sha256: str | None
    source_url: str | None
    external_id: str | None
    error: str | None
    metrics: dict[str, Any]
    run_id: str | None
    job_key: str | None
    created_at: str
    updated_at: str
    deleted_at: str | None = None
    archived_path: str | None = None
    remote_delete: dict[str, Any] = field(default_factory=dict)
    width: int | None = None
    height: int | None = None
    parent_image_id: str | None = None  # the reference a portfolio item or scene was made from

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> CharacterImage:
        uri = row.get("storage_uri")
        return cls(id=row["id"], character_id=row["character_id"], kind=row["kind"], view=row.get("view"),
                   provider=row["provider"], prompt=row["prompt"], status=row["status"],
                   asset_id=row.get("asset_id"), path=Path(uri) if uri else None, sha256=row.get("sha256"),
                   source_url=row.get("source_url"), external_id=row.get("external_id"), error=row.get("error"),
                   metrics=dict(row.get("metrics") or {}), run_id=row.get("run_id"), job_key=row.get("job_key"),
                   created_at=row["created_at"], updated_at=row["updated_at"], deleted_at=row.get("deleted_at"),
                   archived_path=row.get("archived_path"), remote_delete=dict(row.get("remote_delete") or {}),
                   width=row.get("width"), height=row.get("height"), parent_image_id=row.get("parent_image_id"))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = self.path.as_posix() if self.path else None
        return data
