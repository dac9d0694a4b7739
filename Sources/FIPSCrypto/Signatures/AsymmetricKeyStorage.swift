import Foundation

/// The one internal implementation behind every private signing key type (P256/P384/P521, RSA, type-erased).
///
/// Made only through ``generate(core:_:)`` or ``decode(core:_:pem:passphrase:)``, both of which classify the key
/// against the policy. The PKCS#8 encoding is kept in a zeroizing buffer so the encoding properties cannot fail.
struct PrivateKeyStorage: Sendable {
    let pkey: PKey
    let shape: KeyShape
    let pkcs8: SecureBytes
    let publicKey: PublicKeyStorage

    /// Generates a key in the module's library context (the policy is checked first).
    /// - Parameter audited: Raise a ``SecurityEvent`` (the public API does; the self-test's PCT key does not).
    static func generate(core: ModuleCore, _ shape: KeyShape, audited: Bool = true) throws -> PrivateKeyStorage {
        do {
            let key = try make(core: core, try PKeyEngine.generate(core: core, shape))
            if audited {
                SecurityEvents.emit(SecurityEvent(category: .keyManagement, action: "signing-key-generated", outcome: .success,
                                                  metadata: ["key.kind": shape.kindName, "key.fingerprint": key.publicKey.fingerprint]))
            }
            return key
        } catch let e as FIPSError {
            if audited { emitFailure(e, action: "signing-key-generate", kind: shape.kindName) }
            throw e
        }
    }

    /// Decodes PEM or DER (PKCS#8, encrypted PKCS#8, SEC1, PKCS#1) and checks the key against the policy.
    static func decode(core: ModuleCore, _ input: UnsafeRawBufferPointer, pem: Bool, passphrase: String?) throws -> PrivateKeyStorage {
        do {
            let pkey = try withPassphraseBytes(passphrase) { pass in
                try PKeyEngine.decodePrivate(core: core, input, pem: pem, passphrase: pass)
            }
            return try make(core: core, pkey)
        } catch let e as FIPSError {
            emitFailure(e, action: "private-key-load", kind: nil)
            throw e
        }
    }

    /// Decodes PEM text.
    static func decode(core: ModuleCore, pem: String, passphrase: String?) throws -> PrivateKeyStorage {
        var text = pem
        return try text.withUTF8 { try decode(core: core, UnsafeRawBufferPointer($0), pem: true, passphrase: passphrase) }
    }

    private static func make(core: ModuleCore, _ pkey: PKey) throws -> PrivateKeyStorage {
        let shape = try PKeyEngine.shape(of: pkey)
        let pkcs8 = try PKeyEngine.privateKeyInfoDER(pkey)
        let pub = try PKeyEngine.publicOnly(core: core, pkey)
        return PrivateKeyStorage(pkey: pkey, shape: shape, pkcs8: pkcs8,
                                 publicKey: PublicKeyStorage(pkey: pub, shape: shape, spki: try PKeyEngine.publicKeyDER(pub)))
    }

    /// Requires the key to have `expected` shape (a P-384 key is not a P256 key).
    func requireShape(_ matches: (KeyShape) -> Bool, _ expected: String) throws {
        guard matches(shape) else {
            throw FIPSError(.invalidParameter, "the key is \(shape.displayName), not \(expected)")
        }
    }

    var derRepresentation: Data { Data(pkcs8.bytes) }
    var pemRepresentation: String { pemEncode(pkcs8.bytes, label: "PRIVATE KEY") }

    func sign(core: ModuleCore, digest: DigestAlgorithm, rsaPadding: RSAPaddingMode?, message: UnsafeRawBufferPointer) throws -> [UInt8] {
        try PKeyEngine.sign(core: core, pkey, shape: shape, digest: digest, rsaPadding: rsaPadding, message: message)
    }
}

/// The one internal implementation behind every public signing key type.
struct PublicKeyStorage: Sendable {
    let pkey: PKey
    let shape: KeyShape
    let spki: Data

