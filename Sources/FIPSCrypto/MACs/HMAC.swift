import Foundation

/// A message authentication code computed with a hash function ``H``; compared in constant time.
public struct HashedAuthenticationCode<H: HashFunction>: Sendable, Hashable, ContiguousBytes, Sequence, CustomStringConvertible {
    let bytes: [UInt8]
    init(bytes: [UInt8]) { self.bytes = bytes }
    /// The code's length in bytes.
    public var byteCount: Int { bytes.count }
    /// Calls `body` with the code's bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try bytes.withUnsafeBytes(body) }
    /// Iterates the bytes.
    public func makeIterator() -> Array<UInt8>.Iterator { bytes.makeIterator() }
    /// Constant-time comparison.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.bytes.withUnsafeBytes { a in rhs.bytes.withUnsafeBytes { b in constantTimeEquals(a, b) } }
    }
    /// Hashes the bytes.
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }
    /// Redacted: `HMAC<SHA256>(32 bytes, redacted)`. The value can be secret: ``HKDF/extract(inputKeyMaterial:salt:)``
    /// returns the pseudorandom key in this type, and a MAC may itself be a bearer token. Read the bytes explicitly.
    public var description: String { "HMAC<\(H.self)>(\(bytes.count) bytes, redacted)" }
    /// No children, so `dump` and debuggers do not print the bytes either.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

extension HashedAuthenticationCode: CustomReflectable {}

/// HMAC (FIPS 198-1) over SHA-256, SHA-384 or SHA-512, served by the module's fetched `EVP_MAC`.
///
/// Keys shorter than 112 bits are refused (``FIPSError/Code/notApproved``).
public struct HMAC<H: HashFunction>: Sendable {
    /// Computes the MAC of `data`.
    /// - Parameters:
    ///   - data: The message.
    ///   - key: The key (at least 112 bits).
    /// - Returns: The full-length MAC.
    /// - Throws: ``FIPSError/Code/notApproved`` for a short key, or a module/OpenSSL failure.
    public static func authenticationCode<D: DataProtocol>(for data: D, using key: SymmetricKey) throws -> HashedAuthenticationCode<H> {
        let core = try ModuleRuntime.operational()
        return HashedAuthenticationCode(bytes: try withContiguous(data) { d in
            try key.withUnsafeBytes { k in try MACEngine.hmac(core: core, H.algorithm, key: k, data: d) }
        })
    }

    /// Checks a MAC in constant time.
    /// - Parameters:
    ///   - mac: The MAC to check (its full length is required; truncated MACs are refused as invalid).
    ///   - data: The message.
    ///   - key: The key.
    /// - Returns: `true` if it matches.
    /// - Throws: As ``authenticationCode(for:using:)``.
    public static func isValidAuthenticationCode<C: ContiguousBytes, D: DataProtocol>(_ mac: C, authenticating data: D,
                                                                                       using key: SymmetricKey) throws -> Bool {
        let expected = try authenticationCode(for: data, using: key)
        return mac.withUnsafeBytes { m in expected.bytes.withUnsafeBytes { e in constantTimeEquals(m, e) } }
    }
}
