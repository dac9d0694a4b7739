import Foundation
import Synchronization

/// What the keyring tells about one key version: never its bytes.
public struct KeyVersionInfo: Sendable, Hashable, Codable {
    /// The life-cycle state of a key version.
    public enum State: String, Sendable, Hashable, Codable {
        /// Usable for decryption (and for encryption when primary).
        case active
        /// Refused for every operation until ``Keyring/reinstate(version:)``; the key bytes are kept.
        case retired
        /// The key bytes are gone; irreversible.
        case destroyed
    }

    /// The version number (1, 2, ...).
    public let version: Int
    /// When the version was created.
    public let createdAt: Date
    /// Its state.
    public let state: State
    /// Whether new envelopes are sealed under it.
    public let isPrimary: Bool
    /// AES-GCM seals performed under this version (persisted high-water mark; SP 800-38D limits it to 2^32).
    public let sealCount: UInt64
}

/// The bytes of one key version and its seal counter.
final class KeyVersionMaterial: Sendable {
    let version: Int
    let key: SymmetricKey
    /// Seals under this version across all contexts (persisted by the keystore).
    let seals: Atomic<UInt64>

    init(version: Int, key: SymmetricKey, seals: UInt64) {
        self.version = version; self.key = key; self.seals = Atomic(seals)
    }
}

/// The encryption subkey and commitment for one (version, context), derived once and cached.
final class EnvelopeKey: Sendable {
    let material: KeyVersionMaterial
    let subkey: SymmetricKey
    let commitment: [UInt8]
    let contextTag: [UInt8]

    init(material: KeyVersionMaterial, context: String) throws {
        let info = EnvelopeFormat.info(EnvelopeFormat.envelopeInfoLabel, version: material.version, context)
        let okm = try HKDF<SHA256>.deriveKey(inputKeyMaterial: material.key, info: info, outputByteCount: 64)
        let (sub, commit) = okm.withUnsafeBytes { b in
            (SymmetricKey(data: UnsafeRawBufferPointer(rebasing: b[0..<32]), priorInvocations: material.seals.load(ordering: .relaxed)),
             Array(b[32..<64]))
        }
        self.material = material
        self.subkey = sub
        self.commitment = commit
        self.contextTag = Array(try SHA256.checkedHash(data: Array(context.utf8)).prefix(EnvelopeFormat.contextTagCount))
    }
}

/// The mutable state behind a keyring's mutex.
struct KeyringState {
    struct Entry {
        var version: Int
        var createdAt: Date
        var state: KeyVersionInfo.State
        var material: KeyVersionMaterial?
        /// The seal count frozen at destruction (the material is gone).
        var destroyedSealCount: UInt64 = 0

        var sealCount: UInt64 { material?.seals.load(ordering: .relaxed) ?? destroyedSealCount }
    }
    struct CacheKey: Hashable { let version: Int; let context: String }

    // Any change to what decides which key may seal or open drops the last-used shortcuts below.
    var entries: [Int: Entry] { didSet { dropShortcuts() } }
    var primary: Int { didSet { dropShortcuts() } }
    var minimumDecryption: Int = 1 { didSet { dropShortcuts() } }
    var minimumEncryption: Int = 1 { didSet { dropShortcuts() } }
    var cache: [CacheKey: EnvelopeKey] = [:]
    /// The subkey the last seal under the primary used, and for which context: checked once, reused while nothing
    /// changes (spares the hot path the dictionary lookups and the context's hashing).
    var lastSeal: (context: String, key: EnvelopeKey)? = nil
    /// The same for the last open.
    var lastOpen: (version: Int, context: String, key: EnvelopeKey)? = nil

    init(entries: [Int: Entry], primary: Int, minimumDecryption: Int = 1, minimumEncryption: Int = 1) {
        self.entries = entries
        self.primary = primary
        self.minimumDecryption = minimumDecryption
        self.minimumEncryption = minimumEncryption
    }

    mutating func dropShortcuts() {
        lastSeal = nil
        lastOpen = nil
    }

