import Foundation
import XCTest
import FIPSCrypto
import FIPSTestSupport
import FIPSVault

final class CredentialVaultTests: XCTestCase {
    var dir: URL!
    var dbURL: URL { dir.appendingPathComponent("vault.db") }
    var keyring: Keyring!

    override func setUpWithError() throws {
        dir = try TestSupport.temporaryDirectory("fipsvault")
        keyring = try Keyring.generate()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func openVault() throws -> CredentialVault { try CredentialVault(path: dbURL.path, keyring: keyring) }

    func assertCode<T>(_ code: FIPSError.Code, _ body: @autoclosure () throws -> T, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            XCTAssertEqual((e as? FIPSError)?.code, code, "\(e)", file: file, line: line)
        }
    }

    func testCRUDWithTypedErrors() throws {
        let v = try openVault()
        let key = Data("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n".utf8)
        let m = try v.put("deploy/github", kind: .sshKey, secret: key, passphrase: Data("hunter2".utf8),
                          username: "git", host: "github.com", labels: ["env": "prod"])
        XCTAssertEqual(m.keyVersion, 1)
        XCTAssertTrue(m.hasPassphrase)
        try v.put("db", kind: .password, secret: Data("pw".utf8), username: "app")
        try v.put("token", kind: .apiKey, secret: Data("tok".utf8))

        var c = try v.get("deploy/github")
        XCTAssertEqual(c.secret, key)
        XCTAssertEqual(c.passphrase, Data("hunter2".utf8))
        XCTAssertEqual(c.metadata.username, "git")
        XCTAssertEqual(c.metadata.host, "github.com")
        XCTAssertEqual(c.metadata.labels, ["env": "prod"])
        XCTAssertEqual(c.metadata.kind, .sshKey)
        XCTAssertFalse("\(c)".contains("OPENSSH"))
        c.wipe()
        XCTAssertTrue(c.secret.isEmpty)
        XCTAssertNil(c.passphrase)

        XCTAssertEqual(try v.list().map(\.name), ["db", "deploy/github", "token"])
        assertCode(.credentialExists, try v.put("db", kind: .password, secret: Data("x".utf8)))
        // Replacing keeps id and creation time.
        let before = try v.metadata("db")
        let replaced = try v.put("db", kind: .password, secret: Data("pw2".utf8), replacing: true)
        XCTAssertEqual(replaced.id, before.id)
        XCTAssertEqual(replaced.createdAt.timeIntervalSince1970, before.createdAt.timeIntervalSince1970, accuracy: 0.001)
        XCTAssertEqual(try v.withCredential(named: "db") { $0.secret }, Data("pw2".utf8))

        assertCode(.credentialNotFound, try v.get("nope"))
        assertCode(.credentialNotFound, try v.metadata("nope"))
        assertCode(.credentialNotFound, try v.delete("nope"))
        assertCode(.credentialNotFound, try v.rename("nope", to: "x"))
        assertCode(.credentialExists, try v.rename("db", to: "token"))

        try v.rename("db", to: "db/primary")
        XCTAssertEqual(try v.get("db/primary").secret, Data("pw2".utf8))
        assertCode(.credentialNotFound, try v.get("db"))
        try v.delete("db/primary")
        assertCode(.credentialNotFound, try v.get("db/primary"))
        XCTAssertEqual(try v.list().count, 2)

        // Bad input: typed errors.
        assertCode(.invalidCredential, try v.put("", kind: .password, secret: Data("x".utf8)))
        assertCode(.invalidCredential, try v.put("-x", kind: .password, secret: Data("x".utf8)))
        assertCode(.invalidCredential, try v.put("a\nb", kind: .password, secret: Data("x".utf8)))
        assertCode(.invalidCredential, try v.put(String(repeating: "n", count: 257), kind: .password, secret: Data("x".utf8)))
        assertCode(.invalidCredential, try v.put("e", kind: .password, secret: Data()))
        assertCode(.invalidCredential, try v.put("e", kind: .password, secret: Data(count: CredentialVault.maximumSecretSize + 1)))
        assertCode(.invalidCredential, try v.put("e", kind: .password, secret: Data("x".utf8), passphrase: Data("p".utf8)))
        assertCode(.invalidCredential, try v.put("e", kind: .apiKey, secret: Data("x".utf8), labels: ["bad key": "v"]))
        assertCode(.invalidCredential, try v.put("e", kind: .apiKey, secret: Data("x".utf8), host: "a\u{0}b"))
        assertCode(.invalidCredential, try CredentialKind(identifier: "gpg-key"))
        assertCode(.invalidCredential, try v.rename("token", to: ""))
        XCTAssertEqual(try CredentialKind(identifier: "api-key"), .apiKey)
        var buffer = Data("to be wiped".utf8)
        CredentialVault.wipe(&buffer)
        XCTAssertTrue(buffer.isEmpty)
    }

