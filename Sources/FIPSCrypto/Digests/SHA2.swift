import Foundation

/// A hash function of the SHA-2 family, as in CryptoKit's `HashFunction`.
public protocol HashFunction: Sendable {
    /// The digest type.
    associatedtype Digest: FIPSCrypto.Digest
    /// The digest length in bytes.
    static var byteCount: Int { get }
    /// The block length in bytes.
    static var blockByteCount: Int { get }
    /// Which fetched OpenSSL digest serves it.
    static var algorithm: DigestAlgorithm { get }
    /// A new incremental hasher.
    init()
    /// Adds bytes to the hash.
    mutating func update<D: DataProtocol>(data: D)
    /// Adds bytes from a raw buffer.
    mutating func update(bufferPointer: UnsafeRawBufferPointer)
    /// Finishes and returns the digest.
    func finalize() -> Digest
}

/// A hash value: a sequence of bytes of fixed length, compared in constant time.
public protocol Digest: Sendable, Hashable, ContiguousBytes, Sequence, CustomStringConvertible where Element == UInt8 {
    /// The digest's bytes.
    var bytes: [UInt8] { get }
    /// Wraps bytes of the right length.
    init(uncheckedBytes: [UInt8])
}

extension Digest {
    /// Calls `body` with the digest's bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try bytes.withUnsafeBytes(body) }
    /// Iterates the bytes.
    public func makeIterator() -> Array<UInt8>.Iterator { bytes.makeIterator() }
    /// The digest as lowercase hex.
    public var description: String { "\(Self.self): " + bytes.map { String(format: "%02x", $0) }.joined() }
    /// Constant-time comparison.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.bytes.withUnsafeBytes { a in rhs.bytes.withUnsafeBytes { b in constantTimeEquals(a, b) } }
    }
    /// Hashes the bytes.
    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }
}

/// Which SHA-2 digest an API uses; an open set, as the fetched algorithms of the module.
public struct DigestAlgorithm: Sendable, Hashable, CustomStringConvertible {
    /// The OpenSSL name, e.g. `"SHA2-256"`.
    public let openSSLName: String
    /// Output length in bytes.
    public let byteCount: Int
    /// SHA-256.
    public static let sha256 = DigestAlgorithm(openSSLName: "SHA2-256", byteCount: 32)
    /// SHA-384.
    public static let sha384 = DigestAlgorithm(openSSLName: "SHA2-384", byteCount: 48)
    /// SHA-512.
    public static let sha512 = DigestAlgorithm(openSSLName: "SHA2-512", byteCount: 64)
    /// The OpenSSL name.
    public var description: String { openSSLName }
}

/// The SHA-256 digest.
public struct SHA256Digest: Digest {
    /// The 32 digest bytes.
    public let bytes: [UInt8]
    /// Wraps 32 bytes.
    public init(uncheckedBytes: [UInt8]) { bytes = uncheckedBytes }
}
/// The SHA-384 digest.
public struct SHA384Digest: Digest {
    /// The 48 digest bytes.
    public let bytes: [UInt8]
    /// Wraps 48 bytes.
    public init(uncheckedBytes: [UInt8]) { bytes = uncheckedBytes }
}
/// The SHA-512 digest.
public struct SHA512Digest: Digest {
    /// The 64 digest bytes.
    public let bytes: [UInt8]
    /// Wraps 64 bytes.
    public init(uncheckedBytes: [UInt8]) { bytes = uncheckedBytes }
}

/// SHA-256 (FIPS 180-4).
public struct SHA256: HashFunction {
    /// 32.
    public static let byteCount = 32
    /// 64.
    public static let blockByteCount = 64
    /// `SHA2-256`.
    public static let algorithm = DigestAlgorithm.sha256
    var state: CopyOnWriteContext
    /// A new hasher. Traps if the module is not operational (CryptoKit's shape cannot throw); use
    /// ``DigestContext`` or ``checkedHash(data:)`` to receive the error instead.
    public init() { state = .hasher(Self.algorithm) }
    /// Adds bytes.
    public mutating func update<D: DataProtocol>(data: D) { withContiguous(data) { update(bufferPointer: $0) } }
    /// Adds bytes from a raw buffer.
    public mutating func update(bufferPointer: UnsafeRawBufferPointer) { state.update(bufferPointer) }
    /// The digest.
    public func finalize() -> SHA256Digest { SHA256Digest(uncheckedBytes: state.finalizeHasher()) }
}
/// SHA-384 (FIPS 180-4).
public struct SHA384: HashFunction {
    /// 48.
    public static let byteCount = 48
    /// 128.
    public static let blockByteCount = 128
    /// `SHA2-384`.
    public static let algorithm = DigestAlgorithm.sha384
    var state: CopyOnWriteContext
    /// A new hasher.
    public init() { state = .hasher(Self.algorithm) }
    /// Adds bytes.
    public mutating func update<D: DataProtocol>(data: D) { withContiguous(data) { update(bufferPointer: $0) } }
    /// Adds bytes from a raw buffer.
    public mutating func update(bufferPointer: UnsafeRawBufferPointer) { state.update(bufferPointer) }
    /// The digest.
    public func finalize() -> SHA384Digest { SHA384Digest(uncheckedBytes: state.finalizeHasher()) }
}
/// SHA-512 (FIPS 180-4).
public struct SHA512: HashFunction {
    /// 64.
    public static let byteCount = 64
    /// 128.
    public static let blockByteCount = 128
    /// `SHA2-512`.
    public static let algorithm = DigestAlgorithm.sha512
    var state: CopyOnWriteContext
    /// A new hasher.
    public init() { state = .hasher(Self.algorithm) }
    /// Adds bytes.
    public mutating func update<D: DataProtocol>(data: D) { withContiguous(data) { update(bufferPointer: $0) } }
    /// Adds bytes from a raw buffer.
    public mutating func update(bufferPointer: UnsafeRawBufferPointer) { state.update(bufferPointer) }
    /// The digest.
    public func finalize() -> SHA512Digest { SHA512Digest(uncheckedBytes: state.finalizeHasher()) }
}