    var latest: Int { entries.keys.max() ?? 0 }

    func entry(_ version: Int) throws -> Entry {
        guard let e = entries[version] else {
            throw FIPSError(.unknownKeyVersion, "key version \(version) is not in this keyring (versions 1 ... \(latest))")
        }
        return e
    }
}

/// A versioned set of AES-256 keys with a self-describing, key-committing envelope (Vault transit semantics).
///
/// New envelopes are sealed under the *primary* version; any active version at or above
/// ``minimumDecryptionVersion`` opens. ``rotate()`` adds a version and makes it primary; ``addVersion()`` stages one
/// that ``promote(version:)`` later makes primary. ``retire(version:)`` is reversible, ``destroy(version:)`` is not.
///
/// Per key version and context label, HKDF-SHA-256 over the version key derives, once, an AES-256 encryption subkey
/// and a 32-byte key commitment (cached for the life of the keyring). Every envelope carries the commitment, which
/// is compared in constant time before AES-GCM runs, so an envelope decrypts under exactly one key. The envelope's
/// header is bound into the AES-GCM additional data together with the caller's. Layout: docs/FORMAT.md.
///
/// Thread-safe: the state lives behind one mutex, so readers never see a torn state. Life-cycle changes raise
/// ``SecurityEvent``s (``SecurityEvent/Category/keyManagement``); failed decryptions raise
/// ``SecurityEvent/Category/cryptoFailure`` events with a reason, never data.
public final class Keyring: Sendable {
    let state: Mutex<KeyringState>

    /// Seals per version at which a `key-usage-warning` event is raised (3/4 of SP 800-38D's 2^32).
    static let sealWarningThreshold: UInt64 = ApprovedPolicy.gcmInvocationLimit / 4 * 3
    /// At most this many (version, context) subkeys stay cached.
    static let cacheLimit = 4096

    init(state: KeyringState) { self.state = Mutex(state) }

    /// A new keyring with one random key, version 1, primary.
    /// - Returns: The keyring.
    /// - Throws: ``FIPSError`` if the module is not operational or the DRBG fails.
    public static func generate() throws -> Keyring {
        let key = try SymmetricKey.generate(size: .bits256)
        let entry = KeyringState.Entry(version: 1, createdAt: Date(), state: .active,
                                       material: KeyVersionMaterial(version: 1, key: key, seals: 0))
        let ring = Keyring(state: KeyringState(entries: [1: entry], primary: 1))
        emit("key-generated", version: 1)
        return ring
    }

    // MARK: - Inspection

    /// The version new envelopes are sealed under.
    public var primaryVersion: Int { state.withLock { $0.primary } }

    /// Every version, oldest first, with its state and seal count (never key bytes).
    public var versions: [KeyVersionInfo] {
        state.withLock { s in
            s.entries.values.sorted { $0.version < $1.version }.map {
                KeyVersionInfo(version: $0.version, createdAt: $0.createdAt, state: $0.state, isPrimary: $0.version == s.primary,
                               sealCount: $0.sealCount)
            }
        }
    }

    /// Envelopes under a lower version are refused with ``FIPSError/Code/keyVersionTooOld``.
    public var minimumDecryptionVersion: Int { state.withLock { $0.minimumDecryption } }

    /// No version below this may be primary or a ``rewrap(_:context:authenticating:toVersion:)`` target.
    public var minimumEncryptionVersion: Int { state.withLock { $0.minimumEncryption } }

    /// Sets the minimum decryption version (Vault's `min_decryption_version`).
    /// - Parameter v: 1 ... the primary version.
    /// - Throws: ``FIPSError/Code/invalidKeyringState`` if `v` is below 1 or above the primary version.
    public func setMinimumDecryptionVersion(_ v: Int) throws {
        try state.withLock { s in
            guard v >= 1, v <= s.primary else {
                throw FIPSError(.invalidKeyringState, "the minimum decryption version must be 1 ... \(s.primary) (the primary version), got \(v)")
            }
            s.minimumDecryption = v
        }
        Keyring.emit("key-minimum-decryption-set", version: v)
    }

