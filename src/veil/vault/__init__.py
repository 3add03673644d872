"""Token vault: values sealed at rest, convergent or random tokens, SQLite or PostgreSQL."""

from veil.vault.base import VaultBackend, VaultRow, open_backend
from veil.vault.tokenizer import Detokenizer, Tokenizer, VersionKeys

__all__ = ["Detokenizer", "Tokenizer", "VaultBackend", "VaultRow", "VersionKeys", "open_backend"]
