import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A keyring at rest: serialized, sealed with AES-256-GCM under a key-encryption key (KEK), in a 0600 file inside
/// a 0700 directory, replaced atomically under an exclusive file lock.
///
/// Directory layout: `DIR/keyring` (the sealed keyring), `DIR/keyring.lock` (the lock file), and, by default,
/// `DIR/kek` (32 raw KEK bytes). File format: docs/FORMAT.md.
///
/// Loading refuses a directory, keystore or KEK file that is group- or other-accessible or owned by another user
/// (``FIPSError/Code/insecurePermissions``), as ssh does, and says how to fix it.
public struct Keystore: Sendable {
    /// Where the key-encryption key comes from.
    public enum KeyEncryptionKey: Sendable {
        /// A file holding exactly 32 random bytes, mode 0600 (``Keystore/initialize(directory:kek:)`` creates it).
        case file(URL)
        /// A passphrase stretched with PBKDF2-HMAC-SHA-256 (``Keystore/passphraseIterations`` iterations, a 32-byte
        /// random salt stored in the keystore header). At least 8 bytes.
        case passphrase(String)
    }

    /// PBKDF2-HMAC-SHA-256 iterations for a passphrase KEK (stored per keystore, so it can grow later).
    public static let passphraseIterations = PBKDF2.defaultIterations
    /// The passphrase salt length in bytes.
    static let saltCount = 32

    /// The keystore's directory.
    public let directory: URL
    /// The KEK source.
    public let kek: KeyEncryptionKey
    private let kekCache = KEKCache()

    /// The sealed keyring file.
    public var keyringFile: URL { directory.appendingPathComponent("keyring") }
    var lockFile: URL { directory.appendingPathComponent("keyring.lock") }

    /// A keystore handle (nothing is read until ``load()``).
    /// - Parameters:
    ///   - directory: The keystore directory.
    ///   - kek: The key-encryption key.
    public init(directory: URL, kek: KeyEncryptionKey) {
        self.directory = directory
        self.kek = kek
    }

    /// Creates a new keystore: the directory (0700), a KEK file (0600, 32 random bytes) if `kek` is `.file` and it
    /// does not exist, and a keyring with version 1.
    /// - Parameters:
    ///   - directory: The keystore directory (created 0700 if absent; an existing one must be yours and is set to 0700).
    ///   - kek: The key-encryption key.
    /// - Returns: The keystore.
    /// - Throws: ``FIPSError/Code/invalidKeyringState`` if a keystore already exists there (never overwritten),
    ///   ``FIPSError/Code/insecurePermissions``, ``FIPSError/Code/ioFailure``, or a module failure.
    public static func initialize(directory: URL, kek: KeyEncryptionKey) throws -> Keystore {
        let fm = FileManager.default
        var existing = stat()
        if lstat(directory.path, &existing) == 0 {
            // lstat, not fileExists: a link is refused before chmod, which would change the mode of its target.
            guard existing.st_mode & S_IFMT == S_IFDIR else {
                throw FIPSError(.ioFailure, "\(directory.path) exists and is not a directory (a symbolic link is not accepted)")
            }
            guard existing.st_uid == geteuid() else {
                throw FIPSError(.insecurePermissions, "\(directory.path) is owned by uid \(existing.st_uid), not by this user (uid \(geteuid()))")
            }
        } else {
            guard mkdir(directory.path, 0o700) == 0 else { throw posixError("mkdir", directory.path) }
        }
        guard chmod(directory.path, 0o700) == 0 else { throw posixError("chmod", directory.path) }
        try checkPermissions(directory.path, isDirectory: true)
        let store = Keystore(directory: directory, kek: kek)
        return try store.withLock {
            guard !fm.fileExists(atPath: store.keyringFile.path) else {
                throw FIPSError(.invalidKeyringState, "a keystore already exists at \(store.keyringFile.path); it is never overwritten")
            }
            if case .file(let url) = kek, !fm.fileExists(atPath: url.path) {
                let bytes = try SymmetricKey.generate(size: .bits256)
                try bytes.withUnsafeBytes { try writeNewFile(url.path, $0) }
            }
            try store.saveLocked(try Keyring.generate())
            return store
        }
    }

