import Foundation
import XCTest
import FIPSCrypto
import FIPSTestSupport
@testable import FIPSCertificates

/// Custom certificates made by python3 `cryptography` (an independent implementation), including the bad ones
/// this library refuses to make: expired, not yet valid, SHA-1, RSA-1024, P-192.
final class CertificateInstallerTests: XCTestCase {
    /// Test data made once per run by python3 `cryptography` (one process, so the suite stays fast).
    nonisolated(unsafe) static var fixtures: URL?
    var dir: URL!

    override class func setUp() {
        super.setUp()
        do {
            let d = try TestSupport.temporaryDirectory("certs-install")
            try CertTools.pythonCertificates(d, [
                ("root", ["key": "p384", "ca": true, "cn": "Test Root", "not_after_days": 3650, "hash": "sha384"]),
                ("inter", ["key": "p256", "ca": true, "cn": "Test Intermediate", "issuer": "root", "not_after_days": 1000, "hash": "sha384"]),
                ("leaf", ["key": "p256", "cn": "svc.test", "sans": ["DNS:svc.test", "IP:127.0.0.1"], "issuer": "inter"]),
                ("expired", ["sans": ["DNS:svc.test"], "not_before_days": -30, "not_after_days": -1]),
                ("future", ["sans": ["DNS:svc.test"], "not_before_days": 2, "not_after_days": 30]),
                ("rsa1024", ["key": "rsa1024", "sans": ["DNS:svc.test"]]),
                ("p192", ["key": "p192", "sans": ["DNS:svc.test"]]),
                ("k256", ["key": "k256", "sans": ["DNS:svc.test"]]),
            ])
            fixtures = d
        } catch { fixtures = nil }
    }

    override class func tearDown() {
        if let f = fixtures { try? FileManager.default.removeItem(at: f) }
        super.tearDown()
    }

    override func setUpWithError() throws { dir = try XCTUnwrap(Self.fixtures, "python3 cryptography could not make the test certificates") }