    /// Sets the minimum encryption version (Vault's `min_encryption_version`).
    /// - Parameter v: 1 ... the primary version.
    /// - Throws: ``FIPSError/Code/invalidKeyringState`` if `v` is below 1 or above the primary version.
    public func setMinimumEncryptionVersion(_ v: Int) throws {
        try state.withLock { s in
            guard v >= 1, v <= s.primary else {
                throw FIPSError(.invalidKeyringState, "the minimum encryption version must be 1 ... \(s.primary) (the primary version), got \(v)")
            }
            s.minimumEncryption = v
        }
        Keyring.emit("key-minimum-encryption-set", version: v)
    }

    // MARK: - Life cycle

    /// Adds a new random version and makes it primary.
    /// - Returns: The new version.
    /// - Throws: ``FIPSError`` if the DRBG fails or the version space (2^32 − 1) is exhausted.
    @discardableResult
    public func rotate() throws -> Int {
        let key = try SymmetricKey.generate(size: .bits256)
        let (v, previous) = try state.withLock { s -> (Int, Int) in
            let v = try Keyring.add(key, to: &s)
            let previous = s.primary
            s.primary = v
            return (v, previous)
        }
        Keyring.emit("key-generated", version: v)
        Keyring.emit("key-rotated", version: v, extra: ["key.previousVersion": String(previous)])
        return v
    }

    /// Adds a new random version without making it primary (staged rotation: distribute first, then promote).
    /// - Returns: The new version.
    /// - Throws: As ``rotate()``.
    @discardableResult
    public func addVersion() throws -> Int {
        let key = try SymmetricKey.generate(size: .bits256)
        let v = try state.withLock { s in try Keyring.add(key, to: &s) }
        Keyring.emit("key-generated", version: v, extra: ["key.staged": "true"])
        return v
    }

    private static func add(_ key: SymmetricKey, to s: inout KeyringState) throws -> Int {
        let v = s.latest + 1
        guard v <= Int(UInt32.max) else { throw FIPSError(.invalidKeyringState, "the keyring has used every key version number") }
        s.entries[v] = KeyringState.Entry(version: v, createdAt: Date(), state: .active,
                                          material: KeyVersionMaterial(version: v, key: key, seals: 0))
        return v
    }

    /// Makes an active version primary: new envelopes are sealed under it.
    /// - Parameter version: An active version at or above both minimum versions.
    /// - Throws: ``FIPSError/Code/unknownKeyVersion``, ``FIPSError/Code/keyVersionUnavailable`` (retired or
    ///   destroyed), ``FIPSError/Code/keyVersionTooOld`` (below a minimum version).
    public func promote(version: Int) throws {
        let previous = try state.withLock { s -> Int in
            let e = try s.entry(version)
            guard e.state == .active else {
                throw FIPSError(.keyVersionUnavailable, "key version \(version) is \(e.state.rawValue) and cannot be primary")
            }
            guard version >= s.minimumEncryption, version >= s.minimumDecryption else {
                throw FIPSError(.keyVersionTooOld, "key version \(version) is below the minimum encryption version \(s.minimumEncryption) or decryption version \(s.minimumDecryption)")
            }
            let p = s.primary
            s.primary = version
            return p
        }
        Keyring.emit("key-promoted", version: version, extra: ["key.previousVersion": String(previous)])
    }

    /// Retires a version: refused for every operation until reinstated. The key bytes are kept.
    /// - Parameter version: A version that is not primary.
    /// - Throws: ``FIPSError/Code/unknownKeyVersion``; ``FIPSError/Code/invalidKeyringState`` for the primary version
    ///   or a destroyed one.
    public func retire(version: Int) throws {
        let changed = try state.withLock { s -> Bool in
            let e = try s.entry(version)
            guard version != s.primary else {
                throw FIPSError(.invalidKeyringState, "key version \(version) is primary; promote or rotate to another version before retiring it")
            }
            switch e.state {
            case .destroyed: throw FIPSError(.invalidKeyringState, "key version \(version) is destroyed")
            case .retired: return false
            case .active: s.entries[version]!.state = .retired; return true
            }
        }
        if changed { Keyring.emit("key-retired", version: version) }
    }

