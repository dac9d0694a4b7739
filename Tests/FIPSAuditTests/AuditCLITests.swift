import Foundation
import XCTest
import FIPSAudit
import FIPSCrypto
import FIPSTestSupport

/// `fipsctl audit ...` end to end, and the hook that records every fipsctl command.
final class AuditCLITests: XCTestCase {
    func env(_ dir: URL) -> [String: String] { ["FIPSCRYPTO_AUDIT_DIR": dir.path] }

    func testLogTailVerifyAndTheCommandHook() throws {
        let dir = try TestSupport.temporaryDirectory("fipsaudit-cli").appendingPathComponent("audit")
        var r = try TestSupport.fipsctl(["audit", "log", "--category", "scan", "--action", "scan-started", "--outcome", "success",
                                         "--actor", "ops", "--source-ip", "192.0.2.1", "--meta", "scan.id=42", "--meta", "api_token=t0ps3cret"],
                                        environment: env(dir))
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out.trimmingCharacters(in: .whitespacesAndNewlines), "2")
        r = try TestSupport.fipsctl(["status"], environment: env(dir))
        r = try TestSupport.fipsctl(["audit", "log", "--category", "scan", "--action", "x", "--outcome", "maybe", "--actor", "a"], environment: env(dir))
        XCTAssertEqual(r.status, 2)
        r = try TestSupport.fipsctl(["audit", "tail", "-n", "12"], environment: env(dir))
        XCTAssertEqual(r.status, 0, r.err)
        let tail = Array(r.out.split(separator: "\n").filter { !$0.contains("audit/audit-") }.suffix(4))
        XCTAssertEqual(tail.count, 4, r.out)
        XCTAssertTrue(tail[0].contains("#2") && tail[0].contains("scan/scan-started  success  user=ops  src=192.0.2.1"), String(tail[0]))
        XCTAssertTrue(tail[0].contains("api_token=[REDACTED]"))
        XCTAssertTrue(tail[2].contains("process/fipsctl-command  success") && tail[2].contains("command.name=status"), String(tail[2]))
        XCTAssertTrue(tail[3].contains("failure") && tail[3].contains("process.exit_code=2"), String(tail[3]))
        let text = try String(contentsOf: dir.appendingPathComponent("audit.log"), encoding: .utf8)
        XCTAssertFalse(text.contains("t0ps3cret"))
        XCTAssertFalse(text.contains("maybe"), "argument values are never recorded by the hook")
        r = try TestSupport.fipsctl(["audit", "verify"], environment: env(dir))
        XCTAssertEqual(r.status, 0, r.out + r.err)
        XCTAssertTrue(r.out.hasPrefix("OK: 1 file(s)"), r.out)
        XCTAssertTrue(r.out.contains("MACs checked"), r.out)
        XCTAssertNil(r.out.range(of: "; 0 checkpoint"), "checkpoints are signed with keys/checkpoint.pem: \(r.out)")
        r = try TestSupport.fipsctl(["audit", "verify", "--no-key", "--json"], environment: env(dir))
        XCTAssertEqual(r.status, 0, r.err)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        XCTAssertEqual(report["intact"] as? Bool, true)
        XCTAssertEqual(report["macsChecked"] as? Bool, false)
    }

    func testVerifyNamesTheBrokenPlace() throws {
        let dir = try TestSupport.temporaryDirectory("fipsaudit-cli").appendingPathComponent("audit")
        for i in 0..<5 {
            let r = try TestSupport.fipsctl(["audit", "log", "--category", "access", "--action", "access-denied", "--outcome", "failure",
                                             "--actor", "u\(i)", "--reason", "not allowed"], removingEnvironment: ["FIPSCRYPTO_AUDIT_DIR"],
                                            timeout: 60)
            XCTAssertEqual(r.status, 2, "no audit dir is a usage error")
            _ = try TestSupport.fipsctl(["audit", "log", "--audit-dir", dir.path, "--category", "access", "--action", "access-denied",
                                         "--outcome", "failure", "--actor", "u\(i)", "--reason", "not allowed"], removingEnvironment: ["FIPSCRYPTO_AUDIT_DIR"])
        }
        let file = dir.appendingPathComponent("audit.log")
        let copy = dir.deletingLastPathComponent().appendingPathComponent("copy.log")
        var lines = try AuditFixtures.lines(file)
        let i = try XCTUnwrap(lines.firstIndex { $0.contains("\"event.action\":\"access-denied\"") && $0.contains("\"user.name\":\"u1\"") })
        let seq = try XCTUnwrap(AuditFixtures.json(lines[i])["event.sequence"] as? Int)
        lines[i] = lines[i].replacingOccurrences(of: "\"user.name\":\"u1\"", with: "\"user.name\":\"u9\"")
        try AuditFixtures.writeLines(lines, to: copy)
        let r = try TestSupport.fipsctl(["audit", "verify", "--key-file", dir.appendingPathComponent("keys/root.key").path, copy.path],
                                        removingEnvironment: ["FIPSCRYPTO_AUDIT_DIR"])
        XCTAssertEqual(r.status, 1, r.out + r.err)
        XCTAssertTrue(r.out.hasPrefix("BROKEN: edited at \(copy.path):\(i + 1) (seq \(seq))"), r.out)
        // A missing file named on the command line.
        let m = try TestSupport.fipsctl(["audit", "verify", "--no-key", dir.appendingPathComponent("nope.log").path], removingEnvironment: ["FIPSCRYPTO_AUDIT_DIR"])
        XCTAssertEqual(m.status, 1)
        XCTAssertTrue(m.out.contains("missing-file"), m.out)
    }

    func testShipToARealCollector() throws {
        guard RsyslogCollector.isAvailable else { throw XCTSkip("rsyslogd is not installed") }
        let dir = try TestSupport.temporaryDirectory("fipsaudit-cli")
        let audit = dir.appendingPathComponent("audit")
        _ = try FIPSModule.load()
        let log = try AuditLog(configuration: .standard(directory: audit), rootKey: SymmetricKey(size: .bits256), stateKey: SymmetricKey(size: .bits256))
        for i in 0..<500 { try log.log(AuditFixtures.event(i)) }
        try log.close()
        let collector = try RsyslogCollector(directory: dir)
        try collector.start()
        defer { collector.stop() }
        let r = try TestSupport.fipsctl(["audit", "ship", "--to", "tcp://127.0.0.1:\(collector.tcpPort)", audit.appendingPathComponent("audit.log").path],
                                        removingEnvironment: ["FIPSCRYPTO_AUDIT_DIR"])
        XCTAssertEqual(r.status, 0, r.out + r.err)
        XCTAssertTrue(r.out.hasPrefix("sent 501 of 501 record(s)"), r.out)
        let deadline = Date().addingTimeInterval(10)
        while Set(collector.receivedSequences()).count < 501 && Date() < deadline { usleep(50_000) }
        XCTAssertEqual(Set(collector.receivedSequences()), Set(1...501))
        let tls = try TestSupport.fipsctl(["audit", "ship", "--to", "tcp://127.0.0.1:1", "--tls", audit.appendingPathComponent("audit.log").path],
                                          removingEnvironment: ["FIPSCRYPTO_AUDIT_DIR"])
        XCTAssertEqual(tls.status, 2, "--tls needs --ca")
        let bad = try TestSupport.fipsctl(["audit", "ship", "--to", "http://x:1", "f"], removingEnvironment: ["FIPSCRYPTO_AUDIT_DIR"])
        XCTAssertEqual(bad.status, 1, bad.err)
    }

    /// With a keystore the chain's keys come from the keyring (pinned version), and survive a keyring rotation.
    func testKeysFromTheKeystore() throws {
        let base = try TestSupport.temporaryDirectory("fipsaudit-cli")
        let ks = base.appendingPathComponent("ks"), dir = base.appendingPathComponent("audit")
        var r = try TestSupport.fipsctl(["key", "init", "--keystore", ks.path], removingEnvironment: ["FIPSCRYPTO_KEYSTORE", "FIPSCRYPTO_AUDIT_DIR"])
        XCTAssertEqual(r.status, 0, r.err)
        let e = ["FIPSCRYPTO_KEYSTORE": ks.path, "FIPSCRYPTO_AUDIT_DIR": dir.path]
        r = try TestSupport.fipsctl(["audit", "log", "--category", "access", "--action", "access-denied", "--outcome", "failure", "--actor", "bob"], environment: e)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("keys/root.key").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("keys/state.key").path))
        r = try TestSupport.fipsctl(["key", "rotate"], environment: e)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.isEmpty, "the hook recorded `key rotate`: \(r.err)")
        r = try TestSupport.fipsctl(["audit", "verify"], environment: e)
        XCTAssertEqual(r.status, 0, r.out + r.err)
        XCTAssertTrue(r.out.contains("MACs checked"), r.out)
        r = try TestSupport.fipsctl(["audit", "tail", "-n", "50"], environment: e)
        XCTAssertTrue(r.out.contains("command.name=key"), r.out)
    }

    func testHelpIsAManPage() throws {
        let r = try TestSupport.fipsctl(["audit", "--help"])
        XCTAssertEqual(r.status, 0)
        for s in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES"] { XCTAssertTrue(r.out.contains(s), s) }
    }
}
