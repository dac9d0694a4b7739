import Foundation
import XCTest
import FIPSAudit
import FIPSCrypto
import FIPSTestSupport

/// Edit, delete, reorder and truncate records (and drop files); `verify` must name each, at the right place.
final class TamperTests: XCTestCase {
    struct Fixture {
        let dir: URL
        let root: SymmetricKey
        let cp: OpenSSLCLICheckpointKey
        let files: [URL]
        let lastSequence: UInt64
    }

    static let shared: Result<Fixture, any Error> = Result { try makeFixture() }

    /// Three files of ~40 records, checkpoints every 10 records, copied fresh for each tamper.
    static func makeFixture() throws -> Fixture {
        _ = try? FIPSModule.load()
        let dir = try AuditFixtures.directory()
        let root = SymmetricKey(size: .bits256)
        let cp = try OpenSSLCLICheckpointKey(directory: try TestSupport.temporaryDirectory("fipsaudit-cp"))
        var c = AuditLogConfiguration.standard(directory: dir)
        c.checkpointInterval = 10
        let log = try AuditLog(configuration: c, rootKey: root, stateKey: SymmetricKey(size: .bits256), checkpointSigner: cp)
        for i in 0..<120 {
            try log.log(AuditFixtures.event(i))
            if i == 39 || i == 79 { try log.rotate() }
        }
        try log.close()
        return Fixture(dir: dir, root: root, cp: cp, files: log.files, lastSequence: log.lastSequence)
    }

    func copy(_ f: Fixture) throws -> [URL] {
        let to = try TestSupport.temporaryDirectory("fipsaudit-tamper")
        return try f.files.map { src in
            let dst = to.appendingPathComponent(src.lastPathComponent)
            try FileManager.default.copyItem(at: src, to: dst)
            return dst
        }
    }

    func verify(_ files: [URL], _ f: Fixture, key: Bool = true, expectLast: Bool = false) throws -> AuditVerificationReport {
        try AuditVerifier(rootKey: key ? f.root : nil, checkpointVerifier: f.cp, expectedLastSequence: expectLast ? f.lastSequence : nil)
            .verify(files: files)
    }

    func testIntactLogVerifiesWithAndWithoutTheKey() throws {
        let f = try Self.shared.get()
        XCTAssertEqual(f.files.count, 3)
        let withKey = try verify(f.files, f, expectLast: true)
        XCTAssertNil(withKey.problem, withKey.problem?.description ?? "")
        XCTAssertTrue(withKey.macsChecked)
        XCTAssertGreaterThanOrEqual(withKey.checkpointsVerified, 12)
        XCTAssertEqual(withKey.recordsAfterLastCheckpoint, 0, "close writes a final checkpoint")
        let noKey = try verify(f.files, f, key: false)
        XCTAssertNil(noKey.problem)
        XCTAssertEqual(noKey.checkpointsVerified, withKey.checkpointsVerified)
        // The files can be given in any order.
        XCTAssertNil(try verify(f.files.reversed(), f).problem)
    }

    func testEditedRecordIsNamed() throws {
        let f = try Self.shared.get()
        let files = try copy(f)
        var lines = try AuditFixtures.lines(files[1])
        let target = 5
        lines[target] = lines[target].replacingOccurrences(of: "\"user.name\":\"tester\"", with: "\"user.name\":\"mallory\"")
        try AuditFixtures.writeLines(lines, to: files[1])
        let seq = try XCTUnwrap(AuditFixtures.json(lines[target])["event.sequence"] as? Int)
        let r = try verify(files, f)
        let p = try XCTUnwrap(r.problem)
        XCTAssertEqual(p.kind, .edited)
        XCTAssertEqual(p.file, files[1].path)
        XCTAssertEqual(p.line, target + 1)
        XCTAssertEqual(p.sequence, UInt64(seq))
        // Without the MAC key the next checkpoint catches it (its chain hash no longer matches).
        let noKey = try XCTUnwrap(try verify(files, f, key: false).problem)
        XCTAssertEqual(noKey.kind, .edited)
        XCTAssertEqual(noKey.file, files[1].path)
        XCTAssertGreaterThan(noKey.line ?? 0, target + 1)
        XCTAssertTrue(noKey.detail.contains("checkpoint") || noKey.detail.contains("chain"), noKey.detail)
    }

    func testDeletedRecordIsNamed() throws {
        let f = try Self.shared.get()
        let files = try copy(f)
        var lines = try AuditFixtures.lines(files[0])
        let removedSeq = try XCTUnwrap(AuditFixtures.json(lines[7])["event.sequence"] as? Int)
        lines.remove(at: 7)
        try AuditFixtures.writeLines(lines, to: files[0])
        for key in [true, false] {
            let p = try XCTUnwrap(try verify(files, f, key: key).problem)
            XCTAssertEqual(p.kind, .deleted)
            XCTAssertEqual(p.line, 8)
            XCTAssertTrue(p.detail.contains("seq \(removedSeq) is missing"), p.detail)
        }
    }

