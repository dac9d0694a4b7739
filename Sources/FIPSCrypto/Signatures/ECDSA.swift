import Foundation

/// A curve type usable with ``ECDSASigning``: ``P256``, ``P384`` or ``P521``.
///
/// The set is closed by the policy: a conformance naming any other curve is refused with
/// ``FIPSError/Code/notApproved`` before OpenSSL is called.
public protocol ECDSACurve: Sendable {
    /// The curve and its digest.
    static var curve: ECCurve { get }
}

/// NIST P-256 (secp256r1) with SHA-256, as in CryptoKit: `P256.Signing.PrivateKey()`.
public enum P256: ECDSACurve {
    /// P-256 with SHA-256.
    public static var curve: ECCurve { .p256 }
    /// ECDSA over P-256 with SHA-256.
    public typealias Signing = ECDSASigning<P256>
}

/// NIST P-384 (secp384r1) with SHA-384, as in CryptoKit: `P384.Signing.PrivateKey()`.
public enum P384: ECDSACurve {
    /// P-384 with SHA-384.
    public static var curve: ECCurve { .p384 }
    /// ECDSA over P-384 with SHA-384.
    public typealias Signing = ECDSASigning<P384>
}

/// NIST P-521 (secp521r1) with SHA-512, as in CryptoKit: `P521.Signing.PrivateKey()`.
public enum P521: ECDSACurve {
    /// P-521 with SHA-512.
    public static var curve: ECCurve { .p521 }
    /// ECDSA over P-521 with SHA-512.
    public typealias Signing = ECDSASigning<P521>
}

/// ECDSA (FIPS 186-5) on one approved curve; spelled `P256.Signing`, `P384.Signing`, `P521.Signing`.
///
/// One implementation serves the three curves. Keys are generated and loaded in the module's library context;
/// a key on any other curve is refused with ``FIPSError/Code/notApproved``.
///
/// ```swift
/// let key = P256.Signing.PrivateKey()
/// let signature = try key.signature(for: Data("message".utf8))
/// let ok = key.publicKey.isValidSignature(signature, for: Data("message".utf8))
/// ```
public enum ECDSASigning<Curve: ECDSACurve> {
    /// An ECDSA private key. Its `description` is redacted.
    public struct PrivateKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
        let storage: PrivateKeyStorage

        /// A new random key, generated in the module's library context (the provider runs its pair-wise test).
        ///
        /// - Precondition: The module can serve (``FIPSModule`` operational). A module in its error state makes
        ///   this initializer trap, because CryptoKit's shape has no `throws` here; use ``generate()`` to get the error.
        public init() {
            do { self = try PrivateKey.generate() } catch {
                preconditionFailure("\(Curve.curve.name) PrivateKey() needs an operational module: \(error)")
            }
        }

        /// A new random key, throwing instead of trapping.
        /// - Returns: The key.
        /// - Throws: ``FIPSError`` if the module is not operational, the curve is not approved or generation fails.
        public static func generate() throws -> PrivateKey {
            let core = try ModuleRuntime.operational()
            return PrivateKey(storage: try PrivateKeyStorage.generate(core: core, .ec(Curve.curve)))
        }

        init(storage: PrivateKeyStorage) { self.storage = storage }

        /// Loads a key from PEM: PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`.
        /// - Parameter pemRepresentation: The PEM text.
        /// - Throws: ``FIPSError/Code/invalidEncoding`` for malformed input, ``FIPSError/Code/notApproved`` for a
        ///   key outside the policy, ``FIPSError/Code/invalidParameter`` for an approved key on another curve,
        ///   ``FIPSError/Code/wrongPassphrase`` for an encrypted key (use ``SigningPrivateKey`` for those).
        public init(pemRepresentation: String) throws {
            let core = try ModuleRuntime.operational()
            try self.init(checking: try PrivateKeyStorage.decode(core: core, pem: pemRepresentation, passphrase: nil))
        }

        /// Loads a key from DER: PKCS#8 `PrivateKeyInfo` (or SEC1 `ECPrivateKey`).
        /// - Parameter derRepresentation: The DER bytes.
        /// - Throws: As ``init(pemRepresentation:)``.
        public init<D: DataProtocol>(derRepresentation: D) throws {
            let core = try ModuleRuntime.operational()
            let s = try withContiguous(derRepresentation) { try PrivateKeyStorage.decode(core: core, $0, pem: false, passphrase: nil) }
            try self.init(checking: s)
        }

        private init(checking s: PrivateKeyStorage) throws {
            try s.requireShape({ $0 == .ec(Curve.curve) }, "a \(Curve.curve.name) key")
            storage = s
        }

        /// The PKCS#8 `PRIVATE KEY` PEM. Secret: handle with care.
        public var pemRepresentation: String { storage.pemRepresentation }
        /// The PKCS#8 `PrivateKeyInfo` DER. Secret: handle with care.
        public var derRepresentation: Data { storage.derRepresentation }
        /// The matching public key.
        public var publicKey: PublicKey { PublicKey(storage: storage.publicKey) }

        /// Signs `data` (hashed with the curve's digest) with ECDSA.
        /// - Parameter data: The message.
        /// - Returns: The signature.
        /// - Throws: ``FIPSError`` if the module is not operational or OpenSSL fails.
        public func signature<D: DataProtocol>(for data: D) throws -> ECDSASignature {
            let core = try ModuleRuntime.operational()
            let der = try withContiguous(data) {
                try storage.sign(core: core, digest: Curve.curve.digest, rsaPadding: nil, message: $0)
            }
            return try ECDSASignature(derRepresentation: der)
        }

