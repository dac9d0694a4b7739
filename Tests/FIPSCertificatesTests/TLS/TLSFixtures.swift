import Foundation
import XCTest
import FIPSCrypto
import FIPSCertificates
import FIPSTestSupport

/// Test PKI made by the `openssl` command-line tool (an independent implementation): a P-384 CA and a P-256 leaf
/// for localhost / 127.0.0.1 / ::1, plus a second leaf from the same CA (for rotation) and an unrelated CA.
struct TestPKI {
    let directory: URL
    var caCert: String { directory.appendingPathComponent("ca.pem").path }
    var leafCert: String { directory.appendingPathComponent("leaf.pem").path }
    var leafKey: String { directory.appendingPathComponent("leaf.key").path }
    var leaf2Cert: String { directory.appendingPathComponent("leaf2.pem").path }
    var leaf2Key: String { directory.appendingPathComponent("leaf2.key").path }
    var otherNameCert: String { directory.appendingPathComponent("other-name.pem").path }
    var otherNameKey: String { directory.appendingPathComponent("other-name.key").path }
    var otherCACert: String { directory.appendingPathComponent("other-ca.pem").path }

    /// Made once per test process (openssl takes a moment per key).
    nonisolated(unsafe) private static var shared: TestPKI?
    private static let lock = NSLock()

    static func make() throws -> TestPKI {
        lock.lock(); defer { lock.unlock() }
        if let shared { return shared }
        let dir = try TestSupport.temporaryDirectory("fipscerts-tls")
        let script = """
        set -e
        cd '\(dir.path)'
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout ca.key -out ca.pem -days 3650 \
          -subj '/CN=Test Local CA' -addext 'basicConstraints=critical,CA:TRUE,pathlen:0' \
          -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\\nextendedKeyUsage=serverAuth\\nkeyUsage=critical,digitalSignature\\nbasicConstraints=critical,CA:FALSE\\n' > ext.cnf
        for n in leaf leaf2; do
          openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr -subj "/CN=localhost $n" 2>/dev/null
          openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 90 -sha384 -extfile ext.cnf -out $n.pem 2>/dev/null
          chmod 600 $n.key
        done
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other-name.key -out other-name.csr -subj '/CN=other.example' 2>/dev/null
        printf 'subjectAltName=DNS:other.example\nextendedKeyUsage=serverAuth\n' > ext2.cnf
        openssl x509 -req -in other-name.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 90 -sha384 -extfile ext2.cnf -out other-name.pem 2>/dev/null
        chmod 600 other-name.key
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout other-ca.key -out other-ca.pem -days 30 \
          -subj '/CN=Other CA' 2>/dev/null
        """
        let r = try TestSupport.run("/bin/sh", ["-c", script])
        guard r.status == 0 else { throw NSError(domain: "TestPKI", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.err]) }
        let pki = TestPKI(directory: dir)
        shared = pki
        return pki
    }

    /// SHA-256 fingerprint of a PEM certificate, computed by the openssl tool (`AB:CD:...`).
    static func fingerprint(_ pem: String) throws -> String {
        let r = try TestSupport.run("openssl", ["x509", "-in", pem, "-noout", "-fingerprint", "-sha256"])
        return (r.out.split(separator: "=").last.map(String.init) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func serverConfiguration(second: Bool = false) -> TLSConfiguration {
        .makeServerConfiguration(certificateChain: [.file(second ? leaf2Cert : leafCert)], privateKey: .file(second ? leaf2Key : leafKey))
    }
}

/// A running HTTPSServer on ephemeral loopback ports, stopped by `stop()`.
struct RunningServer {
    let server: HTTPSServer
    let holder: TLSContextHolder
    var port: UInt16 { server.httpsPort }
    var httpPort: UInt16 { server.httpPort ?? 0 }
    var url: String { "https://localhost:\(port)" }

    static func start(_ pki: TestPKI, configure: (inout HTTPSServer.Configuration) -> Void = { _ in }) throws -> RunningServer {
        let holder = try TLSContextHolder(configuration: pki.serverConfiguration())
        var c = HTTPSServer.Configuration(httpsHost: "127.0.0.1", httpsPort: 0, httpHost: "127.0.0.1", httpPort: 0,
                                          readTimeout: 5)
        configure(&c)
        let server = HTTPSServer(configuration: c, contexts: holder)
        try server.start()
        return RunningServer(server: server, holder: holder)
    }

    func stop() { server.stop(timeout: 2) }
}

/// Collects SecurityEvents raised while a test runs.
final class EventRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [SecurityEvent] = []
    private var token: UInt64 = 0
    init() { token = SecurityEvents.addHandler { [weak self] e in self?.append(e) } }
    private func append(_ e: SecurityEvent) { lock.lock(); events.append(e); lock.unlock() }
    var all: [SecurityEvent] { lock.lock(); defer { lock.unlock() }; return events }
    func stop() { SecurityEvents.removeHandler(token) }
}

/// `openssl s_client` against 127.0.0.1:port with extra arguments; returns its combined output and status.
func sClient(_ port: UInt16, _ args: [String], ca: String? = nil) throws -> (status: Int32, output: String) {
    var a = ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost"] + args
    if let ca { a += ["-CAfile", ca, "-verify_return_error"] }
    let r = try TestSupport.run("openssl", a, input: Data("Q\n".utf8), timeout: 20)
    return (r.status, r.out + r.err)
}
