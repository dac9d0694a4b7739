import Foundation
import FIPSCrypto

/// `fipsctl status` and `fipsctl selftest`: the module's state, made for people and for start-up gates.
enum ModuleCommands {
    /// Algorithms that must be unreachable in the module's library context (shown by `status`).
    static let nonApprovedProbe = ["MD5", "MD4", "RIPEMD160", "ChaCha20-Poly1305", "DES-CBC", "RC4", "BF-CBC", "SM4-CBC"]

    static let status = Command(
        name: "status",
        summary: "print the module's status: mode, provider, self-tests, approved services",
        help: """
        NAME
            fipsctl status — print the cryptographic module's status

        SYNOPSIS
            fipsctl status [--json] [--verbose]

        DESCRIPTION
            Loads the module (as FIPSCRYPTO_MODE and FIPSCRYPTO_OPENSSL_CONF say) and prints its mode, whether it
            is FIPS, the provider's name, version and capabilities, the configuration file, every self-test with its
            duration, the provider's own self-tests, the approved-services policy table, and a probe showing that
            non-approved algorithms (MD5, ChaCha20-Poly1305, DES, RC4, ...) cannot be fetched.

        OPTIONS
            --json      print the status as JSON (stable keys, for machines)
            --verbose   list every provider self-test event, not only the count

        EXIT STATUS
            0 the module is operational; 3 it failed (the status still prints, with the reason)
        """,
        run: { args in
            let json = args.flag("json")
            let verbose = args.flag("verbose")
            try args.finish()
            var loadError: FIPSError? = nil
            do { try FIPSModule.load() } catch let e as FIPSError { loadError = e }
            let s = FIPSModule.status
            var unreachable: [String: Bool] = [:]
            if s.state == .operational {
                for a in nonApprovedProbe { unreachable[a] = !((try? FIPSModule.canFetch(a)) ?? true) }
            }
            if json {
                struct Report: Encodable { let status: ModuleStatus; let nonApprovedUnreachable: [String: Bool] }
                print(try jsonString(Report(status: s, nonApprovedUnreachable: unreachable)))
            } else {
                print(render(s, unreachable: unreachable, verbose: verbose))
            }
            if let loadError { printError("fipsctl status: \(loadError)") }
            return s.state == .operational ? ExitStatus.success : ExitStatus.selfTestFailed
        })

    static let selftest = Command(
        name: "selftest",
        summary: "run the self-tests; exit 0 only if all pass (a service's start-up gate)",
        help: """
        NAME
            fipsctl selftest — run the known-answer self-tests and gate on them

        SYNOPSIS
            fipsctl selftest [--json] [--list]

        DESCRIPTION
            Loads the module: the provider's integrity check and power-on self-tests, OSSL_PROVIDER_self_test, then
            this library's own known-answer tests over its own code paths (SHA-256/384/512, HMAC-SHA-256,
            HKDF-SHA-256, AES-256-GCM encrypt, decrypt and tag rejection, seal/open with a provider IV, DRBG,
            ECDSA pair-wise consistency). Prints each result and exits 0 only if every test passed. Made for
            ExecStartPre= in a systemd unit.

            FIPSCRYPTO_FAIL_SELFTEST=NAME forces the named test (or family, or `all`) to fail, to watch the gate close.

        OPTIONS
            --json   print the results as JSON
            --list   print the names FIPSCRYPTO_FAIL_SELFTEST accepts and exit

        EXIT STATUS
            0 every self-test passed; 3 a self-test failed or the module could not load (fail closed)
        """,
        run: { args in
            let json = args.flag("json")
            let list = args.flag("list")
            try args.finish()
            if list {
                for n in FIPSModule.selfTestNames { print(n) }
                return ExitStatus.success
            }
            var failure: FIPSError? = nil
            do {
                try FIPSModule.load()
                _ = try FIPSModule.runProviderSelfTests()
            } catch let e as FIPSError { failure = e }
            let s = FIPSModule.status
            if json {
                struct Report: Encodable {
                    let passed: Bool; let mode: String?; let isFIPS: Bool; let selfTests: [SelfTestResult]
                    let providerSelfTests: [ProviderSelfTestEvent]; let loadDuration: Double?; let failure: String?
                }
                print(try jsonString(Report(passed: failure == nil && s.state == .operational, mode: s.mode?.rawValue, isFIPS: s.isFIPS,
                                            selfTests: s.selfTests, providerSelfTests: s.providerSelfTests,
                                            loadDuration: s.loadDuration, failure: failure?.description)))
            } else {
                print("module: \(modeLine(s))")
                let p = s.providerSelfTests
                let failed = p.filter { $0.result != "Pass" }
                print("provider self-tests: \(p.count - failed.count)/\(p.count) passed"
                      + (p.isEmpty ? " (the provider reported none in this process)" : ""))
                for f in failed { print("  FAIL \(f.type) \(f.description) (\(f.result))") }
                for t in s.selfTests { print(t.description) }
                if let d = s.loadDuration { print(String(format: "load time: %.1f ms", d * 1000)) }
                print(failure == nil ? "RESULT: PASS — all self-tests passed" : "RESULT: FAIL — the module refuses every service")
            }
            if let failure { printError("fipsctl selftest: \(failure)") }
            return failure == nil ? ExitStatus.success : ExitStatus.selfTestFailed
        })