    func testSecondConnectionSeesDataAndReopenKeepsSchema() throws {
        do { try openVault().put("a", kind: .apiKey, secret: Data("1".utf8)) }
        let v2 = try openVault()
        XCTAssertEqual(try v2.get("a").secret, Data("1".utf8))
        XCTAssertEqual(try VaultTestSupport.sqlite3(dbURL, "SELECT version FROM schema_version").out, "1\n")
    }

    func testNewerSchemaIsRefused() throws {
        _ = try openVault()
        XCTAssertEqual(try VaultTestSupport.sqlite3(dbURL, "UPDATE schema_version SET version = 99").status, 0)
        assertCode(.unsupportedFormat, try self.openVault())
    }

    func testCiphertextMovedToAnotherRowDoesNotOpen() throws {
        let v = try openVault()
        try v.put("alpha", kind: .apiKey, secret: Data("alpha-secret".utf8))
        try v.put("beta", kind: .apiKey, secret: Data("beta-secret".utf8))
        try v.put("key", kind: .sshKey, secret: Data("ssh-secret".utf8), passphrase: Data("pass".utf8))
        // Another process (the sqlite3 CLI) swaps ciphertexts between rows and between fields.
        var r = try VaultTestSupport.sqlite3(dbURL, "UPDATE credentials SET secret = (SELECT secret FROM credentials WHERE name = 'alpha') WHERE name = 'beta'")
        XCTAssertEqual(r.status, 0, r.err)
        r = try VaultTestSupport.sqlite3(dbURL, "UPDATE credentials SET secret = passphrase WHERE name = 'key'")
        XCTAssertEqual(r.status, 0, r.err)
        let events = EventRecorder(); defer { events.stop() }
        assertCode(.authenticationFailure, try v.get("beta"))
        assertCode(.authenticationFailure, try v.get("key"))
        XCTAssertEqual(try v.get("alpha").secret, Data("alpha-secret".utf8))
        XCTAssertTrue(events.all.contains { $0.action == "secret-read" && $0.outcome == .failure && $0.metadata["credential.name"] == "beta" })
        // Renaming a row through SQL (bypassing the vault) also breaks it: the name is bound.
        r = try VaultTestSupport.sqlite3(dbURL, "UPDATE credentials SET name = 'gamma' WHERE name = 'alpha'")
        XCTAssertEqual(r.status, 0, r.err)
        assertCode(.authenticationFailure, try v.get("gamma"))
        let report = try v.verify()
        XCTAssertEqual(report.opened, 0)
        XCTAssertEqual(Set(report.failures.map(\.name)), ["beta", "gamma", "key"])
    }

