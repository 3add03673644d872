/* HMAC-SHA-256 (RFC 2104) of every value of an Arrow string array, as lowercase hex.
 *
 * Why native: in DuckDB SQL an HMAC is sha256(opad || unhex(sha256(ipad || msg))), four SHA-256
 * compressions per value because SQL cannot keep the state after absorbing a pad. Here the two
 * pad blocks are absorbed once per batch and the saved states are copied for every value (two
 * compressions per value), the hashing itself is OpenSSL's EVP SHA-256, and the GIL is released
 * so DuckDB's threads hash in parallel. The result is bit-identical to the SQL rendering.
 *
 * hmac_sha256_hex(ipad, opad, offsets, first, count, data, out) -> None
 *   ipad, opad  the 64-byte HMAC pad blocks (key XOR 0x36 / 0x5c)
 *   offsets     the array's int32 offsets buffer; value i spans data[offsets[first+i] ..
 *               offsets[first+i+1])
 *   out         writable buffer of at least 64 * count bytes, receives the hex digests
 * Every offset is bounds-checked against the buffers before any hashing.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#define PAD_BYTES 64
#define DIGEST_BYTES 32
#define HEX_BYTES (2 * DIGEST_BYTES)

static const char HEX_DIGITS[] = "0123456789abcdef";

static int check_offsets(const int32_t *off, Py_ssize_t count, Py_ssize_t data_len) {
    if (count > 0 && off[0] < 0) return 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (off[i + 1] < off[i] || off[i + 1] > data_len) return 0;
    }
    return 1;
}

/* Returns 1 on success, 0 if OpenSSL failed (the caller raises). */
static int hash_all(const unsigned char *ipad, const unsigned char *opad, const int32_t *off,
                    Py_ssize_t count, const unsigned char *data, char *out) {
    int ok = 0;
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MD_CTX *inner = EVP_MD_CTX_new(), *outer = EVP_MD_CTX_new(), *work = EVP_MD_CTX_new();
    unsigned char digest[DIGEST_BYTES];
    unsigned int digest_len = 0;
    if (md == NULL || inner == NULL || outer == NULL || work == NULL) goto done;
    if (!EVP_DigestInit_ex(inner, md, NULL) || !EVP_DigestUpdate(inner, ipad, PAD_BYTES)) goto done;
    if (!EVP_DigestInit_ex(outer, md, NULL) || !EVP_DigestUpdate(outer, opad, PAD_BYTES)) goto done;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!EVP_MD_CTX_copy_ex(work, inner) ||
            !EVP_DigestUpdate(work, data + off[i], (size_t)(off[i + 1] - off[i])) ||
            !EVP_DigestFinal_ex(work, digest, &digest_len) || !EVP_MD_CTX_copy_ex(work, outer) ||
            !EVP_DigestUpdate(work, digest, DIGEST_BYTES) ||
            !EVP_DigestFinal_ex(work, digest, &digest_len))
            goto done;
        char *hex = out + (size_t)HEX_BYTES * (size_t)i;
        for (int j = 0; j < DIGEST_BYTES; j++) {
            hex[2 * j] = HEX_DIGITS[digest[j] >> 4];
            hex[2 * j + 1] = HEX_DIGITS[digest[j] & 15];
        }
    }
    ok = 1;
done:
    OPENSSL_cleanse(digest, sizeof digest);
    EVP_MD_CTX_free(work);
    EVP_MD_CTX_free(outer);
    EVP_MD_CTX_free(inner);
    EVP_MD_free(md);
    return ok;
}

static PyObject *hmac_sha256_hex(PyObject *self, PyObject *args) {
    Py_buffer ipad, opad, offsets, data, out;
    Py_ssize_t first, count;
    PyObject *result = NULL;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*y*y*nny*w*", &ipad, &opad, &offsets, &first, &count, &data,
                          &out))
        return NULL;
    if (ipad.len != PAD_BYTES || opad.len != PAD_BYTES) {
        PyErr_SetString(PyExc_ValueError, "HMAC pads must be 64 bytes each");
        goto release;
    }
    if (first < 0 || count < 0 ||
        (size_t)offsets.len / sizeof(int32_t) < (size_t)first + (size_t)count + 1) {
        PyErr_SetString(PyExc_ValueError, "offsets buffer is shorter than first + count + 1");
        goto release;
    }
    if ((size_t)out.len / HEX_BYTES < (size_t)count) {
        PyErr_SetString(PyExc_ValueError, "output buffer is shorter than 64 * count bytes");
        goto release;
    }
    const int32_t *off = (const int32_t *)offsets.buf + first;
    if (!check_offsets(off, count, data.len)) {
        PyErr_SetString(PyExc_ValueError, "offsets are not increasing or point past the data");
        goto release;
    }
    int ok;
    Py_BEGIN_ALLOW_THREADS
    ok = hash_all(ipad.buf, opad.buf, off, count, data.buf, out.buf);
    Py_END_ALLOW_THREADS
    if (!ok) {
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL SHA-256 failed");
        goto release;
    }
    result = Py_NewRef(Py_None);
release:
    PyBuffer_Release(&ipad);
    PyBuffer_Release(&opad);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    PyBuffer_Release(&out);
    return result;
}

static PyMethodDef methods[] = {
    {"hmac_sha256_hex", hmac_sha256_hex, METH_VARARGS,
     "hmac_sha256_hex(ipad, opad, offsets, first, count, data, out): hex HMAC-SHA-256 of each "
     "value of an Arrow string array into out."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "veil._hmac_sha256",
    .m_doc = "Batch HMAC-SHA-256 over Arrow string buffers (OpenSSL EVP).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__hmac_sha256(void) { return PyModule_Create(&module); }
