import Foundation
import FIPSCrypto

/// A certificate chain and the private key of its leaf: what a TLS server context needs.
///
/// The chain is leaf first, then each issuer in order (the order TLS sends it). The initializer checks that the
/// key belongs to the leaf. A TLS context uses ``leaf`` (`Certificate.withX509` → `SSL_CTX_use_certificate`), the
/// rest of ``chain`` (`SSL_CTX_add1_chain_cert`) and ``key`` (`withPKey` → `SSL_CTX_use_PrivateKey`).
public struct CertificatePair: Sendable {
    /// The chain, leaf first (at least one certificate).
    public let chain: [Certificate]
    /// The leaf's private key.
    public let key: SigningPrivateKey

    /// Creates a pair.
    /// - Parameters:
    ///   - chain: Leaf first, then its issuers.
    ///   - key: The leaf's private key.
    /// - Throws: ``FIPSError`` ``FIPSError/Code/certificateChainInvalid`` for an empty chain,
    ///   ``FIPSError/Code/certificateKeyMismatch`` if the key is not the leaf's.
    public init(chain: [Certificate], key: SigningPrivateKey) throws {
        guard let leaf = chain.first else { throw FIPSError(.certificateChainInvalid, "the certificate chain is empty") }
        guard leaf.box.matches(key: key) else {
            throw FIPSError(.certificateKeyMismatch, "the private key does not belong to the certificate '\(leaf.subject)' (its public key differs)")
        }
        self.chain = chain
        self.key = key
    }

    /// The leaf certificate (`chain[0]`).
    public var leaf: Certificate { chain[0] }

    /// The certificates after the leaf (intermediates, and a root if the chain carries one).
    public var intermediates: [Certificate] { Array(chain.dropFirst()) }

    /// The chain as PEM, leaf first.
    public var chainPEM: String { Certificate.pemRepresentation(of: chain) }

    /// The key as PKCS#8 PEM, encrypted under `passphrase` if one is given (PBES2, AES-256-CBC, PBKDF2-HMAC-SHA-256).
    /// - Parameter passphrase: The passphrase, or `nil` for an unencrypted key.
    /// - Returns: The PEM text. Treat it as a secret.
    /// - Throws: ``FIPSError`` from the key's encoder.
    public func keyPEM(passphrase: String? = nil) throws -> String { try key.pemRepresentation(passphrase: passphrase) }
}
