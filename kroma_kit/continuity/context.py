"""What the continuity gate compares against, as plain typed inputs this package owns.

The gate never reads the catalog or the manifest itself: a *resolver* (:mod:`.resolve`) builds a
:class:`ContinuityContext` from whatever a project has (today: the manifest's style and character
refs; later: the knowledge tables' characters, reference sets and style guide), so metrics,
calibration, the gate and the evaluation all run on the same small types, in tests and in runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kroma_kit.errors import InputError

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def parse_hex(colour: str) -> tuple[int, int, int]:
    """``"#c8342e"`` -> (200, 52, 46); a bad value is a one-line InputError."""
    match = _HEX.match(str(colour).strip())
    if not match:
        raise InputError(f"Signature colour {colour!r} is not a hex colour like '#c8342e'. Fix the character's "
                         "identity constraints.")
    value = match.group(1)
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


@dataclass(frozen=True)
class StyleReference:
    """The project's style reference set: the images that show its one drawing hand."""

    paths: tuple[Path, ...]
    name: str = "style"

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", tuple(Path(p) for p in self.paths))


@dataclass(frozen=True)
class CharacterReference:
    """One character: a code (``mara``), its reference images (reference sheet + portfolio, on a
    transparent or plain background) and its signature colours (hex; empty = derive them from
    the references' own dominant colours)."""

    code: str
    paths: tuple[Path, ...]
    signature_colours_hex: tuple[str, ...] = ()
    name: str | None = None

    def __post_init__(self) -> None:
        if not _CODE.match(self.code):
            raise InputError(f"Character code {self.code!r} must be lowercase letters, digits, '_' or '-'.")
        object.__setattr__(self, "paths", tuple(Path(p) for p in self.paths))
        object.__setattr__(self, "signature_colours_hex", tuple(self.signature_colours_hex))
        for colour in self.signature_colours_hex:
            parse_hex(colour)


@dataclass(frozen=True)
class ContinuityContext:
    """Everything one project's gate compares against. ``style`` None means no style reference set
    (style drift is not measured); characters are keyed by code."""

    style: StyleReference | None
    characters: dict[str, CharacterReference] = field(default_factory=dict)
    project: str | None = None
    # Earlier outputs of the project in its hand, (stage, file): winners the gate passed and
    # candidates a person approved. Calibration only: they widen "same" to the project's real
    # spread; shots are never compared with them.
    outputs: tuple[tuple[str, Path], ...] = ()

    def character(self, code: str) -> CharacterReference:
        try:
            return self.characters[code]
        except KeyError:
            known = ", ".join(sorted(self.characters)) or "none"
            raise InputError(f"Unknown character {code!r}: this project's characters are {known}. "
                             "Pick one of those or add its reference images.") from None

    def characters_for(self, codes: Sequence[str]) -> list[CharacterReference]:
        return [self.character(code) for code in codes]

    def fingerprint(self) -> dict[str, object]:
        """What a calibration was made from (paths, sizes, mtimes), to tell when it is stale."""
        def files(paths: Sequence[Path]) -> list[list[object]]:
            out: list[list[object]] = []
            for path in paths:
                try:
                    info = path.stat()
                    out.append([path.as_posix(), info.st_size, info.st_mtime_ns])
                except OSError:
                    out.append([path.as_posix(), None, None])
            return out

        return {"style": files(self.style.paths) if self.style else [],
                "outputs": [[stage, path.as_posix()] for stage, path in self.outputs],
                "characters": {code: {"files": files(ref.paths), "signature": list(ref.signature_colours_hex)}
                               for code, ref in sorted(self.characters.items())}}
