import FIPSCrypto

extension FIPSError.Code {
    /// A TLS handshake failed (protocol, suite, group or signature mismatch, a missing Extended Master Secret,
    /// or the peer closed the connection).
    public static let tlsHandshakeFailed = FIPSError.Code("tlsHandshakeFailed")
    /// A TLS peer's certificate did not verify against the trust roots or did not match the host name.
    public static let certificateVerificationFailed = FIPSError.Code("certificateVerificationFailed")
    /// A network connection could not be made, or failed while in use.
    public static let connectionFailed = FIPSError.Code("connectionFailed")
    /// A network operation did not finish within its timeout.
    public static let timedOut = FIPSError.Code("timedOut")
}