    /// Retires every active version below `below`.
    /// - Parameter below: A version at most the primary version.
    /// - Throws: ``FIPSError/Code/invalidKeyringState`` if `below` is above the primary version (that would retire it).
    public func retire(below: Int) throws {
        let retired = try state.withLock { s -> [Int] in
            guard below <= s.primary else {
                throw FIPSError(.invalidKeyringState, "retiring below \(below) would retire the primary version \(s.primary)")
            }
            var out: [Int] = []
            for (v, e) in s.entries where v < below && e.state == .active {
                s.entries[v]!.state = .retired; out.append(v)
            }
            return out.sorted()
        }
        for v in retired { Keyring.emit("key-retired", version: v) }
    }

    /// Returns a retired version to active.
    /// - Parameter version: A retired version.
    /// - Throws: ``FIPSError/Code/unknownKeyVersion``; ``FIPSError/Code/invalidKeyringState`` if it is destroyed.
    public func reinstate(version: Int) throws {
        let changed = try state.withLock { s -> Bool in
            let e = try s.entry(version)
            switch e.state {
            case .destroyed: throw FIPSError(.invalidKeyringState, "key version \(version) is destroyed; destruction is irreversible")
            case .active: return false
            case .retired: s.entries[version]!.state = .active; return true
            }
        }
        if changed { Keyring.emit("key-reinstated", version: version) }
    }

    /// Destroys a version: its key bytes are dropped (wiped when the last in-flight operation finishes), and its
    /// envelopes can never be opened again. Irreversible.
    /// - Parameter version: A version that is not primary.
    /// - Throws: ``FIPSError/Code/unknownKeyVersion``; ``FIPSError/Code/invalidKeyringState`` for the primary version.
    public func destroy(version: Int) throws {
        let changed = try state.withLock { s -> Bool in
            let e = try s.entry(version)
            guard version != s.primary else {
                throw FIPSError(.invalidKeyringState, "key version \(version) is primary; rotate before destroying it")
            }
            if e.state == .destroyed { return false }
            s.entries[version]!.destroyedSealCount = e.sealCount
            s.entries[version]!.state = .destroyed
            s.entries[version]!.material = nil
            s.cache = s.cache.filter { $0.key.version != version }
            return true
        }
        if changed { Keyring.emit("key-destroyed", version: version) }
    }

    // MARK: - Envelopes

    /// The cached subkey for sealing: the primary version (or `version`), checked usable for encryption.
    func encryptionKey(context: String, version: Int?) throws -> EnvelopeKey {
        let (found, material) = try state.withLock { s -> (EnvelopeKey?, KeyVersionMaterial?) in
            if version == nil, let last = s.lastSeal, last.context == context { return (last.key, nil) }
            let v = version ?? s.primary
            let e = try s.entry(v)
            guard e.state == .active, let m = e.material else {
                throw FIPSError(.keyVersionUnavailable, "key version \(v) is \(e.state.rawValue) and cannot seal")
            }
            guard v >= s.minimumEncryption, v >= s.minimumDecryption else {
                throw FIPSError(.keyVersionTooOld, "key version \(v) is below the minimum encryption version \(s.minimumEncryption) or decryption version \(s.minimumDecryption)")
            }
            if let k = s.cache[KeyringState.CacheKey(version: v, context: context)] {
                if version == nil { s.lastSeal = (context, k) }
                return (k, nil)
            }
            return (nil, m)
        }
        if let found { return found }
        return try cacheKey(material!, context: context)
    }