    func testNoPlaintextSecretOnDisk() throws {
        // Distinct, recognisable secrets (long enough that a chance match is impossible).
        func secret(_ tag: String) -> Data { Data("SECRET-\(tag)-\(UUID().uuidString)-\(UUID().uuidString)".utf8) }
        let secrets = (0..<20).map { secret("s\($0)") }
        let passphrase = secret("pass")
        let replacedOld = secret("replaced-old"), replacedNew = secret("replaced-new")
        let deleted = secret("deleted"), renamed = secret("renamed")
        let marker = "PLAINTEXT-LABEL-\(UUID().uuidString)"   // metadata is plaintext: the positive control
        let v = try openVault()
        for (i, s) in secrets.enumerated() { try v.put("cred-\(i)", kind: .apiKey, secret: s, labels: i == 0 ? ["marker": marker] : [:]) }
        try v.put("ssh", kind: .sshKey, secret: secret("ssh"), passphrase: passphrase, username: "root", host: "h")
        try v.put("replaced", kind: .password, secret: replacedOld)
        try v.put("replaced", kind: .password, secret: replacedNew, replacing: true)
        try v.put("deleted", kind: .password, secret: deleted)
        try v.delete("deleted")
        try v.put("renamed", kind: .password, secret: renamed)
        try v.rename("renamed", to: "renamed-2")
        try keyring.rotate()
        try v.rotate(batchSize: 7)
        for i in 0..<20 { _ = try v.get("cred-\(i)") }
        let all = secrets + [passphrase, replacedOld, replacedNew, deleted, renamed]

        func scan(_ stage: String) throws {
            let files = try VaultTestSupport.filesIn(dir)
            XCTAssertFalse(VaultTestSupport.occurrences(of: Data(marker.utf8), in: files).isEmpty,
                           "\(stage): the scanner must find the plaintext label (positive control)")
            for s in all {
                XCTAssertEqual(VaultTestSupport.occurrences(of: s, in: files), [], "\(stage): a secret is on disk")
            }
            print("zero-plaintext scan (\(stage)): \(all.count) secrets × 6 encodings over \(files.map { "\($0.0) (\($0.1.count) B)" }.joined(separator: ", ")): none found")
        }
        // With the WAL live (before checkpoint): -wal and -shm exist.
        XCTAssertTrue(FileManager.default.fileExists(atPath: dbURL.path + "-wal"))
        try scan("live WAL")
        try v.checkpoint()
        try scan("after checkpoint")
        // A rollback-journal pass too: the sqlite3 CLI switches to DELETE mode and vacuums, then back to WAL.
        XCTAssertEqual(try VaultTestSupport.sqlite3(dbURL, "PRAGMA journal_mode=DELETE; VACUUM; PRAGMA journal_mode=WAL;").status, 0)
        try scan("after vacuum")
    }

    func testRotateThenRetireOldVersions() throws {
        let v = try openVault()
        for i in 0..<25 { try v.put("c\(i)", kind: .password, secret: Data("secret-\(i)".utf8), passphrase: nil) }
        try v.put("ssh", kind: .sshKey, secret: Data("k".utf8), passphrase: Data("p".utf8))
        XCTAssertEqual(try v.keyVersionCensus(), [1: 26])
        let v2 = try keyring.rotate()
        try v.put("new", kind: .apiKey, secret: Data("n".utf8))
        XCTAssertEqual(try v.keyVersionCensus(), [1: 26, 2: 1])
        let events = EventRecorder(); defer { events.stop() }
        var seen: [RotationProgress] = []
        let final = try v.rotate(batchSize: 10) { seen.append($0) }
        XCTAssertEqual(final.rotated, 26)
        XCTAssertEqual(seen.map(\.rotated), [10, 20, 26])
        XCTAssertEqual(seen.map(\.remaining), [16, 6, 0])
        XCTAssertEqual(try v.keyVersionCensus(), [v2: 27])
        XCTAssertEqual(events.all.filter { $0.action == "secret-rotated" }.count, 26)
        XCTAssertTrue(events.all.filter { $0.action == "secret-rotated" }.allSatisfy { $0.metadata["key.version"] == "\(v2)" })
        // Nothing left to do.
        XCTAssertEqual(try v.rotate().rotated, 0)
        try keyring.retire(below: v2)
        let report = try v.verify()
        XCTAssertTrue(report.isClean, "\(report.failures)")
        XCTAssertEqual(report.opened, 27)
        XCTAssertEqual(try v.get("c7").secret, Data("secret-7".utf8))
        XCTAssertEqual(try v.get("ssh").passphrase, Data("p".utf8))
        assertCode(.invalidParameter, try v.rotate(batchSize: 0))
    }

