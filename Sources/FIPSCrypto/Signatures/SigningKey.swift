import Foundation

/// A type-erased approved signing private key (ECDSA P-256/384/521 or RSA ≥ 2048), for certificates and TLS.
///
/// Loads unencrypted or encrypted PKCS#8 and SEC1/PKCS#1 PEM, and writes PKCS#8 (encrypted with PBES2:
/// PBKDF2-HMAC-SHA-256 and AES-256-CBC). Its `description` is redacted.
public struct SigningPrivateKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The kind of a key: its algorithm and size, as a short stable name.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        /// The name: `"p256"`, `"p384"`, `"p521"`, `"rsa2048"`, `"rsa3072"`, `"rsa4096"` (a loaded RSA key of
        /// another approved size is `"rsa<bits>"`).
        public let name: String
        let shape: KeyShape

        init(shape: KeyShape) { self.shape = shape; self.name = shape.kindName }

        /// ECDSA P-256 with SHA-256.
        public static let p256 = Kind(shape: .ec(.p256))
        /// ECDSA P-384 with SHA-384.
        public static let p384 = Kind(shape: .ec(.p384))
        /// ECDSA P-521 with SHA-512.
        public static let p521 = Kind(shape: .ec(.p521))
        /// RSA 2048.
        public static let rsa2048 = Kind(shape: .rsa(bits: 2048))
        /// RSA 3072.
        public static let rsa3072 = Kind(shape: .rsa(bits: 3072))
        /// RSA 4096.
        public static let rsa4096 = Kind(shape: .rsa(bits: 4096))

        /// The kinds ``SigningPrivateKey/generate(_:)`` makes.
        public static let generatable: [Kind] = [.p256, .p384, .p521, .rsa2048, .rsa3072, .rsa4096]

        /// A kind from its name (one of ``generatable``'s names).
        /// - Parameter name: `"p256"`, `"p384"`, `"p521"`, `"rsa2048"`, `"rsa3072"` or `"rsa4096"`.
        public init?(name: String) {
            guard let k = Kind.generatable.first(where: { $0.name == name }) else { return nil }
            self = k
        }

        /// The name.
        public var description: String { name }

        /// Equal names are equal kinds.
        public static func == (a: Kind, b: Kind) -> Bool { a.name == b.name }
        /// Hashes the name.
        public func hash(into hasher: inout Hasher) { hasher.combine(name) }
    }

    let storage: PrivateKeyStorage

    init(storage: PrivateKeyStorage) { self.storage = storage }

    /// The PBKDF2 iteration count used when writing encrypted PKCS#8 (OWASP 2023 for PBKDF2-HMAC-SHA-256).
    public static let defaultEncryptionIterations = 600_000

    /// Generates a key of the given kind in the module's library context.
    /// - Parameter kind: One of ``Kind/generatable``.
    /// - Returns: The key.
    /// - Throws: ``FIPSError/Code/notApproved`` for another kind, or ``FIPSError`` if the module is not operational
    ///   or generation fails.
    public static func generate(_ kind: Kind) throws -> SigningPrivateKey {
        try SignaturePolicy.checkGenerate(kind.shape)
        let core = try ModuleRuntime.operational()
        return SigningPrivateKey(storage: try PrivateKeyStorage.generate(core: core, kind.shape))
    }

    /// Loads a key from PEM: PKCS#8 (`PRIVATE KEY`), encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`), SEC1
    /// (`EC PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`).
    /// - Parameters:
    ///   - pemRepresentation: The PEM text.
    ///   - passphrase: The passphrase of an encrypted key.
    /// - Throws: ``FIPSError/Code/invalidEncoding`` for malformed input, ``FIPSError/Code/notApproved`` for a key
    ///   outside the policy, ``FIPSError/Code/wrongPassphrase`` for an encrypted key with a missing or wrong
    ///   passphrase.
    public init(pemRepresentation: String, passphrase: String? = nil) throws {
        let core = try ModuleRuntime.operational()
        storage = try PrivateKeyStorage.decode(core: core, pem: pemRepresentation, passphrase: passphrase)
    }

    /// Loads a key from DER: PKCS#8, encrypted PKCS#8, SEC1 or PKCS#1.
    /// - Parameters:
    ///   - derRepresentation: The DER bytes.
    ///   - passphrase: The passphrase of an encrypted key.
    /// - Throws: As ``init(pemRepresentation:passphrase:)``.
    public init<D: DataProtocol>(derRepresentation: D, passphrase: String? = nil) throws {
        let core = try ModuleRuntime.operational()
        storage = try withContiguous(derRepresentation) { try PrivateKeyStorage.decode(core: core, $0, pem: false, passphrase: passphrase) }
    }

    /// Wraps a P-256 key.
    /// - Parameter key: The key.
    public init(_ key: P256.Signing.PrivateKey) { storage = key.storage }
    /// Wraps a P-384 key.
    /// - Parameter key: The key.
    public init(_ key: P384.Signing.PrivateKey) { storage = key.storage }
    /// Wraps a P-521 key.
    /// - Parameter key: The key.
    public init(_ key: P521.Signing.PrivateKey) { storage = key.storage }
    /// Wraps an RSA key.
    /// - Parameter key: The key.
    public init(_ key: RSA.Signing.PrivateKey) { storage = key.storage }

    /// The key's kind.
    public var kind: Kind { Kind(shape: storage.shape) }

    /// The public key's SubjectPublicKeyInfo DER.
    public var publicKeyDER: Data { storage.publicKey.spki }

    /// The public key.
    public var publicKey: SigningPublicKey { SigningPublicKey(storage: storage.publicKey) }

    /// The key as PEM PKCS#8, encrypted when a passphrase is given.
    ///
    /// Encryption is PBES2 with PBKDF2-HMAC-SHA-256 (a random 128-bit salt, ``defaultEncryptionIterations``
    /// rounds) and AES-256-CBC, computed in the module's library context.
    /// - Parameter passphrase: `nil` for `PRIVATE KEY`; otherwise at least 8 bytes, for `ENCRYPTED PRIVATE KEY`.
    /// - Returns: The PEM text. Unencrypted, it is secret: handle with care.
    /// - Throws: ``FIPSError/Code/notApproved`` for a passphrase shorter than 8 bytes; ``FIPSError`` if OpenSSL fails.
    public func pemRepresentation(passphrase: String? = nil) throws -> String {
        try pemRepresentation(passphrase: passphrase, iterations: SigningPrivateKey.defaultEncryptionIterations)
    }

    /// As ``pemRepresentation(passphrase:)`` with an explicit PBKDF2 iteration count (tests use fewer rounds;
    /// never fewer than ``ApprovedPolicy/minimumPBKDF2Iterations``).
    package func pemRepresentation(passphrase: String?, iterations: Int) throws -> String {
        guard let passphrase else { return storage.pemRepresentation }
        try ApprovedPolicy.require(passphrase.utf8.count >= 8, "PBKDF2", "passphrase shorter than 8 bytes")
        try ApprovedPolicy.require(iterations >= ApprovedPolicy.minimumPBKDF2Iterations, "PBKDF2",
                                   "\(iterations) iterations is below the minimum of \(ApprovedPolicy.minimumPBKDF2Iterations)")
        let core = try ModuleRuntime.operational()
        let der = try withPassphraseBytes(passphrase) { pass in
            try PKeyEngine.encryptedPrivateKeyInfoDER(core: core, storage.pkey, passphrase: pass!, iterations: iterations)
        }
        return pemEncode(der, label: "ENCRYPTED PRIVATE KEY")
    }

    /// Signs `data` with the key's default scheme: ECDSA with the curve's digest (DER signature), or RSA-PSS
    /// with SHA-256.
    /// - Parameter data: The message.
    /// - Returns: The signature (DER `ECDSA-Sig-Value` or the RSA signature bytes).
    /// - Throws: ``FIPSError`` if the module is not operational or OpenSSL fails.
    public func signature<D: DataProtocol>(for data: D) throws -> Data {
        let core = try ModuleRuntime.operational()
        let rsa: RSAPaddingMode? = { if case .rsa = storage.shape { return .pss } else { return nil } }()
        return Data(try withContiguous(data) { try storage.sign(core: core, digest: storage.shape.defaultDigest, rsaPadding: rsa, message: $0) })
    }

    /// Calls `body` with the key's `EVP_PKEY *` (owned by this value; valid only inside `body`).
    package func withPKey<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage.pkey) { try body(storage.pkey.pointer) }
    }

    /// Redacted: `SigningPrivateKey(p256, redacted)`.
    public var description: String { "SigningPrivateKey(\(kind), redacted)" }
    /// Redacted, as ``description``.
    public var debugDescription: String { description }
}