    static func modeLine(_ s: ModuleStatus) -> String {
        switch (s.mode, s.isFIPS) {
        case (.fips?, true): return "FIPS mode — \(s.provider?.reportedName ?? "fips") \(s.provider?.version ?? "")"
        case (.development?, _): return "DEVELOPMENT mode — NOT FIPS (\(s.provider?.reportedName ?? "default provider") \(s.provider?.version ?? ""))"
        default: return "\(s.state.rawValue) — NOT FIPS"
        }
    }

    static func render(_ s: ModuleStatus, unreachable: [String: Bool], verbose: Bool) -> String {
        var out: [String] = []
        out.append("state:            \(s.state.rawValue)")
        out.append("mode:             \(modeLine(s))")
        if let p = s.provider {
            out.append("provider:         \(p.name) — \(p.reportedName) \(p.version) (build \(p.buildInfo)), \(p.isActive ? "active" : "INACTIVE")")
            out.append("libcrypto:        \(p.libcryptoVersion)")
            out.append("approved indicator (fips-indicator): \(p.hasApprovedIndicator ? "yes" : "no"); iv-generated: \(p.reportsGeneratedIV ? "yes" : "no")")
            out.append("provider parameters: \(p.gettableParameters.joined(separator: ", "))")
        }
        out.append("configuration:    \(s.configFile ?? "(none)")")
        out.append("default context locked (null provider): \(s.defaultContextLocked ? "yes" : "no")")
        if let d = s.loadDuration { out.append(String(format: "load time:        %.1f ms", d * 1000)) }
        if let f = s.failure { out.append("FAILURE:          \(f)") }
        out.append("")
        out.append("self-tests (this library):")
        for t in s.selfTests { out.append("  " + t.description) }
        let p = s.providerSelfTests
        let failed = p.filter { $0.result != "Pass" }
        out.append("provider self-tests: \(p.count - failed.count)/\(p.count) passed")
        for e in (verbose ? p : failed) {
            out.append(String(format: "  %@ %@ %@ (%.0f µs)", e.result, e.type, e.description, e.duration * 1e6))
        }
        if !unreachable.isEmpty {
            out.append("")
            out.append("non-approved algorithms (must be unreachable):")
            for (a, u) in unreachable.sorted(by: { $0.key < $1.key }) {
                out.append("  \(a.padding(toLength: 20, withPad: " ", startingAt: 0)) \(u ? "refused" : "REACHABLE")")
            }
        }
        out.append("")
        out.append("approved services:")
        for a in s.approvedServices { out.append("  " + a.description) }
        return out.joined(separator: "\n")
    }
}
