import Foundation
import FIPSCrypto

/// One audit event: what happened, to what, by whom, from where, and how it ended (NIST SP 800-53 AU-3).
///
/// The log adds the rest of each record: the time (RFC 3339, UTC, milliseconds), host, process id, service, the
/// monotonic sequence number and the chained MAC. Metadata keys named like secrets are redacted when the event is
/// written (see ``AuditRedaction``).
public struct AuditEvent: Sendable, Hashable {
    /// The category; the library's own set (`SecurityEvent.Category`) is reused so both kinds of events share it.
    public typealias Category = SecurityEvent.Category
    /// The outcome: success, failure or unknown (ECS `event.outcome`).
    public typealias Outcome = SecurityEvent.Outcome

    /// What kind of event (ECS `event.category`).
    public var category: Category
    /// The action in kebab-case, e.g. `"login"`, `"scan-started"` (ECS `event.action`).
    public var action: String
    /// How it ended (ECS `event.outcome`).
    public var outcome: Outcome
    /// Who did it: a user or service name (ECS `user.name`).
    public var actor: String?
    /// Where the request came from: an IP address (ECS `source.ip`).
    public var sourceAddress: String?
    /// What it was done to: a resource, setting, key or file name (`fipsaudit.target`).
    public var target: String?
    /// Why, for failures and refusals; never a secret (ECS `event.reason`).
    public var reason: String?
    /// Ties events of one request or job together (ECS `trace.id`).
    public var correlationID: String?
    /// Extra facts with dotted keys (ECS `labels`); keys named like secrets are redacted.
    public var metadata: [String: String]
    /// A constant human message (ECS `message`); defaults to "CATEGORY ACTION OUTCOME".
    public var message: String?

    /// Creates an event.
    /// - Parameters:
    ///   - category: What kind of event.
    ///   - action: The action, kebab-case.
    ///   - outcome: How it ended.
    ///   - actor: Who did it.
    ///   - sourceAddress: The client's IP address.
    ///   - target: What it was done to.
    ///   - reason: Why (failures, refusals); never a secret.
    ///   - correlationID: The request or job identifier.
    ///   - metadata: Extra facts; secret-named keys are redacted.
    ///   - message: A constant human message.
    public init(category: Category, action: String, outcome: Outcome, actor: String? = nil, sourceAddress: String? = nil,
                target: String? = nil, reason: String? = nil, correlationID: String? = nil, metadata: [String: String] = [:],
                message: String? = nil) {
        self.category = category; self.action = action; self.outcome = outcome; self.actor = actor
        self.sourceAddress = sourceAddress; self.target = target; self.reason = reason; self.correlationID = correlationID
        self.metadata = metadata; self.message = message
    }

    /// An audit event from one of the library's own security events.
    /// - Parameter event: The library's event.
    public init(_ event: SecurityEvent) {
        self.init(category: event.category, action: event.action, outcome: event.outcome, reason: event.reason,
                  metadata: event.metadata)
    }
}

/// Which metadata keys are treated as secrets, and how their values are replaced.
///
/// A key is split into words at `.`, `_`, `-`, spaces and lower-to-upper case changes. It is secret when any word is
/// in ``secretWords`` (or is a compound such as `apikey`), unless its last word only describes the secret
/// (``descriptorWords``: `key.version`, `key.id`, `token.expiry` are kept). The value becomes `[REDACTED]`.
public enum AuditRedaction {
    /// The replacement for a redacted value.
    public static let placeholder = "[REDACTED]"

    /// Words that mark a key as secret.
    public static let secretWords: Set<String> = [
        "password", "passwd", "pwd", "passphrase", "secret", "secrets", "token", "tokens", "key", "keys", "apikey",
        "privatekey", "authorization", "cookie", "cookies", "setcookie", "credential", "credentials", "pin",
        "otp", "totp", "session", "sessionid", "bearer", "jwt", "seed", "salt", "mnemonic", "signature", "dsn",
        "connectionstring", "passcode", "private", "ikm", "psk",
    ]
    /// Last words that describe a secret without being one (`key.version`, `token.id`).
    public static let descriptorWords: Set<String> = [
        "version", "versions", "id", "ids", "name", "names", "label", "purpose", "algorithm", "alg", "size", "bits",
        "length", "fingerprint", "count", "type", "kind", "expiry", "expires", "created", "rotated", "status", "state",
        "fields", "usage", "uses", "limit", "policy", "scheme", "format", "method", "path", "file", "url",
    ]
    /// Compounds that are secret wherever they appear in a key, whatever follows (`sessionId`, `x-api-key`).
    public static let secretCompounds = ["password", "passphrase", "secret", "apikey", "privatekey", "accesskey",
                                         "secretkey", "authtoken", "sessionid", "credential", "cookie", "authorization"]

    /// Whether a key names a secret.
    /// - Parameter key: The metadata key or setting name.
    /// - Returns: `true` if its value must not be logged.
    public static func isSecret(_ key: String) -> Bool {
        let words = splitWords(key)
        guard !words.isEmpty else { return false }
        let joined = Array(words.joined().utf8)
        if secretCompounds.contains(where: { joined.firstRange(of: Array($0.utf8)) != nil }) { return true }
        if words.count > 1, let last = words.last, descriptorWords.contains(last) { return false }
        return words.contains(where: { secretWords.contains($0) })
    }

    /// `metadata` with secret-named values replaced by ``placeholder``.
    /// - Parameter metadata: The metadata.
    /// - Returns: The redacted metadata.
    public static func redact(_ metadata: [String: String]) -> [String: String] {
        var out = metadata
        for k in metadata.keys where isSecret(k) { out[k] = placeholder }
        return out
    }

    static func splitWords(_ key: String) -> [String] {
        var words: [String] = []
        var current = ""
        var previousLower = false
        for ch in key {
            if ch == "." || ch == "_" || ch == "-" || ch == " " || ch == "/" || ch == ":" {
                if !current.isEmpty { words.append(current.lowercased()); current = "" }
                previousLower = false
                continue
            }
            if ch.isUppercase && previousLower && !current.isEmpty {
                words.append(current.lowercased()); current = ""
            }
            current.append(ch)
            previousLower = ch.isLowercase || ch.isNumber
        }
        if !current.isEmpty { words.append(current.lowercased()) }
        return words
    }
}
