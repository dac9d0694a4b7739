import Foundation
import XCTest
import FIPSCrypto
import FIPSVault
import FIPSTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// SIGKILL in the middle of `fipsctl vault rotate` (the built fipsctl as a child process, slowed or stopped by its
/// test-only hook FIPSCRYPTO_TEST_VAULT_ROTATION): every credential still opens, and running rotate again finishes.
final class RotationCrashTests: XCTestCase {
    var dir: URL!
    var keysDir: URL { dir.appendingPathComponent("keys") }
    var db: String { dir.appendingPathComponent("vault.db").path }
    let count = 600

    override func setUpWithError() throws {
        dir = try TestSupport.temporaryDirectory("fipsvault-crash")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// A keystore with `count` credentials under version 1, then a new primary version 2.
    func populate() throws -> Keystore {
        let store = try Keystore.initialize(directory: keysDir, kek: .file(keysDir.appendingPathComponent("kek")))
        let v = try CredentialVault(path: db, keyring: try store.load())
        for i in 0..<count {
            try v.put("c\(i)", kind: i % 3 == 0 ? .sshKey : .apiKey, secret: Data("secret-\(i)".utf8),
                      passphrase: i % 3 == 0 ? Data("pass-\(i)".utf8) : nil)
        }
        XCTAssertEqual(try store.update { try $0.rotate() }, 2)
        return store
    }

    /// Every credential opens with the keystore's keyring and holds its original secret.
    func assertAllOpen(_ store: Keystore, file: StaticString = #filePath, line: UInt = #line) throws {
        let v = try CredentialVault(path: db, keyring: try store.load())
        let report = try v.verify()
        XCTAssertTrue(report.isClean, "\(report.failures.prefix(3))", file: file, line: line)
        XCTAssertEqual(report.opened, count, file: file, line: line)
        XCTAssertEqual(try v.get("c\(count - 1)").secret, Data("secret-\(count - 1)".utf8), file: file, line: line)
        XCTAssertEqual(try v.get("c3").passphrase, Data("pass-3".utf8), file: file, line: line)
    }

    func rotateArgs(batch: Int) -> [String] {
        ["vault", "rotate", "--batch-size", "\(batch)", "--db", db, "--keystore", keysDir.path]
    }

    func testSelfKillInsideThirdBatchThenResume() throws {
        let store = try populate()
        // The child SIGKILLs itself inside batch 3, after rewrapping its rows but before COMMIT.
        let r = try TestSupport.fipsctl(rotateArgs(batch: 100), environment: ["FIPSCRYPTO_TEST_VAULT_ROTATION": "kill-in-batch:3"])
        XCTAssertEqual(r.status, 128 + SIGKILL, r.err)
        XCTAssertTrue(r.err.contains("rotated 200 (400 remaining)"), r.err)
        let census = try CredentialVault(path: db, keyring: try store.load()).keyVersionCensus()
        XCTAssertEqual(census, [1: count - 200, 2: 200], "batches 1-2 committed, batch 3 rolled back")
        try assertAllOpen(store)
        // Resume.
        let again = try TestSupport.fipsctl(rotateArgs(batch: 100))
        XCTAssertEqual(again.status, 0, again.err)
        XCTAssertTrue(again.out.contains("rotated \(count - 200) credentials to key version 2"), again.out)
        XCTAssertEqual(try CredentialVault(path: db, keyring: try store.load()).keyVersionCensus(), [2: count])
        try assertAllOpen(store)
    }

    func testExternalSIGKILLMidRotationThenResume() throws {
        let store = try populate()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestSupport.fipsctl)
        p.arguments = rotateArgs(batch: 50)
        var env = ProcessInfo.processInfo.environment
        env["FIPSCRYPTO_TEST_VAULT_ROTATION"] = "delay-ms:150"   // slow each batch so the kill lands mid-rotation
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Watch the database from this process until at least one batch has committed, then SIGKILL the child.
        let watcher = try CredentialVault(path: db, keyring: try store.load())
        let deadline = Date().addingTimeInterval(60)
        while (try watcher.keyVersionCensus()[2] ?? 0) < 50 && Date() < deadline && p.isRunning { usleep(10_000) }
        XCTAssertTrue(p.isRunning, "the rotation finished before the kill; the hook did not slow it")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        XCTAssertEqual(p.terminationStatus, SIGKILL)
        let census = try watcher.keyVersionCensus()
        let moved = census[2] ?? 0
        XCTAssertTrue(moved >= 50 && moved < count && moved % 50 == 0, "\(census)")
        XCTAssertEqual(census.values.reduce(0, +), count)
        try assertAllOpen(store)
        let again = try TestSupport.fipsctl(rotateArgs(batch: 50))
        XCTAssertEqual(again.status, 0, again.err)
        XCTAssertEqual(try watcher.keyVersionCensus(), [2: count])
        // Old versions can now be retired; everything still opens.
        try store.update { try $0.retire(below: 2) }
        try assertAllOpen(store)
    }
}
