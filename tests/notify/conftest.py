"""Fixtures shared by the notification tests."""

from tests.notify.test_mail import mailbox  # noqa: F401  (a loopback SMTP server)
