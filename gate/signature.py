"""Ed25519 over the canonical payload of a review action: make one, check one."""

from __future__ import annotations

import dataclasses

from nacl.exceptions import CryptoError
from nacl.signing import SigningKey, VerifyKey

from gate.canonical import signing_payload
from gate.model import ReviewAction


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


def sign_action(action: ReviewAction, key: SigningKey) -> ReviewAction:
    """The same action carrying `key`'s signature over its payload."""
    return dataclasses.replace(action, signature=key.sign(payload_of(action)).signature)


def signature_valid(action: ReviewAction, public_key: bytes) -> bool:
    """True when `public_key` signed exactly this action; a malformed key or signature is False.

    Raises ValueError for a naive `acted_at`, which has no canonical form.
    """
    payload = payload_of(action)
    try:
        VerifyKey(public_key).verify(payload, action.signature)
    except CryptoError:  # PyNaCl's ValueError and TypeError derive from it too
        return False
    return True