        /// Redacted: `P-256 ECDSA PrivateKey(redacted)`.
        public var description: String { "\(Curve.curve.name) ECDSA PrivateKey(redacted)" }
        /// Redacted, as ``description``.
        public var debugDescription: String { description }
    }

    /// An ECDSA public key. Its `description` shows a SHA-256 fingerprint of the SubjectPublicKeyInfo.
    public struct PublicKey: Sendable, CustomStringConvertible {
        let storage: PublicKeyStorage

        init(storage: PublicKeyStorage) { self.storage = storage }

        /// Loads a SubjectPublicKeyInfo `PUBLIC KEY` PEM.
        /// - Parameter pemRepresentation: The PEM text.
        /// - Throws: ``FIPSError/Code/invalidEncoding``, ``FIPSError/Code/notApproved`` (another curve or type
        ///   outside the policy) or ``FIPSError/Code/invalidParameter`` (an approved key of another kind).
        public init(pemRepresentation: String) throws {
            let core = try ModuleRuntime.operational()
            try self.init(checking: try PublicKeyStorage.decode(core: core, pem: pemRepresentation))
        }

        /// Loads a SubjectPublicKeyInfo DER.
        /// - Parameter derRepresentation: The DER bytes.
        /// - Throws: As ``init(pemRepresentation:)``.
        public init<D: DataProtocol>(derRepresentation: D) throws {
            let core = try ModuleRuntime.operational()
            try self.init(checking: try withContiguous(derRepresentation) { try PublicKeyStorage.decode(core: core, $0, pem: false) })
        }

        /// Loads an uncompressed X9.63 point `04 || X || Y`; the point must lie on the curve.
        /// - Parameter x963Representation: The point.
        /// - Throws: ``FIPSError/Code/invalidEncoding`` for a wrong length, prefix, or a point not on the curve.
        public init<D: DataProtocol>(x963Representation: D) throws {
            let core = try ModuleRuntime.operational()
            try self.init(checking: try withContiguous(x963Representation) {
                try PublicKeyStorage.fromX963(core: core, curve: Curve.curve, $0)
            })
        }

        private init(checking s: PublicKeyStorage) throws {
            try s.requireShape({ $0 == .ec(Curve.curve) }, "a \(Curve.curve.name) key")
            storage = s
        }

        /// The SubjectPublicKeyInfo `PUBLIC KEY` PEM.
        public var pemRepresentation: String { storage.pemRepresentation }
        /// The SubjectPublicKeyInfo DER.
        public var derRepresentation: Data { storage.spki }
        /// The uncompressed point `04 || X || Y`.
        public var x963Representation: Data { (try? PKeyEngine.ecPublicPoint(storage.pkey)) ?? Data() }

        /// Whether `signature` is a valid ECDSA signature over `data` under this key.
        /// - Parameters:
        ///   - signature: The signature.
        ///   - data: The message.
        /// - Returns: `true` only if the signature verifies (`false` also when the module is not operational).
        public func isValidSignature<D: DataProtocol>(_ signature: ECDSASignature, for data: D) -> Bool {
            guard let core = try? ModuleRuntime.operational() else { return false }
            return signature.derRepresentation.withUnsafeBytes { sig in
                withContiguous(data) { storage.verify(core: core, digest: Curve.curve.digest, rsaPadding: nil, signature: sig, message: $0) }
            }
        }

        /// `P-256 ECDSA PublicKey(sha256:<first 16 bytes of SHA-256(SPKI)>)`.
        public var description: String { "\(Curve.curve.name) ECDSA PublicKey(sha256:\(storage.fingerprint))" }
    }

    /// An ECDSA signature: `r` and `s`, as raw `r || s` or DER `ECDSA-Sig-Value`.
    public struct ECDSASignature: Sendable, Hashable {
        /// `r || s`, each left-padded to the curve's coordinate size.
        public let rawRepresentation: Data
        /// The DER `ECDSA-Sig-Value` (canonical).
        public let derRepresentation: Data

        /// A signature from raw `r || s`.
        /// - Parameter rawRepresentation: Exactly twice the curve's coordinate size (64, 96 or 132 bytes).
        /// - Throws: ``FIPSError/Code/invalidEncoding`` for any other length.
        public init<D: DataProtocol>(rawRepresentation: D) throws {
            let n = Curve.curve.coordinateByteCount
            guard rawRepresentation.count == 2 * n else {
                throw FIPSError(.invalidEncoding, "a raw \(Curve.curve.name) ECDSA signature is \(2 * n) bytes, got \(rawRepresentation.count)")
            }
            let raw = Data(rawRepresentation)
            self.rawRepresentation = raw
            self.derRepresentation = try raw.withUnsafeBytes { try PKeyEngine.ecdsaDER(fromRaw: $0) }
        }

        /// A signature from DER. Only canonical DER is accepted (no BER variants, no trailing bytes).
        /// - Parameter derRepresentation: The DER `ECDSA-Sig-Value`.
        /// - Throws: ``FIPSError/Code/invalidEncoding`` for anything else, or when `r` or `s` is negative or
        ///   longer than the curve's coordinate size.
        public init<D: DataProtocol>(derRepresentation: D) throws {
            let der = Data(derRepresentation)
            self.rawRepresentation = try der.withUnsafeBytes {
                try PKeyEngine.ecdsaRaw(fromDER: $0, coordinateByteCount: Curve.curve.coordinateByteCount)
            }
            self.derRepresentation = der
        }
    }
}
