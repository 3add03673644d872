"""Principals, roles and permissions (default deny), and API-key authentication."""

from veil.access.control import (
    AccessControl,
    Authenticated,
    access_path,
    hash_api_key,
    new_api_key,
    verify_api_key,
)
from veil.access.model import AccessFile, Grant, Principal, Role

__all__ = [
    "AccessControl",
    "AccessFile",
    "Authenticated",
    "Grant",
    "Principal",
    "Role",
    "access_path",
    "hash_api_key",
    "new_api_key",
    "verify_api_key",
]
