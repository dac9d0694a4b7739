import Foundation
import FIPSCrypto
internal import COpenSSL
internal import COpenSSLShims

/// Builds and signs `X509` certificates and `X509_REQ` requests in the module's library context.
enum X509Maker {
    enum SubjectKey {
        case privateKey(SigningPrivateKey)
        case publicKey(SigningPublicKey)
        func withPKey<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
            switch self {
            case .privateKey(let k): return try k.withPKey(body)
            case .publicKey(let k): return try k.withPKey(body)
            }
        }
        var isRSA: Bool {
            switch self {
            case .privateKey(let k): return CertificateBuilder.isRSA(k.kind)
            case .publicKey(let k): return CertificateBuilder.isRSA(k.kind)
            }
        }
    }

    /// Owns an `X509 *` under construction.
    final class X509Owner {
        let x: OpaquePointer
        init(_ x: OpaquePointer) { self.x = x }
        deinit { X509_free(x) }
    }

    static func make(_ b: CertificateBuilder, subjectKey: SubjectKey, issuer: Certificate?,
                     issuerKey: SigningPrivateKey, now: Date) throws -> Certificate {
        let ctx = try FIPSModule.libraryContext()
        clearOpenSSLErrors()
        guard let raw = X509_new_ex(ctx, nil) else { throw FIPSError.openSSL("X509_new_ex") }
        let cert = X509Owner(raw)
        let x = cert.x
        try check(X509_set_version(x, 2), "X509_set_version")
        try setRandomSerial(x)

        let name = try makeName(b)
        defer { X509_NAME_free(name) }
        try check(X509_set_subject_name(x, name), "X509_set_subject_name")
        try check(X509_set_issuer_name(x, issuer.map { X509_get_subject_name($0.box.x509) } ?? name), "X509_set_issuer_name")

        let start = b.notValidBefore ?? now
        try setTime(X509_getm_notBefore(x), start, "notBefore")
        try setTime(X509_getm_notAfter(x), start.addingTimeInterval(b.validity), "notAfter")

        try subjectKey.withPKey { try check(X509_set_pubkey(x, $0), "X509_set_pubkey") }

        // Extensions: basic constraints and key usage critical; SKI from the public key; AKI = issuer's SKI.
        if b.isCertificateAuthority {
            try addExtension(x, NID_basic_constraints, "critical,CA:TRUE" + (b.pathLengthConstraint.map { ",pathlen:\($0)" } ?? ""))
            try addExtension(x, NID_key_usage, "critical,keyCertSign,cRLSign")
        } else {
            try addExtension(x, NID_basic_constraints, "critical,CA:FALSE")
            try addExtension(x, NID_key_usage, subjectKey.isRSA ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature")
            try addExtension(x, NID_ext_key_usage, "serverAuth")
        }
        if !b.subjectAlternativeNames.isEmpty {
            try addExtension(x, NID_subject_alt_name, sanText(b.subjectAlternativeNames))
        }
        let ski = try subjectKeyIdentifier(x)
        try addOctetString(x, NID_subject_key_identifier, ski)
        // AKI: the issuer's SKI (our own for a self-signed certificate); omitted if an issuer has none.
        if let issuer {
            if let issuerSKI = issuer.subjectKeyIdentifier { try addAuthorityKeyIdentifier(x, issuerSKI) }
        } else {
            try addAuthorityKeyIdentifier(x, ski)
        }

        try sign(issuerKey) { mctx in X509_sign_ctx(x, mctx) > 0 ? 1 : 0 }
        return try X509Box.parse(der: try X509Box.der(of: x))
    }

    static func makeRequest(_ b: CertificateBuilder, key: SigningPrivateKey) throws -> CertificateSigningRequest {
        let ctx = try FIPSModule.libraryContext()
        clearOpenSSLErrors()
        guard let req = X509_REQ_new_ex(ctx, nil) else { throw FIPSError.openSSL("X509_REQ_new_ex") }
        defer { X509_REQ_free(req) }
        try check(X509_REQ_set_version(req, 0), "X509_REQ_set_version")
        let name = try makeName(b)
        defer { X509_NAME_free(name) }
        try check(X509_REQ_set_subject_name(req, name), "X509_REQ_set_subject_name")
        try key.withPKey { try check(X509_REQ_set_pubkey(req, $0), "X509_REQ_set_pubkey") }

        guard let exts = fcshim_sk_X509_EXTENSION_new_null() else { throw FIPSError.openSSL("sk_X509_EXTENSION_new_null") }
        defer { fcshim_sk_X509_EXTENSION_pop_free(exts) }
        var wanted: [(Int32, String)] = []
        if b.isCertificateAuthority {
            wanted.append((NID_basic_constraints, "critical,CA:TRUE" + (b.pathLengthConstraint.map { ",pathlen:\($0)" } ?? "")))
            wanted.append((NID_key_usage, "critical,keyCertSign,cRLSign"))
        } else {
            wanted.append((NID_basic_constraints, "critical,CA:FALSE"))
            wanted.append((NID_key_usage, CertificateBuilder.isRSA(key.kind) ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature"))
            wanted.append((NID_ext_key_usage, "serverAuth"))
        }
        if !b.subjectAlternativeNames.isEmpty { wanted.append((NID_subject_alt_name, sanText(b.subjectAlternativeNames))) }
        for (nid, value) in wanted {
            let ext = try makeExtension(nid, value)
            guard fcshim_sk_X509_EXTENSION_push(exts, ext) > 0 else {
                X509_EXTENSION_free(ext); throw FIPSError.openSSL("sk_X509_EXTENSION_push")
            }
        }
        try check(X509_REQ_add_extensions(req, exts), "X509_REQ_add_extensions")
        try sign(key) { mctx in X509_REQ_sign_ctx(req, mctx) > 0 ? 1 : 0 }

        var out: UnsafeMutablePointer<UInt8>? = nil
        let n = i2d_X509_REQ(req, &out)
        guard n > 0, let out else { throw FIPSError.openSSL("i2d_X509_REQ") }
        defer { fcshim_OPENSSL_free(out) }
        return try parseRequest(der: Data(bytes: out, count: Int(n)))
    }

    static func parseRequest(der: Data) throws -> CertificateSigningRequest {
        let ctx = try FIPSModule.libraryContext()
        clearOpenSSLErrors()
        guard let fresh = X509_REQ_new_ex(ctx, nil) else { throw FIPSError.openSSL("X509_REQ_new_ex") }
        var r: OpaquePointer? = fresh
        let consumed: Int = der.withUnsafeBytes { raw -> Int in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count > 0 else { return -1 }
            var p: UnsafePointer<UInt8>? = base
            guard d2i_X509_REQ(&r, &p, raw.count) != nil, let end = p else { return -1 }
            return end - base
        }
        guard let req = r else { throw FIPSError.openSSL(.invalidEncoding, "d2i_X509_REQ") }
        defer { X509_REQ_free(req) }
        guard consumed == der.count else { throw FIPSError(.invalidEncoding, "the data is not one DER-encoded PKCS#10 request", openSSLErrors: drainOpenSSLErrors()) }

        let subject = X509Box.rfc2253(X509_REQ_get_subject_name(req))
        var sans: [GeneralName] = []
        if let exts = X509_REQ_get_extensions(req) {
            defer { fcshim_sk_X509_EXTENSION_pop_free(exts) }
            if let raw = X509V3_get_d2i(exts, NID_subject_alt_name, nil, nil) {
                let names = OpaquePointer(raw)
                defer { fcshim_GENERAL_NAMES_free(names) }
                for i in 0..<fcshim_sk_GENERAL_NAME_num(names) {
                    guard let gn = fcshim_sk_GENERAL_NAME_value(names, i) else { continue }
                    if gn.pointee.type == GEN_DNS { sans.append(.dns(X509Box.string(gn.pointee.d.dNSName))) }
                    if gn.pointee.type == GEN_IPADD, let a = IPAddressText.format(bytes: Array(X509Box.bytes(gn.pointee.d.iPAddress))) { sans.append(.ipAddress(a)) }
                }
            }
        }
        // The request's key is decoded in the module's context (X509_REQ_get0_pubkey would decode it in OpenSSL's
        // default context on 3.0), then the self-signature is verified there. A key outside the policy cannot verify.
        var valid = false
        if let spki = X509_REQ_get_X509_PUBKEY(req) {
            var out: UnsafeMutablePointer<UInt8>? = nil
            let n = i2d_X509_PUBKEY(spki, &out)
            if n > 0, let out {
                let der = Data(bytes: out, count: Int(n))
                fcshim_OPENSSL_free(out)
                if let key = try? SigningPublicKey(derRepresentation: der) {
                    valid = key.withPKey { X509_REQ_verify_ex(req, $0, ctx, nil) == 1 }
                }
            }
        }
        clearOpenSSLErrors()
        return CertificateSigningRequest(der: der, subject: subject, subjectAlternativeNames: sans, isSignatureValid: valid)
    }

    // MARK: Pieces

    /// A random positive 127-bit serial from the module's DRBG (RFC 5280: positive, at most 20 octets;
    /// CA/B Forum: at least 64 random bits).
    static func setRandomSerial(_ x: OpaquePointer) throws {
        var bytes = [UInt8](try SecureRandom.bytes(count: 16))
        bytes[0] = (bytes[0] & 0x7F) | 0x40
        guard let bn = BN_bin2bn(bytes, Int32(bytes.count), nil) else { throw FIPSError.openSSL("BN_bin2bn") }
        defer { BN_free(bn) }
        guard let serial = BN_to_ASN1_INTEGER(bn, nil) else { throw FIPSError.openSSL("BN_to_ASN1_INTEGER") }
        defer { ASN1_INTEGER_free(serial) }
        try check(X509_set_serialNumber(x, serial), "X509_set_serialNumber")
    }

    static func makeName(_ b: CertificateBuilder) throws -> OpaquePointer {
        guard let name = X509_NAME_new() else { throw FIPSError.openSSL("X509_NAME_new") }
        do {
            var entries: [(String, String)] = []
            if let o = b.organization { entries.append(("O", o)) }
            entries.append(("CN", b.commonName))
            for (field, value) in entries {
                let bytes = Array(value.utf8)
                try check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, bytes, Int32(bytes.count), -1, 0), "X509_NAME_add_entry_by_txt(\(field))")
            }
            return name
        } catch { X509_NAME_free(name); throw error }
    }

    static func setTime(_ t: UnsafeMutablePointer<ASN1_TIME>?, _ date: Date, _ what: String) throws {
        guard let t, ASN1_TIME_set(t, time_t(date.timeIntervalSince1970.rounded(.down))) != nil else {
            throw FIPSError.openSSL("ASN1_TIME_set(\(what))")
        }
    }

    /// `DNS:a,IP:b`: the names were validated (LDH labels, parsed addresses), so no separator can be injected.
    static func sanText(_ names: [GeneralName]) -> String {
        names.map(\.description).joined(separator: ",")
    }

    static func makeExtension(_ nid: Int32, _ value: String) throws -> OpaquePointer {
        guard let ext = X509V3_EXT_conf_nid(nil, nil, nid, value) else { throw FIPSError.openSSL("X509V3_EXT_conf_nid(\(nid))") }
        return ext
    }

    static func addExtension(_ x: OpaquePointer, _ nid: Int32, _ value: String) throws {
        let ext = try makeExtension(nid, value)
        defer { X509_EXTENSION_free(ext) }
        try check(X509_add_ext(x, ext, -1), "X509_add_ext(\(nid))")
    }

    /// RFC 7093 method 1: the leftmost 160 bits of SHA-256 over the subjectPublicKey BIT STRING's value.
    static func subjectKeyIdentifier(_ x: OpaquePointer) throws -> Data {
        guard let bits = X509_get0_pubkey_bitstr(x) else { throw FIPSError.openSSL("X509_get0_pubkey_bitstr") }
        let key = X509Box.bytes(UnsafeMutablePointer(mutating: bits))
        return Data(SHA256.hash(data: key).bytes.prefix(20))
    }

    static func addOctetString(_ x: OpaquePointer, _ nid: Int32, _ bytes: Data) throws {
        guard let os = ASN1_OCTET_STRING_new() else { throw FIPSError.openSSL("ASN1_OCTET_STRING_new") }
        defer { ASN1_OCTET_STRING_free(os) }
        try bytes.withUnsafeBytes { raw in
            try check(ASN1_OCTET_STRING_set(os, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(raw.count)), "ASN1_OCTET_STRING_set")
        }
        try check(X509_add1_ext_i2d(x, nid, os, 0, UInt(X509V3_ADD_DEFAULT)), "X509_add1_ext_i2d(\(nid))")
    }

    static func addAuthorityKeyIdentifier(_ x: OpaquePointer, _ keyID: Data) throws {
        guard let akid = AUTHORITY_KEYID_new() else { throw FIPSError.openSSL("AUTHORITY_KEYID_new") }
        defer { AUTHORITY_KEYID_free(akid) }   // frees the key id with it
        guard let os = ASN1_OCTET_STRING_new() else { throw FIPSError.openSSL("ASN1_OCTET_STRING_new") }
        akid.pointee.keyid = os
        try keyID.withUnsafeBytes { raw in
            try check(ASN1_OCTET_STRING_set(os, raw.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(raw.count)), "ASN1_OCTET_STRING_set")
        }
        try check(X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, UInt(X509V3_ADD_DEFAULT)), "X509_add1_ext_i2d(authorityKeyIdentifier)")
    }

    /// Signs through an `EVP_MD_CTX` initialised with `EVP_DigestSignInit_ex` in the module's library context.
    static func sign(_ key: SigningPrivateKey, _ body: (OpaquePointer) -> Int32) throws {
        let ctx = try FIPSModule.libraryContext()
        guard let mctx = EVP_MD_CTX_new() else { throw FIPSError.openSSL("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(mctx) }
        let digest = CertificateBuilder.digestName(for: key.kind)
        try key.withPKey { pkey in
            try check(EVP_DigestSignInit_ex(mctx, nil, digest, ctx, nil, pkey, nil), "EVP_DigestSignInit_ex(\(digest))")
        }
        try check(body(mctx), "X509_sign_ctx")
    }
}

extension X509Box {
    /// Whether a private key belongs to this certificate (`EVP_PKEY_eq` on the public halves).
    func matches(key: SigningPrivateKey) -> Bool { key.withPKey { publicKeyEquals($0) } }
}
