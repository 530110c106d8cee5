"""The console's own CJK web fonts, so Chinese reads on a machine without a Chinese system font
(a fresh Linux office PC, a kiosk), where every character would otherwise be a box.

The files are the field app's bundled fonts (`field_app/assets/fonts/README.md`): WenQuanYi Micro
Hei (Apache-2.0) with every character GBK can encode, and its fall-back for the rarer name
characters GBK lacks (CJK Extension A and the rest of GB 18030-2022 to level 2: 䶮, 𬌗; HanaMinA
and BabelStone Han, Arphic Public License). Each is kept once in git, so the app and
the console always show the same characters. The server never imports the app: the server's
wheel carries its own copies (`sync_server/pyproject.toml`, force-include), and in a checkout,
where the packages run from the repository, they are read where they lie in the app's folder. `console.css` declares both as
the one family "GridSweep CJK" with `font-display: swap`, after the usual system CJK fonts, the
fall-back limited by `unicode-range`: a browser that has a system CJK font downloads neither,
and one without downloads the 3 MB fall-back only for a page that shows such a character.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse

FONT_FAMILY = "GridSweep CJK"
FONTS_PATH = "/console/fonts/"
FONT_URL = FONTS_PATH + "gridsweep-cjk.ttf"
FALLBACK_URL = FONTS_PATH + "gridsweep-cjk-ext.ttf"
PACKAGED_DIR = Path(__file__).resolve().parent / "fonts"  # in the server's wheel
CHECKOUT_DIR = Path(__file__).resolve().parents[2] / "field_app" / "assets" / "fonts"
FONTS_DIR = PACKAGED_DIR if PACKAGED_DIR.is_dir() else CHECKOUT_DIR
FONT_FILE = FONTS_DIR / "wqy-microhei-gbk.ttf"
FALLBACK_FILE = FONTS_DIR / "cjk-ext-fallback.ttf"
FILES = {FONT_URL: FONT_FILE, FALLBACK_URL: FALLBACK_FILE}
# A day: the files change only with a release; the ETag answers a revalidation with 304.
CACHE_CONTROL = "public, max-age=86400"

router = APIRouter(include_in_schema=False)


@router.get(FONTS_PATH + "{name}")
def console_font(name: str, request: Request) -> Response:
    """A font file. Public, like the stylesheet: the sign-in page needs it too. A browser
    revalidating its copy gets 304."""
    path = FILES.get(FONTS_PATH + name)
    if path is None or not path.is_file():
        raise HTTPException(404, "the console font is not part of this build")
    stat = path.stat()
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type="font/ttf", headers=headers, stat_result=stat)
