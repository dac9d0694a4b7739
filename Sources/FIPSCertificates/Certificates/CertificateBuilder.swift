import Foundation
import FIPSCrypto

/// What to put in a new certificate: a `Sendable` configuration made by a factory (``serverLeaf(commonName:subjectAlternativeNames:validity:)``,
/// ``localCA(commonName:validity:)``) and adjusted through typed properties, then signed with
/// ``selfSigned(key:now:)`` or ``issue(for:issuer:issuerKey:now:)``, or turned into a PKCS#10 request with
/// ``signingRequest(key:)``.
///
/// Every certificate made here is X.509 v3 with a random positive 127-bit serial from the module's DRBG, a
/// subject key identifier (RFC 7093 method 1: the leftmost 160 bits of SHA-256 over the subject public key), an
/// authority key identifier (the issuer's SKI), and a signature made in the module's library context with
/// SHA-256 (P-256 and RSA signers) or SHA-384 (P-384 and P-521 signers).
///
/// ```swift
/// let key = try SigningPrivateKey.generate(.p256)
/// let leaf = try CertificateBuilder.serverLeaf(commonName: "api.internal",
///                                              subjectAlternativeNames: [.dns("api.internal"), .ipAddress("10.0.0.5")])
///     .selfSigned(key: key)
/// ```
public struct CertificateBuilder: Sendable {
    /// The subject's common name (CN).
    public var commonName: String
    /// The subject's organization (O), if any.
    public var organization: String?
    /// The subject alternative names (DNS names and IP addresses only). Required for a server leaf.
    public var subjectAlternativeNames: [GeneralName]
    /// How long the certificate is valid, in seconds from ``notValidBefore`` (or from the signing time).
    public var validity: TimeInterval
    /// The start of validity; `nil` uses the signing time (`now`).
    public var notValidBefore: Date?
    /// Whether the certificate is a CA (`CA:TRUE`, keyCertSign + cRLSign, no EKU) or a server leaf
    /// (`CA:FALSE`, digitalSignature (+ keyEncipherment for RSA), EKU serverAuth). Basic constraints and key
    /// usage are always critical.
    public var isCertificateAuthority: Bool
    /// The CA's path length constraint (`pathlen`); ignored for leaves.
    public var pathLengthConstraint: Int?

    /// The longest validity accepted for a leaf: 398 days (CA/Browser Forum baseline requirements).
    public static let maximumLeafValidity: TimeInterval = 398 * 86_400
    /// A leaf's default validity: 90 days.
    public static let defaultLeafValidity: TimeInterval = 90 * 86_400
    /// A local CA's default validity: 10 years (3650 days).
    public static let defaultCAValidity: TimeInterval = 3650 * 86_400
    /// The longest validity accepted for a CA: 25 years.
    public static let maximumCAValidity: TimeInterval = 25 * 365 * 86_400

    /// Creates a configuration; prefer the factories.
    /// - Parameters:
    ///   - commonName: The subject's CN.
    ///   - organization: The subject's O.
    ///   - subjectAlternativeNames: DNS names and IP addresses.
    ///   - validity: Seconds of validity.
    ///   - isCertificateAuthority: A CA or a server leaf.
    ///   - pathLengthConstraint: A CA's `pathlen`.
    public init(commonName: String, organization: String? = nil, subjectAlternativeNames: [GeneralName] = [],
                validity: TimeInterval, isCertificateAuthority: Bool, pathLengthConstraint: Int? = nil) {
        self.commonName = commonName
        self.organization = organization
        self.subjectAlternativeNames = subjectAlternativeNames
        self.validity = validity
        self.isCertificateAuthority = isCertificateAuthority
        self.pathLengthConstraint = pathLengthConstraint
    }

    /// A TLS server leaf: `CA:FALSE`, KU digitalSignature (+ keyEncipherment for RSA keys), EKU serverAuth.
    /// - Parameters:
    ///   - commonName: The subject's CN (clients match on the SANs, not on the CN).
    ///   - subjectAlternativeNames: The names and addresses the server answers to (at least one).
    ///   - validity: Seconds of validity; 90 days by default, at most ``maximumLeafValidity``.
    /// - Returns: The configuration.
    public static func serverLeaf(commonName: String, subjectAlternativeNames: [GeneralName],
                                  validity: TimeInterval = defaultLeafValidity) -> CertificateBuilder {
        CertificateBuilder(commonName: commonName, subjectAlternativeNames: subjectAlternativeNames,
                           validity: validity, isCertificateAuthority: false)
    }

