"""The 信息发布审批表 (approval form) of signed-off submissions, as PDF and .docx: the report's
one name for what is built below it.

The form's data comes from the review record (services.approval_form), the form's model and its
renderings from orchestrator.documents, so the review service can archive the form at sign-off
without importing a report.
"""

from __future__ import annotations

from orchestrator.documents.form import (
    DOCX_MIME,
    LINES,
    SHANGHAI,
    ChannelLine,
    Form,
    FormItem,
    Line,
    Signed,
    as_dict,
    local,
    short_fingerprint,
)
from orchestrator.documents.form_docx import render_docx
from orchestrator.documents.form_pdf import render_pdf
from orchestrator.documents.form_text import (
    NOTES,
    applied_on_text,
    content_facts,
    footer_text,
    signature_rows,
    signer_text,
)
from orchestrator.services.approval_form import (
    DEFAULT_ORGANISATION,
    body_text,
    build,
    organisation_name,
)

__all__ = [
    "DEFAULT_ORGANISATION",
    "DOCX_MIME",
    "LINES",
    "NOTES",
    "SHANGHAI",
    "ChannelLine",
    "Form",
    "FormItem",
    "Line",
    "Signed",
    "applied_on_text",
    "as_dict",
    "body_text",
    "build",
    "content_facts",
    "footer_text",
    "local",
    "organisation_name",
    "render_docx",
    "render_pdf",
    "short_fingerprint",
    "signature_rows",
    "signer_text",
]
