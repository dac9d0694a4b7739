import Foundation
internal import COpenSSL
internal import COpenSSLShims

/// Owns one `EVP_PKEY *` and frees it with the last reference.
///
/// The key is never modified after it is made (generated or decoded in the module's library context), so one
/// instance may be used for signing and verifying from several threads at once (OpenSSL 3's rule for const keys).
final class PKey: @unchecked Sendable {
    let pointer: OpaquePointer // EVP_PKEY *

    init(taking pointer: OpaquePointer) { self.pointer = pointer }

    deinit { EVP_PKEY_free(pointer) }
}

/// What an asymmetric key is, as far as the policy cares.
enum KeyShape: Hashable, Sendable {
    case ec(ECCurve)
    case rsa(bits: Int)
}

/// RSA signature padding, internal spelling.
enum RSAPaddingMode: Hashable, Sendable {
    case pss      // RSASSA-PSS, MGF1 with the message digest, salt length = digest length
    case pkcs1v15 // RSASSA-PKCS1-v1_5
}

/// Key generation, encoding, decoding, signing and verifying over `EVP_PKEY`, always in the module's library context.
enum PKeyEngine {
    // `EVP_PKEY_KEYPAIR` / `EVP_PKEY_PUBLIC_KEY` are composite macros: OSSL_KEYMGMT_SELECT_PRIVATE_KEY (0x01),
    // _PUBLIC_KEY (0x02), _ALL_PARAMETERS (0x84).
    static let selectKeyPair: Int32 = 0x87
    static let selectPublicKey: Int32 = 0x86

    // MARK: - Generation

    /// Generates a key of an approved shape. The policy check runs before OpenSSL is called.
    static func generate(core: ModuleCore, _ shape: KeyShape) throws -> PKey {
        try SignaturePolicy.checkGenerate(shape)
        clearOpenSSLErrors()
        switch shape {
        case .ec(let curve):
            guard let p = curve.openSSLGroup.withCString({ fcshim_EVP_PKEY_Q_keygen_ec(core.context, $0) }) else {
                throw FIPSError.openSSL("EVP_PKEY_Q_keygen(EC \(curve.name))")
            }
            return PKey(taking: p)
        case .rsa(let bits):
            guard let p = fcshim_EVP_PKEY_Q_keygen_rsa(core.context, bits) else {
                throw FIPSError.openSSL("EVP_PKEY_Q_keygen(RSA \(bits))")
            }
            return PKey(taking: p)
        }
    }

    // MARK: - Classification

    /// The key's shape, or ``FIPSError/Code/notApproved`` for any key outside the policy (curve, size, type).
    static func shape(of key: PKey) throws -> KeyShape {
        let p = key.pointer
        if EVP_PKEY_is_a(p, "EC") == 1 {
            var name = [CChar](repeating: 0, count: 80)
            var len = 0
            guard EVP_PKEY_get_group_name(p, &name, name.count, &len) == 1 else {
                clearOpenSSLErrors()
                throw FIPSError(.notApproved, "ECDSA refused by policy: the key has explicit or unnamed curve parameters (P-256, P-384, P-521 only)")
            }
            let group = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard let curve = ECCurve.approved.first(where: { $0.openSSLNames.contains(group) }) else {
                throw FIPSError(.notApproved, "ECDSA refused by policy: curve \(group) is not approved (P-256, P-384, P-521 only)")
            }
            return .ec(curve)
        }
        if EVP_PKEY_is_a(p, "RSA") == 1 {
            let bits = Int(EVP_PKEY_get_bits(p))
            try SignaturePolicy.checkLoadedRSA(bits: bits)
            // FIPS 186-5 §5.4: the public exponent is odd and 2^16 < e < 2^256.
            var e: OpaquePointer? = nil
            guard EVP_PKEY_get_bn_param(p, "e", &e) == 1, let e else { throw FIPSError.openSSL(.invalidEncoding, "EVP_PKEY_get_bn_param(e)") }
            defer { BN_free(e) }
            let eBits = Int(BN_num_bits(e))
            try ApprovedPolicy.require(BN_is_odd(e) == 1 && eBits >= 17 && eBits <= 256 /* odd with ≥ 17 bits: > 2^16 */,
                                       "RSA", "public exponent \(eBits <= 64 ? "e = \(BN_get_word(e))" : "of \(eBits) bits") is outside FIPS 186-5's odd 2^16 < e < 2^256")
            return .rsa(bits: bits)
        }
        let type = EVP_PKEY_get0_type_name(p).map { String(cString: $0) } ?? "unknown"
        throw FIPSError(.notApproved, "signature key refused by policy: \(type) keys are not approved here (ECDSA P-256/384/521 and RSA ≥ 2048 only)")
    }

