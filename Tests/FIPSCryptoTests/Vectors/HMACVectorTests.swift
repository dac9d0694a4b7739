import Foundation
import XCTest
import FIPSCrypto
import FIPSTestSupport

/// HMAC-SHA-256/384/512 against RFC 4231 (the files in `vectors/rfc/`), through `HMAC<H>.authenticationCode`,
/// `isValidAuthenticationCode`, the incremental `HMAC<H>` value (split input, a diverging copy) and the reusable
/// `HMACContext<H>` (the same MAC again after a restart, whatever the previous message was).
///
/// The Wycheproof HMAC files are not in the packages `vectors/` is taken from (see vectors/README.md), and the
/// RFC 4231 files there leave out test case 5 (truncation). Truncation is still checked: a prefix of every RFC
/// expected MAC (128 bits, as case 5 uses) must not validate, because this library requires full-length tags.
final class HMACVectorTests: XCTestCase {
    override func setUpWithError() throws { try loadModule() }

    private func rfc4231<H: HashFunction>(_ hash: H.Type, _ fileName: String, expectedRecords: Int) throws {
        let url = TestSupport.vectorsDirectory.appendingPathComponent("rfc/\(fileName)")
        let records = try TestSupport.readKeyValueVectors(url, recordStart: "Len")
        XCTAssertEqual(records.count, expectedRecords)
        var tally = VectorTally("hmac rfc 4231 (\(fileName))")
        var truncated = VectorTally("hmac rfc 4231 truncated to 128 bits (\(fileName))")
        for (i, r) in records.enumerated() {
            let key = r.hex("Key"), msg = r.hex("Msg"), md = r.hex("MD")
            let id = "\(fileName) record \(i + 1) (key \(key.count * 8) bits)"
            XCTAssertEqual(md.count, H.byteCount, "\(id): the expected MAC is full length")
            let symmetricKey = SymmetricKey(data: key)
            let outcome = Outcome {
                i % 2 == 0 ? try HMAC<H>.authenticationCode(for: msg, using: symmetricKey)
                           : try HMAC<H>.authenticationCode(for: TestSupport.nonContiguous(msg), using: symmetricKey)
            }
            switch outcome {
            case .value(let mac) where key.count >= ApprovedPolicy.minimumHMACKeyByteCount:
                guard Array(mac) == md else { XCTFail("\(id): MAC differs from the RFC"); continue }
                // Incremental value: split at every third byte boundary, with a copy that diverges.
                let cut = msg.count / 3
                var incremental = try HMAC<H>(key: symmetricKey)
                incremental.update(data: msg[..<cut])
                var fork = incremental
                fork.update(data: [0x01])
                msg[cut...].withUnsafeBytes { incremental.update(bufferPointer: $0) }
                XCTAssertEqual(Array(try incremental.finalize()), md, "\(id): incremental HMAC")
                XCTAssertNotEqual(Array(try fork.finalize()), md, "\(id): the copy must not share the original's state")
                XCTAssertEqual(Array(try incremental.finalize()), md, "\(id): finalize leaves the value unchanged")
                // Reusable context: an unrelated message first, then the vector twice, split differently.
                var context = try HMACContext<H>(key: symmetricKey)
                context.update(data: Array("an earlier record".utf8))
                XCTAssertNotEqual(Array(try context.finalize()), md, id)
                context.update(data: msg)
                XCTAssertEqual(Array(try context.finalize()), md, "\(id): HMACContext after a restart")
                context.update(data: TestSupport.nonContiguous(Array(msg[..<cut])))
                msg[cut...].withUnsafeBytes { context.update(bufferPointer: $0) }
                XCTAssertEqual(Array(try context.finalize()), md, "\(id): HMACContext, second restart")
                XCTAssertTrue(try HMAC<H>.isValidAuthenticationCode(md, authenticating: msg, using: symmetricKey), id)
                var wrong = md; wrong[wrong.count - 1] ^= 0x01
                XCTAssertFalse(try HMAC<H>.isValidAuthenticationCode(wrong, authenticating: msg, using: symmetricKey), id)
                tally.passed += 1
                // RFC 4231 case 5 style: the leftmost 128 bits of the correct MAC.
                if try HMAC<H>.isValidAuthenticationCode(Array(md.prefix(16)), authenticating: msg, using: symmetricKey) {
                    XCTFail("\(id): a truncated MAC validated")
                } else {
                    truncated.refuse("truncated tag: isValidAuthenticationCode requires the full length")
                }
            case .error(.notApproved) where key.count < ApprovedPolicy.minimumHMACKeyByteCount:
                XCTAssertThrowsError(try HMAC<H>(key: symmetricKey), id) { XCTAssertEqual(($0 as? FIPSError)?.code, .notApproved) }
                do {
                    _ = try HMACContext<H>(key: symmetricKey)
                    XCTFail("\(id): HMACContext took a short key")
                } catch { XCTAssertEqual((error as? FIPSError)?.code, .notApproved, id) }
                tally.refuse("key below 112 bits: notApproved")
                truncated.refuse("key below 112 bits: notApproved")
            default:
                XCTFail("\(id): unexpected \(outcome)")
            }
        }
        tally.finish(records: records.count)
        truncated.finish(records: records.count)
        XCTAssertGreaterThan(tally.passed, 0)
    }

    // Each file holds RFC 4231 cases 1, 2, 3, 4, 6, 7 (case 5, truncation, is left out upstream).
    func testRFC4231SHA256() throws { try rfc4231(SHA256.self, "rfc-4231-sha256.txt", expectedRecords: 6) }
    func testRFC4231SHA384() throws { try rfc4231(SHA384.self, "rfc-4231-sha384.txt", expectedRecords: 6) }
    func testRFC4231SHA512() throws { try rfc4231(SHA512.self, "rfc-4231-sha512.txt", expectedRecords: 6) }
}
