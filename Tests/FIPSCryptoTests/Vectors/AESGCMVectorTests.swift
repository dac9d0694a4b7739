import Foundation
import XCTest
import FIPSCrypto
import FIPSTestSupport

/// AES-256-GCM against NIST CAVP (gcmEncryptExtIV256.rsp, gcmDecrypt256.rsp) and Wycheproof (aes_gcm_test.json).
///
/// `seal` draws its IV inside the provider and takes no nonce, so known-answer *encryption* cannot go through the
/// public API: the encrypt file is run in the decrypt direction (its expected CT ‖ Tag must open to its PT).
/// Only 256-bit keys, 96-bit IVs and 128-bit tags are in policy; every other record must be refused with the
/// documented error, and is counted as such.
final class AESGCMVectorTests: XCTestCase {
    override func setUpWithError() throws { try loadModule() }

    private static let ivReason = "IV not 96 bits: Nonce(data:) throws invalidParameter"
    private static let tagReason = "tag not 128 bits: SealedBox(nonce:ciphertext:tag:) throws invalidParameter"
    private static let keyReason = "key not 256 bits: open throws invalidKeySize"

    /// One vector through the public API. `expectValid`: the file says the box is authentic.
    /// Alternates contiguous and non-contiguous inputs (`nonContiguous`) so every generic entry point sees both.
    private func check(_ tally: inout VectorTally, id: String, key: [UInt8], iv: [UInt8], ct: [UInt8], tag: [UInt8],
                       aad: [UInt8], pt: [UInt8]?, expectValid: Bool, nonContiguous: Bool) {
        let nonceOutcome = Outcome { nonContiguous ? try AES.GCM.Nonce(data: TestSupport.nonContiguous(iv))
                                                   : try AES.GCM.Nonce(data: iv) }
        let nonce: AES.GCM.Nonce
        switch nonceOutcome {
        case .value(let n):
            XCTAssertEqual(iv.count, 12, "\(id): a \(iv.count * 8)-bit IV was accepted")
            nonce = n
        case .error(.invalidParameter) where iv.count != 12:
            tally.refuse(Self.ivReason); return
        default:
            XCTFail("\(id): Nonce(data:) with \(iv.count * 8)-bit IV: unexpected \(nonceOutcome)"); return
        }
        let boxOutcome = Outcome {
            nonContiguous ? try AES.GCM.SealedBox(nonce: nonce, ciphertext: TestSupport.nonContiguous(ct), tag: TestSupport.nonContiguous(tag))
                          : try AES.GCM.SealedBox(nonce: nonce, ciphertext: ct, tag: tag)
        }
        let box: AES.GCM.SealedBox
        switch boxOutcome {
        case .value(let b):
            XCTAssertEqual(tag.count, 16, "\(id): a \(tag.count * 8)-bit tag was accepted")
            box = b
        case .error(.invalidParameter) where tag.count != 16:
            tally.refuse(Self.tagReason); return
        default:
            XCTFail("\(id): SealedBox with \(tag.count * 8)-bit tag: unexpected \(boxOutcome)"); return
        }
        let symmetricKey = SymmetricKey(data: key)
        let opened = Outcome {
            nonContiguous ? try AES.GCM.open(box, using: symmetricKey, authenticating: TestSupport.nonContiguous(aad))
                          : try AES.GCM.open(box, using: symmetricKey, authenticating: aad)
        }
        switch opened {
        case .error(.invalidKeySize) where key.count != 32:
            tally.refuse(Self.keyReason)
        case .value(let plaintext) where expectValid && key.count == 32:
            if let pt, Array(plaintext) == pt { tally.passed += 1 } else { XCTFail("\(id): opened to the wrong plaintext") }
        case .error(.authenticationFailure) where !expectValid && key.count == 32:
            tally.rejected += 1
        default:
            XCTFail("\(id): expected \(expectValid ? "plaintext" : "authenticationFailure") (key \(key.count * 8) bits), got \(opened)")
        }
    }

