import Foundation
import XCTest
import FIPSCrypto
import FIPSTestSupport

/// SHA-256/384/512 against NIST CAVP ShortMsg (and SHA-256 LongMsg), through every input path: one-shot with
/// contiguous and non-contiguous (`DispatchData` of several regions) input, `checkedHash`, and incremental
/// `update(data:)` / `update(bufferPointer:)` over random chunk splits, and one reusable `DigestContext` carried
/// through the whole file (each digest after a restart).
final class SHA2VectorTests: XCTestCase {
    override func setUpWithError() throws { try loadModule() }

    private func cavp<H: HashFunction>(_ hash: H.Type, _ fileName: String, expectedRecords: Int, seed: UInt64) throws {
        let url = TestSupport.vectorsDirectory.appendingPathComponent("nist/cavp/sha/\(fileName)")
        let records = try TestSupport.readKeyValueVectors(url)
        XCTAssertEqual(records.count, expectedRecords)
        var rng = SplitMix64(seed: seed)
        var tally = VectorTally("sha cavp (\(fileName), seed \(seed))")
        var context = try DigestContext<H>()
        for r in records {
            guard let bits = r.int("Len") else { XCTFail("\(fileName): record without Len"); continue }
            XCTAssertEqual(bits % 8, 0, "byte-oriented file")
            XCTAssertEqual(r.int("L"), H.byteCount)
            let msg = bits == 0 ? [] : r.hex("Msg")   // Len = 0 is written as Msg = 00
            XCTAssertEqual(msg.count, bits / 8)
            let md = r.hex("MD")
            let id = "\(fileName) Len = \(bits)"
            var ok = true
            func expect(_ digest: H.Digest, _ path: String) {
                if Array(digest) != md { XCTFail("\(id): \(path) gives the wrong digest"); ok = false }
            }
            expect(H.hash(data: msg), "hash(data: [UInt8])")
            expect(H.hash(data: Data(msg)), "hash(data: Data)")
            let cuts = (0..<Int.random(in: 1...4, using: &rng)).map { _ in Int.random(in: 0...max(msg.count, 1), using: &rng) }
            let regions = TestSupport.nonContiguous(msg, cuts: cuts)
            expect(H.hash(data: regions), "hash(data: DispatchData, \(regions.regions.count) regions)")
            expect(try H.checkedHash(data: regions), "checkedHash(data: DispatchData)")
            // Incremental, random chunk sizes, alternating the two update entry points.
            var hasher = H()
            var offset = 0, turn = 0
            while offset < msg.count {
                let n = min(msg.count - offset, Int.random(in: 0...max(1, msg.count / 3 + 1), using: &rng))
                if turn % 2 == 0 {
                    hasher.update(data: msg[offset..<offset + n])
                } else {
                    msg[offset..<offset + n].withUnsafeBytes { hasher.update(bufferPointer: $0) }
                }
                offset += n; turn += 1
            }
            expect(hasher.finalize(), "incremental over \(turn) chunks")
            // Incremental with non-contiguous chunks, and a copy of the hasher diverging (value semantics).
            var h2 = H()
            let half = msg.count / 2
            h2.update(data: TestSupport.nonContiguous(Array(msg[..<half])))
            var fork = h2
            fork.update(data: [0x01])
            h2.update(data: TestSupport.nonContiguous(Array(msg[half...]), cuts: [1, 7]))
            expect(h2.finalize(), "incremental over DispatchData (with a diverging copy)")
            // The file's one context: restarted by each finalize, so every record starts clean.
            context.update(data: msg[..<half])
            msg[half...].withUnsafeBytes { context.update(bufferPointer: $0) }
            expect(try context.finalize(), "DigestContext after \(tally.passed) earlier records")
            if ok { tally.passed += 1 }
        }
        tally.finish(records: records.count)
    }

    func testSHA256ShortMsg() throws { try cavp(SHA256.self, "SHA256ShortMsg.rsp", expectedRecords: 65, seed: 256) }
    func testSHA384ShortMsg() throws { try cavp(SHA384.self, "SHA384ShortMsg.rsp", expectedRecords: 129, seed: 384) }
    func testSHA512ShortMsg() throws { try cavp(SHA512.self, "SHA512ShortMsg.rsp", expectedRecords: 129, seed: 512) }
    func testSHA256LongMsg() throws { try cavp(SHA256.self, "SHA256LongMsg.rsp", expectedRecords: 64, seed: 2560) }

    func testNonContiguousHelperReallyHasSeveralRegions() {
        let d = TestSupport.nonContiguous(Array(0..<100))
        XCTAssertEqual(d.regions.count, 3)
        XCTAssertEqual(Array(d), Array(0..<100))
        XCTAssertNil(d.withContiguousStorageIfAvailable { _ in 0 })
    }
}
