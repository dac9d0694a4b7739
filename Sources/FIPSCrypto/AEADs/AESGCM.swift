import Foundation

/// The AES namespace, as in CryptoKit.
public enum AES {
    /// AES-256 in Galois/Counter Mode (SP 800-38D), with the IV generated inside the provider (FIPS 140-3 IG C.H).
    ///
    /// `seal` takes no nonce: the 96-bit IV is produced by the provider for every message (a per-context fixed field
    /// drawn from the DRBG and a 64-bit invocation counter; see SECURITY.md), so a caller cannot repeat one.
    /// Keys must be 256 bits; tags are 128 bits. Each key may seal at most 2^32 messages (SP 800-38D §8.3);
    /// the next seal throws ``FIPSError/Code/usageLimitExceeded``.
    public enum GCM {
        /// The nonce (IV) of a sealed box: always 12 bytes.
        public struct Nonce: Sendable, Hashable, ContiguousBytes, Sequence {
            let bytes: [UInt8]

            /// A nonce from existing bytes, e.g. when rebuilding a sealed box; must be 12 bytes.
            /// - Throws: ``FIPSError/Code/invalidParameter`` for any other length.
            public init<D: DataProtocol>(data: D) throws {
                guard data.count == ApprovedPolicy.gcmNonceByteCount else {
                    throw FIPSError(.invalidParameter, "an AES-GCM nonce is 12 bytes, got \(data.count)")
                }
                bytes = Array(data)
            }

            init(uncheckedBytes: [UInt8]) { bytes = uncheckedBytes }

            /// Calls `body` with the nonce bytes.
            public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
                try bytes.withUnsafeBytes(body)
            }
            /// Iterates the nonce bytes.
            public func makeIterator() -> Array<UInt8>.Iterator { bytes.makeIterator() }
        }

        /// A sealed message: nonce ‖ ciphertext ‖ 16-byte tag (CryptoKit's `combined` layout).
        public struct SealedBox: Sendable, Hashable {
            /// nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes).
            public let combined: Data

            /// A box from its combined representation.
            /// - Throws: ``FIPSError/Code/invalidParameter`` if shorter than nonce + tag (28 bytes).
            public init<D: DataProtocol>(combined: D) throws {
                guard combined.count >= ApprovedPolicy.gcmNonceByteCount + ApprovedPolicy.gcmTagByteCount else {
                    throw FIPSError(.invalidParameter,
                                    "an AES-GCM sealed box is at least 28 bytes (nonce + tag), got \(combined.count)")
                }
                self.combined = Data(combined)
            }

            /// A box from its parts.
            /// - Throws: ``FIPSError/Code/invalidParameter`` if the tag is not 16 bytes.
            public init<C: DataProtocol, T: DataProtocol>(nonce: Nonce, ciphertext: C, tag: T) throws {
                guard tag.count == ApprovedPolicy.gcmTagByteCount else {
                    throw FIPSError(.invalidParameter, "an AES-GCM tag is 16 bytes, got \(tag.count)")
                }
                var d = Data(capacity: 12 + ciphertext.count + 16)
                d.append(contentsOf: nonce.bytes); d.append(contentsOf: ciphertext); d.append(contentsOf: tag)
                combined = d
            }

            init(uncheckedCombined: Data) { combined = uncheckedCombined }

            /// The 12-byte nonce.
            public var nonce: Nonce { Nonce(uncheckedBytes: Array(combined.prefix(12))) }
            /// The ciphertext (same length as the plaintext).
            public var ciphertext: Data { combined.dropFirst(12).dropLast(16) }
            /// The 16-byte authentication tag.
            public var tag: Data { combined.suffix(16) }
        }

        /// The bytes `seal` adds to a message: nonce (12) + tag (16).
        public static let overhead = 28

        /// Encrypts and authenticates a message.
        /// - Parameters:
        ///   - message: The plaintext.
        ///   - key: A 256-bit key.
        ///   - authenticatedData: Data authenticated but not encrypted (AAD).
        /// - Returns: The sealed box.
        /// - Throws: ``FIPSError`` — ``FIPSError/Code/invalidKeySize`` for a key that is not 256 bits,
        ///   ``FIPSError/Code/usageLimitExceeded`` after 2^32 seals with one key, or a module/OpenSSL failure.
        public static func seal<M: DataProtocol, A: DataProtocol>(_ message: M, using key: SymmetricKey,
                                                                 authenticating authenticatedData: A) throws -> SealedBox {
            try requireOperational()
            return try withContiguous(message) { m in
                try withContiguous(authenticatedData) { a in
                    try GCMEngine.seal(core: try ModuleRuntime.operational(), key: key.storage, message: m, aad: a)
                }
            }
        }

        /// Encrypts and authenticates a message with no associated data.
        /// - Parameters:
        ///   - message: The plaintext.
        ///   - key: A 256-bit key.
        /// - Returns: The sealed box.
        /// - Throws: As ``seal(_:using:authenticating:)``.
        public static func seal<M: DataProtocol>(_ message: M, using key: SymmetricKey) throws -> SealedBox {
            try seal(message, using: key, authenticating: EmptyCollection<UInt8>())
        }

