import Foundation
import FIPSCrypto

/// An X.509 v3 certificate: an immutable value over an owned, parsed OpenSSL `X509` object.
///
/// Parse one with ``init(pemRepresentation:)`` or ``init(derRepresentation:)``, a chain with
/// ``chain(fromPEM:)``; make one with ``CertificateBuilder``. Equality and hashing compare the DER encoding.
///
/// ```swift
/// let cert = try Certificate(pemRepresentation: pem)
/// print(cert.subject, cert.notValidAfter, cert.subjectAlternativeNames)
/// ```
public struct Certificate: Sendable, Hashable, CustomStringConvertible {
    /// The owned `X509` object (see `X509_openssl.swift`).
    let box: X509Box
    /// The DER encoding, kept for equality, hashing and output.
    public let derRepresentation: Data

    init(box: X509Box, der: Data) { self.box = box; self.derRepresentation = der }

    /// Parses a certificate from DER.
    /// - Parameter derRepresentation: One DER-encoded certificate, with no trailing bytes.
    /// - Throws: ``FIPSError`` ``FIPSError/Code/invalidEncoding`` if it is not a certificate;
    ///   ``FIPSError/Code/moduleInErrorState`` if the module failed.
    public init<D: DataProtocol>(derRepresentation: D) throws {
        self = try X509Box.parse(der: Data(derRepresentation))
    }

    /// Parses the first certificate of a PEM text (`-----BEGIN CERTIFICATE-----`).
    /// - Parameter pemRepresentation: PEM text holding exactly one certificate block (other blocks are refused).
    /// - Throws: ``FIPSError`` ``FIPSError/Code/invalidEncoding`` if there is no certificate, more than one, or
    ///   the block is malformed.
    public init(pemRepresentation: String) throws {
        let chain = try Certificate.chain(fromPEM: pemRepresentation)
        guard chain.count == 1 else {
            throw FIPSError(.invalidEncoding, "expected one certificate in the PEM text, found \(chain.count); use Certificate.chain(fromPEM:) for a chain")
        }
        self = chain[0]
    }

    /// Parses every certificate of a PEM text, in order (a chain is leaf first, then each issuer).
    /// - Parameter pem: PEM text of one or more `CERTIFICATE` blocks. Text between blocks is ignored; a block of
    ///   another type (a key, a CSR) is refused.
    /// - Returns: The certificates in file order (at least one).
    /// - Throws: ``FIPSError`` ``FIPSError/Code/invalidEncoding`` if there is none or a block is malformed.
    public static func chain(fromPEM pem: String) throws -> [Certificate] {
        let blocks = try PEMBlocks.decode(pem)
        guard !blocks.isEmpty else { throw FIPSError(.invalidEncoding, "no PEM certificate found (expected -----BEGIN CERTIFICATE-----)") }
        return try blocks.enumerated().map { i, block in
            guard block.label == "CERTIFICATE" else {
                throw FIPSError(.invalidEncoding, "PEM block \(i + 1) is a '\(block.label)', not a CERTIFICATE")
            }
            return try Certificate(derRepresentation: block.der)
        }
    }

    /// PEM text of a chain: each certificate's ``pemRepresentation`` in order.
    /// - Parameter chain: The certificates.
    /// - Returns: The concatenated PEM text.
    public static func pemRepresentation(of chain: [Certificate]) -> String {
        chain.map(\.pemRepresentation).joined()
    }

    /// The PEM encoding (`-----BEGIN CERTIFICATE-----`, 64-column base64, trailing newline).
    public var pemRepresentation: String { PEMBlocks.encode(label: "CERTIFICATE", der: derRepresentation) }

    /// The SHA-256 fingerprint of the DER encoding (computed by the module's SHA-256).
    public var sha256Fingerprint: Data { Data(SHA256.hash(data: derRepresentation).bytes) }

    /// The fingerprint as colon-separated upper-case hex (`AB:CD:...`), as `openssl x509 -fingerprint -sha256` prints it.
    public var sha256FingerprintHex: String {
        sha256Fingerprint.map { String(format: "%02X", $0) }.joined(separator: ":")
    }

    /// Whether `other` names the same certificate (same DER bytes).
    public static func == (lhs: Certificate, rhs: Certificate) -> Bool { lhs.derRepresentation == rhs.derRepresentation }
    /// Hashes the DER bytes.
    public func hash(into hasher: inout Hasher) { hasher.combine(derRepresentation) }

    /// Whether the certificate is valid at `date` (`notValidBefore <= date <= notValidAfter`).
    /// - Parameter date: The instant to check.
    /// - Returns: `true` inside the validity period.
    public func isValid(at date: Date) -> Bool { notValidBefore <= date && date <= notValidAfter }

