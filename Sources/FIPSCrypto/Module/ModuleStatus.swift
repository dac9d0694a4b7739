import Foundation

/// The result of one self-test run by this library over its own code paths.
public struct SelfTestResult: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The test's name, as `FIPSCRYPTO_FAIL_SELFTEST` accepts it, e.g. `"AES-256-GCM-encrypt"`.
    public var name: String
    /// The kind of test: `"KAT"` (known answer), `"PCT"` (pair-wise consistency), `"health"`.
    public var kind: String
    /// The service family it covers, e.g. `"AES-256-GCM"`.
    public var family: String
    /// Whether it passed.
    public var passed: Bool
    /// How long it took, in seconds.
    public var duration: Double
    /// What failed, if it failed.
    public var failure: String?

    /// `PASS name (kind, N µs)` or `FAIL name: reason`.
    public var description: String {
        passed ? "PASS \(name) (\(kind), \(String(format: "%.0f", duration * 1e6)) µs)"
               : "FAIL \(name) (\(kind)): \(failure ?? "failed")"
    }
}

/// One event reported by the provider's own self-test callback (`OSSL_SELF_TEST_set_callback`).
public struct ProviderSelfTestEvent: Sendable, Hashable, Codable {
    /// The provider's test type, e.g. `"KAT_Cipher"`, `"Module_Integrity"`, `"Conditional_PCT"`.
    public var type: String
    /// The provider's description, e.g. `"AES_GCM"`.
    public var description: String
    /// The final phase reported: `"Pass"` or `"Fail"` (or `"Start"` if it never finished).
    public var result: String
    /// Seconds between the test's Start and its final phase.
    public var duration: Double
}

/// What the loaded provider says about itself, read at run time with `OSSL_PROVIDER_get_params`.
public struct ProviderInfo: Sendable, Hashable, Codable {
    /// The provider's short name in the library context: `"fips"` (or `"default"` in development mode).
    public var name: String
    /// Its self-reported name, e.g. `"OpenSSL FIPS Provider"`.
    public var reportedName: String
    /// Its version, e.g. `"3.5.9"`.
    public var version: String
    /// Its build information.
    public var buildInfo: String
    /// Whether the provider reports itself active (`status` = 1).
    public var isActive: Bool
    /// The names of the provider parameters it can report (its capabilities, e.g. `"security-checks"`).
    public var gettableParameters: [String]
    /// Whether the AES-GCM cipher exposes the approved-service indicator (`fips-indicator`, 3.4+ providers).
    public var hasApprovedIndicator: Bool
    /// Whether the AES-GCM cipher reports `iv-generated` (3.4+ providers).
    public var reportsGeneratedIV: Bool
    /// The version of the libcrypto the process runs on.
    public var libcryptoVersion: String
}

/// A snapshot of the module: its mode, provider, self-tests and approved services.
public struct ModuleStatus: Sendable, Codable {
    /// The module's life-cycle state.
    public enum State: String, Sendable, Codable {
        /// Nothing has loaded the module yet.
        case uninitialized
        /// Providers are loading and self-tests are running.
        case selfTesting
        /// Self-tests passed; services are available.
        case operational
        /// A load or a self-test failed; every service is refused for the life of the process.
        case failed
    }

    /// The module's state.
    public var state: State
    /// The mode it was loaded in (`nil` before the first load).
    public var mode: FIPSModule.Mode?
    /// `true` only when the FIPS provider serves every algorithm and the self-tests passed.
    public var isFIPS: Bool
    /// The OpenSSL configuration file loaded into the module's library context, if any.
    public var configFile: String?
    /// The provider serving the module's algorithms.
    public var provider: ProviderInfo?
    /// Whether OpenSSL's default library context was locked with the `null` provider.
    public var defaultContextLocked: Bool
    /// This library's own self-tests, in the order they ran.
    public var selfTests: [SelfTestResult]
    /// The provider's own self-test events seen in this process.
    public var providerSelfTests: [ProviderSelfTestEvent]
    /// The approved-services policy table.
    public var approvedServices: [ApprovedService]
    /// How long the load took (providers, fetches and self-tests), in seconds.
    public var loadDuration: Double?
    /// Why the module failed, when it did.
    public var failure: String?
}

