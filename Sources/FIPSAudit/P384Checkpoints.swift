import Foundation
import FIPSCrypto

/// Signs audit checkpoints with ECDSA P-384 over SHA-384 (FIPS 186-5), DER signatures.
public struct P384CheckpointSigner: AuditCheckpointSigner {
    /// The signing key.
    public let privateKey: P384.Signing.PrivateKey

    /// Creates a signer.
    /// - Parameter privateKey: The P-384 key (kept on the host; its public key verifies the checkpoints).
    public init(privateKey: P384.Signing.PrivateKey) { self.privateKey = privateKey }

    /// `"ecdsa-p384-sha384"`.
    public var algorithm: String { "ecdsa-p384-sha384" }

    /// The public key's SubjectPublicKeyInfo DER.
    public var publicKeyDER: Data { privateKey.publicKey.derRepresentation }

    /// Signs a checkpoint message.
    /// - Parameter message: The canonical checkpoint message.
    /// - Returns: The DER-encoded ECDSA signature.
    /// - Throws: ``FIPSError`` if the module cannot sign.
    public func signature(for message: Data) throws -> Data {
        try privateKey.signature(for: message).derRepresentation
    }
}

/// Checks audit checkpoints with a P-384 public key only (no secret).
public struct P384CheckpointVerifier: AuditCheckpointVerifier {
    /// The public key.
    public let publicKey: P384.Signing.PublicKey

    /// Creates a verifier.
    /// - Parameter publicKey: The checkpoint public key.
    public init(publicKey: P384.Signing.PublicKey) { self.publicKey = publicKey }

    /// Creates a verifier from a PEM public key (`audit-checkpoint.pub`).
    /// - Parameter pemRepresentation: `-----BEGIN PUBLIC KEY-----` ...
    /// - Throws: ``FIPSError`` if it is not a P-384 public key.
    public init(pemRepresentation: String) throws { publicKey = try P384.Signing.PublicKey(pemRepresentation: pemRepresentation) }

    /// The public key's SubjectPublicKeyInfo DER.
    public var publicKeyDER: Data { publicKey.derRepresentation }

    /// Whether `signature` (DER) is a valid P-384/SHA-384 signature of `message`.
    /// - Parameters:
    ///   - signature: The DER signature.
    ///   - message: The message.
    /// - Returns: `true` if valid.
    public func isValidSignature(_ signature: Data, for message: Data) -> Bool {
        guard let s = try? P384.Signing.ECDSASignature(derRepresentation: signature) else { return false }
        return publicKey.isValidSignature(s, for: message)
    }
}
