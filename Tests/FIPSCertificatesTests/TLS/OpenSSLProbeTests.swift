import Foundation
import XCTest
import FIPSCrypto
import FIPSCertificates
import FIPSTestSupport

/// `openssl s_client` probes (OpenSSL's own client, the system's default provider) against the server: what the
/// SP 800-52r2 profile must accept and refuse. The same expectations hold in both modes.
final class OpenSSLProbeTests: XCTestCase {
    func testProtocolVersionsSuitesGroupsAndSigalgs() throws {
        let pki = try TestPKI.make()
        let running = try RunningServer.start(pki)
        defer { running.stop() }
        let port = running.port

        // Accepted: TLS 1.2 with the strongest ECDSA suite, P-384, Extended Master Secret; TLS 1.3 AES-256-GCM.
        let v12 = try sClient(port, ["-tls1_2"], ca: pki.caCert)
        XCTAssertEqual(v12.status, 0, v12.output)
        XCTAssertTrue(v12.output.contains("Cipher is ECDHE-ECDSA-AES256-GCM-SHA384"), v12.output)
        XCTAssertTrue(v12.output.contains("Server Temp Key: ECDH, secp384r1") || v12.output.contains("Server Temp Key: ECDH, P-384"), v12.output)
        XCTAssertTrue(v12.output.contains("Extended master secret: yes"), v12.output)
        XCTAssertTrue(v12.output.contains("Verify return code: 0 (ok)"), v12.output)
        XCTAssertTrue(v12.output.contains("Compression: NONE"), v12.output)
        let v13 = try sClient(port, ["-tls1_3"], ca: pki.caCert)
        XCTAssertEqual(v13.status, 0, v13.output)
        XCTAssertTrue(v13.output.contains("Cipher is TLS_AES_256_GCM_SHA384"), v13.output)
        XCTAssertTrue(v13.output.contains("Server Temp Key: ECDH, secp384r1") || v13.output.contains("Server Temp Key: ECDH, P-384"), v13.output)

        // Accepted on request: the other approved suites and P-256.
        for args in [["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"], ["-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"],
                     ["-tls1_2", "-groups", "P-256"], ["-tls1_3", "-groups", "P-256"]] {
            let r = try sClient(port, args, ca: pki.caCert)
            XCTAssertEqual(r.status, 0, "\(args): \(r.output)")
            XCTAssertTrue(r.output.contains("Verify return code: 0 (ok)"), "\(args)")
        }

        // Refused: old protocols (the client is allowed to offer them), ChaCha20, CBC, static RSA, X25519/X448, SHA-1 sigalgs.
        let refused: [(String, [String])] = [
            ("TLS 1.0", ["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"]),
            ("TLS 1.1", ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"]),
            ("ECDHE-RSA-CHACHA20", ["-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305"]),
            ("ECDHE-ECDSA-CHACHA20", ["-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"]),
            ("TLS 1.3 ChaCha20", ["-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"]),
            ("CBC SHA-384", ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA384"]),
            ("CBC SHA-1", ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"]),
            ("static RSA GCM", ["-tls1_2", "-cipher", "AES256-GCM-SHA384"]),
            ("X25519 TLS 1.3", ["-tls1_3", "-groups", "X25519"]),
            ("X25519 TLS 1.2", ["-tls1_2", "-groups", "X25519"]),
            ("X448", ["-tls1_3", "-groups", "X448"]),
            ("ECDSA+SHA1", ["-tls1_2", "-sigalgs", "ECDSA+SHA1", "-cipher", "DEFAULT:@SECLEVEL=0"]),
        ]
        for (name, args) in refused {
            let r = try sClient(port, args)
            XCTAssertNotEqual(r.status, 0, "\(name) was accepted: \(r.output)")
            XCTAssertFalse(r.output.contains("Cipher is ECDHE") || r.output.contains("Cipher is TLS_"), "\(name): \(r.output)")
            XCTAssertTrue(r.output.contains("alert") || r.output.contains("no protocols") || r.output.contains("handshake failure"),
                          "\(name) should end in a TLS alert: \(r.output)")
        }
        // The specific alerts of the reference: protocol version (70) and handshake failure (40).
        XCTAssertTrue(try sClient(port, ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"]).output.contains("alert protocol version"))
        XCTAssertTrue(try sClient(port, ["-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305"]).output.contains("alert handshake failure"))
        XCTAssertTrue(try sClient(port, ["-tls1_3", "-groups", "X25519"]).output.contains("alert handshake failure"))
        // No session ticket is issued.
        XCTAssertFalse(v12.output.contains("TLS session ticket:"), v12.output)
    }
}
