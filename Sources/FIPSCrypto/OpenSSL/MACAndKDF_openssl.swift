import Foundation
internal import COpenSSL

/// HMAC over the module's fetched `EVP_MAC`.
enum MACEngine {
    /// A new `EVP_MAC_CTX` keyed for HMAC over `digest`: the one place a key enters an HMAC context. The caller
    /// owns (and frees) the context; nothing is left allocated when this throws.
    static func keyedContext(core: ModuleCore, _ digest: DigestAlgorithm, key: UnsafeRawBufferPointer) throws -> OpaquePointer {
        try ApprovedPolicy.require(key.count >= ApprovedPolicy.minimumHMACKeyByteCount, "HMAC",
                                   "key of \(key.count * 8) bits is below the 112-bit minimum")
        guard let ctx = EVP_MAC_CTX_new(core.hmac) else { throw FIPSError.openSSL("EVP_MAC_CTX_new") }
        do {
            try digest.openSSLName.withCString { name in
                var params = [OSSL_PARAM_construct_utf8_string(ParamKey.digest, UnsafeMutablePointer(mutating: name), 0),
                              OSSL_PARAM_construct_end()]
                try check(EVP_MAC_init(ctx, key.baseAddress?.assumingMemoryBound(to: UInt8.self), key.count, &params),
                          "EVP_MAC_init(HMAC-\(digest))")
            }
        } catch {
            EVP_MAC_CTX_free(ctx)
            throw error
        }
        return ctx
    }

    static func hmac(core: ModuleCore, _ digest: DigestAlgorithm, key: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer) throws -> [UInt8] {
        let ctx = try keyedContext(core: core, digest, key: key)
        defer { EVP_MAC_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: digest.byteCount)
        var outLen = 0
        if data.count > 0 {
            try check(EVP_MAC_update(ctx, data.baseAddress!.assumingMemoryBound(to: UInt8.self), data.count), "EVP_MAC_update")
        }
        try check(EVP_MAC_final(ctx, &out, &outLen, out.count), "EVP_MAC_final")
        return out
    }
}

/// HKDF and PBKDF2 over the module's fetched `EVP_KDF`s.
enum KDFEngine {
    enum HKDFMode: Int32 {
        case extractAndExpand = 0 // EVP_KDF_HKDF_MODE_EXTRACT_AND_EXPAND
        case extractOnly = 1      // EVP_KDF_HKDF_MODE_EXTRACT_ONLY
        case expandOnly = 2       // EVP_KDF_HKDF_MODE_EXPAND_ONLY
    }

    /// Derives `length` bytes straight into a zeroizing key buffer.
    static func hkdf(core: ModuleCore, _ digest: DigestAlgorithm, mode: HKDFMode, key: UnsafeRawBufferPointer,
                     salt: UnsafeRawBufferPointer, info: UnsafeRawBufferPointer, length: Int) throws -> SymmetricKey {
        let name = "HKDF-\(digest)"
        if mode == .expandOnly {
            try ApprovedPolicy.require(key.count >= digest.byteCount, name, "a pseudorandom key must be at least \(digest.byteCount) bytes, got \(key.count)")
        } else {
            try ApprovedPolicy.require(key.count >= ApprovedPolicy.minimumHMACKeyByteCount, name,
                                       "input key material of \(key.count * 8) bits is below the 112-bit minimum")
        }
        try ApprovedPolicy.require(length >= 1 && length <= 255 * digest.byteCount, name,
                                   "output length \(length) is outside 1 ... \(255 * digest.byteCount)")
        try ApprovedPolicy.require(info.count <= 1024, name, "info longer than 1024 bytes")
        guard let ctx = EVP_KDF_CTX_new(core.hkdf) else { throw FIPSError.openSSL("EVP_KDF_CTX_new(HKDF)") }
        defer { EVP_KDF_CTX_free(ctx) }
        // OSSL_PARAMs keep raw pointers to their storage: it must outlive EVP_KDF_derive.
        let modeValue = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        modeValue.initialize(to: mode.rawValue)
        defer { modeValue.deallocate() }
        let storage = try digest.openSSLName.withCString { mdName -> SecureBytes in
            var params: [OSSL_PARAM] = [
                OSSL_PARAM_construct_utf8_string(ParamKey.digest, UnsafeMutablePointer(mutating: mdName), 0),
                OSSL_PARAM_construct_int(ParamKey.mode, modeValue),
                OSSL_PARAM_construct_octet_string(ParamKey.key, UnsafeMutableRawPointer(mutating: key.baseAddress), key.count),
            ]
            if salt.count > 0 {
                params.append(OSSL_PARAM_construct_octet_string(ParamKey.salt, UnsafeMutableRawPointer(mutating: salt.baseAddress), salt.count))
            }
            if info.count > 0 {
                params.append(OSSL_PARAM_construct_octet_string(ParamKey.info, UnsafeMutableRawPointer(mutating: info.baseAddress), info.count))
            }
            params.append(OSSL_PARAM_construct_end())
            return try SecureBytes(count: length) { out in
                try check(EVP_KDF_derive(ctx, out.baseAddress!.assumingMemoryBound(to: UInt8.self), length, &params), "EVP_KDF_derive(\(name))")
            }
        }
        return SymmetricKey(storage: KeyStorage(storage))
    }

    /// PBKDF2-HMAC (SP 800-132).
    static func pbkdf2(core: ModuleCore, _ digest: DigestAlgorithm, password: UnsafeRawBufferPointer, salt: UnsafeRawBufferPointer,
                       iterations: Int, length: Int) throws -> SymmetricKey {
        let name = "PBKDF2-HMAC-\(digest)"
        try ApprovedPolicy.require(password.count >= 8, name, "passphrase shorter than 8 bytes")
        try ApprovedPolicy.require(salt.count >= 16, name, "salt shorter than 128 bits")
        try ApprovedPolicy.require(iterations >= ApprovedPolicy.minimumPBKDF2Iterations, name,
                                   "\(iterations) iterations is below the minimum of \(ApprovedPolicy.minimumPBKDF2Iterations)")
        try ApprovedPolicy.require(length >= 14 && length <= 1024, name, "output length \(length) is outside 14 ... 1024")
        guard let ctx = EVP_KDF_CTX_new(core.pbkdf2) else { throw FIPSError.openSSL("EVP_KDF_CTX_new(PBKDF2)") }
        defer { EVP_KDF_CTX_free(ctx) }
        let iter = UnsafeMutablePointer<UInt64>.allocate(capacity: 1)
        iter.initialize(to: UInt64(iterations))
        defer { iter.deallocate() }
        let storage = try digest.openSSLName.withCString { mdName -> SecureBytes in
            var params: [OSSL_PARAM] = [
                OSSL_PARAM_construct_utf8_string(ParamKey.digest, UnsafeMutablePointer(mutating: mdName), 0),
                OSSL_PARAM_construct_octet_string(ParamKey.password, UnsafeMutableRawPointer(mutating: password.baseAddress), password.count),
                OSSL_PARAM_construct_octet_string(ParamKey.salt, UnsafeMutableRawPointer(mutating: salt.baseAddress), salt.count),
                OSSL_PARAM_construct_uint64(ParamKey.iterations, iter),
                OSSL_PARAM_construct_end(),
            ]
            return try SecureBytes(count: length) { out in
                try check(EVP_KDF_derive(ctx, out.baseAddress!.assumingMemoryBound(to: UInt8.self), length, &params), "EVP_KDF_derive(\(name))")
            }
        }
        return SymmetricKey(storage: KeyStorage(storage))
    }
}
