"""Who may do what, written out by hand from the seed (shared/seeds/000_6eaa97ff57ef9ea8.txt,
青政务〔2023〕17号) and shared/docs/domain.md — not imported from the code it checks.

tests/api/test_role_matrix.py checks orchestrator.permissions, the review policy's stage roles
and every route of /api/v1 against these literals. A change of who may do something is a change
to this file, made on purpose, with the place in the seed that says so.

Citations: "seed 三(一)" is section 三, item (一) of the 制度; "domain" is shared/docs/domain.md
("Who uses the software" is its last section). The roles are Role's values (gate/model.py):

    contributor       供稿人/信息稿件编辑人员        section_head      支部书记/科室负责人
    leader_in_charge  (业务)分管领导                 principal_leader  主要领导
    publicity_leader  分管宣传领导/宣传分管领导      general_office    综合科
    web_operations    政府网站运行科                 operator          值守运维 (domain only)
"""

from __future__ import annotations

ROLES = frozenset(
    {
        "contributor",
        "section_head",
        "leader_in_charge",
        "principal_leader",
        "publicity_leader",
        "general_office",
        "web_operations",
        "operator",
    }
)

# Not roles: who may call a route that no role guards.
ANY_SIGNED_IN = "any signed-in person"
NO_SIGN_IN = "no sign-in needed"

OWN, UPWARD = "own", "upward"

# (action, channel kind) -> the roles that may do it to a publication on such a channel.
# Own platforms (两端一号): 政府网站, 随申办旗舰店, 微信公众号. Upward: 学习强国, 绿色青浦, ….
ACTIONS: dict[tuple[str, str], frozenset[str]] = {
    # seed 三(一) 政府网站运行科负责本单位平台两端一号……的更新发布; 三(二) 其他可在本单位平台发布
    # 的稿件交由政府网站运行科进行发布; domain: it "triggers and schedules publication on the own
    # platforms". Schedule covers reschedule within the day and cancel.
    ("schedule", OWN): frozenset({"web_operations"}),
    # seed 三 综合科……按时统一对上报送; 三(二) 由综合科……将有价值、有特色的稿件向上报送;
    # domain: 综合科 "queues and sends upward submissions".
    ("schedule", UPWARD): frozenset({"general_office"}),
    # seed 四(三) 谁发布谁负责: whoever publishes on a platform takes it down (撤稿) there.
    ("retract", OWN): frozenset({"web_operations"}),
    ("retract", UPWARD): frozenset({"general_office"}),
    # The publisher (as above) and, from domain "Operators watch every item's status on every
    # channel, and act when one fails": 重发 a failed row. The seed has no operators.
    ("retry", OWN): frozenset({"web_operations", "operator"}),
    ("retry", UPWARD): frozenset({"general_office", "operator"}),
    # The same: settle a row whose result is unknown (结果未确认), and for an upward report record
    # that the platform adopted it (seed 三(二) 市、区及以上媒体平台发布后……).
    ("confirm", OWN): frozenset({"web_operations", "operator"}),
    ("confirm", UPWARD): frozenset({"general_office", "operator"}),
    # seed 三(二) 由综合科审核确定稿件用途……向上报送，市、区及以上媒体平台发布后由本单位平台进行
    # 转载: 综合科, the single intake (三(一) 统一归口), drafts the repost of an adopted report.
    ("repost", UPWARD): frozenset({"general_office"}),
    # seed 三(二) 由综合科审核确定稿件用途: an own row held back for an upward adoption goes out
    # (release) or not (drop) as 综合科 decides. No upward row is ever held; the upward key
    # grants the same office and is never exercised (no route can succeed with it).
    ("release", OWN): frozenset({"general_office"}),
    ("release", UPWARD): frozenset({"general_office"}),
    # Pausing a channel (console only, no /api/v1 route): its publisher, and the operators
    # (domain: "act when one fails").
    ("pause", OWN): frozenset({"web_operations", "operator"}),
    ("pause", UPWARD): frozenset({"general_office", "operator"}),
    # An assisted channel, published on by a person who records the URL (a signed act): the
    # publisher alone, 谁发布谁负责 (seed 四(三)); operators do not publish.
    ("publish_by_hand", OWN): frozenset({"web_operations"}),
    ("publish_by_hand", UPWARD): frozenset({"general_office"}),
    # 发布核验 on demand: the publisher, and the operators who watch every channel (domain).
    ("verify", OWN): frozenset({"web_operations", "operator"}),
    ("verify", UPWARD): frozenset({"general_office", "operator"}),
}

# Who writes and revises manuscripts (new submissions, new versions, Word import):
# seed 二(一) 初审由供稿人和信息稿件编辑人员负责 (they write them), and 三(一) 综合科……负责信息的
# 接收、修改 / 三(二) 进行综合统稿 (综合科 edits any item, for any department).
WRITERS = frozenset({"contributor", "general_office"})

