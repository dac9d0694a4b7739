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

    /// The served endpoint: A+ headers over HTTPS, 308 over HTTP, SIGHUP picks up a new certificate, SIGTERM stops
    /// cleanly with status 0.
    func testServeEndToEnd() throws {
        let pki = try TestPKI.make()
        let dir = try TestSupport.temporaryDirectory("serve")
        defer { try? FileManager.default.removeItem(at: dir) }
        let certPath = dir.appendingPathComponent("cert.pem").path, keyPath = dir.appendingPathComponent("key.pem").path
        func install(_ cert: String, _ key: String) throws {
            try? FileManager.default.removeItem(atPath: certPath); try? FileManager.default.removeItem(atPath: keyPath)
            try FileManager.default.copyItem(atPath: cert, toPath: certPath)
            try FileManager.default.copyItem(atPath: key, toPath: keyPath)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyPath)
        }
        try install(pki.leafCert, pki.leafKey)
        let serve = try ServeProcess(["--cert-dir", dir.path, "--https", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        defer { _ = serve.terminate() }
        let port = try serve.await(#"https://127\.0\.0\.1:(\d+)/status"#)
        let httpPort = try serve.await(#"http://127\.0\.0\.1:(\d+)/ redirects"#)
        XCTAssertTrue(try serve.await("TLS (.*FIPS.*)\\)").contains(TestSupport.isDevelopmentMode ? "NOT FIPS" : "FIPS (SP 800-52r2)"))
        XCTAssertEqual(try serve.await("security headers grade (\\S+)"), "A+")

        let head = try TestSupport.run("curl", ["-sI", "--cacert", pki.caCert, "--resolve", "localhost:\(port):127.0.0.1", "https://localhost:\(port)/status"])
        let headers = head.out.components(separatedBy: "\r\n").compactMap { l -> (String, String)? in
            guard let c = l.firstIndex(of: ":") else { return nil }
            return (String(l[..<c]), l[l.index(after: c)...].trimmingCharacters(in: .whitespaces))
        }
        XCTAssertTrue(head.out.hasPrefix("HTTP/1.1 200 OK"), head.out)
        let grade = SecurityHeaders.grade(headers)
        XCTAssertEqual(grade.grade, "A+", "\(grade)")
        print("fipsctl serve header grade: \(grade)")
        let redirect = try TestSupport.run("curl", ["-sI", "http://127.0.0.1:\(httpPort)/status?x=1"])
        XCTAssertTrue(redirect.out.hasPrefix("HTTP/1.1 308 Permanent Redirect"), redirect.out)
        XCTAssertTrue(redirect.out.contains("Location: https://127.0.0.1:\(port)/status?x=1\r\n"), redirect.out)
        XCTAssertEqual(try TestSupport.run("curl", ["-sI", "--tls-max", "1.1", "--cacert", pki.caCert, "https://127.0.0.1:\(port)/"]).status, 35)

        // SIGHUP reloads the certificate from the directory.
        try install(pki.leaf2Cert, pki.leaf2Key)
        serve.signal(SIGHUP)
        XCTAssertEqual(try serve.await("SIGHUP: reloaded, certificate sha256 ([0-9a-f]+)"), try TestPKI.fingerprint(pki.leaf2Cert))
        let c = try TLSClient.connect(host: "127.0.0.1", port: UInt16(port)!, configuration: .makeClientConfiguration(trustRoots: .file(pki.caCert)))
        XCTAssertEqual(c.peerCertificateFingerprint, try TestPKI.fingerprint(pki.leaf2Cert))
        c.close()
        // A broken file and SIGHUP: the old certificate stays in service.
        try Data("junk".utf8).write(to: URL(fileURLWithPath: certPath))
        serve.signal(SIGHUP)
        _ = try serve.await("(SIGHUP: reload failed)")
        let c2 = try TLSClient.connect(host: "localhost", port: UInt16(port)!, configuration: .makeClientConfiguration(trustRoots: .file(pki.caCert)))
        XCTAssertEqual(c2.peerCertificateFingerprint, try TestPKI.fingerprint(pki.leaf2Cert))
        c2.close()

        XCTAssertEqual(serve.terminate(), 0, serve.text)
        XCTAssertTrue(serve.text.contains("stopping"))
    }
}
