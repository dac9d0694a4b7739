import Foundation
import FIPSCrypto
internal import COpenSSL
internal import COpenSSLShims

/// Owns one `X509 *` (freed on deinit). Created only in the module's library context and never mutated after
/// it is built or parsed, so it can be shared between threads.
final class X509Box: @unchecked Sendable {
    let x509: OpaquePointer

    init(owning x509: OpaquePointer) { self.x509 = x509 }
    deinit { X509_free(x509) }

    /// Parses DER into an `X509` made with `X509_new_ex` in the module's library context.
    static func parse(der: Data) throws -> Certificate {
        let ctx = try FIPSModule.libraryContext()
        clearOpenSSLErrors()
        guard let fresh = X509_new_ex(ctx, nil) else { throw FIPSError.openSSL("X509_new_ex") }
        var x: OpaquePointer? = fresh
        let consumed: Int = der.withUnsafeBytes { raw -> Int in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count > 0 else { return -1 }
            var p: UnsafePointer<UInt8>? = base
            guard d2i_X509(&x, &p, raw.count) != nil, let end = p else { return -1 }
            return end - base
        }
        guard let parsed = x else { throw FIPSError.openSSL(.invalidEncoding, "d2i_X509") }
        let box = X509Box(owning: parsed)   // freed on every path from here
        guard consumed == der.count else {
            if consumed < 0 { throw FIPSError(.invalidEncoding, "the data is not a DER-encoded X.509 certificate", openSSLErrors: drainOpenSSLErrors()) }
            throw FIPSError(.invalidEncoding, "\(der.count - consumed) bytes of trailing data after the certificate")
        }
        return Certificate(box: box, der: der)
    }

    /// Serializes an `X509` to DER.
    static func der(of x509: OpaquePointer) throws -> Data {
        var out: UnsafeMutablePointer<UInt8>? = nil
        let n = i2d_X509(x509, &out)
        guard n > 0, let out else { throw FIPSError.openSSL("i2d_X509") }
        defer { fcshim_OPENSSL_free(out) }
        return Data(bytes: out, count: Int(n))
    }

    // MARK: Names

    var subject: String { Self.rfc2253(X509_get_subject_name(x509)) }
    var issuer: String { Self.rfc2253(X509_get_issuer_name(x509)) }

