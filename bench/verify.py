"""Live-page verification (发布核验) against a corpus of platform pages served on loopback.

500 signed articles of generated government-service news (several paragraphs with dates and
numbers, 0-3 generated pictures) are each rendered through every platform's page template
(channels/simulators/pages.py: 5 platforms, 2,500 pages). Each page is either benign but
different from the signed version — extra whitespace, punctuation width, changed template
chrome, recompressed and resized images, an added 来源/编辑/浏览次数 line — or altered: one
character changed, one sentence added (at the start, in the middle, at the end or inside a
paragraph), a paragraph dropped, an image swapped, a number changed. Kinds are assigned in
turn, half of each page set benign, half altered.

A child process serves the pages and images (werkzeug, threaded, keep-alive); this process
runs `orchestrator.verify.check` on every page, one after another, with one session, as the
orchestrator's worker would. Reported: recall per altered kind and false alarms per benign
kind (a benign page that is not judged consistent is a false alarm), pages per second, CPU ms
per page on the checking side (and on the serving side), and the perceptual-hash distances of
the same pictures recompressed against swapped ones, beside the threshold.

Run: python bench/verify.py [--articles 500] [--quick]
The last line of stdout is the JSON result.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench._stack import emit, percentile, rounded, say  # noqa: E402
from bench._verify.corpus import ALTERED, BENIGN, Corpus, Page, make_corpus  # noqa: E402
from channels.simulators.pages import PLATFORMS  # noqa: E402
from orchestrator.verify import Limits, Verdict, check, new_session  # noqa: E402

ARTICLES = 500
QUICK_ARTICLES = 60
EXPECTED_CODE = {"image_swapped": "image_changed"}  # every other alteration: text_changed


# -- serving ----------------------------------------------------------------------------------


def _serve(routes: dict[str, tuple[bytes, str]], conn: Connection) -> None:
    from werkzeug.serving import WSGIRequestHandler, make_server
    from werkzeug.wrappers import Request, Response

    class Quiet(WSGIRequestHandler):
        def log(self, type: str, message: str, *args: object) -> None:
            pass

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        found = routes.get(Request(environ).path)
        response = Response(found[0], content_type=found[1]) if found else Response(status=404)
        return response(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
    conn.send(server.server_port)
    server.serve_forever()


# -- measuring --------------------------------------------------------------------------------


def measure(corpus: Corpus, host: str) -> dict[str, Any]:
    session = new_session()
    limits = Limits()
    results: list[tuple[Page, Any]] = []
    times: list[float] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for index, page in enumerate(corpus.pages):
        started = time.perf_counter()
        outcome = check(
            f"http://{host}{page.path}", page.signed, allowed_hosts=[host], session=session
        )
        times.append((time.perf_counter() - started) * 1000)
        results.append((page, outcome))
        if (index + 1) % 500 == 0:
            say(f"{index + 1} pages checked")
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    session.close()
    return {
        "results": results,
        "wall_s": wall,
        "cpu_s": cpu,
        "times": times,
        "threshold": limits.image_similarity,
    }


def summarise(corpus: Corpus, measured: dict[str, Any], server_cpu_s: float) -> dict[str, Any]:
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    same: list[int] = []
    swapped: list[int] = []
    wrong: list[dict[str, Any]] = []
    for page, outcome in measured["results"]:
        tally = by_kind[page.kind]
        tally["pages"] += 1
        if page.altered:
            hit = outcome.verdict is Verdict.MISMATCH
            tally["detected"] += hit
            tally["right_code"] += hit and outcome.code == EXPECTED_CODE.get(
                page.kind, "text_changed"
            )
        else:
            hit = outcome.verdict is Verdict.CONSISTENT
            tally["false_alarms"] += not hit
        if not hit and len(wrong) < 10:
            wrong.append(
                {
                    "page": page.number,
                    "platform": page.platform,
                    "kind": page.kind,
                    "code": outcome.code,
                    "reason": outcome.reason,
                }
            )
        distances = outcome.images.distances
        if page.kind == "images_recompressed":
            same += [d for d in distances if d is not None]
        elif page.kind == "image_swapped" and page.swapped is not None:
            distance = dict(enumerate(distances)).get(page.swapped)
            if distance is not None:
                swapped.append(distance)
    pages = len(measured["results"])
    altered = sum(t["pages"] for k, t in by_kind.items() if k in ALTERED)
    detected = sum(t["detected"] for k, t in by_kind.items() if k in ALTERED)
    benign = pages - altered
    alarms = sum(t["false_alarms"] for k, t in by_kind.items() if k in BENIGN)
    kinds: dict[str, Any] = {}
    for kind, tally in sorted(by_kind.items()):
        if kind in ALTERED:
            kinds[kind] = {
                "pages": tally["pages"],
                "recall": rounded(tally["detected"] / tally["pages"], 4),
                "right_code": rounded(tally["right_code"] / tally["pages"], 4),
            }
        else:
            kinds[kind] = {
                "pages": tally["pages"],
                "false_alarm_rate": rounded(tally["false_alarms"] / tally["pages"], 4),
            }
    times = measured["times"]
    return {
        "bench": "verify",
        "articles": corpus.articles,
        "platforms": len(PLATFORMS),
        "pages": pages,
        "benign_pages": benign,
        "altered_pages": altered,
        "signed_images": corpus.images,
        "recall": rounded(detected / altered, 4) if altered else None,
        "false_alarm_rate": rounded(alarms / benign, 4) if benign else None,
        "by_kind": kinds,
        "pages_per_s": rounded(pages / measured["wall_s"], 1),
        "cpu_ms_per_page": rounded(measured["cpu_s"] * 1000 / pages, 2),
        "server_cpu_ms_per_page": rounded(server_cpu_s * 1000 / pages, 2),
        "check_ms_p50": rounded(percentile(times, 50), 1),
        "check_ms_p95": rounded(percentile(times, 95), 1),
        "image_distance": {
            "recompressed_max": max(same, default=None),
            "swapped_min": min(swapped, default=None),
            "threshold": measured["threshold"],
        },
        "misjudged": wrong,
    }


def main(articles: int) -> dict[str, Any]:
    started = time.perf_counter()
    corpus = make_corpus(articles)
    took = time.perf_counter() - started
    say(f"{len(corpus.pages)} pages, {corpus.images} signed images in {took:.1f} s")
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    server = context.Process(target=_serve, args=(corpus.routes, child), daemon=True)
    server.start()
    host = f"127.0.0.1:{parent.recv()}"
    try:
        measured = measure(corpus, host)
    finally:
        server.terminate()
        server.join(5)
    server_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    return summarise(corpus, measured, server_cpu.ru_utime + server_cpu.ru_stime)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=ARTICLES)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ARTICLES} articles")
    args = parser.parse_args()
    emit(main(QUICK_ARTICLES if args.quick else args.articles))
