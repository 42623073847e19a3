"""Benchmark the review gate against its ceiling.

10,000 records, each a 50 KB Chinese HTML body, 5 image hashes and 5 signed approvals (a major
event, so five stages). `evaluate` runs on every record; the ceiling is the unavoidable work of
the same records: the version fingerprint (canonical bytes + SHA-256) and 5 Ed25519
verifications over payloads prepared in advance. Records are built in batches, untimed.

Run: python bench/gate.py [records] (or python -m bench.gate). The last line is JSON.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would hide the
# `gate` package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from nacl.signing import SigningKey, VerifyKey  # noqa: E402

from gate import DEFAULT_POLICY, evaluate  # noqa: E402
from gate.canonical import fingerprint  # noqa: E402
from gate.model import (  # noqa: E402
    STAGE_ORDER,
    ChannelRequest,
    Content,
    Decision,
    Person,
    PublicationRow,
    ReviewAction,
    ReviewRecord,
    Role,
    RoleAssignment,
)
from gate.signature import payload_of, sign_action  # noqa: E402

RECORDS = 10_000
BATCH = 500
BODY_BYTES = 50_000
T0 = datetime(2024, 5, 6, 1, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=1)
ROLES = (
    Role.CONTRIBUTOR,
    Role.SECTION_HEAD,
    Role.LEADER_IN_CHARGE,
    Role.PRINCIPAL_LEADER,
    Role.GENERAL_OFFICE,
    Role.PUBLICITY_LEADER,
)
SENTENCES = (
    "区政务服务办公室持续深化“一网通办”改革，推动政务服务从“能办”向“好办”转变。",
    "窗口工作人员主动靠前服务，为企业群众提供帮办代办、跨省通办等便利。",
    "会议强调，要坚持多级审核、先审后发，确保信息内容真实准确、表述规范。",
    "下一步，将聚焦重点、关注热点、把握节点，及时反映政务服务工作动态。",
    "截至目前，全程网办事项占比进一步提升，企业群众满意度保持较高水平。",
)


DEPARTMENT = "政府网站运行科"
SEND_AT = datetime(2024, 5, 8, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai on the signed day


def body(rng: random.Random, n: int) -> str:
    parts: list[str] = [f"<h2>第{n}期 政务服务工作动态</h2>"]
    size = 0
    while size < BODY_BYTES:
        paragraph = "<p>" + "".join(rng.choice(SENTENCES) for _ in range(6)) + "</p>"
        parts.append(paragraph)
        size += len(paragraph.encode())
    return "".join(parts)


def build_people() -> tuple[dict[str, Person], dict[str, SigningKey]]:
    keys = {f"p{i}": SigningKey.generate() for i in range(len(ROLES))}
    people = {
        pid: Person(
            pid,
            pid,
            key.verify_key.encode(),
            (RoleAssignment(role, T0 - timedelta(days=1)),),
            DEPARTMENT,
        )
        for (pid, key), role in zip(keys.items(), ROLES, strict=True)
    }
    return people, keys


def build_record(
    n: int, rng: random.Random, people: dict[str, Person], keys: dict[str, SigningKey]
) -> ReviewRecord:
    content = Content(
        title=f"青浦区政务服务办公室工作动态（第{n}期）",
        body_html=body(rng, n),
        image_hashes=tuple(hashlib.sha256(f"{n}-{i}".encode()).hexdigest() for i in range(5)),
        major_event=True,
        channels=(
            ChannelRequest("政府网站", date(2024, 5, 8)),
            ChannelRequest("微信公众号", date(2024, 5, 8)),
        ),
    )
    version = fingerprint(content)
    actions = tuple(
        sign_action(
            ReviewAction(
                f"S-{n}", version, stage, Decision.APPROVE, f"p{i}", T0 + timedelta(minutes=i), b""
            ),
            keys[f"p{i}"],
        )
        for i, stage in enumerate(STAGE_ORDER)
    )
    # As at a send: the stored images looked up, and the row about to go out on its signed day.
    return ReviewRecord(
        f"S-{n}",
        DEPARTMENT,
        "p0",
        content,
        actions,
        people,
        stored_images={sha: sha for sha in content.image_hashes},
        publications=(PublicationRow(f"P-{n}", "政府网站", SEND_AT),),
    )


def ceiling(record: ReviewRecord, checks: list[tuple[VerifyKey, bytes, bytes]]) -> None:
    fingerprint(record.content)
    for key, payload, signature in checks:
        key.verify(payload, signature)


def main(total: int) -> dict[str, object]:
    rng = random.Random(17)
    people, keys = build_people()
    verify_keys = {pid: VerifyKey(p.public_key) for pid, p in people.items()}
    gate_s = ceiling_s = 0.0
    done = 0
    while done < total:
        batch = [build_record(done + i, rng, people, keys) for i in range(min(BATCH, total - done))]
        prepared = [
            [(verify_keys[a.actor_id], payload_of(a), a.signature) for a in r.actions]
            for r in batch
        ]
        start = time.perf_counter()
        for record in batch:
            if not evaluate(record, DEFAULT_POLICY, now=NOW).passed:
                raise SystemExit(f"record {record.submission_id} did not pass")
        middle = time.perf_counter()
        for record, checks in zip(batch, prepared, strict=True):
            ceiling(record, checks)
        gate_s += middle - start
        ceiling_s += time.perf_counter() - middle
        done += len(batch)
        if done % 2000 == 0 or done == total:
            print(f"{done} records: evaluate {gate_s:.2f} s, ceiling {ceiling_s:.2f} s", flush=True)
    return {
        "bench": "gate",
        "records": total,
        "records_per_s": round(total / gate_s, 1),
        "ceiling_per_s": round(total / ceiling_s, 1),
        "ratio": round(ceiling_s / gate_s, 3),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else RECORDS)))
