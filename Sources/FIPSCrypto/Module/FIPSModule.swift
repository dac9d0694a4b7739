import Foundation
import Synchronization

/// The cryptographic module: one OpenSSL library context with the FIPS provider, gated by self-tests.
///
/// Call ``load(_:)`` once at start-up and handle its error to gate a service's start on the self-tests. Every
/// API of this library checks the module first: if nothing loaded it, the first use loads it with
/// ``Configuration/fromEnvironment()``; if it failed, every call throws ``FIPSError/Code/moduleInErrorState``
/// for the life of the process (fail closed, there is no way back).
///
/// ```swift
/// import FIPSCrypto
/// let status = try FIPSModule.load()          // throws if the provider or a self-test fails
/// let key = SymmetricKey(size: .bits256)
/// let box = try AES.GCM.seal(Data("secret".utf8), using: key)
/// let plain = try AES.GCM.open(box, using: key)
/// ```
public enum FIPSModule {
    /// How the module is loaded. There are exactly two modes and no silent fallback between them.
    public enum Mode: String, Sendable, Codable, CaseIterable {
        /// The FIPS provider is required; the load fails if it is missing or fails its integrity check.
        case fips
        /// OpenSSL's `default` provider, for development machines without a FIPS provider. The approved-services
        /// policy is still enforced, but the module reports itself everywhere as **not FIPS**.
        case development
    }

    /// What happens when the load or a self-test fails.
    public enum FailurePolicy: String, Sendable, Codable {
        /// Throw the error (the module stays in its error state and refuses every service).
        case throwError
        /// Print the error to standard error and abort the process, as Go's and AWS-LC's modules do.
        case abortProcess
    }

    /// How to load the module.
    public struct Configuration: Sendable, Hashable {
        /// The mode; ``Mode/fips`` unless chosen otherwise.
        public var mode: Mode
        /// An OpenSSL configuration file that activates `fips` and `base`; `nil` searches (see ``searchOrder``).
        public var configFile: String?
        /// What a failure does.
        public var failurePolicy: FailurePolicy
        /// Load OpenSSL's `null` provider into the process's *default* library context, so any stray fetch
        /// anywhere in the process (outside this module) fails. Opt-in: it affects the whole process.
        public var lockDefaultContext: Bool
        /// Test names whose check is forced to fail (fault injection; can only make tests fail).
        public var failSelfTests: Set<String>

        /// Creates a configuration.
        /// - Parameters:
        ///   - mode: ``Mode/fips`` (default) or ``Mode/development``.
        ///   - configFile: An explicit OpenSSL configuration, or `nil` to search.
        ///   - failurePolicy: Throw (default) or abort on failure.
        ///   - lockDefaultContext: Lock OpenSSL's default context with the `null` provider.
        ///   - failSelfTests: Self-test names to force to fail (fault injection).
        public init(mode: Mode = .fips, configFile: String? = nil, failurePolicy: FailurePolicy = .throwError,
                    lockDefaultContext: Bool = false, failSelfTests: Set<String> = []) {
            self.mode = mode
            self.configFile = configFile
            self.failurePolicy = failurePolicy
            self.lockDefaultContext = lockDefaultContext
            self.failSelfTests = failSelfTests
        }

