import Foundation
import XCTest
import FIPSCrypto
import FIPSCertificates
import FIPSTestSupport

/// A `fipsctl serve` process on ephemeral ports; its stdout is collected while it runs.
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var output = ""
    private let pipe = Pipe()

    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: TestSupport.fipsctl)
        process.arguments = ["serve"] + arguments
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            guard let self, !d.isEmpty else { return }
            self.lock.lock(); self.output += String(decoding: d, as: UTF8.self); self.lock.unlock()
        }
        try process.run()
    }

    var text: String { lock.lock(); defer { lock.unlock() }; return output }

    /// Waits until the output matches `pattern` and returns the first capture group.
    func await(_ pattern: String, timeout: Double = 30) throws -> String {
        let regex = try NSRegularExpression(pattern: pattern)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let t = text
            if let m = regex.firstMatch(in: t, range: NSRange(t.startIndex..., in: t)) {
                return m.numberOfRanges > 1 ? String(t[Range(m.range(at: 1), in: t)!]) : String(t[Range(m.range, in: t)!])
            }
            if !process.isRunning { break }
            usleep(50_000)
        }
        throw NSError(domain: "ServeProcess", code: 1, userInfo: [NSLocalizedDescriptionKey: "no '\(pattern)' in output: \(text)"])
    }

    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// SIGTERM and wait (bounded); returns the exit status.
    func terminate(timeout: Double = 15) -> Int32 {
        if process.isRunning { signal(SIGTERM) }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { process.terminate(); process.waitUntilExit(); return -1 }
        return process.terminationStatus
    }
}

final class ServeCommandTests: XCTestCase {
    func testServeHelpIsAManPage() throws {
        let r = try TestSupport.fipsctl(["serve", "--help"])
        XCTAssertEqual(r.status, 0)
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES"] { XCTAssertTrue(r.out.contains(section), section) }
        XCTAssertEqual(try TestSupport.fipsctl(["serve"]).status, 2)
        XCTAssertEqual(try TestSupport.fipsctl(["serve", "--cert-dir", "/tmp/x", "--https", "nonsense"]).status, 2)
        XCTAssertEqual(try TestSupport.fipsctl(["serve", "--cert-dir", "/tmp/x", "--renew-check-interval", "601"]).status, 2)
    }

