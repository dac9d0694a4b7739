import Foundation
import XCTest
import FIPSAudit
import FIPSCrypto
import FIPSTestSupport

/// Shipping to a real rsyslog on 127.0.0.1, started, killed and restarted by the test.
final class CollectorTests: XCTestCase {
    override func setUpWithError() throws {
        guard RsyslogCollector.isAvailable else { throw XCTSkip("rsyslogd is not installed (scripts/setup installs rsyslog)") }
        _ = try FIPSModule.load()
    }

    func makeLog(_ dir: URL) throws -> AuditLog {
        var c = AuditLogConfiguration.standard(directory: dir.appendingPathComponent("audit"))
        c.sync = .batched(milliseconds: 100)
        return try AuditLog(configuration: c, rootKey: SymmetricKey(size: .bits256), stateKey: SymmetricKey(size: .bits256))
    }

    func waitFor(_ collector: RsyslogCollector, toHold expected: Set<UInt64>, timeout: TimeInterval) -> Set<UInt64> {
        let deadline = Date().addingTimeInterval(timeout)
        var got = Set<UInt64>()
        while Date() < deadline {
            got = Set(collector.receivedSequences())
            if expected.isSubset(of: got) { break }
            usleep(100_000)
        }
        return got
    }

    /// 100,000 events over TCP (octet counting); the collector is killed (SIGKILL) a third of the way through and
    /// restarted at two thirds; every sequence number must arrive (duplicates allowed).
    func testHundredThousandOverTCPSurviveACollectorKill() throws {
        let dir = try TestSupport.temporaryDirectory("fipsaudit-collector")
        let collector = try RsyslogCollector(directory: dir)
        try collector.start()
        let log = try makeLog(dir)
        let shipper = try AuditShipper(configuration: AuditShipperConfiguration(
            destination: SyslogDestination(url: "tcp://127.0.0.1:\(collector.tcpPort)"), hostName: "test-host",
            spoolDirectory: dir.appendingPathComponent("spool"), connectTimeout: 1, maxReconnectDelay: 0.2))
        log.attach(shipper)
        let n = 100_000
        var maxLogCall = 0.0
        let start = Date()
        for i in 0..<n {
            if i == n / 3 { collector.kill() }
            if i == 2 * n / 3 { try collector.start() }
            let t = Date()
            try log.log(AuditFixtures.event(i))
            maxLogCall = max(maxLogCall, Date().timeIntervalSince(t))
        }
        let logged = Date().timeIntervalSince(start)
        try log.close()
        XCTAssertTrue(shipper.flush(timeout: 120), "the shipper drained")
        let expected = Set(2...log.lastSequence) // seq 1 (the file-start record) was written before attach
        let got = waitFor(collector, toHold: expected, timeout: 60)
        let missing = expected.subtracting(got)
        let received = collector.receivedSequences()
        let c = shipper.counters
        print("AUDIT-COLLECTOR-TCP: records \(expected.count) (events \(n)), received lines \(received.count), distinct \(got.count), missing \(missing.count), duplicates \(received.count - got.count); counters sent \(c.sent) spooled \(c.spooled) dropped \(c.dropped) replayed \(c.replayed) connections \(c.connections) failures \(c.failures); logging took \(String(format: "%.1f", logged)) s, slowest log() \(String(format: "%.1f", maxLogCall * 1000)) ms")
        XCTAssertTrue(missing.isEmpty, "missing \(missing.count) sequence numbers, first \(missing.sorted().prefix(10))")
        XCTAssertEqual(c.dropped, 0)
        XCTAssertGreaterThan(c.spooled, 0, "records were spooled while the collector was down")
        XCTAssertGreaterThanOrEqual(c.connections, 2)
        XCTAssertLessThan(maxLogCall, 1.0, "log() never waits for the collector")
        // The collector's copy is the same JSON line the file holds, under RFC 5424 with the sequence as SD.
        let sample = try XCTUnwrap(collector.receivedLines().first { $0.contains("seq=\"500\"") })
        XCTAssertTrue(sample.hasPrefix("[fipsaudit@32473 seq=\"500\"] scan {"), sample)
        XCTAssertTrue(sample.contains("\"event.sequence\":500,"), sample)
        shipper.stop()
        collector.stop()
    }

