import Foundation
import FIPSCrypto
import FIPSAudit

/// The audit file sink: one structured event logged with HMAC chaining, JSON encoding, the file write and
/// batched fsync (every 100 ms, the default), on one thread. events/s = 1e9 / (ns per event). Afterwards every
/// record written is verified (MACs and chain) with the root key.
func auditBenchmark(_ harness: Harness) throws -> [Measurement] {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fips-bench-audit-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    var configuration = AuditLogConfiguration.standard(directory: dir)
    configuration.sync = .batched(milliseconds: 100)
    let rootKey = try SymmetricKey.generate(size: .bits256)
    let log = try AuditLog(configuration: configuration, rootKey: rootKey, stateKey: try SymmetricKey.generate(size: .bits256))
    let event = AuditEvent(category: .authentication, action: "login", outcome: .success, actor: "alice",
                           sourceAddress: "127.0.0.1", correlationID: "req-42", metadata: ["http.method": "POST"])
    let results = try harness.measure(benchmark: "AuditLog.log/event", operation: "audit.log", bytes: 0, [
        Contender(implementation: "swift-audit") { n in
            for _ in 0..<n { blackHole(try log.log(event)) }
        },
    ])
    // A fast log that writes a broken chain is no result: verify every record written.
    try log.close()
    let report = try AuditVerifier(rootKey: rootKey).verify(files: log.files)
    if let problem = report.problem { throw BenchFailure("the benchmarked audit log does not verify: \(problem)") }
    return results
}
