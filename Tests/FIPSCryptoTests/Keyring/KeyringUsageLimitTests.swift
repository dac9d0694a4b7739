import Foundation
import XCTest
@testable import FIPSCrypto
import FIPSTestSupport

/// SP 800-38D's 2^32 AES-GCM invocation limit per key version: warning, refusal, and persistence across a restart.
/// (The counter is advanced through internal state; sealing 2^32 messages would take hours.)
final class KeyringUsageLimitTests: XCTestCase {
    override func setUpWithError() throws { try FIPSModule.load() }

    func material(_ ring: Keyring, _ v: Int) -> KeyVersionMaterial {
        ring.state.withLock { $0.entries[v]!.material! }
    }

    func testWarnThenRefuseAtTheLimitAndPersist() throws {
        let ring = try Keyring.generate()
        let events = KeyringEventRecorder()
        let m = material(ring, 1)
        m.seals.store(Keyring.sealWarningThreshold - 1, ordering: .relaxed)
        _ = try ring.encrypt(Data("a".utf8), context: "c")
        XCTAssertFalse(events.all.contains { $0.action == "key-usage-warning" })
        _ = try ring.encrypt(Data("b".utf8), context: "c")
        XCTAssertTrue(events.all.contains { $0.action == "key-usage-warning" && $0.metadata["key.version"] == "1" })

        m.seals.store(ApprovedPolicy.gcmInvocationLimit - 1, ordering: .relaxed)
        let last = try ring.encrypt(Data("last".utf8), context: "c")
        assertKeyringError(.usageLimitExceeded, try ring.encrypt(Data("one too many".utf8), context: "c"))
        assertKeyringError(.usageLimitExceeded, try ring.encrypt(Data(), context: "other"))
        XCTAssertTrue(events.all.contains { $0.action == "key-usage-limit" && $0.outcome == .failure })
        XCTAssertEqual(ring.versions[0].sealCount, ApprovedPolicy.gcmInvocationLimit)
        XCTAssertEqual(try ring.decrypt(last, context: "c"), Data("last".utf8))   // opening is not limited

        // the high-water mark survives save + load
        let dir = try TestSupport.temporaryDirectory("limit").appendingPathComponent("ks")
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let store = try Keystore.initialize(directory: dir, kek: .file(dir.appendingPathComponent("kek")))
        try store.save(ring)
        let reloaded = try store.load()
        XCTAssertEqual(reloaded.versions[0].sealCount, ApprovedPolicy.gcmInvocationLimit)
        assertKeyringError(.usageLimitExceeded, try reloaded.encrypt(Data("x".utf8), context: "c"))
        try reloaded.rotate()
        let fresh = try reloaded.encrypt(Data("x".utf8), context: "c")
        XCTAssertEqual(try Keyring.keyVersion(of: fresh), 2)
        assertKeyringError(.usageLimitExceeded, try reloaded.rewrap(fresh, context: "c", authenticating: Data(), toVersion: 1))
        events.stop()
    }

    func testSubkeyIsSeededWithThePersistedCount() throws {
        let ring = try Keyring.generate()
        material(ring, 1).seals.store(1234, ordering: .relaxed)
        let k = try ring.encryptionKey(context: "fresh-context", version: nil)
        XCTAssertEqual(k.subkey.gcmInvocationCount, 1234)
        _ = try ring.encrypt(Data("x".utf8), context: "fresh-context")
        XCTAssertEqual(k.subkey.gcmInvocationCount, 1235)
        XCTAssertEqual(ring.versions[0].sealCount, 1235)
    }
}
