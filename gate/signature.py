"""Ed25519 over the canonical payload of a review action or a 改期: make one, check one."""

from __future__ import annotations

import dataclasses

from nacl.exceptions import CryptoError
from nacl.signing import SigningKey, VerifyKey

from gate.canonical import amendment_payload, signing_payload
from gate.model import DateAmendment, ReviewAction


def payload_of(action: ReviewAction) -> bytes:
    """The bytes the actor signed: every field of the action but its signature and row id."""
    return signing_payload(
        submission_id=action.submission_id,
        fingerprint=action.fingerprint,
        stage=action.stage,
        decision=action.decision,
        acted_at=action.acted_at,
        comment=action.comment,
    )


def amendment_payload_of(amendment: DateAmendment) -> bytes:
    """The bytes the 宣传分管领导 signed: every field of the 改期 but its signature and row id."""
    return amendment_payload(
        submission_id=amendment.submission_id,
        fingerprint=amendment.fingerprint,
        channel=amendment.channel,
        old_date=amendment.old_date,
        new_date=amendment.new_date,
        acted_at=amendment.acted_at,
        comment=amendment.comment,
    )


def sign_action(action: ReviewAction, key: SigningKey) -> ReviewAction:
    """The same action carrying `key`'s signature over its payload."""
    return dataclasses.replace(action, signature=key.sign(payload_of(action)).signature)


def sign_amendment(amendment: DateAmendment, key: SigningKey) -> DateAmendment:
    """The same 改期 carrying `key`'s signature over its payload."""
    signature = key.sign(amendment_payload_of(amendment)).signature
    return dataclasses.replace(amendment, signature=signature)


def signature_valid(action: ReviewAction, public_key: bytes) -> bool:
    """True when `public_key` signed exactly this action; a malformed key or signature is False.

    Raises ValueError for a naive `acted_at`, which has no canonical form.
    """
    return _verified(payload_of(action), action.signature, public_key)


def amendment_signature_valid(amendment: DateAmendment, public_key: bytes) -> bool:
    """True when `public_key` signed exactly this 改期 (ValueError for a naive `acted_at`)."""
    return _verified(amendment_payload_of(amendment), amendment.signature, public_key)


def _verified(payload: bytes, signature: bytes, public_key: bytes) -> bool:
    try:
        VerifyKey(public_key).verify(payload, signature)
    except CryptoError:  # PyNaCl's ValueError and TypeError derive from it too
        return False
    return True
