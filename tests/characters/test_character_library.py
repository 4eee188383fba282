"""The Character Library provider against a fake service on loopback (seed 004 wire format):
every publicUrl is downloaded and ingested (sha256, size cap, must decode), a 500 is surfaced
once with no record, the 360 set comes back in one call, and deleting a reference sends its
remote DELETE once (a failure is recorded, not raised)."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from PIL import Image

from kroma_kit.catalog.audit import list_events
from kroma_kit.characters import images
from kroma_kit.characters.generation import CharacterRunRequest, generate_character_images
from kroma_kit.errors import ProviderError, ProviderNotConfigured
from kroma_kit.providers.character_library import CharacterLibraryProvider
from kroma_kit.storage.runlog import load_run_log
from tests.fakes.character_library_server import FakeCharacterLibrary


@pytest.fixture
def library(monkeypatch):
    with FakeCharacterLibrary() as fake:
        monkeypatch.setenv("CHARACTER_LIBRARY_API_URL", fake.url)
        yield fake


def _req(kind: str, **fields) -> CharacterRunRequest:
    return CharacterRunRequest(project="demo", code="courier", kind=kind, provider="character_library",
                               candidates=1, **fields)


def _count(workspace) -> int:
    return len(images.list_character_images(workspace, "demo", "courier", include_deleted=True))


def test_reference_is_downloaded_and_ingested_with_its_remote_ids(workspace, chars_project, library):
    result = generate_character_images(workspace, _req("reference"))
    (image,) = result.images
    (call,) = library.generate_calls()
    assert call.path == "/api/v1/characters/courier/reference-image" and "The Courier" in call.body["prompt"]
    file_id = image.external_id
    assert image.source_url == f"{library.url}/files/{file_id}.png"
    assert image.metrics["download_sha256"] == hashlib.sha256(library.files[file_id]).hexdigest()
    with Image.open(image.path) as stored, Image.open(io.BytesIO(library.files[file_id])) as served:
        assert stored.tobytes() == served.tobytes()  # same pixels; the file also carries its generation record
    assert image.path.is_file() and str(image.path).startswith(chars_project["root"])  # never external-only
    assert image.provider == "character_library" and image.metrics["duration_ms"] >= 0


def test_portfolio_is_one_360_call_for_all_views(workspace, chars_project, library):
    result = generate_character_images(workspace, _req("portfolio"))
    calls = library.generate_calls()
    assert [c.path.rsplit("/", 1)[1] for c in calls] == ["360-set"]
    assert calls[0].body["views"] == [i.view for i in result.images] and len(result.images) == 6
    assert "referenceImageBase64" in calls[0].body  # the sample sheet was never at the library
    assert len({i.sha256 for i in result.images}) == 6


def test_a_500_is_surfaced_once_with_no_record(workspace, chars_project, library):
    before = _count(workspace)
    library.fail_next(500, "library is down")
    with pytest.raises(ProviderError, match="HTTP 500: library is down"):
        generate_character_images(workspace, _req("reference"))
    assert len(library.generate_calls()) == 1  # no retry
    assert _count(workspace) == before


def test_a_500_on_the_360_set_fails_every_view_with_one_call(workspace, chars_project, library):
    before = _count(workspace)
    library.fail_next(500)
    with pytest.raises(ProviderError, match="HTTP 500"):
        generate_character_images(workspace, _req("portfolio"))
    assert len(library.generate_calls()) == 1 and _count(workspace) == before


@pytest.mark.parametrize("fault, message", [
    ("missing_file_next", "HTTP 404"),
    ("not_an_image_next", "not a usable image"),
])
def test_bad_downloads_are_refused_with_no_record(workspace, chars_project, library, fault, message):
    before = _count(workspace)
    getattr(library, fault)()
    with pytest.raises(ProviderError, match=message):
        generate_character_images(workspace, _req("reference"))
    assert _count(workspace) == before


def test_oversize_and_timeouts_are_refused(chars_project, library):
    from kroma_kit.providers.character_request import CharacterImageRequest

    request = CharacterImageRequest(prompt="p", input_images=[], seed=1, character={"code": "courier"})
    small = CharacterLibraryProvider(library.url, max_download_bytes=5000)
    library.huge_file_next(20000)
    with pytest.raises(ProviderError, match="5000-byte cap"):
        small.generate(request)
    impatient = CharacterLibraryProvider(library.url, timeout_s=0.2)
    library.slow_next(1.0)
    with pytest.raises(ProviderError, match="timeout"):
        impatient.generate(request)
    with pytest.raises(ProviderNotConfigured, match="CHARACTER_LIBRARY_API_URL"):
        CharacterLibraryProvider(env={}).generate(request)


def test_delete_archives_marks_audits_and_sends_remote_delete_once(workspace, chars_project, library):
    (image,) = generate_character_images(workspace, _req("reference")).images
    deleted = images.delete_character_image(workspace, "demo", "courier", image.id)
    assert deleted.deleted_at and deleted.archived_path.startswith("archive/deleted/")
    assert not image.path.exists()
    assert (image.path.parents[1] / deleted.archived_path).is_file()
    assert [r.path for r in library.deletes()] == ["/api/v1/characters/courier/reference-image"]
    assert deleted.remote_delete["ok"] is True
    events = [e for e in list_events(workspace.connect(), chars_project["id"]) if e["event_code"] ==
              "character.image_deleted"]
    assert len(events) == 1
    assert image.id not in {i.id for i in images.list_character_images(workspace, "demo", "courier")}
    with pytest.raises(Exception, match="already deleted"):
        images.delete_character_image(workspace, "demo", "courier", image.id)
    assert len(library.deletes()) == 1


def test_remote_delete_failure_is_recorded_not_raised(workspace, chars_project, library):
    (image,) = generate_character_images(workspace, _req("reference")).images
    library.delete_status = 503
    deleted = images.delete_character_image(workspace, "demo", "courier", image.id)
    assert deleted.deleted_at and deleted.remote_delete["ok"] is False
    assert "HTTP 503" in deleted.remote_delete["error"] and len(library.deletes()) == 1


def test_deleting_a_local_image_sends_nothing(workspace, chars_project, library):
    sample = images.best_reference(workspace, "demo", "courier")
    deleted = images.delete_character_image(workspace, "demo", "courier", sample.id)
    assert deleted.remote_delete == {"attempted": False} and library.deletes() == []
    assert images.best_reference(workspace, "demo", "courier") is None


def test_a_failed_portfolio_run_is_resumed_without_a_new_run(workspace, chars_project, library, capsys):
    from kroma_kit.catalog.runs import list_runs
    from kroma_kit.cli.main import main

    library.fail_next(500)
    with pytest.raises(ProviderError, match=r"run ([0-9a-f-]+)"):
        generate_character_images(workspace, _req("portfolio", views=["front", "back"]))
    (run,) = [r for r in list_runs(workspace, "demo") if r["stage"] == "character_portfolio"]
    assert run["status"] == "failed"
    assert main(["run", "--resume", run["id"]]) == 2  # the generic resume points at the character one
    assert "kroma character resume" in capsys.readouterr().err
    assert main(["character", "resume", run["id"], "--json"]) == 0
    resumed = __import__("json").loads(capsys.readouterr().out)
    assert resumed["run"]["run_id"] == run["id"] and resumed["run"]["status"] == "done"
    assert [i["view"] for i in resumed["images"]] == ["front", "back"]
    assert len([c for c in library.generate_calls()]) == 2  # the failed call, then one set for both views
    assert len(images.list_character_images(workspace, "demo", "courier", kind="portfolio_item")) == 2
    # The log says what the resume did, read as fields: whose run it is, what it was, and the
    # failure that was tried again (kept with its attempts, as a pipeline resume keeps it).
    log = load_run_log(resumed["run"]["run_log_path"])
    assert log.character_run is not None and log.character_run.code == "courier"
    assert [entry["previous_status"] for entry in log.resumes] == ["failed"]
    assert log.pid == os.getpid() and log.status == "done"
    retried = [c for job in log.jobs for c in job.candidates if c.previous_failures]
    assert retried and all("HTTP 500" in c.previous_failures[0]["error"] for c in retried)
    assert [a["status"] for c in retried for a in c.previous_failures[0]["attempts"]] == [500]
