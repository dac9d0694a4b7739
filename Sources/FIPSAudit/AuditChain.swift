import Foundation
import FIPSCrypto

extension FIPSError.Code {
    /// An audit file or record failed verification (edited, deleted, reordered, truncated, missing).
    public static let auditChainBroken = FIPSError.Code("auditChainBroken")
    /// The audit log's directory, files or state are unusable.
    public static let auditStorageFailure = FIPSError.Code("auditStorageFailure")
    /// The audit collector could not be reached or refused the data.
    public static let auditShippingFailure = FIPSError.Code("auditShippingFailure")
}

/// Signs audit checkpoints so anyone holding only the public key can check them (ECDSA P-384 in production).
public protocol AuditCheckpointSigner: Sendable {
    /// The signature algorithm's name recorded in checkpoints, e.g. `"ecdsa-p384-sha384"`.
    var algorithm: String { get }
    /// The public key as DER SubjectPublicKeyInfo; its SHA-256 is the fingerprint recorded in each checkpoint.
    var publicKeyDER: Data { get }
    /// Signs a checkpoint message.
    /// - Parameter message: The canonical checkpoint message.
    /// - Returns: The signature (DER).
    /// - Throws: ``FIPSError`` if signing fails.
    func signature(for message: Data) throws -> Data
}

/// Checks checkpoint signatures with a public key only.
public protocol AuditCheckpointVerifier: Sendable {
    /// The public key as DER SubjectPublicKeyInfo.
    var publicKeyDER: Data { get }
    /// Whether `signature` is valid for `message`.
    /// - Parameters:
    ///   - signature: The signature from the checkpoint.
    ///   - message: The canonical checkpoint message.
    /// - Returns: `true` if valid.
    func isValidSignature(_ signature: Data, for message: Data) -> Bool
}

/// The MAC chain's arithmetic, shared by the writer and the verifier.
///
/// - Epoch keys: `K_0` is the root key given to the log (from the keyring, purpose `"audit"`);
///   `K_{i+1} = HKDF-SHA-256(K_i, info: "audit-epoch")`. The writer keeps only the current epoch's key, so a thief
///   who takes it can forge records from this epoch on but cannot recompute earlier epochs' MACs.
/// - Record MAC: `HMAC-SHA-256(K_epoch, previous MAC || body)`, the first record's previous MAC being 32 zero bytes.
/// - Public chain: `H_n = SHA-384(H_{n-1} || line_n)` over the full lines; checkpoints sign `H` so the log can be
///   checked without any secret up to the last checkpoint.
public enum AuditChain {
    /// The HKDF info that evolves an epoch key.
    public static let epochInfo = Array("audit-epoch".utf8)
    /// The previous MAC of the very first record.
    static let genesisMAC = [UInt8](repeating: 0, count: 32)
    /// The chain hash before the very first record.
    static let genesisChain = [UInt8](repeating: 0, count: 48)

    /// The next epoch's key.
    /// - Parameter key: This epoch's key.
    /// - Returns: `HKDF-SHA-256(key, info: "audit-epoch")`, 32 bytes.
    /// - Throws: ``FIPSError`` if the module cannot serve.
    public static func nextEpochKey(_ key: SymmetricKey) throws -> SymmetricKey {
        try HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: epochInfo, outputByteCount: 32)
    }

    /// The key of epoch `target`, derived forward from the key of epoch `from`.
    /// - Parameters:
    ///   - key: The key of epoch `from`.
    ///   - from: Its epoch.
    ///   - target: The wanted epoch (at least `from`, at most a million epochs later).
    /// - Returns: The key.
    /// - Throws: ``FIPSError/Code/invalidParameter`` if `target` is earlier or too far; module failures.
    public static func epochKey(_ key: SymmetricKey, from: UInt64, to target: UInt64) throws -> SymmetricKey {
        guard target >= from, target - from <= 1_000_000 else {
            throw FIPSError(.invalidParameter, "audit epoch \(target) cannot be derived from epoch \(from)")
        }
        var k = key
        var e = from
        while e < target { k = try nextEpochKey(k); e += 1 }
        return k
    }

    /// One epoch's record-MAC key, keyed once: HMAC's key schedule runs once per epoch and every record's MAC
    /// reuses the keyed context.
    struct EpochMAC: ~Copyable {
        /// The epoch's key (sealed into the state file; evolved by ``next()``).
        let key: SymmetricKey
        private var context: HMACContext<SHA256>

        /// - Throws: ``FIPSError`` for a key the policy refuses or a module failure.
        init(key: SymmetricKey) throws {
            self.key = key
            context = try HMACContext<SHA256>(key: key)
        }

        /// `HMAC-SHA-256(K_epoch, previous MAC || body)`.
        mutating func mac(previous: [UInt8], body: UnsafeRawBufferPointer) throws -> [UInt8] {
            context.update(data: previous)
            context.update(bufferPointer: body)
            return try context.finalize().withUnsafeBytes { Array($0) }
        }

        /// The next epoch's MAC key.
        func next() throws -> EpochMAC { try EpochMAC(key: AuditChain.nextEpochKey(key)) }
    }

    /// `H_n = SHA-384(H_{n-1} || line_n)`, on a hasher the caller keeps for the next line.
    static func chain(previous: [UInt8], line: UnsafeRawBufferPointer, hasher: inout DigestContext<SHA384>) throws -> [UInt8] {
        hasher.update(data: previous)
        hasher.update(bufferPointer: line)
        return try hasher.finalize().bytes
    }

    /// The canonical message a checkpoint signs.
    static func checkpointMessage(sequence: UInt64, chain: [UInt8], mac: [UInt8]) -> Data {
        Data("fipsaudit-checkpoint-v1\n\(sequence)\n\(Hex.encode(chain))\n\(Hex.encode(mac))\n".utf8)
    }

    /// The fingerprint of a checkpoint public key: lowercase hex SHA-256 of its DER.
    /// - Parameter publicKeyDER: The DER SubjectPublicKeyInfo.
    /// - Returns: 64 hex digits.
    public static func fingerprint(_ publicKeyDER: Data) -> String {
        Hex.encode(SHA256.hash(data: publicKeyDER))
    }
}
