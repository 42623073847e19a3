"""The public pages a simulator serves, and the faults a test can put on each live page.

Every simulator keeps the pages of its published articles in a `LivePages` registry, keyed by
the URL's path and query (so the host a client used does not matter). A page answers through its
platform's template (`pages.py`); its images answer through `image_response`, so the faults
reach them too. Live-page verification fetches these URLs; the knobs below are what it must
notice. `PUT /_sim/pages` and `Simulator.alter_page` take them, applied in this order:

    restore: true          clear every fault of the page first (its text back as published)
    replace: [old, new]    alter the live text: the first `old` in the body's HTML becomes `new`
    append: "<p>…</p>"     add to the end of the body
    drop_paragraph: n      remove the n-th <p> of the body (counting from 1)
    swap_image: n          the n-th image (from 1) answers another, visibly different picture
    not_image: n           the n-th image answers bytes that are not an image, typed as an image
    remove: 404 | 410      the page answers that status
    hang_s: s              wait s seconds before answering
    huge_mb: n             the page grows to n MB, streamed (chunked, no Content-Length)
    undeclared: true       no charset, neither in the Content-Type header nor in the page
    redirect_loop: true    the page answers 302 to itself, forever

A page the platform itself took down (withdrawn, deleted, taken offline) answers 404 or 410
whatever its faults; `restore` does not bring it back.

`page.py` holds one page, `knobs.py` parses the knobs, `answers.py` is what a faulty page
answers, `registry.py` is the thread-safe registry a simulator keeps (`LivePages`).
"""

from channels.simulators.live.answers import other_picture
from channels.simulators.live.knobs import KnobInvalid
from channels.simulators.live.page import LivePage, PageFaults, page_key
from channels.simulators.live.registry import LivePages, PageUnknown

__all__ = [
    "KnobInvalid",
    "LivePage",
    "LivePages",
    "PageFaults",
    "PageUnknown",
    "other_picture",
    "page_key",
]
