"""谁审核谁负责，谁发布谁负责: for one published article, found by its channel and its URL or
platform id, who wrote, reviewed, signed off and published exactly the version that went out,
with every review signature checked again (Ed25519 over the signing payload).

The publisher is whoever triggered or scheduled the sending by hand (the publication's audit
events); when nobody did, it is the system, on the schedule fixed at sign-off.

build       find the publication and assemble the report
sections    its parts: the reviews, 改期, hand publishing, 发布核验, the publication row
events      the audit events' labels and who the publisher was
summary     the report for people, one line each
"""

from __future__ import annotations

from orchestrator.reports.accountability.build import find, report
from orchestrator.reports.accountability.events import EVENT_LABELS, SYSTEM, TRIGGERS
from orchestrator.reports.accountability.summary import summary

__all__ = ["EVENT_LABELS", "SYSTEM", "TRIGGERS", "find", "report", "summary"]
