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
            try Self.useCertificateChain(configuration.certificateChain, key: key, ctx: ctx, libctx: libctx)
        case .client:
            guard let roots = configuration.trustRoots else {
                throw FIPSError(.invalidParameter, "a TLS client needs trust roots to verify servers")
            }
            switch roots {
            case .file(let path):
                guard FileManager.default.isReadableFile(atPath: path) else {
                    throw FIPSError(.ioFailure, "cannot read the trust roots file \(path)")
                }
                // X509_STORE_load_file_ex with the context's own library context.
                try check(SSL_CTX_load_verify_file(ctx, path), "SSL_CTX_load_verify_file(\(path))", code: .invalidEncoding)
            }
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
            SSL_CTX_set_verify_depth(ctx, 4)
        }
    }

    deinit { SSL_CTX_free(ctx) }

    private static func apply(_ p: TLSProfile, to ctx: OpaquePointer) throws {
        try checkLong(fcshim_SSL_CTX_set_min_proto_version(ctx, Int32(p.minimumVersion.rawValue)), "SSL_CTX_set_min_proto_version")
        try checkLong(fcshim_SSL_CTX_set_max_proto_version(ctx, Int32(p.maximumVersion.rawValue)), "SSL_CTX_set_max_proto_version")
        // An empty TLS 1.2 list with TLS 1.3 only is legal for OpenSSL only through "" on set_cipher_list failing;
        // the profile's violations already require a list for every enabled version.
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

    private static func useCertificateChain(_ chain: [TLSCertificateSource], key: TLSPrivateKeySource,
                                            ctx: OpaquePointer, libctx: OpaquePointer) throws {
        var certificates: [X509Handle] = []
        for source in chain {
            switch source {
            case .file(let path): certificates += try X509Handle.readAll(pemFile: path, libctx: libctx)
            }
        }
        guard let leaf = certificates.first else {
            throw FIPSError(.invalidEncoding, "the certificate chain holds no certificate")
        }
        try check(SSL_CTX_use_certificate(ctx, leaf.x509), "SSL_CTX_use_certificate", code: .invalidParameter)
        for intermediate in certificates.dropFirst() {
            try checkLong(fcshim_SSL_CTX_add1_chain_cert(ctx, intermediate.x509), "SSL_CTX_add1_chain_cert")
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
    }

    /// SHA-256 of the DER of the certificate this (server) context presents, lowercase hex; `nil` for a client.
    var certificateFingerprint: String? {
        guard let x = SSL_CTX_get0_certificate(ctx) else { return nil }
        return X509Handle.fingerprint(x)
    }
}

/// Throws unless a `long`-returning OpenSSL macro shim returned 1.
func checkLong(_ rc: Int, _ operation: @autoclosure () -> String, code: FIPSError.Code = .openSSLFailure) throws {
    if rc != 1 { throw FIPSError.openSSL(code, operation()) }
}

/// Owns one `X509`.
final class X509Handle {
    let x509: OpaquePointer
    init(owning x509: OpaquePointer) { self.x509 = x509 }
    deinit { X509_free(x509) }

    /// Every certificate in a PEM file, in order, each bound to the module's library context.
    static func readAll(pemFile path: String, libctx: OpaquePointer) throws -> [X509Handle] {
        guard let bio = BIO_new_file(path, "r") else {
            throw FIPSError(.ioFailure, "cannot open certificate file \(path)", openSSLErrors: drainOpenSSLErrors())
        }
        defer { BIO_free(bio) }
        var out: [X509Handle] = []
        while true {
            guard let fresh = X509_new_ex(libctx, nil) else { throw FIPSError.openSSL("X509_new_ex") }
            var slot: OpaquePointer? = fresh
            // On a parse failure OpenSSL frees the object it was given and sets `slot` to NULL; when there is simply
            // no further PEM block it leaves it untouched. Either way, free whatever `slot` still holds.
            if PEM_read_bio_X509(bio, &slot, nil, nil) == nil {
                if let slot { X509_free(slot) }
                break
            }
            out.append(X509Handle(owning: slot!))
        }
        let errors = drainOpenSSLErrors()
        // Running off the end of the file is how the loop ends; any other error means a damaged file.
        let onlyEnd = errors.allSatisfy { $0.reason.contains("no start line") }
        guard !out.isEmpty, onlyEnd else {
            throw FIPSError(.invalidEncoding, "\(path) holds no readable PEM certificate", openSSLErrors: errors)
        }
        return out
    }

    /// SHA-256 of a certificate's DER encoding, lowercase hex.
    static func fingerprint(_ x: OpaquePointer) -> String? {
        guard let der = derBytes(x) else { return nil }
        return SHA256.hash(data: der).map { String(format: "%02x", $0) }.joined()
    }

    /// A certificate's DER encoding.
    static func derBytes(_ x: OpaquePointer) -> Data? {
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        let n = i2d_X509(x, &buffer)
        guard n > 0, let buffer else { clearOpenSSLErrors(); return nil }
        defer { fcshim_OPENSSL_free(buffer) }
        return Data(bytes: buffer, count: Int(n))
    }
}
