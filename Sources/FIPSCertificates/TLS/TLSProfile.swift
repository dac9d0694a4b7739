import Foundation

/// A TLS protocol version this library can negotiate. TLS 1.0 and 1.1 are not representable.
public enum TLSVersion: Int, Sendable, Hashable, Codable, Comparable, CaseIterable, CustomStringConvertible {
    /// TLS 1.2 (RFC 5246), with the Extended Master Secret required.
    case tlsv12 = 0x0303
    /// TLS 1.3 (RFC 8446).
    case tlsv13 = 0x0304

    /// `"TLSv1.2"` / `"TLSv1.3"` (OpenSSL's spelling).
    public var description: String { self == .tlsv12 ? "TLSv1.2" : "TLSv1.3" }

    /// Orders versions by protocol number.
    public static func < (lhs: TLSVersion, rhs: TLSVersion) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// An approved TLS cipher suite, named as OpenSSL names it.
///
/// The set holds only SP 800-52r2 suites that OpenSSL's FIPS provider serves: ECDHE key exchange with AES-GCM for
/// TLS 1.2, and the two AES-GCM suites of TLS 1.3. ChaCha20-Poly1305, CBC and static-RSA suites cannot be named.
public struct TLSCipherSuite: Sendable, Hashable, Codable, CustomStringConvertible {
    /// OpenSSL's name, e.g. `"ECDHE-ECDSA-AES256-GCM-SHA384"` or `"TLS_AES_256_GCM_SHA384"`.
    public let openSSLName: String
    /// The protocol version the suite belongs to.
    public let version: TLSVersion

    private init(_ name: String, _ version: TLSVersion) { openSSLName = name; self.version = version }

    /// OpenSSL's name.
    public var description: String { openSSLName }

    /// TLS 1.2: ECDHE, ECDSA, AES-256-GCM, SHA-384.
    public static let ecdheECDSAWithAES256GCMSHA384 = TLSCipherSuite("ECDHE-ECDSA-AES256-GCM-SHA384", .tlsv12)
    /// TLS 1.2: ECDHE, RSA, AES-256-GCM, SHA-384.
    public static let ecdheRSAWithAES256GCMSHA384 = TLSCipherSuite("ECDHE-RSA-AES256-GCM-SHA384", .tlsv12)
    /// TLS 1.2: ECDHE, ECDSA, AES-128-GCM, SHA-256.
    public static let ecdheECDSAWithAES128GCMSHA256 = TLSCipherSuite("ECDHE-ECDSA-AES128-GCM-SHA256", .tlsv12)
    /// TLS 1.2: ECDHE, RSA, AES-128-GCM, SHA-256.
    public static let ecdheRSAWithAES128GCMSHA256 = TLSCipherSuite("ECDHE-RSA-AES128-GCM-SHA256", .tlsv12)
    /// TLS 1.3: AES-256-GCM with SHA-384.
    public static let aes256GCMSHA384 = TLSCipherSuite("TLS_AES_256_GCM_SHA384", .tlsv13)
    /// TLS 1.3: AES-128-GCM with SHA-256.
    public static let aes128GCMSHA256 = TLSCipherSuite("TLS_AES_128_GCM_SHA256", .tlsv13)

    /// Every approved suite, strongest first.
    public static let approved: [TLSCipherSuite] = [
        .ecdheECDSAWithAES256GCMSHA384, .ecdheRSAWithAES256GCMSHA384, .ecdheECDSAWithAES128GCMSHA256,
        .ecdheRSAWithAES128GCMSHA256, .aes256GCMSHA384, .aes128GCMSHA256,
    ]
}

/// An approved key-exchange group (NIST curves; X25519 and X448 are not approved and cannot be named).
public struct TLSGroup: Sendable, Hashable, Codable, CustomStringConvertible {
    /// OpenSSL's group name, e.g. `"P-384"`.
    public let openSSLName: String
    private init(_ name: String) { openSSLName = name }
    /// OpenSSL's name.
    public var description: String { openSSLName }
    /// NIST P-256 (secp256r1).
    public static let p256 = TLSGroup("P-256")
    /// NIST P-384 (secp384r1).
    public static let p384 = TLSGroup("P-384")
    /// NIST P-521 (secp521r1); approved, not in the default profile.
    public static let p521 = TLSGroup("P-521")
    /// Every approved group.
    public static let approved: [TLSGroup] = [.p384, .p256, .p521]
}

/// An approved TLS signature algorithm, in OpenSSL's sigalgs-list spelling (no SHA-1, no PKCS#1 v1.5 with SHA-1).
public struct TLSSignatureAlgorithm: Sendable, Hashable, Codable, CustomStringConvertible {
    /// OpenSSL's name, e.g. `"ECDSA+SHA384"` or `"rsa_pss_rsae_sha256"`.
    public let openSSLName: String
    private init(_ name: String) { openSSLName = name }
    /// OpenSSL's name.
    public var description: String { openSSLName }

