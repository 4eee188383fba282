"""S3 object mechanics for project sync, through boto3 (no ``aws`` CLI): client, LIST, HEAD,
upload with our sha256 in the object metadata, verified download, batched delete.

Change detection does not trust ETags (multipart and SSE ETags are not MD5s,
``reference/provider-wire.md`` §8.2): every object we write carries ``x-amz-meta-sha256``.
Errors come back as one-line :class:`~kroma_kit.errors.StorageError` that name the endpoint, the
bucket and the key, never credentials.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kroma_kit.errors import StorageError

SHA_META = "sha256"
MIB = 1024 * 1024
HASH_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class S3Location:
    """Where a project lives in a bucket: ``s3://<bucket>/<prefix>/<slug>/`` (no prefix: ``<slug>/``)."""

    bucket: str
    prefix: str
    slug: str
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None

    @property
    def key_prefix(self) -> str:
        parts = [p for p in (self.prefix.strip("/"), self.slug) if p]
        return "/".join(parts) + "/"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key_prefix}"

    @property
    def destination(self) -> str:
        """What sync state is keyed by: the same folder at another endpoint is another place."""
        return f"{self.endpoint_url or 'aws'}|{self.uri}"

    def key(self, rel_path: str) -> str:
        return self.key_prefix + rel_path

    def rel(self, key: str) -> str | None:
        """The project-relative path of ``key``, or None when it is not under this project."""
        return key[len(self.key_prefix):] if key.startswith(self.key_prefix) and key != self.key_prefix else None


@dataclass(frozen=True)
class Credentials:
    """Explicit keys (from the project's secrets); ``repr`` never shows them."""

    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class RemoteObject:
    key: str
    size: int
    etag: str


@dataclass(frozen=True)
class TransferSettings:
    """Multipart above ``multipart_threshold`` (boto3 TransferConfig); retries per request."""

    multipart_threshold: int = 8 * MIB
    multipart_chunksize: int = 8 * MIB
    max_concurrency: int = 4
    max_attempts: int = 3
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 60.0

    def transfer_config(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(multipart_threshold=self.multipart_threshold,
                              multipart_chunksize=self.multipart_chunksize,
                              max_concurrency=self.max_concurrency, use_threads=self.max_concurrency > 1)


_CLIENTS: dict[tuple[Any, ...], Any] = {}
_CHAIN_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
              "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_DEFAULT_REGION", "AWS_REGION")
_CLIENTS_LOCK = threading.Lock()


def make_client(location: S3Location, *, credentials: Credentials | None = None,
                settings: TransferSettings | None = None) -> Any:
    """A boto3 S3 client: explicit credentials when given, else the usual boto3 chain (env, profile,
    instance role). Checksums only when required, so S3-compatible servers accept our requests.

    Clients are thread-safe and costly to build (~0.1 s of model loading), so one per endpoint,
    region, profile and credentials is kept for the process. Timestamps are left as text: sync
    decides by sha256 and size, and parsing a thousand ``LastModified`` values per LIST page with
    dateutil was most of an unchanged push.
    """
    settings = settings or TransferSettings()
    # Keyed by everything that picks the credentials (hashed: the key is kept in memory), so a
    # changed environment or profile builds a new client instead of reusing stale credentials.
    chain = (credentials.access_key_id, credentials.secret_access_key, credentials.session_token) if credentials \
        else tuple(os.environ.get(name, "") for name in _CHAIN_ENV)
    cache_key = (location.endpoint_url, location.region, location.profile,
                 hashlib.sha256(repr(chain).encode()).hexdigest(),
                 settings.max_attempts, settings.connect_timeout_s, settings.read_timeout_s)
    with _CLIENTS_LOCK:
        cached = _CLIENTS.get(cache_key)
    if cached is not None:
        return cached
    import boto3
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    config = Config(
        request_checksum_calculation="when_required", response_checksum_validation="when_required",
        retries={"max_attempts": settings.max_attempts, "mode": "standard"},
        connect_timeout=settings.connect_timeout_s, read_timeout=settings.read_timeout_s,
        s3={"addressing_style": "path"} if location.endpoint_url else None)
    try:
        core = botocore.session.Session()
        core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=str)
        if credentials is not None:
            session = boto3.session.Session(
                aws_access_key_id=credentials.access_key_id, aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token, region_name=location.region or None,
                botocore_session=core)
        else:
            session = boto3.session.Session(profile_name=location.profile or None,
                                            region_name=location.region or None, botocore_session=core)
        client = session.client("s3", endpoint_url=location.endpoint_url or None, config=config)
    except BotoCoreError as exc:
        raise StorageError(f"Cannot set up the S3 client for {location.uri}: {exc}. Check --profile, "
                           "--region and --endpoint-url with `kroma storage show`.") from None
    with _CLIENTS_LOCK:
        return _CLIENTS.setdefault(cache_key, client)