    func testCAVPDecrypt256() throws {
        let url = TestSupport.vectorsDirectory.appendingPathComponent("nist/cavp/gcm/gcmDecrypt256.rsp")
        let records = try TestSupport.readKeyValueVectors(url)
        XCTAssertEqual(records.count, 7875, "gcmDecrypt256.rsp has 7875 records")
        var tally = VectorTally("gcm cavp decrypt (gcmDecrypt256.rsp)")
        for (i, r) in records.enumerated() {
            XCTAssertNotNil(r["Count"])
            let fail = r["FAIL"] != nil
            check(&tally, id: "decrypt [IVlen=\(r["IVlen"] ?? "?")][Taglen=\(r["Taglen"] ?? "?")] Count \(r["Count"] ?? "?")",
                  key: r.hex("Key"), iv: r.hex("IV"), ct: r.hex("CT"), tag: r.hex("Tag"), aad: r.hex("AAD"),
                  pt: fail ? nil : r.hex("PT"), expectValid: !fail, nonContiguous: i % 2 == 1)
        }
        tally.finish(records: records.count)
        // The in-policy part of the file: [Keylen=256][IVlen=96][Taglen=128], 25 groups of 15 records.
        XCTAssertEqual(tally.passed + tally.rejected, 375)
        XCTAssertGreaterThan(tally.rejected, 0)
    }

    func testCAVPEncrypt256InDecryptDirection() throws {
        let url = TestSupport.vectorsDirectory.appendingPathComponent("nist/cavp/gcm/gcmEncryptExtIV256.rsp")
        let records = try TestSupport.readKeyValueVectors(url)
        XCTAssertEqual(records.count, 7875, "gcmEncryptExtIV256.rsp has 7875 records")
        var tally = VectorTally("gcm cavp encrypt, opened (gcmEncryptExtIV256.rsp)")
        for (i, r) in records.enumerated() {
            check(&tally, id: "encrypt [IVlen=\(r["IVlen"] ?? "?")][Taglen=\(r["Taglen"] ?? "?")] Count \(r["Count"] ?? "?")",
                  key: r.hex("Key"), iv: r.hex("IV"), ct: r.hex("CT"), tag: r.hex("Tag"), aad: r.hex("AAD"),
                  pt: r.hex("PT"), expectValid: true, nonContiguous: i % 2 == 0)
        }
        tally.finish(records: records.count)
        XCTAssertEqual(tally.passed, 375)
        XCTAssertEqual(tally.rejected, 0)
    }

    struct WycheproofAEADGroup: Decodable, Sendable {
        var ivSize: Int
        var keySize: Int
        var tagSize: Int
        var tests: [Test]
        struct Test: Decodable, Sendable {
            var tcId: Int
            var comment: String
            var key: String, iv: String, aad: String, msg: String, ct: String, tag: String
            var result: String
        }
    }

    func testWycheproofAESGCM() throws {
        let file = try TestSupport.wycheproof("wycheproof/aes_gcm_test.json", as: WycheproofAEADGroup.self)
        var tally = VectorTally("gcm wycheproof (aes_gcm_test.json)")
        var count = 0
        for group in file.testGroups {
            for t in group.tests {
                count += 1
                XCTAssertNotEqual(t.result, "acceptable", "tcId \(t.tcId): 'acceptable' results are not expected in this file")
                let key = TestSupport.bytes(hex: t.key)
                XCTAssertEqual(key.count * 8, group.keySize)
                check(&tally, id: "wycheproof tcId \(t.tcId) (\(t.comment))", key: key, iv: TestSupport.bytes(hex: t.iv),
                      ct: TestSupport.bytes(hex: t.ct), tag: TestSupport.bytes(hex: t.tag), aad: TestSupport.bytes(hex: t.aad),
                      pt: TestSupport.bytes(hex: t.msg), expectValid: t.result == "valid", nonContiguous: t.tcId % 2 == 0)
            }
        }
        XCTAssertEqual(count, file.numberOfTests)
        tally.finish(records: file.numberOfTests)
        XCTAssertGreaterThan(tally.passed, 0)
        XCTAssertGreaterThan(tally.rejected, 0)
    }
}
