import XCTest
import FIPSCrypto
import FIPSTestSupport

/// The module in this process: loaded once, operational, served by the expected provider, gated by self-tests.
final class FIPSModuleTests: XCTestCase {
    override func setUpWithError() throws { try FIPSModule.load() }

    func testModuleIsOperationalAndReportsItsMode() throws {
        let s = FIPSModule.status
        XCTAssertEqual(s.state, .operational)
        XCTAssertNil(s.failure)
        XCTAssertTrue(FIPSModule.isOperational)
        if TestSupport.isDevelopmentMode {
            XCTAssertEqual(s.mode, .development)
            XCTAssertFalse(s.isFIPS, "development mode must never report FIPS")
            XCTAssertEqual(s.provider?.name, "default")
        } else {
            XCTAssertEqual(s.mode, .fips)
            XCTAssertTrue(s.isFIPS)
            XCTAssertEqual(s.provider?.name, "fips")
            XCTAssertEqual(s.provider?.reportedName, "OpenSSL FIPS Provider")
            XCTAssertTrue(s.provider?.isActive ?? false)
            XCTAssertNotNil(s.configFile)
        }
    }

    func testEverySelfTestRanAndPassed() throws {
        let s = FIPSModule.status
        let names = Set(s.selfTests.map(\.name))
        for required in ["SHA-256", "SHA-384", "SHA-512", "HMAC-SHA-256", "HKDF-SHA-256", "AES-256-GCM-encrypt",
                         "AES-256-GCM-decrypt", "AES-256-GCM-tag-reject", "DRBG"] {
            XCTAssertTrue(names.contains(required), "missing self-test \(required)")
        }
        for t in s.selfTests { XCTAssertTrue(t.passed, "\(t.name): \(t.failure ?? "")") }
        XCTAssertEqual(Set(FIPSModule.selfTestNames).isSuperset(of: names), true)
    }

    func testProviderSelfTestsWereObservedInThisProcess() throws {
        try XCTSkipIf(TestSupport.isDevelopmentMode, "the default provider has no self-tests")
        let events = FIPSModule.status.providerSelfTests
        XCTAssertFalse(events.isEmpty, "the self-test callback saw nothing")
        XCTAssertTrue(events.contains { $0.type == "Module_Integrity" && $0.result == "Pass" })
        XCTAssertTrue(events.contains { $0.type == "KAT_Cipher" && $0.description == "AES_GCM" })
        XCTAssertEqual(events.filter { $0.result != "Pass" }.count, 0)
        let rerun = try FIPSModule.runProviderSelfTests()
        XCTAssertTrue(rerun.contains { $0.description == "AES_GCM" && $0.result == "Pass" })
    }

    func testSelfTestsCanBeRerunOnDemand() throws {
        let results = try FIPSModule.runSelfTests()
        XCTAssertEqual(results.count, FIPSModule.status.selfTests.count)
        XCTAssertTrue(results.allSatisfy(\.passed))
    }

    /// With fips=yes in the module's context, non-approved algorithms cannot be fetched at all.
    func testNonApprovedAlgorithmsCannotBeFetched() throws {
        try XCTSkipIf(TestSupport.isDevelopmentMode, "the default provider serves MD5; development mode relies on the wrapper policy")
        for name in ["MD5", "MD4", "RIPEMD160", "ChaCha20-Poly1305", "DES-CBC", "RC4", "BF-CBC", "SM4-CBC", "SM3"] {
            XCTAssertFalse(try FIPSModule.canFetch(name), "\(name) must not be fetchable in the module's context")
        }
        for name in ["SHA2-256", "SHA2-512", "AES-256-GCM"] {
            XCTAssertTrue(try FIPSModule.canFetch(name), "\(name) must be fetchable")
        }
    }

    func testProviderCapabilitiesAreDetectedAtRunTime() throws {
        try XCTSkipIf(TestSupport.isDevelopmentMode, "FIPS provider only")
        let p = try XCTUnwrap(FIPSModule.status.provider)
        XCTAssertFalse(p.version.isEmpty)
        XCTAssertTrue(p.gettableParameters.contains("status"))
        // The 3.4+ provider exposes the approved-service indicator on AES-GCM; older ones do not — either way the
        // status must say what is there rather than assume it from the libcrypto version.
        if p.version.compare("3.4", options: .numeric) != .orderedAscending {
            XCTAssertTrue(p.hasApprovedIndicator)
        }
    }

    func testPolicyTableListsEveryService() {
        let names = Set(ApprovedPolicy.services.map(\.name))
        for n in ["AES-256-GCM", "SHA-256", "HMAC", "HKDF", "DRBG", "ECDSA", "RSA signatures"] { XCTAssertTrue(names.contains(n), n) }
        XCTAssertEqual(FIPSModule.status.approvedServices, ApprovedPolicy.services)
    }

    func testConfigurationFromEnvironment() {
        let c = FIPSModule.Configuration.fromEnvironment([
            "FIPSCRYPTO_MODE": "development", "FIPSCRYPTO_OPENSSL_CONF": "/x.cnf", "FIPSCRYPTO_FAILURE_POLICY": "abort",
            "FIPSCRYPTO_LOCK_DEFAULT_CONTEXT": "1", "FIPSCRYPTO_FAIL_SELFTEST": "HKDF, SHA-256",
        ])
        XCTAssertEqual(c.mode, .development)
        XCTAssertEqual(c.configFile, "/x.cnf")
        XCTAssertEqual(c.failurePolicy, .abortProcess)
        XCTAssertTrue(c.lockDefaultContext)
        XCTAssertEqual(c.failSelfTests, ["HKDF", "SHA-256"])
        XCTAssertEqual(FIPSModule.Configuration.fromEnvironment([:]).mode, .fips, "FIPS is the default")
    }

    func testErrorCarriesDrainedOpenSSLQueueAndLeavesNoStaleEntries() throws {
        // A refused request never reaches OpenSSL and carries no OpenSSL errors…
        let shortKey = SymmetricKey(data: [UInt8](repeating: 1, count: 8))
        XCTAssertThrowsError(try HMAC<SHA256>.authenticationCode(for: Data("x".utf8), using: shortKey)) { e in
            let e = e as! FIPSError
            XCTAssertEqual(e.code, .notApproved)
            XCTAssertTrue(e.reason.contains("HMAC"))
            XCTAssertTrue(e.openSSLErrors.isEmpty)
        }
        // …and a later successful call is not polluted by an earlier failure.
        let key = SymmetricKey(data: [UInt8](repeating: 1, count: 32))
        XCTAssertThrowsError(try AES.GCM.open(try AES.GCM.SealedBox(combined: Data(count: 40)), using: key))
        XCTAssertNoThrow(try AES.GCM.open(try AES.GCM.seal(Data("ok".utf8), using: key), using: key))
    }

    func testConcurrentUseFromManyThreads() throws {
        let key = SymmetricKey(data: [UInt8](repeating: 3, count: 32))
        let failures = DispatchQueue(label: "failures")
        nonisolated(unsafe) var failed = 0
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            do {
                let m = Data(repeating: UInt8(i), count: i * 17)
                let box = try AES.GCM.seal(m, using: key, authenticating: Data([UInt8(i)]))
                let opened = try AES.GCM.open(box, using: key, authenticating: Data([UInt8(i)]))
                if opened != m { failures.sync { failed += 1 } }
                _ = try SHA256.checkedHash(data: m)
            } catch { failures.sync { failed += 1 } }
        }
        XCTAssertEqual(failed, 0)
    }
}