    /// Decodes a SubjectPublicKeyInfo (PEM or DER) and checks the key against the policy.
    static func decode(core: ModuleCore, _ input: UnsafeRawBufferPointer, pem: Bool) throws -> PublicKeyStorage {
        do {
            let pkey = try PKeyEngine.decodePublic(core: core, input, pem: pem)
            let shape = try PKeyEngine.shape(of: pkey)
            return PublicKeyStorage(pkey: pkey, shape: shape, spki: try PKeyEngine.publicKeyDER(pkey))
        } catch let e as FIPSError {
            emitFailure(e, action: "public-key-load", kind: nil)
            throw e
        }
    }

    static func decode(core: ModuleCore, pem: String) throws -> PublicKeyStorage {
        var text = pem
        return try text.withUTF8 { try decode(core: core, UnsafeRawBufferPointer($0), pem: true) }
    }

    /// An EC public key from its uncompressed X9.63 point.
    static func fromX963(core: ModuleCore, curve: ECCurve, _ point: UnsafeRawBufferPointer) throws -> PublicKeyStorage {
        let pkey = try PKeyEngine.ecPublicKey(core: core, curve: curve, point: point)
        let shape = try PKeyEngine.shape(of: pkey)
        return PublicKeyStorage(pkey: pkey, shape: shape, spki: try PKeyEngine.publicKeyDER(pkey))
    }

    func requireShape(_ matches: (KeyShape) -> Bool, _ expected: String) throws {
        guard matches(shape) else {
            throw FIPSError(.invalidParameter, "the key is \(shape.displayName), not \(expected)")
        }
    }

    var pemRepresentation: String { pemEncode(spki, label: "PUBLIC KEY") }

    func verify(core: ModuleCore, digest: DigestAlgorithm, rsaPadding: RSAPaddingMode?,
                signature: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> Bool {
        PKeyEngine.verify(core: core, pkey, shape: shape, digest: digest, rsaPadding: rsaPadding, signature: signature, message: message)
    }

    /// The first 16 bytes of SHA-256 over the SubjectPublicKeyInfo, in hex (for descriptions and logs).
    var fingerprint: String {
        guard let core = try? ModuleRuntime.operational(),
              let d = try? spki.withUnsafeBytes({ try DigestEngine.oneShot(core: core, .sha256, $0) }) else { return "unavailable" }
        return d.prefix(16).map { String(format: "%02x", $0) }.joined()
    }
}

extension KeyShape {
    /// The kind name: `"p256"`, `"rsa3072"`, ...
    var kindName: String {
        switch self {
        case .ec(let curve): return curve.kindName
        case .rsa(let bits): return "rsa\(bits)"
        }
    }

    /// `"a P-256 key"`, `"a 2048-bit RSA key"`.
    var displayName: String {
        switch self {
        case .ec(let curve): return "a \(curve.name) key"
        case .rsa(let bits): return "a \(bits)-bit RSA key"
        }
    }

    /// The digest used by default: the curve's for ECDSA, SHA-256 for RSA.
    var defaultDigest: DigestAlgorithm {
        switch self {
        case .ec(let curve): return curve.digest
        case .rsa: return .sha256
        }
    }
}

/// Raises a ``SecurityEvent`` for a policy refusal or a failed decryption (malformed input raises none: it is
/// not a security decision). The reason names algorithms and sizes only, never key material or passphrases.
func emitFailure(_ error: FIPSError, action: String, kind: String?) {
    let category: SecurityEvent.Category
    switch error.code {
    case .notApproved: category = .policyRefusal
    case .wrongPassphrase: category = .cryptoFailure
    default: return
    }
    var metadata: [String: String] = ["error.code": error.code.identifier]
    if let kind { metadata["key.kind"] = kind }
    SecurityEvents.emit(SecurityEvent(category: category, action: action, outcome: .failure, reason: error.reason, metadata: metadata))
}