# Who reviews each stage, in the seed's order.
STAGES: dict[str, frozenset[str]] = {
    # seed 二(一) 初审。由供稿人和信息稿件编辑人员负责
    "first": frozenset({"contributor"}),
    # seed 二(二) 复审。由各支部书记、各科室负责人负责
    "second": frozenset({"section_head"}),
    # seed 二(三) 终审。由分管领导负责; the form's 业务分管领导审核
    "final": frozenset({"leader_in_charge"}),
    # seed 二(三) 涉及重大事件或特殊内容需经过主要领导审定
    "principal": frozenset({"principal_leader"}),
    # seed 三(二) 报送至综合科，由综合科审核确定稿件用途 (稿件用途)
    "usage": frozenset({"general_office"}),
    # seed 三 分管宣传领导确认后方可对外发布; 三(三) 由分管宣传领导负责两端一微信息的签发……同时，对
    # 综合科向上报送的信息进行审核把关
    "sign_off": frozenset({"publicity_leader"}),
}

# 改期 (moving a signed row to another day) changes what was signed off, so it is signed by
# whoever signs off (seed 三(三)); within the day, moving it is scheduling (ACTIONS above).
AMEND_DATE = STAGES["sign_off"]

# 代理 (a dated stand-in for an absent reviewer): not in the seed. The project's rule
# (orchestrator/services/delegation.py): the absent person themselves, the 主要领导 (第一责任人,
# seed 四(三)) or 综合科 (who keeps the office's records, seed 三(一)). Ending one: the same.
DELEGATION_GRANTORS = frozenset({"principal_leader", "general_office"})

# Routes about one's own account, and one that changes nothing.
ACCOUNT: dict[str, frozenset[str] | str] = {
    "sign_in": NO_SIGN_IN,  # the sign-in itself
    "sign_out": ANY_SIGNED_IN,
    "tokens": ANY_SIGNED_IN,  # one's own API tokens: create, list, revoke
    # Recompute the archive's hashes: a check that writes nothing (orchestrator/web/api_reports)
    "archive_verify": ANY_SIGNED_IN,
}

# Who may read: every GET route under /api/v1. The seed limits who reviews, signs and publishes,
# never who in the office may read: 谁审核谁负责，谁发布谁负责 (四(三)) needs the record visible
# to those answerable for it, and domain has "Reviewers and leaders see what waits for them",
# "Operators watch every item's status on every channel". So every route is open to anyone
# signed in (none needs no sign-in).
READS: dict[str, frozenset[str] | str] = {
    "/api/v1/me": ANY_SIGNED_IN,  # oneself
    "/api/v1/tokens": ANY_SIGNED_IN,  # one's own tokens only
    # the submissions, their versions, diffs and the gate's verdict: what reviewers review
    "/api/v1/submissions": ANY_SIGNED_IN,
    "/api/v1/submissions/{submission_id}": ANY_SIGNED_IN,
    "/api/v1/submissions/{submission_id}/versions/{number}": ANY_SIGNED_IN,
    "/api/v1/submissions/{submission_id}/diff": ANY_SIGNED_IN,
    "/api/v1/submissions/{submission_id}/gate": ANY_SIGNED_IN,
    # the signed 审批表 (seed's form: signed by four people, kept by 综合科)
    "/api/v1/submissions/{submission_id}/form.pdf": ANY_SIGNED_IN,
    "/api/v1/submissions/{submission_id}/form.docx": ANY_SIGNED_IN,
    # the board: every item's status on every channel (domain: operators, publishers)
    "/api/v1/publications": ANY_SIGNED_IN,
    "/api/v1/publications/{pub_id}": ANY_SIGNED_IN,
    "/api/v1/publications/{pub_id}/verifications": ANY_SIGNED_IN,
    "/api/v1/upward/queue": ANY_SIGNED_IN,
    "/api/v1/calendar": ANY_SIGNED_IN,
    # the organisation: who holds which role, stand-ins, channels
    "/api/v1/people": ANY_SIGNED_IN,
    "/api/v1/delegations": ANY_SIGNED_IN,
    "/api/v1/channels": ANY_SIGNED_IN,
    # accountability (谁审核谁负责，谁发布谁负责): the audit chain, the archive, the report
    "/api/v1/audit/verify": ANY_SIGNED_IN,
    "/api/v1/archive": ANY_SIGNED_IN,
    "/api/v1/archive/export": ANY_SIGNED_IN,
    "/api/v1/archive/{entry_id}": ANY_SIGNED_IN,
    "/api/v1/accountability": ANY_SIGNED_IN,
}
