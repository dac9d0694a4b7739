import Foundation
import XCTest
import FIPSTestSupport

/// `fipsctl cert` end to end: the built binary, checked with the openssl CLI.
final class CertCommandsTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = try TestSupport.temporaryDirectory("certs-cli")
        guard FileManager.default.isExecutableFile(atPath: TestSupport.fipsctl) else { throw XCTSkip("fipsctl is not built (swift build)") }
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ p: String) -> String { dir.appendingPathComponent(p).path }

    func fipsctl(_ args: [String]) throws -> TestSupport.ProcessResult { try TestSupport.fipsctl(["cert"] + args) }

    func testLocalCAIssueRotateAndInspect() throws {
        var r = try fipsctl(["ca", "init", "--out", path("ca"), "--cn", "CLI Test CA"])
        XCTAssertEqual(r.status, 0, r.err)
        let again = try fipsctl(["ca", "init", "--out", path("ca")])
        XCTAssertEqual(again.status, 1, "an existing CA is never replaced")
        XCTAssertTrue(again.err.contains("certificateRequestInvalid") && again.err.contains("already exists"), again.err)
        r = try fipsctl(["ca", "issue", "--ca", path("ca"), "--out", path("tls"), "--cn", "svc.test", "--san", "DNS:svc.test", "--san", "IP:127.0.0.1", "--days", "30"])
        XCTAssertEqual(r.status, 0, r.err)
        var v = try CertTools.openssl(["verify", "-CAfile", path("ca/ca/ca.pem"), "-purpose", "sslserver", path("tls/cert.pem")])
        XCTAssertEqual(v.status, 0, v.out + v.err)
        let text = try CertTools.openssl(["x509", "-in", path("tls/cert.pem"), "-noout", "-text"])
        XCTAssertTrue(text.out.contains("DNS:svc.test, IP Address:127.0.0.1"), text.out)
        XCTAssertTrue(text.out.contains("Issuer: CN = CLI Test CA"), text.out)

        r = try fipsctl(["inspect", path("tls/cert.pem"), "--json"])
        XCTAssertEqual(r.status, 0, r.err)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [[String: Any]])
        XCTAssertEqual(json.count, 2)
        XCTAssertEqual(json[0]["subject"] as? String, "CN=svc.test")
        XCTAssertEqual(json[0]["subjectAlternativeNames"] as? [String], ["DNS:svc.test", "IP:127.0.0.1"])
        XCTAssertEqual(json[1]["isCA"] as? Bool, true)

        // DER input, converted by the openssl CLI.
        XCTAssertEqual(try CertTools.openssl(["x509", "-in", path("tls/cert.pem"), "-outform", "DER", "-out", path("leaf.der")]).status, 0)
        r = try fipsctl(["inspect", path("leaf.der")])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("Subject Alternative Names: DNS:svc.test, IP:127.0.0.1"), r.out)

        r = try fipsctl(["rotate", "--dir", path("tls")])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix("not due"), r.out)
        r = try fipsctl(["rotate", "--dir", path("tls"), "--force"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix("rotated"), r.out)
        v = try CertTools.openssl(["verify", "-CAfile", path("ca/ca/ca.pem"), path("tls/cert.pem")])
        XCTAssertEqual(v.status, 0, v.out + v.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("tls/previous/cert.pem")))
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: path("tls/cert.pem"))),
                          try Data(contentsOf: URL(fileURLWithPath: path("tls/previous/cert.pem"))))
    }

    func testGenerateWithPassphraseCSRAndInstall() throws {
        try Data("a long test passphrase\n".utf8).write(to: URL(fileURLWithPath: path("pass")))
        var r = try fipsctl(["generate", "--out", path("gen"), "--cn", "localhost", "--san", "DNS:localhost", "--san", "IP:127.0.0.1",
                             "--key-type", "p384", "--days", "10", "--passphrase-file", path("pass")])
        XCTAssertEqual(r.status, 0, r.err)
        let key = try String(contentsOfFile: path("gen/key.pem"), encoding: .utf8)
        XCTAssertTrue(key.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        let k = try CertTools.openssl(["pkey", "-in", path("gen/key.pem"), "-passin", "file:" + path("pass"), "-noout", "-text"])
        XCTAssertEqual(k.status, 0, k.err)
        XCTAssertTrue(k.out.contains("NIST CURVE: P-384"), k.out)
        let text = try CertTools.openssl(["x509", "-in", path("gen/cert.pem"), "-noout", "-text"])
        XCTAssertTrue(text.out.contains("ecdsa-with-SHA384"), text.out)

        r = try fipsctl(["csr", "--key", path("gen/key.pem"), "--passphrase-file", path("pass"), "--cn", "api.example.com",
                         "--san", "DNS:api.example.com", "--out", path("api.csr")])
        XCTAssertEqual(r.status, 0, r.err)
        let req = try CertTools.openssl(["req", "-in", path("api.csr"), "-verify", "-noout", "-text"])
        XCTAssertEqual(req.status, 0, req.err)
        XCTAssertTrue(req.out.contains("DNS:api.example.com"), req.out)
        XCTAssertTrue(req.out.contains("Subject: CN = api.example.com"), req.out)

        // Sign the CSR with an openssl CA (a "real CA"), then install the result with its key.
        XCTAssertEqual(try CertTools.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                              "-keyout", path("rca-key.pem"), "-out", path("rca.pem"), "-days", "30", "-subj", "/CN=Real CA"]).status, 0)
        let signed = try CertTools.openssl(["x509", "-req", "-in", path("api.csr"), "-CA", path("rca.pem"), "-CAkey", path("rca-key.pem"),
                                            "-CAcreateserial", "-days", "20", "-sha256", "-copy_extensions", "copy", "-out", path("api.pem")])
        XCTAssertEqual(signed.status, 0, signed.err)
        let chain = try String(contentsOfFile: path("api.pem"), encoding: .utf8) + String(contentsOfFile: path("rca.pem"), encoding: .utf8)
        try Data(chain.utf8).write(to: URL(fileURLWithPath: path("chain.pem")))

        r = try fipsctl(["install", "--cert", path("chain.pem"), "--key", path("gen/key.pem"), "--passphrase-file", path("pass"),
                         "--into", path("inst"), "--name", "api.example.com"])
        XCTAssertEqual(r.status, 0, r.err)
        r = try fipsctl(["install", "--cert", path("chain.pem"), "--key", path("gen/key.pem"), "--passphrase-file", path("pass"),
                         "--into", path("inst2"), "--name", "other.example.com"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("certificateNameMismatch"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("inst2/cert.pem")), "nothing is written when a check fails")
        r = try fipsctl(["rotate", "--dir", path("inst"), "--force", "--passphrase-file", path("pass")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.contains("custom"), r.err)
    }

    /// With OpenSSL's default context locked (null provider), nothing in the certificate code may fall back to it.
    func testWorksWithTheDefaultContextLocked() throws {
        let env = ["FIPSCRYPTO_LOCK_DEFAULT_CONTEXT": "1"]
        var r = try TestSupport.fipsctl(["cert", "ca", "init", "--out", path("ca")], environment: env)
        XCTAssertEqual(r.status, 0, r.err)
        r = try TestSupport.fipsctl(["cert", "ca", "issue", "--ca", path("ca"), "--out", path("tls"), "--cn", "l.test", "--san", "l.test",
                                     "--key-type", "rsa2048"], environment: env)
        XCTAssertEqual(r.status, 0, r.err)
        r = try TestSupport.fipsctl(["cert", "csr", "--key", path("tls/key.pem"), "--cn", "l.test", "--san", "l.test", "--out", path("l.csr")], environment: env)
        XCTAssertEqual(r.status, 0, r.err)
        r = try TestSupport.fipsctl(["cert", "inspect", path("l.csr")], environment: env)
        XCTAssertEqual(r.status, 0, r.out + r.err)
        XCTAssertTrue(r.out.contains("Signature: valid"), r.out)
        r = try TestSupport.fipsctl(["cert", "install", "--cert", path("tls/cert.pem"), "--key", path("tls/key.pem"), "--into", path("inst"),
                                     "--name", "l.test"], environment: env)
        XCTAssertEqual(r.status, 0, r.err)
        let v = try CertTools.openssl(["verify", "-CAfile", path("ca/ca/ca.pem"), path("inst/cert.pem")])
        XCTAssertEqual(v.status, 0, v.out + v.err)
    }

    func testUsageErrorsAndHelp() throws {
        var r = try fipsctl(["--help"])
        XCTAssertEqual(r.status, 0)
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES"] { XCTAssertTrue(r.out.contains(section), section) }
        for sub in ["generate", "ca init", "ca issue", "csr", "install", "inspect", "rotate"] { XCTAssertTrue(r.out.contains("fipsctl cert \(sub)"), sub) }
        r = try fipsctl(["generate", "--out", path("x"), "--cn", "a"])
        XCTAssertEqual(r.status, 2)
        r = try fipsctl(["generate", "--out", path("x"), "--cn", "a", "--san", "DNS:a.test", "--days", "399"])
        XCTAssertEqual(r.status, 2, r.err)
        r = try fipsctl(["generate", "--out", path("x"), "--cn", "a", "--san", "DNS:a.test", "--key-type", "rsa1024"])
        XCTAssertEqual(r.status, 2, r.err)
        r = try fipsctl(["generate", "--out", path("x"), "--cn", "a", "--san", "DNS:bad_name"])
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("certificateRequestInvalid"), r.err)
        r = try fipsctl(["inspect", path("missing.pem")])
        XCTAssertEqual(r.status, 1)
        r = try fipsctl(["frobnicate"])
        XCTAssertEqual(r.status, 2)
    }
}
