import Foundation
import FIPSCrypto

/// The first place where a set of audit files stops being intact.
public struct AuditVerificationProblem: Sendable, Hashable, CustomStringConvertible {
    /// What kind of damage.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        /// The identifier, e.g. `"edited"`.
        public let identifier: String
        /// Creates a kind.
        /// - Parameter identifier: The identifier.
        public init(_ identifier: String) { self.identifier = identifier }
        /// The identifier.
        public var description: String { identifier }
        /// A record's content no longer matches its MAC (or a checkpoint's chain hash).
        public static let edited = Kind("edited")
        /// Records are missing: a gap in the sequence numbers.
        public static let deleted = Kind("deleted")
        /// Records are out of order.
        public static let reordered = Kind("reordered")
        /// A file ends mid-record, or the log ends before the last sequence the state recorded.
        public static let truncated = Kind("truncated")
        /// A whole file is missing from the set (or cannot be read).
        public static let missingFile = Kind("missing-file")
        /// A line is not a well-formed record.
        public static let malformed = Kind("malformed")
        /// A checkpoint's signature is invalid or made with an unexpected key.
        public static let badCheckpoint = Kind("bad-checkpoint")
    }

    /// What kind of damage.
    public var kind: Kind
    /// The file (as given).
    public var file: String
    /// The 1-based line, when it is one line.
    public var line: Int?
    /// The sequence number involved, when known.
    public var sequence: UInt64?
    /// A precise, human explanation.
    public var detail: String

    /// `KIND at FILE:LINE (seq N): detail`.
    public var description: String {
        var s = "\(kind) at \(file)"
        if let line { s += ":\(line)" }
        if let sequence { s += " (seq \(sequence))" }
        return s + ": " + detail
    }
}

/// The outcome of verifying a set of audit files.
public struct AuditVerificationReport: Sendable {
    /// The files, in chain order.
    public var files: [String] = []
    /// Records read.
    public var recordCount = 0
    /// The first and last sequence numbers seen.
    public var firstSequence: UInt64?
    /// The last sequence number seen.
    public var lastSequence: UInt64?
    /// Whether every record's MAC was checked (a root key was given).
    public var macsChecked = false
    /// Checkpoints whose signature and chain hash were checked.
    public var checkpointsVerified = 0
    /// Records after the last verified checkpoint (protected only by the MAC chain).
    public var recordsAfterLastCheckpoint = 0
    /// Remarks that are not damage (earlier files absent, no checkpoint key given...).
    public var notes: [String] = []
    /// The first problem, or `nil` when intact.
    public var problem: AuditVerificationProblem?
    /// Whether no problem was found.
    public var isIntact: Bool { problem == nil }
}

/// Checks audit files: sequence, links between files, the MAC chain (with the root key) and the signed checkpoints
/// (with the public key only).
///
/// What each proves:
/// - **Without any secret** (checkpoint public key only): every record up to the last checkpoint is exactly as it
///   was when the checkpoint was signed (the checkpoint signs the SHA-384 chain over all lines before it), and no
///   record or file before it was added, removed or reordered. Records after the last checkpoint are only checked
///   for sequence and structure. Anyone holding the checkpoint private key could re-sign a rewritten log, so keep
///   copies of checkpoints off the host (the shipper sends them to the collector like every record).
/// - **With the root MAC key** (epoch 0): every record, including the tail after the last checkpoint, was written
///   by a holder of the epoch key of its time; the exact record that was edited is named. Because epoch keys only
///   evolve forward, a thief holding today's key cannot produce valid MACs for earlier epochs.
public struct AuditVerifier: Sendable {
    let rootKey: SymmetricKey?
    let rootEpoch: UInt64
    let checkpointVerifier: (any AuditCheckpointVerifier)?
    let expectedLastSequence: UInt64?

    /// Creates a verifier.
    /// - Parameters:
    ///   - rootKey: The MAC key of epoch `rootEpoch` (normally the root key, epoch 0); `nil` to skip the MACs.
    ///   - rootEpoch: The epoch `rootKey` belongs to.
    ///   - checkpointVerifier: Checks checkpoint signatures; `nil` checks only their chain hashes.
    ///   - expectedLastSequence: The last sequence the writer recorded (from its state or the collector); a log
    ///     that ends earlier is reported truncated.
    public init(rootKey: SymmetricKey? = nil, rootEpoch: UInt64 = 0, checkpointVerifier: (any AuditCheckpointVerifier)? = nil,
                expectedLastSequence: UInt64? = nil) {
        self.rootKey = rootKey; self.rootEpoch = rootEpoch; self.checkpointVerifier = checkpointVerifier
        self.expectedLastSequence = expectedLastSequence
    }

