"""Reports for the office: the 信息发布审批表, the archive (存档), the statistics, the bulletin and
the accountability report. They read through the services and orchestrator.documents (where
the 审批表 is rendered and files are written into the archive, below the services).

form            the approval form of signed-off submissions, as PDF and .docx
archive         archived files listed and read; verify; export
statistics      the figures per department, stage, channel and period; tables; workbook
bulletin        the monthly 通报 (PDF, .xlsx), archived
charts          the bar charts of the console and the bulletin
accountability  who wrote, reviewed, signed off and published one published article
fonts           the embedded CJK font every PDF uses (documents.fonts)
"""