    /// Reads and opens the keyring.
    /// - Returns: The keyring.
    /// - Throws: ``FIPSError/Code/insecurePermissions`` (fix with `chmod 700 DIR` / `chmod 600 FILE`),
    ///   ``FIPSError/Code/ioFailure`` (missing or unreadable), ``FIPSError/Code/invalidEncoding`` /
    ///   ``FIPSError/Code/unsupportedFormat`` (not a keystore, or a newer format),
    ///   ``FIPSError/Code/authenticationFailure`` (wrong KEK or passphrase, or a modified file).
    public func load() throws -> Keyring {
        try Keystore.checkPermissions(directory.path, isDirectory: true)
        var file = try Keystore.readSecretFile(keyringFile.path)
        defer { secureZero(&file) }
        return try file.withUnsafeBytes { f in
            let header = try KeystoreFormat.parseHeader(f)
            let key = try keyEncryptionKey(for: header)
            let sealed = UnsafeRawBufferPointer(rebasing: f[header.count...])
            let aad = UnsafeRawBufferPointer(rebasing: f[0..<header.count])
            guard sealed.count >= AES.GCM.overhead else { throw FIPSError(.invalidEncoding, "the keystore file is truncated") }
            let plain: SecureBytes
            do {
                plain = try SecureBytes(count: sealed.count - AES.GCM.overhead) { out in
                    _ = try AES.GCM.open(sealed, using: key, authenticating: aad, into: out)
                }
            } catch let e as FIPSError where e.code == .authenticationFailure {
                throw FIPSError(.authenticationFailure,
                                "the keystore \(keyringFile.path) does not open with this key-encryption key: wrong KEK or passphrase, or the file was modified")
            }
            // `plain.bytes` is a raw view: keep the buffer alive (and unwiped) until deserialize has copied the keys.
            return try withExtendedLifetime(plain) { try KeyringSerialization.deserialize(plain.bytes) }
        }
    }

    /// Seals and writes the keyring atomically (temporary file, fsync, rename, fsync of the directory) under an
    /// exclusive lock on `keyring.lock`.
    /// - Parameter keyring: The keyring.
    /// - Throws: ``FIPSError/Code/ioFailure``, ``FIPSError/Code/insecurePermissions``, or a module failure.
    public func save(_ keyring: Keyring) throws {
        try withLock { try saveLocked(keyring) }
    }

    /// Locks, loads, runs `body`, saves and unlocks: concurrent updates (threads or processes) are serialized, so
    /// two rotations never lose a version.
    /// - Parameter body: Changes the keyring; if it throws nothing is saved.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws, or as ``load()`` and ``save(_:)``.
    public func update<R>(_ body: (Keyring) throws -> R) throws -> R {
        try withLock {
            let ring = try load()
            let r = try body(ring)
            try saveLocked(ring)
            return r
        }
    }

    /// The keystore named by the environment: `FIPSCRYPTO_KEYSTORE=DIR`; the KEK is `FIPSCRYPTO_KEK_FILE`, or the
    /// passphrase in `FIPSCRYPTO_KEK_PASSPHRASE_FILE` (first line; 0600), or else `DIR/kek`.
    /// - Returns: The keystore handle.
    /// - Throws: ``FIPSError/Code/invalidParameter`` if `FIPSCRYPTO_KEYSTORE` is unset; as ``load()`` for the
    ///   passphrase file.
    public static func fromEnvironment() throws -> Keystore {
        let env = ProcessInfo.processInfo.environment
        guard let dir = env["FIPSCRYPTO_KEYSTORE"], !dir.isEmpty else {
            throw FIPSError(.invalidParameter, "FIPSCRYPTO_KEYSTORE is not set (it names the keystore directory)")
        }
        let directory = URL(fileURLWithPath: dir)
        if let p = env["FIPSCRYPTO_KEK_PASSPHRASE_FILE"], !p.isEmpty {
            return Keystore(directory: directory, kek: .passphrase(try readPassphrase(URL(fileURLWithPath: p))))
        }
        if let k = env["FIPSCRYPTO_KEK_FILE"], !k.isEmpty {
            return Keystore(directory: directory, kek: .file(URL(fileURLWithPath: k)))
        }
        return Keystore(directory: directory, kek: .file(directory.appendingPathComponent("kek")))
    }

