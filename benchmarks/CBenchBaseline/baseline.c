// The C side of fips-bench: see CBenchBaseline.h.
#include "CBenchBaseline.h"
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

// MARK: AES-256-GCM

struct cbench_gcm {
    EVP_CIPHER *cipher;
    EVP_CIPHER_CTX *enc;
    EVP_CIPHER_CTX *dec;
};

void cbench_gcm_free(cbench_gcm *g) {
    if (g == NULL) return;
    EVP_CIPHER_CTX_free(g->enc);
    EVP_CIPHER_CTX_free(g->dec);
    EVP_CIPHER_free(g->cipher);
    free(g);
}

cbench_gcm *cbench_gcm_new(void *libctx, const uint8_t *key) {
    cbench_gcm *g = calloc(1, sizeof *g);
    if (g == NULL) return NULL;
    unsigned char fixed[4] = {0};
    g->cipher = EVP_CIPHER_fetch((OSSL_LIB_CTX *)libctx, "AES-256-GCM", NULL);
    g->enc = EVP_CIPHER_CTX_new();
    g->dec = EVP_CIPHER_CTX_new();
    if (g->cipher == NULL || g->enc == NULL || g->dec == NULL
        || RAND_bytes_ex((OSSL_LIB_CTX *)libctx, fixed, sizeof fixed, 0) != 1
        || EVP_EncryptInit_ex2(g->enc, g->cipher, key, NULL, NULL) != 1
        || EVP_CIPHER_CTX_ctrl(g->enc, EVP_CTRL_GCM_SET_IV_FIXED, 4, fixed) != 1
        || EVP_DecryptInit_ex2(g->dec, g->cipher, key, NULL, NULL) != 1) {
        ERR_clear_error();
        cbench_gcm_free(g);
        return NULL;
    }
    return g;
}

static int seal_once(EVP_CIPHER_CTX *c, const uint8_t *msg, size_t len, const uint8_t *aad, size_t aadlen,
                     uint8_t *out) {
    int outl = 0, fin = 0;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_IV_GEN, 12, out) != 1) return 0;
    if (aadlen > 0 && EVP_EncryptUpdate(c, NULL, &outl, aad, (int)aadlen) != 1) return 0;
    outl = 0;
    if (len > 0 && EVP_EncryptUpdate(c, out + 12, &outl, msg, (int)len) != 1) return 0;
    if (EVP_EncryptFinal_ex(c, out + 12 + outl, &fin) != 1) return 0;
    return EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + 12 + len) == 1;
}

int cbench_gcm_seal_loop(cbench_gcm *g, const uint8_t *msg, size_t len, const uint8_t *aad, size_t aadlen,
                         uint8_t *out, uint64_t iterations) {
    for (uint64_t i = 0; i < iterations; i++) {
        if (!seal_once(g->enc, msg, len, aad, aadlen, out)) { ERR_clear_error(); return 0; }
    }
    return 1;
}

static int open_once(EVP_CIPHER_CTX *c, const uint8_t *box, size_t boxlen, const uint8_t *aad, size_t aadlen,
                     uint8_t *out) {
    size_t len = boxlen - 28;
    int outl = 0, fin = 0;
    unsigned char scratch[16];
    if (EVP_DecryptInit_ex2(c, NULL, NULL, box, NULL) != 1) return 0;
    if (aadlen > 0 && EVP_DecryptUpdate(c, NULL, &outl, aad, (int)aadlen) != 1) return 0;
    outl = 0;
    if (len > 0 && EVP_DecryptUpdate(c, out, &outl, box + 12, (int)len) != 1) return 0;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, (void *)(box + 12 + len)) != 1) return 0;
    return EVP_DecryptFinal_ex(c, len > 0 ? out + outl : scratch, &fin) == 1;
}

int cbench_gcm_open_loop(cbench_gcm *g, const uint8_t *box, size_t boxlen, const uint8_t *aad, size_t aadlen,
                         uint8_t *out, uint64_t iterations) {
    if (boxlen < 28) return 0;
    for (uint64_t i = 0; i < iterations; i++) {
        if (!open_once(g->dec, box, boxlen, aad, aadlen, out)) { ERR_clear_error(); return 0; }
    }
    return 1;
}

// MARK: HKDF-SHA-256

struct cbench_hkdf { EVP_KDF *kdf; };

cbench_hkdf *cbench_hkdf_new(void *libctx) {
    cbench_hkdf *h = calloc(1, sizeof *h);
    if (h == NULL) return NULL;
    h->kdf = EVP_KDF_fetch((OSSL_LIB_CTX *)libctx, "HKDF", NULL);
    if (h->kdf == NULL) { ERR_clear_error(); free(h); return NULL; }
    return h;
}

void cbench_hkdf_free(cbench_hkdf *h) {
    if (h == NULL) return;
    EVP_KDF_free(h->kdf);
    free(h);
}

int cbench_hkdf_loop(cbench_hkdf *h, const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen,
                     const uint8_t *info, size_t infolen, uint8_t *out, size_t outlen, uint64_t iterations) {
    char digest[] = "SHA256";
    for (uint64_t i = 0; i < iterations; i++) {
        EVP_KDF_CTX *k = EVP_KDF_CTX_new(h->kdf);
        if (k == NULL) { ERR_clear_error(); return 0; }
        OSSL_PARAM params[5], *p = params;
        *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikmlen);
        if (saltlen > 0) *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
        if (infolen > 0) *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen);
        *p = OSSL_PARAM_construct_end();
        int rc = EVP_KDF_derive(k, out, outlen, params);
        EVP_KDF_CTX_free(k);
        if (rc != 1) { ERR_clear_error(); return 0; }
    }
    return 1;
}

// MARK: Allocation counting
//
// glibc 2.34+ has no malloc hooks; instead this executable defines the allocation entry points and forwards to
// glibc's own (__libc_*), counting per thread. The allocator underneath is unchanged, so `free` needs no wrapper.

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static __thread uint64_t thread_allocations;

uint64_t cbench_thread_allocations(void) { return thread_allocations; }

void *malloc(size_t n) { thread_allocations++; return __libc_malloc(n); }
void *calloc(size_t c, size_t n) { thread_allocations++; return __libc_calloc(c, n); }
void *realloc(void *p, size_t n) { thread_allocations++; return __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { thread_allocations++; return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { thread_allocations++; return __libc_memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
    if (a % sizeof(void *) != 0 || (a & (a - 1)) != 0) return 22; // EINVAL
    thread_allocations++;
    void *p = __libc_memalign(a, n);
    if (p == NULL && n != 0) return 12; // ENOMEM
    *out = p;
    return 0;
}
