"""Reports for the office: the 信息发布审批表, the archive (存档) and the accountability report.

form         the approval form of signed-off submissions, as PDF and .docx
archive      content-addressed files with their rows and audit entries; verify; export
accountability  who wrote, reviewed, signed off and published one published article
fonts        the embedded CJK font every PDF uses
"""
