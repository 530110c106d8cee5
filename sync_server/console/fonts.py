"""The console's own CJK web font, so Chinese reads on a machine without a Chinese system font
(a fresh Linux office PC, a kiosk), where every character would otherwise be a box.

The file is the field app's bundled font (WenQuanYi Micro Hei, Apache-2.0, every character GBK
can encode: `field_app/assets/fonts/README.md`), kept once in git, so the 3 MB file is stored once
and the two always show the same characters. The server never imports the app: the server's
wheel carries its own copy of the file (`sync_server/pyproject.toml`, force-include), and in a
checkout, where the packages run from the repository, it is read where it lies in the app's
folder. `console.css` declares it as "GridSweep CJK" with `font-display: swap`, after the usual
system CJK fonts: a browser that has one of those never downloads it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse

FONT_FAMILY = "GridSweep CJK"
FONT_URL = "/console/fonts/gridsweep-cjk.ttf"
FONT_NAME = "wqy-microhei-gbk.ttf"
PACKAGED_FONT = Path(__file__).resolve().parent / "fonts" / FONT_NAME  # in the server's wheel
CHECKOUT_FONT = Path(__file__).resolve().parents[2] / "field_app" / "assets" / "fonts" / FONT_NAME
FONT_FILE = PACKAGED_FONT if PACKAGED_FONT.is_file() else CHECKOUT_FONT
# A day: the file changes only with a release; the ETag answers a revalidation with 304.
CACHE_CONTROL = "public, max-age=86400"

router = APIRouter(include_in_schema=False)


@router.get(FONT_URL)
def console_font(request: Request) -> Response:
    """The font file. Public, like the stylesheet: the sign-in page needs it too. A browser
    revalidating its copy gets 304."""
    if not FONT_FILE.is_file():
        raise HTTPException(404, "the console font is not part of this build")
    stat = FONT_FILE.stat()
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return FileResponse(FONT_FILE, media_type="font/ttf", headers=headers, stat_result=stat)
