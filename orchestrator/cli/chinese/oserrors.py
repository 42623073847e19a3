"""Why an operating-system call failed, in Chinese (by errno, never the English strerror)."""

from __future__ import annotations

import errno

OS_REASONS = {
    errno.ENOENT: "文件或目录不存在",
    errno.ENOTDIR: "路径中有一段不是目录",
    errno.EACCES: "权限不足",
    errno.EPERM: "权限不足",
    errno.EISDIR: "这是一个目录",
    errno.EEXIST: "已经存在",
    errno.ENOSPC: "磁盘空间不足",
    errno.EROFS: "只读的文件系统",
    errno.ENAMETOOLONG: "文件名太长",
    errno.EMFILE: "打开的文件太多",
    errno.EADDRINUSE: "地址已被占用",
    errno.EADDRNOTAVAIL: "本机没有这个地址",
    errno.ECONNREFUSED: "连接被拒绝",
    errno.ETIMEDOUT: "超时",
}
_STRERRORS = {
    "No such file or directory": errno.ENOENT,
    "Permission denied": errno.EACCES,
    "Is a directory": errno.EISDIR,
    "Not a directory": errno.ENOTDIR,
}


def os_reason(error: OSError) -> str:
    """Why an OS call failed, in Chinese: by its errno, never its English strerror."""
    if error.errno in OS_REASONS:
        return OS_REASONS[error.errno]
    if error.errno is not None:
        return f"系统错误 {errno.errorcode.get(error.errno, error.errno)}"
    return "系统错误"


def strerror(text: str) -> str:
    code = _STRERRORS.get(text.strip())
    return OS_REASONS[code] if code is not None else "系统错误"