    /// The cached subkey for opening `version`, checked usable for decryption.
    func decryptionKey(version v: Int, context: String) throws -> EnvelopeKey {
        let (found, material) = try state.withLock { s -> (EnvelopeKey?, KeyVersionMaterial?) in
            if let last = s.lastOpen, last.version == v, last.context == context { return (last.key, nil) }
            let e = try s.entry(v)
            if e.state == .destroyed {
                throw FIPSError(.keyVersionUnavailable, "key version \(v) was destroyed; its envelopes can never be opened")
            }
            guard v >= s.minimumDecryption else {
                throw FIPSError(.keyVersionTooOld, "key version \(v) is below the minimum decryption version \(s.minimumDecryption)")
            }
            guard e.state == .active, let m = e.material else {
                throw FIPSError(.keyVersionUnavailable, "key version \(v) is retired; reinstate it to open its envelopes")
            }
            if let k = s.cache[KeyringState.CacheKey(version: v, context: context)] {
                s.lastOpen = (v, context, k)
                return (k, nil)
            }
            return (nil, m)
        }
        if let found { return found }
        return try cacheKey(material!, context: context)
    }

    /// Derives (outside the lock) and caches the subkey for (version, context).
    private func cacheKey(_ m: KeyVersionMaterial, context: String) throws -> EnvelopeKey {
        let k = try EnvelopeKey(material: m, context: context)
        return state.withLock { s in
            let ck = KeyringState.CacheKey(version: m.version, context: context)
            if let existing = s.cache[ck] { return existing }
            guard s.entries[m.version]?.material === m else { return k }   // destroyed meanwhile: do not cache
            if s.cache.count >= Keyring.cacheLimit { s.cache.removeAll(keepingCapacity: true) }
            s.cache[ck] = k
            return k
        }
    }

    /// Seals `plaintext` under the primary version.
    ///
    /// The context label (e.g. `"users.email"`) selects the derived subkey; the same label must be given to open.
    /// - Parameters:
    ///   - plaintext: The message.
    ///   - context: A label naming what the data is; binds the envelope to that use.
    ///   - aad: Additional data authenticated but not stored (it must be given again to decrypt).
    /// - Returns: The envelope (header ‖ nonce ‖ ciphertext ‖ tag; 73 bytes longer than the plaintext).
    /// - Throws: ``FIPSError/Code/usageLimitExceeded`` after 2^32 seals under the version (rotate),
    ///   ``FIPSError/Code/keyVersionTooOld`` if the primary is below a minimum version, or a module failure.
    public func encrypt<P: DataProtocol, A: DataProtocol>(_ plaintext: P, context: String, authenticating aad: A) throws -> Data {
        let k = try encryptionKey(context: context, version: nil)
        return try withContiguous(plaintext) { p in try withContiguous(aad) { a in try Keyring.seal(p, aad: a, with: k) } }
    }

    /// Seals `plaintext` under the primary version with no additional data.
    /// - Parameters:
    ///   - plaintext: The message.
    ///   - context: A label naming what the data is.
    /// - Returns: The envelope.
    /// - Throws: As ``encrypt(_:context:authenticating:)``.
    public func encrypt<P: DataProtocol>(_ plaintext: P, context: String) throws -> Data {
        let k = try encryptionKey(context: context, version: nil)
        return try withContiguous(plaintext) { p in try Keyring.seal(p, aad: Keyring.noAAD, with: k) }
    }

