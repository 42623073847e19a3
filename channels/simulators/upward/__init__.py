"""What the 学习强国 and 绿色青浦 simulators share: the editorial desk behind both contracts.

The desk verifies signatures and packages, files one submission per idempotency key, adopts it
after `confirm_delay_s` (or when told through the admin endpoints) and answers in whatever
envelope the platform subclass renders. Platform-neutral `Refusal`s are translated by each
subclass into its own codes.

An adopted manuscript is published: its page (`page_rule`) shows the package's manuscript
with its images, which are served under `image_path`. The back-end form of assisted mode is
under `/cms/`; what it publishes is adopted at once, and 删除 there withdraws it (404).

The editors' admin endpoints (`/_sim/adopt`, `/_sim/reject`, `/_sim/submissions`) are in
`api.py`; the desk in `desk.py`, its records in `records.py`, the mailbox in `mailbox.py`.

`start_smtp()` also opens the platform's editorial mailbox on loopback (aiosmtpd): a mail with
the package attached and the key in `X-Sanshen-Key` is filed like an API submission.
"""

from channels.simulators.upward.records import Refusal, Refused, Submission
from channels.simulators.upward.simulator import UpwardSimulator

__all__ = ["Refusal", "Refused", "Submission", "UpwardSimulator"]
