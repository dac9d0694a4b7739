import Foundation
import XCTest
import FIPSAudit
import FIPSCrypto
import FIPSTestSupport

/// Rotation by day and size, retention by age, count and size, gzip, all on a fake clock.
final class RotationTests: XCTestCase {
    override func setUp() { _ = try? FIPSModule.load() }
    let t0 = Date(timeIntervalSince1970: 1_798_761_600 + 3600) // 2027-01-01T01:00:00Z

    func make(_ tweak: (inout AuditLogConfiguration) -> Void) throws -> (AuditLog, ManualAuditClock, SymmetricKey) {
        let clock = ManualAuditClock(t0)
        var c = AuditLogConfiguration.standard(directory: try AuditFixtures.directory())
        c.clock = clock
        c.retentionMaxAge = nil
        tweak(&c)
        let root = SymmetricKey(size: .bits256)
        return (try AuditLog(configuration: c, rootKey: root, stateKey: SymmetricKey(size: .bits256)), clock, root)
    }

    func testRotatesAtUTCMidnightAndEvolvesTheEpoch() throws {
        let (log, clock, root) = try make { _ in }
        for day in 0..<3 {
            for i in 0..<5 { try log.log(AuditFixtures.event(day * 10 + i)); clock.advance(by: 60) }
            clock.set(t0.addingTimeInterval(Double(day + 1) * 86_400))
        }
        try log.close()
        let files = log.files
        XCTAssertEqual(files.count, 3, files.map(\.lastPathComponent).description)
        XCTAssertTrue(files[0].lastPathComponent.hasPrefix("audit-20270102T"), files[0].lastPathComponent)
        // Each file holds one day's records and starts with a link to the previous file's last MAC.
        for (i, f) in files.enumerated() {
            let lines = try AuditFixtures.lines(f).map { try AuditFixtures.json($0) }
            XCTAssertEqual(lines[0]["fipsaudit.type"] as? String, "file-start")
            XCTAssertEqual(Set(lines.compactMap { ($0["@timestamp"] as? String)?.prefix(10) }).count, 1)
            if i > 0 {
                let prevLast = try AuditFixtures.json(try AuditFixtures.lines(files[i - 1]).last!)
                XCTAssertEqual(lines[0]["fipsaudit.previous.mac"] as? String, prevLast["event.hash"] as? String)
                XCTAssertEqual(lines[0]["fipsaudit.previous.file"] as? String, files[i - 1].lastPathComponent)
            }
        }
        XCTAssertGreaterThanOrEqual(log.epoch, 2)
        XCTAssertNil(try AuditVerifier(rootKey: root).verify(files: files).problem)
    }

    func testRotatesBySizeAndEpochByTime() throws {
        let (log, clock, root) = try make { $0.maxFileBytes = 8192; $0.epochDuration = 600; $0.rotateDaily = false }
        for i in 0..<100 { try log.log(AuditFixtures.event(i)); clock.advance(by: 120) }
        try log.close()
        XCTAssertGreaterThan(log.files.count, 3)
        for f in log.files.dropLast() { XCTAssertLessThan(try Data(contentsOf: f).count, 8192 + 2048) }
        XCTAssertGreaterThan(log.epoch, UInt64(log.files.count - 1), "epochs also evolve by time inside a file")
        XCTAssertNil(try AuditVerifier(rootKey: root).verify(files: log.files).problem)
    }

