import Foundation
import XCTest
import FIPSCrypto
import FIPSTestSupport

/// HKDF against Wycheproof (hkdf_sha256/384/512_test.json) and RFC 5869 (SHA-256 cases), through
/// `HKDF<H>.deriveKey(inputKeyMaterial:salt:info:outputByteCount:)`.
final class HKDFVectorTests: XCTestCase {
    override func setUpWithError() throws { try loadModule() }

    struct WycheproofHKDFGroup: Decodable, Sendable {
        var keySize: Int
        var tests: [Test]
        struct Test: Decodable, Sendable {
            var tcId: Int
            var comment: String
            var ikm: String, salt: String, info: String
            var size: Int
            var okm: String
            var result: String
        }
    }

    /// One derivation. Policy: IKM ≥ 112 bits, 1 ≤ size ≤ 255 × hash length, info ≤ 1024 bytes.
    private func check<H: HashFunction>(_ hash: H.Type, _ tally: inout VectorTally, id: String, ikm: [UInt8], salt: [UInt8],
                                        info: [UInt8], size: Int, okm: [UInt8], expectValid: Bool, nonContiguous: Bool) {
        let outcome = Outcome {
            let key = SymmetricKey(data: ikm)
            let derived = nonContiguous
                ? try HKDF<H>.deriveKey(inputKeyMaterial: key, salt: TestSupport.nonContiguous(salt), info: TestSupport.nonContiguous(info),
                                        outputByteCount: size)
                : try HKDF<H>.deriveKey(inputKeyMaterial: key, salt: salt, info: info, outputByteCount: size)
            return derived.withUnsafeBytes { Array($0) }
        }
        let outOfRange = size < 1 || size > 255 * H.byteCount
        switch outcome {
        case .value(let out) where expectValid:
            if out == okm { tally.passed += 1 } else { XCTFail("\(id): derived key differs from the expected OKM") }
        case .error(.notApproved) where !expectValid && outOfRange:
            tally.rejected += 1   // invalid per the file; our policy refuses the length before OpenSSL is called
        case .error(.notApproved) where ikm.count < ApprovedPolicy.minimumHMACKeyByteCount:
            tally.refuse("IKM below 112 bits: notApproved")
        case .error(.notApproved) where info.count > 1024:
            tally.refuse("info longer than 1024 bytes: notApproved")
        default:
            XCTFail("\(id): expected \(expectValid ? "OKM" : "notApproved"), got \(outcome)")
        }
    }

    private func wycheproof<H: HashFunction>(_ hash: H.Type, _ fileName: String) throws {
        let file = try TestSupport.wycheproof("wycheproof/\(fileName)", as: WycheproofHKDFGroup.self)
        var tally = VectorTally("hkdf wycheproof (\(fileName))")
        var count = 0
        for group in file.testGroups {
            for t in group.tests {
                count += 1
                check(H.self, &tally, id: "\(fileName) tcId \(t.tcId) (\(t.comment))", ikm: TestSupport.bytes(hex: t.ikm),
                      salt: TestSupport.bytes(hex: t.salt), info: TestSupport.bytes(hex: t.info), size: t.size,
                      okm: TestSupport.bytes(hex: t.okm), expectValid: t.result == "valid", nonContiguous: t.tcId % 2 == 0)
            }
        }
        XCTAssertEqual(count, file.numberOfTests)
        tally.finish(records: file.numberOfTests)
        XCTAssertGreaterThan(tally.passed, 0)
    }

    func testWycheproofHKDFSHA256() throws { try wycheproof(SHA256.self, "hkdf_sha256_test.json") }
    func testWycheproofHKDFSHA384() throws { try wycheproof(SHA384.self, "hkdf_sha384_test.json") }
    func testWycheproofHKDFSHA512() throws { try wycheproof(SHA512.self, "hkdf_sha512_test.json") }

    func testRFC5869SHA256() throws {
        let url = TestSupport.vectorsDirectory.appendingPathComponent("rfc/rfc-5869-HKDF-SHA256.txt")
        // Records contain blank lines (between L and PRK): group them by COUNT.
        let records = try TestSupport.readKeyValueVectors(url, recordStart: "COUNT")
        XCTAssertEqual(records.count, 3)
        var tally = VectorTally("hkdf rfc 5869 (rfc-5869-HKDF-SHA256.txt)")
        for (i, r) in records.enumerated() {
            XCTAssertEqual(r["Hash"], "SHA-256")
            let id = "RFC 5869 case \(r["COUNT"] ?? "?")"
            guard let length = r.int("L") else { XCTFail("\(id): no L"); continue }
            check(SHA256.self, &tally, id: id, ikm: r.hex("IKM"), salt: r.hex("salt"), info: r.hex("info"), size: length,
                  okm: r.hex("OKM"), expectValid: true, nonContiguous: i % 2 == 1)
            // HKDF-Extract alone gives the PRK; HKDF-Expand from that PRK gives the OKM.
            let prk = try HKDF<SHA256>.extract(inputKeyMaterial: SymmetricKey(data: r.hex("IKM")), salt: r.hex("salt"))
            XCTAssertEqual(Array(prk), r.hex("PRK"), "\(id): PRK")
            let okm = try HKDF<SHA256>.expand(pseudoRandomKey: prk, info: r.hex("info"), outputByteCount: length)
            XCTAssertEqual(okm.withUnsafeBytes { Array($0) }, r.hex("OKM"), "\(id): OKM from expand")
        }
        tally.finish(records: records.count)
        XCTAssertEqual(tally.passed, 3)
    }
}
