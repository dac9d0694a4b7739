import Foundation
import XCTest
import FIPSAudit
import FIPSCrypto
import FIPSTestSupport

/// An ECDSA P-384 checkpoint signer and verifier backed by the `openssl` command line: an independent peer for the
/// checkpoint format (the library's own P-384 type signs in production).
final class OpenSSLCLICheckpointKey: AuditCheckpointSigner, AuditCheckpointVerifier, @unchecked Sendable {
    let directory: URL
    let privatePEM: URL
    let publicPEM: URL
    let publicKeyDER: Data
    var algorithm: String { "ecdsa-p384-sha384" }

    init(directory: URL) throws {
        self.directory = directory
        privatePEM = directory.appendingPathComponent("cp-key.pem")
        publicPEM = directory.appendingPathComponent("cp-pub.pem")
        let der = directory.appendingPathComponent("cp-pub.der")
        for args in [["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", privatePEM.path],
                     ["pkey", "-in", privatePEM.path, "-pubout", "-out", publicPEM.path],
                     ["pkey", "-in", privatePEM.path, "-pubout", "-outform", "DER", "-out", der.path]] {
            let r = try TestSupport.run("openssl", args)
            guard r.status == 0 else { throw NSError(domain: "openssl", code: Int(r.status), userInfo: [NSLocalizedDescriptionKey: r.err]) }
        }
        publicKeyDER = try Data(contentsOf: der)
    }

    func signature(for message: Data) throws -> Data {
        let m = directory.appendingPathComponent("cp-msg-\(UUID().uuidString)")
        try message.write(to: m)
        defer { try? FileManager.default.removeItem(at: m) }
        let r = try TestSupport.run("openssl", ["dgst", "-sha384", "-sign", privatePEM.path, m.path])
        guard r.status == 0 else { throw FIPSError(.openSSLFailure, "openssl dgst -sign: \(r.err)") }
        return r.stdout
    }

    func isValidSignature(_ signature: Data, for message: Data) -> Bool {
        let id = UUID().uuidString
        let m = directory.appendingPathComponent("cv-msg-\(id)"), s = directory.appendingPathComponent("cv-sig-\(id)")
        defer { try? FileManager.default.removeItem(at: m); try? FileManager.default.removeItem(at: s) }
        guard (try? message.write(to: m)) != nil, (try? signature.write(to: s)) != nil,
              let r = try? TestSupport.run("openssl", ["dgst", "-sha384", "-verify", publicPEM.path, "-signature", s.path, m.path])
        else { return false }
        return r.status == 0
    }
}

enum AuditFixtures {
    /// A fresh 0700 audit directory.
    static func directory() throws -> URL {
        let base = try TestSupport.temporaryDirectory("fipsaudit")
        let dir = base.appendingPathComponent("audit")
        return dir
    }

    static func event(_ i: Int, category: AuditEvent.Category = .scan) -> AuditEvent {
        AuditEvent(category: category, action: "scan-started", outcome: .success, actor: "tester", sourceAddress: "127.0.0.1",
                   target: "host-\(i)", correlationID: "job-\(i)", metadata: ["scan.index": String(i)])
    }

    static func lines(_ url: URL) throws -> [String] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            .filter { !$0.isEmpty }
    }

    static func writeLines(_ lines: [String], to url: URL) throws {
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
    }

    static func json(_ line: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }
}

/// A real rsyslog collector on 127.0.0.1, run unprivileged in the foreground by the test.
final class RsyslogCollector {
    let directory: URL
    let output: URL
    let config: URL
    let pidFile: URL
    var tcpPort: UInt16 = 0
    let udpPort: UInt16
    /// TLS (RFC 5425) on the TCP input with rsyslog's OpenSSL driver, using DIR/ca.pem, DIR/srv.pem, DIR/srv.key.
    let tls: Bool
    private var process: Process?

    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/usr/sbin/rsyslogd") }