    /// A local root CA: `CA:TRUE, pathlen:0`, KU keyCertSign + cRLSign. Use an ECDSA P-384 key.
    /// - Parameters:
    ///   - commonName: The CA's CN.
    ///   - validity: Seconds of validity; 10 years by default.
    /// - Returns: The configuration.
    public static func localCA(commonName: String = "swift-fips-crypto Local CA",
                               validity: TimeInterval = defaultCAValidity) -> CertificateBuilder {
        CertificateBuilder(commonName: commonName, organization: nil, validity: validity,
                           isCertificateAuthority: true, pathLengthConstraint: 0)
    }

    /// Checks the configuration before anything is signed.
    /// - Throws: ``FIPSError`` ``FIPSError/Code/certificateRequestInvalid`` naming the problem: an empty or
    ///   over-long CN, a control character in a name, a malformed SAN, a leaf without SANs, a validity of zero,
    ///   over 398 days for a leaf or over 25 years for a CA, a negative path length.
    public func validate() throws {
        for (field, value) in [("common name", commonName), ("organization", organization ?? "x")] {
            guard !value.isEmpty, value.utf8.count <= 64 else {
                throw FIPSError(.certificateRequestInvalid, "the \(field) must be 1 to 64 bytes (RFC 5280 upper bound)")
            }
            guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw FIPSError(.certificateRequestInvalid, "the \(field) contains a control character")
            }
        }
        for san in subjectAlternativeNames { try san.validate() }
        guard validity > 0 else { throw FIPSError(.certificateRequestInvalid, "the validity must be positive") }
        if isCertificateAuthority {
            guard validity <= Self.maximumCAValidity else {
                throw FIPSError(.certificateRequestInvalid, "a CA may be valid for at most 25 years")
            }
            if let p = pathLengthConstraint, p < 0 { throw FIPSError(.certificateRequestInvalid, "pathlen must not be negative") }
        } else {
            guard validity <= Self.maximumLeafValidity else {
                throw FIPSError(.certificateRequestInvalid,
                                "a server certificate may be valid for at most 398 days (asked for \(Int(validity / 86_400)) days); clients reject longer ones")
            }
            guard !subjectAlternativeNames.isEmpty else {
                throw FIPSError(.certificateRequestInvalid, "a server certificate needs at least one subject alternative name (DNS name or IP address)")
            }
        }
    }

    /// Makes a self-signed certificate (issuer = subject, AKI = SKI) for `key`.
    /// - Parameters:
    ///   - key: The subject's key, which also signs.
    ///   - now: The signing time (default: now); the start of validity unless ``notValidBefore`` is set.
    /// - Returns: The certificate.
    /// - Throws: ``FIPSError`` ``FIPSError/Code/certificateRequestInvalid`` from ``validate()``, or an
    ///   OpenSSL / DRBG failure.
    public func selfSigned(key: SigningPrivateKey, now: Date = Date()) throws -> Certificate {
        try validate()
        return try X509Maker.make(self, subjectKey: .privateKey(key), issuer: nil, issuerKey: key, now: now)
    }

    /// Makes a certificate for `publicKey`, signed by a CA.
    /// - Parameters:
    ///   - publicKey: The subject's public key.
    ///   - issuer: The CA's certificate (`CA:TRUE`, valid at `now`, outliving the new certificate).
    ///   - issuerKey: The CA's private key (must match `issuer`).
    ///   - now: The signing time (default: now).
    /// - Returns: The certificate, with issuer = the CA's subject and AKI = the CA's SKI.
    /// - Throws: ``FIPSError``: ``FIPSError/Code/certificateRequestInvalid`` (bad configuration, the issuer is no
    ///   CA, or the certificate would outlive the CA), ``FIPSError/Code/certificateKeyMismatch`` (the CA key is
    ///   not the CA certificate's), ``FIPSError/Code/certificateExpired`` / ``FIPSError/Code/certificateNotYetValid``
    ///   (the CA is not valid at `now`), or an OpenSSL / DRBG failure.
    public func issue(for publicKey: SigningPublicKey, issuer: Certificate, issuerKey: SigningPrivateKey,
                      now: Date = Date()) throws -> Certificate {
        try validate()
        guard issuer.isCA else {
            throw FIPSError(.certificateRequestInvalid, "the issuer '\(issuer.subject)' is not a CA (basic constraints CA:FALSE or absent)")
        }
        guard issuer.box.matches(key: issuerKey) else {
            throw FIPSError(.certificateKeyMismatch, "the CA private key does not belong to the CA certificate '\(issuer.subject)'")
        }
        if now < issuer.notValidBefore { throw FIPSError(.certificateNotYetValid, "the CA '\(issuer.subject)' is not valid before \(issuer.notValidBefore)") }
        if now > issuer.notValidAfter { throw FIPSError(.certificateExpired, "the CA '\(issuer.subject)' expired on \(issuer.notValidAfter); create a new CA") }
        let end = (notValidBefore ?? now).addingTimeInterval(validity)
        guard end <= issuer.notValidAfter else {
            throw FIPSError(.certificateRequestInvalid, "the certificate would be valid until \(end), after its CA expires (\(issuer.notValidAfter)); renew the CA or shorten the validity")
        }
        return try X509Maker.make(self, subjectKey: .publicKey(publicKey), issuer: issuer, issuerKey: issuerKey, now: now)
    }

    /// Makes a PKCS#10 certificate signing request for a real CA: the subject (CN, O), and an extension request
    /// with the SANs, basic constraints, key usage and extended key usage of this configuration.
    /// - Parameter key: The key the certificate will be for (it signs the request).
    /// - Returns: The request.
    /// - Throws: ``FIPSError`` ``FIPSError/Code/certificateRequestInvalid`` from ``validate()``, or an OpenSSL failure.
    public func signingRequest(key: SigningPrivateKey) throws -> CertificateSigningRequest {
        try validate()
        return try X509Maker.makeRequest(self, key: key)
    }

    /// The digest a signer of this kind uses: SHA-384 for P-384 and P-521, SHA-256 for P-256 and RSA.
    static func digestName(for kind: SigningPrivateKey.Kind) -> String {
        kind == .p384 || kind == .p521 ? "SHA384" : "SHA256"
    }

    /// Whether a key kind is RSA (for keyEncipherment).
    static func isRSA(_ kind: SigningPrivateKey.Kind) -> Bool { kind.name.hasPrefix("rsa") }
}

