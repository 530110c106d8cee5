"""Pictures for the photo tests, made here (no binary fixtures): a phone camera's JPEG with the
EXIF a real one carries, and random bytes of a given size for the upload tests."""

from __future__ import annotations

import io
import random

from PIL import Image

GPS_IFD = 0x8825
MAKE, MODEL, ORIENTATION = 0x010F, 0x0110, 0x0112
# 31°14'N 121°28'E: the Bund
GPS = {1: "N", 2: (31.0, 14.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)}


def camera_jpeg(width: int = 4000, height: int = 3000, *, orientation: int = 1) -> bytes:
    """A JPEG as a phone camera writes it: stored `width`×`height` with the phone's make and
    model, GPS position and an orientation tag. The left half is red, the right half blue, so
    a test can tell which way the picture was turned."""
    image = Image.new("RGB", (width, height), (220, 20, 20))
    image.paste((20, 20, 220), (width // 2, 0, width, height))
    exif = Image.Exif()
    exif[MAKE] = "Xiaomi"
    exif[MODEL] = "Redmi Note 13"
    exif[ORIENTATION] = orientation
    exif[GPS_IFD] = GPS
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def random_bytes(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)