    /// Whether the subject alternative names cover a host name (with RFC 6125 wildcard rules, as OpenSSL's
    /// `X509_check_host`) or an IP address (`X509_check_ip_asc`).
    /// - Parameter name: A DNS name or an IPv4/IPv6 address.
    /// - Returns: `true` if a SAN entry matches.
    public func matches(name: String) -> Bool { box.matches(name: name) }

    /// A short multi-line description, like `openssl x509 -text` without the key and signature bytes.
    public var description: String {
        var lines: [String] = []
        lines.append("Certificate:")
        lines.append("    Subject: \(subject)")
        lines.append("    Issuer: \(issuer)")
        lines.append("    Serial Number: \(serialNumber)")
        let f = ISO8601DateFormatter()
        lines.append("    Validity:")
        lines.append("        Not Before: \(f.string(from: notValidBefore))")
        lines.append("        Not After : \(f.string(from: notValidAfter))")
        lines.append("    Public Key: \(publicKeyAlgorithm)")
        lines.append("    Signature Algorithm: \(signatureAlgorithm)")
        lines.append("    Basic Constraints: CA:\(isCA ? "TRUE" : "FALSE")\(pathLengthConstraint.map { ", pathlen:\($0)" } ?? "")")
        if let ku = keyUsage { lines.append("    Key Usage: \(ku)") }
        if let eku = extendedKeyUsage { lines.append("    Extended Key Usage: \(eku)") }
        let sans = subjectAlternativeNames
        if !sans.isEmpty { lines.append("    Subject Alternative Names: \(sans.map(\.description).joined(separator: ", "))") }
        if let ski = subjectKeyIdentifier { lines.append("    Subject Key Identifier: \(Self.colonHex(ski))") }
        if let aki = authorityKeyIdentifier { lines.append("    Authority Key Identifier: \(Self.colonHex(aki))") }
        lines.append("    SHA-256 Fingerprint: \(sha256FingerprintHex)")
        return lines.joined(separator: "\n")
    }

    static func colonHex(_ d: Data) -> String { d.map { String(format: "%02X", $0) }.joined(separator: ":") }
}

/// An entry of a certificate's subject alternative name extension.
public enum GeneralName: Hashable, Sendable, CustomStringConvertible, Codable {
    /// A DNS name, e.g. `localhost`, `api.example.com`, `*.example.com`.
    case dns(String)
    /// An IPv4 or IPv6 address in text form, e.g. `127.0.0.1`, `::1`.
    case ipAddress(String)
    /// An e-mail address (parsed certificates only; never generated).
    case email(String)
    /// A URI (parsed certificates only; never generated).
    case uri(String)

    /// Parses `DNS:name` / `IP:address` (the `openssl` and `--san` spelling), or a bare name or address
    /// (an address if it parses as IPv4/IPv6, else a DNS name).
    /// - Parameter text: The text.
    /// - Throws: ``FIPSError`` ``FIPSError/Code/certificateRequestInvalid`` if the name or address is malformed.
    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        let lower = t.lowercased()
        if lower.hasPrefix("dns:") { self = .dns(String(t.dropFirst(4))) }
        else if lower.hasPrefix("ip:") { self = .ipAddress(String(t.dropFirst(3))) }
        else if IPAddressText.canonical(t) != nil { self = .ipAddress(t) }
        else { self = .dns(t) }
        try validate()
        if case .ipAddress(let a) = self { self = .ipAddress(IPAddressText.canonical(a)!) }
        if case .dns(let d) = self { self = .dns(d.lowercased()) }
    }

    /// Checks that a DNS name is a valid host name (LDH labels of 1–63 characters, at most 253 in all, an
    /// optional leading `*.` wildcard label) or that an address parses as IPv4/IPv6.
    /// - Throws: ``FIPSError`` ``FIPSError/Code/certificateRequestInvalid`` naming the problem.
    public func validate() throws {
        switch self {
        case .dns(let name):
            guard !name.isEmpty, name.utf8.count <= 253 else {
                throw FIPSError(.certificateRequestInvalid, "DNS name '\(name.prefix(64))' must be 1 to 253 characters")
            }
            var labels = name.split(separator: ".", omittingEmptySubsequences: false)
            if labels.first == "*" && labels.count >= 3 { labels.removeFirst() }
            for label in labels {
                let ok = !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                    && label.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D }
                guard ok else {
                    throw FIPSError(.certificateRequestInvalid, "'\(name)' is not a valid DNS name (letters, digits and '-' in dot-separated labels; only a leading '*.' wildcard)")
                }
            }
        case .ipAddress(let a):
            guard IPAddressText.canonical(a) != nil else {
                throw FIPSError(.certificateRequestInvalid, "'\(a)' is not an IPv4 or IPv6 address")
            }
        case .email, .uri:
            throw FIPSError(.certificateRequestInvalid, "only DNS names and IP addresses can be put in a generated certificate")
        }
    }

    /// `DNS:name`, `IP:address`, `email:addr`, `URI:uri` (the `openssl x509 -text` spelling).
    public var description: String {
        switch self {
        case .dns(let n): return "DNS:\(n)"
        case .ipAddress(let a): return "IP:\(a)"
        case .email(let e): return "email:\(e)"
        case .uri(let u): return "URI:\(u)"
        }
    }
}