    func read(_ name: String) throws -> String { try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8) }

    /// A root CA, an intermediate and a leaf for `svc.test` / 127.0.0.1.
    func makeChain() throws -> (chain: String, key: String) {
        (try read("leaf.pem") + read("inter.pem") + read("root.pem"), try read("leaf-key.pem"))
    }

    func testValidChainIsAccepted() throws {
        let (chain, key) = try makeChain()
        let pair = try CertificateInstaller.validate(chainPEM: chain, keyPEM: key, requiredNames: ["svc.test", "127.0.0.1"])
        XCTAssertEqual(pair.chain.count, 3)
        XCTAssertEqual(pair.leaf.subject, "CN=svc.test")
        XCTAssertEqual(pair.intermediates.map(\.subject), ["CN=Test Intermediate", "CN=Test Root"])
        XCTAssertEqual(try Certificate.chain(fromPEM: pair.chainPEM), pair.chain)
    }

    func testChainOutOfOrder() throws {
        let (_, key) = try makeChain()
        let swapped = try read("leaf.pem") + read("root.pem") + read("inter.pem")
        XCTAssertThrowsFIPSError(.certificateChainInvalid, try CertificateInstaller.validate(chainPEM: swapped, keyPEM: key))
        let caFirst = try read("inter.pem") + read("leaf.pem")
        XCTAssertThrowsFIPSError(.certificateChainInvalid, try CertificateInstaller.validate(chainPEM: caFirst, keyPEM: key))
    }

    func testSelfSignedCertificateWithABrokenSignature() throws {
        let good = try Certificate(pemRepresentation: try read("future.pem"))
        var der = good.derRepresentation
        der[der.count - 5] ^= 0x01   // inside the signature value
        let bad = try Certificate(derRepresentation: der)
        XCTAssertThrowsFIPSError(.certificateChainInvalid,
            try CertificateInstaller.validate(chainPEM: bad.pemRepresentation, keyPEM: try read("future-key.pem"), now: Date().addingTimeInterval(5 * 86_400)))
        XCTAssertNoThrow(try CertificateInstaller.validate(chainPEM: good.pemRepresentation, keyPEM: try read("future-key.pem"), now: Date().addingTimeInterval(5 * 86_400)))
    }

    func testMismatchedKey() throws {
        let (chain, _) = try makeChain()
        XCTAssertThrowsFIPSError(.certificateKeyMismatch, try CertificateInstaller.validate(chainPEM: chain, keyPEM: try read("inter-key.pem")))
        let ours = try SigningPrivateKey.generate(.p256).pemRepresentation()
        XCTAssertThrowsFIPSError(.certificateKeyMismatch, try CertificateInstaller.validate(chainPEM: chain, keyPEM: ours))
    }

    func testNamesNotCovered() throws {
        let (chain, key) = try makeChain()
        XCTAssertThrowsFIPSError(.certificateNameMismatch, try CertificateInstaller.validate(chainPEM: chain, keyPEM: key, requiredNames: ["other.test"]))
        XCTAssertThrowsFIPSError(.certificateNameMismatch, try CertificateInstaller.validate(chainPEM: chain, keyPEM: key, requiredNames: ["10.0.0.1"]))
        XCTAssertThrowsFIPSError(.certificateNameMismatch, try CertificateInstaller.validate(chainPEM: chain, keyPEM: key, requiredNames: ["x.svc.test"]))
    }

    func testExpiredAndNotYetValid() throws {
        XCTAssertThrowsFIPSError(.certificateExpired, try CertificateInstaller.validate(chainPEM: try read("expired.pem"), keyPEM: try read("expired-key.pem")))
        XCTAssertThrowsFIPSError(.certificateNotYetValid, try CertificateInstaller.validate(chainPEM: try read("future.pem"), keyPEM: try read("future-key.pem")))
        // The same certificate is valid at an injected time inside its period.
        XCTAssertNoThrow(try CertificateInstaller.validate(chainPEM: try read("future.pem"), keyPEM: try read("future-key.pem"),
                                                           now: Date().addingTimeInterval(5 * 86_400)))
    }

    func testSHA1AndWeakKeysAreNotApproved() throws {
        // python cryptography refuses to sign with SHA-1 at all; the openssl CLI (default provider) still can.
        let r = try CertTools.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-sha1", "-nodes",
                                       "-keyout", dir.appendingPathComponent("sha1-key.pem").path, "-out", dir.appendingPathComponent("sha1.pem").path,
                                       "-days", "30", "-subj", "/CN=svc.test", "-addext", "subjectAltName=DNS:svc.test",
                                       "-addext", "basicConstraints=critical,CA:FALSE"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertThrowsFIPSError(.certificateNotApproved, try CertificateInstaller.validate(chainPEM: try read("sha1.pem"), keyPEM: try read("sha1-key.pem")))
        XCTAssertEqual(try Certificate(pemRepresentation: try read("sha1.pem")).signatureAlgorithm.digest, "SHA1")

        XCTAssertThrowsFIPSError(.certificateNotApproved, try CertificateInstaller.validate(chainPEM: try read("rsa1024.pem"), keyPEM: try read("rsa1024-key.pem")))
        XCTAssertEqual(try Certificate(pemRepresentation: try read("rsa1024.pem")).publicKeyAlgorithm, "RSA 1024")

        XCTAssertThrowsFIPSError(.certificateNotApproved, try CertificateInstaller.validate(chainPEM: try read("p192.pem"), keyPEM: try read("p192-key.pem")))
        XCTAssertFalse(try Certificate(pemRepresentation: try read("p192.pem")).publicKeyIsApproved)
        // secp256k1 is 256 bits but not a NIST curve: refused by name, not by size.
        XCTAssertThrowsFIPSError(.certificateNotApproved, try CertificateInstaller.validate(chainPEM: try read("k256.pem"), keyPEM: try read("k256-key.pem")))
        XCTAssertFalse(try Certificate(pemRepresentation: try read("k256.pem")).publicKeyIsApproved)

        // The weak keys alone are refused by the key decoder.
        XCTAssertThrowsFIPSError(.notApproved, try SigningPrivateKey(pemRepresentation: try read("rsa1024-key.pem")))
    }

    func testEncryptedKeyAndWrongPassphrase() throws {
        let (chain, keyPEM) = try makeChain()
        let key = try SigningPrivateKey(pemRepresentation: keyPEM)
        let encrypted = try key.pemRepresentation(passphrase: "correct horse battery")
        XCTAssertNoThrow(try CertificateInstaller.validate(chainPEM: chain, keyPEM: encrypted, passphrase: "correct horse battery"))
        XCTAssertThrowsFIPSError(.wrongPassphrase, try CertificateInstaller.validate(chainPEM: chain, keyPEM: encrypted))
        do {
            _ = try CertificateInstaller.validate(chainPEM: chain, keyPEM: encrypted, passphrase: "wrong passphrase!")
            XCTFail("a wrong passphrase must fail")
        } catch let e as FIPSError {
            XCTAssertEqual(e.code, .wrongPassphrase, "\(e)")
            XCTAssertFalse(e.description.contains("wrong passphrase!"), "the passphrase must not appear in the error")
        }
    }

    func testMalformedPEM() throws {
        let (chain, key) = try makeChain()
        XCTAssertThrowsFIPSError(.invalidEncoding, try CertificateInstaller.validate(chainPEM: "not a certificate", keyPEM: key))
        XCTAssertThrowsFIPSError(.invalidEncoding, try CertificateInstaller.validate(chainPEM: "", keyPEM: key))
        let broken = chain.replacingOccurrences(of: "MII", with: "M!I")
        XCTAssertThrowsFIPSError(.invalidEncoding, try CertificateInstaller.validate(chainPEM: broken, keyPEM: key))
        XCTAssertThrowsFIPSError(.invalidEncoding, try Certificate(pemRepresentation: key))
        XCTAssertThrowsFIPSError(.invalidEncoding, try Certificate(derRepresentation: Data([0x30, 0x03, 0x02, 0x01, 0x01])))
        XCTAssertThrowsFIPSError(.invalidEncoding, try Certificate(derRepresentation: Data()))
        let good = try Certificate(pemRepresentation: try read("leaf.pem"))
        XCTAssertThrowsFIPSError(.invalidEncoding, try Certificate(derRepresentation: good.derRepresentation + Data([0])))
        XCTAssertThrowsFIPSError(.invalidEncoding, try Certificate(derRepresentation: good.derRepresentation.dropLast()))
        // A truncated PEM block (no END line).
        let lines = try read("leaf.pem").split(separator: "\n")
        XCTAssertThrowsFIPSError(.invalidEncoding, try Certificate.chain(fromPEM: lines.dropLast().joined(separator: "\n")))
    }

    /// Every truncation and many single-byte corruptions of a real certificate are refused with
    /// invalidEncoding (or parse to a different certificate whose signature no longer verifies), never a crash.
    func testTruncatedAndCorruptedDER() throws {
        let leaf = try Certificate(pemRepresentation: try read("leaf.pem"))
        let inter = try Certificate(pemRepresentation: try read("inter.pem"))
        let der = leaf.derRepresentation
        for n in 0..<der.count {
            XCTAssertThrowsFIPSError(.invalidEncoding, try Certificate(derRepresentation: der.prefix(n)))
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var bad = der
            let i = Int.random(in: 0..<bad.count, using: &rng)
            bad[i] ^= UInt8.random(in: 1...255, using: &rng)
            do {
                let c = try Certificate(derRepresentation: bad)
                XCTAssertFalse(c.isIssued(by: inter) && c != leaf, "a corrupted certificate must not verify")
            } catch let e as FIPSError {
                XCTAssertEqual(e.code, .invalidEncoding)
            }
        }
        for _ in 0..<100 {
            let junk = Data((0..<Int.random(in: 0...600, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            XCTAssertThrowsError(try Certificate(derRepresentation: junk))
        }
    }

    func testParsesOpenSSLMadeCertificate() throws {
        let keyPath = dir.appendingPathComponent("o-key.pem").path, certPath = dir.appendingPathComponent("o.pem").path
        let r = try CertTools.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                       "-keyout", keyPath, "-out", certPath, "-days", "30", "-subj", "/O=Example Org/CN=openssl.test",
                                       "-addext", "subjectAltName=DNS:openssl.test,IP:192.0.2.7,IP:2001:db8::1",
                                       "-addext", "extendedKeyUsage=serverAuth,clientAuth", "-addext", "basicConstraints=critical,CA:FALSE"])
        XCTAssertEqual(r.status, 0, r.err)
        let c = try Certificate(pemRepresentation: try String(contentsOfFile: certPath, encoding: .utf8))
        XCTAssertEqual(c.subject, "CN=openssl.test,O=Example Org")
        XCTAssertEqual(c.subjectAlternativeNames, [.dns("openssl.test"), .ipAddress("192.0.2.7"), .ipAddress("2001:db8::1")])
        XCTAssertEqual(c.extendedKeyUsage, [.serverAuth, .clientAuth])
        XCTAssertEqual(c.notValidAfter.timeIntervalSince(c.notValidBefore), 30 * 86_400, accuracy: 1)
        XCTAssertTrue(c.matches(name: "openssl.test"))
        XCTAssertTrue(c.matches(name: "2001:db8:0::1"))
        XCTAssertFalse(c.matches(name: "192.0.2.8"))
        let serial = try CertTools.openssl(["x509", "-in", certPath, "-noout", "-serial", "-subject", "-nameopt", "RFC2253"])
        XCTAssertTrue(serial.out.contains("serial=\(c.serialNumber)"), serial.out)
        XCTAssertTrue(serial.out.contains("subject=\(c.subject)"), serial.out)
        let pair = try CertificateInstaller.validate(chainPEM: c.pemRepresentation, keyPEM: try String(contentsOfFile: keyPath, encoding: .utf8),
                                                     requiredNames: ["openssl.test", "192.0.2.7"])
        XCTAssertEqual(pair.leaf, c)
    }
}
