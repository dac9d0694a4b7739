import Foundation
import XCTest
import FIPSCrypto
import FIPSTestSupport

/// Counts the outcome of each record of a vector file, so a test can print and check them.
///
/// Every record lands in exactly one bucket: `passed` (valid, and the output equals the expected value),
/// `rejected` (the file says invalid/FAIL and the API threw the expected error), or `refused` (outside the
/// approved policy, and the API refused it with the documented error; keyed by the reason). Anything else is a
/// test failure and is not counted, so `total` falls short of the record count and the final check fails too.
struct VectorTally {
    let name: String
    var passed = 0
    var rejected = 0
    var refused: [String: Int] = [:]

    init(_ name: String) { self.name = name }

    var refusedCount: Int { refused.values.reduce(0, +) }
    var total: Int { passed + rejected + refusedCount }

    mutating func refuse(_ reason: String) { refused[reason, default: 0] += 1 }

    /// `name: N passed, M rejected-as-expected, K refused by policy (reason: n, ...)`.
    var summary: String {
        let reasons = refused.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ")
        return "\(name): \(passed) passed, \(rejected) rejected-as-expected, \(refusedCount) refused by policy"
            + (reasons.isEmpty ? "" : " (\(reasons))")
    }

    /// Prints the summary and checks every one of `records` was accounted for.
    func finish(records: Int, file: StaticString = #filePath, line: UInt = #line) {
        print(summary)
        XCTAssertEqual(total, records, "\(name): not every record was accounted for", file: file, line: line)
    }
}

/// The outcome of a call: its value or the code of the `FIPSError` it threw (any other error is a test failure).
enum Outcome<T> {
    case value(T)
    case error(FIPSError.Code)
    case otherError(any Error)

    init(_ body: () throws -> T) {
        do { self = .value(try body()) } catch let e as FIPSError { self = .error(e.code) } catch { self = .otherError(error) }
    }

    var errorCode: FIPSError.Code? { if case .error(let c) = self { return c }; return nil }
}

/// Loads the module once for a test class and fails the test if it is not operational.
func loadModule(file: StaticString = #filePath, line: UInt = #line) throws {
    let status = try FIPSModule.load()
    XCTAssertEqual(status.state, .operational, file: file, line: line)
}

extension Dictionary where Key == String, Value == String {
    /// The value of a hex field as bytes (absent or empty gives no bytes).
    func hex(_ key: String) -> [UInt8] { TestSupport.bytes(hex: self[key] ?? "") }
    /// The value of an integer field.
    func int(_ key: String) -> Int? { self[key].flatMap { Int($0) } }
}

/// A reproducible pseudo-random generator for test data (SplitMix64), so a failing split can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Array where Element == UInt8 {
    /// Random bytes for test inputs (not keys of the code under test's own making).
    static func random<G: RandomNumberGenerator>(count: Int, using g: inout G) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { buffer in
            var i = 0
            while i < count {
                var word = g.next()
                for _ in 0..<Swift.min(8, count - i) { buffer[i] = UInt8(truncatingIfNeeded: word); word >>= 8; i += 1 }
            }
        }
        return out
    }
}
