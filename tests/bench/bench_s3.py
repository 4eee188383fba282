"""S3 resync: pushing an unchanged 200-file project again against its first push, same run; and
S3-first write-through: what one output costs to put into the bucket as it is made, and to fetch
back (verified) after the local cache was evicted.

Both pushes go through boto3 over HTTP to moto on 127.0.0.1 and pay the same fixed costs (the
catalog, the local scan, one LIST). The first uploads and hashes everything; the resync must
find from its sync state that nothing changed: one LIST, no hashing, no HEAD, no PUT. Files are
1 MiB, smaller than a generated 1024x1536 PNG panel (2-4 MB); uploads run 4 at a time, as by
default. The resync figure is the median of several pushes.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench.lines import BenchLine, ratio  # noqa: E402

FILES = 200
FILE_BYTES = 1024 * 1024
RESYNC_RUNS = 5
FIRST_FILES = 40
FIRST_BYTES = 2 * 1024 * 1024  # a generated panel is 2-4 MB


def bench() -> list[BenchLine]:
    import boto3

    from kroma_kit.catalog import open_workspace
    from kroma_kit.catalog.projects import create_project
    from kroma_kit.sync.policy import set_s3
    from kroma_kit.sync.push import push_project
    from tests.fakes.s3_server import MotoS3

    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_CONFIG_FILE",
                                            "AWS_SHARED_CREDENTIALS_FILE")}
    with tempfile.TemporaryDirectory() as tmp, MotoS3() as server:
        os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                          AWS_CONFIG_FILE=f"{tmp}/none", AWS_SHARED_CREDENTIALS_FILE=f"{tmp}/none")
        try:
            bucket = f"bench-{uuid.uuid4().hex[:8]}"
            boto3.client("s3", endpoint_url=server.url, region_name="us-east-1").create_bucket(Bucket=bucket)
            ws = open_workspace(Path(tmp) / "home")
            root = Path(create_project(ws, "bench")["root"])
            for i in range(FILES):
                (root / "outputs" / f"panel_{i:03d}.png").write_bytes(os.urandom(FILE_BYTES))
            set_s3(ws, "bench", bucket=bucket, prefix="bench", endpoint_url=server.url, enabled=True)

            started = time.perf_counter()
            first = push_project(ws, "bench")
            first_s = time.perf_counter() - started
            timings = []
            for _ in range(RESYNC_RUNS):
                started = time.perf_counter()
                again = push_project(ws, "bench")
                timings.append(time.perf_counter() - started)
                if again.transferred or again.bytes_transferred or again.unchanged != FILES:
                    raise AssertionError(f"resync moved data: {again.counts()}")
            put_ms, fetch_ms = _s3_first(ws, bucket, server.url)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    if first.transferred != FILES:
        raise AssertionError(f"first push uploaded {first.transferred} of {FILES} files")
    resync_s = statistics.median(timings)
    return [BenchLine("s3_resync", ratio(first_s, resync_s), ">= 20x",
                      extra=f"first push {first_s:.2f} s ({FILES} x {FILE_BYTES // 1024} KiB), "
                            f"unchanged resync {resync_s * 1000:.0f} ms (median of {RESYNC_RUNS}), 0 bytes"),
            BenchLine("s3_first_put_ms", f"{statistics.median(put_ms):.0f} ms", "<= 250 ms per output on loopback",
                      extra=f"fetch after evict {statistics.median(fetch_ms):.0f} ms (medians of {FIRST_FILES} x "
                            f"{FIRST_BYTES // MIB} MiB outputs, one at a time as a run writes them)")]


MIB = 1024 * 1024


def _s3_first(ws, bucket: str, url: str) -> tuple[list[float], list[float]]:
    """Per output: the write-through put (hash, PUT, catalog rows), then, after evicting the cache,
    the read-back through local_copy (HEAD, GET into a temp file, sha256 check, rename)."""
    from kroma_kit.catalog.projects import create_project
    from kroma_kit.sync.files import evict, local_copy
    from kroma_kit.sync.policy import set_s3
    from kroma_kit.sync.s3_first import put_outputs

    project = create_project(ws, "first")
    root = Path(project["root"])
    set_s3(ws, "first", bucket=bucket, prefix="bench", endpoint_url=url, mode="s3")
    put_ms, fetch_ms = [], []
    rels = [f"outputs/first_{i:03d}.png" for i in range(FIRST_FILES)]
    for rel in rels:
        (root / rel).write_bytes(os.urandom(FIRST_BYTES))
        started = time.perf_counter()
        report = put_outputs(ws, project, [rel])
        put_ms.append((time.perf_counter() - started) * 1000)
        if list(report.uploaded) != [rel]:
            raise AssertionError(f"write-through did not upload {rel}: {report.to_dict()}")
    if len(evict(ws, "first").evicted) != FIRST_FILES:
        raise AssertionError("evict left outputs in the cache")
    for rel in rels:
        started = time.perf_counter()
        local_copy(ws, project, rel)
        fetch_ms.append((time.perf_counter() - started) * 1000)
    return put_ms, fetch_ms


if __name__ == "__main__":
    for line in bench():
        print(line.render())
