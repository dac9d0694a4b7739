import XCTest
import FIPSTestSupport

/// Failures are terminal for a process, so each runs in a child process (`fipsctl` or the test probe).
final class ModuleFailureTests: XCTestCase {
    var probe: String { TestSupport.productsDirectory.appendingPathComponent("fipscrypto-probe").path }
    /// Children run in FIPS mode unless a test says otherwise.
    let fips = ["FIPSCRYPTO_MODE": "fips"]

    func testConcurrentFirstUseLoadsOnce() throws {
        for mode in ["fips", "development"] {
            let r = try TestSupport.run(probe, ["first-use", "32"], environment: ["FIPSCRYPTO_MODE": mode])
            XCTAssertEqual(r.status, 0, r.err)
            XCTAssertTrue(r.out.contains("\"succeeded\":32"), r.out)
            XCTAssertTrue(r.out.contains("\"loads\":1"), "the module must load exactly once: \(r.out)")
            XCTAssertTrue(r.out.contains("\"state\":\"operational\""), r.out)
        }
    }

    func testLockingTheDefaultContextMakesStrayFetchesFail() throws {
        let locked = try TestSupport.run(probe, ["default-context-fetch"], environment: ["FIPSCRYPTO_LOCK_DEFAULT_CONTEXT": "1"])
        XCTAssertEqual(locked.out.trimmingCharacters(in: .whitespacesAndNewlines), "default-context fetch refused", locked.out + locked.err)
        let open = try TestSupport.run(probe, ["default-context-fetch"], removingEnvironment: ["FIPSCRYPTO_LOCK_DEFAULT_CONTEXT"])
        XCTAssertEqual(open.out.trimmingCharacters(in: .whitespacesAndNewlines), "default-context fetch served",
                       "without the lock the host's own OpenSSL use is untouched: \(open.out)")
    }

