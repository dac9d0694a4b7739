import Foundation

/// HKDF (RFC 5869, SP 800-56C Rev. 2) over SHA-256, SHA-384 or SHA-512, served by the module's fetched `EVP_KDF`.
public struct HKDF<H: HashFunction>: Sendable {
    /// Extract-then-expand in one step.
    /// - Parameters:
    ///   - inputKeyMaterial: The input key (at least 112 bits).
    ///   - salt: The salt (may be empty).
    ///   - info: The context label.
    ///   - outputByteCount: 1 ... 255 × the hash length.
    /// - Returns: The derived key.
    /// - Throws: ``FIPSError/Code/notApproved`` for a short input key or an out-of-range length.
    public static func deriveKey<S: DataProtocol, I: DataProtocol>(inputKeyMaterial: SymmetricKey, salt: S, info: I,
                                                                   outputByteCount: Int) throws -> SymmetricKey {
        let core = try ModuleRuntime.operational()
        return try withContiguous(salt) { s in
            try withContiguous(info) { i in
                try inputKeyMaterial.withUnsafeBytes { k in
                    try KDFEngine.hkdf(core: core, H.algorithm, mode: .extractAndExpand, key: k, salt: s, info: i, length: outputByteCount)
                }
            }
        }
    }

    /// Extract-then-expand with no salt.
    /// - Parameters:
    ///   - inputKeyMaterial: The input key.
    ///   - info: The context label.
    ///   - outputByteCount: 1 ... 255 × the hash length.
    /// - Returns: The derived key.
    /// - Throws: As ``deriveKey(inputKeyMaterial:salt:info:outputByteCount:)``.
    public static func deriveKey<I: DataProtocol>(inputKeyMaterial: SymmetricKey, info: I, outputByteCount: Int) throws -> SymmetricKey {
        try deriveKey(inputKeyMaterial: inputKeyMaterial, salt: EmptyCollection<UInt8>(), info: info, outputByteCount: outputByteCount)
    }

    /// HKDF-Extract: the pseudorandom key.
    /// - Parameters:
    ///   - inputKeyMaterial: The input key.
    ///   - salt: The salt.
    /// - Returns: The PRK (hash-length).
    /// - Throws: As ``deriveKey(inputKeyMaterial:salt:info:outputByteCount:)``.
    public static func extract<S: DataProtocol>(inputKeyMaterial: SymmetricKey, salt: S?) throws -> HashedAuthenticationCode<H> {
        let core = try ModuleRuntime.operational()
        let prk = try withContiguous(salt.map { Array($0) } ?? []) { s in
            try inputKeyMaterial.withUnsafeBytes { k in
                try KDFEngine.hkdf(core: core, H.algorithm, mode: .extractOnly, key: k, salt: s, info: UnsafeRawBufferPointer(start: nil, count: 0),
                                   length: H.byteCount)
            }
        }
        return HashedAuthenticationCode(bytes: prk.withUnsafeBytes { Array($0) })
    }

    /// HKDF-Expand from a pseudorandom key.
    /// - Parameters:
    ///   - pseudoRandomKey: The PRK (at least the hash length).
    ///   - info: The context label.
    ///   - outputByteCount: 1 ... 255 × the hash length.
    /// - Returns: The derived key.
    /// - Throws: As ``deriveKey(inputKeyMaterial:salt:info:outputByteCount:)``.
    public static func expand<P: ContiguousBytes, I: DataProtocol>(pseudoRandomKey: P, info: I, outputByteCount: Int) throws -> SymmetricKey {
        let core = try ModuleRuntime.operational()
        return try withContiguous(info) { i in
            try pseudoRandomKey.withUnsafeBytes { k in
                try KDFEngine.hkdf(core: core, H.algorithm, mode: .expandOnly, key: k, salt: UnsafeRawBufferPointer(start: nil, count: 0),
                                   info: i, length: outputByteCount)
            }
        }
    }
}
