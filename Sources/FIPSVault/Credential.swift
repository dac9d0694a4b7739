import Foundation
import FIPSCrypto

/// What a credential is: an open set of named kinds, compared by identifier.
///
/// The vault stores the kinds it knows (``sshKey``, ``password``, ``apiKey``); ``init(identifier:)`` refuses others.
public struct CredentialKind: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The stable identifier stored in the database and bound into the secret's associated data, e.g. `"ssh-key"`.
    public let identifier: String

    private init(uncheckedIdentifier: String) { self.identifier = uncheckedIdentifier }

    /// An SSH private key (PEM or OpenSSH format), with an optional passphrase, username and host.
    public static let sshKey = CredentialKind(uncheckedIdentifier: "ssh-key")
    /// A password, with an optional username and host.
    public static let password = CredentialKind(uncheckedIdentifier: "password")
    /// An API key or bearer token.
    public static let apiKey = CredentialKind(uncheckedIdentifier: "api-key")

    /// Every kind this build stores.
    public static let all: [CredentialKind] = [.sshKey, .password, .apiKey]

    /// Looks a kind up by its identifier.
    /// - Parameter identifier: `ssh-key`, `password` or `api-key`.
    /// - Throws: ``FIPSError/Code/invalidCredential`` for any other identifier.
    public init(identifier: String) throws {
        guard let k = CredentialKind.all.first(where: { $0.identifier == identifier }) else {
            throw FIPSError(.invalidCredential, "unknown credential kind '\(identifier.prefix(40))'; expected one of "
                            + CredentialKind.all.map(\.identifier).joined(separator: ", "))
        }
        self = k
    }

    /// Decodes from the identifier string, refusing unknown kinds.
    /// - Parameter decoder: The decoder.
    /// - Throws: A decoding error, or ``FIPSError/Code/invalidCredential``.
    public init(from decoder: any Decoder) throws {
        try self.init(identifier: try decoder.singleValueContainer().decode(String.self))
    }

    /// Encodes the identifier string.
    /// - Parameter encoder: The encoder.
    /// - Throws: An encoding error.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(identifier)
    }

    /// The identifier.
    public var description: String { identifier }
}

/// What the vault keeps in plaintext about a credential: everything except the secret fields.
public struct CredentialMetadata: Hashable, Sendable, Codable {
    /// The row's random, immutable identity (bound into the secret's associated data).
    public var id: String
    /// The unique name, e.g. `"deploy/github"`.
    public var name: String
    /// The kind.
    public var kind: CredentialKind
    /// The account the secret belongs to (SSH keys and passwords), if given.
    public var username: String?
    /// The host the secret is for (SSH keys and passwords), if given.
    public var host: String?
    /// Free-form `key=value` labels (not secret).
    public var labels: [String: String]
    /// When the credential was first stored.
    public var createdAt: Date
    /// When the credential's secret or name last changed (rotation does not count).
    public var updatedAt: Date
    /// The keyring version that sealed the secret fields.
    public var keyVersion: Int
    /// Whether the credential has a sealed passphrase (SSH keys).
    public var hasPassphrase: Bool

    /// Creates metadata (the vault creates these; public for tests and tools).
    /// - Parameters:
    ///   - id: The row identity.
    ///   - name: The unique name.
    ///   - kind: The kind.
    ///   - username: The account, if any.
    ///   - host: The host, if any.
    ///   - labels: Labels.
    ///   - createdAt: Creation time.
    ///   - updatedAt: Last change time.
    ///   - keyVersion: The sealing key version.
    ///   - hasPassphrase: Whether a passphrase is stored.
    public init(id: String, name: String, kind: CredentialKind, username: String?, host: String?, labels: [String: String],
                createdAt: Date, updatedAt: Date, keyVersion: Int, hasPassphrase: Bool) {
        self.id = id; self.name = name; self.kind = kind; self.username = username; self.host = host
        self.labels = labels; self.createdAt = createdAt; self.updatedAt = updatedAt
        self.keyVersion = keyVersion; self.hasPassphrase = hasPassphrase
    }
}

/// A credential with its secret fields opened: handle with care and ``wipe()`` when done.
///
/// `description` is redacted. Prefer ``CredentialVault/withCredential(named:_:)``, which wipes for you.
public struct Credential: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The plaintext metadata.
    public var metadata: CredentialMetadata
    /// The secret: the private key, password or token.
    public var secret: Data
    /// The SSH key's passphrase, if one is stored.
    public var passphrase: Data?

    /// Creates a credential value.
    /// - Parameters:
    ///   - metadata: The metadata.
    ///   - secret: The secret.
    ///   - passphrase: The passphrase, if any.
    public init(metadata: CredentialMetadata, secret: Data, passphrase: Data?) {
        self.metadata = metadata; self.secret = secret; self.passphrase = passphrase
    }

    /// Overwrites the secret fields with zeros and empties them (only this value's buffers: see the discussion of
    /// copies in ``Credential``).
    public mutating func wipe() {
        FIPSVault.zeroize(&secret)
        FIPSVault.zeroize(&passphrase)
    }

    /// `Credential(name, kind, <redacted>)`.
    public var description: String { "Credential(\(metadata.name), \(metadata.kind), <redacted>)" }
    /// Same as ``description``.
    public var debugDescription: String { description }
}

/// Progress of ``CredentialVault/rotate(batchSize:progress:)``, reported after each committed batch.
public struct RotationProgress: Sendable, Hashable, Codable {
    /// The keyring's primary version that rows are being re-sealed under.
    public var targetVersion: Int
    /// Rows re-sealed by this call so far.
    public var rotated: Int
    /// Rows still sealed under another version.
    public var remaining: Int
    /// Batches committed by this call so far.
    public var batches: Int
}

/// A vault-wide check: which rows open and which do not.
public struct VerificationReport: Sendable, Hashable, Codable {
    /// Rows whose every secret field opened.
    public var opened: Int
    /// Rows that failed, with the reason (never a secret).
    public var failures: [Failure]
    /// Rows per sealing key version.
    public var keyVersions: [Int: Int]

    /// One row that did not open.
    public struct Failure: Sendable, Hashable, Codable {
        /// The credential's name.
        public var name: String
        /// Its key version.
        public var keyVersion: Int
        /// Why (the error code and reason).
        public var reason: String
    }

    /// Whether every row opened.
    public var isClean: Bool { failures.isEmpty }
}
