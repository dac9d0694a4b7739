import XCTest
import Foundation
import FIPSCrypto
import FIPSTestSupport

/// Keys outside the policy, malformed encodings and wrong-length signatures get typed errors (or `false`).
///
/// The non-approved keys are test data made by python3 `cryptography` (its own OpenSSL, default context).
final class SignatureBadInputTests: XCTestCase {
    /// PEMs keyed by name: "<kind>.priv" (PKCS#8) and "<kind>.pub" (SPKI), plus DER hex "<kind>.privder".
    nonisolated(unsafe) static var foreign: [String: String] = [:]

    override class func setUp() {
        super.setUp()
        let script = """
        import json
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, dsa
        from cryptography.hazmat.primitives import serialization as s
        keys = {
          "rsa1024": rsa.generate_private_key(65537, 1024),
          "p192": ec.generate_private_key(ec.SECP192R1()),
          "secp256k1": ec.generate_private_key(ec.SECP256K1()),
          "ed25519": ed25519.Ed25519PrivateKey.generate(),
          "dsa2048": dsa.generate_private_key(2048),
          "rsa2048e3": rsa.generate_private_key(3, 2048),
        }
        out = {}
        for n, k in keys.items():
            out[n + ".priv"] = k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()).decode()
            out[n + ".privder"] = k.private_bytes(s.Encoding.DER, s.PrivateFormat.PKCS8, s.NoEncryption()).hex()
            out[n + ".pub"] = k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo).decode()
        out["secp256k1.sec1"] = keys["secp256k1"].private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()).decode()
        out["p192.sec1"] = keys["p192"].private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()).decode()
        p256 = ec.generate_private_key(ec.SECP256R1())
        out["p256legacy.priv"] = p256.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL,
                                                    s.BestAvailableEncryption(b"legacy passphrase")).decode()
        print(json.dumps(out))
        """
        if let r = try? TestSupport.run("python3", ["-c", script]), r.status == 0,
           let dict = try? JSONDecoder().decode([String: String].self, from: r.stdout) {
            foreign = dict
        }
    }

    private func key(_ name: String) throws -> String {
        guard let v = Self.foreign[name] else { throw XCTSkip("python3 cryptography could not make \(name)") }
        return v
    }

