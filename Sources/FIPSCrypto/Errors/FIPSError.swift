/// The one error type of swift-fips-crypto.
///
/// Modelled on swift-certificates' `CertificateError`: a struct with an extensible ``Code`` (compare with
/// `error.code == .authenticationFailure`), a human ``reason`` that never contains secret material, the OpenSSL
/// error queue drained at the moment of failure, and the source location that raised it.
public struct FIPSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as an open set of named values.
    ///
    /// New codes are added as static members; switch over them with a `default` case.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The stable identifier of the code, e.g. `"authenticationFailure"`.
        public let identifier: String

        /// Creates a code from its identifier. Modules above the core add their own codes this way.
        /// - Parameter identifier: A stable, camel-case name.
        public init(_ identifier: String) { self.identifier = identifier }

        /// The identifier.
        public var description: String { identifier }

        /// No FIPS provider (or no usable OpenSSL configuration for one) was found.
        public static let providerUnavailable = Code("providerUnavailable")
        /// The FIPS provider's integrity check failed: `fipsmodule.cnf` does not match this `fips.so`.
        public static let integrityCheckFailed = Code("integrityCheckFailed")
        /// An OpenSSL configuration file could not be read or parsed.
        public static let configurationInvalid = Code("configurationInvalid")
        /// A known-answer or consistency self-test failed; the module is now in its error state.
        public static let selfTestFailed = Code("selfTestFailed")
        /// The module failed earlier and refuses every service (fail closed).
        public static let moduleInErrorState = Code("moduleInErrorState")
        /// An algorithm fetched for the module did not come from the expected provider.
        public static let unexpectedProvider = Code("unexpectedProvider")
        /// The request names an algorithm or parameter outside the approved-services policy.
        public static let notApproved = Code("notApproved")
        /// A key has the wrong size for the algorithm.
        public static let invalidKeySize = Code("invalidKeySize")
        /// A nonce, IV or tag has the wrong size.
        public static let invalidParameter = Code("invalidParameter")
        /// Authentication failed: the ciphertext, tag, associated data or key does not match.
        public static let authenticationFailure = Code("authenticationFailure")
        /// Encoded input (PEM, DER, an envelope, a keystore) is malformed.
        public static let invalidEncoding = Code("invalidEncoding")
        /// A usage limit (for example SP 800-38D's 2^32 AES-GCM invocations per key) is reached.
        public static let usageLimitExceeded = Code("usageLimitExceeded")
        /// The DRBG failed to produce output.
        public static let randomFailure = Code("randomFailure")
        /// A signature did not verify.
        public static let invalidSignature = Code("invalidSignature")
        /// A key version is unknown to the keyring.
        public static let unknownKeyVersion = Code("unknownKeyVersion")
        /// A key version is below the keyring's minimum decryption version (too old, not tampered).
        public static let keyVersionTooOld = Code("keyVersionTooOld")
        /// A key version is retired or destroyed and may not be used for this operation.
        public static let keyVersionUnavailable = Code("keyVersionUnavailable")
        /// A keyring operation is not valid in the keyring's current state.
        public static let invalidKeyringState = Code("invalidKeyringState")
        /// An envelope or file names a format version this build does not know.
        public static let unsupportedFormat = Code("unsupportedFormat")
        /// A file or directory holding secrets has permissions or an owner that expose it.
        public static let insecurePermissions = Code("insecurePermissions")
        /// A file system or I/O operation failed.
        public static let ioFailure = Code("ioFailure")
        /// Any other OpenSSL failure; ``FIPSError/openSSLErrors`` says what OpenSSL reported.
        public static let openSSLFailure = Code("openSSLFailure")
    }

    /// One entry of OpenSSL's thread-local error queue.
    public struct OpenSSLErrorRecord: Hashable, Sendable, CustomStringConvertible {
        /// The packed OpenSSL error code.
        public var code: UInt
        /// The library that raised it, e.g. `"Provider routines"`.
        public var library: String
        /// The reason string, e.g. `"invalid key length"`.
        public var reason: String
        /// The OpenSSL function that raised it.
        public var function: String
        /// OpenSSL's source file and line.
        public var file: String
        /// OpenSSL's source line.
        public var line: Int
        /// Extra data OpenSSL attached to the error (never key material).
        public var data: String

        /// Creates a record; used by the C boundary when it drains the queue.
        public init(code: UInt, library: String, reason: String, function: String, file: String, line: Int, data: String) {
            self.code = code; self.library = library; self.reason = reason
            self.function = function; self.file = file; self.line = line; self.data = data
        }

        /// `library: reason (function, file:line) data`.
        public var description: String {
            var s = "\(library): \(reason) (\(function), \(file):\(line))"
            if !data.isEmpty { s += " \(data)" }
            return s
        }
    }

    /// What went wrong.
    public var code: Code
    /// A sentence for a person: what failed and, where there is one, what to do. Never holds secrets.
    public var reason: String
    /// OpenSSL's error queue at the moment of failure, oldest first (empty when OpenSSL was not involved).
    public var openSSLErrors: [OpenSSLErrorRecord]
    /// The Swift source file that raised the error.
    public var file: String
    /// The Swift source line that raised the error.
    public var line: UInt

    /// Creates an error.
    /// - Parameters:
    ///   - code: What went wrong.
    ///   - reason: A sentence for a person, free of secrets.
    ///   - openSSLErrors: The drained OpenSSL error queue, if any.
    public init(_ code: Code, _ reason: String, openSSLErrors: [OpenSSLErrorRecord] = [],
                file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.reason = reason
        self.openSSLErrors = openSSLErrors
        self.file = file
        self.line = line
    }

    /// `code: reason`, followed by OpenSSL's errors when there are any.
    public var description: String {
        var s = "\(code): \(reason)"
        for e in openSSLErrors { s += "\n  openssl: \(e)" }
        return s
    }
}