    /// Verifies a set of files of one log (in any order; they are sorted by their first sequence number).
    /// - Parameter files: The files (`.gz` allowed).
    /// - Returns: The report; `problem` names the first broken place.
    /// - Throws: Module failures only (damage is reported, not thrown).
    public func verify(files: [URL]) throws -> AuditVerificationReport {
        var report = AuditVerificationReport()
        report.macsChecked = rootKey != nil
        // Read every file; an unreadable or absent one is a missing file.
        var loaded: [(url: URL, lines: [ArraySlice<UInt8>], complete: Bool, first: UInt64)] = []
        for url in files {
            guard FileManager.default.fileExists(atPath: url.path), let bytes = try? AuditFiles.read(url) else {
                report.problem = AuditVerificationProblem(kind: .missingFile, file: url.path, detail: "the file does not exist or cannot be read")
                return report
            }
            let (lines, complete) = AuditFiles.lines(bytes)
            let first = lines.first.flatMap { ParsedLine($0)?.sequence } ?? UInt64.max
            loaded.append((url, lines, complete, first))
        }
        loaded.sort { $0.first < $1.first }
        report.files = loaded.map { $0.url.path }

        var expected: UInt64? = nil
        var prevMAC: [UInt8] = AuditChain.genesisMAC
        var chain: [UInt8] = AuditChain.genesisChain
        var keyEpoch = rootEpoch
        var key = rootKey
        // One keyed MAC context per epoch and one chain hasher for the whole set, as the writer keeps them.
        var epochMAC: AuditChain.EpochMAC? = nil
        if let rootKey { epochMAC = try AuditChain.EpochMAC(key: rootKey) }
        var chainHasher = try DigestContext<SHA384>()
        var previousFile: String? = nil
        func fail(_ kind: AuditVerificationProblem.Kind, _ file: URL, _ line: Int?, _ seq: UInt64?, _ detail: String) -> AuditVerificationReport {
            var r = report
            r.problem = AuditVerificationProblem(kind: kind, file: file.path, line: line, sequence: seq, detail: detail)
            return r
        }

        for f in loaded {
            let seqs = f.lines.map { ParsedLine($0)?.sequence }
            for (i, raw) in f.lines.enumerated() {
                let lineNo = i + 1
                let isLast = i == f.lines.count - 1
                if isLast && !f.complete {
                    return fail(.truncated, f.url, lineNo, expected, "the file ends in the middle of a record (\(raw.count) bytes, no newline): truncated tail")
                }
                guard let p = ParsedLine(raw), let seq = p.sequence, let epoch = p.epoch else {
                    return fail(.edited, f.url, lineNo, expected, "the line is not a well-formed record (JSON or its event.hash was altered)")
                }
                if i == 0 {
                    guard p.type == RecordType.fileStart, let ps = p.number(Field.previousSequence),
                          let pm = p.string(Field.previousMAC).flatMap(Hex.decode), let pc = p.string(Field.previousChain).flatMap(Hex.decode) else {
                        return fail(.deleted, f.url, lineNo, seq, "the file does not begin with its file-start record: its head was deleted")
                    }
                    if let exp = expected {
                        if ps + 1 > exp {
                            return fail(.missingFile, f.url, lineNo, seq, "this file continues from seq \(ps) but \(previousFile ?? "the previous file") ends at seq \(exp - 1): a file holding seq \(exp)...\(ps) is missing")
                        }
                        if ps + 1 < exp {
                            return fail(.reordered, f.url, lineNo, seq, "this file continues from seq \(ps), which \(previousFile ?? "an earlier file") already covered (up to seq \(exp - 1))")
                        }
                        if pm != prevMAC {
                            return fail(.missingFile, f.url, lineNo, seq, "this file does not link to the last MAC of \(previousFile ?? "the previous file"): a file was replaced or is missing")
                        }
                    } else {
                        if ps > 0 {
                            report.notes.append("the set starts at seq \(ps + 1) (\(f.url.lastPathComponent)); earlier files were not given (retention?)")
                        }
                        prevMAC = pm; chain = pc; expected = ps + 1
                        report.firstSequence = ps + 1
                    }
                }
                guard let exp = expected else { continue }
                if seq != exp {
                    if seq > exp {
                        if seqs[(i + 1)...].contains(where: { $0 == exp }) {
                            return fail(.reordered, f.url, lineNo, seq, "seq \(seq) comes before seq \(exp): records were reordered")
                        }
                        return fail(.deleted, f.url, lineNo, seq, seq - exp == 1 ? "record seq \(exp) is missing before this line: deleted"
                                    : "records seq \(exp)...\(seq - 1) are missing before this line: deleted")
                    }
                    return fail(.reordered, f.url, lineNo, seq, "seq \(seq) comes after seq \(exp - 1): records were reordered (or duplicated)")
                }
                if let k = key {
                    guard epoch >= keyEpoch else {
                        return fail(.edited, f.url, lineNo, seq, "the record claims epoch \(epoch), earlier than epoch \(keyEpoch) already reached")
                    }
                    if epoch > keyEpoch {
                        let next = try AuditChain.epochKey(k, from: keyEpoch, to: epoch)
                        key = next; keyEpoch = epoch
                        epochMAC = try AuditChain.EpochMAC(key: next)
                    }
                    let mac = try p.body.withUnsafeBytes { try epochMAC!.mac(previous: prevMAC, body: $0) }
                    let ok = mac.withUnsafeBytes { a in p.mac.withUnsafeBytes { b in constantTimeEquals(a, b) } }
                    guard ok else {
                        return fail(.edited, f.url, lineNo, seq, "the record's MAC does not match its content: edited")
                    }
                }
                if p.type == RecordType.checkpoint {
                    if let problem = checkCheckpoint(p, chain: chain, prevMAC: prevMAC, seq: seq, report: &report) {
                        return fail(problem.0, f.url, lineNo, seq, problem.1)
                    }
                    report.recordsAfterLastCheckpoint = 0
                } else {
                    report.recordsAfterLastCheckpoint += 1
                }
                chain = try raw.withUnsafeBytes { try AuditChain.chain(previous: chain, line: $0, hasher: &chainHasher) }
                prevMAC = p.mac
                expected = seq + 1
                report.recordCount += 1
                report.lastSequence = seq
            }
            if f.lines.isEmpty {
                return fail(.truncated, f.url, nil, expected, "the file is empty: truncated")
            }
            previousFile = f.url.lastPathComponent
        }
        if let want = expectedLastSequence, let last = report.lastSequence, last < want {
            return fail(.truncated, loaded.last!.url, loaded.last!.lines.count, last,
                        "the log ends at seq \(last) but the writer recorded seq \(want): records \(last + 1)...\(want) were cut off (truncated tail)")
        }
        if rootKey == nil && report.recordsAfterLastCheckpoint > 0 {
            report.notes.append("\(report.recordsAfterLastCheckpoint) record(s) after the last checkpoint were checked for sequence only; give the MAC key to check their content")
        }
        if checkpointVerifier == nil && report.checkpointsVerified == 0 {
            report.notes.append("no checkpoint public key was given: checkpoint signatures were not checked")
        }
        return report
    }

