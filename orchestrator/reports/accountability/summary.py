"""The accountability report for people, one line each: what went out, who approved each
stage (and whether the signature holds), 改期, who published it, 发布核验, the gate's verdict."""

from __future__ import annotations

from typing import Any

import gate.model as g


def summary(found: dict[str, Any]) -> list[str]:
    """The report for people, one line each."""
    pub, version = found["publication"], found["version"]
    lines = [
        f"{pub['channel_label']}：{version['title']}（{pub['state_label']}，"
        f"{pub['url'] or pub['external_id'] or '无链接'}）",
        f"发布的是稿件 {found['submission']['id']} 第 {version['number']} 版，"
        f"版本指纹 {version['fingerprint'][:16]}…"
        + ("" if version["current"] else "（稿件此后已有新版本）"),
        f"供稿（经办）：{found['author']['name']}（{found['author']['username']}）",
    ]
    for stage, review in found["approved"].items():
        label = g.ReviewStage(stage).label
        if review is None:
            lines.append(f"{label}：无有效通过记录")
            continue
        check = "签名有效" if review["signature_valid"] else "签名无效"
        lines.append(
            f"{label}：{review['name']}（{review['username']}）{review['at']} "
            f"签名 {review['signature_fingerprint']}，{check}"
        )
    for review in found["reviews"]:
        if not review["signature_valid"]:
            lines.append(
                f"警告：{review['name']}的{review['stage_label']}{review['decision_label']}"
                "签名验证失败（记录可能在签名后被改动）"
            )
    for a in found["amendments"]:
        note = "" if a["counts"] else "（无效，不予计入）"
        lines.append(
            f"改期：{a['name']}（{a['username']}）{a['at']} 签署，发布日期 {a['old_date']} → "
            f"{a['new_date']}，签名 {a['signature_fingerprint']}{note}"
            + (f"，原因：{a['comment']}" if a["comment"] else "")
        )
    lines.append(f"发布：{found['publisher']['text']}")
    for a in found["by_hand"]:
        check = "签名有效" if a["signature_valid"] else "签名无效"
        what = "人工发布" if a["kind"] == "published" else "人工撤下"
        lines.append(
            f"{what}登记：{a['name']}（{a['username']}）{a['at']}，{a['url']}"
            + (f"（编号 {a['external_id']}）" if a["external_id"] else "")
            + f"，签名 {a['signature_fingerprint']}，{check}"
        )
    checks = found["verifications"]
    if checks:
        first_ok = next((v for v in checks if v["verdict"] == "consistent"), None)
        lines.append(
            f"发布核验：共 {len(checks)} 次"
            + (
                f"，首次一致 {first_ok['at']}（页面 SHA-256 {first_ok['page_sha256'][:16]}…）"
                if first_ok
                else "，从未核验一致"
            )
        )
        for v in checks:
            if v["verdict"] != "consistent":
                lines.append(
                    f"  {v['at']} {v['verdict_label']}：{v['reason']}"
                    f"（页面 SHA-256 {(v['page_sha256'] or '—')[:16]}）"
                )
    for who in found["publisher"]["confirmed_by"]:
        lines.append(f"人工确认已发布：{who['name']}（{who['username']}）{who['at']}")
    if found["gate"]["passed"]:
        lines.append("审核闸门复核：通过，全部签名验证有效")
    else:
        lines.append(
            "审核闸门复核：未通过：" + "；".join(v["message"] for v in found["gate"]["violations"])
        )
    return lines
