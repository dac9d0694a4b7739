import XCTest
import Foundation
@testable import FIPSCrypto
import FIPSTestSupport

/// Regressions for findings of the line-by-line review of the trusted core.
final class ReviewRegressionTests: XCTestCase {
    /// A DER key with trailing bytes is refused, and the refusal leaves no OpenSSL errors queued for the next call
    /// (the decoder's non-matching attempts used to stay on the thread's queue).
    func testTrailingDERRefusalLeavesNoStaleOpenSSLErrors() throws {
        let key = P256.Signing.PrivateKey()
        let spki = key.publicKey.derRepresentation
        _ = drainOpenSSLErrors()
        XCTAssertThrowsError(try SigningPublicKey(derRepresentation: spki + [0])) { error in
            XCTAssertEqual((error as? FIPSError)?.code, .invalidEncoding)
        }
        XCTAssertEqual(drainOpenSSLErrors(), [], "stale OpenSSL errors after a handled refusal")
        XCTAssertThrowsError(try P256.Signing.PrivateKey(derRepresentation: key.derRepresentation + [0, 0])) { error in
            XCTAssertEqual((error as? FIPSError)?.code, .invalidEncoding)
        }
        XCTAssertEqual(drainOpenSSLErrors(), [], "stale OpenSSL errors after a handled refusal")
        // The decoder writes its result through a slot that outlives the decoder context: decoding still works.
        XCTAssertEqual(try SigningPublicKey(derRepresentation: spki).derRepresentation, spki)
    }

    /// Encrypted PKCS#8 export refuses an iteration count that does not fit OpenSSL's `int` instead of trapping.
    func testEncryptedExportRefusesIterationCountBeyondInt32() throws {
        let key = SigningPrivateKey(P256.Signing.PrivateKey())
        XCTAssertThrowsError(try key.pemRepresentation(passphrase: "correct horse battery", iterations: Int(Int32.max) + 1)) { error in
            XCTAssertEqual((error as? FIPSError)?.code, .notApproved)
        }
    }

    /// A symbolic link planted at `keyring.lock` is refused: saving never creates or locks a file elsewhere.
    func testKeystoreLockFileLinkIsNotFollowed() throws {
        try FIPSModule.load()
        let root = try TestSupport.temporaryDirectory("review-lock")
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("ks")
        let store = try Keystore.initialize(directory: dir, kek: .file(dir.appendingPathComponent("kek")))
        let lock = dir.appendingPathComponent("keyring.lock"), elsewhere = root.appendingPathComponent("elsewhere")
        try? FileManager.default.removeItem(at: lock)
        try FileManager.default.createSymbolicLink(at: lock, withDestinationURL: elsewhere)
        XCTAssertThrowsError(try store.update { _ = try $0.rotate() }) { error in
            XCTAssertEqual((error as? FIPSError)?.code, .ioFailure)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: elsewhere.path), "the link's target was created")
        XCTAssertEqual(try store.load().versions.count, 1)
    }

    /// An absurd key size is a typed error from `generate(size:)`, not a trap in the allocator.
    func testGenerateRefusesAbsurdKeySize() throws {
        XCTAssertThrowsError(try SymmetricKey.generate(size: SymmetricKeySize(bitCount: 1 << 60))) { error in
            XCTAssertEqual((error as? FIPSError)?.code, .invalidKeySize)
        }
        XCTAssertEqual(try SymmetricKey.generate(size: .bits256).bitCount, 256)
    }

    /// `Keystore.initialize` on a path that is a symbolic link to a directory refuses it without touching the
    /// target's permissions (it used to chmod the target to 0700 before noticing the link).
    func testInitializeOnALinkDoesNotChmodItsTarget() throws {
        try FIPSModule.load()
        let root = try TestSupport.temporaryDirectory("review-init-link")
        defer { try? FileManager.default.removeItem(at: root) }
        let target = root.appendingPathComponent("shared")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        XCTAssertEqual(chmod(target.path, 0o755), 0)
        let link = root.appendingPathComponent("ks")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
        XCTAssertThrowsError(try Keystore.initialize(directory: link, kek: .file(target.appendingPathComponent("kek")))) { error in
            XCTAssertEqual((error as? FIPSError)?.code, .ioFailure)
        }
        let mode = (try FileManager.default.attributesOfItem(atPath: target.path)[.posixPermissions] as? NSNumber)?.intValue
        XCTAssertEqual(mode, 0o755, "the link's target was chmodded")
        XCTAssertFalse(FileManager.default.fileExists(atPath: target.appendingPathComponent("kek").path))
    }

    /// A passphrase keystore whose (not yet authenticated) header asks for 2^32 - 1 PBKDF2 rounds is refused at
    /// once instead of running them.
    func testKeystoreHeaderWithAbsurdIterationCountIsRefusedBeforePBKDF2() throws {
        try FIPSModule.load()
        let root = try TestSupport.temporaryDirectory("review-iter")
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("ks")
        let store = try Keystore.initialize(directory: dir, kek: .passphrase("correct horse battery staple"))
        var file = try Data(contentsOf: store.keyringFile)
        XCTAssertEqual(Array(file[0..<6]), [0x46, 0x43, 0x4B, 0x73, 1, 2])
        file.replaceSubrange(6..<10, with: [0xff, 0xff, 0xff, 0xff])
        try file.write(to: store.keyringFile)
        let start = ContinuousClock.now
        XCTAssertThrowsError(try Keystore(directory: dir, kek: .passphrase("correct horse battery staple")).load()) { error in
            XCTAssertEqual((error as? FIPSError)?.code, .invalidEncoding)
        }
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(5))
    }

    /// HKDF-Extract's pseudorandom key (a secret) comes back as a `HashedAuthenticationCode`: neither its
    /// description nor `dump` may print its bytes.
    func testHKDFExtractPRKIsNotPrintedByDescriptionOrDump() throws {
        let prk = try HKDF<SHA256>.extract(inputKeyMaterial: SymmetricKey(data: [UInt8](repeating: 0x0b, count: 22)),
                                            salt: Array(0..<13) as [UInt8])
        let hex = prk.map { String(format: "%02x", $0) }.joined()
        XCTAssertEqual(hex, "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5") // RFC 5869 A.1 PRK
        XCTAssertEqual(prk.description, "HMAC<SHA256>(32 bytes, redacted)")
        var dumped = ""
        dump(prk, to: &dumped)
        XCTAssertFalse("\(prk) \(String(reflecting: prk)) \(dumped)".contains(hex.prefix(16)), dumped)
    }
}
