"""From a policy to its keys: env and file keys, and keyring keys under a master key."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from veil.keys.keyring import Keyring
from veil.keys.master import LocalMasterKey, MasterKeyProvider, master_key_from
from veil.keys.provider import KeySource, PolicyKeyProvider
from veil.policy.load import LoadedPolicy

KEYRING_ENV = "VEIL_KEYRING"
DEFAULT_KEYRING = ".veil/keyring.json"


def keyring_path(loaded: LoadedPolicy | None, environ: Mapping[str, str] | None = None) -> Path:
    """``$VEIL_KEYRING``, else the policy's ``keyring.path``, else ``.veil/keyring.json``
    (beside the policy, or in the current directory without one)."""
    env = os.environ if environ is None else environ
    if env.get(KEYRING_ENV):
        return Path(os.path.expanduser(env[KEYRING_ENV]))
    if loaded is not None:
        spec = loaded.policy.keyring
        return loaded.resolve(spec.path if spec is not None else DEFAULT_KEYRING)
    return Path(DEFAULT_KEYRING)


def policy_master_key(
    loaded: LoadedPolicy | None, environ: Mapping[str, str] | None = None
) -> LocalMasterKey:
    spec = loaded.policy.keyring if loaded is not None else None
    return master_key_from(
        env_name=spec.master_key_env if spec else None,
        file=spec.master_key_file if spec else None,
        base_dir=loaded.base_dir if loaded is not None else None,
        environ=environ,
    )


def open_policy_keyring(
    loaded: LoadedPolicy | None,
    environ: Mapping[str, str] | None = None,
    master: MasterKeyProvider | None = None,
) -> Keyring:
    return Keyring.open(
        keyring_path(loaded, environ),
        master if master is not None else policy_master_key(loaded, environ),
    )


def key_provider_for_policy(
    loaded: LoadedPolicy,
    environ: Mapping[str, str] | None = None,
    master: MasterKeyProvider | None = None,
) -> PolicyKeyProvider:
    """The keys of a policy; the keyring is opened only when a keyring key is first used."""
    sources = {
        n: KeySource(env=k.env, file=k.file, version=k.version, keyring=k.keyring)
        for n, k in loaded.policy.keys.items()
    }
    return PolicyKeyProvider(
        sources,
        loaded.base_dir,
        environ,
        keyring=lambda: open_policy_keyring(loaded, environ, master),
    )
