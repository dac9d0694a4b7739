import Foundation

/// PBKDF2 with HMAC (SP 800-132), for keys derived from passphrases.
public enum PBKDF2 {
    /// The iteration count this library uses by default (OWASP 2023 guidance for PBKDF2-HMAC-SHA-256).
    public static let defaultIterations = 600_000

    /// Derives a key from a passphrase.
    /// - Parameters:
    ///   - passphrase: At least 8 bytes.
    ///   - salt: At least 16 random bytes.
    ///   - iterations: At least 10,000; ``defaultIterations`` unless you have measured otherwise.
    ///   - digest: `.sha256` or `.sha512`.
    ///   - outputByteCount: 14 ... 1024 bytes.
    /// - Returns: The derived key.
    /// - Throws: ``FIPSError/Code/notApproved`` for parameters outside SP 800-132's bounds.
    public static func deriveKey<P: ContiguousBytes, S: ContiguousBytes>(passphrase: P, salt: S, iterations: Int = defaultIterations,
                                                                         digest: DigestAlgorithm = .sha256,
                                                                         outputByteCount: Int = 32) throws -> SymmetricKey {
        let core = try ModuleRuntime.operational()
        return try passphrase.withUnsafeBytes { p in
            try salt.withUnsafeBytes { s in
                try KDFEngine.pbkdf2(core: core, digest, password: p, salt: s, iterations: iterations, length: outputByteCount)
            }
        }
    }
}
