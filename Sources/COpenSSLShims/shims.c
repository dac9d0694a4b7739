#include "COpenSSLShims.h"

void fcshim_OPENSSL_free(void *ptr) { OPENSSL_free(ptr); }
long fcshim_BIO_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }
EVP_PKEY *fcshim_EVP_PKEY_Q_keygen_ec(OSSL_LIB_CTX *libctx, const char *curve) { return EVP_PKEY_Q_keygen(libctx, NULL, "EC", curve); }
EVP_PKEY *fcshim_EVP_PKEY_Q_keygen_rsa(OSSL_LIB_CTX *libctx, size_t bits) { return EVP_PKEY_Q_keygen(libctx, NULL, "RSA", bits); }
long fcshim_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) { return SSL_CTX_set_min_proto_version(ctx, version); }
long fcshim_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) { return SSL_CTX_set_max_proto_version(ctx, version); }
long fcshim_SSL_CTX_get_min_proto_version(SSL_CTX *ctx) { return SSL_CTX_get_min_proto_version(ctx); }
long fcshim_SSL_CTX_get_max_proto_version(SSL_CTX *ctx) { return SSL_CTX_get_max_proto_version(ctx); }
long fcshim_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) { return SSL_CTX_set1_groups_list(ctx, list); }
long fcshim_SSL_CTX_set1_sigalgs_list(SSL_CTX *ctx, const char *list) { return SSL_CTX_set1_sigalgs_list(ctx, list); }
long fcshim_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_session_cache_mode(ctx, mode); }
long fcshim_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
long fcshim_SSL_CTX_add1_chain_cert(SSL_CTX *ctx, X509 *x509) { return SSL_CTX_add1_chain_cert(ctx, x509); }
long fcshim_SSL_get_extms_support(SSL *ssl) { return SSL_get_extms_support(ssl); }
long fcshim_SSL_set_tlsext_host_name(SSL *ssl, const char *name) { return SSL_set_tlsext_host_name(ssl, name); }
long fcshim_SSL_get_peer_tmp_key(SSL *ssl, EVP_PKEY **key) { return SSL_get_peer_tmp_key(ssl, key); }
int fcshim_sk_X509_num(const STACK_OF(X509) *sk) { return sk_X509_num(sk); }
X509 *fcshim_sk_X509_value(const STACK_OF(X509) *sk, int i) { return sk_X509_value(sk, i); }
STACK_OF(X509) *fcshim_sk_X509_new_null(void) { return sk_X509_new_null(); }
int fcshim_sk_X509_push(STACK_OF(X509) *sk, X509 *x) { return sk_X509_push(sk, x); }
void fcshim_sk_X509_pop_free(STACK_OF(X509) *sk) { sk_X509_pop_free(sk, X509_free); }
STACK_OF(X509_EXTENSION) *fcshim_sk_X509_EXTENSION_new_null(void) { return sk_X509_EXTENSION_new_null(); }
int fcshim_sk_X509_EXTENSION_push(STACK_OF(X509_EXTENSION) *sk, X509_EXTENSION *e) { return sk_X509_EXTENSION_push(sk, e); }
void fcshim_sk_X509_EXTENSION_pop_free(STACK_OF(X509_EXTENSION) *sk) { sk_X509_EXTENSION_pop_free(sk, X509_EXTENSION_free); }
int fcshim_sk_GENERAL_NAME_num(const STACK_OF(GENERAL_NAME) *sk) { return sk_GENERAL_NAME_num(sk); }
GENERAL_NAME *fcshim_sk_GENERAL_NAME_value(const STACK_OF(GENERAL_NAME) *sk, int i) { return sk_GENERAL_NAME_value(sk, i); }
void fcshim_GENERAL_NAMES_free(STACK_OF(GENERAL_NAME) *sk) { GENERAL_NAMES_free(sk); }
uint64_t fcshim_SSL_OP_CIPHER_SERVER_PREFERENCE(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE; }
uint64_t fcshim_SSL_OP_NO_RENEGOTIATION(void) { return SSL_OP_NO_RENEGOTIATION; }
uint64_t fcshim_SSL_OP_NO_COMPRESSION(void) { return SSL_OP_NO_COMPRESSION; }
uint64_t fcshim_SSL_OP_NO_TICKET(void) { return SSL_OP_NO_TICKET; }