    func testReorderedRecordsAreNamed() throws {
        let f = try Self.shared.get()
        let files = try copy(f)
        var lines = try AuditFixtures.lines(files[2])
        lines.swapAt(3, 4)
        try AuditFixtures.writeLines(lines, to: files[2])
        let p = try XCTUnwrap(try verify(files, f).problem)
        XCTAssertEqual(p.kind, .reordered)
        XCTAssertEqual(p.file, files[2].path)
        XCTAssertEqual(p.line, 4)
    }

    func testTruncatedTailIsNamed() throws {
        let f = try Self.shared.get()
        // Cut mid-record.
        var files = try copy(f)
        var data = try Data(contentsOf: files[2])
        data = data.prefix(data.count - 40)
        try data.write(to: files[2])
        var p = try XCTUnwrap(try verify(files, f).problem)
        XCTAssertEqual(p.kind, .truncated)
        XCTAssertEqual(p.file, files[2].path)
        XCTAssertEqual(p.line, try AuditFixtures.lines(files[2]).count)
        // Cut at a record boundary: caught against the last sequence the writer recorded.
        files = try copy(f)
        var lines = try AuditFixtures.lines(files[2])
        lines.removeLast(5)
        try AuditFixtures.writeLines(lines, to: files[2])
        p = try XCTUnwrap(try verify(files, f, expectLast: true).problem)
        XCTAssertEqual(p.kind, .truncated)
        XCTAssertTrue(p.detail.contains("records \(f.lastSequence - 4)...\(f.lastSequence)"), p.detail)
    }

    func testMissingFileIsNamed() throws {
        let f = try Self.shared.get()
        let files = try copy(f)
        var p = try XCTUnwrap(try verify([files[0], files[2]], f).problem)
        XCTAssertEqual(p.kind, .missingFile)
        XCTAssertEqual(p.file, files[2].path)
        XCTAssertEqual(p.line, 1)
        // A file named on the command line that does not exist.
        p = try XCTUnwrap(try verify(files + [files[0].deletingLastPathComponent().appendingPathComponent("gone.log")], f).problem)
        XCTAssertEqual(p.kind, .missingFile)
        // The head of a file deleted.
        let copy2 = try copy(f)
        var lines = try AuditFixtures.lines(copy2[1])
        lines.removeFirst(3)
        try AuditFixtures.writeLines(lines, to: copy2[1])
        p = try XCTUnwrap(try verify(copy2, f).problem)
        XCTAssertEqual(p.kind, .deleted)
        XCTAssertEqual(p.file, copy2[1].path)
    }

    func testForgedCheckpointSignatureIsRefused() throws {
        let f = try Self.shared.get()
        let other = try OpenSSLCLICheckpointKey(directory: try TestSupport.temporaryDirectory("fipsaudit-cp2"))
        let p = try XCTUnwrap(try AuditVerifier(checkpointVerifier: other).verify(files: f.files).problem)
        XCTAssertEqual(p.kind, .badCheckpoint)
        // Re-signing a rewritten checkpoint with the right key id but a bad signature.
        let files = try copy(f)
        var lines = try AuditFixtures.lines(files[0])
        let i = try XCTUnwrap(lines.firstIndex { $0.contains("\"fipsaudit.type\":\"checkpoint\"") })
        let sig = try XCTUnwrap(AuditFixtures.json(lines[i])["fipsaudit.checkpoint.signature"] as? String)
        var raw = try XCTUnwrap(Data(base64Encoded: sig))
        raw[raw.count - 1] ^= 1
        lines[i] = lines[i].replacingOccurrences(of: sig, with: raw.base64EncodedString())
        try AuditFixtures.writeLines(lines, to: files[0])
        let q = try XCTUnwrap(try verify(files, f, key: false).problem)
        XCTAssertEqual(q.kind, .badCheckpoint)
        XCTAssertEqual(q.line, i + 1)
    }

    /// Forward security: the key of a later epoch (what a thief finds on the host today) cannot produce or check
    /// the MACs of earlier epochs.
    func testTodaysKeyCannotVouchForYesterday() throws {
        let f = try Self.shared.get()
        var k = f.root
        for _ in 0..<2 { k = try AuditChain.nextEpochKey(k) }
        let p = try XCTUnwrap(try AuditVerifier(rootKey: k, rootEpoch: 0).verify(files: f.files).problem)
        XCTAssertEqual(p.kind, .edited)
        XCTAssertEqual(p.line, 1)
        // As the key of epoch 2 it checks only the last file (epoch 2) and refuses earlier epochs.
        let last = try AuditVerifier(rootKey: k, rootEpoch: 2).verify(files: [f.files[2]])
        XCTAssertNil(last.problem, last.problem?.description ?? "")
        let earlier = try XCTUnwrap(try AuditVerifier(rootKey: k, rootEpoch: 2).verify(files: [f.files[1]]).problem)
        XCTAssertEqual(earlier.kind, .edited)
    }
}
