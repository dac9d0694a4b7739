import Foundation
import XCTest
import FIPSCrypto
import FIPSTestSupport

/// The expected values compiled into the module's self-tests (Sources/FIPSCrypto/Module/SelfTests.swift) are the
/// entries of the vector files that vectors/README.md names, byte for byte.
///
/// The constants are read from the source as text (each `Test(name: "...")` block's `hex("...")` literals, in
/// order), so nothing new is exposed by the library; then the module is loaded and its own self-test results are
/// checked, and the same vector entries are run through the public API.
final class SelfTestVectorTests: XCTestCase {
    override func setUpWithError() throws { try loadModule() }

    /// `name -> [hex literal]` for each self-test in SelfTests.swift, plus the HKDF `length:` argument.
    private func compiledConstants() throws -> (hex: [String: [String]], hkdfLength: Int?) {
        let url = TestSupport.packageRoot.appendingPathComponent("Sources/FIPSCrypto/Module/SelfTests.swift")
        let source = try String(contentsOf: url, encoding: .utf8)
        let blockStart = try NSRegularExpression(pattern: #"Test\(name: "([^"]+)""#)
        let hexLiteral = try NSRegularExpression(pattern: #"hex\("([0-9a-fA-F]*)"\)"#)
        let ns = source as NSString
        let starts = blockStart.matches(in: source, range: NSRange(location: 0, length: ns.length))
        var result: [String: [String]] = [:]
        var hkdfLength: Int?
        for (i, m) in starts.enumerated() {
            let name = ns.substring(with: m.range(at: 1))
            let end = i + 1 < starts.count ? starts[i + 1].range.location : ns.length
            let range = NSRange(location: m.range.location, length: end - m.range.location)
            result[name] = hexLiteral.matches(in: source, range: range).map { ns.substring(with: $0.range(at: 1)).lowercased() }
            if name == "HKDF-SHA-256", let l = try NSRegularExpression(pattern: #"length: (\d+)"#).firstMatch(in: source, range: range) {
                hkdfLength = Int(ns.substring(with: l.range(at: 1)))
            }
        }
        return (result, hkdfLength)
    }

    /// Parsed files, so each (large) CAVP file is read once.
    private var parsed: [String: [[String: String]]] = [:]

    private func record(_ path: String, recordStart: String? = nil, where match: ([String: String]) -> Bool) throws -> [String: String] {
        if parsed[path] == nil {
            parsed[path] = try TestSupport.readKeyValueVectors(TestSupport.vectorsDirectory.appendingPathComponent(path), recordStart: recordStart)
        }
        let records = parsed[path] ?? []
        let found = records.filter(match)
        XCTAssertEqual(found.count, 1, "exactly one matching record in \(path)")
        return try XCTUnwrap(found.first)
    }

    private func gcmRecord(_ file: String, count: Int) throws -> [String: String] {
        try record("nist/cavp/gcm/\(file)") {
            $0["Keylen"] == "256" && $0["IVlen"] == "96" && $0["PTlen"] == "256" && $0["AADlen"] == "128"
                && $0["Taglen"] == "128" && $0["Count"] == "\(count)"
        }
    }

    func testSelfTestConstantsAreTheVectorFileEntries() throws {
        let (constants, hkdfLength) = try compiledConstants()
        func expect(_ name: String, _ fields: [String], _ r: [String: String], _ file: String) {
            let fromFile = fields.map { (r[$0] ?? "<missing \($0)>").lowercased() }
            XCTAssertEqual(constants[name], fromFile, "self-test \(name): constants differ from \(file) fields \(fields)")
        }

        for (name, file, len) in [("SHA-256", "SHA256ShortMsg.rsp", "24"), ("SHA-384", "SHA384ShortMsg.rsp", "24"),
                                  ("SHA-512", "SHA512ShortMsg.rsp", "24")] {
            let r = try record("nist/cavp/sha/\(file)") { $0["Len"] == len }
            expect(name, ["Msg", "MD"], r, file)
        }

        let hmac = try record("rfc/rfc-4231-sha256.txt", recordStart: "Len") { $0["Key"] == "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b" }
        expect("HMAC-SHA-256", ["Key", "Msg", "MD"], hmac, "RFC 4231 case 1")

        let hkdf = try record("rfc/rfc-5869-HKDF-SHA256.txt", recordStart: "COUNT") { $0["COUNT"] == "1" }
        expect("HKDF-SHA-256", ["IKM", "salt", "info", "OKM"], hkdf, "RFC 5869 case 1")
        XCTAssertEqual(hkdfLength, hkdf.int("L"), "HKDF self-test output length")

        let enc0 = try gcmRecord("gcmEncryptExtIV256.rsp", count: 0)
        expect("AES-256-GCM-encrypt", ["Key", "IV", "PT", "AAD", "CT", "Tag"], enc0, "gcmEncryptExtIV256.rsp Count 0")
        let dec1 = try gcmRecord("gcmDecrypt256.rsp", count: 1)
        XCTAssertNil(dec1["FAIL"], "gcmDecrypt256.rsp Count 1 is a PASS record")
        expect("AES-256-GCM-decrypt", ["Key", "IV", "CT", "Tag", "AAD", "PT"], dec1, "gcmDecrypt256.rsp Count 1")
        let dec0 = try gcmRecord("gcmDecrypt256.rsp", count: 0)
        XCTAssertNotNil(dec0["FAIL"], "gcmDecrypt256.rsp Count 0 is a FAIL record")
        expect("AES-256-GCM-tag-reject", ["Key", "IV", "CT", "Tag", "AAD"], dec0, "gcmDecrypt256.rsp Count 0")

        // The module ran those self-tests on load and they passed.
        let results = FIPSModule.status.selfTests
        for name in ["SHA-256", "SHA-384", "SHA-512", "HMAC-SHA-256", "HKDF-SHA-256", "AES-256-GCM-encrypt",
                     "AES-256-GCM-decrypt", "AES-256-GCM-tag-reject"] {
            let r = results.first { $0.name == name }
            XCTAssertEqual(r?.passed, true, "self-test \(name) ran and passed: \(String(describing: r))")
        }

        // And the same entries give the same answers through the public API.
        let sha = try record("nist/cavp/sha/SHA256ShortMsg.rsp") { $0["Len"] == "24" }
        XCTAssertEqual(Array(SHA256.hash(data: sha.hex("Msg"))), sha.hex("MD"))
        XCTAssertEqual(Array(try HMAC<SHA256>.authenticationCode(for: hmac.hex("Msg"), using: SymmetricKey(data: hmac.hex("Key")))),
                       hmac.hex("MD"))
        let okm = try HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: hkdf.hex("IKM")), salt: hkdf.hex("salt"),
                                             info: hkdf.hex("info"), outputByteCount: try XCTUnwrap(hkdf.int("L")))
        XCTAssertEqual(okm.withUnsafeBytes { Array($0) }, hkdf.hex("OKM"))
        for r in [enc0, dec1] {
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: r.hex("IV")), ciphertext: r.hex("CT"), tag: r.hex("Tag"))
            XCTAssertEqual(Array(try AES.GCM.open(box, using: SymmetricKey(data: r.hex("Key")), authenticating: r.hex("AAD"))), r.hex("PT"))
        }
        let bad = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: dec0.hex("IV")), ciphertext: dec0.hex("CT"), tag: dec0.hex("Tag"))
        XCTAssertThrowsError(try AES.GCM.open(bad, using: SymmetricKey(data: dec0.hex("Key")), authenticating: dec0.hex("AAD"))) {
            XCTAssertEqual(($0 as? FIPSError)?.code, .authenticationFailure)
        }
    }
}