    init(directory: URL, tcpPort: UInt16 = 0, tls: Bool = false) throws {
        self.directory = directory
        self.tls = tls
        output = directory.appendingPathComponent("received.log")
        config = directory.appendingPathComponent("rsyslog.conf")
        pidFile = directory.appendingPathComponent("rsyslog.pid")
        udpPort = try TestSupport.freePort(udp: true)
        self.tcpPort = tcpPort
        try writeConfig()
    }

    private func writeConfig() throws {
        let portFile = directory.appendingPathComponent("tcp.port")
        let d = directory.path
        let tlsGlobal = tls ? " DefaultNetstreamDriverCAFile=\"\(d)/ca.pem\" DefaultNetstreamDriverCertFile=\"\(d)/srv.pem\" DefaultNetstreamDriverKeyFile=\"\(d)/srv.key\"" : ""
        let tlsModule = tls ? " StreamDriver.Name=\"ossl\" StreamDriver.Mode=\"1\" StreamDriver.AuthMode=\"anon\"" : ""
        let conf = """
        global(workDirectory="\(directory.path)" maxMessageSize="64k"\(tlsGlobal))
        main_queue(queue.type="Direct")
        module(load="imtcp" MaxSessions="64"\(tlsModule))
        module(load="imudp")
        input(type="imtcp" port="\(tcpPort)" address="127.0.0.1" listenPortFileName="\(portFile.path)" ruleset="r")
        input(type="imudp" port="\(udpPort)" address="127.0.0.1" ruleset="r")
        template(name="t" type="list") { property(name="structured-data") constant(value=" ") property(name="msgid") constant(value=" ") property(name="msg") constant(value="\\n") }
        ruleset(name="r") { action(type="omfile" file="\(output.path)" template="t" flushOnTXEnd="on" asyncWriting="off") }
        """
        try Data(conf.utf8).write(to: config)
        let check = try TestSupport.run("/usr/sbin/rsyslogd", ["-N1", "-f", config.path])
        guard check.status == 0 else { throw NSError(domain: "rsyslog", code: 1, userInfo: [NSLocalizedDescriptionKey: check.err]) }
    }

    func start() throws {
        let portFile = directory.appendingPathComponent("tcp.port")
        try? FileManager.default.removeItem(at: portFile)
        try? FileManager.default.removeItem(at: pidFile)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/rsyslogd")
        p.arguments = ["-n", "-f", config.path, "-i", pidFile.path]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if tcpPort == 0 {
                // First start on an ephemeral port: rsyslog writes the port it got; later starts reuse it.
                if let s = try? String(contentsOf: portFile, encoding: .utf8), let port = UInt16(s.trimmingCharacters(in: .whitespacesAndNewlines)), port > 0 {
                    tcpPort = port; try writeConfig()
                    return
                }
            } else if RsyslogCollector.canConnect(port: tcpPort) {
                return
            }
            usleep(20_000)
        }
        throw NSError(domain: "rsyslog", code: 2, userInfo: [NSLocalizedDescriptionKey: "rsyslogd did not start listening"])
    }

    /// Kills the collector (SIGKILL: no orderly drain) and waits for it to exit.
    func kill() {
        guard let p = process else { return }
        Glibc.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    /// Stops the collector (SIGTERM) and waits.
    func stop() {
        guard let p = process else { return }
        p.terminate()
        p.waitUntilExit()
        process = nil
    }

    deinit { kill() }

    /// The sequence numbers received so far, from the `[fipsaudit@32473 seq="N"]` element of each line.
    func receivedSequences() -> [UInt64] {
        guard let data = FileManager.default.contents(atPath: output.path) else { return [] }
        var out: [UInt64] = []
        let marker = Array("seq=\"".utf8)
        for line in data.split(separator: 0x0A) {
            let bytes = Array(line.prefix(64))
            guard let r = bytes.firstRange(of: marker) else { continue }
            let digits = bytes[r.upperBound...].prefix { $0 >= 48 && $0 <= 57 }
            if let n = UInt64(String(decoding: digits, as: UTF8.self)) { out.append(n) }
        }
        return out
    }

    func receivedLines() -> [String] {
        guard let s = try? String(contentsOf: output, encoding: .utf8) else { return [] }
        return s.split(separator: "\n").map(String.init)
    }

    static func canConnect(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = port.bigEndian
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