    // MARK: - Decoding

    /// Decodes a private key (PEM or DER: PKCS#8, encrypted PKCS#8, SEC1, PKCS#1) in the module's library context.
    static func decodePrivate(core: ModuleCore, _ input: UnsafeRawBufferPointer, pem: Bool,
                              passphrase: UnsafeRawBufferPointer?) throws -> PKey {
        if pem && contains(input, "Proc-Type: 4,ENCRYPTED") {
            // Legacy OpenSSL PEM encryption derives its key with EVP_BytesToKey over MD5: not an approved KDF.
            throw FIPSError(.notApproved, "PEM encryption refused by policy: legacy 'Proc-Type: 4,ENCRYPTED' PEM derives its key with MD5; use encrypted PKCS#8 (ENCRYPTED PRIVATE KEY)")
        }
        let encrypted = looksEncrypted(input, pem: pem)
        if encrypted && passphrase == nil {
            throw FIPSError(.wrongPassphrase, "the private key is encrypted and no passphrase was given")
        }
        clearOpenSSLErrors()
        let key = try decode(core: core, input, pem: pem, spki: false, selection: selectKeyPair, passphrase: passphrase,
                             failure: encrypted ? .wrongPassphrase : .invalidEncoding,
                             what: encrypted ? "decrypting the private key (wrong passphrase or damaged key)" : "decoding the private key")
        _ = try shape(of: key) // refuse a non-approved key by name before looking inside it
        guard hasPrivateComponent(key) else {
            throw FIPSError(.invalidEncoding, "the input holds a public key where a private key was expected")
        }
        try checkPairwise(core: core, key)
        return key
    }

    /// Refuses a decoded private key whose halves do not belong together (a damaged or spliced key would sign with
    /// one key while its public key, fingerprint and certificate name another): `EVP_PKEY_pairwise_check`.
    private static func checkPairwise(core: ModuleCore, _ key: PKey) throws {
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(core.context, key.pointer, nil) else {
            throw FIPSError.openSSL("EVP_PKEY_CTX_new_from_pkey")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_pairwise_check(ctx) == 1 else {
            throw FIPSError(.invalidEncoding, "decoding the private key failed: its public key does not match its private key (a damaged key)",
                            openSSLErrors: drainOpenSSLErrors())
        }
    }

    /// Decodes a SubjectPublicKeyInfo (PEM or DER) in the module's library context.
    static func decodePublic(core: ModuleCore, _ input: UnsafeRawBufferPointer, pem: Bool) throws -> PKey {
        clearOpenSSLErrors()
        return try decode(core: core, input, pem: pem, spki: true, selection: selectPublicKey,
                          passphrase: nil, failure: .invalidEncoding, what: "decoding the public key")
    }

    private static func decode(core: ModuleCore, _ input: UnsafeRawBufferPointer, pem: Bool, spki: Bool,
                               selection: Int32, passphrase: UnsafeRawBufferPointer?, failure: FIPSError.Code,
                               what: String) throws -> PKey {
        guard let base = input.baseAddress, input.count > 0 else { throw FIPSError(.invalidEncoding, "\(what): the input is empty") }
        // The decoder keeps the input-type and structure pointers (static strings only) and the `EVP_PKEY **`
        // it writes the result to in OSSL_DECODER_from_data, a later call: `&local` would only be valid during
        // OSSL_DECODER_CTX_new_for_pkey, so the slot is allocated and outlives the context.
        let slot = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: 1)
        slot.initialize(to: nil)
        defer { slot.deallocate() }
        let dctx = OSSL_DECODER_CTX_new_for_pkey(slot, pem ? ParamKey.pemInput : ParamKey.derInput,
                                                 spki ? ParamKey.subjectPublicKeyInfo : nil, nil, selection, core.context, nil)
        guard let dctx else { throw FIPSError.openSSL("OSSL_DECODER_CTX_new_for_pkey") }
        defer { OSSL_DECODER_CTX_free(dctx) }
        if let passphrase {
            try check(OSSL_DECODER_CTX_set_passphrase(dctx, passphrase.baseAddress?.assumingMemoryBound(to: UInt8.self), passphrase.count),
                      "OSSL_DECODER_CTX_set_passphrase")
        }
        var data: UnsafePointer<UInt8>? = base.assumingMemoryBound(to: UInt8.self)
        var remaining = input.count
        let rc = OSSL_DECODER_from_data(dctx, &data, &remaining)
        let pkey = slot.pointee
        guard rc == 1, let p = pkey else {
            if let p = pkey { EVP_PKEY_free(p) }
            let errors = drainOpenSSLErrors()
            if failure == .invalidEncoding, let name = KeyAlgorithmIdentifier.nonApprovedAlgorithm(in: input, pem: pem) {
                // A well-formed key of a kind the module's context cannot even load (e.g. secp256k1 under the FIPS provider).
                throw FIPSError(.notApproved, "signature key refused by policy: \(name) is not approved (ECDSA P-256/384/521 and RSA ≥ 2048 only)",
                                openSSLErrors: errors)
            }
            throw FIPSError(failure, "\(what) failed: the input is not a valid key", openSSLErrors: errors)
        }
        let key = PKey(taking: p)
        if !pem && remaining != 0 {
            clearOpenSSLErrors() // the non-matching decoder attempts must not leak into the next call's error
            throw FIPSError(.invalidEncoding, "\(what) failed: \(remaining) bytes of trailing data after the DER structure")
        }
        clearOpenSSLErrors() // decoders leave the attempts that did not match on the queue
        return key
    }

