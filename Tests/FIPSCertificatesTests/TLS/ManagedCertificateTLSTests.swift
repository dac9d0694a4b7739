import Foundation
import XCTest
import FIPSCrypto
import FIPSCertificates
import FIPSTestSupport

/// TLS with pairs from the CertificateManager: served from the pair, verified against the local CA (as loaded
/// certificates and as a file), and hot-swapped on rotation while a live connection finishes on the old context.
final class ManagedCertificateTLSTests: XCTestCase {
    func testManagedPairRotationSwapsContextAndLiveConnectionFinishes() throws {
        let dir = try TestSupport.temporaryDirectory("managed-tls")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = CertificateStore(directory: dir.appendingPathComponent("tls"))
        let manager = CertificateManager(store: store)
        let pair = try manager.ensureServerCertificate(names: ["localhost", "127.0.0.1"])
        let holder = try TLSContextHolder(configuration: .makeServerConfiguration(pair: pair))
        let token = holder.follow(manager)
        defer { manager.removeObserver(token) }
        let server = HTTPSServer(configuration: .init(httpsPort: 0), contexts: holder)
        try server.start()
        defer { server.stop() }
        let port = server.httpsPort
        XCTAssertEqual(holder.current.certificate, pair.leaf)

        let ca = try Certificate.chain(fromPEM: String(contentsOf: store.certificateAuthorityPath, encoding: .utf8))
        let byValue = TLSConfiguration.makeClientConfiguration(trustRoots: .certificates(ca))
        let byFile = TLSConfiguration.makeClientConfiguration(trustRoots: .file(store.certificateAuthorityPath.path))
        let live = try TLSClient.connect(host: "localhost", port: port, configuration: byValue, timeout: 5)
        XCTAssertEqual(live.peerCertificate, pair.leaf)
        // The openssl tool agrees on the fingerprint of what is served.
        XCTAssertEqual(pair.leaf.sha256FingerprintHex, try TestPKI.fingerprint(store.certificatePath.path))

        let rotated = try manager.rotate()
        XCTAssertNotEqual(rotated.leaf, pair.leaf)
        XCTAssertEqual(holder.current.certificate, rotated.leaf, "onRotate swapped the context")
        XCTAssertEqual(holder.generation, 2)

        try live.write(Data("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8))
        var out = Data()
        while true { let d = try live.read(); if d.isEmpty { break }; out.append(d) }
        XCTAssertTrue(String(decoding: out, as: UTF8.self).hasPrefix("HTTP/1.1 200 OK"), "the old connection completes")
        live.close()
        let fresh = try TLSClient.connect(host: "127.0.0.1", port: port, configuration: byFile, timeout: 5)
        XCTAssertEqual(fresh.peerCertificate, rotated.leaf)
        XCTAssertEqual(fresh.peerCertificate?.sha256FingerprintHex, try TestPKI.fingerprint(store.certificatePath.path))
        fresh.close()
        // openssl s_client verifies the new leaf against the CA file.
        let s = try sClient(port, ["-tls1_2"], ca: store.certificateAuthorityPath.path)
        XCTAssertTrue(s.output.contains("Verify return code: 0 (ok)"), s.output)
    }

    func testEmptyTrustRootsAreRefused() {
        XCTAssertThrowsError(try TLSContext(configuration: .makeClientConfiguration(trustRoots: .certificates([])))) {
            XCTAssertEqual(($0 as? FIPSError)?.code, .invalidParameter)
        }
        XCTAssertThrowsError(try TLSContext(configuration: .makeClientConfiguration(trustRoots: .file("/nonexistent/ca.pem")))) {
            XCTAssertEqual(($0 as? FIPSError)?.code, .ioFailure)
        }
    }
}
