"""The files a person names on the command line, read and written with refusals in Chinese and
a stable code, never the OS's English `strerror`.

    找不到文件：PATH                      file_not_found
    无法读取文件：PATH（权限不足）          file_not_readable
    无法读取文件：PATH（这是一个目录）      not_a_file
    无法读取文件：PATH（<reason>）          cannot_read
    文件不是 UTF-8 编码的文本：PATH        not_utf8
    无法写入文件：PATH（<reason>）          cannot_write
"""

from __future__ import annotations

import errno
from pathlib import Path

from orchestrator.cli.chinese import os_reason
from orchestrator.errors import InvalidInput

_MISSING = (errno.ENOENT, errno.ENOTDIR)
_DENIED = (errno.EACCES, errno.EPERM)


def cannot_read(path: Path, error: OSError, what: str = "文件") -> InvalidInput:
    if error.errno in _MISSING:
        return InvalidInput(f"找不到{what}：{path}", code="file_not_found")
    if error.errno in _DENIED:
        return InvalidInput(f"无法读取{what}：{path}（权限不足）", code="file_not_readable")
    if error.errno == errno.EISDIR:
        return InvalidInput(f"无法读取{what}：{path}（这是一个目录）", code="not_a_file")
    return InvalidInput(f"无法读取{what}：{path}（{os_reason(error)}）", code="cannot_read")


def cannot_write(path: Path, error: OSError, what: str = "文件") -> InvalidInput:
    reason = "所在目录不存在" if error.errno == errno.ENOENT else os_reason(error)
    return InvalidInput(f"无法写入{what}：{path}（{reason}）", code="cannot_write")


def read_bytes(path: Path, what: str = "文件") -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise cannot_read(path, error, what) from None


def read_text(path: Path, what: str = "文件") -> str:
    """The file as UTF-8 text."""
    data = read_bytes(path, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{what}不是 UTF-8 编码的文本：{path}", code="not_utf8") from None


def write_bytes(path: Path, data: bytes, what: str = "文件") -> None:
    try:
        path.write_bytes(data)
    except OSError as error:
        raise cannot_write(path, error, what) from None
