"""Benchmark the photo pipeline: a phone's upload throughput and the cost of resuming after the
connection drops, each as a ratio to copying the same bytes from file to file on this machine.

The server is the real app under uvicorn in its own process on a free loopback port, keeping
photos in a directory (the default store); the phone is a real device store and the real
uploader (`field_app/photos/upload.py`, 256 KiB chunks). The photos are camera-sized pictures
shrunk on the device as in the app (long edge 1,600 px, JPEG 85), with noise so they weigh what
a real street photo does (a few hundred KB).

Three timings over the same photos:
- raw copy: each photo written to a file and copied to another, both flushed to disk (what the
  directory store does per photo at least once), the floor the upload is compared with;
- upload: every photo sent whole, no drops;
- resume: every photo sent again to a fresh server, its connection dropped once at a random byte
  (the chunk being sent is lost: the server never takes it and the phone sends it again after
  asking the server's count, the worst case), then resumed.

    uv run python bench/photo_bench.py [--photos 30] [--seed 1]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sync_bench import server_process
from field_app.photos.upload import CHUNK_BYTES, PhotoUploader
from field_app.store import Store
from field_app.sync_client import SyncClient
from shared.schema import Role
from sync_server.config import Settings
from sync_server.db import make_engine, make_sessionmaker, transaction
from sync_server.migrate import upgrade
from sync_server.services.users import create_user

PASSWORD = "photo-bench-password"


def street_photo(rng: random.Random) -> bytes:
    """A 4000×3000 camera JPEG: a gradient with moderate noise, so its shrunk form weighs what
    a real photo's does."""
    small = Image.frombytes("RGB", (400, 300), rng.randbytes(400 * 300 * 3))
    base = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    picture = Image.blend(base, small.resize((4000, 3000), Image.Resampling.BILINEAR), 0.5)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=92)
    return out.getvalue()


class DropOnce(httpx.BaseTransport):
    """Drops each photo's connection once, losing the chunk that holds byte `cut[sha]`."""

    def __init__(self, cuts: dict[str, int]) -> None:
        self.inner = httpx.HTTPTransport()
        self.cuts = dict(cuts)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            sha = request.url.path.rsplit("/", 1)[1]
            start, size = int(request.headers["Upload-Offset"]), len(request.read())
            cut = self.cuts.get(sha)
            if cut is not None and start <= cut < start + size:
                del self.cuts[sha]
                raise httpx.WriteError("dropped", request=request)
        return self.inner.handle_request(request)


def server_workdir(root: Path) -> tuple[Path, str]:
    """A migrated server database with one admin; its directory and URL."""
    root.mkdir()
    url = f"sqlite:///{root / 'server.db'}"
    settings = Settings(env="development", database_url=url)
    engine = make_engine(settings)
    upgrade(settings, engine)
    with transaction(make_sessionmaker(engine)) as session:
        create_user(session=session, username="bench", password=PASSWORD, role=Role.ADMIN)
    engine.dispose()
    return root, url


def phone(url: str, path: Path, photos: list[bytes], transport: httpx.BaseTransport) -> Store:
    store = Store.open(path)
    http = httpx.Client(transport=transport, base_url=url, trust_env=False)
    SyncClient(http, store).login("bench", PASSWORD)
    with store.transaction():
        for picture in photos:
            store.add_photo(picture, keep_gps=False)
    return store


def upload(url: str, store: Store, transport: httpx.BaseTransport) -> tuple[float, int]:
    http = httpx.Client(transport=transport, base_url=url, trust_env=False)
    uploader = PhotoUploader(http, store)
    sent = 0
    start = time.perf_counter()
    while store.photo_counts().pending:
        sent += uploader.run().bytes_sent
    return time.perf_counter() - start, sent


def raw_copy(shrunk: list[bytes], folder: Path) -> float:
    folder.mkdir()
    start = time.perf_counter()
    for index, data in enumerate(shrunk):
        source, target = folder / f"{index}.jpg", folder / f"{index}-copy.jpg"
        with open(source, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        shutil.copyfile(source, target)
        with open(target, "rb+") as copied:
            os.fsync(copied.fileno())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    originals = [street_photo(rng) for _ in range(args.photos)]
    with tempfile.TemporaryDirectory(prefix="photo-bench-") as tmp:
        work = Path(tmp)
        results: dict[str, tuple[float, int]] = {}
        for run in ("upload", "resume"):
            root, db_url = server_workdir(work / f"server-{run}")
            env = {"GRIDSWEEP_DATA_DIR": str(root)}
            with server_process(db_url, cwd=root, env=env) as url:
                store = phone(url, work / f"{run}.db", originals, httpx.HTTPTransport())
                pending = store.photos_to_upload()
                cuts = {p.sha256: rng.randrange(p.size) for p in pending}
                transport = DropOnce(cuts) if run == "resume" else httpx.HTTPTransport()
                results[run] = upload(url, store, transport)
                shrunk = [store.photo_bytes(p.sha256) or b"" for p in pending]
                held = sorted((root / "photos" / "photos").rglob("*"))
                assert sum(1 for p in held if p.is_file()) == len(shrunk), "every photo on disk"
                for data in shrunk:
                    sha = hashlib.sha256(data).hexdigest()
                    assert (root / "photos" / "photos" / sha[:2] / sha).read_bytes() == data
                store.close()
        copy_seconds = raw_copy(shrunk, work / "copy")
    total = sum(len(d) for d in shrunk)
    mib = total / 2**20
    up_s, up_sent = results["upload"]
    re_s, re_sent = results["resume"]
    print(
        f"photos: {len(shrunk)}, shrunk {mib:.1f} MiB (mean {total / len(shrunk) / 1024:.0f} KiB)"
    )
    print(f"chunk: {CHUNK_BYTES // 1024} KiB; server: uvicorn on loopback, directory store")
    print(f"raw file copy (fsynced):  {copy_seconds:7.3f} s  {mib / copy_seconds:8.1f} MiB/s")
    print(
        f"upload:                   {up_s:7.3f} s  {mib / up_s:8.1f} MiB/s"
        f"  ratio to copy {up_s / copy_seconds:6.1f}x  sent {up_sent / total:.3f}x the bytes"
    )
    print(
        f"upload, one drop each:    {re_s:7.3f} s  {mib / re_s:8.1f} MiB/s"
        f"  ratio to copy {re_s / copy_seconds:6.1f}x  sent {re_sent / total:.3f}x the bytes"
    )
    extra = (re_sent - up_sent) / len(shrunk)
    print(
        f"resume cost per drop: {extra / 1024:.0f} KiB resent (at most one chunk), "
        f"{(re_s - up_s) / len(shrunk) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