    /// ECDSA with SHA-384.
    public static let ecdsaSHA384 = TLSSignatureAlgorithm("ECDSA+SHA384")
    /// ECDSA with SHA-256.
    public static let ecdsaSHA256 = TLSSignatureAlgorithm("ECDSA+SHA256")
    /// ECDSA with SHA-512.
    public static let ecdsaSHA512 = TLSSignatureAlgorithm("ECDSA+SHA512")
    /// RSASSA-PSS (rsaEncryption key) with SHA-384.
    public static let rsaPSSRSAESHA384 = TLSSignatureAlgorithm("rsa_pss_rsae_sha384")
    /// RSASSA-PSS (rsaEncryption key) with SHA-256.
    public static let rsaPSSRSAESHA256 = TLSSignatureAlgorithm("rsa_pss_rsae_sha256")
    /// RSASSA-PSS (rsaEncryption key) with SHA-512.
    public static let rsaPSSRSAESHA512 = TLSSignatureAlgorithm("rsa_pss_rsae_sha512")
    /// RSASSA-PSS (RSASSA-PSS key) with SHA-384.
    public static let rsaPSSPSSSHA384 = TLSSignatureAlgorithm("rsa_pss_pss_sha384")
    /// RSASSA-PSS (RSASSA-PSS key) with SHA-256.
    public static let rsaPSSPSSSHA256 = TLSSignatureAlgorithm("rsa_pss_pss_sha256")
    /// RSASSA-PSS (RSASSA-PSS key) with SHA-512.
    public static let rsaPSSPSSSHA512 = TLSSignatureAlgorithm("rsa_pss_pss_sha512")
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    public static let rsaPKCS1SHA384 = TLSSignatureAlgorithm("RSA+SHA384")
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    public static let rsaPKCS1SHA256 = TLSSignatureAlgorithm("RSA+SHA256")
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    public static let rsaPKCS1SHA512 = TLSSignatureAlgorithm("RSA+SHA512")

    /// Every approved signature algorithm, in the profile's preference order.
    public static let approved: [TLSSignatureAlgorithm] = [
        .ecdsaSHA384, .ecdsaSHA256, .ecdsaSHA512,
        .rsaPSSRSAESHA384, .rsaPSSRSAESHA256, .rsaPSSRSAESHA512,
        .rsaPSSPSSSHA384, .rsaPSSPSSSHA256, .rsaPSSPSSSHA512,
        .rsaPKCS1SHA384, .rsaPKCS1SHA256, .rsaPKCS1SHA512,
    ]
}

/// The protocol settings of a TLS endpoint, in one readable table.
///
/// ``sp800_52r2`` is the strict NIST SP 800-52 Rev. 2 server profile, the default of every ``TLSConfiguration``.
/// A profile can only be narrowed: its types cannot name a non-approved version, suite, group or signature
/// algorithm, and ``TLSContext`` refuses a profile that turns off a required option (Extended Master Secret) or
/// turns on a forbidden one (renegotiation, compression, 0-RTT).
public struct TLSProfile: Sendable, Hashable, Codable {
    /// A short name for status output, e.g. `"SP 800-52r2"`.
    public var name: String
    /// The lowest version accepted.
    public var minimumVersion: TLSVersion
    /// The highest version accepted.
    public var maximumVersion: TLSVersion
    /// TLS 1.2 suites in preference order.
    public var tls12CipherSuites: [TLSCipherSuite]
    /// TLS 1.3 suites in preference order.
    public var tls13CipherSuites: [TLSCipherSuite]
    /// Key-exchange groups in preference order.
    public var groups: [TLSGroup]
    /// Signature algorithms in preference order.
    public var signatureAlgorithms: [TLSSignatureAlgorithm]
    /// The server picks the suite from its own order, not the client's.
    public var serverPreference: Bool
    /// TLS 1.2 renegotiation; must stay `false`.
    public var renegotiation: Bool
    /// TLS-level compression (CRIME); must stay `false`.
    public var compression: Bool
    /// TLS 1.3 0-RTT early data (replayable); must stay `false`.
    public var earlyData: Bool
    /// Refuse TLS 1.2 peers without the Extended Master Secret (RFC 7627; FIPS 140-3 IG D.Q); must stay `true`.
    public var requireExtendedMasterSecret: Bool
    /// Session tickets. Off: a ticket key that never rotates would undo forward secrecy, and a small service
    /// gains little from resumption. With tickets off, the session cache is off too (every connection handshakes).
    public var sessionTickets: Bool

