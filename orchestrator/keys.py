"""Each person's Ed25519 signing key, sealed under a key derived from their own password.

The server keeps the public key and the sealed private key. Signing needs the password again:
argon2id (libsodium) turns it into the key that opens the seal for that one signature, so a
database administrator holding every table still cannot sign in anyone's name.
"""

from __future__ import annotations

from dataclasses import dataclass

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.signing
import nacl.utils

from orchestrator.errors import InvalidInput, WrongPassword

KDF_PROFILES: dict[str, tuple[int, int]] = {
    "min": (nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_MIN),
    "interactive": (
        nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE,
        nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE,
    ),
    "moderate": (nacl.pwhash.argon2id.OPSLIMIT_MODERATE, nacl.pwhash.argon2id.MEMLIMIT_MODERATE),
    "sensitive": (
        nacl.pwhash.argon2id.OPSLIMIT_SENSITIVE,
        nacl.pwhash.argon2id.MEMLIMIT_SENSITIVE,
    ),
}
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class SealedKey:
    public_key: bytes
    sealed_private_key: bytes
    salt: bytes
    opslimit: int
    memlimit: int


def _box(password: str, salt: bytes, opslimit: int, memlimit: int) -> nacl.secret.SecretBox:
    key = nacl.pwhash.argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE,
        password.encode(),
        salt,
        opslimit=opslimit,
        memlimit=memlimit,
    )
    return nacl.secret.SecretBox(key)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符", code="password_too_short")


def new_key(password: str, profile: str = "interactive") -> SealedKey:
    """A fresh key pair, the private half sealed under the password."""
    check_password_strength(password)
    opslimit, memlimit = KDF_PROFILES[profile]
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    signing_key = nacl.signing.SigningKey.generate()
    sealed = _box(password, salt, opslimit, memlimit).encrypt(bytes(signing_key))
    return SealedKey(bytes(signing_key.verify_key), bytes(sealed), salt, opslimit, memlimit)


def unseal(sealed: SealedKey, password: str) -> nacl.signing.SigningKey:
    """Open the private key; a wrong password (or a tampered seal) is refused."""
    box = _box(password, sealed.salt, sealed.opslimit, sealed.memlimit)
    try:
        seed = box.decrypt(sealed.sealed_private_key)
    except nacl.exceptions.CryptoError:
        raise WrongPassword("密码错误，签名私钥未解锁，未作任何记录") from None
    key = nacl.signing.SigningKey(seed)
    if bytes(key.verify_key) != sealed.public_key:
        raise WrongPassword("签名私钥与登记的公钥不符", code="key_mismatch")
    return key


def sign(sealed: SealedKey, password: str, message: bytes) -> bytes:
    return unseal(sealed, password).sign(message).signature


def hash_password(password: str, kdf_profile: str) -> str:
    """The console password's argon2id hash (its own salt), for sign-in."""
    opslimit, memlimit = KDF_PROFILES[kdf_profile]
    return nacl.pwhash.argon2id.str(
        password.encode(), opslimit=opslimit, memlimit=memlimit
    ).decode()