/// A PKCS#10 certificate signing request.
public struct CertificateSigningRequest: Sendable, Hashable {
    /// The DER encoding.
    public let derRepresentation: Data
    /// The PEM encoding (`-----BEGIN CERTIFICATE REQUEST-----`).
    public var pemRepresentation: String { PEMBlocks.encode(label: "CERTIFICATE REQUEST", der: derRepresentation) }
    /// The subject in RFC 2253 form.
    public let subject: String
    /// The SANs of the extension request.
    public let subjectAlternativeNames: [GeneralName]
    /// Whether the request's self-signature verifies with its own public key (`X509_REQ_verify`).
    public let isSignatureValid: Bool

    init(der: Data, subject: String, subjectAlternativeNames: [GeneralName], isSignatureValid: Bool) {
        self.derRepresentation = der; self.subject = subject
        self.subjectAlternativeNames = subjectAlternativeNames; self.isSignatureValid = isSignatureValid
    }

    /// Parses a PEM request.
    /// - Parameter pemRepresentation: One `CERTIFICATE REQUEST` block.
    /// - Throws: ``FIPSError`` ``FIPSError/Code/invalidEncoding`` if it is not one.
    public init(pemRepresentation: String) throws {
        let blocks = try PEMBlocks.decode(pemRepresentation)
        guard blocks.count == 1, blocks[0].label == "CERTIFICATE REQUEST" || blocks[0].label == "NEW CERTIFICATE REQUEST" else {
            throw FIPSError(.invalidEncoding, "expected one PEM CERTIFICATE REQUEST block")
        }
        self = try X509Maker.parseRequest(der: blocks[0].der)
    }
}