    /// Each rotated file is named after its first record's sequence number, also when the log was reopened in
    /// the middle of a file (the writer then learns the number from the file it continues).
    func testRotatedFilesAreNamedByTheirFirstSequenceAcrossReopen() throws {
        let clock = ManualAuditClock(t0)
        var c = AuditLogConfiguration.standard(directory: try AuditFixtures.directory())
        c.clock = clock; c.retentionMaxAge = nil; c.rotateDaily = false; c.maxFileBytes = 4096
        let root = SymmetricKey(size: .bits256), stateKey = SymmetricKey(size: .bits256)
        var next = 0
        for _ in 0..<3 {
            // Close and reopen mid-file: each session writes fewer records than a file holds.
            let log = try AuditLog(configuration: c, rootKey: next == 0 ? root : nil, stateKey: stateKey)
            for _ in 0..<5 { try log.log(AuditFixtures.event(next)); next += 1; clock.advance(by: 1) }
            try log.close()
        }
        let log = try AuditLog(configuration: c, rootKey: nil, stateKey: stateKey)
        for _ in 0..<40 { try log.log(AuditFixtures.event(next)); next += 1; clock.advance(by: 1) }
        try log.close()
        let rotated = log.files.dropLast()
        XCTAssertGreaterThanOrEqual(rotated.count, 3, log.files.map(\.lastPathComponent).description)
        for f in rotated {
            let first = try AuditFixtures.json(try AuditFixtures.lines(f)[0])
            let seq = try XCTUnwrap((first["event.sequence"] as? NSNumber)?.uint64Value)
            let padded = String(repeating: "0", count: 20 - String(seq).count) + String(seq)
            XCTAssertTrue(f.lastPathComponent.hasSuffix("-\(padded).log"), "\(f.lastPathComponent) should end in its first sequence \(seq)")
        }
        XCTAssertNil(try AuditVerifier(rootKey: root).verify(files: log.files).problem)
    }

    func testRetentionByCountSizeAndAge() throws {
        // Count.
        var (log, clock, _) = try make { $0.retentionMaxFiles = 2 }
        for d in 0..<6 { try log.log(AuditFixtures.event(d)); clock.advance(by: 86_400) }
        try log.log(AuditFixtures.event(99))
        try log.close()
        XCTAssertEqual(log.files.count, 3, "two rotated files and the active one")
        // The remaining set verifies: it starts where retention cut it, as a note, not damage.
        var report = try AuditVerifier().verify(files: log.files)
        XCTAssertNil(report.problem)
        XCTAssertTrue(report.notes.contains { $0.contains("earlier files were not given") }, report.notes.description)
        // Total size.
        (log, clock, _) = try make { $0.retentionMaxTotalBytes = 3000; $0.maxFileBytes = 2000 }
        for i in 0..<60 { try log.log(AuditFixtures.event(i)) }
        try log.close()
        let rotated = log.files.dropLast()
        XCTAssertLessThanOrEqual(rotated.reduce(0) { $0 + ((try? Data(contentsOf: $1).count) ?? 0) }, 3000)
        XCTAssertGreaterThan(rotated.count, 0)
        // Age: files older than 3 days go.
        (log, clock, _) = try make { $0.retentionMaxAge = 3 * 86_400 }
        for d in 0..<8 { try log.log(AuditFixtures.event(d)); clock.advance(by: 86_400) }
        try log.log(AuditFixtures.event(99))
        try log.close()
        // Rotated at t0+1d ... t0+8d; now is t0+8d: those rotated at most 3 days ago stay (t0+5d ... t0+8d).
        XCTAssertEqual(log.files.count, 5, log.files.map(\.lastPathComponent).description)
        report = try AuditVerifier().verify(files: log.files)
        XCTAssertNil(report.problem)
    }

    func testGzipOfRotatedFiles() throws {
        guard TestSupport.hasProgram("gzip") else { throw XCTSkip("gzip is not installed") }
        let (log, clock, root) = try make { $0.compressRotated = true }
        for d in 0..<3 { for i in 0..<10 { try log.log(AuditFixtures.event(d * 10 + i)) }; clock.advance(by: 86_400) }
        try log.log(AuditFixtures.event(99))
        try log.close()
        let files = log.files
        XCTAssertEqual(files.filter { $0.pathExtension == "gz" }.count, 3)
        for f in files {
            let mode = try (FileManager.default.attributesOfItem(atPath: f.path)[.posixPermissions] as? NSNumber)?.intValue
            XCTAssertEqual(mode, 0o600, f.lastPathComponent)
        }
        let report = try AuditVerifier(rootKey: root).verify(files: files)
        XCTAssertNil(report.problem, report.problem?.description ?? "")
        XCTAssertEqual(report.lastSequence, log.lastSequence)
    }
}
