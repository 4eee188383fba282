"""One moto S3 server per test session (HTTP on 127.0.0.1), a fresh bucket per test, and AWS
settings that never reach a real account or the user's ~/.aws."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.fakes.s3_server import FaultProxy, MotoS3


@pytest.fixture(scope="session")
def moto_s3():
    with MotoS3() as server:
        yield server


@pytest.fixture
def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "KROMA_MASTER_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def bucket(moto_s3: MotoS3, aws_env) -> str:
    import boto3

    name = f"kroma-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_s3.url, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_client(moto_s3: MotoS3, aws_env):
    import boto3

    return boto3.client("s3", endpoint_url=moto_s3.url, region_name="us-east-1")


@pytest.fixture
def proxy(moto_s3: MotoS3):
    with FaultProxy(moto_s3.url) as fault_proxy:
        yield fault_proxy