    func testInjectedSelfTestFailureRefusesEveryService() throws {
        let r = try TestSupport.run(probe, ["refusal"], environment: fips.merging(["FIPSCRYPTO_FAIL_SELFTEST": "AES-256-GCM"]) { $1 })
        let lines = r.out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "load selfTestFailed")
        XCTAssertEqual(lines.count, 13, r.out)
        for line in lines.dropFirst() {
            XCTAssertTrue(line.hasSuffix(" moduleInErrorState"), "served after a failed self-test: \(line)")
        }
    }

    func testEveryNamedSelfTestCanBeMadeToFailAndClosesTheGate() throws {
        let list = try TestSupport.fipsctl(["selftest", "--list"])
        XCTAssertEqual(list.status, 0)
        let names = list.out.split(separator: "\n").map(String.init)
        XCTAssertTrue(names.contains("AES-256-GCM") && names.contains("HKDF-SHA-256") && names.contains("all"), list.out)
        for name in names {
            let r = try TestSupport.fipsctl(["selftest"], environment: fips.merging(["FIPSCRYPTO_FAIL_SELFTEST": name]) { $1 })
            XCTAssertEqual(r.status, 3, "FIPSCRYPTO_FAIL_SELFTEST=\(name) must close the gate")
            XCTAssertTrue(r.out.contains("RESULT: FAIL"), r.out)
            XCTAssertTrue(r.out.contains("FAIL "), r.out)
        }
    }

    func testSelftestPassesAndListsEveryTest() throws {
        for mode in ["fips", "development"] {
            let r = try TestSupport.fipsctl(["selftest"], environment: ["FIPSCRYPTO_MODE": mode], removingEnvironment: ["FIPSCRYPTO_FAIL_SELFTEST"])
            XCTAssertEqual(r.status, 0, r.out + r.err)
            XCTAssertTrue(r.out.contains("RESULT: PASS"))
            for name in ["SHA-256", "SHA-384", "SHA-512", "HMAC-SHA-256", "HKDF-SHA-256", "AES-256-GCM-encrypt",
                         "AES-256-GCM-decrypt", "AES-256-GCM-tag-reject", "AES-256-GCM-seal-open", "DRBG"] {
                XCTAssertTrue(r.out.contains("PASS \(name) "), "\(mode): \(name) not listed:\n\(r.out)")
            }
            if mode == "development" { XCTAssertTrue(r.out.contains("NOT FIPS")) }
        }
    }

    func testUnknownFaultInjectionNameIsRefusedNotIgnored() throws {
        let r = try TestSupport.fipsctl(["selftest"], environment: fips.merging(["FIPSCRYPTO_FAIL_SELFTEST": "AES-GMC"]) { $1 })
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.err.contains("unknown self-tests: AES-GMC"), r.err)
    }

    func testUnknownModeIsRefused() throws {
        let r = try TestSupport.fipsctl(["selftest"], environment: ["FIPSCRYPTO_MODE": "fips-ish"])
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.err.contains("FIPSCRYPTO_MODE=fips-ish names no mode"), r.err)
    }

    func testMissingConfigurationSaysWhatToRun() throws {
        let r = try TestSupport.fipsctl(["selftest"], environment: fips.merging(["FIPSCRYPTO_OPENSSL_CONF": "/nonexistent/openssl-fips.cnf"]) { $1 })
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.err.contains("providerUnavailable"), r.err)
        XCTAssertTrue(r.err.contains("/nonexistent/openssl-fips.cnf"), r.err)
        XCTAssertTrue(r.err.contains("scripts/install-fips-provider"), r.err)
    }

    func testNoProviderAnywhereListsWhatWasSearchedAndNeverFallsBack() throws {
        // A copy of fipsctl outside the project finds no .fips/ folder; Debian 12 has no system provider.
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("fipsctl")
        try FileManager.default.copyItem(atPath: TestSupport.fipsctl, toPath: copy.path)
        let r = try TestSupport.run(copy.path, ["status", "--json"], environment: fips, removingEnvironment: ["FIPSCRYPTO_OPENSSL_CONF"],
                                    currentDirectory: dir)
        let systemModule = "/usr/lib/x86_64-linux-gnu/ossl-modules/fips.so"
        try XCTSkipIf(FileManager.default.fileExists(atPath: systemModule), "this machine has a system FIPS provider")
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.err.contains("no FIPS provider found"), r.err)
        XCTAssertTrue(r.err.contains(dir.appendingPathComponent(".fips/openssl-fips.cnf").path), r.err)
        XCTAssertTrue(r.out.contains("\"isFIPS\" : false"), r.out)
        XCTAssertTrue(r.out.contains("\"state\" : \"failed\""), "no silent fallback to another provider: \(r.out)")
    }

    /// A `.fips/openssl-fips.cnf` found by searching that another user could have written (writable by others, or
    /// owned by another uid) is ignored and reported, never loaded: it names the provider module to run.
    func testSearchedConfigurationWritableByOthersIsIgnored() throws {
        try XCTSkipIf(ProcessInfo.processInfo.environment["FIPSCRYPTO_OPENSSL_CONF"] != nil, "uses the project's .fips/")
        let systemModule = "/usr/lib/x86_64-linux-gnu/ossl-modules/fips.so"
        try XCTSkipIf(FileManager.default.fileExists(atPath: systemModule), "this machine has a system FIPS provider")
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("fipsctl")
        try FileManager.default.copyItem(atPath: TestSupport.fipsctl, toPath: copy.path)
        let planted = dir.appendingPathComponent(".fips")
        try FileManager.default.createDirectory(at: planted, withIntermediateDirectories: true)
        let config = planted.appendingPathComponent("openssl-fips.cnf")
        // A working configuration (the project's), so only the trust check can stop it from loading.
        try FileManager.default.copyItem(at: TestSupport.packageRoot.appendingPathComponent(".fips/openssl-fips.cnf"), to: config)
        func status() throws -> TestSupport.ProcessResult {
            try TestSupport.run(copy.path, ["status", "--json"], environment: fips, removingEnvironment: ["FIPSCRYPTO_OPENSSL_CONF"],
                                currentDirectory: dir)
        }
        XCTAssertEqual(chmod(planted.path, 0o700), 0)
        XCTAssertEqual(chmod(config.path, 0o644), 0)
        XCTAssertEqual(try status().status, 0, "a private configuration of this user is used")
        XCTAssertEqual(chmod(config.path, 0o666), 0)
        var r = try status()
        XCTAssertEqual(r.status, 3, r.out)
        XCTAssertTrue(r.err.contains("\(config.path) (ignored: \(config.path) is writable by group or others)"), r.err)
        XCTAssertEqual(chmod(config.path, 0o644), 0)
        XCTAssertEqual(chmod(planted.path, 0o777), 0)
        r = try status()
        XCTAssertEqual(r.status, 3, r.out)
        XCTAssertTrue(r.err.contains("is writable by group or others"), r.err)
        XCTAssertEqual(chmod(planted.path, 0o700), 0)
        if geteuid() == 0 {
            XCTAssertEqual(chown(config.path, 65534, 65534), 0)
            r = try status()
            XCTAssertEqual(r.status, 3, r.out)
            XCTAssertTrue(r.err.contains("is owned by uid 65534"), r.err)
        }
    }

    /// A fipsmodule.cnf written for another fips.so (or another machine) fails the integrity check with a message
    /// naming the file and the command that fixes it.
    func testStaleModuleConfigurationFailsIntegrityCheckWithAFix() throws {
        try XCTSkipIf(ProcessInfo.processInfo.environment["FIPSCRYPTO_OPENSSL_CONF"] != nil, "uses the project's .fips/")
        let fipsDir = TestSupport.packageRoot.appendingPathComponent(".fips")
        let moduleConfig = try String(contentsOf: fipsDir.appendingPathComponent("fipsmodule.cnf"), encoding: .utf8)
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Flip one hex digit of the module MAC, as a copy from another build would differ.
        let tampered = moduleConfig.split(separator: "\n").map { line -> String in
            guard line.hasPrefix("module-mac") else { return String(line) }
            var l = String(line); let last = l.removeLast(); l.append(last == "0" ? "1" : "0"); return l
        }.joined(separator: "\n")
        let staleModuleConfig = dir.appendingPathComponent("fipsmodule.cnf")
        try tampered.write(to: staleModuleConfig, atomically: true, encoding: .utf8)
        let main = try String(contentsOf: fipsDir.appendingPathComponent("openssl-fips.cnf"), encoding: .utf8)
            .replacingOccurrences(of: fipsDir.appendingPathComponent("fipsmodule.cnf").path, with: staleModuleConfig.path)
        let config = dir.appendingPathComponent("openssl-fips.cnf")
        try main.write(to: config, atomically: true, encoding: .utf8)
        let r = try TestSupport.fipsctl(["selftest"], environment: fips.merging(["FIPSCRYPTO_OPENSSL_CONF": config.path]) { $1 })
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.err.contains("integrityCheckFailed"), r.err)
        XCTAssertTrue(r.err.contains(staleModuleConfig.path), r.err)
        XCTAssertTrue(r.err.contains("openssl fipsinstall"), r.err)
    }

    func testMalformedConfigurationIsAClearError() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("broken.cnf")
        try "openssl_conf = openssl_init\n[openssl_init\nproviders = nowhere\n".write(to: config, atomically: true, encoding: .utf8)
        let r = try TestSupport.fipsctl(["selftest"], environment: fips.merging(["FIPSCRYPTO_OPENSSL_CONF": config.path]) { $1 })
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.err.contains("configurationInvalid"), r.err)
        XCTAssertTrue(r.err.contains(config.path), r.err)
        // A configuration that parses but activates no fips provider is refused too (no fallback).
        let empty = dir.appendingPathComponent("empty.cnf")
        try "# nothing here\n".write(to: empty, atomically: true, encoding: .utf8)
        let r2 = try TestSupport.fipsctl(["selftest"], environment: fips.merging(["FIPSCRYPTO_OPENSSL_CONF": empty.path]) { $1 })
        XCTAssertEqual(r2.status, 3)
        XCTAssertTrue(r2.err.contains("did not activate the fips provider"), r2.err)
        // A directory where a file should be.
        let r3 = try TestSupport.fipsctl(["selftest"], environment: fips.merging(["FIPSCRYPTO_OPENSSL_CONF": dir.path]) { $1 })
        XCTAssertEqual(r3.status, 3)
        XCTAssertTrue(r3.err.contains(dir.path), r3.err)
    }

    func testAbortPolicyAbortsTheProcess() throws {
        let r = try TestSupport.fipsctl(["selftest"], environment: fips.merging(["FIPSCRYPTO_FAIL_SELFTEST": "DRBG", "FIPSCRYPTO_FAILURE_POLICY": "abort"]) { $1 })
        XCTAssertEqual(r.status, 128 + 6, "SIGABRT expected, got \(r.status): \(r.err)")
        XCTAssertTrue(r.err.contains("fatal module failure"), r.err)
    }

    func testStatusJSONAndStrictDefaultContext() throws {
        let r = try TestSupport.fipsctl(["status", "--json"], environment: ["FIPSCRYPTO_LOCK_DEFAULT_CONTEXT": "1"])
        XCTAssertEqual(r.status, 0, r.err)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        let status = try XCTUnwrap(json["status"] as? [String: Any])
        XCTAssertEqual(status["state"] as? String, "operational")
        XCTAssertEqual(status["defaultContextLocked"] as? Bool, true)
        XCTAssertNotNil(status["approvedServices"])
        if !TestSupport.isDevelopmentMode {
            let unreachable = try XCTUnwrap(json["nonApprovedUnreachable"] as? [String: Bool])
            XCTAssertEqual(unreachable["MD5"], true)
            XCTAssertFalse(unreachable.values.contains(false), "\(unreachable)")
        }
        let human = try TestSupport.fipsctl(["status"])
        XCTAssertTrue(human.out.contains("approved services:"))
        XCTAssertTrue(human.out.contains("self-tests (this library):"))
    }
}
