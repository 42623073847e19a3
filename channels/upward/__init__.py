"""Upward reports (对上报送): what 学习强国 and 绿色青浦 share.

Neither platform publishes an open API; each adapter speaks the contract written in
`docs/channels/<name>.md` and its simulator implements it. Shared here, one module per job:

- `package`: the submission package (投稿包), built by `build_package` and verified by
  `read_package` (used by the simulators);
- `checks`: the pure checks every upward report must pass (`UpwardLimits`, `upward_problems`);
- `channel`: HTTP delivery (`UpwardChannel`): submit, status, find by key, withdraw — each
  platform supplies its paths, field names and response envelope;
- `mail`: delivery by mail (`send_by_mail`) for a platform that takes manuscripts at an
  editorial address.
"""

from channels.upward.channel import (
    PlatformError,
    RemoteSubmission,
    UpwardApi,
    UpwardChannel,
    UpwardSettings,
)
from channels.upward.checks import UpwardLimits, upward_problems
from channels.upward.mail import (
    KEY_HEADER,
    PACKAGE_FILENAME,
    PACKAGE_SHA_HEADER,
    MailRoute,
    message_id,
    send_by_mail,
    submission_mail,
)
from channels.upward.package import (
    APPROVAL,
    IMAGE_EXTENSIONS,
    MANIFEST,
    MANUSCRIPT,
    PACKAGE_FORMAT,
    SIGN_OFF,
    PackageInvalid,
    SubmissionPackage,
    attachment_path,
    build_package,
    image_path,
    read_package,
)

__all__ = [
    "APPROVAL",
    "IMAGE_EXTENSIONS",
    "KEY_HEADER",
    "MANIFEST",
    "MANUSCRIPT",
    "PACKAGE_FILENAME",
    "PACKAGE_FORMAT",
    "PACKAGE_SHA_HEADER",
    "SIGN_OFF",
    "MailRoute",
    "PackageInvalid",
    "PlatformError",
    "RemoteSubmission",
    "SubmissionPackage",
    "UpwardApi",
    "UpwardChannel",
    "UpwardLimits",
    "UpwardSettings",
    "attachment_path",
    "build_package",
    "image_path",
    "message_id",
    "read_package",
    "send_by_mail",
    "submission_mail",
    "upward_problems",
]
