"""Shrinking a photo on the device before it is kept and sent.

A phone's camera gives 3 to 8 MB with the phone's make and model, the time and often the GPS
position in its EXIF. What the matter needs is a picture a supervisor can judge at the desk:
the long edge at most 1,600 px, JPEG at quality 85 (about 150 to 400 KB), turned upright (the
EXIF orientation applied to the pixels, since no tag survives to say it), and no metadata, so a
photo forwarded out of the system tells nobody where the worker's phone was or which phone it is.
A district that wants the position on its photos sets `GRIDSWEEP_KEEP_PHOTO_GPS=1`: then the GPS
tags (only those) stay.

The same input always gives the same bytes (Pillow's encoder is deterministic), but a shrunk photo
shrunk again is a new JPEG: the store shrinks once, when a photo is added.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping

from PIL import Image, ImageOps, UnidentifiedImageError

LONG_EDGE = 1600
QUALITY = 85
KEEP_GPS_ENV = "GRIDSWEEP_KEEP_PHOTO_GPS"
_GPS_IFD = 0x8825  # the EXIF pointer to the GPS tags
# A phone photo is at most ~200 MP; past that the "photo" is a decompression bomb.
_MAX_PIXELS = 250_000_000


class PhotoUnreadable(ValueError):
    """The bytes are not a picture this device can read (or one absurdly large)."""


def keep_gps_setting(env: Mapping[str, str] | None = None) -> bool:
    """Whether `GRIDSWEEP_KEEP_PHOTO_GPS` asks to keep photos' GPS tags (1, true, yes, on)."""
    value = (os.environ if env is None else env).get(KEEP_GPS_ENV, "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


def shrink(data: bytes, *, keep_gps: bool = False) -> bytes:
    """The photo in `data` (JPEG, PNG, HEIF where Pillow reads it, ...) as the JPEG the store
    keeps; raises `PhotoUnreadable` when it is not a picture."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > _MAX_PIXELS:
                raise PhotoUnreadable(f"{opened.width}×{opened.height} is not a photo's size.")
            gps = opened.getexif().get_ifd(_GPS_IFD) if keep_gps else {}
            # A JPEG decodes straight at a smaller scale when it is much larger than needed.
            opened.draft("RGB", (LONG_EDGE, LONG_EDGE))
            image = ImageOps.exif_transpose(opened)
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise PhotoUnreadable(f"Not a readable picture: {exc}") from exc
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    image.thumbnail((LONG_EDGE, LONG_EDGE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    options: dict[str, object] = {"quality": QUALITY, "optimize": True}
    if gps:
        exif = Image.Exif()
        exif[_GPS_IFD] = gps
        options["exif"] = exif.tobytes()
    image.save(out, "JPEG", **options)
    return out.getvalue()