        /// Encrypts into caller memory and allocates nothing: writes nonce ‖ ciphertext ‖ tag to `output`.
        /// - Parameters:
        ///   - message: The plaintext.
        ///   - key: A 256-bit key.
        ///   - authenticatedData: The AAD.
        ///   - output: At least `message.count + 28` bytes, not overlapping `message` (in-place sealing is refused).
        /// - Returns: The number of bytes written (`message.count + 28`).
        /// - Throws: ``FIPSError/Code/invalidParameter`` if `output` is too small; otherwise as ``seal(_:using:authenticating:)``.
        public static func seal(_ message: UnsafeRawBufferPointer, using key: SymmetricKey,
                                authenticating authenticatedData: UnsafeRawBufferPointer,
                                into output: UnsafeMutableRawBufferPointer) throws -> Int {
            try requireOperational()
            return try GCMEngine.seal(core: try ModuleRuntime.operational(), key: key.storage, message: message, aad: authenticatedData, into: output)
        }

        /// Decrypts and verifies a sealed box.
        /// - Parameters:
        ///   - sealedBox: The box.
        ///   - key: The 256-bit key it was sealed with.
        ///   - authenticatedData: The same AAD that was sealed.
        /// - Returns: The plaintext. It is yours: it is not wiped when freed — to control that, open into your own
        ///   memory with ``open(_:using:authenticating:into:)``.
        /// - Throws: ``FIPSError/Code/authenticationFailure`` if anything does not match (no partial plaintext
        ///   is ever returned), ``FIPSError/Code/invalidKeySize``, or a module failure.
        public static func open<A: DataProtocol>(_ sealedBox: SealedBox, using key: SymmetricKey,
                                                 authenticating authenticatedData: A) throws -> Data {
            try requireOperational()
            return try withContiguous(authenticatedData) { a in
                try sealedBox.combined.withUnsafeBytes { c in
                    try GCMEngine.open(core: try ModuleRuntime.operational(), key: key.storage, combined: c, aad: a)
                }
            }
        }

        /// Decrypts and verifies a sealed box with no associated data.
        /// - Parameters:
        ///   - sealedBox: The box.
        ///   - key: The 256-bit key it was sealed with.
        /// - Returns: The plaintext.
        /// - Throws: As ``open(_:using:authenticating:)``.
        public static func open(_ sealedBox: SealedBox, using key: SymmetricKey) throws -> Data {
            try open(sealedBox, using: key, authenticating: EmptyCollection<UInt8>())
        }

        /// Decrypts a combined box from caller memory into caller memory and allocates nothing.
        /// - Parameters:
        ///   - combined: nonce ‖ ciphertext ‖ tag.
        ///   - key: The 256-bit key.
        ///   - authenticatedData: The AAD.
        ///   - output: At least `combined.count - 28` bytes; wiped if authentication fails.
        /// - Returns: The plaintext length.
        /// - Throws: As ``open(_:using:authenticating:)``, or ``FIPSError/Code/invalidParameter`` for short buffers.
        public static func open(_ combined: UnsafeRawBufferPointer, using key: SymmetricKey,
                                authenticating authenticatedData: UnsafeRawBufferPointer,
                                into output: UnsafeMutableRawBufferPointer) throws -> Int {
            try requireOperational()
            return try GCMEngine.open(core: try ModuleRuntime.operational(), key: key.storage, combined: combined, aad: authenticatedData, into: output)
        }
    }
}

extension AES.GCM {
    /// Throws unless the module can serve, loading it on first use — one atomic load once it is operational,
    /// without taking a reference to the module core (the engine fetches the core only to key a new context).
    @inline(__always)
    static func requireOperational() throws {
        if !ModuleRuntime.isOperational { _ = try ModuleRuntime.operational() }
    }
}

/// Runs `body` over a contiguous view of `bytes`, flattening a non-contiguous collection once.
///
/// `Data`, `[UInt8]` and `EmptyCollection` (the no-AAD overloads) take a concrete path first: the public generic
/// entry points are not specialized for the caller's types, and there `withContiguousStorageIfAvailable`
/// is a witness-table call that instantiates generic metadata at run time (~0.5 µs per call, measured).
@inline(__always)
func withContiguous<D: DataProtocol, R>(_ bytes: D, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    if D.self == Data.self { return try unsafeBitCast(bytes, to: Data.self).withUnsafeBytes(body) }
    if D.self == [UInt8].self { return try unsafeBitCast(bytes, to: [UInt8].self).withUnsafeBytes(body) }
    if D.self == EmptyCollection<UInt8>.self { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
    return try withContiguousGeneric(bytes, body)
}

/// The generic path of ``withContiguous(_:_:)``, kept out of line so its metadata lookups are not hoisted into
/// the concrete fast paths.
@inline(never)
func withContiguousGeneric<D: DataProtocol, R>(_ bytes: D, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    if let r = try bytes.withContiguousStorageIfAvailable({ try body(UnsafeRawBufferPointer($0)) }) { return r }
    if bytes.regions.count == 1, let region = bytes.regions.first {
        return try region.withUnsafeBytes { try body($0) }
    }
    // Several regions: flatten once, and wipe the copy afterwards (it may hold plaintext or key material).
    var flat = Array(bytes)
    defer { secureZero(&flat) }
    return try flat.withUnsafeBytes { try body($0) }
}
