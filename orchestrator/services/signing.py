"""Signing with a person's own key: their sealed Ed25519 key, unlocked by their password, signs
a candidate (a review action or a 改期) before the gate judges it and anything is written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import gate.model as g
from orchestrator import keys
from orchestrator.models import Person

# The id of an action not written yet: the gate names it in the violations it finds with it.
CANDIDATE = "candidate"

Candidate = TypeVar("Candidate", g.ReviewAction, g.DateAmendment)


def sealed_key(person: Person) -> keys.SealedKey:
    return keys.SealedKey(
        person.public_key,
        person.sealed_private_key,
        person.kdf_salt,
        person.kdf_opslimit,
        person.kdf_memlimit,
    )


def signed_by(
    person: Person, password: str, candidate: Candidate, payload: Callable[[Candidate], bytes]
) -> Candidate:
    """The candidate carrying `person`'s signature over its payload (refused with the reason
    when the password does not unlock the key)."""
    signature = keys.sign(sealed_key(person), password, payload(candidate))
    return replace(candidate, signature=signature)
