import Foundation
import FIPSCrypto

/// The vault's ``SecretSealer`` over the module's `Keyring`: envelopes under the context label
/// `fipsvault.credential.v1`, with the row's identity as associated data.
struct KeyringSealer: SecretSealer {
    /// The keyring context label of every vault secret field.
    static let context = "fipsvault.credential.v1"

    let keyring: Keyring

    var primaryVersion: Int { keyring.primaryVersion }

    func seal(_ plaintext: Data, aad: Data) throws -> Data {
        try keyring.encrypt(plaintext, context: Self.context, authenticating: aad)
    }

    func open(_ envelope: Data, aad: Data) throws -> Data {
        try keyring.decrypt(envelope, context: Self.context, authenticating: aad)
    }

    func rewrap(_ envelope: Data, aad: Data, toVersion: Int) throws -> Data {
        try keyring.rewrap(envelope, context: Self.context, authenticating: aad, toVersion: toVersion)
    }

    func version(of envelope: Data) throws -> Int {
        try Keyring.keyVersion(of: envelope)
    }
}

extension CredentialVault {
    /// Opens (creating if needed) a vault database whose secret fields are sealed with `keyring`.
    ///
    /// The database file is created 0600 (its directory 0700 if the vault creates it); an existing file that group
    /// or others can access is refused.
    /// - Parameters:
    ///   - path: The database file.
    ///   - keyring: Seals and opens the secret fields (context label `fipsvault.credential.v1`).
    ///   - busyTimeout: How long to wait for another process's write lock before failing (default 10 s).
    /// - Throws: ``FIPSError/Code/insecurePermissions``, ``FIPSError/Code/unsupportedFormat`` (a newer schema),
    ///   ``FIPSError/Code/databaseFailure``, or ``FIPSError/Code/ioFailure``.
    public convenience init(path: String, keyring: Keyring, busyTimeout: Duration = .seconds(10)) throws {
        try self.init(path: path, sealer: KeyringSealer(keyring: keyring), busyTimeout: busyTimeout)
    }
}