    static func rfc2253(_ name: OpaquePointer?) -> String {
        guard let name else { return "" }
        return (try? MemBIO.collect { bio in
            // XN_FLAG_RFC2253 (a macro Swift does not import) without ASN1_STRFLGS_ESC_MSB, so UTF-8 prints as UTF-8:
            // ESC_2253 | ESC_CTRL | UTF8_CONVERT | DUMP_UNKNOWN | DUMP_DER, SEP_COMMA_PLUS, DN_REV, FN_SN, DUMP_UNKNOWN_FIELDS.
            let flags: UInt = 0x1 | 0x2 | 0x10 | 0x100 | 0x200 | (1 << 16) | (1 << 20) | 0 | (1 << 24)
            if X509_NAME_print_ex(bio, name, 0, flags) < 0 { throw FIPSError.openSSL("X509_NAME_print_ex") }
        }).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    // MARK: Serial and dates

    var serialHex: String {
        guard let serial = X509_get0_serialNumber(x509), let bn = ASN1_INTEGER_to_BN(serial, nil) else { return "" }
        defer { BN_free(bn) }
        guard let hex = BN_bn2hex(bn) else { return "" }
        defer { fcshim_OPENSSL_free(hex) }
        return String(cString: hex)
    }

    /// The serial number's size in bits (for the ≥ 64-bit check) and sign.
    var serialBits: (bits: Int, negative: Bool) {
        guard let serial = X509_get0_serialNumber(x509), let bn = ASN1_INTEGER_to_BN(serial, nil) else { return (0, false) }
        defer { BN_free(bn) }
        return (Int(BN_num_bits(bn)), BN_is_negative(bn) != 0)
    }

    var notBefore: Date { Self.date(X509_get0_notBefore(x509)) }
    var notAfter: Date { Self.date(X509_get0_notAfter(x509)) }

    static func date(_ t: UnsafePointer<ASN1_TIME>?) -> Date {
        guard let t else { return Date(timeIntervalSince1970: 0) }
        var tm = tm()
        guard ASN1_TIME_to_tm(t, &tm) == 1 else { return Date(timeIntervalSince1970: 0) }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&tm)))
    }

    // MARK: Extensions

    var subjectAlternativeNames: [GeneralName] {
        guard let raw = X509_get_ext_d2i(x509, NID_subject_alt_name, nil, nil) else { clearOpenSSLErrors(); return [] }
        let names = OpaquePointer(raw)
        defer { fcshim_GENERAL_NAMES_free(names) }
        var out: [GeneralName] = []
        for i in 0..<fcshim_sk_GENERAL_NAME_num(names) {
            guard let gn = fcshim_sk_GENERAL_NAME_value(names, i) else { continue }
            switch gn.pointee.type {
            case GEN_DNS: out.append(.dns(Self.string(gn.pointee.d.dNSName)))
            case GEN_EMAIL: out.append(.email(Self.string(gn.pointee.d.rfc822Name)))
            case GEN_URI: out.append(.uri(Self.string(gn.pointee.d.uniformResourceIdentifier)))
            case GEN_IPADD:
                let bytes = Self.bytes(gn.pointee.d.iPAddress)
                out.append(.ipAddress(IPAddressText.format(bytes: Array(bytes)) ?? "invalid(\(bytes.count) bytes)"))
            default: continue
            }
        }
        return out
    }

    static func bytes(_ s: UnsafeMutablePointer<ASN1_STRING>?) -> Data {
        guard let s, let p = ASN1_STRING_get0_data(s) else { return Data() }
        return Data(bytes: p, count: Int(ASN1_STRING_length(s)))
    }

    static func string(_ s: UnsafeMutablePointer<ASN1_STRING>?) -> String {
        String(decoding: bytes(s), as: UTF8.self)
    }

    var isCA: Bool { (X509_get_extension_flags(x509) & UInt32(EXFLAG_CA)) != 0 }

    var pathLength: Int? {
        guard isCA else { return nil }
        let n = X509_get_pathlen(x509)
        return n < 0 ? nil : Int(n)
    }

    var keyUsage: KeyUsage? {
        guard (X509_get_extension_flags(x509) & UInt32(EXFLAG_KUSAGE)) != 0 else { return nil }
        return KeyUsage(rawValue: X509_get_key_usage(x509))
    }

    var extendedKeyUsage: ExtendedKeyUsage? {
        guard (X509_get_extension_flags(x509) & UInt32(EXFLAG_XKUSAGE)) != 0 else { return nil }
        return ExtendedKeyUsage(rawValue: X509_get_extended_key_usage(x509))
    }

    var subjectKeyIdentifier: Data? {
        guard let s = X509_get0_subject_key_id(x509) else { return nil }
        return Self.bytes(UnsafeMutablePointer(mutating: s))
    }

    var authorityKeyIdentifier: Data? {
        guard let s = X509_get0_authority_key_id(x509) else { return nil }
        return Self.bytes(UnsafeMutablePointer(mutating: s))
    }

    var signatureAlgorithm: CertificateSignatureAlgorithm {
        let nid = X509_get_signature_nid(x509)
        let name = OBJ_nid2ln(nid).map { String(cString: $0) } ?? "unknown(\(nid))"
        var mdnid: Int32 = 0, pknid: Int32 = 0, secbits: Int32 = 0
        var flags: UInt32 = 0
        var digest = ""
        if X509_get_signature_info(x509, &mdnid, &pknid, &secbits, &flags) == 1, mdnid != NID_undef {
            digest = OBJ_nid2sn(mdnid).map { String(cString: $0) } ?? ""
        } else {
            clearOpenSSLErrors()
            var md: Int32 = 0, pk: Int32 = 0
            if OBJ_find_sigid_algs(nid, &md, &pk) == 1, md != NID_undef {
                digest = OBJ_nid2sn(md).map { String(cString: $0) } ?? ""
            }
        }
        return CertificateSignatureAlgorithm(name: name, digest: digest)
    }

    // MARK: Public key

    struct PublicKeyInfo { var display: String; var isApproved: Bool }

    var publicKeyInfo: PublicKeyInfo {
        guard let pkey = X509_get0_pubkey(x509) else {
            clearOpenSSLErrors()
            // The module's providers could not even decode the key (e.g. a curve they do not implement).
            let nid = X509_get_X509_PUBKEY(x509).flatMap { pub -> Int32? in
                var obj: OpaquePointer? = nil
                guard X509_PUBKEY_get0_param(&obj, nil, nil, nil, pub) == 1 else { return nil }
                return OBJ_obj2nid(obj)
            } ?? NID_undef
            return PublicKeyInfo(display: "\(OBJ_nid2sn(nid).map { String(cString: $0) } ?? "unknown") (not decodable by the module)", isApproved: false)
        }
        return Self.describe(pkey: pkey)
    }

    static let approvedCurves: Set<String> = ["prime256v1", "P-256", "secp384r1", "P-384", "secp521r1", "P-521"]

    static func describe(pkey: OpaquePointer) -> PublicKeyInfo {
        let bits = Int(EVP_PKEY_get_bits(pkey))
        switch EVP_PKEY_get_base_id(pkey) {
        case EVP_PKEY_RSA, EVP_PKEY_RSA_PSS:
            return PublicKeyInfo(display: "RSA \(bits)", isApproved: bits >= 2048)
        case EVP_PKEY_EC:
            var buf = [CChar](repeating: 0, count: 80)
            var len = 0
            let group = EVP_PKEY_get_utf8_string_param(pkey, "group", &buf, buf.count, &len) == 1
                ? String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown curve"
            clearOpenSSLErrors()
            let display: String
            switch group {
            case "prime256v1", "P-256": display = "EC P-256"
            case "secp384r1", "P-384": display = "EC P-384"
            case "secp521r1", "P-521": display = "EC P-521"
            default: display = "EC \(group)"
            }
            return PublicKeyInfo(display: display, isApproved: approvedCurves.contains(group))
        default:
            let name = EVP_PKEY_get0_type_name(pkey).map { String(cString: $0) } ?? "unknown"
            return PublicKeyInfo(display: "\(name) \(bits)", isApproved: false)
        }
    }

    /// The DER SubjectPublicKeyInfo, read from the certificate without decoding the key.
    var subjectPublicKeyInfoDER: Data {
        guard let pub = X509_get_X509_PUBKEY(x509) else { return Data() }
        var out: UnsafeMutablePointer<UInt8>? = nil
        let n = i2d_X509_PUBKEY(pub, &out)
        guard n > 0, let out else { clearOpenSSLErrors(); return Data() }
        defer { fcshim_OPENSSL_free(out) }
        return Data(bytes: out, count: Int(n))
    }

    /// Whether the certificate's public key equals `pkey` (`EVP_PKEY_eq`).
    func publicKeyEquals(_ pkey: OpaquePointer) -> Bool {
        defer { clearOpenSSLErrors() }
        guard let mine = X509_get0_pubkey(x509) else { return false }
        return EVP_PKEY_eq(mine, pkey) == 1
    }

    // MARK: Checks

    func matches(name: String) -> Bool {
        defer { clearOpenSSLErrors() }
        if IPAddressText.canonical(name) != nil { return X509_check_ip_asc(x509, name, 0) == 1 }
        return X509_check_host(x509, name, name.utf8.count, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS), nil) == 1
    }

    func isIssued(by issuer: X509Box) -> Bool {
        defer { clearOpenSSLErrors() }
        // A self-signed certificate: names and key identifiers match and its own key verifies it (a self-signed
        // leaf has no keyCertSign, which X509_check_issued would require of an issuer).
        if X509_cmp(issuer.x509, x509) == 0 { return X509_self_signed(x509, 1) == 1 }
        guard X509_check_issued(issuer.x509, x509) == X509_V_OK else { return false }
        guard let key = X509_get0_pubkey(issuer.x509) else { return false }
        return X509_verify(x509, key) == 1
    }
}