    /// Encrypted PKCS#8: PEM `ENCRYPTED PRIVATE KEY`, or DER that parses as an `EncryptedPrivateKeyInfo`.
    private static func looksEncrypted(_ input: UnsafeRawBufferPointer, pem: Bool) -> Bool {
        if pem { return contains(input, "-----BEGIN ENCRYPTED PRIVATE KEY-----") }
        guard let base = input.baseAddress, input.count > 0 else { return false }
        var p: UnsafePointer<UInt8>? = base.assumingMemoryBound(to: UInt8.self)
        guard let sig = d2i_X509_SIG(nil, &p, input.count) else { clearOpenSSLErrors(); return false }
        X509_SIG_free(sig)
        return true
    }

    /// Whether `haystack` contains the ASCII `needle` (searched in place: no copy of possibly secret input).
    private static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: StaticString) -> Bool {
        let n = UnsafeRawBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        guard n.count > 0, haystack.count >= n.count else { return false }
        for i in 0...(haystack.count - n.count) where haystack[i] == n[0] {
            if memcmp(haystack.baseAddress! + i, n.baseAddress!, n.count) == 0 { return true }
        }
        return false
    }

    private static func hasPrivateComponent(_ key: PKey) -> Bool {
        defer { clearOpenSSLErrors() }
        var bn: OpaquePointer? = nil
        let name = EVP_PKEY_is_a(key.pointer, "RSA") == 1 ? "d" : "priv"
        guard EVP_PKEY_get_bn_param(key.pointer, name, &bn) == 1, let bn else { return false }
        BN_clear_free(bn)
        return true
    }

    // MARK: - Encoding

    /// The SubjectPublicKeyInfo DER.
    static func publicKeyDER(_ key: PKey) throws -> Data {
        clearOpenSSLErrors()
        var out: UnsafeMutablePointer<UInt8>? = nil
        let len = i2d_PUBKEY(key.pointer, &out)
        guard len > 0, let out else { throw FIPSError.openSSL("i2d_PUBKEY") }
        defer { fcshim_OPENSSL_free(out) }
        return Data(bytes: out, count: Int(len))
    }

    /// A public-only copy of a key (SPKI encoded and decoded again in the module's library context).
    static func publicOnly(core: ModuleCore, _ key: PKey) throws -> PKey {
        let der = try publicKeyDER(key)
        return try der.withUnsafeBytes { try decodePublic(core: core, $0, pem: false) }
    }

    /// The unencrypted PKCS#8 `PrivateKeyInfo` DER, in a zeroizing buffer.
    static func privateKeyInfoDER(_ key: PKey) throws -> SecureBytes {
        clearOpenSSLErrors()
        guard let p8 = EVP_PKEY2PKCS8(key.pointer) else { throw FIPSError.openSSL("EVP_PKEY2PKCS8") }
        defer { PKCS8_PRIV_KEY_INFO_free(p8) }
        let len = i2d_PKCS8_PRIV_KEY_INFO(p8, nil)
        guard len > 0 else { throw FIPSError.openSSL("i2d_PKCS8_PRIV_KEY_INFO") }
        return try SecureBytes(count: Int(len)) { buf in
            var p: UnsafeMutablePointer<UInt8>? = buf.baseAddress!.assumingMemoryBound(to: UInt8.self)
            guard i2d_PKCS8_PRIV_KEY_INFO(p8, &p) == len else { throw FIPSError.openSSL("i2d_PKCS8_PRIV_KEY_INFO") }
        }
    }

    /// An encrypted PKCS#8 `EncryptedPrivateKeyInfo` DER: PBES2 with PBKDF2-HMAC-SHA-256 (random 128-bit salt,
    /// `iterations` rounds) and AES-256-CBC (random IV), all in the module's library context.
    static func encryptedPrivateKeyInfoDER(core: ModuleCore, _ key: PKey, passphrase: UnsafeRawBufferPointer,
                                           iterations: Int) throws -> Data {
        // OpenSSL takes the iteration count and passphrase length as `int`: refuse, do not trap, beyond it.
        guard let iter = Int32(exactly: iterations), let passLength = Int32(exactly: passphrase.count) else {
            throw FIPSError(.notApproved, "PBKDF2 refused by policy: \(iterations) iterations or a \(passphrase.count)-byte passphrase exceeds OpenSSL's int range")
        }
        clearOpenSSLErrors()
        guard let cipher = EVP_CIPHER_fetch(core.context, "AES-256-CBC", nil) else { throw FIPSError.openSSL("EVP_CIPHER_fetch(AES-256-CBC)") }
        defer { EVP_CIPHER_free(cipher) }
        guard let p8 = EVP_PKEY2PKCS8(key.pointer) else { throw FIPSError.openSSL("EVP_PKEY2PKCS8") }
        defer { PKCS8_PRIV_KEY_INFO_free(p8) }
        // salt NULL + length 16: the library draws a 128-bit salt (and the IV) from the context's DRBG.
        guard let pbe = PKCS5_pbe2_set_iv_ex(cipher, iter, nil, 16, nil, NID_hmacWithSHA256, core.context) else {
            throw FIPSError.openSSL("PKCS5_pbe2_set_iv_ex")
        }
        let pass = passphrase.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
        guard let sig = PKCS8_set0_pbe_ex(pass, passLength, p8, pbe, core.context, nil) else {
            X509_ALGOR_free(pbe) // not taken over on failure
            throw FIPSError.openSSL("PKCS8_set0_pbe_ex")
        }
        defer { X509_SIG_free(sig) }
        var out: UnsafeMutablePointer<UInt8>? = nil
        let len = i2d_X509_SIG(sig, &out)
        guard len > 0, let out else { throw FIPSError.openSSL("i2d_X509_SIG") }
        defer { fcshim_OPENSSL_free(out) }
        return Data(bytes: out, count: Int(len))
    }

    // MARK: - EC points

    /// The uncompressed point `04 || X || Y` of an EC key.
    static func ecPublicPoint(_ key: PKey) throws -> Data {
        var len = 0
        guard EVP_PKEY_get_octet_string_param(key.pointer, "encoded-pub-key", nil, 0, &len) == 1, len > 0 else {
            throw FIPSError.openSSL("EVP_PKEY_get_octet_string_param(encoded-pub-key)")
        }
        var out = [UInt8](repeating: 0, count: len)
        guard EVP_PKEY_get_octet_string_param(key.pointer, "encoded-pub-key", &out, out.count, &len) == 1 else {
            throw FIPSError.openSSL("EVP_PKEY_get_octet_string_param(encoded-pub-key)")
        }
        return Data(out.prefix(len))
    }

    /// An EC public key from an uncompressed point; OpenSSL checks the point is on the curve.
    static func ecPublicKey(core: ModuleCore, curve: ECCurve, point: UnsafeRawBufferPointer) throws -> PKey {
        guard point.count == 1 + 2 * curve.coordinateByteCount, point.first == 0x04 else {
            throw FIPSError(.invalidEncoding, "an uncompressed \(curve.name) point is \(1 + 2 * curve.coordinateByteCount) bytes starting with 04, got \(point.count) bytes")
        }
        clearOpenSSLErrors()
        guard let ctx = EVP_PKEY_CTX_new_from_name(core.context, "EC", nil) else { throw FIPSError.openSSL("EVP_PKEY_CTX_new_from_name(EC)") }
        defer { EVP_PKEY_CTX_free(ctx) }
        try check(EVP_PKEY_fromdata_init(ctx), "EVP_PKEY_fromdata_init")
        var pkey: OpaquePointer? = nil
        let rc = curve.openSSLGroup.withCString { group -> Int32 in
            var params = [
                OSSL_PARAM_construct_utf8_string(ParamKey.group, UnsafeMutablePointer(mutating: group), 0),
                OSSL_PARAM_construct_octet_string(ParamKey.pub, UnsafeMutableRawPointer(mutating: point.baseAddress), point.count),
                OSSL_PARAM_construct_end(),
            ]
            return EVP_PKEY_fromdata(ctx, &pkey, selectPublicKey, &params)
        }
        guard rc == 1, let p = pkey else {
            if let p = pkey { EVP_PKEY_free(p) }
            throw FIPSError(.invalidEncoding, "the point is not on \(curve.name)", openSSLErrors: drainOpenSSLErrors())
        }
        return PKey(taking: p)
    }

    static func bits(_ key: PKey) -> Int { Int(EVP_PKEY_get_bits(key.pointer)) }

    // MARK: - Signing and verifying

    /// Signs `message` (hashing it with `digest`). The policy check runs before OpenSSL is called.
    static func sign(core: ModuleCore, _ key: PKey, shape: KeyShape, digest: DigestAlgorithm, rsaPadding: RSAPaddingMode?,
                     message: UnsafeRawBufferPointer) throws -> [UInt8] {
        try SignaturePolicy.checkUse(shape, digest: digest, rsaPadding: rsaPadding)
        clearOpenSSLErrors()
        guard let md = EVP_MD_CTX_new() else { throw FIPSError.openSSL("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(md) }
        var pctx: OpaquePointer? = nil
        try check(EVP_DigestSignInit_ex(md, &pctx, digest.openSSLName, core.context, nil, key.pointer, nil),
                  "EVP_DigestSignInit_ex(\(digest))")
        if let rsaPadding { try configure(pctx, rsaPadding, digest) }
        var len = 0
        try check(EVP_DigestSign(md, nil, &len, message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count), "EVP_DigestSign")
        var out = [UInt8](repeating: 0, count: len)
        try check(EVP_DigestSign(md, &out, &len, message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count), "EVP_DigestSign")
        out.removeLast(out.count - len)
        return out
    }

    /// Verifies `signature` over `message`; any failure (bad signature, bad encoding, policy) is `false`.
    static func verify(core: ModuleCore, _ key: PKey, shape: KeyShape, digest: DigestAlgorithm, rsaPadding: RSAPaddingMode?,
                       signature: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> Bool {
        guard (try? SignaturePolicy.checkUse(shape, digest: digest, rsaPadding: rsaPadding)) != nil else { return false }
        clearOpenSSLErrors()
        defer { clearOpenSSLErrors() }
        guard let md = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(md) }
        var pctx: OpaquePointer? = nil
        guard EVP_DigestVerifyInit_ex(md, &pctx, digest.openSSLName, core.context, nil, key.pointer, nil) == 1 else { return false }
        if let rsaPadding { guard (try? configure(pctx, rsaPadding, digest)) != nil else { return false } }
        guard let sig = signature.baseAddress, signature.count > 0 else { return false }
        return EVP_DigestVerify(md, sig.assumingMemoryBound(to: UInt8.self), signature.count,
                                message.baseAddress?.assumingMemoryBound(to: UInt8.self), message.count) == 1
    }

    private static func configure(_ pctx: OpaquePointer?, _ padding: RSAPaddingMode, _ digest: DigestAlgorithm) throws {
        guard let pctx else { throw FIPSError(.openSSLFailure, "no EVP_PKEY_CTX for the RSA signature") }
        switch padding {
        case .pkcs1v15:
            guard EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0 else { throw FIPSError.openSSL("EVP_PKEY_CTX_set_rsa_padding(PKCS1)") }
        case .pss:
            guard EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 else { throw FIPSError.openSSL("EVP_PKEY_CTX_set_rsa_padding(PSS)") }
            guard EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, digest.openSSLName, nil) > 0 else { throw FIPSError.openSSL("EVP_PKEY_CTX_set_rsa_mgf1_md_name") }
            // RSA_PSS_SALTLEN_DIGEST: salt length = digest length (signing uses it; verifying requires it).
            guard EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, -1) > 0 else { throw FIPSError.openSSL("EVP_PKEY_CTX_set_rsa_pss_saltlen") }
        }
    }

    // MARK: - ECDSA signature encodings (ASN.1 only; no key or provider involved)

    /// Strict DER `ECDSA-Sig-Value` to `r || s`, each left-padded to `coordinateByteCount`.
    static func ecdsaRaw(fromDER der: UnsafeRawBufferPointer, coordinateByteCount n: Int) throws -> Data {
        guard let base = der.baseAddress, der.count > 0 else { throw FIPSError(.invalidEncoding, "empty ECDSA signature") }
        clearOpenSSLErrors()
        var p: UnsafePointer<UInt8>? = base.assumingMemoryBound(to: UInt8.self)
        guard let sig = d2i_ECDSA_SIG(nil, &p, der.count) else {
            throw FIPSError(.invalidEncoding, "the ECDSA signature is not DER", openSSLErrors: drainOpenSSLErrors())
        }
        defer { ECDSA_SIG_free(sig) }
        // Strict DER: everything consumed and the canonical re-encoding is identical (no BER, no padding).
        var reencoded: UnsafeMutablePointer<UInt8>? = nil
        let len = i2d_ECDSA_SIG(sig, &reencoded)
        guard len > 0, let reencoded else { throw FIPSError.openSSL("i2d_ECDSA_SIG") }
        defer { fcshim_OPENSSL_free(reencoded) }
        guard Int(len) == der.count, memcmp(reencoded, base, der.count) == 0 else {
            throw FIPSError(.invalidEncoding, "the ECDSA signature is not canonical DER")
        }
        var r: OpaquePointer? = nil, s: OpaquePointer? = nil
        ECDSA_SIG_get0(sig, &r, &s)
        guard let r, let s, BN_is_negative(r) == 0, BN_is_negative(s) == 0,
              (BN_num_bits(r) + 7) / 8 <= n, (BN_num_bits(s) + 7) / 8 <= n else {
            throw FIPSError(.invalidEncoding, "the ECDSA signature's r or s is negative or longer than \(n) bytes")
        }
        var out = [UInt8](repeating: 0, count: 2 * n)
        guard out.withUnsafeMutableBufferPointer({ b in
            BN_bn2binpad(r, b.baseAddress!, Int32(n)) == n && BN_bn2binpad(s, b.baseAddress! + n, Int32(n)) == n
        }) else { throw FIPSError.openSSL("BN_bn2binpad") }
        return Data(out)
    }

    /// `r || s` (two equal halves) to DER `ECDSA-Sig-Value`.
    static func ecdsaDER(fromRaw raw: UnsafeRawBufferPointer) throws -> Data {
        guard raw.count > 0, raw.count % 2 == 0, let base = raw.baseAddress else {
            throw FIPSError(.invalidEncoding, "a raw ECDSA signature is two equal halves r || s")
        }
        clearOpenSSLErrors()
        let n = raw.count / 2
        let u = base.assumingMemoryBound(to: UInt8.self)
        guard let sig = ECDSA_SIG_new() else { throw FIPSError.openSSL("ECDSA_SIG_new") }
        defer { ECDSA_SIG_free(sig) }
        guard let r = BN_bin2bn(u, Int32(n), nil) else { throw FIPSError.openSSL("BN_bin2bn") }
        guard let s = BN_bin2bn(u + n, Int32(n), nil) else { BN_free(r); throw FIPSError.openSSL("BN_bin2bn") }
        guard ECDSA_SIG_set0(sig, r, s) == 1 else { BN_free(r); BN_free(s); throw FIPSError.openSSL("ECDSA_SIG_set0") }
        var out: UnsafeMutablePointer<UInt8>? = nil
        let len = i2d_ECDSA_SIG(sig, &out)
        guard len > 0, let out else { throw FIPSError.openSSL("i2d_ECDSA_SIG") }
        defer { fcshim_OPENSSL_free(out) }
        return Data(bytes: out, count: Int(len))
    }
}
