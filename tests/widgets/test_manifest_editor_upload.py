"""ManifestEditor upload: images sent from the artist's browser land in the project's ref folder
through import_ref_bytes, join the draft like Add does, and a bad file is named inline while the
others still get added."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from kroma_kit.widgets import ManifestEditor


def _png(colour: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _upload(name: str, data: bytes) -> dict:
    """One entry of an ipywidgets 8 FileUpload value, as the kernel sees a browser upload."""
    return {"name": name, "type": "image/png", "size": len(data), "content": memoryview(data),
            "last_modified": datetime(2026, 1, 5, 9, 30, tzinfo=UTC)}


def _manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


def test_uploaded_images_join_the_draft_and_a_corrupt_one_is_named_inline(workspace, demo_project):
    root = Path(demo_project["root"])
    styles = root / "inputs" / "styles"
    before = sorted(p.name for p in styles.iterdir())
    dusk, fog = _png((200, 90, 40)), _png((180, 180, 190))
    editor = ManifestEditor(workspace, project="demo")
    editor.ref_kind.value = "style"

    editor.ref_upload.value = (_upload("Dusk Glow!.PNG", dusk), _upload("broken.png", b"\x89PNG\r\n\x1a\nnope"),
                               _upload("fog.png", fog))

    assert editor.ref_upload.value == ()  # emptied, so the same files can be sent again
    assert editor.draft_refs["style_refs"] == [
        "inputs/styles/noir_ink.png", "inputs/styles/dusk_glow.png", "inputs/styles/fog.png"]
    assert (styles / "dusk_glow.png").read_bytes() == dusk and (styles / "fog.png").read_bytes() == fog
    assert sorted(p.name for p in styles.iterdir()) == sorted([*before, "dusk_glow.png", "fog.png"])
    assert "broken.png" in editor.last_error and "#b42318" in editor.status.value
    assert "dusk_glow.png" in editor.status.value  # the good ones are reported as added too
    assert "unsaved changes" in editor.refs_title.value
    assert _manifest(root)["style_refs"] == ["inputs/styles/noir_ink.png"]  # only the draft changed

    editor.save_refs_button.click()
    assert _manifest(root)["style_refs"] == [
        "inputs/styles/noir_ink.png", "inputs/styles/dusk_glow.png", "inputs/styles/fog.png"]
    assert "Saved refs" in editor.status.value and editor.problems == []


def test_uploading_the_same_bytes_twice_keeps_one_file(workspace, demo_project):
    scenes = Path(demo_project["root"]) / "inputs" / "scenes"
    alley = _png((30, 30, 90))
    editor = ManifestEditor(workspace, project="demo")
    listed = list(editor.draft_refs["scene_refs"])

    editor.ref_upload.value = (_upload("alley.png", alley),)
    assert editor.last_error is None
    assert editor.draft_refs["scene_refs"] == [*listed, "inputs/scenes/alley.png"]

    editor.ref_upload.value = (_upload("alley.png", alley),)
    assert "already listed" in editor.last_error
    assert editor.draft_refs["scene_refs"] == [*listed, "inputs/scenes/alley.png"]
    assert sorted(p.name for p in scenes.iterdir() if p.name.startswith("alley")) == ["alley.png"]

    editor.ref_upload.value = (_upload("alley.png", _png((90, 30, 30))),)  # same name, other bytes
    assert editor.draft_refs["scene_refs"][-1] == "inputs/scenes/alley-2.png"
    assert (scenes / "alley.png").read_bytes() == alley


def test_refused_uploads_write_nothing(workspace, demo_project):
    bomb = io.BytesIO()
    Image.new("1", (9000, 9000)).save(bomb, format="PNG")  # 81 Mpx in a few KB: over open_image's limit
    root = Path(demo_project["root"])
    files_before = sorted(p.relative_to(root) for p in root.rglob("*"))
    manifest_before = (root / "manifest.json").read_bytes()
    editor = ManifestEditor(workspace, project="demo")
    draft = {field: list(refs) for field, refs in editor.draft_refs.items()}

    added = editor.upload_refs([_upload("notes.txt", b"just text"), _upload("empty.png", b""),
                                _upload("no_extension", _png((1, 2, 3))), _upload("bomb.png", bomb.getvalue())],
                               kind="character")

    assert added == []
    for name in ("notes.txt", "empty.png", "no_extension", "bomb.png"):
        assert name in editor.last_error
    assert "decompression bomb" in editor.last_error
    assert editor.draft_refs == draft
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == files_before
    assert (root / "manifest.json").read_bytes() == manifest_before
