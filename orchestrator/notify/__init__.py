"""Telling people it is their turn: 企业微信 application messages (`wecom`) and e-mail (`mail`).

Transport only: what to say and to whom is decided by the caller (the notification outbox).
Every failure is a `NotifyError` (`errors`) that says whether retrying can help.
"""