extension HashFunction {
    /// Hashes `data` in one call.
    ///
    /// - Precondition: The module is operational (CryptoKit's shape cannot throw); use ``checkedHash(data:)``
    ///   to receive the error instead.
    public static func hash<D: DataProtocol>(data: D) -> Digest {
        do { return try checkedHash(data: data) } catch { preconditionFailure("\(Self.self).hash needs an operational module: \(error)") }
    }

    /// Hashes `data` in one call, throwing if the module is not operational.
    /// - Parameter data: The bytes to hash.
    /// - Returns: The digest.
    /// - Throws: ``FIPSError``.
    public static func checkedHash<D: DataProtocol>(data: D) throws -> Digest {
        let core = try ModuleRuntime.operational()
        return Digest(uncheckedBytes: try withContiguous(data) { try DigestEngine.oneShot(core: core, algorithm, $0) })
    }
}

/// A hasher for many messages in a row: ``finalize()`` returns the digest and starts the next message on the same
/// OpenSSL context, so a hot loop (a hash chain, a log) allocates no context per message.
///
/// ```swift
/// var hasher = try DigestContext<SHA384>()
/// for line in lines {
///     hasher.update(data: previous)
///     hasher.update(data: line)
///     previous = try hasher.finalize().bytes
/// }
/// ```
///
/// It is not copyable (it owns its context) and not shared: one owner, one message at a time. For a single message
/// use ``HashFunction/hash(data:)`` or the value-type hashers (``SHA256`` ...), which can be copied mid-message.
public struct DigestContext<H: HashFunction>: ~Copyable, @unchecked Sendable {
    // Sendable: the context is reachable only through this non-copyable value's `mutating` methods, so it can
    // move to another thread but never be used by two at once.
    var state: RestartableContext

    /// A context at the start of a message.
    /// - Throws: ``FIPSError`` if the module is not operational.
    public init() throws {
        state = try RestartableContext.digest(core: ModuleRuntime.operational(), H.algorithm)
    }

    /// Adds bytes to the current message.
    /// - Parameter data: The bytes.
    public mutating func update<D: DataProtocol>(data: D) { withContiguous(data) { state.update($0) } }

    /// Adds bytes from a raw buffer to the current message.
    /// - Parameter bufferPointer: The bytes.
    public mutating func update(bufferPointer: UnsafeRawBufferPointer) { state.update(bufferPointer) }

    /// The current message's digest; the context then starts the next message (also when this throws: a failed
    /// message is discarded, never mixed into the next).
    /// - Returns: The digest.
    /// - Throws: ``FIPSError/Code/moduleInErrorState`` if the module failed since; an OpenSSL failure.
    public mutating func finalize() throws -> H.Digest {
        do { _ = try ModuleRuntime.operational() } catch { state.discardMessage(); throw error }
        return H.Digest(uncheckedBytes: try state.finalizeAndRestart())
    }
}

extension CopyOnWriteContext {
    /// The value-type hashers' context: CryptoKit's `init()` cannot throw, so a module that cannot serve traps.
    static func hasher(_ algorithm: DigestAlgorithm) -> CopyOnWriteContext {
        do { return try .digest(core: ModuleRuntime.operational(), algorithm) } catch {
            preconditionFailure("\(algorithm) hasher needs an operational module: \(error)")
        }
    }

    /// The value-type hashers' `finalize()`, which CryptoKit's shape does not let throw.
    func finalizeHasher() -> [UInt8] {
        do { return try finalize() } catch { preconditionFailure("\(error)") }
    }
}
