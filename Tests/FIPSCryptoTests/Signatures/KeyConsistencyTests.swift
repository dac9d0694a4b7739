import XCTest
import Foundation
import FIPSCrypto
import FIPSTestSupport

/// A private key whose public half does not belong to its private half is refused on load (found by
/// `scripts/fuzz keys`, docs/FUZZING.md): such a key signs with one key while its public key, fingerprint and
/// certificate name another, so every signature it makes fails to verify.
final class KeyConsistencyTests: XCTestCase {
    /// The fuzzer's input, minimised: a P-521 SEC1 `ECPrivateKey` (made by python3 `cryptography`) with one bit of
    /// the private scalar flipped; the embedded public key is the original one. `openssl pkey -check` rejects it.
    static let p521FlippedScalarDER = "3081dc020101044201bf9b993e01fd71da5f5a627bf9364dbdf04ae635863d574e7ebb9534a6196bd0eec2e77e8493f5c5f032027c0929a3f0eb0f92e6f15a99c6ddda018905f6d2decfa00706052b81040023a18189038186000400aea1b6140ca9ac7508e606a4f822a63924ec2ec7727ea1dfcc27d2e59303a8a047aaffa641954ff7a1932a5e042ac99578b2287646cba75bdfe7301eb8cf50d49100762ebfd6b97d19f1a66ecd9e627a1f5d34c4676e5687b6d534ce0bf8c0f14cf5e398ac393c7a656873f88761c141fc2c83d153ea2d45d51924e5fa65d58b8237c0"

    private func assertInvalidEncoding<T>(_ what: String, _ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), what, file: file, line: line) { error in
            guard let e = error as? FIPSError else { return XCTFail("\(what): not a FIPSError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.code, .invalidEncoding, "\(what): \(e)", file: file, line: line)
        }
    }

    func testFuzzFoundP521KeyWithFlippedScalarIsRefused() throws {
        let der = TestSupport.bytes(hex: Self.p521FlippedScalarDER)
        // An independent peer agrees the key is inconsistent (so the test data is what it claims to be).
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("key.der")
        try Data(der).write(to: file)
        let check = try TestSupport.run("openssl", ["pkey", "-inform", "DER", "-in", file.path, "-check", "-noout"])
        XCTAssertNotEqual(check.status, 0, "openssl pkey -check accepted the test key")

        assertInvalidEncoding("DER") { try SigningPrivateKey(derRepresentation: der) }
        let pem = "-----BEGIN EC PRIVATE KEY-----\n" + Data(der).base64EncodedString(options: .lineLength64Characters)
            + "\n-----END EC PRIVATE KEY-----\n"
        assertInvalidEncoding("PEM") { try SigningPrivateKey(pemRepresentation: pem) }
    }

    /// A P-256 SEC1 key whose private scalar comes from a second key (python3 `cryptography` makes both) is refused;
    /// the unspliced key still loads and its signatures verify under its public key.
    func testSplicedP256KeyIsRefused() throws {
        let script = """
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives import serialization as s
        der = lambda k: k.private_bytes(s.Encoding.DER, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption())
        a, b = der(ec.generate_private_key(ec.SECP256R1())), der(ec.generate_private_key(ec.SECP256R1()))
        assert a[5:7] == b"\\x04\\x20"
        print(a.hex(), (a[:7] + b[7:39] + a[39:]).hex())
        """
        let r = try TestSupport.run("python3", ["-c", script])
        guard r.status == 0 else { throw XCTSkip("python3 cryptography could not make the keys") }
        let parts = String(decoding: r.stdout, as: UTF8.self).split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        XCTAssertEqual(parts.count, 2)
        let good = try SigningPrivateKey(derRepresentation: TestSupport.bytes(hex: parts[0]))
        let signature = try good.signature(for: Array("message".utf8))
        XCTAssertTrue(good.publicKey.isValidSignature(signature, for: Array("message".utf8)))
        assertInvalidEncoding("spliced") { try SigningPrivateKey(derRepresentation: TestSupport.bytes(hex: parts[1])) }
    }
}
