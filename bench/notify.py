"""What a notification round costs: the scan that finds what waits for whom, and the sends.

A fresh SQLite database holds the demo organisation plus `--people` more people (contributors
and 科室负责人 spread over the three departments) and `--items` open submissions whose 初审 is
signed, so each waits for 复审 by its department's 科室负责人. Rounds run in this process as the
scheduler's notify loop runs them, delivering to the 企业微信 simulator over loopback HTTP.

Reported: the first round (every message new: rows written, the first batch of cards sent),
the rounds that send the rest (a batch each), then `--rounds` steady rounds (nothing new,
nothing to send: the scan alone) as wall-clock p50/p95 and CPU ms per open item, and the
messages the simulator received against the rows written (never more).

Run: python bench/notify.py [--items 200] [--people 60] [--rounds 10]
The last line of stdout is the JSON result.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import SecretStr  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402

from bench._stack import emit, percentile, rounded, say  # noqa: E402
from channels.simulators.wecom_app import WeComAppServer, WeComAppSimulator  # noqa: E402
from gate.model import ChannelRequest, Decision, ReviewStage  # noqa: E402
from orchestrator import demo  # noqa: E402
from orchestrator.app import App  # noqa: E402
from orchestrator.migrate import upgrade  # noqa: E402
from orchestrator.models import Notification, RoleAssignment  # noqa: E402
from orchestrator.services import notifications, org, review, submissions  # noqa: E402
from orchestrator.settings import Settings  # noqa: E402

DEPARTMENTS = ("sjgl", "zhk", "wzyx")


def seed(app: App, items: int, people: int) -> None:
    demo.ensure_organisation(app)
    with app.db.session() as session:
        for i in range(people):
            role = "section_head" if i % 4 == 0 else "contributor"
            spec = org.PersonSpec(
                username=f"p{i:03d}",
                name=f"人员{i:03d}",
                department=DEPARTMENTS[i % len(DEPARTMENTS)],
                roles=[role],
                password="bench-pass-1",
                wecom_userid=f"P{i:03d}",
            )
            org.add_person(session, spec, kdf_profile="min")
        session.flush()
        session.execute(update(RoleAssignment).values(valid_from=datetime(2020, 1, 1, tzinfo=UTC)))
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    for n in range(items):
        with app.db.session() as session:
            sub = submissions.create(
                session,
                app.blobs,
                author="wangfang",
                department="sjgl",
                draft=submissions.Draft(
                    title=f"政务服务动态第 {n} 期",
                    body_html=f"<p>第 {n} 期正文。</p>",
                    channels=[ChannelRequest("gov_website", tomorrow)],
                ),
            ).id
        with app.db.session() as session:
            review.review(
                session,
                sub,
                stage=ReviewStage.FIRST,
                decision=Decision.APPROVE,
                actor="wangfang",
                password="demo-pass-1",
                policy=app.policy,
            )


def timed_round(app: App) -> tuple[float, float, dict[str, int]]:
    wall, cpu = time.perf_counter(), time.process_time()
    counts = notifications.run_once(app)
    return time.perf_counter() - wall, time.process_time() - cpu, counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--people", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sanshen-bench-notify-"))
    with WeComAppServer(WeComAppSimulator()) as wecom:
        s = wecom.client_settings()
        app = App(
            Settings(
                data_dir=folder / "data",
                kdf_profile="min",
                wecom_corp_id=s["corp_id"],
                wecom_secret=SecretStr(s["secret"]),
                wecom_agent_id=s["agent_id"],
                wecom_base_url=s["base_url"],
            )
        )
        upgrade(app.db)
        say(f"seeding {args.items} open items and {args.people} more people")
        seed(app, args.items, args.people)
        first_wall, first_cpu, first = timed_round(app)
        say(f"first round: {first_wall:.2f} s, {first}")
        # the rest of the first messages go out `BATCH` a round, as on a real scheduler
        drain_rounds, drain_wall, sent = 0, 0.0, first["sent"]
        while True:
            wall, _, counts = timed_round(app)
            if not counts["sent"]:
                break
            drain_rounds, drain_wall, sent = (
                drain_rounds + 1,
                drain_wall + wall,
                sent + counts["sent"],
            )
        say(f"sent the rest in {drain_rounds} more rounds, {drain_wall:.2f} s")
        walls, cpus = [], []
        for _ in range(args.rounds):
            wall, cpu, counts = timed_round(app)
            assert counts["created"] == 0 and counts["sent"] == 0, counts
            walls.append(wall)
            cpus.append(cpu)
        with app.db.read() as session:
            rows = int(session.scalar(select(func.count()).select_from(Notification)) or 0)
        sends = wecom.simulator.calls["send"]
        app.db.dispose()
    emit(
        {
            "items": args.items,
            "people": args.people + 9,
            "first_round_s": rounded(first_wall),
            "first_round_cpu_ms_per_item": rounded(first_cpu * 1000 / args.items),
            "messages_written": rows,
            "first_round_sent": first["sent"],
            "drain_rounds": drain_rounds,
            "drain_s": rounded(drain_wall),
            "messages_sent": sent,
            "simulator_sends": sends,
            "steady_round_p50_s": rounded(percentile(walls, 50)),
            "steady_round_p95_s": rounded(percentile(walls, 95)),
            "steady_round_cpu_ms_per_item": rounded(sum(cpus) * 1000 / len(cpus) / args.items),
        }
    )


if __name__ == "__main__":
    main()
