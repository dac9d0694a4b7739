import Foundation
import FIPSCrypto

/// Where a certificate (or a chain of them) comes from.
public enum TLSCertificateSource: Sendable, Hashable {
    /// A certificate already loaded.
    case certificate(Certificate)
    /// A PEM file holding one or more certificates, leaf first (read with ``Certificate/chain(fromPEM:)``).
    case file(String)
}

/// Where a private key comes from.
public enum TLSPrivateKeySource: Sendable {
    /// A key already loaded (``SigningPrivateKey``: ECDSA P-256/384/521 or RSA ≥ 2048).
    case privateKey(SigningPrivateKey)
    /// An unencrypted PEM private key file (PKCS#8, SEC1 or PKCS#1), read with ``SigningPrivateKey``. The file must
    /// be a regular file owned by this user and not accessible by group or other (mode 0600 or stricter).
    case file(String)
}

/// The certificates a client trusts to vouch for a server (the system store is never used implicitly).
public enum TLSTrustRoots: Sendable, Hashable {
    /// Trusted CA certificates already loaded.
    case certificates([Certificate])
    /// A PEM file of trusted CA certificates (for example the local CA of `fipsctl serve`, `DIR/ca/ca.pem`).
    case file(String)
}

/// The role of a TLS endpoint.
public enum TLSRole: String, Sendable, Hashable, Codable {
    /// Accepts connections and presents a certificate.
    case server
    /// Connects and verifies the server's certificate and name.
    case client
}

/// The configuration of a TLS endpoint: protocol settings (a ``TLSProfile``) plus its certificates.
///
/// Shaped like swift-nio-ssl's `TLSConfiguration`: made by a factory, then adjusted through typed properties.
///
/// ```swift
/// let server = TLSConfiguration.makeServerConfiguration(
///     certificateChain: [.file("/etc/svc/tls/server.pem")], privateKey: .file("/etc/svc/tls/server.key"))
/// let context = try TLSContext(configuration: server)
/// ```
public struct TLSConfiguration: Sendable {
    /// Server or client.
    public var role: TLSRole
    /// Versions, suites, groups, signature algorithms and options; ``TLSProfile/sp800_52r2`` by default.
    public var profile: TLSProfile
    /// The server's certificate chain, leaf first (empty for a client).
    public var certificateChain: [TLSCertificateSource]
    /// The server's private key (`nil` for a client).
    public var privateKey: TLSPrivateKeySource?
    /// The CA certificates a client trusts (`nil` for a server).
    public var trustRoots: TLSTrustRoots?

    /// A server configuration with the strict SP 800-52r2 profile.
    /// - Parameters:
    ///   - certificateChain: The leaf certificate first, then intermediates (a single file may hold all).
    ///   - privateKey: The leaf's private key.
    /// - Returns: The configuration.
    public static func makeServerConfiguration(certificateChain: [TLSCertificateSource],
                                               privateKey: TLSPrivateKeySource) -> TLSConfiguration {
        TLSConfiguration(role: .server, profile: .sp800_52r2, certificateChain: certificateChain,
                         privateKey: privateKey, trustRoots: nil)
    }

    /// A server configuration with the strict SP 800-52r2 profile serving a ``CertificatePair`` (for example the
    /// one a ``CertificateManager`` keeps).
    /// - Parameter pair: The chain (leaf first) and its key.
    /// - Returns: The configuration.
    public static func makeServerConfiguration(pair: CertificatePair) -> TLSConfiguration {
        makeServerConfiguration(certificateChain: pair.chain.map { .certificate($0) }, privateKey: .privateKey(pair.key))
    }

    /// A client configuration with the strict SP 800-52r2 profile that verifies servers against `trustRoots`
    /// and the host name it connects to.
    /// - Parameter trustRoots: The CA certificates to trust (the system store is never used implicitly).
    /// - Returns: The configuration.
    public static func makeClientConfiguration(trustRoots: TLSTrustRoots) -> TLSConfiguration {
        TLSConfiguration(role: .client, profile: .sp800_52r2, certificateChain: [], privateKey: nil,
                         trustRoots: trustRoots)
    }
}

/// Whether a TLS context is FIPS: the module's provider state and the context's protocol settings in one answer.
///
/// As rustls' `ServerConfig::fips()`: `true` only if the module runs the FIPS provider, operational, *and* the
/// protocol settings are inside SP 800-52r2 (TLS 1.2+, approved suites and groups, Extended Master Secret
/// required). In development mode the profile is the same and ``isFIPS`` is `false`.
public struct TLSFIPSStatus: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The one answer.
    public var isFIPS: Bool
    /// The module's own answer (`ModuleStatus.isFIPS`).
    public var moduleIsFIPS: Bool
    /// The profile's name.
    public var profile: String
    /// The reasons ``isFIPS`` is `false` (empty when it is `true`).
    public var reasons: [String]

    /// `FIPS (SP 800-52r2)` or `NOT FIPS: reasons`.
    public var description: String {
        isFIPS ? "FIPS (\(profile))" : "NOT FIPS: " + reasons.joined(separator: "; ")
    }
}