    /// The strict SP 800-52r2 profile (the values of the project's transport reference).
    ///
    /// | setting | value |
    /// | --- | --- |
    /// | versions | TLS 1.2 ... TLS 1.3 |
    /// | TLS 1.2 | `ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256` |
    /// | TLS 1.3 | `TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256` |
    /// | groups | `P-384:P-256` |
    /// | sigalgs | ECDSA+SHA384/256/512, RSA-PSS (rsae, pss) SHA-384/256/512, RSA+SHA384/256/512 |
    /// | options | server preference; no renegotiation, compression, 0-RTT or session tickets; EMS required |
    public static let sp800_52r2 = TLSProfile(
        name: "SP 800-52r2",
        minimumVersion: .tlsv12,
        maximumVersion: .tlsv13,
        tls12CipherSuites: [.ecdheECDSAWithAES256GCMSHA384, .ecdheRSAWithAES256GCMSHA384,
                            .ecdheECDSAWithAES128GCMSHA256, .ecdheRSAWithAES128GCMSHA256],
        tls13CipherSuites: [.aes256GCMSHA384, .aes128GCMSHA256],
        groups: [.p384, .p256],
        signatureAlgorithms: TLSSignatureAlgorithm.approved,
        serverPreference: true,
        renegotiation: false,
        compression: false,
        earlyData: false,
        requireExtendedMasterSecret: true,
        sessionTickets: false)

    /// The TLS 1.2 cipher list in OpenSSL's colon-separated form.
    public var tls12CipherList: String { tls12CipherSuites.map(\.openSSLName).joined(separator: ":") }
    /// The TLS 1.3 suite list in OpenSSL's colon-separated form.
    public var tls13CipherList: String { tls13CipherSuites.map(\.openSSLName).joined(separator: ":") }
    /// The group list in OpenSSL's colon-separated form.
    public var groupList: String { groups.map(\.openSSLName).joined(separator: ":") }
    /// The signature-algorithm list in OpenSSL's colon-separated form.
    public var signatureAlgorithmList: String { signatureAlgorithms.map(\.openSSLName).joined(separator: ":") }

    /// The profile as OpenSSL `SSL_CONF` commands (name, value), for peers configured by text, such as rsyslog's
    /// `ossl` stream driver (`gnutlsPriorityString`, one `Name=Value` per line).
    public var confCommands: [(name: String, value: String)] {
        var options = [serverPreference ? "ServerPreference" : "-ServerPreference",
                       renegotiation ? "-NoRenegotiation" : "NoRenegotiation",
                       compression ? "Compression" : "-Compression"]
        if !sessionTickets { options.append("-SessionTicket") }
        return [("MinProtocol", minimumVersion.description), ("MaxProtocol", maximumVersion.description),
                ("CipherString", tls12CipherList), ("Ciphersuites", tls13CipherList),
                ("Groups", groupList), ("SignatureAlgorithms", signatureAlgorithmList),
                ("Options", options.joined(separator: ","))]
    }

    /// What in this profile falls outside SP 800-52r2 / FIPS 140-3 (empty when it conforms).
    ///
    /// Used by ``TLSContext`` (which refuses to build a non-conforming profile) and by ``TLSFIPSStatus``.
    public var violations: [String] {
        var v: [String] = []
        if minimumVersion > maximumVersion { v.append("minimum version \(minimumVersion) is above maximum \(maximumVersion)") }
        if minimumVersion <= .tlsv12 && tls12CipherSuites.isEmpty { v.append("TLS 1.2 is enabled with no cipher suite") }
        if maximumVersion >= .tlsv13 && tls13CipherSuites.isEmpty { v.append("TLS 1.3 is enabled with no cipher suite") }
        if tls12CipherSuites.contains(where: { $0.version != .tlsv12 }) { v.append("a TLS 1.3 suite is listed among the TLS 1.2 suites") }
        if tls13CipherSuites.contains(where: { $0.version != .tlsv13 }) { v.append("a TLS 1.2 suite is listed among the TLS 1.3 suites") }
        if groups.isEmpty { v.append("no key-exchange group") }
        if signatureAlgorithms.isEmpty { v.append("no signature algorithm") }
        if renegotiation { v.append("renegotiation is enabled") }
        if compression { v.append("TLS compression is enabled") }
        if earlyData { v.append("0-RTT early data is enabled") }
        if !requireExtendedMasterSecret && minimumVersion <= .tlsv12 {
            v.append("TLS 1.2 without the Extended Master Secret is accepted (FIPS 140-3 IG D.Q)")
        }
        if sessionTickets { v.append("session tickets are enabled, and this library does not rotate ticket keys") }
        return v
    }
}
