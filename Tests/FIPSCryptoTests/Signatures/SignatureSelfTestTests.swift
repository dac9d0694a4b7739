import XCTest
import Foundation
import FIPSCrypto
import FIPSTestSupport

/// The ECDSA self-tests run in the load gate, and the gate closes when one is forced to fail.
final class SignatureSelfTestTests: XCTestCase {
    func testECDSASelfTestsRanAndPassed() throws {
        let status = try FIPSModule.load()
        for (name, kind) in [("ECDSA-P256-PCT", "PCT"), ("ECDSA-P256-verify", "KAT")] {
            let r = try XCTUnwrap(status.selfTests.first { $0.name == name }, "\(name) missing from the self-tests")
            XCTAssertTrue(r.passed, "\(name): \(r.failure ?? "")")
            XCTAssertEqual(r.family, "ECDSA")
            XCTAssertEqual(r.kind, kind)
        }
        XCTAssertTrue(try FIPSModule.runSelfTests().allSatisfy(\.passed))
    }

    /// The KAT's constants are the vector file's tcId 2 (guards against an edit to either drifting).
    func testKATConstantsMatchVectorFile() throws {
        let data = try Data(contentsOf: TestSupport.vectorsDirectory.appendingPathComponent("wycheproof/ecdsa_secp256r1_sha256_test.json"))
        let text = String(decoding: data, as: UTF8.self)
        let source = try String(contentsOf: TestSupport.packageRoot.appendingPathComponent("Sources/FIPSCrypto/Module/SelfTests.swift"), encoding: .utf8)
        for constant in ["0404aaec73635726f213fb8a9e64da3b8632e41495a944d0045b522eba7240fad587d9315798aaa3a5ba01775787ced05eaaf7b4e09fc81d6d1aa546e8365d525d",
                         "30450220530bd6b0c9af2d69ba897f6b5fb59695cfbf33afe66dbadcf5b8d2a2a6538e23022100d85e489cb7a161fd55ededcedbf4cc0c0987e3e3f0f242cae934c72caa3f43e9"] {
            XCTAssertTrue(text.contains(constant), "vector file lacks \(constant.prefix(16))")
            XCTAssertTrue(source.contains(constant), "SelfTests.swift lacks \(constant.prefix(16))")
        }
    }

    func testForcedFailureClosesTheGate() throws {
        guard FileManager.default.isExecutableFile(atPath: TestSupport.fipsctl) else { throw XCTSkip("fipsctl not built") }
        for name in ["ECDSA-P256-PCT", "ECDSA-P256-verify"] {
            let r = try TestSupport.fipsctl(["selftest"], environment: ["FIPSCRYPTO_FAIL_SELFTEST": name])
            XCTAssertNotEqual(r.status, 0, "\(name) forced to fail must fail the gate")
            XCTAssertTrue(r.out.contains("FAIL \(name)"), r.out)
        }
    }
}
