import Foundation
import XCTest
import FIPSCrypto
import FIPSTestSupport
@testable import FIPSVault

/// Benchmark, not a test: prints how long rotating 10,000 credentials takes (no assertion on the time).
final class RotationBenchmarkTests: XCTestCase {
    func testRotate10000CredentialsTiming() throws {
        let dir = try TestSupport.temporaryDirectory("fipsvault-bench")
        defer { try? FileManager.default.removeItem(at: dir) }
        let keyring = try Keyring.generate()
        let v = try CredentialVault(path: dir.appendingPathComponent("vault.db").path, keyring: keyring)
        let n = 10_000
        // Setup only: no fsync per insert (10,000 fsyncs take a minute on a busy disk). Rotation runs with FULL.
        try v.connection.execute("PRAGMA synchronous = OFF")
        let fill = ContinuousClock.now
        for i in 0..<n { try v.put("cred-\(i)", kind: .apiKey, secret: Data("token-\(i)-\(UUID().uuidString)".utf8)) }
        let filled = ContinuousClock.now - fill
        try v.connection.execute("PRAGMA synchronous = FULL")
        try keyring.rotate()
        let start = ContinuousClock.now
        let r = try v.rotate(batchSize: 1000)
        let elapsed = ContinuousClock.now - start
        XCTAssertEqual(r.rotated, n)
        XCTAssertEqual(try v.keyVersionCensus(), [2: n])
        print("benchmark: rotate \(n) credentials (batch 1000): \(elapsed); inserting them (synchronous=OFF) took \(filled)")
    }
}
