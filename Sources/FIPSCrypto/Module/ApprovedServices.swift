/// The approved-services policy: the one table that says what this library will do.
///
/// Every public entry point checks its request against this table before OpenSSL is called; a request
/// outside it throws ``FIPSError/Code/notApproved`` naming the algorithm and the reason. The provider enforces
/// the same boundary a second time (`fips=yes` on the module's library context), so a fetch of anything else
/// fails even if this table were wrong.
public struct ApprovedService: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The service's name as the status report shows it, e.g. `"AES-256-GCM"`.
    public let name: String
    /// The OpenSSL algorithm it is served by, e.g. `"AES-256-GCM"` (cipher) or `"HKDF"` (KDF).
    public let openSSLAlgorithm: String
    /// The standard that specifies it.
    public let standard: String
    /// The parameters this library allows, in words.
    public let parameters: String

    /// `name (standard): parameters`.
    public var description: String { "\(name) (\(standard)): \(parameters)" }
}

/// The policy table and the checks every entry point calls.
public enum ApprovedPolicy {
    /// The only AES key size this library uses: 256 bits.
    public static let aesKeyByteCount = 32
    /// AES-GCM nonce size: 96 bits (SP 800-38D §8.2, IG C.H).
    public static let gcmNonceByteCount = 12
    /// AES-GCM tag size: 128 bits.
    public static let gcmTagByteCount = 16
    /// SP 800-38D: at most 2^32 invocations of one key with random or generated 96-bit IVs.
    public static let gcmInvocationLimit: UInt64 = 1 << 32
    /// The smallest HMAC key accepted: 112 bits (SP 800-131A Rev. 2 security strength floor).
    public static let minimumHMACKeyByteCount = 14
    /// The smallest RSA modulus accepted: 2048 bits.
    public static let minimumRSABits = 2048
    /// The smallest PBKDF2 iteration count accepted (SP 800-132 recommends at least 1,000; we ask for more).
    public static let minimumPBKDF2Iterations = 10_000

    /// Every service the library offers, with its allowed parameters.
    public static let services: [ApprovedService] = [
        .init(name: "AES-256-GCM", openSSLAlgorithm: "AES-256-GCM", standard: "SP 800-38D",
              parameters: "256-bit key; 96-bit IV generated inside the provider; 128-bit tag; ≤ 2^32 seals per key"),
        .init(name: "SHA-256", openSSLAlgorithm: "SHA2-256", standard: "FIPS 180-4", parameters: "any length"),
        .init(name: "SHA-384", openSSLAlgorithm: "SHA2-384", standard: "FIPS 180-4", parameters: "any length"),
        .init(name: "SHA-512", openSSLAlgorithm: "SHA2-512", standard: "FIPS 180-4", parameters: "any length"),
        .init(name: "HMAC", openSSLAlgorithm: "HMAC", standard: "FIPS 198-1",
              parameters: "SHA-256/384/512; key ≥ 112 bits; full-length tags"),
        .init(name: "HKDF", openSSLAlgorithm: "HKDF", standard: "SP 800-56C Rev. 2 / RFC 5869",
              parameters: "SHA-256/384/512; output ≤ 255 × hash length"),
        .init(name: "PBKDF2", openSSLAlgorithm: "PBKDF2", standard: "SP 800-132",
              parameters: "HMAC-SHA-256/512; salt ≥ 128 bits; ≥ 10,000 iterations; passphrase ≥ 8 bytes"),
        .init(name: "DRBG", openSSLAlgorithm: "CTR-DRBG (provider default)", standard: "SP 800-90A Rev. 1",
              parameters: "the provider's DRBG in the module's library context"),
        .init(name: "ECDSA", openSSLAlgorithm: "ECDSA", standard: "FIPS 186-5",
              parameters: "P-256, P-384, P-521 with SHA-256/384/512"),
        .init(name: "RSA signatures", openSSLAlgorithm: "RSA", standard: "FIPS 186-5",
              parameters: "modulus ≥ 2048 bits; PSS (salt = hash length) or PKCS#1 v1.5; SHA-256/384/512"),
        .init(name: "TLS", openSSLAlgorithm: "TLS 1.2 / 1.3", standard: "SP 800-52 Rev. 2",
              parameters: "ECDHE + AES-GCM suites; P-256/P-384 groups; Extended Master Secret"),
    ]

    /// Throws ``FIPSError/Code/notApproved`` unless `condition` holds.
    /// - Parameters:
    ///   - condition: The policy condition.
    ///   - algorithm: The algorithm the request named.
    ///   - reason: Why the request is refused, for the error message.
    public static func require(_ condition: Bool, _ algorithm: String, _ reason: @autoclosure () -> String,
                               file: String = #fileID, line: UInt = #line) throws {
        if !condition {
            throw FIPSError(.notApproved, "\(algorithm) refused by policy: \(reason())", file: file, line: line)
        }
    }
}
