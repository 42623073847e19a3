"""Word manuscripts (.docx, and .doc through LibreOffice) into a draft's title, body and images.

mammoth turns the document into semantic HTML: headings, lists, tables, bold and italic,
images where they stood. This module then shapes it for the article allow-list
(`channels.rendering.clean_html`), so that cleaning it later changes nothing:

- the title is the first heading (h1, else h2, ...), taken out of the body; a document without
  one takes its core-properties title, else the file name. A plain first paragraph set centred
  (how most 公文-style manuscripts set their title) counts as the title heading;
- the body's headings become h2..h4, the top level h2;
- each image is named by its content (`图片-<sha256[:12]>.png`), the same bytes once however
  often they appear; images the project cannot publish (EMF, WMF, TIFF, ...) are left out;
- tags and attributes outside the allow-list go, their text stays; empty paragraphs go.

Whatever could not be kept is said in `warnings`, in Chinese, for the person who uploaded it.
Refusals are `InvalidInput` with a stable code:

    docx_invalid        not a Word document (not a zip, or no document inside)
    docx_too_large      past MAX_BYTES, or past MAX_UNCOMPRESSED once unpacked (a zip bomb)
    docx_encrypted      the document has an open password
    docx_empty          no text and no image besides the title
    doc_not_supported   a legacy .doc and no LibreOffice to convert it
    doc_conversion_failed  LibreOffice could not convert it (or took too long)

The modules, by job: `manuscript` (the steps in order), `package` (the file and its limits),
`legacy` (.doc through LibreOffice), `convert` (mammoth), `shape` (the HTML for the allow-list)
and `serialise` (the HTML text).
"""

from orchestrator.docx_import.legacy import OLE_MAGIC
from orchestrator.docx_import.manuscript import Manuscript, read_manuscript
from orchestrator.docx_import.package import MAX_BYTES, MAX_ENTRIES, MAX_UNCOMPRESSED

__all__ = [
    "MAX_BYTES",
    "MAX_ENTRIES",
    "MAX_UNCOMPRESSED",
    "OLE_MAGIC",
    "Manuscript",
    "read_manuscript",
]
