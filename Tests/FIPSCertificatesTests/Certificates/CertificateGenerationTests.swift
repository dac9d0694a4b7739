import Foundation
import XCTest
import FIPSCrypto
import FIPSTestSupport
@testable import FIPSCertificates

final class CertificateGenerationTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TestSupport.temporaryDirectory("certs-gen") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testSelfSignedP256LeafParsesWithOpenSSLAndPython() throws {
        let key = try SigningPrivateKey.generate(.p256)
        let now = Date()
        let cert = try CertificateBuilder.serverLeaf(commonName: "localhost",
                                                     subjectAlternativeNames: [.dns("localhost"), .ipAddress("127.0.0.1"), .ipAddress("::1")])
            .selfSigned(key: key, now: now)
        let path = try CertTools.write(cert.pemRepresentation, dir, "leaf.pem")

        let text = try CertTools.openssl(["x509", "-in", path, "-text", "-noout"])
        XCTAssertEqual(text.status, 0, text.err)
        XCTAssertTrue(text.out.contains("Version: 3 (0x2)"), text.out)
        XCTAssertTrue(text.out.contains("ecdsa-with-SHA256"), text.out)
        XCTAssertTrue(text.out.contains("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"), text.out)
        XCTAssertTrue(text.out.contains("X509v3 Basic Constraints: critical\n                CA:FALSE"), text.out)
        XCTAssertTrue(text.out.contains("X509v3 Key Usage: critical\n                Digital Signature\n"), text.out)
        XCTAssertTrue(text.out.contains("TLS Web Server Authentication"), text.out)
        XCTAssertTrue(text.out.contains("X509v3 Subject Key Identifier"), text.out)
        XCTAssertTrue(text.out.contains("X509v3 Authority Key Identifier"), text.out)

        let py = try CertTools.pythonInspect(path)
        XCTAssertEqual(py["version"] as? String, "v3")
        XCTAssertEqual(py["sig_hash"] as? String, "sha256")
        XCTAssertEqual(py["key"] as? String, "EC secp256r1")
        XCTAssertEqual(py["san"] as? [String], ["DNS:localhost", "IP:127.0.0.1", "IP:::1"])
        XCTAssertEqual((py["bc"] as? [String: Any])?["ca"] as? Bool, false)
        XCTAssertEqual((py["bc"] as? [String: Any])?["critical"] as? Bool, true)
        XCTAssertEqual((py["ku"] as? [String: Any])?["critical"] as? Bool, true)
        XCTAssertEqual((py["ku"] as? [String: Any])?["digital_signature"] as? Bool, true)
        XCTAssertEqual((py["ku"] as? [String: Any])?["key_encipherment"] as? Bool, false)
        XCTAssertEqual(py["eku"] as? [String], ["serverAuth"])
        XCTAssertEqual(py["ski"] as? String, py["aki"] as? String, "self-signed: AKI = SKI")
        let serialBits = try XCTUnwrap(py["serial_bits"] as? Int)
        XCTAssertGreaterThanOrEqual(serialBits, 64)
        XCTAssertGreaterThan(try XCTUnwrap(py["serial"] as? Double), 0)
        let notAfter = try XCTUnwrap(py["not_after"] as? Double), notBefore = try XCTUnwrap(py["not_before"] as? Double)
        XCTAssertEqual(notAfter - notBefore, 90 * 86_400, accuracy: 1, "default validity is 90 days")

