"""The one CJK font our PDFs embed (reportlab cannot embed Noto CJK's PostScript outlines)."""

from __future__ import annotations

import threading
from pathlib import Path

from orchestrator.errors import SanshenError

CJK = "CJK"
CJK_FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")

_lock = threading.Lock()


class FontMissing(SanshenError):
    code = "cjk_font_missing"


def register_cjk(path: Path = CJK_FONT_PATH) -> str:
    """Register the font with reportlab once per process; the name to use in styles."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if not path.is_file():
        raise FontMissing(
            f"中文字体缺失，请安装 fonts-wqy-zenhei（未找到 {path}）", code="cjk_font_missing"
        )
    with _lock:
        if CJK not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(CJK, str(path), subfontIndex=0))
    return CJK