    /// First run on an empty directory: a local CA and a leaf are made and the CA path printed; curl and python
    /// verify against it; A+ headers over HTTPS, 308 over HTTP; a rotation by another process (`fipsctl cert rotate`)
    /// is picked up by the renewal timer; SIGHUP with a damaged store keeps the old certificate; SIGTERM exits 0.
    func testServeEndToEnd() throws {
        let dir = try TestSupport.temporaryDirectory("serve")
        defer { try? FileManager.default.removeItem(at: dir) }
        let certDir = dir.appendingPathComponent("tls").path
        let serve = try ServeProcess(["--cert-dir", certDir, "--https", "127.0.0.1:0", "--http", "127.0.0.1:0",
                                      "--names", "svc.example", "--renew-check-interval", "1"])
        defer { _ = serve.terminate() }
        let port = try serve.await(#"https://127\.0\.0\.1:(\d+)/status"#)
        let httpPort = try serve.await(#"http://127\.0\.0\.1:(\d+)/ redirects"#)
        XCTAssertTrue(try serve.await("TLS (.*FIPS.*)\\)").contains(TestSupport.isDevelopmentMode ? "NOT FIPS" : "FIPS (SP 800-52r2)"))
        XCTAssertEqual(try serve.await("security headers grade (\\S+)"), "A+")
        let ca = try serve.await("clients trust the local CA (\\S+)")
        XCTAssertEqual(ca, certDir + "/ca/ca.pem")
        let first = try serve.await("certificate sha256 ([0-9A-F:]+)")
        XCTAssertEqual(first, try TestPKI.fingerprint(certDir + "/cert.pem"))

        let head = try TestSupport.run("curl", ["-sI", "--cacert", ca, "https://localhost:\(port)/status"])
        let headers = head.out.components(separatedBy: "\r\n").compactMap { l -> (String, String)? in
            guard let c = l.firstIndex(of: ":") else { return nil }
            return (String(l[..<c]), l[l.index(after: c)...].trimmingCharacters(in: .whitespaces))
        }
        XCTAssertTrue(head.out.hasPrefix("HTTP/1.1 200 OK"), head.out + head.err)
        let grade = SecurityHeaders.grade(headers)
        XCTAssertEqual(grade.grade, "A+", "\(grade)")
        print("fipsctl serve header grade: \(grade)")
        let redirect = try TestSupport.run("curl", ["-sI", "http://127.0.0.1:\(httpPort)/status?x=1"])
        XCTAssertTrue(redirect.out.hasPrefix("HTTP/1.1 308 Permanent Redirect"), redirect.out)
        XCTAssertTrue(redirect.out.contains("Location: https://127.0.0.1:\(port)/status?x=1\r\n"), redirect.out)
        XCTAssertFalse(redirect.out.contains("Strict-Transport-Security"))
        XCTAssertEqual(try TestSupport.run("curl", ["-sI", "--tls-max", "1.1", "--cacert", ca, "https://127.0.0.1:\(port)/"]).status, 35)
        let py = """
        import ssl, socket, sys
        ctx = ssl.create_default_context(cafile=sys.argv[1])
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10), server_hostname="svc.example") as s:
            print(s.version())
        """
        XCTAssertEqual(try TestSupport.run("python3", ["-c", py, ca, port]).out.trimmingCharacters(in: .whitespacesAndNewlines), "TLSv1.3")

        // Another process rotates the leaf; the serve process's timer (1 s) picks it up from the store.
        let rotate = try TestSupport.fipsctl(["cert", "rotate", "--dir", certDir, "--force"])
        XCTAssertEqual(rotate.status, 0, rotate.out + rotate.err)
        let second = try serve.await("new certificate in service: sha256 ([0-9A-F:]+)", timeout: 15)
        XCTAssertNotEqual(second, first)
        XCTAssertEqual(second, try TestPKI.fingerprint(certDir + "/cert.pem"))
        let c = try TLSClient.connect(host: "localhost", port: UInt16(port)!, configuration: .makeClientConfiguration(trustRoots: .file(ca)))
        XCTAssertEqual(c.peerCertificate?.sha256FingerprintHex, second)
        c.close()

        // A damaged store and SIGHUP: the current certificate stays in service.
        try Data("junk".utf8).write(to: URL(fileURLWithPath: certDir + "/cert.pem"))
        serve.signal(SIGHUP)
        _ = try serve.await("(SIGHUP: reload failed)")
        let c2 = try TLSClient.connect(host: "127.0.0.1", port: UInt16(port)!, configuration: .makeClientConfiguration(trustRoots: .file(ca)))
        XCTAssertEqual(c2.peerCertificate?.sha256FingerprintHex, second)
        c2.close()

        XCTAssertEqual(serve.terminate(), 0, serve.text)
        XCTAssertTrue(serve.text.contains("stopping"))
    }

    /// --self-signed: a bare self-signed leaf, its own file is what clients trust.
    func testServeSelfSigned() throws {
        let dir = try TestSupport.temporaryDirectory("serve-ss")
        defer { try? FileManager.default.removeItem(at: dir) }
        let certDir = dir.appendingPathComponent("tls").path
        let serve = try ServeProcess(["--cert-dir", certDir, "--https", "127.0.0.1:0", "--self-signed"])
        defer { _ = serve.terminate() }
        let port = try serve.await(#"https://127\.0\.0\.1:(\d+)/status"#)
        XCTAssertEqual(try serve.await("self-signed: clients trust (\\S+)"), certDir + "/cert.pem")
        XCTAssertFalse(FileManager.default.fileExists(atPath: certDir + "/ca/ca.pem"))
        let s = try sClient(UInt16(port)!, ["-tls1_3", "-showcerts"])
        XCTAssertTrue(s.output.contains("Cipher is TLS_AES_256_GCM_SHA384"), s.output)
        let subject = try TestSupport.run("openssl", ["x509", "-in", certDir + "/cert.pem", "-noout", "-subject", "-issuer"])
        let lines = subject.out.split(separator: "\n").map { $0.split(separator: "=", maxSplits: 1).last.map(String.init) ?? "" }
        XCTAssertEqual(lines.count, 2)
        XCTAssertEqual(lines.first, lines.last, "subject == issuer")
        XCTAssertEqual(serve.terminate(), 0)
    }
}
