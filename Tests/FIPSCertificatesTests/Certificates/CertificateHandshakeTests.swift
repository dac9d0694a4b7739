import Foundation
import XCTest
import FIPSCrypto
import FIPSTestSupport
@testable import FIPSCertificates

/// The certificates serve real TLS: `openssl s_server` (an independent server) presents a managed pair, and
/// python's `ssl` module (an independent client, OpenSSL's verifier under CPython's policy) verifies it against
/// the local CA with host-name checking, on 127.0.0.1.
final class CertificateHandshakeTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TestSupport.temporaryDirectory("certs-tls") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func handshake(keyKind: SigningPrivateKey.Kind) throws -> String {
        let store = CertificateStore(directory: dir.appendingPathComponent(keyKind.name))
        let pair = try CertificateManager(store: store).ensureServerCertificate(names: ["localhost", "127.0.0.1"], keyKind: keyKind)
        let leafPath = try CertTools.write(pair.leaf.pemRepresentation, dir, "\(keyKind.name)-leaf.pem")
        let port = try TestSupport.freePort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["openssl", "s_server", "-accept", "127.0.0.1:\(port)", "-cert", leafPath, "-key", store.keyPath.path,
                            "-cert_chain", store.certificateAuthorityPath.path, "-naccept", "1", "-quiet"]
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "OPENSSL_CONF")
        server.environment = env
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { server.terminate() }; server.waitUntilExit() }

        let client = #"""
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[1])
for i in range(100):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=5); break
    except OSError: time.sleep(0.05)
with ctx.wrap_socket(s, server_hostname=sys.argv[3]) as t:
    c = t.getpeercert()
    print(t.version(), dict(x[0] for x in c["subject"])["commonName"], ",".join(v for k, v in c["subjectAltName"]))
"""#
        return try CertTools.python(client, [store.certificateAuthorityPath.path, String(port), "localhost"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testPythonSSLVerifiesTheServedP256Leaf() throws {
        let out = try handshake(keyKind: .p256)
        XCTAssertTrue(out.hasPrefix("TLSv1.3 localhost localhost,127.0.0.1"), out)
    }

    func testPythonSSLVerifiesTheServedRSALeaf() throws {
        let out = try handshake(keyKind: .rsa2048)
        XCTAssertTrue(out.hasPrefix("TLSv1.3 localhost localhost,127.0.0.1"), out)
    }
}
