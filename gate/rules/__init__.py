"""The review rules, each a small function, in the order they are read and reported.

Which actions count: an action counts when it was made for this submission and for this exact
version (its fingerprint equals `fingerprint(record.content)`) and passes every check in
`ACTION_CHECKS`. Among counting actions, in the order they were made, a 退回 voids every
approval made before it (the review restarts from 初审) and a 驳回 ends this version for good.
The approvals left are the *effective approvals*; `RULES` judge them.

Because the fingerprint covers the content's channel rows, one 签发 covers every channel the
content requests, with exactly the publish dates and remarks it requests; changing any row is a
new version that needs a new review. A signed 改期 (`DateAmendment`) by a 签发 role after the
sign-off moves one row's date; the publication rows handed in with the record must each name a
signed channel and fall on its (amended) day in the policy's time zone.

Stages the policy scopes to the item's department count only when the reviewer's role covers
that department at the time (`role_covers`): their own for a 供稿人 or 科室负责人, the
departments a 分管领导 is in charge of, or the department a delegate (代理) stands in for.

稿件用途 (`ReviewStage.USAGE`, 综合科) decides where an item goes; when it changes the 审批表
rows, the record carries the content the earlier stages approved (`reviewed_as`): their
approvals of it count for this version when the two differ only by the rows.

A repost (转载) of the office's own item, handed in with the original's record (`original`),
needs 签发 alone when the original's chain passes `CHAIN_RULES` and the repost differs from it
only by the source and the channel rows; else every stage, and `repost_original_unusable` says
why.

The modules, by job: `versions` (which actions and stages), `context` (what the rules share),
`checks` (one action), `content`, `stages`, `people`, `dates` (the rule groups), `order` (the
rules in order, and the context built with the gate's checks), `roles`, `basics`. Each rule
and check is imported from its group's module.
"""

from gate.rules.checks import ACTION_CHECKS, TRUST_CHECKS
from gate.rules.context import ActionCheck, Context, SignedDates
from gate.rules.order import CHAIN_RULES, RULES, ReviewContext, Rule, violations
from gate.rules.roles import role_covers, role_problem
from gate.rules.versions import SAME_AS_ORIGINAL

__all__ = [
    "ACTION_CHECKS",
    "CHAIN_RULES",
    "RULES",
    "SAME_AS_ORIGINAL",
    "TRUST_CHECKS",
    "ActionCheck",
    "Context",
    "ReviewContext",
    "Rule",
    "SignedDates",
    "role_covers",
    "role_problem",
    "violations",
]