/// The key usage extension's bits (RFC 5280 §4.2.1.3).
public struct KeyUsage: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The bits, with OpenSSL's `KU_*` values.
    public let rawValue: UInt32
    /// Creates a set from OpenSSL's `KU_*` bit values.
    /// - Parameter rawValue: The bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// digitalSignature.
    public static let digitalSignature = KeyUsage(rawValue: 0x0080)
    /// nonRepudiation (contentCommitment).
    public static let nonRepudiation = KeyUsage(rawValue: 0x0040)
    /// keyEncipherment.
    public static let keyEncipherment = KeyUsage(rawValue: 0x0020)
    /// dataEncipherment.
    public static let dataEncipherment = KeyUsage(rawValue: 0x0010)
    /// keyAgreement.
    public static let keyAgreement = KeyUsage(rawValue: 0x0008)
    /// keyCertSign.
    public static let keyCertSign = KeyUsage(rawValue: 0x0004)
    /// cRLSign.
    public static let cRLSign = KeyUsage(rawValue: 0x0002)

    static let names: [(KeyUsage, String)] = [
        (.digitalSignature, "Digital Signature"), (.nonRepudiation, "Non Repudiation"),
        (.keyEncipherment, "Key Encipherment"), (.dataEncipherment, "Data Encipherment"),
        (.keyAgreement, "Key Agreement"), (.keyCertSign, "Certificate Sign"), (.cRLSign, "CRL Sign"),
    ]
    /// The set bits, as `openssl x509 -text` names them.
    public var description: String { Self.names.filter { contains($0.0) }.map(\.1).joined(separator: ", ") }
}

/// The extended key usage extension's purposes (RFC 5280 §4.2.1.12), for the purposes OpenSSL knows.
public struct ExtendedKeyUsage: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The bits, with OpenSSL's `XKU_*` values.
    public let rawValue: UInt32
    /// Creates a set from OpenSSL's `XKU_*` bit values.
    /// - Parameter rawValue: The bits.
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// id-kp-serverAuth (TLS server).
    public static let serverAuth = ExtendedKeyUsage(rawValue: 0x1)
    /// id-kp-clientAuth (TLS client).
    public static let clientAuth = ExtendedKeyUsage(rawValue: 0x2)
    /// id-kp-emailProtection.
    public static let emailProtection = ExtendedKeyUsage(rawValue: 0x4)
    /// id-kp-codeSigning.
    public static let codeSigning = ExtendedKeyUsage(rawValue: 0x8)
    /// id-kp-OCSPSigning.
    public static let ocspSigning = ExtendedKeyUsage(rawValue: 0x20)
    /// id-kp-timeStamping.
    public static let timeStamping = ExtendedKeyUsage(rawValue: 0x40)
    /// anyExtendedKeyUsage.
    public static let any = ExtendedKeyUsage(rawValue: 0x100)

    static let names: [(ExtendedKeyUsage, String)] = [
        (.serverAuth, "TLS Web Server Authentication"), (.clientAuth, "TLS Web Client Authentication"),
        (.emailProtection, "E-mail Protection"), (.codeSigning, "Code Signing"), (.ocspSigning, "OCSP Signing"),
        (.timeStamping, "Time Stamping"), (.any, "Any Extended Key Usage"),
    ]
    /// The purposes, as `openssl x509 -text` names them.
    public var description: String { Self.names.filter { contains($0.0) }.map(\.1).joined(separator: ", ") }
}