    /// The collector is down from the start: records go to the spool, then arrive in order once it comes up.
    func testSpoolReplaysInOrderWhenTheCollectorComesBack() throws {
        let dir = try TestSupport.temporaryDirectory("fipsaudit-collector")
        let collector = try RsyslogCollector(directory: dir, tcpPort: 0)
        try collector.start()
        let port = collector.tcpPort
        collector.kill()
        let log = try makeLog(dir)
        let shipper = try AuditShipper(configuration: AuditShipperConfiguration(
            destination: SyslogDestination(url: "tcp://127.0.0.1:\(port)"), memoryCapacity: 100,
            spoolDirectory: dir.appendingPathComponent("spool"), connectTimeout: 0.5, maxReconnectDelay: 0.2))
        log.attach(shipper)
        var slowest = 0.0
        for i in 0..<3000 {
            let t = Date()
            try log.log(AuditFixtures.event(i))
            slowest = max(slowest, Date().timeIntervalSince(t))
        }
        XCTAssertEqual(shipper.counters.sent, 0)
        XCTAssertGreaterThan(shipper.counters.spooled, 2000)
        try collector.start()
        XCTAssertTrue(shipper.flush(timeout: 60))
        let expected = Set(2...log.lastSequence) // seq 1 (the file-start record) was written before attach
        _ = waitFor(collector, toHold: expected, timeout: 30)
        let received = collector.receivedSequences()
        var firstSeen: [UInt64] = []
        var seen = Set<UInt64>()
        for s in received where seen.insert(s).inserted { firstSeen.append(s) }
        XCTAssertEqual(Set(firstSeen), expected)
        XCTAssertEqual(firstSeen, firstSeen.sorted(), "replayed in order")
        print("AUDIT-COLLECTOR-SPOOL: records \(expected.count), received \(received.count), counters \(shipper.counters), slowest log() \(String(format: "%.1f", slowest * 1000)) ms")
        shipper.stop()
        try log.close()
        collector.stop()
    }

    /// UDP: one message per datagram (no delivery guarantee; on loopback at a modest rate nearly all arrive).
    func testUDP() throws {
        let dir = try TestSupport.temporaryDirectory("fipsaudit-collector")
        let collector = try RsyslogCollector(directory: dir)
        try collector.start()
        let log = try makeLog(dir)
        let shipper = try AuditShipper(configuration: AuditShipperConfiguration(
            destination: SyslogDestination(url: "udp://127.0.0.1:\(collector.udpPort)")))
        log.attach(shipper)
        let n = 2000
        for i in 0..<n {
            try log.log(AuditFixtures.event(i))
            if i % 100 == 99 { _ = shipper.flush(timeout: 5); usleep(5_000) }
        }
        XCTAssertTrue(shipper.flush(timeout: 30))
        let expected = Set(2...log.lastSequence) // seq 1 (the file-start record) was written before attach
        let got = waitFor(collector, toHold: expected, timeout: 10)
        print("AUDIT-COLLECTOR-UDP: records \(expected.count), received \(got.intersection(expected).count), counters \(shipper.counters)")
        XCTAssertGreaterThanOrEqual(Double(got.intersection(expected).count), Double(expected.count) * 0.95)
        shipper.stop()
        try log.close()
        collector.stop()
    }

    func testDestinationsAndMessageFormat() throws {
        XCTAssertEqual(try SyslogDestination(url: "tcp://127.0.0.1:6514"), SyslogDestination(transport: .tcp, host: "127.0.0.1", port: 6514))
        XCTAssertEqual(try SyslogDestination(url: "udp://[::1]:514").host, "::1")
        for bad in ["http://x:1", "tcp://x", "tcp://:1", "tcp://x:0", "tcp://x:70000", "x:1"] {
            XCTAssertThrowsError(try SyslogDestination(url: bad), bad) { XCTAssertEqual(($0 as? FIPSError)?.code, .invalidParameter) }
        }
        XCTAssertThrowsError(try AuditShipper(configuration: AuditShipperConfiguration(destination: SyslogDestination(url: "tls://127.0.0.1:6514")))) {
            XCTAssertEqual(($0 as? FIPSError)?.code, .invalidParameter)
        }
        let r = AuditShippedRecord(sequence: 42, timestamp: Date(timeIntervalSince1970: 1_800_000_000.5), level: "warning",
                                   category: "authentication", line: Array("{\"a\":1}".utf8))
        let m = String(decoding: SyslogFormat.message(r, hostName: "web 1", appName: "svc", processID: 7), as: UTF8.self)
        // facility 13 (log audit) × 8 + severity 4 (warning) = 108.
        XCTAssertEqual(m, "<108>1 2027-01-15T08:00:00.500Z web1 svc 7 authentication [fipsaudit@32473 seq=\"42\"] {\"a\":1}")
        XCTAssertEqual(String(decoding: SyslogFormat.octetCounted(Array("abc".utf8)), as: UTF8.self), "3 abc")
    }
}
