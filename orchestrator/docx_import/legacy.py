"""Legacy binary documents (.doc, .wps) converted to .docx by LibreOffice, when installed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from orchestrator.errors import InvalidInput

CONVERT_TIMEOUT_SECONDS = 120

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, .wps, and an encrypted .docx
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")


def from_legacy(data: bytes, filename: str) -> bytes:
    """A legacy binary document (.doc, .wps) as .docx, converted by LibreOffice in a temporary
    folder with a profile of its own (a running LibreOffice would otherwise take the job)."""
    if ENCRYPTED_STREAM in data:
        raise InvalidInput(
            f"Word 文档 {filename} 设有打开密码，无法读取；请在 Word 或 WPS 中取消密码后重试",
            code="docx_encrypted",
        )
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        raise InvalidInput(
            f"文件 {filename} 是旧版 Word 文档（.doc），本系统无法直接读取；"
            "请在 Word 或 WPS 中打开它，“另存为 .docx”后重新上传",
            code="doc_not_supported",
        )
    with tempfile.TemporaryDirectory(prefix="sanshen-doc-") as folder:
        work = Path(folder)
        source = work / "manuscript.doc"
        source.write_bytes(data)
        _run_office(
            [
                office,
                f"-env:UserInstallation={(work / 'profile').as_uri()}",
                "--headless",
                "--norestore",
                "--convert-to",
                "docx",
                "--outdir",
                str(work / "out"),
                str(source),
            ],
            filename,
        )
        converted = work / "out" / "manuscript.docx"
        if not converted.is_file():
            raise _conversion_failed(filename, "未生成 .docx")
        return converted.read_bytes()


def _conversion_failed(filename: str, reason: str) -> InvalidInput:
    return InvalidInput(
        f"旧版 Word 文档 {filename} 转换失败（{reason}）；"
        "请在 Word 或 WPS 中“另存为 .docx”后重新上传",
        code="doc_conversion_failed",
    )


def _run_office(argv: list[str], filename: str) -> None:
    """LibreOffice in a session of its own, so that on a timeout its helpers go with it."""
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        raise _conversion_failed(filename, "无法启动 LibreOffice") from None
    try:
        process.wait(timeout=CONVERT_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise _conversion_failed(filename, f"超过 {CONVERT_TIMEOUT_SECONDS} 秒") from None