    /// Reads a passphrase file (0600, yours): its first line.
    /// - Parameter url: The file.
    /// - Returns: The passphrase.
    /// - Throws: ``FIPSError/Code/insecurePermissions``, ``FIPSError/Code/ioFailure``,
    ///   ``FIPSError/Code/invalidEncoding`` (empty or not UTF-8).
    public static func readPassphrase(_ url: URL) throws -> String {
        var d = try readSecretFile(url.path)
        defer { secureZero(&d) }
        guard let s = String(data: d, encoding: .utf8) else { throw FIPSError(.invalidEncoding, "the passphrase file \(url.path) is not UTF-8") }
        let line = s.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let trimmed = line.hasSuffix("\r") ? String(line.dropLast()) : line
        guard !trimmed.isEmpty else { throw FIPSError(.invalidEncoding, "the passphrase file \(url.path) is empty") }
        return trimmed
    }

    // MARK: - Internals

    /// Serializes, seals and atomically replaces the keystore file. The caller holds the lock.
    func saveLocked(_ keyring: Keyring) throws {
        try Keystore.checkPermissions(directory.path, isDirectory: true)
        let (header, key) = try headerAndKeyForSaving()
        let plain = KeyringSerialization.serialize(keyring)
        let total = header.count + plain.count + AES.GCM.overhead
        // `SecureBytes.bytes` is a raw view: each buffer is kept alive explicitly while a view of it is in use
        // (Swift may release a local after its last use, which would wipe and free it under the callee).
        let out = try withExtendedLifetime(plain) {
            try SecureBytes(count: total) { out in
                UnsafeMutableRawBufferPointer(rebasing: out[0..<header.count]).copyBytes(from: header)
                let aad = UnsafeRawBufferPointer(rebasing: out[0..<header.count])
                _ = try AES.GCM.seal(plain.bytes, using: key, authenticating: aad,
                                     into: UnsafeMutableRawBufferPointer(rebasing: out[header.count...]))
            }
        }
        try withExtendedLifetime(out) {
            try Keystore.atomicReplace(keyringFile.path, directory: directory.path, with: out.bytes)
        }
    }

    private func headerAndKeyForSaving() throws -> ([UInt8], SymmetricKey) {
        switch kek {
        case .file(let url):
            return (KeystoreFormat.header(kdf: nil), try Keystore.readKEKFile(url))
        case .passphrase(let p):
            if let cached = kekCache.get() { return (KeystoreFormat.header(kdf: (cached.iterations, cached.salt)), cached.key) }
            let salt = Array(try SecureRandom.bytes(count: Keystore.saltCount))
            var pass = Array(p.utf8)
            defer { secureZero(&pass) }
            let key = try PBKDF2.deriveKey(passphrase: pass, salt: salt, iterations: Keystore.passphraseIterations)
            kekCache.set(.init(salt: salt, iterations: Keystore.passphraseIterations, key: key))
            return (KeystoreFormat.header(kdf: (Keystore.passphraseIterations, salt)), key)
        }
    }

    private func keyEncryptionKey(for header: KeystoreFormat.Header) throws -> SymmetricKey {
        switch (kek, header.kdf) {
        case (.file(let url), nil):
            return try Keystore.readKEKFile(url)
        case (.passphrase(let p), let (iterations, salt)?):
            if let c = kekCache.get(), c.salt == salt, c.iterations == iterations { return c.key }
            var pass = Array(p.utf8)
            defer { secureZero(&pass) }
            let key = try PBKDF2.deriveKey(passphrase: pass, salt: salt, iterations: iterations)
            kekCache.set(.init(salt: salt, iterations: iterations, key: key))
            return key
        case (.file, _?):
            throw FIPSError(.invalidKeyringState, "the keystore \(keyringFile.path) is sealed under a passphrase, but a KEK file was given")
        case (.passphrase, nil):
            throw FIPSError(.invalidKeyringState, "the keystore \(keyringFile.path) is sealed under a KEK file, but a passphrase was given")
        }
    }

