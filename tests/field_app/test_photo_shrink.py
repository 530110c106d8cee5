"""Shrinking a photo on the device (field_app/photos/shrink.py): what leaves the phone is small,
upright, and tells nobody where or with which phone it was taken unless the district says so."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from field_app.photos import KEEP_GPS_ENV, PhotoUnreadable, keep_gps_setting, shrink
from tests.photos import GPS_IFD, MAKE, MODEL, ORIENTATION, camera_jpeg


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_camera_photo_becomes_a_jpeg_whose_long_edge_is_1600() -> None:
    original = camera_jpeg(4000, 3000)
    small = _open(shrink(original))
    assert small.format == "JPEG"
    assert small.size == (1600, 1200)


def test_a_small_photo_keeps_its_size() -> None:
    assert _open(shrink(camera_jpeg(800, 600))).size == (800, 600)


def test_gps_make_and_model_are_gone_and_the_photo_stands_upright() -> None:
    # Orientation 6: the camera stored the picture lying on its side (turn 90° clockwise to view).
    shrunk = _open(shrink(camera_jpeg(4000, 3000, orientation=6)))
    exif = shrunk.getexif()
    assert exif.get_ifd(GPS_IFD) == {}
    assert MAKE not in exif and MODEL not in exif and ORIENTATION not in exif
    # Upright: portrait, and the stored left half (red) is now at the top.
    assert shrunk.size == (1200, 1600)
    top, bottom = shrunk.getpixel((600, 100)), shrunk.getpixel((600, 1500))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 150 and top[2] < 100
    assert bottom[2] > 150 and bottom[0] < 100


def test_the_district_setting_keeps_the_gps_position_and_nothing_else() -> None:
    exif = _open(shrink(camera_jpeg(), keep_gps=True)).getexif()
    gps = exif.get_ifd(GPS_IFD)
    assert gps[1] == "N" and gps[3] == "E"
    assert float(gps[2][0]) == 31.0 and float(gps[4][0]) == 121.0
    assert MAKE not in exif and MODEL not in exif


@pytest.mark.parametrize(("value", "keep"), [("1", True), ("yes", True), ("0", False), ("", False)])
def test_the_setting_is_read_from_the_environment(value: str, keep: bool) -> None:
    assert keep_gps_setting({KEEP_GPS_ENV: value}) is keep


def test_a_png_with_transparency_becomes_a_jpeg() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 0, 0, 0)).save(out, "PNG")
    assert _open(shrink(out.getvalue())).mode == "RGB"


def test_bytes_that_are_no_picture_are_refused() -> None:
    with pytest.raises(PhotoUnreadable):
        shrink(b"not a photo at all")
