"""Key access for transforms. Everything that touches key material goes through this package.

``provider``: the keys a policy names (env, file or keyring) and HKDF subkeys; ``master``: the
pluggable master key that protects the keyring; ``keyring``: named, versioned keys encrypted at
rest; ``resolve``: from a policy to its key provider.
"""

from veil.keys.keyring import Keyring
from veil.keys.master import LocalMasterKey, MasterKeyProvider
from veil.keys.provider import KeyInfo, KeyProvider, PolicyKeyProvider, derive_key, hmac_pads

__all__ = [
    "KeyInfo",
    "KeyProvider",
    "Keyring",
    "LocalMasterKey",
    "MasterKeyProvider",
    "PolicyKeyProvider",
    "derive_key",
    "hmac_pads",
]