/// A certificate's signature algorithm, as OpenSSL names it.
public struct CertificateSignatureAlgorithm: Hashable, Sendable, CustomStringConvertible {
    /// The algorithm's OpenSSL long name, e.g. `ecdsa-with-SHA256`, `sha256WithRSAEncryption`, `rsassaPss`.
    public var name: String
    /// The digest's OpenSSL short name, e.g. `SHA256`, `SHA384`, `SHA1`; empty if none could be determined.
    public var digest: String
    /// Whether the digest is one this library accepts in certificates (SHA-256, SHA-384, SHA-512).
    public var isApproved: Bool { ["SHA256", "SHA384", "SHA512"].contains(digest) }
    /// The name.
    public var description: String { name }
}

/// Text forms of IP addresses (canonical, as `inet_ntop` prints them).
enum IPAddressText {
    /// The canonical text of an IPv4/IPv6 address, or `nil` if `text` is not one.
    static func canonical(_ text: String) -> String? {
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return format(bytes: withUnsafeBytes(of: &v4) { Array($0) }) }
        if inet_pton(AF_INET6, text, &v6) == 1 { return format(bytes: withUnsafeBytes(of: &v6) { Array($0) }) }
        return nil
    }

    /// The text of a 4- or 16-byte address; `nil` for other lengths.
    static func format(bytes: [UInt8]) -> String? {
        var buf = [CChar](repeating: 0, count: 64)
        let family: Int32
        switch bytes.count { case 4: family = AF_INET; case 16: family = AF_INET6; default: return nil }
        let ok = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buf, socklen_t(buf.count)) } != nil
        return ok ? String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil
    }
}

extension Certificate {
    /// The subject's distinguished name in RFC 2253 form, e.g. `CN=localhost,O=Example`.
    public var subject: String { box.subject }
    /// The issuer's distinguished name in RFC 2253 form.
    public var issuer: String { box.issuer }
    /// The serial number as upper-case hex without leading zeros (as `openssl x509 -serial` prints it).
    public var serialNumber: String { box.serialHex }
    /// The start of the validity period.
    public var notValidBefore: Date { box.notBefore }
    /// The end of the validity period.
    public var notValidAfter: Date { box.notAfter }
    /// The subject alternative names, in certificate order (empty if the extension is absent).
    public var subjectAlternativeNames: [GeneralName] { box.subjectAlternativeNames }
    /// Whether basic constraints say `CA:TRUE`.
    public var isCA: Bool { box.isCA }
    /// The basic constraints' path length, if the certificate is a CA and sets one.
    public var pathLengthConstraint: Int? { box.pathLength }
    /// The key usage bits, or `nil` if the extension is absent.
    public var keyUsage: KeyUsage? { box.keyUsage }
    /// The extended key usage purposes, or `nil` if the extension is absent.
    public var extendedKeyUsage: ExtendedKeyUsage? { box.extendedKeyUsage }
    /// The signature algorithm and its digest.
    public var signatureAlgorithm: CertificateSignatureAlgorithm { box.signatureAlgorithm }
    /// The subject key identifier, or `nil` if absent.
    public var subjectKeyIdentifier: Data? { box.subjectKeyIdentifier }
    /// The authority key identifier's key id, or `nil` if absent.
    public var authorityKeyIdentifier: Data? { box.authorityKeyIdentifier }
    /// The subject public key's algorithm and size, e.g. `EC P-256`, `RSA 3072`, `EC secp192r1` (for display
    /// and for the approved-key check; see ``publicKeyIsApproved``).
    public var publicKeyAlgorithm: String { box.publicKeyInfo.display }
    /// Whether the subject public key is one this library accepts: RSA of at least 2048 bits, or EC on
    /// P-256, P-384 or P-521.
    public var publicKeyIsApproved: Bool { box.publicKeyInfo.isApproved }
    /// Whether the certificate's issuer and subject names are the same (a root or a self-signed leaf).
    public var isSelfIssued: Bool { subject == issuer }

    /// The subject public key as a ``SigningPublicKey``.
    /// - Throws: ``FIPSError`` (``FIPSError/Code/notApproved`` for a key type or size outside the policy,
    ///   ``FIPSError/Code/invalidEncoding`` if it does not decode).
    public var publicKey: SigningPublicKey {
        get throws { try SigningPublicKey(derRepresentation: box.subjectPublicKeyInfoDER) }
    }

    /// Whether `issuer` issued this certificate: its subject is this certificate's issuer name, its key
    /// identifiers and key usage allow it (`X509_check_issued`), and its public key verifies this certificate's
    /// signature (`X509_verify`, in the module's library context). For `issuer == self` it checks that the
    /// certificate is self-signed (`X509_self_signed` with signature verification).
    /// - Parameter issuer: The candidate issuer.
    /// - Returns: `true` only if all three hold.
    public func isIssued(by issuer: Certificate) -> Bool { box.isIssued(by: issuer.box) }
}