        /// The configuration from the environment:
        /// `FIPSCRYPTO_MODE` (`fips` | `development`, default `fips`), `FIPSCRYPTO_OPENSSL_CONF`,
        /// `FIPSCRYPTO_FAILURE_POLICY` (`throw` | `abort`), `FIPSCRYPTO_LOCK_DEFAULT_CONTEXT=1`,
        /// `FIPSCRYPTO_FAIL_SELFTEST=name[,name...]`.
        ///
        /// An unknown `FIPSCRYPTO_MODE` value is not ignored: it yields ``Mode/fips``, and ``load(_:)`` then
        /// reports the bad value.
        public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Configuration {
            var c = Configuration()
            if let m = environment["FIPSCRYPTO_MODE"], !m.isEmpty { c.mode = Mode(rawValue: m.lowercased()) ?? .fips; c.invalidMode = Mode(rawValue: m.lowercased()) == nil ? m : nil }
            if let f = environment["FIPSCRYPTO_OPENSSL_CONF"], !f.isEmpty { c.configFile = f }
            if environment["FIPSCRYPTO_FAILURE_POLICY"]?.lowercased() == "abort" { c.failurePolicy = .abortProcess }
            if environment["FIPSCRYPTO_LOCK_DEFAULT_CONTEXT"] == "1" { c.lockDefaultContext = true }
            if let names = environment["FIPSCRYPTO_FAIL_SELFTEST"], !names.isEmpty {
                c.failSelfTests = Set(names.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            }
            return c
        }

        /// A `FIPSCRYPTO_MODE` value that named no mode; ``load(_:)`` refuses it.
        var invalidMode: String? = nil

        /// The default configuration: ``fromEnvironment(_:)``.
        public static var `default`: Configuration { fromEnvironment() }
    }

    /// Where the module looks for a FIPS provider configuration, in order, when ``Configuration/configFile``
    /// is `nil`:
    /// 1. `FIPSCRYPTO_OPENSSL_CONF` (through ``Configuration/fromEnvironment(_:)``);
    /// 2. `.fips/openssl-fips.cnf` in the current directory or any parent, then beside the executable or any
    ///    parent (written by `scripts/install-fips-provider`);
    /// 3. the system's provider: `fips.so` in OpenSSL's modules directory, activated through the system's
    ///    OpenSSL configuration (RHEL 9, Ubuntu Pro).
    public static let searchOrder: [String] = [
        "FIPSCRYPTO_OPENSSL_CONF",
        ".fips/openssl-fips.cnf in the working directory and its parents",
        ".fips/openssl-fips.cnf beside the executable and its parents",
        "the system provider: <MODULESDIR>/fips.so through the system OpenSSL configuration",
    ]

    /// Loads the module: providers, fetches, the provider's self-tests and this library's known-answer tests.
    ///
    /// Idempotent: a second call returns the status of the first load (its configuration is not re-read).
    /// - Parameter configuration: How to load; the environment's by default.
    /// - Returns: The module's status.
    /// - Throws: ``FIPSError`` with ``FIPSError/Code/providerUnavailable``, ``FIPSError/Code/integrityCheckFailed``,
    ///   ``FIPSError/Code/configurationInvalid``, ``FIPSError/Code/selfTestFailed``, or
    ///   ``FIPSError/Code/moduleInErrorState`` if an earlier load failed.
    @discardableResult
    public static func load(_ configuration: Configuration = .default) throws -> ModuleStatus {
        _ = try ModuleRuntime.ensureLoaded(configuration)
        return status
    }

    /// A snapshot of the module's state; never throws and never loads the module.
    public static var status: ModuleStatus { ModuleRuntime.status() }

    /// Whether the module is operational (loaded and its self-tests passed).
    public static var isOperational: Bool { ModuleRuntime.isOperational }

    /// Runs this library's known-answer tests again, now (for long-running services, e.g. daily).
    ///
    /// A failure moves the module into its permanent error state.
    /// - Returns: Each test's result.
    /// - Throws: ``FIPSError/Code/selfTestFailed`` (and the module fails closed), or
    ///   ``FIPSError/Code/moduleInErrorState`` if it had already failed.
    @discardableResult
    public static func runSelfTests() throws -> [SelfTestResult] {
        try ModuleRuntime.rerunSelfTests()
    }

