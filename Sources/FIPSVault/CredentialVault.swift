import Foundation
import FIPSCrypto
#if canImport(Glibc)
import Glibc
#endif

/// A credential store in one SQLite database: SSH keys, passwords and API keys whose secret fields are sealed with
/// the keyring, and whose metadata (name, kind, username, host, labels, times, key version) is plaintext.
///
/// Guarantees:
/// - No plaintext secret is ever handed to SQLite: only envelopes from the keyring are bound, so neither the
///   database file, its WAL, nor any journal or temporary file can hold one. The connection also runs with
///   `secure_delete=ON` (freed pages are zeroed) and `temp_store=MEMORY`.
/// - Each secret field is sealed with the row's identity — its random id, name and kind, and the field's name — as
///   associated data, so a ciphertext copied into another row, or into another field, fails to open.
/// - The database file is created 0600 (its directory 0700 when the vault creates it); a database file that
///   group or others can access is refused.
/// - Several processes may use one database: WAL mode, a busy timeout, and every write inside `BEGIN IMMEDIATE`.
/// - Every read, write, deletion and re-seal of a secret raises a ``SecurityEvent`` (category `.access`, actions
///   `secret-read`, `secret-written`, `secret-deleted`, `secret-rotated`; metadata `credential.name`,
///   `credential.kind`, `key.version`), never with the secret in it.
///
/// A `CredentialVault` holds one SQLite connection and is not `Sendable`: use one per thread (they may share the file).
public final class CredentialVault {
    let connection: SQLiteConnection
    let sealer: any SecretSealer

    /// The schema version this build writes (see ``migrations``).
    public static let schemaVersion = 1

    /// The largest secret (or passphrase) the vault accepts, in bytes.
    public static let maximumSecretSize = 64 * 1024

    /// Schema migrations; `migrations[n - 1]` takes the database from version `n - 1` to `n`.
    static let migrations: [String] = [
        """
        CREATE TABLE credentials (
            id          TEXT    PRIMARY KEY NOT NULL,
            name        TEXT    NOT NULL UNIQUE,
            kind        TEXT    NOT NULL,
            username    TEXT,
            host        TEXT,
            labels      TEXT    NOT NULL DEFAULT '{}',
            created_at  REAL    NOT NULL,
            updated_at  REAL    NOT NULL,
            key_version INTEGER NOT NULL,
            secret      BLOB    NOT NULL,
            passphrase  BLOB
        );
        CREATE INDEX credentials_key_version ON credentials (key_version);
        """,
    ]

    /// Opens (creating if needed) a vault database.
    /// - Parameters:
    ///   - path: The database file. Created 0600 if missing; its directory is created 0700 if missing.
    ///   - sealer: Seals and opens secret fields.
    ///   - busyTimeout: How long to wait for another process's write lock before failing.
    /// - Throws: ``FIPSError/Code/insecurePermissions`` if the existing file is group/other accessible,
    ///   ``FIPSError/Code/unsupportedFormat`` if the schema is newer than this build,
    ///   ``FIPSError/Code/databaseFailure`` or ``FIPSError/Code/ioFailure`` otherwise.
    init(path: String, sealer: any SecretSealer, busyTimeout: Duration = .seconds(10)) throws {
        try Self.prepareFile(path)
        let ms = busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000
        self.connection = try SQLiteConnection(path: path, busyTimeoutMilliseconds: Int32(clamping: ms))
        self.sealer = sealer
        try migrate()
    }