    func testRetiringBeforeRotationIsDetectedByVerify() throws {
        let v = try openVault()
        try v.put("old", kind: .password, secret: Data("x".utf8))
        let v2 = try keyring.rotate()
        try keyring.retire(below: v2)
        let report = try v.verify()
        XCTAssertEqual(report.failures.map(\.name), ["old"])
        XCTAssertThrowsError(try v.rotate())
    }

    func testAuditEventsNeverCarrySecrets() throws {
        let events = EventRecorder(); defer { events.stop() }
        let v = try openVault()
        let s = "audit-secret-\(UUID().uuidString)"
        try v.put("a", kind: .apiKey, secret: Data(s.utf8))
        _ = try v.get("a")
        try v.rename("a", to: "b")
        try keyring.rotate()
        try v.rotate()
        try v.delete("b")
        XCTAssertEqual(events.actions(for: "a"), ["secret-written", "secret-read"])
        XCTAssertEqual(events.actions(for: "b"), ["secret-written", "secret-rotated", "secret-deleted"])
        for e in events.all {
            XCTAssertFalse("\(e)".contains(s))
        }
        // The vault's own events (the keyring raises key-management events of its own).
        for e in events.all where e.metadata["credential.name"] != nil {
            XCTAssertEqual(e.category, .access)
            XCTAssertNotNil(e.metadata["credential.kind"])
            XCTAssertNotNil(e.metadata["key.version"])
            XCTAssertFalse("\(e)".contains(s))
        }
    }

    func testFilePermissions() throws {
        let nested = dir.appendingPathComponent("new/sub/vault.db")
        let v = try CredentialVault(path: nested.path, keyring: keyring)
        try v.put("a", kind: .apiKey, secret: Data("1".utf8))
        func mode(_ p: String) throws -> Int { (try FileManager.default.attributesOfItem(atPath: p)[.posixPermissions] as! NSNumber).intValue }
        XCTAssertEqual(try mode(nested.path), 0o600)
        XCTAssertEqual(try mode(nested.path + "-wal"), 0o600)
        XCTAssertEqual(try mode(nested.deletingLastPathComponent().path), 0o700)
        XCTAssertEqual(try mode(dir.appendingPathComponent("new").path), 0o700)
        // An existing database others can read is refused.
        let loose = dir.appendingPathComponent("loose.db")
        _ = FileManager.default.createFile(atPath: loose.path, contents: nil, attributes: [.posixPermissions: 0o644])
        assertCode(.insecurePermissions, try CredentialVault(path: loose.path, keyring: self.keyring))
    }

    func testConcurrentWritersOnSeparateConnections() throws {
        let path = dbURL.path
        _ = try openVault()
        let errors = EventRecorder() // unused recorder keeps handler count realistic
        defer { errors.stop() }
        let k: Keyring = keyring
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            do {
                let v = try CredentialVault(path: path, keyring: k, busyTimeout: .seconds(20))
                for i in 0..<25 { try v.put("t\(t)-\(i)", kind: .password, secret: Data("\(t)-\(i)".utf8)) }
            } catch { XCTFail("writer \(t): \(error)") }
        }
        let v = try openVault()
        XCTAssertEqual(try v.list().count, 100)
        XCTAssertEqual(try v.get("t3-24").secret, Data("3-24".utf8))
    }
}