def describe_error(exc: BaseException, action: str, location: S3Location, key: str | None = None) -> str:
    """One line: what failed where and why, plus what to do (never credentials)."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    where = f"s3://{location.bucket}/{key}" if key else location.uri
    endpoint = location.endpoint_url or "AWS"
    if isinstance(exc, EndpointConnectionError):
        return (f"S3 {action} failed: cannot reach the endpoint {endpoint} ({where}). Check the network and "
                "--endpoint-url; nothing local was changed, the next sync continues where this one stopped.")
    if isinstance(exc, NoCredentialsError):
        return (f"S3 {action} failed for {where}: no AWS credentials. Use a profile (--profile), the "
                "AWS_* environment, or `kroma secrets set --project P aws access_key_id` and "
                "`... aws secret_access_key`.")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = error.get("Code") or status
        hint = {"NoSuchBucket": "create the bucket or fix --bucket",
                "AccessDenied": "check the credentials' permissions on this bucket and prefix",
                "InvalidAccessKeyId": "check the access key",
                "SignatureDoesNotMatch": "check the secret access key"}.get(str(code), "retry; if it persists, check the S3 service")
        return f"S3 {action} failed for {where}: {code} {error.get('Message', '')}".rstrip() + f" ({hint})."
    return f"S3 {action} failed for {where}: {type(exc).__name__}: {exc}"


def s3_errors() -> tuple[type[BaseException], ...]:
    """The exception types a boto3 call raises for service and transport problems."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError, S3UploadFailedError)


def list_objects(client: Any, location: S3Location) -> dict[str, RemoteObject]:
    """Every object under the project's prefix, keyed by project-relative path (paginated LIST)."""
    found: dict[str, RemoteObject] = {}
    try:
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=location.bucket, Prefix=location.key_prefix):
            for item in page.get("Contents", []):
                rel = location.rel(item["Key"])
                if rel is not None:
                    found[rel] = RemoteObject(item["Key"], int(item["Size"]), str(item.get("ETag", "")))
    except s3_errors() as exc:
        raise StorageError(describe_error(exc, "list", location)) from None
    return found


def head_sha256(client: Any, location: S3Location, key: str) -> tuple[str | None, RemoteObject | None]:
    """(sha256 from our metadata or None, the object) for ``key``; (None, None) when it is gone."""
    from botocore.exceptions import ClientError

    try:
        head = client.head_object(Bucket=location.bucket, Key=key)
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
            return None, None
        raise StorageError(describe_error(exc, "head", location, key)) from None
    except s3_errors() as exc:
        raise StorageError(describe_error(exc, "head", location, key)) from None
    meta = {k.lower(): v for k, v in (head.get("Metadata") or {}).items()}
    return meta.get(SHA_META), RemoteObject(key, int(head["ContentLength"]), str(head.get("ETag", "")))


def upload_file(client: Any, location: S3Location, path: Path, key: str, sha256: str, *,
                settings: TransferSettings, content_type: str | None = None,
                on_bytes: Callable[[int], None] | None = None) -> str:
    """Upload ``path`` to ``key`` with its sha256 as metadata; return the new ETag.

    Small files go up in one PUT (whose answer carries the ETag); files above the multipart
    threshold go through s3transfer (parts, retried, aborted on failure) and a HEAD reads the ETag.
    Raises the boto3 error; the caller decides whether one failure stops the sync.
    """
    extra: dict[str, Any] = {"Metadata": {SHA_META: sha256}}
    if content_type:
        extra["ContentType"] = content_type
    size = path.stat().st_size
    if size < settings.multipart_threshold:
        with open(path, "rb") as handle:
            answer = client.put_object(Bucket=location.bucket, Key=key, Body=handle, **extra)
        if on_bytes:
            on_bytes(size)
        return str(answer.get("ETag", ""))
    client.upload_file(str(path), location.bucket, key, ExtraArgs=extra, Config=settings.transfer_config(),
                       Callback=on_bytes)
    return str(client.head_object(Bucket=location.bucket, Key=key).get("ETag", ""))


def download_to(client: Any, location: S3Location, key: str, target: Path, *, settings: TransferSettings,
                on_bytes: Callable[[int], None] | None = None) -> None:
    """Download ``key`` into ``target`` (a temp path the caller verifies before moving into place)."""
    client.download_file(location.bucket, key, str(target), Config=settings.transfer_config(), Callback=on_bytes)


def delete_keys(client: Any, location: S3Location, keys: list[str]) -> list[str]:
    """Delete ``keys`` (all under this project's prefix, checked) in batches of 1000; return the
    keys S3 reported as not deleted."""
    stray = [k for k in keys if location.rel(k) is None]
    if stray:
        raise StorageError(f"Refusing to delete {len(stray)} key(s) outside {location.uri} (e.g. {stray[0]}).")
    failed: list[str] = []
    for start in range(0, len(keys), 1000):
        batch = keys[start:start + 1000]
        try:
            answer = client.delete_objects(Bucket=location.bucket,
                                           Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
        except s3_errors() as exc:
            raise StorageError(describe_error(exc, "delete", location)) from None
        failed += [err["Key"] for err in answer.get("Errors", [])]
    return failed


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def temp_beside(target: Path) -> Path:
    """A hidden temp name in the target's folder, so the final rename stays on one filesystem."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.parent / f".{target.name}.{os.getpid()}.pull.tmp"
