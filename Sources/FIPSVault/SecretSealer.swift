import Foundation

/// What the vault needs from its key management: seal, open and re-seal secret fields with associated data.
///
/// The vault's one implementation is ``KeyringSealer`` (the module's `Keyring`); the protocol exists so the store's
/// SQL and bookkeeping do not depend on the keyring's envelope format. Internal on purpose.
protocol SecretSealer: Sendable {
    /// The version new seals use.
    var primaryVersion: Int { get }
    /// Seals `plaintext`, binding `aad`.
    func seal(_ plaintext: Data, aad: Data) throws -> Data
    /// Opens an envelope sealed with the same `aad`; throws if it does not authenticate.
    func open(_ envelope: Data, aad: Data) throws -> Data
    /// Re-seals an envelope under `toVersion` without returning its plaintext.
    func rewrap(_ envelope: Data, aad: Data, toVersion: Int) throws -> Data
    /// The key version an envelope names.
    func version(of envelope: Data) throws -> Int
}
