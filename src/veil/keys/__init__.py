"""Key access for transforms. Everything that touches key material goes through this package."""

from veil.keys.provider import KeyInfo, KeyProvider, PolicyKeyProvider, derive_key, hmac_pads

__all__ = ["KeyInfo", "KeyProvider", "PolicyKeyProvider", "derive_key", "hmac_pads"]