    /// Creates the directory (0700) and the file (0600) if missing; refuses a file group or others can access.
    private static func prepareFile(_ path: String) throws {
        let fm = FileManager.default
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent()
        if !fm.fileExists(atPath: dir.path) {
            do {
                try fm.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw FIPSError(.ioFailure, "cannot create the vault directory \(dir.path): \(error.localizedDescription)")
            }
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd >= 0 {
            close(fd)
        } else if errno != EEXIST {
            throw FIPSError(.ioFailure, "cannot create the vault database \(path): \(String(cString: strerror(errno)))")
        }
        let attributes: [FileAttributeKey: Any]
        do { attributes = try fm.attributesOfItem(atPath: path) } catch {
            throw FIPSError(.ioFailure, "cannot read the vault database's attributes \(path): \(error.localizedDescription)")
        }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0o777
        guard mode & 0o077 == 0 else {
            throw FIPSError(.insecurePermissions, "the vault database \(path) has mode \(String(mode, radix: 8)); "
                            + "it must not be accessible to group or others (chmod 600 it)")
        }
    }

    /// The schema version recorded in the database (0 for a new, empty one).
    private func recordedSchemaVersion() throws -> Int {
        let t = try connection.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
        guard try t.step(), t.int(0) == 1 else { return 0 }
        let s = try connection.prepare("SELECT version FROM schema_version")
        return try s.step() ? s.int(0) : 0
    }

    /// Brings the schema up to ``schemaVersion``; the write lock is taken only when a migration is due.
    private func migrate() throws {
        func refuseNewer(_ v: Int) throws {
            guard v <= Self.schemaVersion else {
                throw FIPSError(.unsupportedFormat, "the vault database has schema version \(v); this build knows up to \(Self.schemaVersion)")
            }
        }
        let seen = try recordedSchemaVersion()
        try refuseNewer(seen)
        guard seen < Self.schemaVersion else { return }
        try connection.writeTransaction {
            let current = try recordedSchemaVersion()   // another process may have migrated meanwhile
            try refuseNewer(current)
            guard current < Self.schemaVersion else { return }
            try connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            for v in current..<Self.schemaVersion { try connection.execute(Self.migrations[v]) }
            try connection.execute("DELETE FROM schema_version")
            let u = try connection.prepare("INSERT INTO schema_version (version) VALUES (?)")
            try u.bind(1, Self.schemaVersion)
            try u.run()
        }
    }

    // MARK: - Associated data

    /// The associated data bound to one secret field: length-prefixed id, name, kind and field name.
    static func associatedData(id: String, name: String, kind: CredentialKind, field: String) -> Data {
        var d = Data()
        for part in ["fipsvault.row.v1", id, name, kind.identifier, field] {
            let bytes = Array(part.utf8)
            withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { d.append(contentsOf: $0) }
            d.append(contentsOf: bytes)
        }
        return d
    }

    // MARK: - Validation

    private static func validate(name: String) throws {
        let n = name.utf8.count
        guard n >= 1, n <= 256 else {
            throw FIPSError(.invalidCredential, "a credential name must be 1 to 256 bytes of UTF-8, got \(n)")
        }
        guard !name.hasPrefix("-") else { throw FIPSError(.invalidCredential, "a credential name must not start with '-'") }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw FIPSError(.invalidCredential, "a credential name must not contain control characters")
        }
    }

