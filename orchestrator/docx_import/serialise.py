"""The shaped body as HTML text, written as the sanitiser writes it."""

from __future__ import annotations

from lxml.html import HtmlElement

VOID = frozenset({"br", "img"})


def serialise(root: HtmlElement) -> str:
    """HTML as the sanitiser writes it, one block a line. (lxml's own writer %-escapes
    non-ASCII image names, which would then no longer match the image files.)"""
    blocks = [_escape(root.text or "").strip()]
    blocks += [_element_html(child) + _escape(child.tail or "").strip() for child in root]
    return "\n".join(block for block in blocks if block)


def _element_html(element: HtmlElement) -> str:
    attributes = "".join(
        f' {name}="{_escape(value, quote=True)}"' for name, value in element.attrib.items()
    )
    if element.tag in VOID:
        return f"<{element.tag}{attributes}>"
    inner = _escape(element.text or "") + "".join(
        _element_html(child) + _escape(child.tail or "") for child in element
    )
    return f"<{element.tag}{attributes}>{inner}</{element.tag}>"


def _escape(text: str, *, quote: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if quote else text