    /// Asks the provider to run its own self-tests now (`OSSL_PROVIDER_self_test`).
    /// - Returns: The provider's self-test events seen during this run.
    /// - Throws: ``FIPSError/Code/selfTestFailed`` (and the module fails closed).
    @discardableResult
    public static func runProviderSelfTests() throws -> [ProviderSelfTestEvent] {
        try ModuleRuntime.rerunProviderSelfTests()
    }
}

/// The module's process-wide state machine: `uninitialized -> selfTesting -> operational | failed`.
///
/// The hot path is one acquiring atomic load; loading and failing take a mutex.
enum ModuleRuntime {
    private static let phase = Atomic<UInt8>(0) // 0 uninitialized, 1 selfTesting, 2 operational, 3 failed
    nonisolated(unsafe) private static var operationalCore: ModuleCore? // written once under `record`, before phase = 2
    private static let record = Mutex<Record>(Record())

    struct Record: Sendable {
        var core: ModuleCore?
        var configuration: FIPSModule.Configuration?
        var selfTests: [SelfTestResult] = []
        var loadDuration: Double?
        var failure: FIPSError?
    }

    static var isOperational: Bool { phase.load(ordering: .acquiring) == 2 }

    /// The operational core, loading the module on first use; throws if the module failed.
    @inline(__always)
    static func operational() throws -> ModuleCore {
        if phase.load(ordering: .acquiring) == 2, let core = operationalCore { return core }
        return try ensureLoaded(.default)
    }

    static func ensureLoaded(_ configuration: FIPSModule.Configuration) throws -> ModuleCore {
        var loadedNow = false
        let result: Result<ModuleCore, FIPSError> = record.withLock { rec in
            switch phase.load(ordering: .acquiring) {
            case 2: return .success(rec.core!)
            case 3: return .failure(refusal(rec.failure))
            default: break
            }
            loadedNow = true
            phase.store(1, ordering: .releasing)
            let start = ContinuousClock.now
            do {
                if let bad = configuration.invalidMode {
                    throw FIPSError(.configurationInvalid,
                                    "FIPSCRYPTO_MODE=\(bad) names no mode; use 'fips' (the default) or 'development'")
                }
                let unknown = configuration.failSelfTests.subtracting(FIPSModule.selfTestNames)
                if !unknown.isEmpty {
                    throw FIPSError(.configurationInvalid,
                                    "FIPSCRYPTO_FAIL_SELFTEST names unknown self-tests: \(unknown.sorted().joined(separator: ", ")); known: \(FIPSModule.selfTestNames.joined(separator: ", "))")
                }
                let core = try ModuleCore.open(configuration)
                let tests = SelfTests.run(core: core, failing: configuration.failSelfTests)
                rec.core = core
                rec.configuration = configuration
                rec.selfTests = tests
                rec.loadDuration = (ContinuousClock.now - start).seconds
                if let failed = tests.first(where: { !$0.passed }) {
                    throw FIPSError(.selfTestFailed, "self-test \(failed.name) failed: \(failed.failure ?? "mismatch"); the module refuses every service")
                }
                operationalCore = core
                phase.store(2, ordering: .releasing)
                return .success(core)
            } catch {
                let e = (error as? FIPSError) ?? FIPSError(.openSSLFailure, "\(error)")
                rec.failure = e
                rec.loadDuration = (ContinuousClock.now - start).seconds
                phase.store(3, ordering: .releasing)
                return .failure(e)
            }
        }
        switch result {
        case .success(let core):
            if loadedNow { announceLoad(succeeded: nil) }
            return core
        case .failure(let error):
            if loadedNow { announceLoad(succeeded: error) }
            if configuration.failurePolicy == .abortProcess { abortWith(error) }
            throw error
        }
    }

