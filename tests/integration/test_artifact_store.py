"""Artifact store: the same behaviour on the folder backend and on S3 (moto over real HTTP).

The ``store`` / ``store_url`` fixtures come from ``tests.fixtures.s3_server`` and are
parametrized over both backends.
"""

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import random
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from minio import Minio

from leakrange.artifacts import (
    MEDIA_HTML,
    MEDIA_JSON,
    MEDIA_MODEL,
    MEDIA_TENSORS,
    ArtifactRef,
    ArtifactStore,
    FolderStore,
    S3Store,
    open_store,
    parse_ref,
)
from leakrange.common.errors import IntegrityError, InvalidArgument, NotFound, Unavailable
from leakrange.v1 import common_pb2

MIB = 1 << 20


def _payload(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def overwrite_blob(
    store: ArtifactStore, request: pytest.FixtureRequest
) -> Callable[[str, bytes], None]:
    """Replace a stored blob's bytes behind the store's back (disk write / raw S3 PUT)."""
    if isinstance(store, FolderStore):

        def write_file(sha: str, data: bytes) -> None:
            store.blob_path(sha).write_bytes(data)

        return write_file
    assert isinstance(store, S3Store)
    client: Minio = request.getfixturevalue("s3_client")

    def write_object(sha: str, data: bytes) -> None:
        client.put_object(store.bucket, store.blob_key(sha), io.BytesIO(data), len(data))

    return write_object


@pytest.fixture
def blob_names(store: ArtifactStore, request: pytest.FixtureRequest) -> Callable[[], list[str]]:
    """Every file / object in the blob area, temporaries included."""
    if isinstance(store, FolderStore):
        blobs = store.root / "blobs"
        return lambda: sorted(
            p.relative_to(blobs).as_posix() for p in blobs.rglob("*") if p.is_file()
        )
    assert isinstance(store, S3Store)
    client: Minio = request.getfixturevalue("s3_client")
    return lambda: sorted(
        str(o.object_name) for o in client.list_objects(store.bucket, "blobs/", recursive=True)
    )


# ------------------------------------------------------------------------------------ blobs


def test_put_get_bytes_roundtrip_and_metadata_from_sha_alone(
    store: ArtifactStore, store_url: str
) -> None:
    data = _payload(10_000)
    ref = store.put_bytes(data, MEDIA_TENSORS)
    assert ref == ArtifactRef(sha256=_sha(data), size=10_000, media_type=MEDIA_TENSORS)
    assert ref.uri == f"sha256:{_sha(data)}"
    assert store.get_bytes(ref) == data
    assert store.get_bytes(ref.uri) == data
    assert store.get_bytes(ref.sha256) == data
    assert store.exists(ref) and store.exists(ref.uri)
    # A fresh handle on the same location knows size and media type from the sha alone.
    reopened = open_store(store_url)
    assert reopened.stat(ref.sha256) == ref
    assert reopened.resolve(ref.uri) == ref

    empty = store.put_bytes(b"", MEDIA_JSON)
    assert empty.sha256 == _sha(b"") and empty.size == 0
    assert store.get_bytes(empty) == b""


def test_put_is_idempotent(store: ArtifactStore, blob_names: Callable[[], list[str]]) -> None:
    data = _payload(4096, seed=1)
    first = store.put_bytes(data, MEDIA_TENSORS)
    after_first = blob_names()
    second = store.put_bytes(data, MEDIA_TENSORS)
    assert first == second
    assert blob_names() == after_first
    assert any(name.endswith(first.sha256) for name in after_first)
    other = store.put_bytes(_payload(4096, seed=2), MEDIA_TENSORS)
    assert other.sha256 != first.sha256
    assert len(blob_names()) > len(after_first)


def test_put_file_streams_a_large_file(
    store: ArtifactStore, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data = _payload(6 * MIB + 123, seed=3)
    source = tmp_path / "model.safetensors"
    source.write_bytes(data)
    ref = store.put_file(source, MEDIA_MODEL)
    assert ref == ArtifactRef(sha256=_sha(data), size=len(data), media_type=MEDIA_MODEL)
    assert store.get_bytes(ref) == data
    out = store.get_file(ref, tmp_path / "out" / "copy.bin")
    assert out.read_bytes() == data
    assert store.put_bytes(data, MEDIA_MODEL) == ref
    assert store.put_file(source, MEDIA_MODEL) == ref
    if isinstance(store, S3Store):
        client: Minio = request.getfixturevalue("s3_client")
        etag = client.stat_object(store.bucket, store.blob_key(ref.sha256)).etag or ""
        assert etag.endswith("-2"), "a 6 MiB file goes up as a 2-part multipart upload"
        assert client.stat_object(store.bucket, store.blob_key(ref.sha256)).size == len(data)


def test_put_file_rejects_a_missing_path(store: ArtifactStore, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument) as err:
        store.put_file(tmp_path / "nope.bin", MEDIA_MODEL)
    assert err.value.field == "path"


@pytest.mark.parametrize("media_type", ["", "json", "text/" + "x" * 300, "text/\nhtml"])
def test_bad_media_type_rejected(store: ArtifactStore, media_type: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        store.put_bytes(b"x", media_type)
    assert err.value.field == "media_type"
    assert not store.exists(_sha(b"x"))


def test_corrupted_blob_raises_integrity_error(
    store: ArtifactStore, overwrite_blob: Callable[[str, bytes], None], tmp_path: Path
) -> None:
    data = _payload(5000, seed=4)
    ref = store.put_bytes(data, MEDIA_TENSORS)
    tampered = bytearray(data)
    tampered[100] ^= 0xFF
    overwrite_blob(ref.sha256, bytes(tampered))
    expected = f"artifact sha256:{ref.sha256[:12]} is corrupted"
    with pytest.raises(IntegrityError) as err:
        store.get_bytes(ref)
    assert str(err.value) == expected
    dest = tmp_path / "restored.bin"
    with pytest.raises(IntegrityError):
        store.get_file(ref, dest)
    assert not dest.exists()
    assert not list(tmp_path.glob(".*.tmp"))
    # A truncated blob is caught the same way.
    overwrite_blob(ref.sha256, data[:-1])
    with pytest.raises(IntegrityError, match="is corrupted"):
        store.get_bytes(ref)


def test_missing_blob_is_not_found(store: ArtifactStore, tmp_path: Path) -> None:
    sha = "0" * 64
    assert not store.exists(sha)
    with pytest.raises(NotFound) as err:
        store.get_bytes(f"sha256:{sha}")
    assert str(err.value) == "artifact sha256:000000000000 not found"
    with pytest.raises(NotFound):
        store.stat(sha)
    with pytest.raises(NotFound):
        store.resolve(f"sha256:{sha}")
    with pytest.raises(NotFound):
        store.get_file(sha, tmp_path / "x.bin")
    assert not (tmp_path / "x.bin").exists()


@pytest.mark.parametrize(
    "text", ["sha256:xyz", "sha256:" + "A" * 64, "md5:" + "0" * 32, "0" * 63, ""]
)
def test_malformed_refs_rejected(store: ArtifactStore, text: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        store.get_bytes(text)
    assert err.value.field == "ref"


def test_concurrent_writers_of_the_same_blob_threads(
    store: ArtifactStore, tmp_path: Path, blob_names: Callable[[], list[str]]
) -> None:
    data = _payload(300_000, seed=5)
    source = tmp_path / "same.bin"
    source.write_bytes(data)
    workers = 8
    barrier = threading.Barrier(workers)

    def write(index: int) -> ArtifactRef:
        barrier.wait(timeout=30)
        if index % 2:
            return store.put_file(source, MEDIA_TENSORS)
        return store.put_bytes(data, MEDIA_TENSORS)

    with ThreadPoolExecutor(workers) as pool:
        refs = list(pool.map(write, range(workers)))
    assert set(refs) == {ArtifactRef(_sha(data), len(data), MEDIA_TENSORS)}
    assert store.get_bytes(refs[0]) == data
    assert not [name for name in blob_names() if name.endswith(".tmp")]


def _process_writer(
    root: str, source: str, barrier: Any, results: Any, rounds: int
) -> None:
    """Runs in a spawned process: write the same blob ``rounds`` times, report the shas."""
    data = Path(source).read_bytes()
    barrier.wait(timeout=60)
    store = FolderStore(root)
    shas = {store.put_bytes(data, MEDIA_TENSORS).sha256 for _ in range(rounds)}
    shas.add(store.put_file(source, MEDIA_TENSORS).sha256)
    store.publish("models/shared", data, MEDIA_TENSORS)
    results.put(sorted(shas))


def test_concurrent_writers_of_the_same_blob_processes(tmp_path: Path) -> None:
    root = tmp_path / "store"
    data = _payload(200_000, seed=6)
    source = tmp_path / "same.bin"
    source.write_bytes(data)
    ctx = multiprocessing.get_context("spawn")
    workers = 3
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_process_writer, args=(str(root), str(source), barrier, results, 5))
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    reported = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    assert [proc.exitcode for proc in procs] == [0] * workers
    assert reported == [[_sha(data)]] * workers
    store = FolderStore(root)
    assert store.get_bytes(_sha(data)) == data
    assert store.resolve("models/shared").sha256 == _sha(data)
    leftovers = [p for p in root.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    bucket = store.blob_path(_sha(data)).parent
    assert sorted(p.name for p in bucket.iterdir()) == [_sha(data), f"{_sha(data)}.meta.json"]


# -------------------------------------------------------------------------------- manifests


def test_manifest_put_get_replace_list_delete(store: ArtifactStore) -> None:
    assert store.list_manifests() == []
    store.put_manifest("models/adult-mlp", {"epochs": 30, "layers": [108, 64, 2]})
    assert store.get_manifest("models/adult-mlp") == {"epochs": 30, "layers": [108, 64, 2]}
    store.put_manifest("models/adult-mlp", {"epochs": 40})
    assert store.get_manifest("models/adult-mlp") == {"epochs": 40}
    store.put_manifest("models/cifar-cnn", {"n": 1})
    store.put_manifest("models-old/x", {"n": 2})
    store.put_manifest("cache/mia/3f2a9c", {"n": 3})
    assert store.list_manifests() == [
        "cache/mia/3f2a9c",
        "models-old/x",
        "models/adult-mlp",
        "models/cifar-cnn",
    ]
    assert store.list_manifests("models/") == ["models/adult-mlp", "models/cifar-cnn"]
    assert store.list_manifests("models") == [
        "models-old/x",
        "models/adult-mlp",
        "models/cifar-cnn",
    ]
    assert store.list_manifests("models/a") == ["models/adult-mlp"]
    assert store.list_manifests("cache/mia/") == ["cache/mia/3f2a9c"]
    assert store.list_manifests("nothing/") == []
    store.delete_manifest("models/adult-mlp")
    assert store.list_manifests("models/") == ["models/cifar-cnn"]
    with pytest.raises(NotFound) as err:
        store.get_manifest("models/adult-mlp")
    assert str(err.value) == "manifest models/adult-mlp not found"
    with pytest.raises(NotFound):
        store.delete_manifest("models/adult-mlp")


def test_manifest_replace_is_atomic_for_concurrent_readers(store: ArtifactStore) -> None:
    def doc(version: int) -> dict[str, Any]:
        return {"version": version, "payload": f"{version:04d}" * (2000 + 50 * version)}

    store.put_manifest("runs/live", doc(0))
    versions = 24
    seen: list[int] = []
    done = threading.Event()

    def read_until_done() -> None:
        while not done.is_set():
            got = store.get_manifest("runs/live")
            assert got == doc(got["version"])
            seen.append(got["version"])

    def write(version: int) -> None:
        store.put_manifest("runs/live", doc(version))

    with ThreadPoolExecutor(6) as pool:
        readers = [pool.submit(read_until_done) for _ in range(2)]
        list(pool.map(write, range(1, versions + 1)))
        done.set()
        for reader in readers:
            reader.result()
    assert seen, "readers ran"
    assert store.get_manifest("runs/live")["version"] in range(1, versions + 1)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "/models/a",
        "models/../secrets",
        "..",
        "a..b",
        "models//a",
        "models/",
        "models/./a",
        ".",
        "has space",
        "back\\slash",
        "caf\u00e9",
        "new\nline",
        "x" * 600,
    ],
)
def test_bad_manifest_names_rejected(store: ArtifactStore, name: str) -> None:
    for call in (
        lambda: store.put_manifest(name, {"a": 1}),
        lambda: store.get_manifest(name),
        lambda: store.delete_manifest(name),
        lambda: store.publish(name, b"data", MEDIA_JSON),
    ):
        with pytest.raises(InvalidArgument) as err:
            call()
        assert err.value.field == "manifest"
    assert store.list_manifests() == []
    assert not store.exists(_sha(b"data"))


@pytest.mark.parametrize("prefix", ["/models", "../", "a b", "a//"])
def test_bad_list_prefix_rejected(store: ArtifactStore, prefix: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        store.list_manifests(prefix)
    assert err.value.field == "prefix"


@pytest.mark.parametrize("doc", [[1, 2], {"x": float("nan")}, {"x": object()}, {1: {2}}])
def test_manifest_document_must_be_a_json_object(store: ArtifactStore, doc: Any) -> None:
    with pytest.raises(InvalidArgument) as err:
        store.put_manifest("docs/bad", doc)
    assert err.value.field == "manifest"
    assert store.list_manifests() == []


def test_json_blobs_are_canonical(store: ArtifactStore) -> None:
    first = store.put_json({"b": [1, 2.5], "a": {"z": None, "y": "t"}})
    second = store.put_json({"a": {"y": "t", "z": None}, "b": [1, 2.5]})
    assert first == second
    assert first.media_type == MEDIA_JSON
    assert store.get_json(first) == {"a": {"y": "t", "z": None}, "b": [1, 2.5]}
    assert json.loads(store.get_bytes(first)) == store.get_json(first.uri)
    html = store.put_bytes(b"<p>report</p>", MEDIA_HTML)
    with pytest.raises(InvalidArgument):
        store.get_json(html)


# ---------------------------------------------------------------------------------- publish


def test_publish_and_resolve(store: ArtifactStore, store_url: str) -> None:
    v1 = _payload(2048, seed=7)
    ref = store.publish("models/adult-mlp", v1, MEDIA_MODEL)
    assert ref == ArtifactRef(_sha(v1), len(v1), MEDIA_MODEL, name="models/adult-mlp")
    assert store.resolve("models/adult-mlp") == ref
    assert store.resolve(ref.uri) == replace(ref, name="")
    assert store.get_bytes(store.resolve("models/adult-mlp")) == v1

    v2 = _payload(1024, seed=8)
    ref2 = store.publish("models/adult-mlp", v2, MEDIA_MODEL)
    reopened = open_store(store_url)
    assert reopened.resolve("models/adult-mlp") == ref2
    assert reopened.get_bytes(ref) == v1, "the old version stays addressable by its sha"
    assert reopened.list_manifests("models/") == ["models/adult-mlp"]

    store.put_manifest("notes/plain", {"hello": "world"})
    with pytest.raises(InvalidArgument) as err:
        store.resolve("notes/plain")
    assert err.value.field == "ref"
    with pytest.raises(NotFound):
        store.resolve("models/missing")


def test_publish_file(store: ArtifactStore, tmp_path: Path) -> None:
    data = _payload(70_000, seed=9)
    path = tmp_path / "weights.safetensors"
    path.write_bytes(data)
    ref = store.publish_file("models/w", path, MEDIA_MODEL)
    assert ref == ArtifactRef(_sha(data), len(data), MEDIA_MODEL, name="models/w")
    assert store.get_bytes(store.resolve("models/w")) == data


# ------------------------------------------------------------------------- refs (no backend)


def test_ref_proto_roundtrip_and_parse() -> None:
    sha = _sha(b"abc")
    ref = ArtifactRef(sha, 3, MEDIA_JSON, name="x/y")
    msg = ref.to_proto()
    assert isinstance(msg, common_pb2.ArtifactRef)
    assert (msg.sha256, msg.size, msg.media_type, msg.name) == (sha, 3, MEDIA_JSON, "x/y")
    assert ArtifactRef.from_proto(common_pb2.ArtifactRef.FromString(msg.SerializeToString())) == ref
    assert parse_ref(f"sha256:{sha}") == sha
    for bad in (sha, f"sha256:{sha[:-1]}", f"sha256:{sha.upper()}", f"sha1:{sha}"):
        with pytest.raises(InvalidArgument):
            parse_ref(bad)
    with pytest.raises(InvalidArgument):
        ArtifactRef("nothex", 1, MEDIA_JSON)
    with pytest.raises(InvalidArgument):
        ArtifactRef(sha, -1, MEDIA_JSON)


# ------------------------------------------------------------------------------- open_store


def test_open_store_folder_forms(tmp_path: Path) -> None:
    plain = open_store(str(tmp_path / "a"))
    assert isinstance(plain, FolderStore) and plain.root == tmp_path / "a"
    from_url = open_store(f"file://{tmp_path}/b")
    assert isinstance(from_url, FolderStore) and from_url.root == tmp_path / "b"
    ref = plain.put_bytes(b"shared", MEDIA_JSON)
    assert open_store(f"file://{tmp_path}/a").get_bytes(ref) == b"shared"
    assert plain.describe() == f"folder {tmp_path / 'a'}"


def test_open_store_s3_url(s3_endpoint: str, s3_client: Minio) -> None:
    secret = "SuperSecret-value-123"
    url = f"s3://lr-open-url/runs/2026?endpoint={s3_endpoint}&secure=false&region=us-east-1"
    store = open_store(url, credentials=("AKIDEXAMPLE", secret), env={})
    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix, store.endpoint) == ("lr-open-url", "runs/2026", s3_endpoint)
    assert s3_client.bucket_exists("lr-open-url"), "the bucket is created when missing"
    ref = store.publish("models/m", b"weights", MEDIA_MODEL)
    keys = sorted(
        str(o.object_name) for o in s3_client.list_objects("lr-open-url", "", recursive=True)
    )
    assert keys == [
        f"runs/2026/blobs/sha256/{ref.sha256[:2]}/{ref.sha256}",
        "runs/2026/manifests/models/m.json",
    ]
    # Another prefix in the same bucket is another store.
    env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": secret}
    other = open_store(f"s3://lr-open-url/other?endpoint={s3_endpoint}&secure=false", env=env)
    assert other.list_manifests() == []
    assert not other.exists(ref)
    for text in (store.describe(), repr(store), other.describe()):
        assert secret not in text and "AKIDEXAMPLE" not in text
    assert store.describe() == f"s3://lr-open-url/runs/2026 at http://{s3_endpoint}"


def test_open_store_s3_needs_credentials(s3_endpoint: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        open_store(f"s3://lr-nocreds?endpoint={s3_endpoint}&secure=false", env={})
    assert err.value.field == "store"
    assert "LEAKRANGE_S3_ACCESS_KEY" in str(err.value)


SECRET = "TopSecretKey987"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "ftp://host/path",
        "http://example.com/store",
        "s3://",
        "s3://?endpoint=127.0.0.1:9000",
        "s3://Bad_Bucket?endpoint=127.0.0.1:9000",
        "s3://ab?endpoint=127.0.0.1:9000",
        "s3://bucket?endpoint=127.0.0.1:9000&colour=blue",
        "s3://bucket?endpoint=127.0.0.1:9000&secure=maybe",
        "s3://bucket?endpoint=127.0.0.1:9000&endpoint=other:1",
        "s3://bucket?endpoint=http://127.0.0.1:9000",
        "s3://bucket/../up?endpoint=127.0.0.1:9000",
        f"s3://AKID:{SECRET}@bucket?endpoint=127.0.0.1:9000",
        "file://remotehost/data",
        "file:relative/path",
        "s3:bucket",
    ],
)
def test_open_store_bad_urls(url: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        open_store(url, credentials=("AKID", SECRET))
    assert err.value.field == "store"
    assert SECRET not in str(err.value)


def test_unreachable_s3_is_unavailable_without_leaking_secrets() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(Unavailable) as err:
        S3Store(f"127.0.0.1:{port}", "AKIDEXAMPLE", SECRET, "lr-down", max_retries=0)
    assert SECRET not in str(err.value) and "AKIDEXAMPLE" not in str(err.value)
    assert str(err.value) == "artifact store unreachable"


# ------------------------------------------------------------------------------ hardening


def test_a_put_heals_a_corrupted_blob(
    store: ArtifactStore, overwrite_blob: Callable[[str, bytes], None], tmp_path: Path
) -> None:
    data = _payload(5000, seed=11)
    ref = store.put_bytes(data, MEDIA_TENSORS)
    overwrite_blob(ref.sha256, data[:-7])
    with pytest.raises(IntegrityError):
        store.get_bytes(ref)
    assert store.put_bytes(data, MEDIA_TENSORS) == ref
    assert store.get_bytes(ref) == data
    overwrite_blob(ref.sha256, b"x" * len(data))
    source = tmp_path / "same.bin"
    source.write_bytes(data)
    assert store.put_file(source, MEDIA_TENSORS).sha256 == ref.sha256
    assert store.get_bytes(ref) == data


def test_folder_store_files_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o000)
    try:
        store = FolderStore(tmp_path / "store")
        ref = store.put_bytes(b"ground truth", MEDIA_JSON)
        source = tmp_path / "big.bin"
        source.write_bytes(_payload(3000))
        file_ref = store.put_file(source, MEDIA_TENSORS)
        store.put_manifest("groundtruth/x", {"members": [1, 2]})
    finally:
        os.umask(old)
    files = [p for p in store.root.rglob("*") if p.is_file()]
    assert {store.blob_path(ref.sha256), store.blob_path(file_ref.sha256)} <= set(files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for folder in [p for p in store.root.rglob("*") if p.is_dir()]:
        assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0, folder


def test_folder_store_removes_temporaries_of_killed_writers(tmp_path: Path) -> None:
    import os
    import time

    store = FolderStore(tmp_path / "store")
    incoming = store.root / "blobs" / "sha256" / ".incoming"
    stale, fresh = incoming / ".killed.tmp", incoming / ".live.tmp"
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"being written")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    FolderStore(tmp_path / "store")
    assert not stale.exists()
    assert fresh.exists()


def test_folder_store_full_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    """A full disk cannot be made here without root (no tmpfs): the write raises ENOSPC as the
    kernel would, through a patched os.fsync (the one stand-in, said so)."""
    import errno
    import os

    from leakrange.artifacts import folder_store
    from leakrange.common.errors import ResourceExhausted

    store = FolderStore(tmp_path / "store")
    kept = store.put_bytes(b"finished work", MEDIA_JSON)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(folder_store.os, "fsync", full)
    with pytest.raises(ResourceExhausted, match=r"^artifact store is full$"):
        store.put_bytes(b"new work", MEDIA_JSON)
    source = tmp_path / "f.bin"
    source.write_bytes(b"streamed")
    with pytest.raises(ResourceExhausted, match=r"^artifact store is full$"):
        store.put_file(source, MEDIA_TENSORS)
    with pytest.raises(ResourceExhausted, match=r"^artifact store is full$"):
        store.put_manifest("results/x", {"a": 1})
    monkeypatch.setattr(folder_store.os, "fsync", os.fsync)
    assert store.get_bytes(kept) == b"finished work"
    assert not [p for p in store.root.rglob("*.tmp")]


def test_s3_bucket_aborts_incomplete_uploads_of_killed_writers(
    s3_store_url: str, s3_client: Minio
) -> None:
    store = open_store(s3_store_url)
    assert isinstance(store, S3Store)
    rules = s3_client.get_bucket_lifecycle(store.bucket).rules
    aborts = [r.abort_incomplete_multipart_upload for r in rules
              if r.abort_incomplete_multipart_upload is not None]
    assert [a.days_after_initiation for a in aborts] == [1]
