import Foundation
import FIPSCrypto
internal import COpenSSL
internal import COpenSSLShims

/// Owns one `SSL_CTX`, built whole from a ``TLSConfiguration`` on the module's library context.
///
/// Immutable once built (OpenSSL's `SSL_CTX` is safe to share across threads for `SSL_new`), so it can be swapped
/// atomically by ``TLSContextHolder``; each `SSL` holds its own reference, so live connections outlive a swap.
final class SSLContextHandle: @unchecked Sendable {
    let ctx: OpaquePointer
    let role: TLSRole
    /// The leaf certificate a server context presents (`nil` for a client). Written only during `init`.
    private(set) var leaf: Certificate?

    init(_ configuration: TLSConfiguration) throws {
        let profile = configuration.profile
        if let first = profile.violations.first {
            throw FIPSError(.notApproved, "TLS profile '\(profile.name)' is outside SP 800-52r2: \(first)")
        }
        let libctx = try FIPSModule.libraryContext()
        clearOpenSSLErrors()
        let method = configuration.role == .server ? TLS_server_method() : TLS_client_method()
        guard let ctx = SSL_CTX_new_ex(libctx, nil, method) else { throw FIPSError.openSSL("SSL_CTX_new_ex") }
        self.ctx = ctx
        self.role = configuration.role
        // From here on `deinit` frees ctx on every path.
        try Self.apply(profile, to: ctx)
        switch configuration.role {
        case .server:
            guard let key = configuration.privateKey, !configuration.certificateChain.isEmpty else {
                throw FIPSError(.invalidParameter, "a TLS server needs a certificate chain and a private key")
            }
            leaf = try Self.useCertificateChain(configuration.certificateChain, key: key, ctx: ctx)
        case .client:
            guard let roots = configuration.trustRoots else {
                throw FIPSError(.invalidParameter, "a TLS client needs trust roots to verify servers")
            }
            let anchors: [Certificate]
            switch roots {
            case .certificates(let list): anchors = list
            case .file(let path): anchors = try readCertificates(path, what: "trust roots")
            }
            guard !anchors.isEmpty else { throw FIPSError(.invalidParameter, "the trust roots hold no certificate") }
            guard let store = SSL_CTX_get_cert_store(ctx) else { throw FIPSError.openSSL("SSL_CTX_get_cert_store") }
            for anchor in anchors {
                // X509_STORE_add_cert takes its own reference.
                try anchor.withX509 { try check(X509_STORE_add_cert(store, $0), "X509_STORE_add_cert") }
            }
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
            SSL_CTX_set_verify_depth(ctx, 4)
        }
    }

    deinit { SSL_CTX_free(ctx) }

