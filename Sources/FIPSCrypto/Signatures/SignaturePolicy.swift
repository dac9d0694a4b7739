import Foundation

extension FIPSError.Code {
    /// An encrypted private key could not be opened: the passphrase is wrong or missing (or the encrypted key is
    /// damaged, which cannot be told apart from a wrong passphrase).
    public static let wrongPassphrase = FIPSError.Code("wrongPassphrase")
}

/// An approved elliptic curve for ECDSA (FIPS 186-5, SP 800-186): P-256, P-384 or P-521, each with its hash.
public struct ECCurve: Sendable, Hashable, CustomStringConvertible {
    /// The NIST name, e.g. `"P-256"`.
    public let name: String
    /// The digest ECDSA uses with this curve here (SHA-256, SHA-384, SHA-512).
    public let digest: DigestAlgorithm
    /// The size of one coordinate (and of `r` and `s`) in bytes.
    public let coordinateByteCount: Int
    /// The key kind name, e.g. `"p256"`.
    let kindName: String
    /// The group name OpenSSL generates with.
    let openSSLGroup: String
    /// Every name OpenSSL may report for the group.
    let openSSLNames: Set<String>

    /// NIST P-256 (secp256r1, prime256v1) with SHA-256.
    public static let p256 = ECCurve(name: "P-256", digest: .sha256, coordinateByteCount: 32, kindName: "p256",
                                     openSSLGroup: "P-256", openSSLNames: ["P-256", "prime256v1", "secp256r1"])
    /// NIST P-384 (secp384r1) with SHA-384.
    public static let p384 = ECCurve(name: "P-384", digest: .sha384, coordinateByteCount: 48, kindName: "p384",
                                     openSSLGroup: "P-384", openSSLNames: ["P-384", "secp384r1"])
    /// NIST P-521 (secp521r1) with SHA-512.
    public static let p521 = ECCurve(name: "P-521", digest: .sha512, coordinateByteCount: 66, kindName: "p521",
                                     openSSLGroup: "P-521", openSSLNames: ["P-521", "secp521r1"])

    /// The curves the policy approves.
    static let approved: [ECCurve] = [.p256, .p384, .p521]

    /// The NIST name.
    public var description: String { name }
}

/// The signature part of the approved-services policy, checked before OpenSSL is called.
enum SignaturePolicy {
    /// The RSA moduli keys may be generated with.
    static let rsaGenerateBits: Set<Int> = [2048, 3072, 4096]
    /// The digests signatures may use.
    static let digests: Set<DigestAlgorithm> = [.sha256, .sha384, .sha512]

    static func checkGenerate(_ shape: KeyShape) throws {
        switch shape {
        case .ec(let curve):
            try ApprovedPolicy.require(ECCurve.approved.contains(curve), "ECDSA", "curve \(curve.name) is not approved (P-256, P-384, P-521 only)")
        case .rsa(let bits):
            try ApprovedPolicy.require(rsaGenerateBits.contains(bits), "RSA",
                                       "key generation is limited to 2048, 3072 or 4096 bits; \(bits) was requested")
        }
    }

    static func checkLoadedRSA(bits: Int) throws {
        try ApprovedPolicy.require(bits >= ApprovedPolicy.minimumRSABits, "RSA",
                                   "a \(bits)-bit modulus is below the \(ApprovedPolicy.minimumRSABits)-bit minimum")
    }

    static func checkUse(_ shape: KeyShape, digest: DigestAlgorithm, rsaPadding: RSAPaddingMode?) throws {
        try ApprovedPolicy.require(digests.contains(digest), "signature", "digest \(digest) is not approved (SHA-256/384/512 only)")
        switch shape {
        case .ec(let curve):
            try ApprovedPolicy.require(ECCurve.approved.contains(curve), "ECDSA", "curve \(curve.name) is not approved")
            try ApprovedPolicy.require(digest == curve.digest, "ECDSA", "\(curve.name) is used with \(curve.digest) here, not \(digest)")
            try ApprovedPolicy.require(rsaPadding == nil, "ECDSA", "an RSA padding was given for an EC key")
        case .rsa(let bits):
            try checkLoadedRSA(bits: bits)
            try ApprovedPolicy.require(rsaPadding != nil, "RSA", "no padding given (PSS or PKCS#1 v1.5)")
        }
    }
}

/// PEM armour for DER produced by this library (64-column base64, LF line ends).
func pemEncode(_ der: some ContiguousBytes, label: String) -> String {
    // Encoded in place: `Data($0)` made an unwiped heap copy of the DER, which for `PRIVATE KEY` is the key itself.
    let b64 = der.withUnsafeBytes { raw -> String in
        guard let base = raw.baseAddress, raw.count > 0 else { return "" }
        return Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: raw.count, deallocator: .none)
            .base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
    }
    return "-----BEGIN \(label)-----\n\(b64)\n-----END \(label)-----\n"
}

/// Runs `body` with the UTF-8 bytes of a passphrase in a zeroizing buffer (the `String` itself cannot be wiped).
func withPassphraseBytes<R>(_ passphrase: String?, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
    guard let passphrase else { return try body(nil) }
    let utf8 = passphrase.utf8
    let bytes = SecureBytes(count: utf8.count) { $0.copyBytes(from: utf8) }
    // Keep the buffer alive for the whole call: `bytes.bytes` is a raw view, and Swift may otherwise release (wipe
    // and free) `bytes` right after its last use, before `body` reads the passphrase.
    return try withExtendedLifetime(bytes) { try body(bytes.bytes) }
}
