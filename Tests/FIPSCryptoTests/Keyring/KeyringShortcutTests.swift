import XCTest
import FIPSCrypto

/// The keyring reuses the last (version, context) subkey on the hot path; every state change must invalidate it.
final class KeyringShortcutTests: XCTestCase {
    func testLastUsedSubkeyNeverOutlivesAStateChange() throws {
        let ring = try Keyring.generate()
        let ctx = "shortcut.test"
        func sealVersion() throws -> Int { try Keyring.keyVersion(of: try ring.encrypt(Data("m".utf8), context: ctx)) }
        XCTAssertEqual(try sealVersion(), 1)
        XCTAssertEqual(try sealVersion(), 1)          // second call takes the shortcut
        try ring.rotate()
        XCTAssertEqual(try sealVersion(), 2, "rotation must move sealing to the new primary")
        XCTAssertEqual(try sealVersion(), 2)
        let staged = try ring.addVersion()
        XCTAssertEqual(try sealVersion(), 2, "a staged version does not seal before promotion")
        try ring.promote(version: staged)
        XCTAssertEqual(try sealVersion(), staged)

        let v2 = try ring.encrypt(Data("two".utf8), context: ctx, authenticating: Data())
        let underTwo = try ring.rewrap(v2, context: ctx, authenticating: Data(), toVersion: 2)
        XCTAssertEqual(try Keyring.keyVersion(of: underTwo), 2)
        XCTAssertEqual(try ring.decrypt(underTwo, context: ctx), Data("two".utf8))
        XCTAssertEqual(try ring.decrypt(underTwo, context: ctx), Data("two".utf8))   // shortcut for (2, ctx)
        try ring.retire(version: 2)
        XCTAssertThrowsError(try ring.decrypt(underTwo, context: ctx)) { e in
            XCTAssertEqual((e as? FIPSError)?.code, .keyVersionUnavailable, "a retired version must not open via the shortcut")
        }
        try ring.reinstate(version: 2)
        XCTAssertEqual(try ring.decrypt(underTwo, context: ctx), Data("two".utf8))
        try ring.setMinimumDecryptionVersion(3)
        XCTAssertThrowsError(try ring.decrypt(underTwo, context: ctx)) { e in
            XCTAssertEqual((e as? FIPSError)?.code, .keyVersionTooOld)
        }
        // Another context never reuses this one's subkey.
        XCTAssertThrowsError(try ring.decrypt(try ring.encrypt(Data("x".utf8), context: ctx), context: "other.context"))
    }
}