/// A type-erased approved signing public key (ECDSA P-256/384/521 or RSA ≥ 2048).
public struct SigningPublicKey: Sendable, CustomStringConvertible {
    let storage: PublicKeyStorage

    init(storage: PublicKeyStorage) { self.storage = storage }

    /// Loads a SubjectPublicKeyInfo DER.
    /// - Parameter derRepresentation: The DER bytes.
    /// - Throws: ``FIPSError/Code/invalidEncoding`` or ``FIPSError/Code/notApproved`` (a key outside the policy).
    public init<D: DataProtocol>(derRepresentation: D) throws {
        let core = try ModuleRuntime.operational()
        storage = try withContiguous(derRepresentation) { try PublicKeyStorage.decode(core: core, $0, pem: false) }
    }

    /// Loads a SubjectPublicKeyInfo `PUBLIC KEY` PEM.
    /// - Parameter pemRepresentation: The PEM text.
    /// - Throws: As ``init(derRepresentation:)``.
    public init(pemRepresentation: String) throws {
        let core = try ModuleRuntime.operational()
        storage = try PublicKeyStorage.decode(core: core, pem: pemRepresentation)
    }

    /// Wraps a P-256 public key.
    /// - Parameter key: The key.
    public init(_ key: P256.Signing.PublicKey) { storage = key.storage }
    /// Wraps a P-384 public key.
    /// - Parameter key: The key.
    public init(_ key: P384.Signing.PublicKey) { storage = key.storage }
    /// Wraps a P-521 public key.
    /// - Parameter key: The key.
    public init(_ key: P521.Signing.PublicKey) { storage = key.storage }
    /// Wraps an RSA public key.
    /// - Parameter key: The key.
    public init(_ key: RSA.Signing.PublicKey) { storage = key.storage }

