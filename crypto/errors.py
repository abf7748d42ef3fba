"""Exceptions of the protocol library; each message is one sentence a user can read."""


class CryptoError(Exception):
    """Base of every error this library raises."""


class EncodingError(CryptoError, ValueError):
    """A value is not canonical base64url without padding, or not the expected length."""


class ReceiptError(CryptoError, ValueError):
    """A receipt is not exactly 20 digits."""


class ShapeError(CryptoError, ValueError):
    """A payload, key slot or stream does not have the shape the protocol requires."""


class DecryptionError(CryptoError):
    """Ciphertext did not open with the key given (wrong key, or tampered data)."""


class KeyFileError(CryptoError, ValueError):
    """A key file cannot be read as one of the project's key files."""


class TooLargeError(ShapeError):
    """Well formed, but larger than the limit in force."""
