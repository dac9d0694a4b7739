/// The version of swift-fips-crypto.
public enum FIPSCryptoVersion {
    /// Semantic version of this package.
    public static let string = "0.1.0"
}