    /// The SubjectPublicKeyInfo DER.
    public var derRepresentation: Data { storage.spki }
    /// The SubjectPublicKeyInfo `PUBLIC KEY` PEM.
    public var pemRepresentation: String { storage.pemRepresentation }
    /// The key's kind.
    public var kind: SigningPrivateKey.Kind { SigningPrivateKey.Kind(shape: storage.shape) }

    /// Whether `signature` verifies over `data` under the key's default scheme (as
    /// ``SigningPrivateKey/signature(for:)`` makes it: ECDSA DER with the curve's digest, or RSA-PSS SHA-256).
    /// - Parameters:
    ///   - signature: The signature.
    ///   - data: The message.
    /// - Returns: `true` only if it verifies (`false` also when the module is not operational).
    public func isValidSignature<S: DataProtocol, D: DataProtocol>(_ signature: S, for data: D) -> Bool {
        guard let core = try? ModuleRuntime.operational() else { return false }
        let rsa: RSAPaddingMode? = { if case .rsa = storage.shape { return .pss } else { return nil } }()
        return withContiguous(signature) { sig in
            withContiguous(data) { storage.verify(core: core, digest: storage.shape.defaultDigest, rsaPadding: rsa, signature: sig, message: $0) }
        }
    }

    /// Calls `body` with the key's `EVP_PKEY *` (owned by this value; valid only inside `body`).
    package func withPKey<R>(_ body: (OpaquePointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage.pkey) { try body(storage.pkey.pointer) }
    }

    /// `SigningPublicKey(p256, sha256:<first 16 bytes of SHA-256(SPKI)>)`.
    public var description: String { "SigningPublicKey(\(kind), sha256:\(storage.fingerprint))" }
}