    private static func apply(_ p: TLSProfile, to ctx: OpaquePointer) throws {
        try checkLong(fcshim_SSL_CTX_set_min_proto_version(ctx, Int32(p.minimumVersion.rawValue)), "SSL_CTX_set_min_proto_version")
        try checkLong(fcshim_SSL_CTX_set_max_proto_version(ctx, Int32(p.maximumVersion.rawValue)), "SSL_CTX_set_max_proto_version")
        // A TLS 1.3-only profile may leave the TLS 1.2 list empty; OpenSSL's default list then stays but is never
        // used, since the minimum version is 1.3 (``TLSProfile/violations`` requires a list whenever 1.2 is on).
        if !p.tls12CipherSuites.isEmpty {
            try check(SSL_CTX_set_cipher_list(ctx, p.tls12CipherList), "SSL_CTX_set_cipher_list(\(p.tls12CipherList))", code: .notApproved)
        }
        try check(SSL_CTX_set_ciphersuites(ctx, p.tls13CipherList), "SSL_CTX_set_ciphersuites(\(p.tls13CipherList))", code: .notApproved)
        try checkLong(fcshim_SSL_CTX_set1_groups_list(ctx, p.groupList), "SSL_CTX_set1_groups_list(\(p.groupList))", code: .notApproved)
        try checkLong(fcshim_SSL_CTX_set1_sigalgs_list(ctx, p.signatureAlgorithmList), "SSL_CTX_set1_sigalgs_list", code: .notApproved)
        // Security level 2: at least 112-bit security everywhere (SP 800-131A), no SHA-1 signatures.
        SSL_CTX_set_security_level(ctx, 2)
        var options: UInt64 = fcshim_SSL_OP_NO_COMPRESSION() | fcshim_SSL_OP_NO_RENEGOTIATION()
        if p.serverPreference { options |= fcshim_SSL_OP_CIPHER_SERVER_PREFERENCE() }
        if !p.sessionTickets { options |= fcshim_SSL_OP_NO_TICKET() }
        let set = SSL_CTX_set_options(ctx, options)
        guard set & options == options else { throw FIPSError.openSSL("SSL_CTX_set_options") }
        // No 0-RTT: neither send nor accept early data.
        try check(SSL_CTX_set_max_early_data(ctx, 0), "SSL_CTX_set_max_early_data")
        try check(SSL_CTX_set_recv_max_early_data(ctx, 0), "SSL_CTX_set_recv_max_early_data")
        if !p.sessionTickets {
            try check(SSL_CTX_set_num_tickets(ctx, 0), "SSL_CTX_set_num_tickets")
            _ = fcshim_SSL_CTX_set_session_cache_mode(ctx, Int(SSL_SESS_CACHE_OFF))
        }
        // Read back what OpenSSL holds, so a silently ignored setting cannot pass.
        guard fcshim_SSL_CTX_get_min_proto_version(ctx) == p.minimumVersion.rawValue,
              fcshim_SSL_CTX_get_max_proto_version(ctx) == p.maximumVersion.rawValue else {
            throw FIPSError(.openSSLFailure, "the TLS context did not keep its protocol version bounds")
        }
    }

    /// Installs the chain and key; returns the leaf.
    private static func useCertificateChain(_ chain: [TLSCertificateSource], key: TLSPrivateKeySource,
                                            ctx: OpaquePointer) throws -> Certificate {
        var certificates: [Certificate] = []
        for source in chain {
            switch source {
            case .certificate(let c): certificates.append(c)
            case .file(let path): certificates += try readCertificates(path, what: "certificate chain")
            }
        }
        guard let leaf = certificates.first else {
            throw FIPSError(.invalidParameter, "the certificate chain holds no certificate")
        }
        // SSL_CTX_use_certificate and SSL_CTX_add1_chain_cert take their own references.
        try leaf.withX509 { try check(SSL_CTX_use_certificate(ctx, $0), "SSL_CTX_use_certificate", code: .invalidParameter) }
        for intermediate in certificates.dropFirst() {
            try intermediate.withX509 { try checkLong(fcshim_SSL_CTX_add1_chain_cert(ctx, $0), "SSL_CTX_add1_chain_cert") }
        }
        let privateKey: SigningPrivateKey
        switch key {
        case .privateKey(let k): privateKey = k
        case .file(let path): privateKey = try TLSKeyFile.load(path)
        }
        // SSL_CTX_use_PrivateKey takes its own reference to the EVP_PKEY.
        try privateKey.withPKey { try check(SSL_CTX_use_PrivateKey(ctx, $0), "SSL_CTX_use_PrivateKey", code: .invalidParameter) }
        try check(SSL_CTX_check_private_key(ctx), "SSL_CTX_check_private_key (the key does not match the certificate)",
                  code: .invalidParameter)
        return leaf
    }
}

/// Every certificate of a PEM file (through ``Certificate/chain(fromPEM:)``).
private func readCertificates(_ path: String, what: String) throws -> [Certificate] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw FIPSError(.ioFailure, "cannot read the \(what) file \(path)")
    }
    do {
        return try Certificate.chain(fromPEM: String(decoding: data, as: UTF8.self))
    } catch let e as FIPSError {
        throw FIPSError(e.code, "\(path): \(e.reason)", openSSLErrors: e.openSSLErrors)
    }
}
/// Throws unless a `long`-returning OpenSSL macro shim returned 1.
func checkLong(_ rc: Int, _ operation: @autoclosure () -> String, code: FIPSError.Code = .openSSLFailure) throws {
    if rc != 1 { throw FIPSError.openSSL(code, operation()) }
}
