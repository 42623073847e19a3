"""The CJK font of our PDFs: it lives in orchestrator.documents.fonts (the 审批表 is rendered
below the services); kept here under its old name for the reports and their callers."""

from __future__ import annotations

from orchestrator.documents.fonts import CJK, CJK_FONT_PATH, FontMissing, register_cjk

__all__ = ["CJK", "CJK_FONT_PATH", "FontMissing", "register_cjk"]
