"""The signed text against the live page: found as signed, and nothing but furniture around it.

Two readings of the live page are used. The page text (every text node of the document, read
by `text.walk`) answers "is the signed text there, unbroken?": the signed text must occur in it
as one contiguous run. That alone catches every change inside the signed text — a character or
a number changed, a sentence inserted, a paragraph dropped — and it does not depend on an
extractor keeping every subheading and caption.

The article text (what trafilatura extracts) answers "where does the article end?". Walking
out of the signed run through the page's blocks, both ways, every block the extractor kept
belongs to the article, up to the first block it did not keep; those blocks, and whatever
shares a block with the first or last signed paragraph, must be page furniture
(`chrome.Furniture`). A sentence added before the first or after the last paragraph is caught
there; a "来源：… 编辑：…" line, share buttons or the title are not. Text the extractor picks
up far from the article (a header it appends at the end) is not at the article's edge, so it
is not judged.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from rapidfuzz.distance import Indel, Postfix, Prefix

from orchestrator.verify.chrome import Furniture, is_related_heading, looks_like_link_title
from orchestrator.verify.outcome import Segment
from orchestrator.verify.text import Stream, display

CONTEXT = 16  # characters of unchanged text kept on each side of a change
SEGMENT_MAX = 400  # characters of one inserted or deleted run kept in the diff
_DIFF_CELLS = 40_000_000  # above this, the middle of two texts is diffed as one replacement
_GAP = 300  # characters of page text allowed between two extracted blocks placed for a diff


@dataclass(frozen=True, slots=True)
class TextResult:
    found_at: int  # where the signed text starts in the page text; -1 if not found
    before: tuple[str, ...]  # non-furniture text at the article's start, before the signed text
    after: tuple[str, ...]  # ... and at its end, after it
    similarity: float
    diff: tuple[Segment, ...]

    @property
    def changed(self) -> bool:
        return self.found_at < 0 or bool(self.before or self.after)


def compare_text(signed: str, page: Stream, article: Stream, furniture: Furniture) -> TextResult:
    found_at = page.text.find(signed)
    if found_at < 0:
        core = article_core(article, furniture)
        similarity, diff = diff_texts(signed, _in_page(core, page) or "".join(core))
        return TextResult(-1, (), (), similarity, diff)
    if not signed:
        return TextResult(found_at, (), (), 1.0, ())
    edges = article_edges(page, found_at, found_at + len(signed), article)
    before, after = furniture.outside(edges[0]), furniture.outside(edges[1])
    if not before and not after:
        return TextResult(found_at, (), (), 1.0, ())
    extra = sum(map(len, before)) + sum(map(len, after))
    similarity = 2 * len(signed) / (2 * len(signed) + extra)
    segments: list[Segment] = [("insert", _clip("".join(before)))] if before else []
    segments += _equal(signed, first=bool(before), last=bool(after))
    segments += [("insert", _clip("".join(after)))] if after else []
    return TextResult(found_at, tuple(before), tuple(after), similarity, tuple(segments))


def article_edges(
    page: Stream, start: int, end: int, article: Stream
) -> tuple[list[str], list[str]]:
    """The page text at the article's two edges, outside [start, end), block by block in
    document order: the rest of the blocks holding the first and last signed characters, and
    the neighbouring blocks the extractor kept, up to the first one it did not."""
    text, blocks, kept = page.text, page.blocks, article.text
    if not blocks:
        return [], []
    first = max(bisect_right(blocks, (start, len(text) + 1)) - 1, 0)
    last = max(bisect_right(blocks, (end - 1, len(text) + 1)) - 1, 0)
    before: list[str] = []
    after: list[str] = []
    if blocks[first][0] < start:
        before.append(text[blocks[first][0] : start])
    if blocks[last][1] > end:
        after.append(text[end : blocks[last][1]])
    index = first - 1
    while index >= 0 and (block := text[slice(*blocks[index])]) in kept:
        before.insert(0, block)
        index -= 1
    index = last + 1
    while index < len(blocks) and (block := text[slice(*blocks[index])]) in kept:
        after.append(block)
        index += 1
    return before, after


def article_core(article: Stream, furniture: Furniture) -> list[str]:
    """The article's blocks without the furniture blocks at its two ends."""
    blocks = article.block_texts()
    while blocks and (furniture.is_furniture(blocks[0]) or is_related_heading(blocks[0])):
        blocks.pop(0)
    related = next((i for i, b in enumerate(blocks) if is_related_heading(b)), len(blocks))
    while blocks and (
        furniture.is_furniture(blocks[-1])
        or is_related_heading(blocks[-1])
        or (len(blocks) - 1 > related and looks_like_link_title(blocks[-1]))
    ):
        blocks.pop()
    return blocks