/// A memory BIO collecting output.
enum MemBIO {
    /// Runs `body` with a fresh memory BIO and returns what it wrote.
    static func collect(_ body: (OpaquePointer) throws -> Void) throws -> Data {
        guard let bio = BIO_new(BIO_s_mem()) else { throw FIPSError.openSSL("BIO_new") }
        defer { BIO_free(bio) }
        try body(bio)
        var p: UnsafeMutablePointer<CChar>? = nil
        let n = fcshim_BIO_get_mem_data(bio, &p)
        guard n > 0, let p else { return Data() }
        return Data(bytes: p, count: n)
    }
}

/// PEM blocks (RFC 7468) through OpenSSL's PEM reader and writer.
enum PEMBlocks {
    struct Block { var label: String; var der: Data }

    /// Every PEM block of `text`, in order. Malformed base64 or an unterminated block throws.
    static func decode(_ text: String) throws -> [Block] {
        var bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return [] }
        clearOpenSSLErrors()
        return try bytes.withUnsafeMutableBytes { raw -> [Block] in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { throw FIPSError.openSSL("BIO_new_mem_buf") }
            defer { BIO_free(bio) }
            var blocks: [Block] = []
            while true {
                var name: UnsafeMutablePointer<CChar>? = nil
                var header: UnsafeMutablePointer<CChar>? = nil
                var data: UnsafeMutablePointer<UInt8>? = nil
                var len = 0
                let rc = PEM_read_bio(bio, &name, &header, &data, &len)
                defer { fcshim_OPENSSL_free(name); fcshim_OPENSSL_free(header); fcshim_OPENSSL_free(data) }
                if rc != 1 {
                    let errs = drainOpenSSLErrors()
                    // PEM_R_NO_START_LINE after the last block is the normal end of input.
                    if errs.count == 1, errs[0].reason == "no start line" { return blocks }
                    throw FIPSError(.invalidEncoding, "malformed PEM block \(blocks.count + 1) (bad base64, or a missing END line)", openSSLErrors: errs)
                }
                blocks.append(Block(label: name.map { String(cString: $0) } ?? "",
                                    der: data.map { Data(bytes: $0, count: len) } ?? Data()))
            }
        }
    }

    /// A PEM block with the given label.
    static func encode(label: String, der: Data) -> String {
        let data = (try? MemBIO.collect { bio in
            let rc = der.withUnsafeBytes { raw in
                PEM_write_bio(bio, label, "", raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count)
            }
            if rc <= 0 { throw FIPSError.openSSL("PEM_write_bio") }
        }) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

extension Certificate {
    /// Runs `body` with the certificate's `X509 *` (borrowed: valid only during `body`; take your own reference
    /// with `X509_up_ref` if you keep it, as `SSL_CTX_use_certificate` does).
    /// - Parameter body: Receives the `X509 *`.
    /// - Returns: What `body` returns.
    package func withX509<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R { try body(box.x509) }
}