    static func readKEKFile(_ url: URL) throws -> SymmetricKey {
        var d = try readSecretFile(url.path)
        defer { secureZero(&d) }
        guard d.count == 32 else {
            throw FIPSError(.invalidEncoding, "the KEK file \(url.path) must hold exactly 32 bytes, it holds \(d.count)")
        }
        return SymmetricKey(data: d)
    }

    /// Runs `body` holding an exclusive `flock` on `DIR/keyring.lock`.
    func withLock<R>(_ body: () throws -> R) throws -> R {
        // O_NOFOLLOW: a link planted at keyring.lock must not make us create or lock a file elsewhere.
        let fd = open(lockFile.path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Keystore.posixError("open", lockFile.path) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw Keystore.posixError("flock", lockFile.path) }
        }
        defer { _ = flock(fd, LOCK_UN) }
        return try body()
    }

    /// Refuses a directory that is group/other-accessible or not owned by this user.
    static func checkPermissions(_ path: String, isDirectory: Bool) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            throw FIPSError(.ioFailure, "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        try check(st, path, isDirectory: isDirectory)
    }

    /// The ssh-style rule: the right type, owned by this user, no group/other permission bits.
    static func check(_ st: stat, _ path: String, isDirectory: Bool) throws {
        let type = st.st_mode & S_IFMT
        if isDirectory {
            guard type == S_IFDIR else { throw FIPSError(.ioFailure, "\(path) is not a directory") }
        } else {
            guard type == S_IFREG else { throw FIPSError(.insecurePermissions, "\(path) is not a regular file") }
        }
        guard st.st_uid == geteuid() else {
            throw FIPSError(.insecurePermissions, "\(path) is owned by uid \(st.st_uid), not by this user (uid \(geteuid())); fix it with: chown \(geteuid()) \(path)")
        }
        let mode = st.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            let fix = isDirectory ? "chmod 700" : "chmod 600"
            throw FIPSError(.insecurePermissions,
                            "permissions \(String(mode, radix: 8)) for \(path) are too open: it holds key material and must not be accessible by group or others; fix it with: \(fix) \(path)")
        }
    }

    /// Opens a file holding secrets without following a symbolic link, checks owner and mode on the open
    /// descriptor (no window between check and read), and reads it.
    static func readSecretFile(_ path: String) throws -> Data {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ELOOP { throw FIPSError(.insecurePermissions, "\(path) is a symbolic link; key files must be regular files") }
            throw FIPSError(.ioFailure, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw posixError("fstat", path) }
        try check(st, path, isDirectory: false)
        guard st.st_size <= 1 << 30 else { throw FIPSError(.invalidEncoding, "\(path) is implausibly large") }
        var data = Data(count: Int(st.st_size))
        var off = 0
        try data.withUnsafeMutableBytes { buf in
            while off < buf.count {
                let n = read(fd, buf.baseAddress! + off, buf.count - off)
                if n < 0 { if errno == EINTR { continue }; throw posixError("read", path) }
                if n == 0 { break }
                off += n
            }
        }
        if off < data.count { data.count = off }
        return data
    }

    /// Creates `path` (which must not exist) with mode 0600 and writes `bytes`, fsynced.
    static func writeNewFile(_ path: String, _ bytes: UnsafeRawBufferPointer) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw posixError("open", path) }
        var ok = false
        defer { close(fd); if !ok { unlink(path) } }
        guard fchmod(fd, 0o600) == 0 else { throw posixError("fchmod", path) }
        var off = 0
        while off < bytes.count {
            let n = write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 { if errno == EINTR { continue }; throw posixError("write", path) }
            off += n
        }
        guard fsync(fd) == 0 else { throw posixError("fsync", path) }
        ok = true
    }

    /// temp file (0600, fsync) → rename over `path` → fsync the directory.
    ///
    /// Test-only hook: with `FIPSCRYPTO_TEST_CRASH_BEFORE_RENAME=1` in the environment the process `_exit(9)`s after
    /// the temporary file is written and fsynced but before the rename, to prove a crash leaves the old keystore intact.
    static func atomicReplace(_ path: String, directory: String, with bytes: UnsafeRawBufferPointer) throws {
        let tmp = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try writeNewFile(tmp, bytes)
        if ProcessInfo.processInfo.environment["FIPSCRYPTO_TEST_CRASH_BEFORE_RENAME"] == "1" { _exit(9) }
        guard rename(tmp, path) == 0 else {
            let e = posixError("rename", path); unlink(tmp); throw e
        }
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw posixError("open", directory) }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw posixError("fsync", directory) }
    }

    static func posixError(_ op: String, _ path: String) -> FIPSError {
        FIPSError(.ioFailure, "\(op) \(path): \(String(cString: strerror(errno)))")
    }
}