def _in_page(blocks: list[str], page: Stream) -> str:
    """The page text the extracted `blocks` cover, so that what the extractor dropped between
    them (a subheading, a caption) is not shown as a change; "" if they cannot be placed.
    The longest block anchors; its neighbours extend the span while they follow it closely."""
    if not blocks:
        return ""
    anchor = max(range(len(blocks)), key=lambda i: len(blocks[i]))
    start = page.text.find(blocks[anchor])
    if start < 0:
        return ""
    end = start + len(blocks[anchor])
    for block in blocks[anchor + 1 :]:
        at = page.text.find(block, end, end + _GAP + len(block))
        if at < 0:
            break
        end = at + len(block)
    for block in reversed(blocks[:anchor]):
        at = page.text.rfind(block, max(start - _GAP - len(block), 0), start)
        if at < 0:
            break
        start = at
    return page.text[start:end]


def diff_texts(signed: str, live: str) -> tuple[float, tuple[Segment, ...]]:
    """Similarity (0..1) and the diff segments from `signed` to `live`."""
    if not signed and not live:
        return 1.0, ()
    head = Prefix.similarity(signed, live)
    tail = Postfix.similarity(signed[head:], live[head:])
    old, new = signed[head : len(signed) - tail], live[head : len(live) - tail]
    raw: list[Segment] = [("equal", signed[:head])] if head else []
    if len(old) * len(new) <= _DIFF_CELLS:
        distance = Indel.distance(old, new)
        for op in Indel.opcodes(old, new):
            if op.tag == "equal":
                raw.append(("equal", old[op.src_start : op.src_end]))
                continue
            if op.src_end > op.src_start:
                raw.append(("delete", old[op.src_start : op.src_end]))
            if op.dest_end > op.dest_start:
                raw.append(("insert", new[op.dest_start : op.dest_end]))
    else:
        distance = len(old) + len(new)
        raw += [("delete", old), ("insert", new)]
    if tail:
        raw.append(("equal", signed[len(signed) - tail :]))
    similarity = 1.0 - distance / (len(signed) + len(live))
    return similarity, tuple(_shorten(raw))


def _shorten(raw: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for kind, text in raw:
        if not text:
            continue
        if merged and merged[-1][0] == kind:
            merged[-1] = (kind, merged[-1][1] + text)
        else:
            merged.append((kind, text))
    for i in range(len(merged) - 1):  # a replacement reads "delete, then insert"
        if merged[i][0] == "insert" and merged[i + 1][0] == "delete":
            merged[i], merged[i + 1] = merged[i + 1], merged[i]
    out: list[Segment] = []
    for i, (kind, text) in enumerate(merged):
        if kind == "equal":
            out += _equal(text, first=i > 0, last=i < len(merged) - 1)
        else:
            out.append((kind, _clip(text)))
    return out


def _equal(text: str, *, first: bool, last: bool) -> list[Segment]:
    """An unchanged run, keeping CONTEXT characters next to the changes it touches:
    `first` when a change comes before it, `last` when one comes after."""
    keep_head = CONTEXT if first else 0
    keep_tail = CONTEXT if last else 0
    if len(text) <= keep_head + keep_tail + 1:
        return [("equal", text)]
    return [("equal", text[:keep_head] + "…" + text[len(text) - keep_tail :])]


def _clip(text: str) -> str:
    if len(text) <= SEGMENT_MAX:
        return text
    half = SEGMENT_MAX // 2
    return f"{text[:half]}…（略去 {len(text) - SEGMENT_MAX} 字）…{text[-half:]}"


def describe(result: TextResult) -> str:
    """One Chinese sentence about the first difference and how many there are."""
    if result.found_at >= 0:
        where = {(True, True): "正文前后", (True, False): "正文前", (False, True): "正文后"}
        added = (*result.before, *result.after)
        key = (bool(result.before), bool(result.after))
        return f"{where.get(key, '正文旁')}多出签发版本没有的内容：“{display(added[0])}”"
    changes = _changes(result.diff)
    if not changes:
        return "正文与签发版本不一致"
    first = changes[0]
    more = f"，共 {len(changes)} 处改动" if len(changes) > 1 else ""
    return f"正文与签发版本不一致：{first}{more}"


def _changes(diff: tuple[Segment, ...]) -> list[str]:
    """Each change in words, with a few unchanged characters around it to find it by."""
    found: list[str] = []
    i = 0
    while i < len(diff):
        kind, text = diff[i]
        if kind == "equal":
            i += 1
            continue
        lead = _context(diff, i - 1, tail=True)
        if kind == "delete" and i + 1 < len(diff) and diff[i + 1][0] == "insert":
            new, follow = diff[i + 1][1], _context(diff, i + 2, tail=False)
            old_text = display(lead + text + follow, 40)
            new_text = display(lead + new + follow, 40)
            found.append(f"“{old_text}”改为“{new_text}”")
            i += 2
            continue
        where = f"“{lead}”之后" if lead else "开头"
        verb = "删去了" if kind == "delete" else "多出了"
        found.append(f"{where}{verb}“{display(text, 30)}”")
        i += 1
    return found


def _context(diff: tuple[Segment, ...], index: int, *, tail: bool) -> str:
    """Up to 6 unchanged characters next to a change, from the equal segment at `index`."""
    if not 0 <= index < len(diff) or diff[index][0] != "equal":
        return ""
    text = diff[index][1]
    part = text[-6:] if tail else text[:6]
    return part.split("…")[-1] if tail else part.split("…")[0]
