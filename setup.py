"""The one C extension; everything else about the package is in pyproject.toml.

veil._hmac_sha256 hashes a whole Arrow string array with OpenSSL (two SHA-256 compressions per
value instead of the four that SQL needs). It is optional: without a C compiler and the OpenSSL
headers veil installs without it and DuckDB runs the bit-identical SQL form instead;
tests/engines/test_native_hmac.py fails when it is missing, so CI notices.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "veil._hmac_sha256",
            sources=["src/veil/_hmac_sha256.c"],
            libraries=["crypto"],
            optional=True,
        )
    ]
)
