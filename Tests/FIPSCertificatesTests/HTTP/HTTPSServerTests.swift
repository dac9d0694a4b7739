import Foundation
import XCTest
import FIPSCrypto
@testable import FIPSCertificates
import FIPSTestSupport

final class HTTPSServerTests: XCTestCase {
    /// curl (an independent client) verifying against the test CA; returns status line + headers, lower-cased names.
    private func curlHead(_ running: RunningServer, _ pki: TestPKI, _ path: String, method: String? = nil,
                          extra: [String] = []) throws -> (status: Int, headers: [(String, String)], exit: Int32) {
        var args = ["-s", "-o", "/dev/null", "-D", "-", "--max-time", "10", "--cacert", pki.caCert,
                    "--resolve", "localhost:\(running.port):127.0.0.1"]
        if let method { args += method == "HEAD" ? ["-I"] : ["-X", method] }
        args += extra + ["https://localhost:\(running.port)\(path)"]
        let r = try TestSupport.run("curl", args, timeout: 20)
        return parseHead(r.out, exit: r.status)
    }

    private func parseHead(_ text: String, exit: Int32) -> (status: Int, headers: [(String, String)], exit: Int32) {
        let lines = text.components(separatedBy: "\r\n")
        let status = lines.first.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) } ?? 0
        let headers = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let c = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<c]), line[line.index(after: c)...].trimmingCharacters(in: .whitespaces))
        }
        return (status, headers, exit)
    }

    private func value(_ headers: [(String, String)], _ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// Every response kind carries every security header, a charset, no Server header, and grades A+.
    func testSecurityHeadersOnEveryResponse() throws {
        let pki = try TestPKI.make()
        let running = try RunningServer.start(pki)
        defer { running.stop() }
        let cases: [(String, String?, Int)] = [("/status", nil, 200), ("/status", "HEAD", 200), ("/healthz", nil, 200),
                                                ("/nope", nil, 404), ("/status", "POST", 405), ("/status", "DELETE", 405),
                                                ("/status", "OPTIONS", 204), ("/healthz?x=1", "HEAD", 200)]
        for (path, method, expected) in cases {
            let r = try curlHead(running, pki, path, method: method)
            let label = "\(method ?? "GET") \(path)"
            XCTAssertEqual(r.exit, 0, label)
            XCTAssertEqual(r.status, expected, label)
            for f in SecurityHeaders.strictAPI.fields {
                XCTAssertEqual(value(r.headers, f.name), f.value, "\(label): \(f.name)")
            }
            XCTAssertNil(value(r.headers, "Server"), label)
            XCTAssertNil(value(r.headers, "X-Powered-By"), label)
            XCTAssertTrue(value(r.headers, "Content-Type")?.contains("charset=utf-8") ?? false, label)
            XCTAssertEqual(SecurityHeaders.grade(r.headers).grade, "A+", label)
            if expected == 405 || expected == 204 { XCTAssertEqual(value(r.headers, "Allow"), "GET, HEAD, OPTIONS", label) }
        }
        // /status is the module's status as JSON.
        let body = try TestSupport.run("curl", ["-s", "--cacert", pki.caCert, "--resolve", "localhost:\(running.port):127.0.0.1",
                                                "https://localhost:\(running.port)/status"])
        let json = try JSONSerialization.jsonObject(with: body.stdout) as? [String: Any]
        XCTAssertEqual(json?["state"] as? String, "operational")
        XCTAssertEqual(json?["isFIPS"] as? Bool, !TestSupport.isDevelopmentMode)
    }

    /// Plain HTTP answers only 308 to the same path and query over HTTPS, without HSTS; a foreign Host is not echoed.
    func testPlainHTTPOnlyRedirects() throws {
        let pki = try TestPKI.make()
        let running = try RunningServer.start(pki)
        defer { running.stop() }
        for (method, path) in [("GET", "/status?a=1&b=two"), ("HEAD", "/x/y"), ("POST", "/status"), ("GET", "/")] {
            var args = ["-s", "-o", "/dev/null", "-D", "-", "--max-time", "10"]
            args += method == "HEAD" ? ["-I"] : ["-X", method]
            let r = try TestSupport.run("curl", args + ["http://127.0.0.1:\(running.httpPort)\(path)"])
            let h = parseHead(r.out, exit: r.status)
            XCTAssertEqual(h.status, 308, "\(method) \(path)")
            XCTAssertEqual(value(h.headers, "Location"), "https://127.0.0.1:\(running.port)\(path)")
            XCTAssertNil(value(h.headers, "Strict-Transport-Security"), "no HSTS over plain HTTP")
            XCTAssertEqual(value(h.headers, "Content-Security-Policy"), "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
            XCTAssertNil(value(h.headers, "Server"))
        }
        let foreign = try TestSupport.run("curl", ["-s", "-o", "/dev/null", "-D", "-", "-H", "Host: evil.example",
                                                   "http://127.0.0.1:\(running.httpPort)/p?q"])
        XCTAssertEqual(value(parseHead(foreign.out, exit: 0).headers, "Location"), "https://127.0.0.1:\(running.port)/p?q")
        let named = try TestSupport.run("curl", ["-s", "-o", "/dev/null", "-D", "-", "-H", "Host: localhost:\(running.httpPort)",
                                                 "http://127.0.0.1:\(running.httpPort)/p"])
        XCTAssertEqual(value(parseHead(named.out, exit: 0).headers, "Location"), "https://localhost:\(running.port)/p")
        // curl follows the redirect and verifies the HTTPS side.
        let follow = try TestSupport.run("curl", ["-s", "-L", "--cacert", pki.caCert, "-w", "%{http_code}", "-o", "/dev/null",
                                                  "--resolve", "localhost:\(running.port):127.0.0.1",
                                                  "http://localhost:\(running.httpPort)/healthz"])
        XCTAssertEqual(follow.out, "200")
    }

    /// curl cannot talk TLS 1.1 or X25519 to the server (exit 35: SSL connect error).
    func testCurlRefusedBelowTLS12AndWithX25519() throws {
        let pki = try TestPKI.make()
        let running = try RunningServer.start(pki)
        defer { running.stop() }
        XCTAssertEqual(try curlHead(running, pki, "/healthz", extra: ["--tls-max", "1.1", "--ciphers", "DEFAULT@SECLEVEL=0"]).exit, 35)
        XCTAssertEqual(try curlHead(running, pki, "/healthz", extra: ["--curves", "X25519"]).exit, 35)
        XCTAssertEqual(try curlHead(running, pki, "/healthz", extra: ["--tlsv1.2", "--tls-max", "1.2"]).status, 200)
    }

    /// Python's ssl module (another client stack) verifies the leaf against the local CA and the host name.
    func testPythonVerifiesLeafAgainstCA() throws {
        let pki = try TestPKI.make()
        let running = try RunningServer.start(pki)
        defer { running.stop() }
        let script = """
        import ssl, socket, sys
        ctx = ssl.create_default_context(cafile=sys.argv[1])
        with socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n")
                data = b""
                while True:
                    d = s.recv(4096)
                    if not d: break
                    data += d
                print(s.version(), s.cipher()[0], data.split(b"\\r\\n")[0].decode())
        """
        let r = try TestSupport.run("python3", ["-c", script, pki.caCert, String(running.port)], timeout: 30)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out.trimmingCharacters(in: .whitespacesAndNewlines), "TLSv1.3 TLS_AES_256_GCM_SHA384 HTTP/1.1 200 OK")
        // The same client with another CA fails verification.
        let bad = try TestSupport.run("python3", ["-c", script, pki.otherCACert, String(running.port)], timeout: 30)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.err.contains("CERTIFICATE_VERIFY_FAILED"), bad.err)
    }

    /// A TLS 1.2 client that turns off the Extended Master Secret gets no HTTP answer.
    func testTLS12WithoutExtendedMasterSecretIsRefused() throws {
        let pki = try TestPKI.make()
        let events = EventRecorder()
        defer { events.stop() }
        let running = try RunningServer.start(pki)
        defer { running.stop() }
        let script = """
        import ssl, socket, sys
        ctx = ssl.create_default_context(cafile=sys.argv[1])
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.options |= 1  # SSL_OP_NO_EXTENDED_MASTER_SECRET (OpenSSL 3)
        try:
            with socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                    s.sendall(b"GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n")
                    d = s.recv(4096)
                    print("ANSWER" if d else "CLOSED")
        except Exception as e:
            print("REFUSED", type(e).__name__, e)
        """
        let r = try TestSupport.run("python3", ["-c", script, pki.caCert, String(running.port)], timeout: 30)
        XCTAssertFalse(r.out.contains("ANSWER"), r.out + r.err)
        XCTAssertTrue(r.out.hasPrefix("CLOSED") || r.out.hasPrefix("REFUSED"), r.out + r.err)
        try waitFor { events.all.contains { $0.action == "tls-handshake-failed" } }
        let e = events.all.first { $0.action == "tls-handshake-failed" }
        XCTAssertEqual(e?.category, .tls)
        XCTAssertEqual(e?.metadata["source.ip"], "127.0.0.1")
        // Our post-handshake check refuses it in both modes (the 3.5 FIPS provider under libssl 3.0 alone does not).
        XCTAssertTrue(e?.reason?.contains("Extended Master Secret") ?? false, "\(String(describing: e))")
    }

    /// Garbage on the TLS port, garbage inside TLS, and an oversized head: each connection is closed (400 / 431 where
    /// there is HTTP to answer), and the server keeps serving.
    func testBadInputClosesConnectionAndServerKeepsServing() throws {
        let pki = try TestPKI.make()
        let running = try RunningServer.start(pki) { $0.maxHeaderBytes = 8192 }
        defer { running.stop() }
        let raw = """
        import socket, sys
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
        s.sendall(bytes.fromhex(sys.argv[2]))
        data = b""
        try:
            while True:
                d = s.recv(4096)
                if not d: break
                data += d
            print("CLOSED", len(data))
        except Exception as e:
            print("ERROR", e)
        """
        // Not TLS at all: closed (the server may send an alert, never HTTP).
        let junk = try TestSupport.run("python3", ["-c", raw, String(running.port), TestSupport.hex(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))])
        XCTAssertTrue(junk.out.hasPrefix("CLOSED"), junk.out + junk.err)
        let random = try TestSupport.run("python3", ["-c", raw, String(running.port), TestSupport.hex((0..<600).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })])
        XCTAssertTrue(random.out.hasPrefix("CLOSED"), random.out + random.err)
        // Plain port garbage: 400 and closed.
        let plain = try TestSupport.run("python3", ["-c", raw, String(running.httpPort), TestSupport.hex(Array("\u{01}\u{02}garbage\r\n\r\n".utf8))])
        XCTAssertTrue(plain.out.hasPrefix("CLOSED"), plain.out)

        let client = TLSConfiguration.makeClientConfiguration(trustRoots: .file(pki.caCert))
        func exchange(_ request: String) throws -> String {
            let c = try TLSClient.connect(host: "localhost", port: running.port, configuration: client, timeout: 5)
            defer { c.close() }
            try c.write(Data(request.utf8))
            var out = Data()
            while true { let d = try c.read(); if d.isEmpty { break }; out.append(d) }
            return String(decoding: out, as: UTF8.self)
        }
        let big = try exchange("GET /status HTTP/1.1\r\nHost: localhost\r\nX-Big: \(String(repeating: "a", count: 20_000))\r\n\r\n")
        XCTAssertTrue(big.hasPrefix("HTTP/1.1 431 "), big)
        XCTAssertTrue(big.contains("Strict-Transport-Security: max-age=31536000; includeSubDomains"))
        let bad = try exchange("GARBAGE\r\n\r\n")
        XCTAssertTrue(bad.hasPrefix("HTTP/1.1 400 "), bad)
        XCTAssertTrue(bad.contains("X-Frame-Options: DENY"))
        let nul = try exchange("GET /status\u{0} HTTP/1.1\r\nHost: localhost\r\n\r\n")
        XCTAssertTrue(nul.hasPrefix("HTTP/1.1 400 "), nul)
        let noHost = try exchange("GET /status HTTP/1.1\r\n\r\n")
        XCTAssertTrue(noHost.hasPrefix("HTTP/1.1 400 "), noHost)
        // Still serving.
        let ok = try exchange("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        XCTAssertTrue(ok.hasPrefix("HTTP/1.1 200 OK\r\n"), ok)
        XCTAssertTrue(ok.hasSuffix("\r\n\r\nok\n"), ok)
    }

    /// Timeouts: a silent TCP client (no handshake) and a client trickling its head are both cut off after the read
    /// timeout, and the server keeps serving.
    func testSilentAndTricklingClientsAreCutOff() throws {
        let pki = try TestPKI.make()
        let running = try RunningServer.start(pki) { $0.readTimeout = 1 }
        defer { running.stop() }
        let silent = """
        import socket, sys, time
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
        t = time.time()
        d = s.recv(100)
        print("CLOSED" if not d else "DATA", round(time.time() - t, 1))
        """
        let r = try TestSupport.run("python3", ["-c", silent, String(running.port)], timeout: 20)
        XCTAssertTrue(r.out.hasPrefix("CLOSED"), r.out + r.err)
        let waited = Double(r.out.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 99
        XCTAssertLessThan(waited, 5, r.out)

        let client = TLSConfiguration.makeClientConfiguration(trustRoots: .file(pki.caCert))
        let c = try TLSClient.connect(host: "localhost", port: running.port, configuration: client, timeout: 5)
        defer { c.close() }
        try c.write(Data("GET /healthz HTTP/1.1\r\nHost: localhost\r\n".utf8))
        for i in 0..<8 {
            usleep(300_000)
            do { try c.write(Data("X-\(i): y\r\n".utf8)) } catch { break }
        }
        try? c.write(Data("\r\n".utf8))
        let answer = (try? c.read()) ?? Data()
        XCTAssertFalse(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 200"), "a 2.4 s trickle must not be served with a 1 s timeout")
        let ok = try TLSClient.connect(host: "localhost", port: running.port, configuration: client, timeout: 5)
        try ok.write(Data("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8))
        XCTAssertTrue(String(decoding: try ok.read(), as: UTF8.self).hasPrefix("HTTP/1.1 200"))
        ok.close()
    }

    /// A handler that throws gives a 500 with the security headers and no error text.
    func testHandlerErrorIs500WithHeaders() throws {
        let pki = try TestPKI.make()
        let holder = try TLSContextHolder(configuration: pki.serverConfiguration())
        let server = HTTPSServer(configuration: .init(httpsPort: 0), contexts: holder) { _ in
            throw FIPSError(.ioFailure, "secret-internal-detail")
        }
        try server.start()
        defer { server.stop() }
        let r = try TestSupport.run("curl", ["-s", "-D", "-", "--cacert", pki.caCert, "--resolve", "localhost:\(server.httpsPort):127.0.0.1",
                                             "https://localhost:\(server.httpsPort)/anything"])
        XCTAssertTrue(r.out.hasPrefix("HTTP/1.1 500 "), r.out)
        XCTAssertFalse(r.out.contains("secret-internal-detail"))
        XCTAssertEqual(SecurityHeaders.grade(parseHead(r.out, exit: 0).headers).grade, "A+")
    }

    /// Rotation: a connection opened before the swap completes on the old certificate; new connections see the new
    /// one (fingerprints compared with the openssl tool's).
    func testRotationWhileAConnectionStaysOpen() throws {
        let pki = try TestPKI.make()
        let running = try RunningServer.start(pki)
        defer { running.stop() }
        let old = try TestPKI.fingerprint(pki.leafCert), new = try TestPKI.fingerprint(pki.leaf2Cert)
        XCTAssertNotEqual(old, new)
        let client = TLSConfiguration.makeClientConfiguration(trustRoots: .file(pki.caCert))
        let live = try TLSClient.connect(host: "localhost", port: running.port, configuration: client, timeout: 5)
        XCTAssertEqual(live.peerCertificate?.sha256FingerprintHex, old)
        func request(_ c: TLSConnection, close: Bool) throws -> String {
            try c.write(Data("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\(close ? "Connection: close\r\n" : "")\r\n".utf8))
            var out = Data()
            while !String(decoding: out, as: UTF8.self).hasSuffix("ok\n") { let d = try c.read(); if d.isEmpty { break }; out.append(d) }
            return String(decoding: out, as: UTF8.self)
        }
        XCTAssertTrue(try request(live, close: false).hasPrefix("HTTP/1.1 200"))
        try running.holder.replace(with: pki.serverConfiguration(second: true))
        XCTAssertEqual(running.holder.current.certificate?.sha256FingerprintHex, new)
        // The live connection keeps working on the old context.
        XCTAssertTrue(try request(live, close: true).hasPrefix("HTTP/1.1 200"))
        XCTAssertEqual(live.peerCertificate?.sha256FingerprintHex, old)
        live.close()
        let fresh = try TLSClient.connect(host: "localhost", port: running.port, configuration: client, timeout: 5)
        XCTAssertEqual(fresh.peerCertificate?.sha256FingerprintHex, new)
        fresh.close()
        let s = try sClient(running.port, ["-tls1_3"], ca: pki.caCert)
        XCTAssertTrue(s.output.contains("CN = localhost leaf2"), s.output)
    }

    /// Concurrent clients are served; beyond maxConnections, an extra connection waits for a slot (its handshake
    /// times out while every slot is held) and is not dropped while a finished client's slot is being released.
    func testConcurrencyAndConnectionBound() throws {
        let pki = try TestPKI.make()
        let running = try RunningServer.start(pki) { $0.maxConnections = 3 }
        defer { running.stop() }
        let client = try TLSContext(configuration: .makeClientConfiguration(trustRoots: .file(pki.caCert)))
        // 30 requests through 3 slots: 3 clients, each reconnecting right after its previous connection closed.
        let ok = Mutex2(0)
        DispatchQueue.concurrentPerform(iterations: 3) { _ in
            for _ in 0..<10 {
                guard let c = try? TLSClient.connect(host: "localhost", port: running.port, context: client, timeout: 5) else { continue }
                try? c.write(Data("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8))
                var out = Data()
                while let d = try? c.read(), !d.isEmpty { out.append(d) }
                if String(decoding: out, as: UTF8.self).hasPrefix("HTTP/1.1 200") { ok.add(1) }
                c.close()
            }
        }
        XCTAssertEqual(ok.value, 30)
        try waitFor { running.server.activeConnections == 0 }
        let held = try (0..<3).map { _ in try TLSClient.connect(host: "localhost", port: running.port, context: client, timeout: 5) }
        XCTAssertThrowsError(try TLSClient.connect(host: "localhost", port: running.port, context: client, timeout: 3))
        for c in held { c.close() }
        try waitFor { running.server.activeConnections == 0 }
        XCTAssertNoThrow(try TLSClient.connect(host: "localhost", port: running.port, context: client, timeout: 5).close())
    }

    /// A connection beyond the limit is not dropped: it waits until a slot frees, then is served. (Dropping it made
    /// a client that reconnected right after its previous connection fail while the server was still releasing
    /// that connection's slot.)
    func testAConnectionBeyondTheLimitWaitsForASlot() throws {
        let pki = try TestPKI.make()
        let running = try RunningServer.start(pki) { $0.maxConnections = 1 }
        defer { running.stop() }
        let client = try TLSContext(configuration: .makeClientConfiguration(trustRoots: .file(pki.caCert)))
        let first = try TLSClient.connect(host: "localhost", port: running.port, context: client, timeout: 5)
        try waitFor { running.server.activeConnections == 1 }
        let response = Mutex2(0)
        let done = DispatchSemaphore(value: 0)
        let started = Date()
        let waitedSeconds = Mutex2(0)
        Thread.detachNewThread {
            defer { done.signal() }
            // The handshake can only complete once `first` has closed and freed the one slot.
            guard let second = try? TLSClient.connect(host: "localhost", port: running.port, context: client, timeout: 5) else { return }
            waitedSeconds.add(Int(Date().timeIntervalSince(started) * 1000))
            try? second.write(Data("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8))
            var out = Data()
            while let d = try? second.read(), !d.isEmpty { out.append(d) }
            if String(decoding: out, as: UTF8.self).hasPrefix("HTTP/1.1 200") { response.add(1) }
            second.close()
        }
        usleep(500_000)
        XCTAssertEqual(running.server.activeConnections, 1, "the second connection must wait, not be served beside the first")
        first.close()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(response.value, 1, "the waiting connection was dropped instead of served")
        XCTAssertGreaterThanOrEqual(waitedSeconds.value, 450, "the second handshake finished before the first connection closed")
    }

    /// Handshake-failure events: at most N per window, the rest counted and reported with the next one.
    func testHandshakeFailureEventsAreRateLimited() throws {
        let events = EventRecorder()
        defer { events.stop() }
        let reporter = HandshakeFailureReporter(perMinute: 3)
        let t0 = Date()
        for i in 0..<10 { reporter.report(FIPSError(.tlsHandshakeFailed, "probe \(i)"), peer: "203.0.113.9", now: t0.addingTimeInterval(Double(i))) }
        var mine: [SecurityEvent] { events.all.filter { $0.metadata["source.ip"] == "203.0.113.9" } }
        XCTAssertEqual(mine.count, 3)
        XCTAssertEqual(reporter.pendingSuppressed, 7)
        reporter.report(FIPSError(.tlsHandshakeFailed, "later"), peer: "203.0.113.9", now: t0.addingTimeInterval(61))
        XCTAssertEqual(mine.count, 4)
        XCTAssertEqual(mine.last?.metadata["tls.suppressed"], "7")
        XCTAssertEqual(mine.last?.action, "tls-handshake-failed")
        XCTAssertEqual(reporter.pendingSuppressed, 0)
    }
}

/// A tiny locked counter for the concurrency test.
final class Mutex2: @unchecked Sendable {
    private let lock = NSLock(); private var n: Int
    init(_ n: Int) { self.n = n }
    func add(_ k: Int) { lock.lock(); n += k; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

/// Polls `condition` for up to 5 s.
func waitFor(_ condition: () -> Bool, timeout: Double = 5, file: StaticString = #filePath, line: UInt = #line) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() > deadline { XCTFail("condition not met within \(timeout) s", file: file, line: line); return }
        usleep(20_000)
    }
}
