/*
 * COpenSSLShims — one-line wrappers for OpenSSL macros and variadic functions that Swift cannot import.
 * Every symbol starts with `fcshim_`. Nothing else lives here: no logic, no state.
 */
#ifndef FIPSCRYPTO_SHIMS_H
#define FIPSCRYPTO_SHIMS_H
#include <stddef.h>
#include <stdint.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/bio.h>

/* crypto.h */
void fcshim_OPENSSL_free(void *ptr);
/* bio.h */
long fcshim_BIO_get_mem_data(BIO *bio, char **data);
/* evp.h: EVP_PKEY_Q_keygen is variadic */
EVP_PKEY *fcshim_EVP_PKEY_Q_keygen_ec(OSSL_LIB_CTX *libctx, const char *curve);
EVP_PKEY *fcshim_EVP_PKEY_Q_keygen_rsa(OSSL_LIB_CTX *libctx, size_t bits);
/* ssl.h */
long fcshim_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version);
long fcshim_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version);
long fcshim_SSL_CTX_get_min_proto_version(SSL_CTX *ctx);
long fcshim_SSL_CTX_get_max_proto_version(SSL_CTX *ctx);
long fcshim_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list);
long fcshim_SSL_CTX_set1_sigalgs_list(SSL_CTX *ctx, const char *list);
long fcshim_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode);
long fcshim_SSL_CTX_set_mode(SSL_CTX *ctx, long mode);
long fcshim_SSL_CTX_add1_chain_cert(SSL_CTX *ctx, X509 *x509);
long fcshim_SSL_get_extms_support(SSL *ssl);
long fcshim_SSL_set_tlsext_host_name(SSL *ssl, const char *name);
long fcshim_SSL_get_peer_tmp_key(SSL *ssl, EVP_PKEY **key);
/* ssl.h: option bits are function-like macros (SSL_OP_BIT) */
uint64_t fcshim_SSL_OP_CIPHER_SERVER_PREFERENCE(void);
uint64_t fcshim_SSL_OP_NO_RENEGOTIATION(void);
uint64_t fcshim_SSL_OP_NO_COMPRESSION(void);
uint64_t fcshim_SSL_OP_NO_TICKET(void);
/* stacks */
int fcshim_sk_X509_num(const STACK_OF(X509) *sk);
X509 *fcshim_sk_X509_value(const STACK_OF(X509) *sk, int i);
STACK_OF(X509) *fcshim_sk_X509_new_null(void);
int fcshim_sk_X509_push(STACK_OF(X509) *sk, X509 *x);
void fcshim_sk_X509_pop_free(STACK_OF(X509) *sk);
STACK_OF(X509_EXTENSION) *fcshim_sk_X509_EXTENSION_new_null(void);
int fcshim_sk_X509_EXTENSION_push(STACK_OF(X509_EXTENSION) *sk, X509_EXTENSION *e);
void fcshim_sk_X509_EXTENSION_pop_free(STACK_OF(X509_EXTENSION) *sk);
int fcshim_sk_GENERAL_NAME_num(const STACK_OF(GENERAL_NAME) *sk);
GENERAL_NAME *fcshim_sk_GENERAL_NAME_value(const STACK_OF(GENERAL_NAME) *sk, int i);
void fcshim_GENERAL_NAMES_free(STACK_OF(GENERAL_NAME) *sk);
#endif
