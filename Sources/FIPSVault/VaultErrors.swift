import FIPSCrypto

extension FIPSError.Code {
    /// No credential has the given name.
    public static let credentialNotFound = FIPSError.Code("credentialNotFound")
    /// A credential with the given name already exists.
    public static let credentialExists = FIPSError.Code("credentialExists")
    /// SQLite failed; the reason carries SQLite's message (never a secret value).
    public static let databaseFailure = FIPSError.Code("databaseFailure")
    /// A credential's name, kind, labels or fields are not acceptable.
    public static let invalidCredential = FIPSError.Code("invalidCredential")
}