/// The passphrase-derived KEK, kept for the handle's life so `update` runs PBKDF2 once.
final class KEKCache: Sendable {
    struct Entry: Sendable { let salt: [UInt8]; let iterations: Int; let key: SymmetricKey }
    private let entry = Mutex<Entry?>(nil)
    func get() -> Entry? { entry.withLock { $0 } }
    func set(_ e: Entry) { entry.withLock { $0 = e } }
}

/// The keystore file header (docs/FORMAT.md):
///
/// ```
/// 4  magic "FCKs" (0x46 0x43 0x4B 0x73)
/// 1  format version = 1
/// 1  KEK kind: 1 = KEK file (32 raw bytes), 2 = PBKDF2-HMAC-SHA-256 passphrase
/// kind 2 only: 4 iterations (UInt32 big-endian), 1 salt length (16 ... 64), salt
/// then: AES-256-GCM nonce (12) ‖ ciphertext (the serialized keyring) ‖ tag (16); AAD = the header above
/// ```
enum KeystoreFormat {
    static let magic: [UInt8] = [0x46, 0x43, 0x4B, 0x73]
    static let version: UInt8 = 1
    /// The largest PBKDF2 iteration count a keystore header may name.
    static let maximumIterations = 10_000_000

    struct Header {
        let count: Int
        let kdf: (iterations: Int, salt: [UInt8])?
    }

    static func header(kdf: (iterations: Int, salt: [UInt8])?) -> [UInt8] {
        var h = magic + [version]
        if let kdf {
            h.append(2)
            let i = UInt32(kdf.iterations)
            h += [UInt8(i >> 24), UInt8((i >> 16) & 0xff), UInt8((i >> 8) & 0xff), UInt8(i & 0xff), UInt8(kdf.salt.count)]
            h += kdf.salt
        } else {
            h.append(1)
        }
        return h
    }

    static func parseHeader(_ f: UnsafeRawBufferPointer) throws -> Header {
        guard f.count >= 6, Array(f[0..<4]) == magic else { throw FIPSError(.invalidEncoding, "not a keystore file (bad magic)") }
        guard f[4] == version else {
            throw FIPSError(.unsupportedFormat, "keystore format version \(f[4]) is not supported (this build reads \(version))")
        }
        switch f[5] {
        case 1: return Header(count: 6, kdf: nil)
        case 2:
            guard f.count >= 11 else { throw FIPSError(.invalidEncoding, "the keystore header is truncated") }
            let iterations = Int(readUInt32(f, at: 6))
            let saltCount = Int(f[10])
            guard (16...64).contains(saltCount), f.count >= 11 + saltCount else {
                throw FIPSError(.invalidEncoding, "the keystore header's salt is malformed")
            }
            guard iterations >= 10_000 else { throw FIPSError(.invalidEncoding, "the keystore header's PBKDF2 iteration count \(iterations) is too low") }
            // The header is authenticated only after PBKDF2 has run: bound the work a modified header can demand
            // (2^32 - 1 rounds would be hours of CPU). 16x today's 600,000 leaves room to raise the default.
            guard iterations <= maximumIterations else {
                throw FIPSError(.invalidEncoding, "the keystore header's PBKDF2 iteration count \(iterations) exceeds \(maximumIterations)")
            }
            return Header(count: 11 + saltCount, kdf: (iterations, Array(f[11..<(11 + saltCount)])))
        default:
            throw FIPSError(.unsupportedFormat, "keystore KEK kind \(f[5]) is not supported")
        }
    }
}