    private func checkCheckpoint(_ p: ParsedLine, chain: [UInt8], prevMAC: [UInt8], seq: UInt64,
                                 report: inout AuditVerificationReport) -> (AuditVerificationProblem.Kind, String)? {
        guard let cs = p.number(Field.checkpointSequence), let cc = p.string(Field.checkpointChain).flatMap(Hex.decode),
              let cm = p.string(Field.checkpointMAC).flatMap(Hex.decode),
              let sig = p.string(Field.checkpointSignature).flatMap({ Data(base64Encoded: $0) }),
              let fp = p.string(Field.checkpointKey) else {
            return (.malformed, "the checkpoint lacks one of its fields")
        }
        guard cs + 1 == seq, cm == prevMAC else {
            return (.edited, "the checkpoint does not cover the record just before it")
        }
        guard cc == chain else {
            return (.edited, "the records before this checkpoint (since the previous one) do not hash to the signed chain value: one of them was edited")
        }
        guard let v = checkpointVerifier else { return nil }
        guard fp == AuditChain.fingerprint(v.publicKeyDER) else {
            return (.badCheckpoint, "the checkpoint was signed by key \(fp), not the expected \(AuditChain.fingerprint(v.publicKeyDER))")
        }
        guard v.isValidSignature(sig, for: AuditChain.checkpointMessage(sequence: cs, chain: cc, mac: cm)) else {
            return (.badCheckpoint, "the checkpoint's signature is invalid")
        }
        report.checkpointsVerified += 1
        return nil
    }
}