        // Our own parser agrees with the independent ones.
        XCTAssertEqual(cert.subject, "CN=localhost")
        XCTAssertEqual(cert.subjectAlternativeNames, [.dns("localhost"), .ipAddress("127.0.0.1"), .ipAddress("::1")])
        XCTAssertFalse(cert.isCA)
        XCTAssertEqual(cert.keyUsage, [.digitalSignature])
        XCTAssertEqual(cert.extendedKeyUsage, [.serverAuth])
        XCTAssertEqual(cert.signatureAlgorithm.digest, "SHA256")
        XCTAssertEqual(cert.publicKeyAlgorithm, "EC P-256")
        XCTAssertTrue(cert.isIssued(by: cert))
        XCTAssertEqual(cert.subjectKeyIdentifier.map { TestSupport.hex($0) }, py["ski"] as? String)
        let fp = try CertTools.openssl(["x509", "-in", path, "-noout", "-fingerprint", "-sha256"])
        XCTAssertTrue(fp.out.contains(cert.sha256FingerprintHex), fp.out)
        let serial = try CertTools.openssl(["x509", "-in", path, "-noout", "-serial"])
        XCTAssertEqual(serial.out.trimmingCharacters(in: .whitespacesAndNewlines), "serial=\(cert.serialNumber)")
        XCTAssertEqual(try cert.publicKey.derRepresentation, key.publicKeyDER)
        XCTAssertTrue(cert.description.contains("Subject Alternative Names: DNS:localhost, IP:127.0.0.1, IP:::1"), cert.description)
    }

    func testRSALeafHasKeyEnciphermentAndSHA256() throws {
        let key = try SigningPrivateKey.generate(.rsa2048)
        let cert = try CertificateBuilder.serverLeaf(commonName: "rsa.test", subjectAlternativeNames: [.dns("rsa.test")]).selfSigned(key: key)
        let py = try CertTools.pythonInspect(try CertTools.write(cert.pemRepresentation, dir, "rsa.pem"))
        XCTAssertEqual(py["key"] as? String, "RSA 2048")
        XCTAssertEqual(py["sig_hash"] as? String, "sha256")
        XCTAssertEqual(py["sig_oid"] as? String, "sha256WithRSAEncryption")
        XCTAssertEqual((py["ku"] as? [String: Any])?["key_encipherment"] as? Bool, true)
        XCTAssertEqual(cert.keyUsage, [.digitalSignature, .keyEncipherment])
    }

    func testP384SignsWithSHA384() throws {
        let key = try SigningPrivateKey.generate(.p384)
        let cert = try CertificateBuilder.serverLeaf(commonName: "p384.test", subjectAlternativeNames: [.dns("p384.test")]).selfSigned(key: key)
        let py = try CertTools.pythonInspect(try CertTools.write(cert.pemRepresentation, dir, "p384.pem"))
        XCTAssertEqual(py["sig_hash"] as? String, "sha384")
        XCTAssertEqual(py["key"] as? String, "EC secp384r1")
    }

    func testLocalCAIssuesLeafThatOpenSSLAndPythonVerify() throws {
        let caKey = try SigningPrivateKey.generate(.p384)
        let ca = try CertificateBuilder.localCA(commonName: "Test Local CA").selfSigned(key: caKey)
        let leafKey = try SigningPrivateKey.generate(.p256)
        let leaf = try CertificateBuilder.serverLeaf(commonName: "svc.test", subjectAlternativeNames: [.dns("svc.test"), .ipAddress("127.0.0.1")])
            .issue(for: leafKey.publicKey, issuer: ca, issuerKey: caKey)
        let caPath = try CertTools.write(ca.pemRepresentation, dir, "ca.pem")
        let leafPath = try CertTools.write(leaf.pemRepresentation, dir, "leaf.pem")

        let verify = try CertTools.openssl(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", caPath, leafPath])
        XCTAssertEqual(verify.status, 0, verify.out + verify.err)
        XCTAssertTrue(verify.out.contains("OK"))

        let caPy = try CertTools.pythonInspect(caPath)
        XCTAssertEqual(caPy["key"] as? String, "EC secp384r1")
        XCTAssertEqual(caPy["sig_hash"] as? String, "sha384")
        XCTAssertEqual((caPy["bc"] as? [String: Any])?["ca"] as? Bool, true)
        XCTAssertEqual((caPy["bc"] as? [String: Any])?["pathlen"] as? Int, 0)
        XCTAssertEqual((caPy["bc"] as? [String: Any])?["critical"] as? Bool, true)
        XCTAssertEqual((caPy["ku"] as? [String: Any])?["key_cert_sign"] as? Bool, true)
        XCTAssertEqual((caPy["ku"] as? [String: Any])?["crl_sign"] as? Bool, true)
        XCTAssertEqual((caPy["ku"] as? [String: Any])?["digital_signature"] as? Bool, false)
        XCTAssertNil(caPy["eku"])
        let caYears = (try XCTUnwrap(caPy["not_after"] as? Double) - (caPy["not_before"] as! Double)) / 86_400
        XCTAssertEqual(caYears, 3650, accuracy: 0.01)

        let leafPy = try CertTools.pythonInspect(leafPath)
        XCTAssertEqual(leafPy["aki"] as? String, caPy["ski"] as? String, "leaf AKI = CA SKI")
        XCTAssertEqual(leafPy["issuer"] as? String, "CN=Test Local CA")
        XCTAssertEqual(leafPy["sig_hash"] as? String, "sha384", "signed by the P-384 CA")

        // python cryptography's own chain verifier (x509.verification, RFC 5280 + CA/B profile).
        let out = try CertTools.python(#"""
import sys
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store
ca = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
leaf = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
v = PolicyBuilder().store(Store([ca])).build_server_verifier(x509.DNSName("svc.test"))
chain = v.verify(leaf, [])
print("verified", len(chain))
"""#, [caPath, leafPath])
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "verified 2")

        XCTAssertTrue(leaf.isIssued(by: ca))
        XCTAssertFalse(ca.isIssued(by: leaf))
        XCTAssertTrue(ca.isCA)
        XCTAssertEqual(ca.pathLengthConstraint, 0)
        XCTAssertEqual(ca.keyUsage, [.keyCertSign, .cRLSign])
    }

    func testSerialsAreRandomAndPositive() throws {
        let key = try SigningPrivateKey.generate(.p256)
        let b = CertificateBuilder.serverLeaf(commonName: "s", subjectAlternativeNames: [.dns("s.test")])
        var serials = Set<String>()
        for _ in 0..<8 {
            let c = try b.selfSigned(key: key)
            let (bits, negative) = c.box.serialBits
            XCTAssertEqual(bits, 127)
            XCTAssertFalse(negative)
            serials.insert(c.serialNumber)
        }
        XCTAssertEqual(serials.count, 8)
    }

    func testBuilderRefusesBadRequests() throws {
        let key = try SigningPrivateKey.generate(.p256)
        XCTAssertThrowsFIPSError(.certificateRequestInvalid,
            try CertificateBuilder.serverLeaf(commonName: "x", subjectAlternativeNames: [.dns("x.test")], validity: 399 * 86_400).selfSigned(key: key))
        XCTAssertNoThrow(try CertificateBuilder.serverLeaf(commonName: "x", subjectAlternativeNames: [.dns("x.test")], validity: 398 * 86_400).selfSigned(key: key))
        XCTAssertThrowsFIPSError(.certificateRequestInvalid,
            try CertificateBuilder.serverLeaf(commonName: "x", subjectAlternativeNames: []).selfSigned(key: key))
        XCTAssertThrowsFIPSError(.certificateRequestInvalid,
            try CertificateBuilder.serverLeaf(commonName: "", subjectAlternativeNames: [.dns("x.test")]).selfSigned(key: key))
        XCTAssertThrowsFIPSError(.certificateRequestInvalid,
            try CertificateBuilder.serverLeaf(commonName: "x", subjectAlternativeNames: [.dns("a,IP:1.2.3.4")]).selfSigned(key: key))
        XCTAssertThrowsFIPSError(.certificateRequestInvalid,
            try CertificateBuilder.serverLeaf(commonName: "x", subjectAlternativeNames: [.ipAddress("300.1.1.1")]).selfSigned(key: key))
        XCTAssertThrowsFIPSError(.certificateRequestInvalid, try GeneralName(parsing: "DNS:bad_name"))
        XCTAssertEqual(try GeneralName(parsing: "IP:0:0:0:0:0:0:0:1"), .ipAddress("::1"))
        XCTAssertEqual(try GeneralName(parsing: "*.Example.com"), .dns("*.example.com"))
        // A leaf cannot issue; a CA key that is not the CA's is refused.
        let leaf = try CertificateBuilder.serverLeaf(commonName: "x", subjectAlternativeNames: [.dns("x.test")]).selfSigned(key: key)
        let pub = key.publicKey
        XCTAssertThrowsFIPSError(.certificateRequestInvalid,
            try CertificateBuilder.serverLeaf(commonName: "y", subjectAlternativeNames: [.dns("y.test")]).issue(for: pub, issuer: leaf, issuerKey: key))
        let caKey = try SigningPrivateKey.generate(.p384)
        let ca = try CertificateBuilder.localCA().selfSigned(key: caKey)
        XCTAssertThrowsFIPSError(.certificateKeyMismatch,
            try CertificateBuilder.serverLeaf(commonName: "y", subjectAlternativeNames: [.dns("y.test")]).issue(for: pub, issuer: ca, issuerKey: key))
    }

    func testCSRVerifiesWithOpenSSL() throws {
        let key = try SigningPrivateKey.generate(.p256)
        let csr = try CertificateBuilder.serverLeaf(commonName: "csr.test", subjectAlternativeNames: [.dns("csr.test"), .ipAddress("10.0.0.1")])
            .signingRequest(key: key)
        XCTAssertTrue(csr.isSignatureValid)
        XCTAssertEqual(csr.subject, "CN=csr.test")
        XCTAssertEqual(csr.subjectAlternativeNames, [.dns("csr.test"), .ipAddress("10.0.0.1")])
        let path = try CertTools.write(csr.pemRepresentation, dir, "req.pem")
        let r = try CertTools.openssl(["req", "-in", path, "-verify", "-noout", "-text"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue((r.out + r.err).contains("verify OK"), r.out + r.err)
        XCTAssertTrue(r.out.contains("DNS:csr.test, IP Address:10.0.0.1"), r.out)
        XCTAssertTrue(r.out.contains("Requested Extensions"), r.out)
        XCTAssertEqual(try CertificateSigningRequest(pemRepresentation: csr.pemRepresentation).derRepresentation, csr.derRepresentation)
    }
}
