import Foundation
import Synchronization

/// The size of a symmetric key.
public struct SymmetricKeySize: Sendable, Hashable {
    /// The size in bits.
    public let bitCount: Int
    /// Creates a size from a bit count (a multiple of 8).
    public init(bitCount: Int) {
        precondition(bitCount > 0 && bitCount % 8 == 0, "a key size is a positive multiple of 8 bits")
        self.bitCount = bitCount
    }
    /// 128 bits.
    public static let bits128 = SymmetricKeySize(bitCount: 128)
    /// 192 bits.
    public static let bits192 = SymmetricKeySize(bitCount: 192)
    /// 256 bits — the only size AES-GCM accepts here.
    public static let bits256 = SymmetricKeySize(bitCount: 256)
}

/// A symmetric key, as in CryptoKit: its bytes live in a buffer that is wiped when the last copy goes away.
///
/// `description` is redacted; equality is constant-time. Keys from ``init(size:)`` come from the module's DRBG.
public struct SymmetricKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    let storage: KeyStorage

    /// A new random key from the module's DRBG.
    ///
    /// - Parameter size: The key size.
    /// - Precondition: The module can serve (``FIPSModule`` operational). A module in its error state makes this
    ///   initializer trap, because CryptoKit's shape has no `throws` here; use ``generate(size:)`` to get the error.
    public init(size: SymmetricKeySize) {
        do { self = try SymmetricKey.generate(size: size) } catch {
            preconditionFailure("SymmetricKey(size:) needs an operational module: \(error)")
        }
    }

    /// A new random key from the module's DRBG, throwing instead of trapping.
    /// - Parameter size: The key size.
    /// - Returns: The key.
    /// - Throws: ``FIPSError`` if the module is not operational or the DRBG fails.
    public static func generate(size: SymmetricKeySize) throws -> SymmetricKey {
        let core = try ModuleRuntime.operational()
        // SymmetricKeySize(bitCount:) accepts any positive multiple of 8: bound the allocation (as SecureRandom does)
        // so an absurd size is an error, not a trap in the allocator.
        guard size.bitCount <= 8 << 20 else {
            throw FIPSError(.invalidKeySize, "a symmetric key of \(size.bitCount) bits is larger than the 1 MiB this library generates")
        }
        let bytes = try SecureBytes(count: size.bitCount / 8) { try DRBG.fill($0, core: core) }
        return SymmetricKey(storage: KeyStorage(bytes))
    }

    /// A key from existing bytes (copied into a zeroizing buffer).
    /// - Parameter data: The key bytes.
    public init<D: ContiguousBytes>(data: D) {
        storage = KeyStorage(SecureBytes(copying: data))
    }

    init(storage: KeyStorage) { self.storage = storage }

    /// A key from stored bytes that already performed `priorInvocations` AES-GCM seals (the keystore's persisted
    /// high-water mark), so SP 800-38D's per-key limit survives a restart.
    init<D: ContiguousBytes>(data: D, priorInvocations: UInt64) {
        storage = KeyStorage(SecureBytes(copying: data), priorInvocations: priorInvocations)
    }

    /// AES-GCM seals performed with this key (including any carried over from storage).
    var gcmInvocationCount: UInt64 { storage.gcmInvocations.load(ordering: .relaxed) }

    /// The key's size in bits.
    public var bitCount: Int { storage.secret.count * 8 }

    /// Calls `body` with the key's bytes. Do not let them escape.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(storage.secret.bytes)
    }

    /// Constant-time comparison of the key bytes.
    public static func == (lhs: SymmetricKey, rhs: SymmetricKey) -> Bool {
        lhs.storage === rhs.storage || lhs.storage.secret.constantTimeEquals(rhs.storage.secret.bytes)
    }

    /// Redacted: `SymmetricKey(256 bits, redacted)`.
    public var description: String { "SymmetricKey(\(bitCount) bits, redacted)" }
    /// Redacted, as ``description``.
    public var debugDescription: String { description }
}

/// The reference-counted home of a key's bytes and of the AES-GCM contexts keyed with them.
final class KeyStorage: Sendable {
    let secret: SecureBytes
    /// AES-GCM seals performed with this key in this process (plus any count carried over from storage).
    let gcmInvocations: Atomic<UInt64>
    /// Cipher contexts keyed with this key, reused across calls (created lazily, freed with the key).
    let gcmContexts = GCMContextCache()

    init(_ secret: SecureBytes, priorInvocations: UInt64 = 0) {
        self.secret = secret
        self.gcmInvocations = Atomic(priorInvocations)
    }
}