    /// An empty additional-data buffer (no generic detour through `EmptyCollection` on the hot path).
    static var noAAD: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: nil, count: 0) }

    /// Counts the seal against the version's SP 800-38D budget, warning at the threshold and refusing at the limit.
    @inline(__always)
    private static func countSeal(_ m: KeyVersionMaterial) throws {
        let n = m.seals.wrappingAdd(1, ordering: .relaxed).oldValue
        if n >= ApprovedPolicy.gcmInvocationLimit {
            m.seals.store(ApprovedPolicy.gcmInvocationLimit, ordering: .relaxed)
            SecurityEvents.emit(SecurityEvent(category: .keyManagement, action: "key-usage-limit", outcome: .failure,
                                              reason: "2^32 AES-GCM seals under this key version; rotate",
                                              metadata: ["key.version": String(m.version)]))
            throw FIPSError(.usageLimitExceeded,
                            "key version \(m.version) has sealed 2^32 messages, SP 800-38D's limit for AES-GCM; rotate the keyring")
        }
        if n == sealWarningThreshold {
            SecurityEvents.emit(SecurityEvent(category: .keyManagement, action: "key-usage-warning", outcome: .success,
                                              reason: "3/4 of the 2^32 AES-GCM seal limit used; rotate soon",
                                              metadata: ["key.version": String(m.version), "key.sealCount": String(n + 1)]))
        }
    }

    /// header ‖ AES.GCM.seal(plaintext, subkey, aad: header ‖ aad).
    static func seal(_ p: UnsafeRawBufferPointer, aad a: UnsafeRawBufferPointer, with k: EnvelopeKey) throws -> Data {
        try countSeal(k.material)
        let h = EnvelopeFormat.headerCount
        let total = p.count + EnvelopeFormat.overhead
        let raw = UnsafeMutableRawPointer.allocate(byteCount: total, alignment: 16)
        let out = UnsafeMutableRawBufferPointer(start: raw, count: total)
        do {
            EnvelopeFormat.writeHeader(out, keyVersion: k.material.version, contextTag: k.contextTag, commitment: k.commitment)
            let header = UnsafeRawBufferPointer(start: raw, count: h)
            let body = UnsafeMutableRawBufferPointer(start: raw + h, count: total - h)
            if a.isEmpty {
                _ = try AES.GCM.seal(p, using: k.subkey, authenticating: header, into: body)
            } else {
                _ = try withJoinedAAD(header, a) { try AES.GCM.seal(p, using: k.subkey, authenticating: $0, into: body) }
            }
        } catch {
            raw.deallocate(); throw error
        }
        return Data(bytesNoCopy: raw, count: total, deallocator: .custom { p, _ in p.deallocate() })
    }

    /// Opens `e` into `output` (at least `e.count - 73` bytes); returns the plaintext length. Wipes on failure.
    func open(_ e: UnsafeRawBufferPointer, context: String, aad a: UnsafeRawBufferPointer,
              into output: UnsafeMutableRawBufferPointer) throws -> (count: Int, version: Int) {
        var version: Int? = nil
        do {
            let header = try EnvelopeFormat.parseHeader(e)
            version = header.keyVersion
            let k = try decryptionKey(version: header.keyVersion, context: context)
            let tagOffset = EnvelopeFormat.Header.contextTagOffset
            let contextMatches = k.contextTag.withUnsafeBytes { t in
                constantTimeEquals(UnsafeRawBufferPointer(rebasing: e[tagOffset..<(tagOffset + EnvelopeFormat.contextTagCount)]), t)
            }
            guard contextMatches else {
                throw FIPSError(.contextMismatch, "context mismatch: the envelope was sealed under another context label")
            }
            let co = EnvelopeFormat.Header.commitmentOffset
            let committed = k.commitment.withUnsafeBytes { c in
                constantTimeEquals(UnsafeRawBufferPointer(rebasing: e[co..<(co + EnvelopeFormat.commitmentCount)]), c)
            }
            guard committed else {
                throw FIPSError(.keyCommitmentMismatch,
                                "key commitment mismatch: the envelope was sealed by another keyring's version \(header.keyVersion), or its header was modified")
            }
            let h = EnvelopeFormat.headerCount
            let body = UnsafeRawBufferPointer(rebasing: e[h...])
            let n: Int
            if a.isEmpty {
                n = try AES.GCM.open(body, using: k.subkey, authenticating: UnsafeRawBufferPointer(rebasing: e[0..<h]), into: output)
            } else {
                n = try Keyring.withJoinedAAD(UnsafeRawBufferPointer(rebasing: e[0..<h]), a) {
                    try AES.GCM.open(body, using: k.subkey, authenticating: $0, into: output)
                }
            }
            return (n, header.keyVersion)
        } catch let error as FIPSError {
            var meta: [String: String] = ["crypto.op": "keyring-decrypt", "error.code": error.code.identifier]
            if let version { meta["key.version"] = String(version) }
            SecurityEvents.emit(SecurityEvent(category: .cryptoFailure, action: "decrypt-failed", outcome: .failure,
                                              reason: error.reason, metadata: meta))
            throw error
        }
    }

    /// Opens an envelope sealed by this keyring.
    ///
    /// Checks, in order: structure and format version, the key version (known, not destroyed, not below the
    /// minimum decryption version, not retired), the context tag, the key commitment (constant time), then AES-GCM.
    /// No plaintext is returned unless every check passes.
    /// - Parameters:
    ///   - envelope: The envelope.
    ///   - context: The context label it was sealed under.
    ///   - aad: The additional data it was sealed with.
    /// - Returns: The plaintext.
    /// - Throws: ``FIPSError`` — ``FIPSError/Code/invalidEncoding`` (empty, truncated, not an envelope),
    ///   ``FIPSError/Code/unsupportedFormat``, ``FIPSError/Code/unknownKeyVersion``,
    ///   ``FIPSError/Code/keyVersionTooOld``, ``FIPSError/Code/keyVersionUnavailable`` (retired or destroyed),
    ///   ``FIPSError/Code/contextMismatch``, ``FIPSError/Code/keyCommitmentMismatch`` (another keyring, or a
    ///   modified header), ``FIPSError/Code/authenticationFailure`` (modified nonce, ciphertext or tag, or wrong AAD).
    public func decrypt<E: DataProtocol, A: DataProtocol>(_ envelope: E, context: String, authenticating aad: A) throws -> Data {
        try withContiguous(envelope) { e in try withContiguous(aad) { a in try open(e, context: context, aad: a) } }
    }

    /// Opens into a new `Data`.
    func open(_ e: UnsafeRawBufferPointer, context: String, aad a: UnsafeRawBufferPointer) throws -> Data {
        let n = max(e.count - EnvelopeFormat.overhead, 0)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(n, 1), alignment: 16)
        do {
            _ = try open(e, context: context, aad: a, into: UnsafeMutableRawBufferPointer(start: raw, count: n))
        } catch {
            raw.deallocate(); throw error
        }
        return Data(bytesNoCopy: raw, count: n, deallocator: .custom { p, _ in p.deallocate() })
    }

    /// Opens an envelope sealed with no additional data.
    /// - Parameters:
    ///   - envelope: The envelope.
    ///   - context: The context label it was sealed under.
    /// - Returns: The plaintext.
    /// - Throws: As ``decrypt(_:context:authenticating:)``.
    public func decrypt<E: DataProtocol>(_ envelope: E, context: String) throws -> Data {
        try withContiguous(envelope) { e in try open(e, context: context, aad: Keyring.noAAD) }
    }

    /// Re-seals an envelope under the primary version (or `toVersion`) without returning the plaintext, which is
    /// held in a buffer wiped before return.
    ///
    /// Idempotent: an envelope already under the target version is verified (opened) and returned unchanged.
    /// - Parameters:
    ///   - envelope: The envelope.
    ///   - context: Its context label (kept).
    ///   - aad: Its additional data (kept).
    ///   - toVersion: The target version; `nil` for the primary.
    /// - Returns: The envelope under the target version.
    /// - Throws: As ``decrypt(_:context:authenticating:)`` for the input, and as
    ///   ``encrypt(_:context:authenticating:)`` for the target (``FIPSError/Code/keyVersionTooOld`` below the
    ///   minimum encryption version, ``FIPSError/Code/keyVersionUnavailable`` for a retired or destroyed target).
    public func rewrap<E: DataProtocol, A: DataProtocol>(_ envelope: E, context: String, authenticating aad: A,
                                                         toVersion: Int? = nil) throws -> Data {
        let target = try encryptionKey(context: context, version: toVersion)
        return try withContiguous(envelope) { e in
            try withContiguous(aad) { a in
                let n = max(e.count - EnvelopeFormat.overhead, 0)
                let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: max(n, 1), alignment: 16)
                defer { secureZero(plain); plain.deallocate() }
                let opened = try open(e, context: context, aad: a, into: UnsafeMutableRawBufferPointer(rebasing: plain[0..<n]))
                if opened.version == target.material.version { return Data(e) }
                let result = try Keyring.seal(UnsafeRawBufferPointer(rebasing: plain[0..<opened.count]), aad: a, with: target)
                Keyring.emit("envelope-rewrapped", version: target.material.version, extra: ["key.previousVersion": String(opened.version)])
                return result
            }
        }
    }

    /// The key version an envelope names, from its header alone (nothing is authenticated).
    /// - Parameter envelope: The envelope.
    /// - Returns: The key version.
    /// - Throws: ``FIPSError/Code/invalidEncoding`` or ``FIPSError/Code/unsupportedFormat``.
    public static func keyVersion<E: DataProtocol>(of envelope: E) throws -> Int {
        try withContiguous(envelope) { try EnvelopeFormat.parseHeader($0).keyVersion }
    }

    /// Counts envelopes per key version (headers only), to see what a rewrap pass still has to move.
    /// - Parameter envelopes: The envelopes.
    /// - Returns: Version → count; envelopes whose header does not parse are counted under -1.
    public func census<S: Sequence>(_ envelopes: S) -> [Int: Int] where S.Element: DataProtocol {
        var counts: [Int: Int] = [:]
        for e in envelopes {
            let v = (try? Keyring.keyVersion(of: e)) ?? -1
            counts[v, default: 0] += 1
        }
        return counts
    }

    /// Derives a subkey for another purpose (key separation), e.g. `"audit"` for the audit log's MAC key.
    ///
    /// HKDF-SHA-256 over the version key with info `"FIPSCrypto keyring derived key v1" ‖ 0x00 ‖ UInt32BE(version)
    /// ‖ purpose`, never equal to an envelope subkey. Works for active and retired versions (to verify old data).
    /// - Parameters:
    ///   - purpose: A label for the use.
    ///   - version: The key version; `nil` for the primary.
    ///   - byteCount: 16 ... 255 × 32 bytes.
    /// - Returns: The derived key.
    /// - Throws: ``FIPSError/Code/unknownKeyVersion``, ``FIPSError/Code/keyVersionUnavailable`` (destroyed),
    ///   ``FIPSError/Code/invalidParameter`` for a byte count out of range.
    public func deriveKey(purpose: String, version: Int? = nil, byteCount: Int = 32) throws -> SymmetricKey {
        guard byteCount >= 16, byteCount <= 255 * 32 else {
            throw FIPSError(.invalidParameter, "a derived key is 16 ... 8160 bytes, got \(byteCount)")
        }
        let m = try state.withLock { s -> KeyVersionMaterial in
            let v = version ?? s.primary
            let e = try s.entry(v)
            guard let m = e.material else { throw FIPSError(.keyVersionUnavailable, "key version \(v) was destroyed") }
            return m
        }
        let info = EnvelopeFormat.info(EnvelopeFormat.derivedKeyInfoLabel, version: m.version, purpose)
        return try HKDF<SHA256>.deriveKey(inputKeyMaterial: m.key, info: info, outputByteCount: byteCount)
    }

    /// Runs `body` over header ‖ aad (on the stack when small).
    @inline(__always)
    static func withJoinedAAD<R>(_ header: UnsafeRawBufferPointer, _ aad: UnsafeRawBufferPointer,
                                 _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeTemporaryAllocation(byteCount: header.count + aad.count, alignment: 16) { joined in
            joined.copyMemory(from: header)
            UnsafeMutableRawBufferPointer(rebasing: joined[header.count...]).copyMemory(from: aad)
            return try body(UnsafeRawBufferPointer(joined))
        }
    }

    // MARK: - Events

    static func emit(_ action: String, version: Int, extra: [String: String] = [:]) {
        var meta = extra
        meta["key.version"] = String(version)
        SecurityEvents.emit(SecurityEvent(category: .keyManagement, action: action, outcome: .success, metadata: meta))
    }
}