    private func assertCode<T>(_ code: FIPSError.Code, _ what: String, _ body: () throws -> T,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), what, file: file, line: line) { error in
            guard let e = error as? FIPSError else { return XCTFail("\(what): not a FIPSError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.code, code, "\(what): \(e)", file: file, line: line)
        }
    }

    func testNonApprovedPrivateKeysAreRefused() throws {
        for name in ["rsa1024", "p192", "secp256k1", "ed25519", "dsa2048", "rsa2048e3"] {
            let pem = try key("\(name).priv")
            assertCode(.notApproved, "\(name) SigningPrivateKey PEM") { try SigningPrivateKey(pemRepresentation: pem) }
            assertCode(.notApproved, "\(name) SigningPrivateKey DER") {
                try SigningPrivateKey(derRepresentation: TestSupport.bytes(hex: try self.key("\(name).privder")))
            }
            assertCode(.notApproved, "\(name) P256 PrivateKey") { try P256.Signing.PrivateKey(pemRepresentation: pem) }
            assertCode(.notApproved, "\(name) RSA PrivateKey") { try RSA.Signing.PrivateKey(pemRepresentation: pem) }
        }
    }

    func testNonApprovedSEC1KeysAreRefused() throws {
        for name in ["secp256k1", "p192"] {
            let pem = try key("\(name).sec1")
            XCTAssertTrue(pem.contains("BEGIN EC PRIVATE KEY"))
            assertCode(.notApproved, "\(name) SEC1") { try SigningPrivateKey(pemRepresentation: pem) }
        }
    }

    func testNonApprovedPublicKeysAreRefused() throws {
        for name in ["rsa1024", "p192", "secp256k1", "ed25519", "dsa2048", "rsa2048e3"] {
            let pem = try key("\(name).pub")
            assertCode(.notApproved, "\(name) SigningPublicKey") { try SigningPublicKey(pemRepresentation: pem) }
            assertCode(.notApproved, "\(name) P256 PublicKey") { try P256.Signing.PublicKey(pemRepresentation: pem) }
            assertCode(.notApproved, "\(name) RSA PublicKey") { try RSA.Signing.PublicKey(pemRepresentation: pem) }
        }
    }

    func testRefusalNamesAlgorithmAndReason() throws {
        let rsa = try key("rsa1024.priv")
        do { _ = try SigningPrivateKey(pemRepresentation: rsa); XCTFail("accepted RSA-1024") } catch let e as FIPSError {
            XCTAssertTrue(e.reason.contains("RSA") && e.reason.contains("1024"), e.reason)
        }
        let p192 = try key("p192.priv")
        do { _ = try SigningPrivateKey(pemRepresentation: p192); XCTFail("accepted P-192") } catch let e as FIPSError {
            XCTAssertTrue(e.reason.contains("refused by policy"), e.reason)
        }
    }

    func testLegacyEncryptedPEMIsRefused() throws {
        let pem = try key("p256legacy.priv")
        XCTAssertTrue(pem.contains("Proc-Type: 4,ENCRYPTED"))
        assertCode(.notApproved, "legacy PEM encryption") { try SigningPrivateKey(pemRepresentation: pem, passphrase: "legacy passphrase") }
        assertCode(.notApproved, "legacy PEM encryption, no passphrase") { try SigningPrivateKey(pemRepresentation: pem) }
    }

    func testRefusalsAndGenerationRaiseSecurityEvents() throws {
        let seen = EventBox()
        let token = SecurityEvents.addHandler { seen.append($0) }
        defer { SecurityEvents.removeHandler(token) }
        let rsa = try key("rsa1024.priv")
        _ = try? SigningPrivateKey(pemRepresentation: rsa)
        let generated = try SigningPrivateKey.generate(.p384)
        let enc = try generated.pemRepresentation(passphrase: "event test passphrase", iterations: 10_000)
        _ = try? SigningPrivateKey(pemRepresentation: enc, passphrase: "not the passphrase")
        _ = try? SigningPrivateKey(pemRepresentation: "garbage")
        let events = seen.events
        XCTAssertTrue(events.contains { $0.category == .policyRefusal && $0.action == "private-key-load" && ($0.reason ?? "").contains("1024") })
        XCTAssertTrue(events.contains { $0.category == .keyManagement && $0.action == "signing-key-generated" && $0.metadata["key.kind"] == "p384" })
        XCTAssertTrue(events.contains { $0.category == .cryptoFailure && $0.metadata["error.code"] == "wrongPassphrase" })
        for e in events {
            let text = "\(e.reason ?? "") \(e.metadata)"
            XCTAssertFalse(text.contains("passphrase\""), text)
            XCTAssertFalse(text.contains("not the passphrase") || text.contains("event test passphrase"), "a passphrase leaked: \(text)")
        }
    }

    func testMalformedEncodings() throws {
        let good = P256.Signing.PrivateKey()
        let garbage = ["", "not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                       "-----BEGIN PRIVATE KEY-----\n" + String(good.pemRepresentation.dropFirst(28).prefix(40)) + "\n-----END PRIVATE KEY-----\n"]
        for g in garbage {
            assertCode(.invalidEncoding, "garbage private PEM \(g.prefix(20))") { try SigningPrivateKey(pemRepresentation: g) }
            assertCode(.invalidEncoding, "garbage P256 PEM") { try P256.Signing.PrivateKey(pemRepresentation: g) }
            assertCode(.invalidEncoding, "garbage public PEM") { try SigningPublicKey(pemRepresentation: g) }
        }
        let der = good.derRepresentation
        assertCode(.invalidEncoding, "truncated PKCS#8 DER") { try P256.Signing.PrivateKey(derRepresentation: der.dropLast(5)) }
        assertCode(.invalidEncoding, "PKCS#8 DER with trailing bytes") { try P256.Signing.PrivateKey(derRepresentation: der + [0, 0]) }
        assertCode(.invalidEncoding, "empty DER") { try SigningPrivateKey(derRepresentation: Data()) }
        let spki = good.publicKey.derRepresentation
        assertCode(.invalidEncoding, "truncated SPKI") { try P256.Signing.PublicKey(derRepresentation: spki.dropLast(1)) }
        assertCode(.invalidEncoding, "SPKI with trailing bytes") { try SigningPublicKey(derRepresentation: spki + [0]) }
        // A public key where a private key is expected.
        assertCode(.invalidEncoding, "SPKI as private key") { try P256.Signing.PrivateKey(derRepresentation: spki) }
        // X9.63: wrong length, compressed form, a point off the curve.
        let x963 = good.publicKey.x963Representation
        assertCode(.invalidEncoding, "short point") { try P256.Signing.PublicKey(x963Representation: x963.dropLast()) }
        var compressed = Data([0x02 | (x963.last! & 1)]); compressed.append(x963.dropFirst().prefix(32))
        assertCode(.invalidEncoding, "compressed point") { try P256.Signing.PublicKey(x963Representation: compressed) }
        var offCurve = x963; offCurve[64] ^= 0x01
        assertCode(.invalidEncoding, "point off the curve") { try P256.Signing.PublicKey(x963Representation: offCurve) }
    }

    func testWrongLengthSignatures() throws {
        let message = Data("message".utf8)
        let ec = P256.Signing.PrivateKey()
        let sig = try ec.signature(for: message)
        assertCode(.invalidEncoding, "63-byte raw") { try P256.Signing.ECDSASignature(rawRepresentation: sig.rawRepresentation.dropLast()) }
        assertCode(.invalidEncoding, "65-byte raw") { try P256.Signing.ECDSASignature(rawRepresentation: sig.rawRepresentation + [0]) }
        assertCode(.invalidEncoding, "P-256 raw as P-384") { try P384.Signing.ECDSASignature(rawRepresentation: sig.rawRepresentation) }
        assertCode(.invalidEncoding, "truncated DER") { try P256.Signing.ECDSASignature(derRepresentation: sig.derRepresentation.dropLast()) }
        assertCode(.invalidEncoding, "DER with trailing byte") { try P256.Signing.ECDSASignature(derRepresentation: sig.derRepresentation + [0]) }
        assertCode(.invalidEncoding, "empty DER") { try P256.Signing.ECDSASignature(derRepresentation: Data()) }

        let rsa = try RSA.Signing.PrivateKey(keySize: .bits2048)
        let rsig = try rsa.signature(for: message)
        XCTAssertTrue(rsa.publicKey.isValidSignature(rsig, for: message))
        XCTAssertFalse(rsa.publicKey.isValidSignature(RSA.Signing.RSASignature(rawRepresentation: rsig.rawRepresentation.dropLast()), for: message))
        XCTAssertFalse(rsa.publicKey.isValidSignature(RSA.Signing.RSASignature(rawRepresentation: rsig.rawRepresentation + [0]), for: message))
        XCTAssertFalse(rsa.publicKey.isValidSignature(RSA.Signing.RSASignature(rawRepresentation: Data()), for: message))
        let erased = SigningPublicKey(ec.publicKey)
        XCTAssertTrue(erased.isValidSignature(sig.derRepresentation, for: message))
        XCTAssertFalse(erased.isValidSignature(sig.derRepresentation.dropLast(), for: message))
        XCTAssertFalse(erased.isValidSignature(sig.rawRepresentation, for: message), "raw is not the erased key's format")
    }

    func testEncryptedKeyPassphraseErrors() throws {
        let key = try SigningPrivateKey.generate(.p256)
        let pem = try key.pemRepresentation(passphrase: "correct horse battery", iterations: 10_000)
        XCTAssertTrue(pem.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"))
        XCTAssertEqual(try SigningPrivateKey(pemRepresentation: pem, passphrase: "correct horse battery").publicKeyDER, key.publicKeyDER)
        assertCode(.wrongPassphrase, "wrong passphrase") { try SigningPrivateKey(pemRepresentation: pem, passphrase: "wrong horse battery") }
        assertCode(.wrongPassphrase, "no passphrase") { try SigningPrivateKey(pemRepresentation: pem) }
        assertCode(.wrongPassphrase, "typed API, encrypted") { try P256.Signing.PrivateKey(pemRepresentation: pem) }
        // The same as DER (EncryptedPrivateKeyInfo).
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        let der = try XCTUnwrap(Data(base64Encoded: body))
        XCTAssertEqual(try SigningPrivateKey(derRepresentation: der, passphrase: "correct horse battery").publicKeyDER, key.publicKeyDER)
        assertCode(.wrongPassphrase, "DER, wrong passphrase") { try SigningPrivateKey(derRepresentation: der, passphrase: "wrong horse battery") }
        assertCode(.wrongPassphrase, "DER, no passphrase") { try SigningPrivateKey(derRepresentation: der) }
        assertCode(.notApproved, "short passphrase") { try key.pemRepresentation(passphrase: "short") }
        assertCode(.notApproved, "too few iterations") { try key.pemRepresentation(passphrase: "correct horse battery", iterations: 9_999) }
    }
}

/// Collects events from the handler (which may run on any thread).
final class EventBox: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [SecurityEvent] = []
    func append(_ e: SecurityEvent) { lock.lock(); list.append(e); lock.unlock() }
    var events: [SecurityEvent] { lock.lock(); defer { lock.unlock() }; return list }
}