    private static func validate(field: String, _ value: String?) throws {
        guard let value else { return }
        guard value.utf8.count <= 256, !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw FIPSError(.invalidCredential, "\(field) must be at most 256 bytes with no control characters")
        }
    }

    private static func validate(labels: [String: String]) throws {
        guard labels.count <= 64 else { throw FIPSError(.invalidCredential, "at most 64 labels, got \(labels.count)") }
        let keyChars = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-")
        for (k, v) in labels {
            guard !k.isEmpty, k.count <= 64, k.allSatisfy({ keyChars.contains($0) }) else {
                throw FIPSError(.invalidCredential, "label key '\(k.prefix(64))' must be 1 to 64 of [A-Za-z0-9._/-]")
            }
            try validate(field: "label \(k)", v)
        }
    }

    private static func validate(secret: Data, passphrase: Data?, kind: CredentialKind) throws {
        guard !secret.isEmpty else { throw FIPSError(.invalidCredential, "the secret is empty") }
        guard secret.count <= maximumSecretSize else {
            throw FIPSError(.invalidCredential, "the secret is \(secret.count) bytes; the vault stores at most \(maximumSecretSize)")
        }
        if let passphrase {
            guard kind == .sshKey else { throw FIPSError(.invalidCredential, "only ssh-key credentials have a passphrase") }
            guard !passphrase.isEmpty, passphrase.count <= maximumSecretSize else {
                throw FIPSError(.invalidCredential, "a passphrase must be 1 to \(maximumSecretSize) bytes")
            }
        }
    }

    // MARK: - Rows

    private static let columns = "id, name, kind, username, host, labels, created_at, updated_at, key_version, passphrase IS NOT NULL"

    private func metadata(_ s: SQLiteStatement) throws -> CredentialMetadata {
        let labelsJSON = s.text(5) ?? "{}"
        let labels: [String: String]
        do { labels = try JSONDecoder().decode([String: String].self, from: Data(labelsJSON.utf8)) } catch {
            throw FIPSError(.invalidEncoding, "the labels of a vault row are not a JSON object of strings")
        }
        return CredentialMetadata(
            id: s.text(0) ?? "", name: s.text(1) ?? "", kind: try CredentialKind(identifier: s.text(2) ?? ""),
            username: s.text(3), host: s.text(4), labels: labels,
            createdAt: Date(timeIntervalSince1970: s.double(6)), updatedAt: Date(timeIntervalSince1970: s.double(7)),
            keyVersion: s.int(8), hasPassphrase: s.int(9) != 0)
    }

    /// The row named `name` with its envelopes, or `nil`.
    private func row(named name: String) throws -> (CredentialMetadata, secret: Data, passphrase: Data?)? {
        let s = try connection.prepare("SELECT \(Self.columns), secret, passphrase FROM credentials WHERE name = ?")
        try s.bind(1, name)
        guard try s.step() else { return nil }
        return (try metadata(s), s.blob(10) ?? Data(), s.blob(11))
    }

    private func notFound(_ name: String) -> FIPSError {
        FIPSError(.credentialNotFound, "no credential named '\(name)'")
    }

    private func event(_ action: String, _ m: CredentialMetadata, outcome: SecurityEvent.Outcome = .success,
                       reason: String? = nil, extra: [String: String] = [:]) {
        var metadata = ["credential.name": m.name, "credential.kind": m.kind.identifier, "key.version": String(m.keyVersion)]
        metadata.merge(extra) { _, new in new }
        SecurityEvents.emit(SecurityEvent(category: .access, action: action, outcome: outcome, reason: reason, metadata: metadata))
    }

    /// Opens one row's envelopes; raises `secret-read` (failure) and rethrows if one does not open.
    private func openFields(_ m: CredentialMetadata, secret: Data, passphrase: Data?, purpose: String) throws -> (Data, Data?) {
        do {
            var plain = try sealer.open(secret, aad: Self.associatedData(id: m.id, name: m.name, kind: m.kind, field: "secret"))
            do {
                let pass = try passphrase.map {
                    try sealer.open($0, aad: Self.associatedData(id: m.id, name: m.name, kind: m.kind, field: "passphrase"))
                }
                return (plain, pass)
            } catch {
                zeroize(&plain)
                throw error
            }
        } catch {
            event("secret-read", m, outcome: .failure, reason: (error as? FIPSError)?.code.identifier ?? "error",
                  extra: ["vault.purpose": purpose])
            throw error
        }
    }

    // MARK: - Public API

    /// Stores a credential, sealing its secret fields under the keyring's primary version.
    /// - Parameters:
    ///   - name: A unique name (1–256 bytes, no control characters, not starting with `-`).
    ///   - kind: The kind.
    ///   - secret: The private key, password or token (1 byte to ``maximumSecretSize``). The vault does not keep or
    ///     wipe the caller's buffer.
    ///   - passphrase: The SSH key's passphrase (``CredentialKind/sshKey`` only).
    ///   - username: The account, if any.
    ///   - host: The host, if any.
    ///   - labels: Labels (keys of `[A-Za-z0-9._/-]`).
    ///   - replacing: Replace an existing credential of that name (keeping its id and creation time).
    /// - Returns: The stored metadata.
    /// - Throws: ``FIPSError/Code/credentialExists`` if the name is taken and `replacing` is false,
    ///   ``FIPSError/Code/invalidCredential`` for bad input, ``FIPSError/Code/databaseFailure``, or a keyring error.
    @discardableResult
    public func put(_ name: String, kind: CredentialKind, secret: Data, passphrase: Data? = nil, username: String? = nil,
                    host: String? = nil, labels: [String: String] = [:], replacing: Bool = false) throws -> CredentialMetadata {
        try Self.validate(name: name)
        try Self.validate(field: "username", username)
        try Self.validate(field: "host", host)
        try Self.validate(labels: labels)
        try Self.validate(secret: secret, passphrase: passphrase, kind: kind)
        let labelsJSON: String
        do {
            let e = JSONEncoder(); e.outputFormatting = [.sortedKeys]
            labelsJSON = String(decoding: try e.encode(labels), as: UTF8.self)
        }
        let stored: CredentialMetadata = try connection.writeTransaction {
            let now = Date()
            var id = UUID().uuidString.lowercased()
            var created = now
            if let (existing, _, _) = try row(named: name) {
                guard replacing else { throw FIPSError(.credentialExists, "a credential named '\(name)' already exists") }
                id = existing.id
                created = existing.createdAt
            }
            let sealedSecret = try sealer.seal(secret, aad: Self.associatedData(id: id, name: name, kind: kind, field: "secret"))
            let sealedPass = try passphrase.map {
                try sealer.seal($0, aad: Self.associatedData(id: id, name: name, kind: kind, field: "passphrase"))
            }
            // The version the envelope actually names (the keyring may rotate concurrently).
            let sealedVersion = try sealer.version(of: sealedSecret)
            let s = try connection.prepare("""
                INSERT INTO credentials (id, name, kind, username, host, labels, created_at, updated_at, key_version, secret, passphrase)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                ON CONFLICT (id) DO UPDATE SET kind = ?3, username = ?4, host = ?5, labels = ?6, updated_at = ?8,
                    key_version = ?9, secret = ?10, passphrase = ?11
                """)
            try s.bind(1, id); try s.bind(2, name); try s.bind(3, kind.identifier)
            try s.bind(4, username); try s.bind(5, host); try s.bind(6, labelsJSON)
            try s.bind(7, created.timeIntervalSince1970); try s.bind(8, now.timeIntervalSince1970)
            try s.bind(9, sealedVersion); try s.bind(10, sealedSecret); try s.bind(11, sealedPass)
            try s.run()
            return CredentialMetadata(id: id, name: name, kind: kind, username: username, host: host, labels: labels,
                                      createdAt: created, updatedAt: now, keyVersion: sealedVersion, hasPassphrase: passphrase != nil)
        }
        event("secret-written", stored)
        return stored
    }

    /// Opens a credential's secret fields. Raises `secret-read`.
    ///
    /// The caller owns the returned buffers: call ``Credential/wipe()`` when done, or use ``withCredential(named:_:)``.
    /// - Parameter name: The credential's name.
    /// - Returns: The credential with its secret fields in plaintext.
    /// - Throws: ``FIPSError/Code/credentialNotFound``, a keyring error if a field does not open (for example
    ///   ``FIPSError/Code/authenticationFailure`` for a moved or altered ciphertext), or ``FIPSError/Code/databaseFailure``.
    public func get(_ name: String) throws -> Credential {
        guard let (m, secret, passphrase) = try row(named: name) else { throw notFound(name) }
        let (plain, pass) = try openFields(m, secret: secret, passphrase: passphrase, purpose: "get")
        event("secret-read", m)
        return Credential(metadata: m, secret: plain, passphrase: pass)
    }

    /// Opens a credential, runs `body` with it, then wipes the plaintext (even if `body` throws).
    /// - Parameters:
    ///   - name: The credential's name.
    ///   - body: Uses the credential; must not keep copies of its secret fields.
    /// - Returns: What `body` returns.
    /// - Throws: What ``get(_:)`` or `body` throws.
    public func withCredential<R>(named name: String, _ body: (Credential) throws -> R) throws -> R {
        var c = try get(name)
        defer { c.wipe() }
        return try body(c)
    }

    /// A credential's metadata, without opening its secret (no `secret-read` event).
    /// - Parameter name: The credential's name.
    /// - Returns: The metadata.
    /// - Throws: ``FIPSError/Code/credentialNotFound`` or ``FIPSError/Code/databaseFailure``.
    public func metadata(_ name: String) throws -> CredentialMetadata {
        let s = try connection.prepare("SELECT \(Self.columns) FROM credentials WHERE name = ?")
        try s.bind(1, name)
        guard try s.step() else { throw notFound(name) }
        return try metadata(s)
    }

    /// Every credential's metadata, by name.
    /// - Returns: The metadata, sorted by name.
    /// - Throws: ``FIPSError/Code/databaseFailure``.
    public func list() throws -> [CredentialMetadata] {
        let s = try connection.prepare("SELECT \(Self.columns) FROM credentials ORDER BY name")
        var out: [CredentialMetadata] = []
        while try s.step() { out.append(try metadata(s)) }
        return out
    }

    /// Deletes a credential (its pages are zeroed: `secure_delete` is on). Raises `secret-deleted`.
    /// - Parameter name: The credential's name.
    /// - Throws: ``FIPSError/Code/credentialNotFound`` or ``FIPSError/Code/databaseFailure``.
    public func delete(_ name: String) throws {
        let m: CredentialMetadata = try connection.writeTransaction {
            guard let (m, _, _) = try row(named: name) else { throw notFound(name) }
            let s = try connection.prepare("DELETE FROM credentials WHERE id = ?")
            try s.bind(1, m.id)
            try s.run()
            return m
        }
        event("secret-deleted", m)
    }

    /// Renames a credential. The name is bound into the sealed fields, so they are opened and re-sealed under the
    /// new name (and the primary key version) in the same transaction; the plaintext is wiped at once.
    /// Raises `secret-written` with `credential.previous-name`.
    /// - Parameters:
    ///   - oldName: The current name.
    ///   - newName: The new name.
    /// - Returns: The metadata under the new name.
    /// - Throws: ``FIPSError/Code/credentialNotFound``, ``FIPSError/Code/credentialExists``,
    ///   ``FIPSError/Code/invalidCredential``, a keyring error, or ``FIPSError/Code/databaseFailure``.
    @discardableResult
    public func rename(_ oldName: String, to newName: String) throws -> CredentialMetadata {
        try Self.validate(name: newName)
        let renamed: CredentialMetadata = try connection.writeTransaction {
            guard let (m, secret, passphrase) = try row(named: oldName) else { throw notFound(oldName) }
            if oldName == newName { return m }
            guard try row(named: newName) == nil else {
                throw FIPSError(.credentialExists, "a credential named '\(newName)' already exists")
            }
            var (plain, pass) = try openFields(m, secret: secret, passphrase: passphrase, purpose: "rename")
            defer { zeroize(&plain); zeroize(&pass) }
            let sealedSecret = try sealer.seal(plain, aad: Self.associatedData(id: m.id, name: newName, kind: m.kind, field: "secret"))
            let sealedPass = try pass.map {
                try sealer.seal($0, aad: Self.associatedData(id: m.id, name: newName, kind: m.kind, field: "passphrase"))
            }
            let version = try sealer.version(of: sealedSecret)
            let now = Date()
            let s = try connection.prepare("UPDATE credentials SET name = ?, key_version = ?, secret = ?, passphrase = ?, updated_at = ? WHERE id = ?")
            try s.bind(1, newName); try s.bind(2, version); try s.bind(3, sealedSecret); try s.bind(4, sealedPass)
            try s.bind(5, now.timeIntervalSince1970); try s.bind(6, m.id)
            try s.run()
            var r = m
            r.name = newName; r.keyVersion = version; r.updatedAt = now
            return r
        }
        if renamed.name != oldName { event("secret-written", renamed, extra: ["credential.previous-name": oldName]) }
        return renamed
    }

    /// Re-seals every row not under the keyring's primary version, `batchSize` rows per transaction, with the
    /// keyring's `rewrap` (the plaintext never reaches the vault). Raises `secret-rotated` per row.
    ///
    /// Each batch commits on its own, so a crash loses at most the batch in flight (rolled back by SQLite, its rows
    /// still sealed under their old version); calling `rotate` again finishes the job. When it returns, no row
    /// needs a key version below the primary, and those versions can be retired from the keyring.
    /// - Parameters:
    ///   - batchSize: Rows per transaction (1...100 000).
    ///   - progress: Called after each committed batch.
    /// - Returns: The final progress (rows rotated by this call, zero remaining).
    /// - Throws: ``FIPSError/Code/invalidParameter`` for a bad batch size, a keyring error (a row that does not
    ///   open stops the rotation with its batch rolled back), or ``FIPSError/Code/databaseFailure``.
    @discardableResult
    public func rotate(batchSize: Int = 500, progress: ((RotationProgress) -> Void)? = nil) throws -> RotationProgress {
        try rotate(batchSize: batchSize, progress: progress, beforeCommit: nil)
    }

    /// ``rotate(batchSize:progress:)`` with a hook run inside each batch's transaction just before it commits
    /// (argument: the 1-based batch number). For fipsctl's test-only crash hook; not public API.
    package func rotate(batchSize: Int, progress: ((RotationProgress) -> Void)?, beforeCommit: ((Int) -> Void)?) throws -> RotationProgress {
        guard (1...100_000).contains(batchSize) else {
            throw FIPSError(.invalidParameter, "the rotation batch size must be 1 to 100000, got \(batchSize)")
        }
        let target = sealer.primaryVersion
        var report = RotationProgress(targetVersion: target, rotated: 0, remaining: try count(notAt: target), batches: 0)
        // Keyset pagination over the primary key (no rescans); when a pass ends, one more pass from the start
        // catches rows another process wrote under an old version meanwhile.
        var after = ""
        while true {
            let batch: [CredentialMetadata] = try connection.writeTransaction {
                let select = try connection.prepare("""
                    SELECT \(Self.columns), secret, passphrase FROM credentials WHERE key_version <> ? AND id > ? ORDER BY id LIMIT ?
                    """)
                try select.bind(1, target); try select.bind(2, after); try select.bind(3, batchSize)
                let update = try connection.prepare("UPDATE credentials SET key_version = ?, secret = ?, passphrase = ? WHERE id = ?")
                var done: [CredentialMetadata] = []
                while try select.step() {
                    var m = try metadata(select)
                    let secret = select.blob(10) ?? Data(), passphrase = select.blob(11)
                    let newSecret: Data, newPass: Data?
                    do {
                        newSecret = try sealer.rewrap(secret, aad: Self.associatedData(id: m.id, name: m.name, kind: m.kind, field: "secret"),
                                                       toVersion: target)
                        newPass = try passphrase.map {
                            try sealer.rewrap($0, aad: Self.associatedData(id: m.id, name: m.name, kind: m.kind, field: "passphrase"),
                                             toVersion: target)
                        }
                    } catch {
                        event("secret-rotated", m, outcome: .failure, reason: (error as? FIPSError)?.code.identifier ?? "error")
                        throw error
                    }
                    let version = try sealer.version(of: newSecret)
                    try update.bind(1, version); try update.bind(2, newSecret); try update.bind(3, newPass); try update.bind(4, m.id)
                    try update.run()
                    try update.reset()
                    m.keyVersion = version
                    done.append(m)
                }
                if !done.isEmpty { beforeCommit?(report.batches + 1) }
                return done
            }
            guard let last = batch.last else {
                if after.isEmpty { break }
                after = ""
                continue
            }
            after = last.id
            for m in batch { event("secret-rotated", m) }
            report.rotated += batch.count
            report.batches += 1
            report.remaining = max(report.remaining - batch.count, 0)
            progress?(report)
        }
        report.remaining = 0
        return report
    }

    private func count(notAt version: Int) throws -> Int {
        let s = try connection.prepare("SELECT COUNT(*) FROM credentials WHERE key_version <> ?")
        try s.bind(1, version)
        return try s.step() ? s.int(0) : 0
    }

    /// How many rows each key version seals (to decide which versions can be retired).
    /// - Returns: Rows per key version.
    /// - Throws: ``FIPSError/Code/databaseFailure``.
    public func keyVersionCensus() throws -> [Int: Int] {
        let s = try connection.prepare("SELECT key_version, COUNT(*) FROM credentials GROUP BY key_version")
        var out: [Int: Int] = [:]
        while try s.step() { out[s.int(0)] = s.int(1) }
        return out
    }

    /// Opens every row's secret fields (wiping each plaintext at once) and checks each envelope names the key
    /// version its row records. Raises `secret-read` per row (`vault.purpose` = `verify`).
    /// - Returns: The rows that opened and those that failed, with reasons.
    /// - Throws: ``FIPSError/Code/databaseFailure`` (a row that fails to open is reported, not thrown).
    public func verify() throws -> VerificationReport {
        var report = VerificationReport(opened: 0, failures: [], keyVersions: [:])
        try connection.readTransaction {
            let s = try connection.prepare("SELECT \(Self.columns), secret, passphrase FROM credentials ORDER BY name")
            while try s.step() {
                let m: CredentialMetadata
                do { m = try metadata(s) } catch {
                    report.failures.append(.init(name: s.text(1) ?? "?", keyVersion: s.int(8), reason: "\(error)"))
                    continue
                }
                report.keyVersions[m.keyVersion, default: 0] += 1
                do {
                    let secret = s.blob(10) ?? Data()
                    let envelopeVersion = try sealer.version(of: secret)
                    guard envelopeVersion == m.keyVersion else {
                        throw FIPSError(.invalidEncoding, "the envelope names key version \(envelopeVersion), the row \(m.keyVersion)")
                    }
                    var (plain, pass) = try openFields(m, secret: secret, passphrase: s.blob(11), purpose: "verify")
                    zeroize(&plain); zeroize(&pass)
                    event("secret-read", m, extra: ["vault.purpose": "verify"])
                    report.opened += 1
                } catch {
                    report.failures.append(.init(name: m.name, keyVersion: m.keyVersion, reason: "\(error)"))
                }
            }
        }
        return report
    }

    /// Writes the write-ahead log into the database file and truncates it (`wal_checkpoint(TRUNCATE)`).
    /// - Throws: ``FIPSError/Code/databaseFailure`` (for example if a reader holds the log).
    public func checkpoint() throws {
        try connection.checkpoint()
    }
}
