"""Benchmark a phone's sync of 200 matters with 300 photos: the records' pull, then the
thumbnails fetched after it, against the same sync without thumbnails.

The server is the real app under uvicorn in its own process on a free loopback port (SQLite,
photos in a directory), seeded with the small demo community. One worker of a level-5 grid
reports 200 matters there through the API (100 with one photo, 100 with two: 300 photos), and
uploads the photos (each its own picture, 1,600 px as the app shrinks them, a few hundred KB;
the server keeps a 320 px thumbnail of each). Then, `--runs` times, a fresh phone of
the grid's worker signs in and syncs (its grid and the 200 matters), timed, and fetches the 300
thumbnails (`field_app/photos/fetch.py`, 100 a request), timed apart. Bytes are counted on the
wire (gzip'd JSON for the records; thumbnails are base64 in JSON).

    uv run python bench/matter_phone_bench.py [--runs 5] [--matters 200]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from PIL import Image
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sync_bench import server_process
from field_app.photos.fetch import PhotoFetcher
from field_app.store import Store
from field_app.sync_client import SyncClient
from shared.clock import Clock, format_timestamp
from shared.hlc import HLC
from shared.matters import default_category_id
from shared.schema import Role
from sync_server.config import Settings
from sync_server.db import make_engine, make_sessionmaker, transaction
from sync_server.migrate import upgrade
from sync_server.models import GridNode, User, UserGrid
from sync_server.seed.demo import DEMO_PASSWORD, seed_demo


def doorstep_photo(rng: random.Random) -> bytes:
    """A photo as a phone uploads it (long edge 1,600 px, JPEG 85, as `shrink` leaves it): a
    gradient with noise of its own, so every photo and thumbnail differs (the same picture
    repeated would flatter the bytes a batch of thumbnails weighs)."""
    noise = Image.frombytes("RGB", (400, 300), rng.randbytes(400 * 300 * 3))
    base = Image.linear_gradient("L").resize((1600, 1200)).convert("RGB")
    picture = Image.blend(base, noise.resize((1600, 1200), Image.Resampling.BILINEAR), 0.5)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85)
    return out.getvalue()


class Counting:
    """Counts the bytes received on the wire (before gzip is undone)."""

    def __init__(self) -> None:
        self.received = 0

    def hook(self, response: httpx.Response) -> None:
        response.read()
        self.received += response.num_bytes_downloaded


def seeded_server(root: Path) -> tuple[str, str]:
    """A migrated server database with the small demo community; its URL and one worker of a
    level-5 grid (username)."""
    root.mkdir()
    url = f"sqlite:///{root / 'server.db'}"
    settings = Settings(env="development", database_url=url)
    engine = make_engine(settings)
    upgrade(settings, engine)
    with transaction(make_sessionmaker(engine)) as session:
        seed_demo(session=session, scale="small", now=Clock().now(), activity=False)
    with transaction(make_sessionmaker(engine)) as session:
        username = session.scalars(
            select(User.username)
            .join(UserGrid, UserGrid.user_id == User.id)
            .join(GridNode, GridNode.id == UserGrid.grid_id)
            .where(User.role == Role.WORKER, GridNode.level == 5)
            .order_by(User.username)
        ).first()
    engine.dispose()
    assert username is not None
    return url, username


def report_matters(url: str, username: str, count: int, rng: random.Random) -> tuple[int, int]:
    """The worker reports `count` matters (half with one photo, half with two) and uploads the
    photos; how many photos, and their bytes."""
    store = Store.open(":memory:")
    http = httpx.Client(base_url=url, trust_env=False, timeout=60)
    client = SyncClient(http, store, app_version="bench")
    client.login(username, DEMO_PASSWORD)
    client.sync()
    grid = store.my_grids()[0].id
    token = client.token
    stamps = HLC(f"bench-{store.device_id[:8]}")
    photos: list[bytes] = []
    ops = []
    for index in range(count):
        names = []
        for _ in range(1 + index % 2):
            data = doorstep_photo(rng)
            photos.append(data)
            names.append(hashlib.sha256(data).hexdigest())
        ops.append(
            {
                "op_id": str(uuid.uuid4()),
                "entity": "matter",
                "record_id": str(uuid.uuid4()),
                "kind": "create",
                "base_version": None,
                "fields": {
                    name: {"base": None, "new": value}
                    for name, value in {
                        "category_id": default_category_id("环境卫生"),
                        "grid_id": grid,
                        "description": f"第{index + 1}处：楼道堆放杂物",
                        "place": f"{index % 9 + 1}号楼楼道",
                        "source": "door",
                        "urgency": "normal",
                        "photos": names,
                        "reported_at": format_timestamp(Clock().now()),
                    }.items()
                },
                "hlc": stamps.now(),
                "device_id": store.device_id,
                "user_id": store.meta.user_id,
            }
        )
    for data in photos:
        sha = hashlib.sha256(data).hexdigest()
        answer = http.patch(
            f"/api/v1/photos/{sha}",
            content=data,
            headers={
                "Authorization": f"Bearer {token}",
                "Upload-Offset": "0",
                "Upload-Length": str(len(data)),
            },
        )
        assert answer.status_code == 204, answer.text
    body = {"protocol_version": 1, "device_id": store.device_id, "operations": ops}
    pushed = http.post(
        "/api/v1/sync/push",
        json=body,
        headers={"Authorization": f"Bearer {token}", "X-GridSweep-Protocol": "1"},
    )
    assert pushed.status_code == 200, pushed.text
    statuses = {r["status"] for r in pushed.json()["results"]}
    assert statuses == {"applied"}, pushed.json()["results"][:3]
    store.close()
    return len(photos), sum(len(p) for p in photos)


def one_phone(url: str, username: str, workdir: Path, run: int) -> dict[str, float]:
    store = Store.open(workdir / f"phone-{run}.db")
    counting = Counting()
    http = httpx.Client(
        base_url=url, trust_env=False, timeout=60, event_hooks={"response": [counting.hook]}
    )
    client = SyncClient(http, store, app_version="bench")
    client.login(username, DEMO_PASSWORD)
    counting.received = 0
    start = time.perf_counter()
    client.sync()
    records_s = time.perf_counter() - start
    records_bytes = counting.received
    matters = store.db.execute("SELECT COUNT(*) FROM matter").fetchone()[0]
    wanted = len(store.thumbs_wanted())
    counting.received = 0
    start = time.perf_counter()
    report = PhotoFetcher(http, store, token=client.token).thumbs()
    thumbs_s = time.perf_counter() - start
    assert report.failed is None and report.fetched == wanted, report
    stored = store.db.execute("SELECT COUNT(*), SUM(LENGTH(data)) FROM thumb").fetchone()
    store.close()
    http.close()
    return {
        "matters": matters,
        "thumbs": report.fetched,
        "requests": report.requests,
        "records_s": records_s,
        "records_bytes": records_bytes,
        "thumbs_s": thumbs_s,
        "thumbs_bytes": counting.received,
        "stored_bytes": stored[1] or 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--matters", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="matter-phone-bench-") as tmp:
        work = Path(tmp)
        db_url, username = seeded_server(work / "server")
        env = {"GRIDSWEEP_DATA_DIR": str(work / "server")}
        with server_process(db_url, cwd=work / "server", env=env, startup_seconds=120) as url:
            photos, photo_bytes = report_matters(url, username, args.matters, rng)
            runs = [one_phone(url, username, work, run) for run in range(args.runs)]
    med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    total_s = med["records_s"] + med["thumbs_s"]
    total_b = med["records_bytes"] + med["thumbs_bytes"]
    print(
        f"server: uvicorn on loopback, SQLite, directory photo store; worker {username}'s grid "
        f"of the small demo community; medians of {args.runs} fresh phones"
    )
    print(
        f"matters pulled: {med['matters']:.0f}; photos named: {photos} "
        f"({photo_bytes / 2**20:.1f} MiB whole, mean {photo_bytes / photos / 1024:.0f} KiB)"
    )
    print(
        f"sync without thumbnails (grid + matters): {med['records_s']:7.3f} s "
        f"{med['records_bytes'] / 1024:9.0f} KiB on the wire"
    )
    print(
        f"thumbnails ({med['thumbs']:.0f} in {med['requests']:.0f} requests):"
        f"          {med['thumbs_s']:7.3f} s {med['thumbs_bytes'] / 1024:9.0f} KiB on the wire "
        f"(kept sealed: {med['stored_bytes'] / 1024:.0f} KiB)"
    )
    print(
        f"sync with thumbnails:                     {total_s:7.3f} s {total_b / 1024:9.0f} KiB"
        f"  ratio to without: time {total_s / med['records_s']:.2f}x, "
        f"bytes {total_b / med['records_bytes']:.2f}x"
    )
    print(
        f"per thumbnail: {med['thumbs_s'] / max(1, med['thumbs']) * 1000:.2f} ms, "
        f"{med['thumbs_bytes'] / max(1, med['thumbs']) / 1024:.1f} KiB; "
        f"whole photos would be {photo_bytes / 1024:.0f} KiB "
        f"({photo_bytes / max(1, med['thumbs_bytes']):.1f}x the thumbnails)"
    )


if __name__ == "__main__":
    main()
