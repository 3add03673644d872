"""Tamper-evident audit log of veil (see :mod:`veil.audit.log`)."""

from .log import GENESIS_HASH, AuditLog, VerifyReport, canonical_json

__all__ = ["GENESIS_HASH", "AuditLog", "VerifyReport", "canonical_json"]
