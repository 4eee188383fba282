"""Project secrets: Fernet at rest, masked listing, rotation with old keys still readable, and
providers that fall back to a project's own key after the call option and the environment."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from kroma_kit.catalog.projects import create_project
from kroma_kit.errors import ConfigError, NotFoundError, StorageError
from kroma_kit.providers.bg_http import RemoveBgRemover
from kroma_kit.security import secrets as vault
from kroma_kit.storage.secret_box import key_file_path, key_ref, load_master_keys
from tests.conftest import cli_env
from tests.fakes.bg_api_servers import FakeBgApi
from tests.fakes.comic_images import flat_figure

VALUE = "sk-proj-SECRET-abc123XYZ-0001"


@pytest.fixture
def project(workspace, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("KROMA_MASTER_KEY", raising=False)
    monkeypatch.delenv("KROMA_MASTER_KEY_PREVIOUS", raising=False)
    return create_project(workspace, "ep1", "Episode 1")


def _catalog_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in home.glob("catalog.db*"))


def test_set_list_status_delete_never_show_or_store_the_value(workspace, project) -> None:
    answer = vault.set_secret(workspace, "ep1", "OpenAI", "api_key", VALUE + "\n")
    assert answer["created"] and answer["has_value"] and answer["provider_code"] == "openai"
    assert VALUE not in repr(answer)
    key_file = key_file_path(workspace.home)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert VALUE.encode() not in _catalog_bytes(workspace.home)
    listed = vault.list_secrets(workspace, "ep1")
    assert [(s["provider_code"], s["secret_name"], s["has_value"]) for s in listed] == [("openai", "api_key", True)]
    assert vault.secret_value(workspace, project["id"], "openai", ("api_key",)) == VALUE
    again = vault.set_secret(workspace, "ep1", "openai", "api_key", "sk-second-value")
    assert not again["created"]
    status = vault.secret_status(workspace, "ep1")
    assert (status["total"], status["encrypted"], status["plaintext"]) == (1, 1, 0)
    assert status["key_refs"] == [{"key_ref": status["current_key_ref"], "count": 1, "current": True,
                                   "readable": True}]
    vault.delete_secret(workspace, "ep1", "openai", "api_key")
    assert vault.list_secrets(workspace, "ep1") == []
    with pytest.raises(NotFoundError, match="has no secret openai/api_key"):
        vault.delete_secret(workspace, "ep1", "openai", "api_key")
    from kroma_kit.security.audit_view import audit_rows

    codes = [row["event_code"] for row in audit_rows(workspace, "ep1", code_prefix="secret.")]
    assert codes == ["secret.deleted", "secret.set", "secret.set"]


def test_rotation_reencrypts_and_old_keys_stay_readable(workspace, project) -> None:
    vault.set_secret(workspace, "ep1", "openai", "api_key", VALUE)
    vault.set_secret(workspace, "ep1", "removebg", "api_key", "rb-value-77")
    first_ref = vault.secret_status(workspace, "ep1")["current_key_ref"]
    report = vault.rotate_secrets(workspace, "ep1", new_key=True)
    assert (report.scanned, report.rotated, report.skipped_current_key_ref) == (2, 2, 0)
    assert report.key_ref != first_ref
    keys = load_master_keys(workspace.home, create=False)
    assert keys is not None and keys.refs[1] == first_ref  # old key kept, after the new one
    assert vault.secret_value(workspace, project["id"], "removebg", ("api_key",)) == "rb-value-77"
    status = vault.secret_status(workspace, "ep1")
    assert [r["key_ref"] for r in status["key_refs"]] == [report.key_ref]
    second = vault.rotate_secrets(workspace, "ep1", new_key=False)
    assert (second.rotated, second.skipped_current_key_ref) == (0, 2)
    third = vault.rotate_secrets(workspace, "ep1")  # the key file's default: a new key again
    assert third.new_key and third.rotated == 2 and third.key_ref not in (first_ref, report.key_ref)


def test_master_key_from_environment_and_wrong_key_errors(workspace, project, monkeypatch) -> None:
    env_key = Fernet.generate_key().decode()
    monkeypatch.setenv("KROMA_MASTER_KEY", env_key)
    vault.set_secret(workspace, "ep1", "openai", "api_key", VALUE)
    assert not key_file_path(workspace.home).exists()
    assert vault.secret_status(workspace, "ep1")["current_key_ref"] == key_ref(env_key.encode())
    monkeypatch.setenv("KROMA_MASTER_KEY", Fernet.generate_key().decode())
    with pytest.raises(StorageError, match="Cannot decrypt secret openai/api_key") as caught:
        vault.secret_value(workspace, project["id"], "openai", ("api_key",))
    assert env_key not in str(caught.value)
    monkeypatch.setenv("KROMA_MASTER_KEY_PREVIOUS", env_key)
    assert vault.secret_value(workspace, project["id"], "openai", ("api_key",)) == VALUE
    moved = vault.rotate_secrets(workspace, "ep1")  # env key: re-encrypt under the new one, make none
    assert (moved.new_key, moved.rotated) == (False, 1)
    monkeypatch.delenv("KROMA_MASTER_KEY_PREVIOUS")
    assert vault.secret_value(workspace, project["id"], "openai", ("api_key",)) == VALUE
    monkeypatch.setenv("KROMA_MASTER_KEY", "not-a-key-but-secretish")
    with pytest.raises(ConfigError) as bad:
        vault.set_secret(workspace, "ep1", "openai", "api_key", VALUE)
    assert "not-a-key" not in str(bad.value)
    with pytest.raises(ConfigError, match="comes from KROMA_MASTER_KEY"):
        vault.rotate_secrets(workspace, "ep1", new_key=True)


def test_key_file_readable_by_others_is_refused(workspace, project) -> None:
    vault.set_secret(workspace, "ep1", "openai", "api_key", VALUE)
    os.chmod(key_file_path(workspace.home), 0o644)
    with pytest.raises(StorageError, match="chmod 600"):
        vault.secret_value(workspace, project["id"], "openai", ("api_key",))


def test_provider_key_order_option_then_environment_then_project(workspace, project, monkeypatch) -> None:
    vault.set_secret(workspace, "ep1", "removebg", "api_key", "project-key")
    image = flat_figure()[0]
    with FakeBgApi("removebg", api_key="project-key") as fake:
        remover = RemoveBgRemover(endpoint=fake.url)
        with pytest.raises(Exception, match="Missing REMOVE_BG_API_KEY"):
            remover.remove(image, source_name="a.png")  # outside the project's scope: no key
        with vault.use_project_keys(workspace, project["id"]):
            remover.remove(image, source_name="a.png")
            monkeypatch.setenv("REMOVE_BG_API_KEY", "env-key")
            with pytest.raises(Exception, match="403|401|API Key"):
                remover.remove(image, source_name="a.png")  # the environment wins over the project
            RemoveBgRemover(endpoint=fake.url, api_key="project-key").remove(image, source_name="a.png")
        sent = [r.headers["x-api-key"] for r in fake.requests]
    assert sent == ["project-key", "env-key", "project-key"]


def test_openai_provider_falls_back_to_the_project_secret(workspace, project) -> None:
    from kroma_kit.providers.openai_images import OpenAIImagesProvider

    vault.set_secret(workspace, "ep1", "openai", "api_key", VALUE)
    provider = OpenAIImagesProvider(env={})
    assert provider.describe()["configured"] is False
    with vault.use_project_keys(workspace, project["id"]):
        assert provider.describe()["configured"] is True
        assert OpenAIImagesProvider(env={"OPENAI_API_KEY": "env"}, api_key="option")._require_key() == "option"
    assert VALUE not in repr(provider)


def _kroma(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = cli_env(home)
    env.pop("KROMA_MASTER_KEY", None)
    return subprocess.run([sys.executable, "-m", "kroma_kit", *args], input=stdin, capture_output=True,
                          text=True, env=env, timeout=60)


def test_cli_reads_the_value_from_stdin_and_never_prints_it(kroma_home: Path) -> None:
    assert _kroma(kroma_home, "project", "create", "--slug", "ep1").returncode == 0
    outputs = []
    done = _kroma(kroma_home, "secrets", "set", "--project", "ep1", "openai", "api_key", "--json", stdin=VALUE + "\n")
    assert done.returncode == 0, done.stderr
    outputs.append(done)
    for args in (["secrets", "list", "--project", "ep1"], ["secrets", "status", "--project", "ep1", "--json"],
                 ["secrets", "rotate", "--project", "ep1", "--json"],
                 ["audit", "list", "--project", "ep1", "--json"],
                 ["--debug", "secrets", "delete", "--project", "ep1", "openai", "nope"],
                 ["--debug", "secrets", "set", "--project", "ep1", "openai", "api_key"],
                 ["secrets", "set", "--project", "ep1", "openai", "api_key", VALUE, "--json"]):
        outputs.append(_kroma(kroma_home, *args))
    assert outputs[-3].returncode != 0 and "Traceback" in outputs[-3].stderr
    assert outputs[-2].returncode != 0 and "is empty" in outputs[-2].stderr
    assert outputs[-1].returncode != 0 and "Refusing a secret value on the command line" in outputs[-1].stderr
    assert '"has_value": true' in outputs[0].stdout and "openai" in outputs[1].stdout
    for result in outputs:
        assert VALUE not in result.stdout and VALUE not in result.stderr
    assert VALUE.encode() not in _catalog_bytes(kroma_home)


def test_two_processes_creating_the_key_file_agree_on_one_key(tmp_path: Path) -> None:
    code = ("import sys; from pathlib import Path; from kroma_kit.storage.secret_box import load_master_keys; "
            "print(load_master_keys(Path(sys.argv[1])).current_ref)")
    env = {k: v for k, v in os.environ.items() if k != "KROMA_MASTER_KEY"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env)
             for _ in range(4)]
    refs = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert len(refs) == 1 and refs != {""}
    assert [p.name for p in tmp_path.iterdir()] == ["secrets.key"]  # no temp files left behind


def test_plaintext_legacy_rows_are_counted_and_encrypted_by_rotate(workspace, project) -> None:
    from kroma_kit.catalog import secrets as store
    from kroma_kit.catalog.db import connect, transaction

    conn = connect(workspace.catalog_path)
    try:
        with transaction(conn):
            store.upsert_secret(conn, project["id"], "photoroom", "api_key", "pr-legacy-plain", "plaintext")
            store.upsert_secret(conn, project["id"], "legacy", "token", "legacy-plain-to-delete", "plaintext")
    finally:
        conn.close()
    vault.delete_secret(workspace, "ep1", "legacy", "token")
    assert _gone_after_checkpoint(workspace.home, b"legacy-plain-to-delete")  # zeroed, not just unlinked
    status = vault.secret_status(workspace, "ep1")
    assert (status["total"], status["plaintext"], status["encrypted"]) == (1, 1, 0)
    assert vault.secret_value(workspace, project["id"], "photoroom", ("api_key",)) == "pr-legacy-plain"
    report = vault.rotate_secrets(workspace, "ep1", new_key=False)
    assert (report.plaintext_reencrypted, report.rotated) == (1, 0)
    assert _gone_after_checkpoint(workspace.home, b"pr-legacy-plain")
    assert vault.secret_status(workspace, "ep1")["plaintext"] == 0
    assert vault.secret_value(workspace, project["id"], "photoroom", ("api_key",)) == "pr-legacy-plain"


def _gone_after_checkpoint(home: Path, needle: bytes) -> bool:
    """The WAL keeps old pages until a checkpoint; after it, secure_delete left no trace in the file."""
    import sqlite3

    conn = sqlite3.connect(home / "catalog.db")
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return needle not in _catalog_bytes(home)


def test_worker_threads_never_get_another_projects_key(workspace, project) -> None:
    import threading

    from kroma_kit.providers.keys import resolve_api_key

    other = create_project(workspace, "ep2")
    vault.set_secret(workspace, "ep1", "photoroom", "api_key", "key-of-ep1")
    vault.set_secret(workspace, "ep2", "photoroom", "api_key", "key-of-ep2")

    def on_worker() -> str | None:
        seen: list[str | None] = []
        thread = threading.Thread(target=lambda: seen.append(resolve_api_key("PHOTOROOM_API_KEY", env={})))
        thread.start()
        thread.join()
        return seen[0]

    with vault.use_project_keys(workspace, project["id"]):
        assert on_worker() == "key-of-ep1"  # one scope open: a pool thread of this run finds it
        with vault.use_project_keys(workspace, project["id"]):
            assert on_worker() == "key-of-ep1"  # the same project twice is still unambiguous
        with vault.use_project_keys(workspace, other["id"]):
            assert resolve_api_key("PHOTOROOM_API_KEY", env={}) == "key-of-ep2"  # this thread knows
            assert on_worker() is None  # two projects at once: a worker refuses to guess
    assert on_worker() is None
