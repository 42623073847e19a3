"""A real HTTP server on loopback for the verification tests, and the article they publish.

`site` is a threaded werkzeug server whose routes a test sets: `site.routes[path] = handler`,
a handler taking the werkzeug Request and returning a Response. It counts the requests each
path received, and `site.release` wakes handlers that sleep, so a test never waits for them.
`silent_server` accepts connections and sends nothing, or only what a test says, slowly.
"""

from __future__ import annotations

import hashlib
import io
import random
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import requests
from PIL import Image, ImageDraw
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from channels.simulators.pages import PageArticle, render_page
from orchestrator.verify import Signed, new_session

Handler = Callable[[Request], Response]


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: object) -> None:
        pass


@dataclass
class Site:
    host: str = ""
    routes: dict[str, Handler] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def app(self, environ: dict[str, object], start_response: Callable[..., object]) -> object:
        request = Request(environ)
        self.hits[request.path] += 1
        handler = self.routes.get(request.path)
        response = handler(request) if handler else Response("not here", status=404)
        return response(environ, start_response)


@pytest.fixture
def site() -> Iterator[Site]:
    served = Site()
    server = make_server("127.0.0.1", 0, served.app, threaded=True, request_handler=_QuietHandler)
    served.host = f"127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield served
    finally:
        served.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class SilentServer:
    """Accepts connections; sends `prefix` one byte per `drip` seconds, then holds on."""

    host: str = ""
    prefix: bytes = b""
    drip: float = 0.05
    stop: threading.Event = field(default_factory=threading.Event)
    accepted: int = 0

    def serve(self, listener: socket.socket) -> None:
        held: list[socket.socket] = []
        listener.settimeout(0.05)
        while not self.stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            held.append(conn)
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()
        for conn in held:
            conn.close()

    def _talk(self, conn: socket.socket) -> None:
        for byte in self.prefix:
            if self.stop.wait(self.drip):
                return
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                return
        self.stop.wait()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    server.host = f"127.0.0.1:{listener.getsockname()[1]}"
    thread = threading.Thread(target=server.serve, args=(listener,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        thread.join(5)
        listener.close()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    made = new_session()
    try:
        yield made
    finally:
        made.close()


# -- the article ------------------------------------------------------------------------------


def picture(seed: int, size: tuple[int, int] = (640, 420)) -> Image.Image:
    """A picture of its own: a gradient and a few random shapes."""
    rng = random.Random(seed)
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    top, bottom = [rng.randrange(256) for _ in range(3)], [rng.randrange(256) for _ in range(3)]
    for y in range(height):
        mix = y / height
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(round(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True)),
        )
    for _ in range(6):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        box = [x0, y0, x0 + rng.randrange(60, 300), y0 + rng.randrange(60, 220)]
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    return image


def encoded(image: Image.Image, kind: str = "JPEG", **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


TITLE = "区政务服务办召开2024年第二季度“高效办成一件事”推进会"
PARAGRAPHS = (
    "5月6日，青浦区政务服务办公室召开2024年第二季度工作推进会，总结前期工作，部署下阶段任务。",
    "会议指出，截至4月底，全区“一网通办”平台累计办件量达到12.6万件，同比增长18.3%，"
    "全程网办率提升至87.5%，企业群众满意度保持在99%以上。",
    "会议要求，各窗口要聚焦企业群众办事的难点堵点，持续优化帮办代办、跨省通办等服务，"
    "确保6月30日前完成第二批“一件事”集成服务上线。",
    "下一步，区政务服务办公室将加强统筹协调，推动更多服务事项“免申即享”。",
)


@dataclass(frozen=True)
class Article:
    """The signed version, and how a platform shows it: the same body with its image URLs."""

    signed: Signed
    images: tuple[bytes, ...]  # the signed bytes, in body order
    paragraphs: tuple[str, ...] = PARAGRAPHS

    def body(self, srcs: tuple[str, ...] | None = None) -> str:
        """The body as a platform shows it: images under /img/, or at `srcs`."""
        if srcs is None:
            srcs = tuple(f"/img/{i + 1}.jpg" for i in range(len(self.images)))
        first, second, third, last = self.paragraphs
        return "\n".join(
            (
                f"<p>{first}</p>",
                f'<p><img src="{srcs[0]}" alt="会议现场"></p>',
                "<h2>持续优化营商环境</h2>",
                f"<p>{second}</p>",
                f"<p>{third}</p>",
                f'<p><img src="{srcs[1]}"></p>',
                f"<p>{last}</p>",
            )
        )


def make_article(paragraphs: tuple[str, ...] = PARAGRAPHS) -> Article:
    images = (encoded(picture(1), quality=90), encoded(picture(2), quality=90))
    shas = tuple(hashlib.sha256(data).hexdigest() for data in images)
    draft = Article(Signed(TITLE, "", {}), images, paragraphs)
    body = draft.body(tuple(f"sanshen-image:{sha}" for sha in shas))
    return Article(Signed(TITLE, body, dict(zip(shas, images, strict=True))), images, paragraphs)


@pytest.fixture
def article() -> Article:
    return make_article()


def page_of(
    platform: str, body_html: str, *, title: str = TITLE, **chrome: object
) -> tuple[bytes, str]:
    page = PageArticle(
        title=title,
        body_html=body_html,
        published_at=datetime(2024, 5, 6, 2, 30, tzinfo=UTC),
        **chrome,  # type: ignore[arg-type]
    )
    return render_page(platform, page)


def serve_article(
    site: Site,
    article: Article,
    *,
    platform: str = "wechat",
    body_html: str | None = None,
    images: tuple[bytes, ...] | None = None,
    path: str = "/a/1.html",
    **chrome: object,
) -> str:
    """Serve the article's page (and its images under /img/) on `site`; its URL."""
    data, content_type = page_of(
        platform, body_html if body_html is not None else article.body(), **chrome
    )
    site.routes[path] = lambda request: Response(data, content_type=content_type)
    for index, image in enumerate(images if images is not None else article.images):
        site.routes[f"/img/{index + 1}.jpg"] = _image_route(image)
    return site.url(path)


def _image_route(data: bytes) -> Handler:
    return lambda request: Response(data, content_type="image/jpeg")
