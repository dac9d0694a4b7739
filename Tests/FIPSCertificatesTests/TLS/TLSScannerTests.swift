import Foundation
import XCTest
import FIPSCrypto
import FIPSCertificates
import FIPSTestSupport

/// Independent TLS scanners, each run once against the server: sslyze (with a FIPS profile made here, since its
/// Mozilla profiles expect ChaCha20 and X25519 by design) and testssl.sh.
final class TLSScannerTests: XCTestCase {
    /// sslyze's config model filled with the SP 800-52r2 values (all keys of its TlsConfigurationAsJson).
    static func sslyzeFIPSProfile() throws -> Data {
        let p = TLSProfile.sp800_52r2
        let iana12 = ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                      "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]
        let profile: [String: Any] = [
            "certificate_curves": ["prime256v1", "secp384r1"],
            "certificate_signatures": ["ecdsa-with-SHA256", "ecdsa-with-SHA384", "ecdsa-with-SHA512",
                                       "sha256WithRSAEncryption", "sha384WithRSAEncryption", "sha512WithRSAEncryption"],
            "certificate_types": ["ecdsa", "rsa"],
            "ciphersuites": p.tls13CipherSuites.map(\.openSSLName),
            "ciphers": ["caddy": iana12, "go": iana12, "iana": iana12, "openssl": p.tls12CipherSuites.map(\.openSSLName)],
            "dh_param_size": NSNull(),
            "ecdh_param_size": 256,
            "hsts_min_age": 31_536_000,
            "maximum_certificate_lifespan": 398,
            "recommended_certificate_lifespan": 90,
            "ocsp_staple": false,
            "rsa_key_size": 2048,
            "server_preferred_order": true,
            "tls_curves": ["prime256v1", "secp384r1"],
            "tls_versions": ["TLSv1.2", "TLSv1.3"],
        ]
        return try JSONSerialization.data(withJSONObject: profile, options: [.prettyPrinted, .sortedKeys])
    }

    func testSslyzeFindsTheServerCompliantWithTheFIPSProfile() throws {
        guard (try? TestSupport.run("python3", ["-c", "import sslyze"]).status) == 0 else {
            throw XCTSkip("sslyze is not installed (scripts/setup installs it: pip install sslyze)")
        }
        let pki = try TestPKI.make()
        let running = try RunningServer.start(pki)
        defer { running.stop() }
        let dir = try TestSupport.temporaryDirectory("sslyze")
        defer { try? FileManager.default.removeItem(at: dir) }
        let profile = dir.appendingPathComponent("fips-profile.json"), out = dir.appendingPathComponent("out.json")
        try Self.sslyzeFIPSProfile().write(to: profile)
        let r = try TestSupport.run("python3", ["-m", "sslyze", "--custom_tls_config=\(profile.path)", "--certinfo_ca_file=\(pki.caCert)",
                                                "--json_out=\(out.path)", "localhost:\(running.port)"], timeout: 180)
        XCTAssertEqual(r.status, 0, r.out + r.err)
        XCTAssertTrue(r.out.contains("OK - Compliant."), r.out)
        // Read the findings ourselves too.
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Any]
        let result = ((json?["server_scan_results"] as? [[String: Any]])?.first?["scan_result"] as? [String: Any]) ?? [:]
        func accepted(_ key: String) -> [String] {
            let res = (result[key] as? [String: Any])?["result"] as? [String: Any]
            return ((res?["accepted_cipher_suites"] as? [[String: Any]]) ?? []).compactMap { ($0["cipher_suite"] as? [String: Any])?["name"] as? String }
        }
        for old in ["ssl_2_0_cipher_suites", "ssl_3_0_cipher_suites", "tls_1_0_cipher_suites", "tls_1_1_cipher_suites"] {
            XCTAssertEqual(accepted(old), [], old)
        }
        XCTAssertEqual(Set(accepted("tls_1_2_cipher_suites")), ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"])
        XCTAssertEqual(Set(accepted("tls_1_3_cipher_suites")), ["TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"])
        let curves = ((result["elliptic_curves"] as? [String: Any])?["result"] as? [String: Any])?["supported_curves"] as? [[String: Any]]
        XCTAssertEqual(Set((curves ?? []).compactMap { $0["name"] as? String }), ["secp256r1", "secp384r1"])
        print("sslyze: \(r.out.split(separator: "\n").filter { $0.contains("Compliant") || $0.contains("SCANS COMPLETED") }.joined(separator: " | "))")
    }

    func testTestsslFindsNoWeakProtocolCipherOrCurve() throws {
        guard TestSupport.hasProgram("testssl") else { throw XCTSkip("testssl.sh is not installed (scripts/setup: apt-get install testssl.sh)") }
        let pki = try TestPKI.make()
        let running = try RunningServer.start(pki)
        defer { running.stop() }
        let dir = try TestSupport.temporaryDirectory("testssl")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.json")
        let r = try TestSupport.run("testssl", ["--quiet", "--color", "0", "--warnings", "off", "--nodns", "min", "--ip", "127.0.0.1",
                                                "--add-ca", pki.caCert, "-p", "-E", "-f", "-S", "-U", "--jsonfile", out.path,
                                                "https://localhost:\(running.port)/"], timeout: 400)
        let findings = (try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [[String: Any]]) ?? []
        XCTAssertGreaterThan(findings.count, 20, r.out + r.err)
        func finding(_ id: String) -> String { (findings.first { $0["id"] as? String == id }?["finding"] as? String) ?? "(absent)" }
        for id in ["SSLv2", "SSLv3", "TLS1", "TLS1_1"] { XCTAssertEqual(finding(id), "not offered", id) }
        XCTAssertTrue(finding("TLS1_2").hasPrefix("offered"), finding("TLS1_2"))
        XCTAssertTrue(finding("TLS1_3").hasPrefix("offered"), finding("TLS1_3"))
        // Every offered cipher (the -E per-protocol list) is an AES-GCM AEAD suite; no CBC, no ChaCha20.
        let ciphers = findings.filter { ($0["id"] as? String)?.hasPrefix("cipher-") ?? false || ($0["id"] as? String)?.hasPrefix("cipher_x") ?? false }
            .compactMap { $0["finding"] as? String }
        XCTAssertFalse(ciphers.isEmpty, "no cipher findings")
        for c in ciphers {
            XCTAssertTrue(c.contains("GCM"), c)
            XCTAssertFalse(c.uppercased().contains("CHACHA") || c.contains("CBC") || c.contains("-SHA "), c)
        }
        let names = Set(ciphers.compactMap { $0.split(separator: " ").map(String.init).dropFirst(3).first })
        XCTAssertEqual(names, ["ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"])
        // Curves: only the NIST ones.
        let curves = finding("PFS_ECDHE_curves")
        XCTAssertTrue(curves.contains("prime256v1") && curves.contains("secp384r1"), curves)
        XCTAssertFalse(curves.contains("X25519") || curves.contains("X448"), curves)
        // No vulnerability rated worse than LOW/INFO (cert_revocation is expected for a self-issued CA).
        let bad = findings.filter { ["HIGH", "CRITICAL", "MEDIUM"].contains($0["severity"] as? String ?? "") && $0["id"] as? String != "cert_revocation" }
            .map { "\($0["id"] ?? "?"): \($0["finding"] ?? "")" }
        XCTAssertEqual(bad, [], "\(bad)")
        let summary = ["SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3"].map { "\($0)=\(finding($0))" }.joined(separator: ", ")
        print("testssl: \(summary); curves: \(curves); ciphers: \(names.sorted()); severities>LOW: \(bad.count)")
    }
}
