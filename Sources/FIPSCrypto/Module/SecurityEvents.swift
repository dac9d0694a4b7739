import Foundation
import Synchronization

/// A security-relevant event raised by the library itself (module load, self-tests, policy refusals, key and
/// certificate life-cycle, decryption failures), delivered to the handler the host installs — normally the audit
/// log of `FIPSAudit` (`AuditLog.installAsSecurityEventHandler()`).
///
/// Events never carry secrets: metadata values are names, versions, counts and reasons, never key bytes,
/// plaintexts, passphrases or tokens.
public struct SecurityEvent: Sendable, Hashable {
    /// The event's category, an open set (e.g. ``Category/selfTest``).
    public struct Category: Hashable, Sendable, CustomStringConvertible {
        /// The identifier, e.g. `"key-management"`.
        public let identifier: String
        /// Creates a category.
        public init(_ identifier: String) { self.identifier = identifier }
        /// The identifier.
        public var description: String { identifier }
        /// Logins and other authentication.
        public static let authentication = Category("authentication")
        /// Configuration changes.
        public static let configuration = Category("configuration")
        /// Scans started and finished.
        public static let scan = Category("scan")
        /// Access granted or denied to a resource (e.g. a vault secret read).
        public static let access = Category("access")
        /// Key generation, rotation, retirement, destruction.
        public static let keyManagement = Category("key-management")
        /// Certificate generation, installation, rotation.
        public static let certificate = Category("certificate")
        /// Module load and self-test results.
        public static let selfTest = Category("self-test")
        /// Failed decryptions, verifications and other cryptographic failures.
        public static let cryptoFailure = Category("crypto-failure")
        /// Requests refused by the approved-services policy.
        public static let policyRefusal = Category("policy-refusal")
        /// TLS handshake failures and other transport events.
        public static let tls = Category("tls")
    }

    /// The outcome of the action.
    public enum Outcome: String, Sendable, Hashable, Codable {
        /// It succeeded.
        case success
        /// It failed.
        case failure
        /// Unknown.
        case unknown
    }

    /// What kind of event.
    public var category: Category
    /// The action, e.g. `"key-rotated"`, in kebab-case.
    public var action: String
    /// The outcome.
    public var outcome: Outcome
    /// Why, for failures and refusals (no secrets).
    public var reason: String?
    /// Extra facts, with dotted keys (`key.version`, `cert.subject`); never secrets.
    public var metadata: [String: String]

    /// Creates an event.
    public init(category: Category, action: String, outcome: Outcome, reason: String? = nil, metadata: [String: String] = [:]) {
        self.category = category; self.action = action; self.outcome = outcome; self.reason = reason; self.metadata = metadata
    }
}

/// Where the library's own ``SecurityEvent``s go.
public enum SecurityEvents {
    /// A handler receives every event; it must be fast and must not throw (queue, don't block).
    public typealias Handler = @Sendable (SecurityEvent) -> Void

    private static let handlers = Mutex<[UInt64: Handler]>([:])
    private static let nextToken = Atomic<UInt64>(1)

    /// Installs a handler; returns a token for ``removeHandler(_:)``.
    /// - Parameter handler: Called for every event, on the thread that raised it.
    /// - Returns: The handler's token.
    @discardableResult
    public static func addHandler(_ handler: @escaping Handler) -> UInt64 {
        let token = nextToken.wrappingAdd(1, ordering: .relaxed).oldValue
        handlers.withLock { $0[token] = handler }
        return token
    }

    /// Removes a handler.
    /// - Parameter token: The token ``addHandler(_:)`` returned.
    public static func removeHandler(_ token: UInt64) {
        _ = handlers.withLock { $0.removeValue(forKey: token) }
    }

    /// Raises an event (library code and host code alike).
    /// - Parameter event: The event.
    public static func emit(_ event: SecurityEvent) {
        let current = handlers.withLock { Array($0.values) }
        for h in current { h(event) }
    }
}
