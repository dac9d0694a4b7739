import Foundation
import XCTest
import FIPSAudit
import FIPSCertificates
import FIPSCrypto
import FIPSTestSupport

/// RFC 5425: shipping over TLS to rsyslog's OpenSSL stream driver (imtcp, StreamDriver.Name="ossl").
final class CollectorTLSTests: XCTestCase {
    override func setUpWithError() throws {
        guard RsyslogCollector.isAvailable, FileManager.default.fileExists(atPath: "/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so")
        else { throw XCTSkip("rsyslogd with rsyslog-openssl is not installed") }
        _ = try FIPSModule.load()
    }

    /// A CA (P-384) and a server certificate for 127.0.0.1 (P-256), made with the openssl command line.
    static func makeCertificates(_ dir: URL) throws {
        let p = dir.path
        let ext = dir.appendingPathComponent("srv.ext")
        try Data("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n".utf8).write(to: ext)
        for args in [
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-nodes", "-keyout", "\(p)/ca.key", "-out", "\(p)/ca.pem",
             "-days", "2", "-subj", "/CN=audit test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(p)/srv.key", "-out", "\(p)/srv.csr", "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", "\(p)/srv.csr", "-CA", "\(p)/ca.pem", "-CAkey", "\(p)/ca.key", "-CAcreateserial", "-out", "\(p)/srv.pem",
             "-days", "2", "-extfile", ext.path],
        ] {
            let r = try TestSupport.run("openssl", args)
            guard r.status == 0 else { throw NSError(domain: "openssl", code: 1, userInfo: [NSLocalizedDescriptionKey: r.err]) }
        }
    }

    func testShippingOverTLSSurvivesACollectorKill() throws {
        let dir = try TestSupport.temporaryDirectory("fipsaudit-tls")
        try Self.makeCertificates(dir)
        let collector = try RsyslogCollector(directory: dir, tls: true)
        try collector.start()
        var c = AuditLogConfiguration.standard(directory: dir.appendingPathComponent("audit"))
        c.sync = .batched(milliseconds: 100)
        let log = try AuditLog(configuration: c, rootKey: SymmetricKey(size: .bits256), stateKey: SymmetricKey(size: .bits256))
        let destination = try SyslogDestination(url: "tls://127.0.0.1:\(collector.tcpPort)")
        let connector = try TLSSyslogConnector(destination: destination, configuration:
            .makeClientConfiguration(trustRoots: .file(dir.appendingPathComponent("ca.pem").path)))
        let shipper = try AuditShipper(configuration: AuditShipperConfiguration(destination: destination,
            spoolDirectory: dir.appendingPathComponent("spool"), connectTimeout: 2, maxReconnectDelay: 0.2), connector: connector)
        log.attach(shipper)
        let n = 10_000
        for i in 0..<n {
            if i == n / 3 { collector.kill() }
            if i == 2 * n / 3 { try collector.start() }
            try log.log(AuditFixtures.event(i))
        }
        try log.close()
        XCTAssertTrue(shipper.flush(timeout: 120))
        let expected = Set(2...log.lastSequence)
        let deadline = Date().addingTimeInterval(60)
        var got = Set<UInt64>()
        while Date() < deadline { got = Set(collector.receivedSequences()); if expected.isSubset(of: got) { break }; usleep(100_000) }
        let missing = expected.subtracting(got)
        let received = collector.receivedSequences()
        print("AUDIT-COLLECTOR-TLS: records \(expected.count), received lines \(received.count), distinct \(got.count), missing \(missing.count), counters \(shipper.counters)")
        XCTAssertTrue(missing.isEmpty, "missing \(missing.count), first \(missing.sorted().prefix(10))")
        XCTAssertGreaterThanOrEqual(shipper.counters.connections, 2)
        shipper.stop()
        collector.stop()
    }

    func testFipsctlShipsOverTLS() throws {
        let dir = try TestSupport.temporaryDirectory("fipsaudit-tls")
        try Self.makeCertificates(dir)
        let audit = dir.appendingPathComponent("audit")
        let log = try AuditLog(configuration: .standard(directory: audit), rootKey: SymmetricKey(size: .bits256), stateKey: SymmetricKey(size: .bits256))
        for i in 0..<200 { try log.log(AuditFixtures.event(i)) }
        try log.close()
        let collector = try RsyslogCollector(directory: dir, tls: true)
        try collector.start()
        defer { collector.stop() }
        let r = try TestSupport.fipsctl(["audit", "ship", "--to", "tcp://127.0.0.1:\(collector.tcpPort)", "--tls", "--ca", dir.appendingPathComponent("ca.pem").path,
                                         audit.appendingPathComponent("audit.log").path], removingEnvironment: ["FIPSCRYPTO_AUDIT_DIR"])
        XCTAssertEqual(r.status, 0, r.out + r.err)
        XCTAssertTrue(r.out.hasPrefix("sent 201 of 201 record(s) to tls://127.0.0.1:"), r.out)
        let deadline = Date().addingTimeInterval(10)
        while Set(collector.receivedSequences()).count < 201 && Date() < deadline { usleep(50_000) }
        XCTAssertEqual(Set(collector.receivedSequences()), Set(1...201))
        // A CA that did not sign the collector's certificate: nothing is sent.
        let other = try TestSupport.temporaryDirectory("fipsaudit-tls-other")
        try Self.makeCertificates(other)
        let bad = try TestSupport.fipsctl(["audit", "ship", "--to", "tls://127.0.0.1:\(collector.tcpPort)", "--ca", other.appendingPathComponent("ca.pem").path,
                                           "--timeout", "3", audit.appendingPathComponent("audit.log").path], removingEnvironment: ["FIPSCRYPTO_AUDIT_DIR"])
        XCTAssertEqual(bad.status, 1, bad.out + bad.err)
        XCTAssertTrue(bad.out.hasPrefix("sent 0 of 201"), bad.out)
    }

    func testAnUntrustedCollectorIsRefused() throws {
        let dir = try TestSupport.temporaryDirectory("fipsaudit-tls")
        try Self.makeCertificates(dir)
        let other = try TestSupport.temporaryDirectory("fipsaudit-tls-other")
        try Self.makeCertificates(other)
        let collector = try RsyslogCollector(directory: dir, tls: true)
        try collector.start()
        defer { collector.stop() }
        let connector = try TLSSyslogConnector(destination: try SyslogDestination(url: "tls://127.0.0.1:\(collector.tcpPort)"),
                                               configuration: .makeClientConfiguration(trustRoots: .file(other.appendingPathComponent("ca.pem").path)))
        XCTAssertThrowsError(try connector.connect(timeout: 5))
    }
}
