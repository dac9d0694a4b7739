import FIPSCrypto

extension FIPSError.Code {
    /// The private key does not belong to the leaf certificate (its public key differs).
    public static let certificateKeyMismatch = FIPSError.Code("certificateKeyMismatch")
    /// A certificate chain is empty, out of order, or a certificate is not signed by the next one.
    public static let certificateChainInvalid = FIPSError.Code("certificateChainInvalid")
    /// A certificate's `notAfter` is in the past.
    public static let certificateExpired = FIPSError.Code("certificateExpired")
    /// A certificate's `notBefore` is in the future.
    public static let certificateNotYetValid = FIPSError.Code("certificateNotYetValid")
    /// The certificate's subject alternative names do not cover a required host name or address.
    public static let certificateNameMismatch = FIPSError.Code("certificateNameMismatch")
    /// A certificate uses a key type, key size or signature hash outside the approved policy
    /// (RSA < 2048, curves other than P-256/P-384/P-521, SHA-1, ...).
    public static let certificateNotApproved = FIPSError.Code("certificateNotApproved")
    /// A certificate request (builder settings, names, validity) is invalid: e.g. a leaf valid for more than
    /// 398 days, an empty common name, a malformed DNS name or IP address.
    public static let certificateRequestInvalid = FIPSError.Code("certificateRequestInvalid")
    /// The certificate store holds no certificate, or an incomplete one.
    public static let certificateNotFound = FIPSError.Code("certificateNotFound")
}
