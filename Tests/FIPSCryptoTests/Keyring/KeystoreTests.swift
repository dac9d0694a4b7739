import Foundation
import Synchronization
import XCTest
import FIPSCrypto
import FIPSTestSupport

final class KeystoreTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        try FIPSModule.load()
        dir = try TestSupport.temporaryDirectory("keystore").appendingPathComponent("ks")
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }

    var kekURL: URL { dir.appendingPathComponent("kek") }

    func mode(_ url: URL) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as! NSNumber).intValue
    }

    func testInitializeLoadPersistAndRefuseOverwrite() throws {
        let store = try Keystore.initialize(directory: dir, kek: .file(kekURL))
        XCTAssertEqual(try mode(dir), 0o700)
        XCTAssertEqual(try mode(kekURL), 0o600)
        XCTAssertEqual(try mode(store.keyringFile), 0o600)
        XCTAssertEqual(try Data(contentsOf: kekURL).count, 32)
        assertKeyringError(.invalidKeyringState, try Keystore.initialize(directory: dir, kek: .file(kekURL)))

        let ring = try store.load()
        XCTAssertEqual(ring.primaryVersion, 1)
        let e1 = try ring.encrypt(Data("one".utf8), context: "c")
        _ = try ring.encrypt(Data("two".utf8), context: "d")
        try ring.addVersion(); try ring.rotate(); try ring.retire(version: 2); try ring.destroy(version: 2)
        try ring.setMinimumEncryptionVersion(3)
        try store.save(ring)

        let again = try Keystore(directory: dir, kek: .file(kekURL)).load()
        XCTAssertEqual(again.primaryVersion, 3)
        XCTAssertEqual(again.minimumEncryptionVersion, 3)
        XCTAssertEqual(again.versions.map(\.state), [.active, .destroyed, .active])
        XCTAssertEqual(again.versions.map(\.sealCount), [2, 0, 0])    // the seal high-water mark survives a restart
        XCTAssertEqual(again.versions.map(\.createdAt.timeIntervalSince1970).map { ($0 * 1000).rounded() },
                       ring.versions.map(\.createdAt.timeIntervalSince1970).map { ($0 * 1000).rounded() })
        XCTAssertEqual(try again.decrypt(e1, context: "c"), Data("one".utf8))
        XCTAssertEqual(try again.deriveKey(purpose: "audit", version: 1), try ring.deriveKey(purpose: "audit", version: 1))
        _ = try again.encrypt(Data(), context: "c")
        try store.save(again)
        XCTAssertEqual(try store.load().versions.map(\.sealCount), [2, 0, 1])
    }

    func testPermissionsRefused() throws {
        let store = try Keystore.initialize(directory: dir, kek: .file(kekURL))
        func expectRefused(_ path: URL, _ bad: Int, _ good: Int, _ fix: String) throws {
            XCTAssertEqual(chmod(path.path, mode_t(bad)), 0)
            do { _ = try store.load(); XCTFail("loaded with \(String(bad, radix: 8)) on \(path.path)") } catch let e as FIPSError {
                XCTAssertEqual(e.code, .insecurePermissions)
                XCTAssertTrue(e.reason.contains("\(fix) \(path.path)"), e.reason)
            }
            XCTAssertEqual(chmod(path.path, mode_t(good)), 0)
            XCTAssertNoThrow(try store.load())
        }
        try expectRefused(store.keyringFile, 0o644, 0o600, "chmod 600")
        try expectRefused(kekURL, 0o644, 0o600, "chmod 600")
        try expectRefused(kekURL, 0o640, 0o600, "chmod 600")
        try expectRefused(dir, 0o755, 0o700, "chmod 700")
        // a symlinked KEK is refused too
        let elsewhere = dir.deletingLastPathComponent().appendingPathComponent("kek-elsewhere")
        try FileManager.default.moveItem(at: kekURL, to: elsewhere)
        try FileManager.default.createSymbolicLink(at: kekURL, withDestinationURL: elsewhere)
        assertKeyringError(.insecurePermissions, try store.load())
    }

    func testOwnedByAnotherUserRefused() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to chown a file to another uid") }
        let store = try Keystore.initialize(directory: dir, kek: .file(kekURL))
        XCTAssertEqual(chown(kekURL.path, 65534, 65534), 0)
        assertKeyringError(.insecurePermissions, try store.load())
    }

    func testWrongKEKTamperedAndBadFiles() throws {
        let store = try Keystore.initialize(directory: dir, kek: .file(kekURL))
        let other = dir.deletingLastPathComponent().appendingPathComponent("other-kek")
        try SecureRandom.bytes(count: 32).write(to: other)
        XCTAssertEqual(chmod(other.path, 0o600), 0)
        assertKeyringError(.authenticationFailure, try Keystore(directory: dir, kek: .file(other)).load())
        try SecureRandom.bytes(count: 31).write(to: other)
        assertKeyringError(.invalidEncoding, try Keystore(directory: dir, kek: .file(other)).load())
        assertKeyringError(.invalidKeyringState, try Keystore(directory: dir, kek: .passphrase("correct horse battery")).load())

        var bytes = try Data(contentsOf: store.keyringFile)
        let original = bytes
        bytes[bytes.count - 20] ^= 1
        try bytes.write(to: store.keyringFile)
        assertKeyringError(.authenticationFailure, try store.load())
        bytes = original; bytes[4] = 9
        try bytes.write(to: store.keyringFile)
        assertKeyringError(.unsupportedFormat, try store.load())
        bytes = original; bytes[0] = 0
        try bytes.write(to: store.keyringFile)
        assertKeyringError(.invalidEncoding, try store.load())
        try original.prefix(20).write(to: store.keyringFile)
        assertKeyringError(.invalidEncoding, try store.load())
        try FileManager.default.removeItem(at: store.keyringFile)
        assertKeyringError(.ioFailure, try store.load())
    }

    func testPassphraseKeystore() throws {
        let store = try Keystore.initialize(directory: dir, kek: .passphrase("correct horse battery staple"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: kekURL.path))
        let e = try store.update { ring -> Data in try ring.rotate(); return try ring.encrypt(Data("x".utf8), context: "p") }
        let reopened = try Keystore(directory: dir, kek: .passphrase("correct horse battery staple")).load()
        XCTAssertEqual(reopened.primaryVersion, 2)
        XCTAssertEqual(try reopened.decrypt(e, context: "p"), Data("x".utf8))
        assertKeyringError(.authenticationFailure, try Keystore(directory: dir, kek: .passphrase("wrong horse battery staple")).load())
        assertKeyringError(.invalidKeyringState, try Keystore(directory: dir, kek: .file(kekURL)).load())
        // header: magic, version 1, kind 2, iterations 600000 big-endian, salt 32 bytes
        let h = Array(try Data(contentsOf: store.keyringFile).prefix(11))
        XCTAssertEqual(h, Array("FCKs".utf8) + [1, 2, 0x00, 0x09, 0x27, 0xC0, 32])
    }

    func testConcurrentThreadUpdatesKeepEveryVersion() throws {
        _ = try Keystore.initialize(directory: dir, kek: .file(kekURL))
        let failures = Atomic<Int>(0)
        let d = dir!, k = kekURL
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let store = Keystore(directory: d, kek: .file(k))   // separate handles, separate lock descriptors
            for _ in 0..<3 {
                do { _ = try store.update { try $0.rotate() } } catch { failures.add(1, ordering: .relaxed) }
            }
        }
        XCTAssertEqual(failures.load(ordering: .relaxed), 0)
        XCTAssertEqual(try Keystore(directory: dir, kek: .file(kekURL)).load().versions.map(\.version), Array(1...13))
    }

    func testFromEnvironmentRequiresDirectory() throws {
        if ProcessInfo.processInfo.environment["FIPSCRYPTO_KEYSTORE"] == nil {
            assertKeyringError(.invalidParameter, try Keystore.fromEnvironment())
        }
    }

    // MARK: - Across processes (the built fipsctl)

    func fipsctl(_ args: [String], env: [String: String] = [:]) throws -> TestSupport.ProcessResult {
        guard FileManager.default.isExecutableFile(atPath: TestSupport.fipsctl) else {
            throw XCTSkip("fipsctl is not built at \(TestSupport.fipsctl) (run swift build first)")
        }
        return try TestSupport.fipsctl(args, environment: env.merging(["FIPSCRYPTO_KEYSTORE": dir.path]) { a, _ in a },
                                       removingEnvironment: ["FIPSCRYPTO_KEK_FILE", "FIPSCRYPTO_KEK_PASSPHRASE_FILE"])
    }

    func testCrashBeforeRenameLeavesOldKeyring() throws {
        let store = try Keystore.initialize(directory: dir, kek: .file(kekURL))
        let envelope = try store.update { try $0.encrypt(Data("survives".utf8), context: "crash") }
        let before = try Data(contentsOf: store.keyringFile)
        let r = try fipsctl(["key", "rotate"], env: ["FIPSCRYPTO_TEST_CRASH_BEFORE_RENAME": "1"])
        XCTAssertEqual(r.status, 9, r.err)
        XCTAssertEqual(try Data(contentsOf: store.keyringFile), before)
        let ring = try store.load()
        XCTAssertEqual(ring.primaryVersion, 1)
        XCTAssertEqual(try ring.decrypt(envelope, context: "crash"), Data("survives".utf8))
        // the orphaned temporary file is there, 0600, and does not disturb the next write
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("keyring.tmp-") }
        XCTAssertEqual(leftovers.count, 1)
        XCTAssertEqual(try mode(dir.appendingPathComponent(leftovers[0])), 0o600)
        XCTAssertEqual(try fipsctl(["key", "rotate"]).status, 0)
        XCTAssertEqual(try store.load().primaryVersion, 2)
    }

    func testTwoConcurrentRotateProcessesKeepBothVersions() throws {
        _ = try Keystore.initialize(directory: dir, kek: .file(kekURL))
        let results = Mutex<[Int32]>([])
        let d = dir!
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            let r = try? TestSupport.fipsctl(["key", "rotate", "--keystore", d.path],
                                             removingEnvironment: ["FIPSCRYPTO_KEK_FILE", "FIPSCRYPTO_KEK_PASSPHRASE_FILE"])
            results.withLock { $0.append(r?.status ?? -1) }
        }
        XCTAssertEqual(results.withLock { $0 }, [0, 0])
        let ring = try Keystore(directory: dir, kek: .file(kekURL)).load()
        XCTAssertEqual(ring.versions.map(\.version), [1, 2, 3])
        XCTAssertEqual(ring.primaryVersion, 3)
    }
}
