"""POST /api/v1/photos/thumbs: a phone's batch of thumbnails for the photos its matters name.

Who gets a thumbnail is who may see a matter or step naming the photo (the photo's uploader and
admins besides); everyone else gets the name back as `unavailable`, told apart from a photo not
yet uploaded by nothing. Hostile batches (names that are no sha256, too many names) are refused
whole, naming what is wrong.
"""

from __future__ import annotations

import hashlib
import io
import json

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from field_app.photos.fetch import read_thumbs
from shared.protocol import MAX_THUMBS_PER_REQUEST, THUMBS_MEDIA_TYPE
from sync_server.models import User
from sync_server.services.devices import revoke_device
from tests.days import RUN_CLOCK
from tests.factories import TinyGrid
from tests.photos import noisy_jpeg
from tests.sync_server.matter_helpers import (
    GRID,
    MatterWorld,
    matter_device,
    report,
    step,
)
from tests.sync_server.wire_device import WireDevice

URL = "/api/v1/photos/thumbs"


def upload(client: TestClient, device: WireDevice, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    answer = client.patch(
        f"/api/v1/photos/{sha}",
        content=data,
        headers={**device.headers, "Upload-Offset": "0", "Upload-Length": str(len(data))},
    )
    assert answer.status_code == 204, answer.text
    return sha


def thumbs(client: TestClient, device: WireDevice, names: list[str]) -> dict[str, bytes]:
    answer = client.post(URL, json={"sha256": names}, headers=device.headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == THUMBS_MEDIA_TYPE
    assert "content-encoding" not in answer.headers, "JPEGs are not gzipped again"
    head = json.loads(answer.content.partition(b"\n")[0])
    got = read_thumbs(answer.content, asked=names)
    assert sorted([*got, *head["unavailable"]]) == sorted(set(names))
    return got


def is_thumbnail(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        return image.format == "JPEG" and max(image.size) == 320


def test_thumbnails_go_to_who_may_see_the_matter_and_to_nobody_else(
    client: TestClient,
    tiny: TinyGrid,
    world: MatterWorld,
    session_factory: sessionmaker[Session],
) -> None:
    worker = matter_device(client, "w11")
    before, after = noisy_jpeg(1), noisy_jpeg(2)
    shot, closing = upload(client, worker, before), upload(client, worker, after)
    supervisor = matter_device(client, "s1")
    stranger, other_handler, handler = (matter_device(client, name) for name in ("w12", "h3", "h1"))
    # Nothing names the photos yet: only their uploader gets them.
    assert thumbs(client, supervisor, [shot, closing]) == {}
    assert set(thumbs(client, worker, [shot, closing])) == {shot, closing}

    op = report(worker, tiny.nodes[GRID].id, photos=[shot])
    matter_id = op["record_id"]
    assert worker.push([op])[0]["status"] == "applied"
    got = thumbs(client, supervisor, [shot, closing])
    assert list(got) == [shot] and is_thumbnail(got[shot])
    # Published to the claim list of the community: its unit's handler sees it, another
    # community's does not; a worker of another grid never.
    supervisor.pull(matters=True)
    for action, state in (("accept", "reported"), ("publish", "accepted")):
        assert supervisor.push([step(supervisor, matter_id, action, state)])[0]["status"] == (
            "applied"
        )
    assert list(thumbs(client, handler, [shot])) == [shot]
    assert thumbs(client, other_handler, [shot]) == {}
    assert thumbs(client, stranger, [shot, closing]) == {}

    # The after photo reaches the supervisor with the step that names it.
    handler.pull(matters=True)
    for action, state, extra in (
        ("claim", "published", {}),
        ("start", "claimed", {}),
        ("apply_close", "handling", {"photos": [closing], "reason": "已疏通"}),
    ):
        result = handler.push([step(handler, matter_id, action, state, **extra)])[0]
        assert result["status"] == "applied", result
    assert set(thumbs(client, supervisor, [shot, closing])) == {shot, closing}
    assert thumbs(client, stranger, [shot, closing]) == {}
    assert thumbs(client, other_handler, [closing]) == {}

    # A revoked phone gets nothing at all.
    with session_factory() as session, session.begin():
        admin = session.scalars(select(User).where(User.username == "admin")).one()
        revoke_device(
            session=session, actor=admin, device_id=supervisor.device_id, now=RUN_CLOCK.now()
        )
    refused = client.post(URL, json={"sha256": [shot]}, headers=supervisor.headers)
    assert refused.status_code in (401, 403), refused.text
    assert refused.json()["code"] == "device_revoked"


def test_a_photo_not_yet_wholly_uploaded_is_unavailable_like_one_out_of_scope(
    client: TestClient, tiny: TinyGrid, world: MatterWorld
) -> None:
    worker = matter_device(client, "w11")
    data = noisy_jpeg(3)
    sha = hashlib.sha256(data).hexdigest()
    half = client.patch(
        f"/api/v1/photos/{sha}",
        content=data[:1000],
        headers={**worker.headers, "Upload-Offset": "0", "Upload-Length": str(len(data))},
    )
    assert half.status_code == 204, half.text
    assert worker.push([report(worker, tiny.nodes[GRID].id, photos=[sha])])[0]["status"] == (
        "applied"
    )
    supervisor = matter_device(client, "s1")
    answer = client.post(URL, json={"sha256": [sha, "f" * 64]}, headers=supervisor.headers)
    assert (
        answer.content
        == b'{"thumbs":[],"unavailable":["' + f'{sha}","{"f" * 64}'.encode() + b'"]}\n'
    )


def test_hostile_batches_are_refused_whole_naming_what_is_wrong(
    client: TestClient, tiny: TinyGrid, world: MatterWorld
) -> None:
    phone = matter_device(client, "s1")
    good = "a" * 64
    for names, says in (
        ([good, "A" * 64, "../../etc/passwd", good[:-1], "%" * 64], "entries [1, 2, 3, 4]"),
        ([good] * (MAX_THUMBS_PER_REQUEST + 1), str(MAX_THUMBS_PER_REQUEST)),
        ([], "at least 1"),
    ):
        answer = client.post(URL, json={"sha256": names}, headers=phone.headers)
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert problem["code"] == "invalid_request"
        assert says in answer.text, answer.text
    for body in ({"sha256": good}, {"sha256": [7]}, {"names": [good]}, None):
        answer = client.post(URL, json=body, headers=phone.headers)
        assert answer.status_code == 422, (body, answer.text)
    # Not signed in, or signed in without a device: nothing.
    assert client.post(URL, json={"sha256": [good]}).status_code == 401
