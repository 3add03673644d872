"""Cryptographic building blocks: FF1 format-preserving encryption, AES-SIV, Luhn."""