    /// Raises the load's security events (outside the lock, so handlers may read the status).
    private static func announceLoad(succeeded failure: FIPSError?) {
        let s = status()
        var meta = ["module.mode": s.mode?.rawValue ?? "unknown", "module.fips": s.isFIPS ? "true" : "false"]
        if let p = s.provider { meta["provider.name"] = p.reportedName; meta["provider.version"] = p.version }
        if let d = s.loadDuration { meta["module.load_ms"] = String(format: "%.1f", d * 1000) }
        SecurityEvents.emit(SecurityEvent(category: .selfTest, action: failure == nil ? "module-loaded" : "module-load-failed",
                                          outcome: failure == nil ? .success : .failure, reason: failure?.reason, metadata: meta))
        for t in s.selfTests {
            SecurityEvents.emit(SecurityEvent(category: .selfTest, action: "self-test", outcome: t.passed ? .success : .failure,
                                              reason: t.failure, metadata: ["selftest.name": t.name, "selftest.kind": t.kind]))
        }
    }

    private static func refusal(_ original: FIPSError?) -> FIPSError {
        FIPSError(.moduleInErrorState,
                  "the cryptographic module is in its error state and refuses every service: \(original?.reason ?? "unknown failure")",
                  openSSLErrors: original?.openSSLErrors ?? [])
    }

    static func rerunSelfTests() throws -> [SelfTestResult] {
        let core = try operational()
        let policy = record.withLock { $0.configuration?.failurePolicy ?? .throwError }
        let failing = record.withLock { $0.configuration?.failSelfTests ?? [] }
        let tests = SelfTests.run(core: core, failing: failing)
        if let failed = tests.first(where: { !$0.passed }) {
            let e = fail(FIPSError(.selfTestFailed, "self-test \(failed.name) failed on re-run: \(failed.failure ?? "mismatch")"), tests: tests)
            if policy == .abortProcess { abortWith(e) }
            throw e
        }
        record.withLock { $0.selfTests = tests }
        return tests
    }

    static func rerunProviderSelfTests() throws -> [ProviderSelfTestEvent] {
        let core = try operational()
        let before = ProviderSelfTestRecorder.events().count
        do {
            try core.runProviderSelfTest()
        } catch let error as FIPSError {
            throw fail(error, tests: nil)
        }
        return ProviderSelfTestRecorder.summary(of: Array(ProviderSelfTestRecorder.events().dropFirst(before)))
    }

    /// Moves the module into its terminal error state.
    @discardableResult
    static func fail(_ error: FIPSError, tests: [SelfTestResult]?) -> FIPSError {
        record.withLock { rec in
            rec.failure = error
            if let tests { rec.selfTests = tests }
            phase.store(3, ordering: .releasing)
        }
        SecurityEvents.emit(SecurityEvent(category: .selfTest, action: "module-failed", outcome: .failure, reason: error.reason))
        return error
    }

    static func status() -> ModuleStatus {
        record.withLock { rec in
            let state: ModuleStatus.State = switch phase.load(ordering: .acquiring) {
            case 0: .uninitialized
            case 1: .selfTesting
            case 2: .operational
            default: .failed
            }
            let mode = rec.core?.mode ?? rec.configuration?.mode
            return ModuleStatus(
                state: state,
                mode: mode,
                isFIPS: state == .operational && mode == .fips && rec.core?.provider.name == "fips",
                configFile: rec.core?.configFile,
                provider: rec.core?.provider,
                defaultContextLocked: rec.core?.defaultContextLocked ?? false,
                selfTests: rec.selfTests,
                providerSelfTests: ProviderSelfTestRecorder.summary(),
                approvedServices: ApprovedPolicy.services,
                loadDuration: rec.loadDuration,
                failure: rec.failure.map { $0.description })
        }
    }

    private static func abortWith(_ error: FIPSError) -> Never {
        FileHandle.standardError.write(Data("FIPSCrypto: fatal module failure (failure policy: abort): \(error)\n".utf8))
        abort()
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

extension FIPSModule {
    /// The names `FIPSCRYPTO_FAIL_SELFTEST` accepts: each self-test, each family, and `all`.
    public static var selfTestNames: [String] {
        var names = SelfTests.names
        for f in SelfTests.tests.map(\.family) where !names.contains(f) { names.append(f) }
        return names + ["all"]
    }
}
