from _typeshed import ReadableBuffer, WriteableBuffer

def hmac_sha256_hex(
    ipad: ReadableBuffer,
    opad: ReadableBuffer,
    offsets: ReadableBuffer,
    first: int,
    count: int,
    data: ReadableBuffer,
    out: WriteableBuffer,
) -> None: ...
