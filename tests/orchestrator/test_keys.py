from __future__ import annotations

import nacl.signing
import pytest

from orchestrator import keys
from orchestrator.errors import InvalidInput, WrongPassword


def test_sealed_key_signs_only_with_its_password() -> None:
    sealed = keys.new_key("correct horse", "min")
    signature = keys.sign(sealed, "correct horse", b"message")
    nacl.signing.VerifyKey(sealed.public_key).verify(b"message", signature)
    with pytest.raises(WrongPassword):
        keys.sign(sealed, "wrong horse!", b"message")


def test_private_key_is_not_stored_in_clear() -> None:
    sealed = keys.new_key("correct horse", "min")
    seed = bytes(keys.unseal(sealed, "correct horse"))
    assert seed not in sealed.sealed_private_key


def test_tampered_seal_is_refused() -> None:
    sealed = keys.new_key("correct horse", "min")
    flipped = bytes([sealed.sealed_private_key[0] ^ 1]) + sealed.sealed_private_key[1:]
    with pytest.raises(WrongPassword):
        keys.unseal(
            keys.SealedKey(
                sealed.public_key, flipped, sealed.salt, sealed.opslimit, sealed.memlimit
            ),
            "correct horse",
        )


def test_seal_swapped_for_another_persons_key_is_refused() -> None:
    mine, theirs = keys.new_key("my password", "min"), keys.new_key("their password", "min")
    swapped = keys.SealedKey(
        mine.public_key, theirs.sealed_private_key, theirs.salt, theirs.opslimit, theirs.memlimit
    )
    with pytest.raises(WrongPassword) as info:
        keys.unseal(swapped, "their password")
    assert info.value.code == "key_mismatch"


def test_short_password_is_refused() -> None:
    with pytest.raises(InvalidInput):
        keys.new_key("short", "min")
