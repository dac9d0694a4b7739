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
///
/// One-shot with ``authenticationCode(for:using:)``, or incremental as in swift-crypto:
///
/// ```swift
/// var mac = try HMAC<SHA256>(key: key)
/// mac.update(data: header)
/// mac.update(data: body)
/// let code = try mac.finalize()
/// ```
///
/// An incremental MAC is a value: a copy continues independently (OpenSSL's keyed context is duplicated on the
/// first change), so a keyed, empty MAC can be kept and copied for every message. That runs HMAC's key schedule
/// once per key rather than once per message; for many messages in a row ``HMACContext`` is cheaper still (it
/// restarts one context instead of duplicating it). Unlike swift-crypto, `init(key:)` and ``finalize()`` throw: the key
/// is checked against the policy, and ``finalize()`` fails closed when the module has entered its error state
/// since the MAC was started.
public struct HMAC<H: HashFunction>: Sendable {
    var state: CopyOnWriteContext

    /// Starts an incremental MAC.
    /// - Parameter key: The key (at least 112 bits).
    /// - Throws: ``FIPSError/Code/notApproved`` for a short key, or a module/OpenSSL failure.
    public init(key: SymmetricKey) throws {
        state = try .hmac(core: ModuleRuntime.operational(), H.algorithm, key: key)
    }

    /// Adds bytes to the message.
    /// - Parameter data: The bytes.
    public mutating func update<D: DataProtocol>(data: D) { withContiguous(data) { update(bufferPointer: $0) } }

    /// Adds bytes from a raw buffer.
    /// - Parameter bufferPointer: The bytes.
    public mutating func update(bufferPointer: UnsafeRawBufferPointer) { state.update(bufferPointer) }

    /// The MAC of everything added so far. The MAC itself is unchanged, so it can be updated further.
    /// - Returns: The full-length MAC.
    /// - Throws: ``FIPSError/Code/moduleInErrorState`` if the module failed since; an OpenSSL failure.
    public func finalize() throws -> HashedAuthenticationCode<H> {
        _ = try ModuleRuntime.operational()
        return HashedAuthenticationCode(bytes: try state.finalize())
    }

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

/// An HMAC key ready for many messages in a row: ``finalize()`` returns the MAC and starts the next message under
/// the same key on the same OpenSSL context, so HMAC's key schedule runs once and no context is allocated per
/// message (an audit log MACs every record this way).
///
/// ```swift
/// var mac = try HMACContext<SHA256>(key: key)
/// for record in records {
///     mac.update(data: previousMAC)
///     mac.update(data: record)
///     previousMAC = Array(try mac.finalize())
/// }
/// ```
///
/// It is not copyable (it owns the keyed context, which OpenSSL cleanses when it is freed) and not shared: one
/// owner, one message at a time. For one message use ``HMAC/authenticationCode(for:using:)`` or ``HMAC``'s
/// incremental value type, which can be copied mid-message.
public struct HMACContext<H: HashFunction>: ~Copyable, @unchecked Sendable {
    // Sendable: the context is reachable only through this non-copyable value's `mutating` methods, so it can
    // move to another thread but never be used by two at once.
    var state: RestartableContext

    /// Keys a context.
    /// - Parameter key: The key (at least 112 bits).
    /// - Throws: ``FIPSError/Code/notApproved`` for a short key, or a module/OpenSSL failure.
    public init(key: SymmetricKey) throws {
        state = try RestartableContext.hmac(core: ModuleRuntime.operational(), H.algorithm, key: key)
    }

    /// Adds bytes to the current message.
    /// - Parameter data: The bytes.
    public mutating func update<D: DataProtocol>(data: D) { withContiguous(data) { state.update($0) } }

    /// Adds bytes from a raw buffer to the current message.
    /// - Parameter bufferPointer: The bytes.
    public mutating func update(bufferPointer: UnsafeRawBufferPointer) { state.update(bufferPointer) }

    /// The current message's MAC; the context then starts the next message under the same key (also when this
    /// throws: a failed message is discarded, never mixed into the next).
    /// - Returns: The full-length MAC.
    /// - Throws: ``FIPSError/Code/moduleInErrorState`` if the module failed since; an OpenSSL failure.
    public mutating func finalize() throws -> HashedAuthenticationCode<H> {
        do { _ = try ModuleRuntime.operational() } catch { state.discardMessage(); throw error }
        return HashedAuthenticationCode(bytes: try state.finalizeAndRestart())
    }
}
