"""Documents kept with a signature: the 信息发布审批表 as data, PDF and .docx, and the archive
(存档) they are written into.

These modules sit below the services: the review service archives the 审批表 in the same unit
of work as the sign-off, and 发布核验 archives its first 一致 snapshot, so they import only gate,
the models and the core (app, audit, errors, settings), never the services or the reports.

form        the form's model (its lines, items, signatures) as data
form_text   the text both renderings show
form_pdf    the form as A4 PDF
form_docx   the form as .docx
archive     writing a file into the archive (its row and audit entry with it)
fonts       the embedded CJK font every PDF uses
"""
