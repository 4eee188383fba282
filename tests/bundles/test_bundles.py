"""Export and import bundles with a real pipeline run in them: the round trip keeps the analytics,
the files and the runs; secrets stay home; hostile and altered tars are refused untouched."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from kroma_kit import analytics
from kroma_kit.bundles.export import export_project
from kroma_kit.bundles.importer import import_bundle
from kroma_kit.catalog import open_workspace, slices
from kroma_kit.catalog.character_images import insert_image
from kroma_kit.catalog.knowledge import insert_character
from kroma_kit.catalog.projects import create_project, get_project, list_projects
from kroma_kit.catalog.schema import user_tables
from kroma_kit.errors import InputError
from kroma_kit.pipeline.execute import execute_run
from kroma_kit.security.secrets import set_secret
from tests.conftest import cli_env
from tests.pipeline.runsupport import demo, local_request, sample_files  # noqa: F401 - fixtures

SECRET = "sk-bundle-never-exported-0042"


def files_of(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".kroma/thumbnails" not in p.as_posix()}


def summary(ws, slug: str) -> dict:
    data = dict(analytics.project_summary(ws, slug))
    data.pop("project_id", None)
    return json.loads(json.dumps(data, default=str))


def image_chain(ws, slug: str) -> None:
    """Three character images, one naming another as its parent, stored so that a child comes
    before its parent (c <- a <- b, with a written first): a copy must still insert parents first
    (PostgreSQL checks each row's keys as it lands) and know a remapped parent's id in time."""
    project = get_project(ws, slug)
    conn = ws.connect()
    try:
        hero = insert_character(conn, project["id"], "hero", "Hero")
        ids = {}
        for name in ("a", "b", "c"):
            ids[name] = insert_image(conn, project["id"], hero, kind="reference", provider="upload", prompt=name,
                                     status="succeeded", parent_image_id=ids.get("a") if name == "b" else None)
        conn.execute("UPDATE character_images SET parent_image_id = ? WHERE id = ?", (ids["c"], ids["a"]))
    finally:
        conn.close()


def image_parents(ws, slug: str) -> dict[str, str | None]:
    """Each character image's prompt -> its parent's prompt, within the project."""
    project = get_project(ws, slug)
    conn = ws.connect(read_only=True)
    try:
        rows = conn.execute("SELECT c.prompt, p.prompt, p.project_id FROM character_images c LEFT JOIN "
                            "character_images p ON p.id = c.parent_image_id WHERE c.project_id = ?",
                            (project["id"],)).fetchall()
    finally:
        conn.close()
    assert all(r[2] in (None, project["id"]) for r in rows), "a parent image of another project"
    return {r[0]: r[1] for r in rows}


CHAIN = {"a": "c", "b": "a", "c": None}


@pytest.fixture
def exported(workspace, demo, tmp_path: Path, monkeypatch):  # noqa: F811 - pytest fixture
    monkeypatch.delenv("KROMA_MASTER_KEY", raising=False)
    run = execute_run(workspace, local_request(scenes=2, candidates=2))
    set_secret(workspace, "demo", "openai", "api_key", SECRET)
    image_chain(workspace, "demo")
    other = create_project(workspace, "other")
    set_secret(workspace, "other", "removebg", "api_key", "rb-other")
    (Path(other["root"]) / "outputs" / "x.png").write_bytes(b"other project")
    before = summary(workspace, "demo")  # the export asset itself is added after the bundle is written
    result = export_project(workspace, "demo", output=tmp_path / "out" / "demo.tar.gz")
    return workspace, run, result, before


def test_export_holds_only_this_project_and_no_secret_values(exported) -> None:
    ws, run, result, _ = exported
    raw = gzip.decompress(Path(result.path).read_bytes())
    assert SECRET.encode() not in raw and b"rb-other" not in raw
    with tarfile.open(result.path) as tar:
        names = tar.getnames()
        root = names[0].split("/")[0]
        assert root.startswith("demo_") and all(n.split("/")[0] == root for n in names)
        meta = json.loads(tar.extractfile(f"{root}/metadata.json").read())
        db_bytes = tar.extractfile(f"{root}/project.db").read()
    assert meta["secrets"] == [{"provider_code": "openai", "secret_name": "api_key"}]
    assert {f["path"] for f in meta["files"]} == set(files_of(Path(get_project(ws, "demo")["root"])))
    assert meta["row_counts"]["runs"] == 1 and meta["row_counts"]["run_candidates"] == 4
    db_file = Path(result.path).with_suffix(".db")
    db_file.write_bytes(db_bytes)
    conn = sqlite3.connect(db_file)
    try:
        assert [r[0] for r in conn.execute("SELECT slug FROM projects")] == ["demo"]
        assert conn.execute("SELECT COUNT(*) FROM project_api_secrets").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*) FROM assets WHERE storage_uri LIKE '%/other/%'").fetchone()[0] == 0
        assert conn.execute("SELECT id FROM runs").fetchone()[0] == run.run_id
    finally:
        conn.close()
    record = ws.connect()
    try:
        row = record.execute("SELECT * FROM project_exports").fetchone()
        assert row["sha256"] == hashlib.sha256(Path(result.path).read_bytes()).hexdigest()
        assert record.execute("SELECT kind FROM assets WHERE id = ?", (row["export_asset_id"],)).fetchone()[0] == "export"
        assert record.execute("SELECT COUNT(*) FROM audit_events WHERE event_code = 'project.exported'").fetchone()[0] == 1
    finally:
        record.close()


def test_round_trip_into_an_empty_workspace(exported, other_workspace) -> None:
    ws, run, result, at_export = exported
    fresh = other_workspace("machine-2")
    dry = import_bundle(fresh, result.path, dry_run=True)
    assert dry.rows["runs"]["inserted"] == 1 and dry.files["written"] == len(files_of(Path(get_project(ws, "demo")["root"])))
    assert list_projects(fresh) == []
    done = import_bundle(fresh, result.path)
    assert done.created_project and done.rows["run_candidates"]["inserted"] == 4
    old_root, new_root = Path(get_project(ws, "demo")["root"]), Path(get_project(fresh, "demo")["root"])
    assert files_of(new_root) == files_of(old_root)
    assert summary(fresh, "demo") == at_export and image_parents(fresh, "demo") == CHAIN
    shown = subprocess.run([sys.executable, "-m", "kroma_kit", "runs", "show", run.run_id, "--json"],
                           capture_output=True, text=True, env=cli_env(fresh.home, fresh.catalog_url), timeout=60)
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert detail["project_slug"] == "demo" and len(detail["jobs"]) == 2
    assert (new_root / detail["run_log_path"]).is_file() and str(old_root) not in shown.stdout
    again = import_bundle(fresh, result.path)  # merge: everything is already there
    assert sum(c["inserted"] for c in again.rows.values()) == 0
    assert again.files == {"written": 0, "unchanged": len(files_of(new_root)), "archived": 0}


def test_copy_under_a_new_slug_remaps_ids_and_replace_retires_the_old_project(exported) -> None:
    ws, run, result, _ = exported
    copy = import_bundle(ws, result.path, slug="demo-copy")
    assert copy.rows["runs"] == {"provided": 1, "inserted": 1, "unchanged": 0, "remapped": 1}
    assert copy.rows["character_images"]["remapped"] == 3 and image_parents(ws, "demo-copy") == CHAIN
    assert summary(ws, "demo-copy")["total_runs"] == 1
    before = files_of(Path(get_project(ws, "demo")["root"]))
    replaced = import_bundle(ws, result.path, mode="replace")
    assert replaced.replaced_project and replaced.replaced_project.startswith("demo-replaced-")
    retired = get_project(ws, replaced.replaced_project)
    assert retired["status"] == "archived" and files_of(Path(retired["root"])) == before
    assert files_of(Path(get_project(ws, "demo")["root"])) == before
    assert summary(ws, "demo")["total_runs"] == 1


def project_rows(ws, slug: str) -> dict[str, list[str]]:
    """The project's rows per table as the catalog holds them, paths under its root made relative:
    what must travel unchanged (the project row, its storage policy and users are the receiving
    workspace's own; the receiver's "project.imported" audit event is not the sender's)."""
    project = get_project(ws, slug)
    conn = ws.connect(read_only=True)
    try:
        rows = {}
        for part in slices.project_slices(conn):
            if part.table in slices.SPECIAL_TABLES:
                continue
            found = [r for r in slices.slice_rows(conn, part, project["id"])
                     if r.get("event_code") != "project.imported"]
            rows[part.table] = sorted(json.dumps({k: v.replace(project["root"], "<root>") if isinstance(v, str) else v
                                                  for k, v in r.items()}, sort_keys=True) for r in found)
        return rows
    finally:
        conn.close()


def catalog_counts(ws) -> dict[str, int]:
    conn = ws.connect(read_only=True)
    try:
        return {t: slices.count_rows(conn, t) for t in user_tables(conn)}
    finally:
        conn.close()


def with_project_db(result, folder: Path, change: str) -> Path:
    """The exported bundle unpacked into ``folder`` with ``change`` run on its project.db (and the
    metadata's sha256 updated, so only the rows are wrong)."""
    with tarfile.open(result.path) as tar:
        tar.extractall(folder, filter="data")
    bundle = next(folder.iterdir())
    db_file = bundle / "project.db"
    conn = sqlite3.connect(db_file)  # foreign keys off: the edit may break them
    try:
        assert conn.execute(change).rowcount == 1
        conn.commit()
    finally:
        conn.close()
    meta = json.loads((bundle / "metadata.json").read_text())
    meta["project_db_sha256"] = hashlib.sha256(db_file.read_bytes()).hexdigest()
    (bundle / "metadata.json").write_text(json.dumps(meta))
    return bundle


def test_a_dangling_reference_is_refused_and_nothing_is_imported(exported, other_workspace, tmp_path: Path) -> None:
    _ws, _run, result, _ = exported
    bundle = with_project_db(result, tmp_path / "dangling", "UPDATE assets SET run_id = 'no-such-run' WHERE id = "
                             "(SELECT id FROM assets WHERE run_id IS NOT NULL ORDER BY id LIMIT 1)")
    fresh = other_workspace("machine-5")
    before = catalog_counts(fresh)
    for dry_run in (True, False):
        with pytest.raises(InputError, match=r"point at rows it does not hold \(table assets.*nothing was imported"):
            import_bundle(fresh, bundle, dry_run=dry_run)
    assert catalog_counts(fresh) == before and list_projects(fresh, include_archived=True) == []
    assert not (fresh.projects_dir / "demo").exists()


@pytest.mark.parametrize("catalog_engine,receiver", [("postgresql", "sqlite"), ("sqlite", "postgresql")],
                         indirect=["catalog_engine"])
def test_a_bundle_moves_between_engines_with_every_row_equal(workspace, demo, other_workspace, receiver,  # noqa: F811
                                                              tmp_path: Path) -> None:
    execute_run(workspace, local_request(scenes=1, candidates=2))
    image_chain(workspace, "demo")
    sent = project_rows(workspace, "demo")
    bundle = export_project(workspace, "demo", output=tmp_path / "out" / "demo.tar.gz")
    home = other_workspace("machine-6", engine=receiver)
    assert home.engine == receiver != workspace.engine
    import_bundle(home, bundle.path)
    assert sent["runs"] and sent["run_candidates"] and sent["assets"] and len(sent["character_images"]) == 3
    assert project_rows(home, "demo") == sent


def _tar_with(tmp_path: Path, name: str, add) -> Path:
    path = tmp_path / name
    with tarfile.open(path, "w:gz") as tar:
        add(tar)
    return path


def _file(tar: tarfile.TarFile, name: str, data: bytes = b"x", **attrs) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in attrs.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("kind,message", [
    ("absolute", "absolute paths"), ("dotdot", "'..'"), ("symlink", "links"), ("hardlink", "links"),
    ("device", "devices"), ("oversize", "limit per file"), ("two-roots", "one top folder")])
def test_hostile_tars_are_refused_before_anything_is_written(workspace, tmp_path: Path, kind, message) -> None:
    def add(tar: tarfile.TarFile) -> None:
        _file(tar, "b/metadata.json", b"{}")
        if kind == "absolute":
            _file(tar, "/etc/evil")
        elif kind == "dotdot":
            _file(tar, "b/files/../../evil")
        elif kind == "symlink":
            info = tarfile.TarInfo("b/files/link")
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
        elif kind == "hardlink":
            info = tarfile.TarInfo("b/files/hard")
            info.type, info.linkname = tarfile.LNKTYPE, "b/metadata.json"
            tar.addfile(info)
        elif kind == "device":
            info = tarfile.TarInfo("b/files/dev")
            info.type = tarfile.CHRTYPE
            tar.addfile(info)
        elif kind == "oversize":
            _file(tar, "b/files/big.bin", b"0" * 5000)
        elif kind == "two-roots":
            _file(tar, "c/other")

    bundle = _tar_with(tmp_path, f"{kind}.tar.gz", add)
    before = sorted(p.name for p in workspace.home.iterdir())
    with pytest.raises(InputError, match=message):
        import_bundle(workspace, bundle, max_member_bytes=1000)
    assert sorted(p.name for p in workspace.home.iterdir()) == before
    assert not (tmp_path.parent / "evil").exists() and list_projects(workspace) == []


def test_an_altered_file_is_caught_by_its_sha256(exported, tmp_path: Path) -> None:
    _ws, _run, result, _ = exported
    altered = tmp_path / "altered.tar.gz"
    with tarfile.open(result.path) as src, tarfile.open(altered, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read() if member.isfile() else None
            if member.name.endswith(".png") and "/files/outputs/" in member.name and data is not None:
                data = data[:-1] + bytes([data[-1] ^ 1])
                altered_name = member.name
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    fresh = open_workspace(tmp_path / "machine-3")
    with pytest.raises(InputError, match="does not match its size/sha256"):
        import_bundle(fresh, altered)
    assert list_projects(fresh) == [] and not (fresh.projects_dir / "demo").exists()
    assert altered_name


def test_folder_export_without_files_and_cli(exported, tmp_path: Path) -> None:
    ws, _run, _result, _ = exported
    folder = tmp_path / "bundle-dir"
    out = subprocess.run([sys.executable, "-m", "kroma_kit", "project", "export", "demo", "--output", str(folder),
                          "--no-files", "--json"], capture_output=True, text=True, env=cli_env(ws.home), timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["format"] == "folder" and sorted(p.name for p in folder.iterdir()) == [
        "files", "metadata.json", "project.db"]
    fresh = tmp_path / "machine-4"
    imp = subprocess.run([sys.executable, "-m", "kroma_kit", "project", "import", str(folder), "--slug", "fromdir",
                          "--json"], capture_output=True, text=True, env=cli_env(fresh), timeout=60)
    assert imp.returncode == 0, imp.stderr
    assert json.loads(imp.stdout)["rows"]["runs"]["inserted"] == 1
    assert SECRET not in out.stdout + imp.stdout
    listed = subprocess.run([sys.executable, "-m", "kroma_kit", "project", "exports", "demo", "--json"],
                            capture_output=True, text=True, env=cli_env(ws.home), timeout=60)
    rows = json.loads(listed.stdout)
    assert [(r["format"], r["include_files"], r["present"]) for r in rows] == [("folder", False, True),
                                                                                ("tar.gz", True, True)]
