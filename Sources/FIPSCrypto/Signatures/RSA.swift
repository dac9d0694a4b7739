import Foundation

/// RSA, restricted to what the policy approves.
public enum RSA {
    /// RSA signatures (FIPS 186-5) with SHA-256: RSASSA-PSS (salt length = digest length) or PKCS#1 v1.5.
    ///
    /// Moduli below 2048 bits are refused with ``FIPSError/Code/notApproved``; new keys are 2048, 3072 or 4096 bits.
    public enum Signing {
        /// The size of a new RSA key.
        public struct KeySize: Sendable, Hashable {
            /// The modulus size in bits.
            public let bitCount: Int
            init(bitCount: Int) { self.bitCount = bitCount }
            /// 2048 bits.
            public static let bits2048 = KeySize(bitCount: 2048)
            /// 3072 bits.
            public static let bits3072 = KeySize(bitCount: 3072)
            /// 4096 bits.
            public static let bits4096 = KeySize(bitCount: 4096)
        }

        /// The signature padding.
        public struct Padding: Sendable, Hashable {
            let mode: RSAPaddingMode
            /// RSASSA-PSS with MGF1-SHA-256 and a 32-byte salt (salt length = digest length). The default.
            public static let PSS = Padding(mode: .pss)
            /// RSASSA-PKCS1-v1_5. Approved, but deterministic and without a security proof; prefer ``PSS``
            /// unless a peer (an X.509 chain, a TLS 1.2 client) needs it.
            public static let insecurePKCS1v1_5 = Padding(mode: .pkcs1v15)
        }

        /// An RSA private key. Its `description` is redacted.
        public struct PrivateKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
            let storage: PrivateKeyStorage

            init(storage: PrivateKeyStorage) { self.storage = storage }

            /// Generates a key in the module's library context.
            /// - Parameter keySize: 2048, 3072 or 4096 bits.
            /// - Throws: ``FIPSError/Code/notApproved`` for another size, or ``FIPSError`` if the module is not
            ///   operational or generation fails.
            public init(keySize: KeySize) throws {
                try SignaturePolicy.checkGenerate(.rsa(bits: keySize.bitCount))
                let core = try ModuleRuntime.operational()
                storage = try PrivateKeyStorage.generate(core: core, .rsa(bits: keySize.bitCount))
            }

            /// Loads a key from PEM: PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`.
            /// - Parameter pemRepresentation: The PEM text.
            /// - Throws: ``FIPSError/Code/invalidEncoding``, ``FIPSError/Code/notApproved`` (a modulus below
            ///   2048 bits or a type outside the policy), ``FIPSError/Code/invalidParameter`` (an EC key),
            ///   ``FIPSError/Code/wrongPassphrase`` (an encrypted key: use ``SigningPrivateKey``).
            public init(pemRepresentation: String) throws {
                let core = try ModuleRuntime.operational()
                try self.init(checking: try PrivateKeyStorage.decode(core: core, pem: pemRepresentation, passphrase: nil))
            }

            /// Loads a key from DER: PKCS#8 `PrivateKeyInfo` (or PKCS#1 `RSAPrivateKey`).
            /// - Parameter derRepresentation: The DER bytes.
            /// - Throws: As ``init(pemRepresentation:)``.
            public init<D: DataProtocol>(derRepresentation: D) throws {
                let core = try ModuleRuntime.operational()
                try self.init(checking: try withContiguous(derRepresentation) {
                    try PrivateKeyStorage.decode(core: core, $0, pem: false, passphrase: nil)
                })
            }

            private init(checking s: PrivateKeyStorage) throws {
                try s.requireShape({ if case .rsa = $0 { return true } else { return false } }, "an RSA key")
                storage = s
            }

            /// The PKCS#8 `PRIVATE KEY` PEM. Secret: handle with care.
            public var pemRepresentation: String { storage.pemRepresentation }
            /// The PKCS#8 `PrivateKeyInfo` DER. Secret: handle with care.
            public var derRepresentation: Data { storage.derRepresentation }
            /// The matching public key.
            public var publicKey: PublicKey { PublicKey(storage: storage.publicKey) }
            /// The modulus size in bits.
            public var keySizeInBits: Int { PKeyEngine.bits(storage.pkey) }

            /// Signs `data` with SHA-256 and the given padding.
            /// - Parameters:
            ///   - data: The message.
            ///   - padding: ``Padding/PSS`` (default) or ``Padding/insecurePKCS1v1_5``.
            /// - Returns: The signature (as long as the modulus).
            /// - Throws: ``FIPSError`` if the module is not operational or OpenSSL fails.
            public func signature<D: DataProtocol>(for data: D, padding: Padding = .PSS) throws -> RSASignature {
                let core = try ModuleRuntime.operational()
                let sig = try withContiguous(data) { try storage.sign(core: core, digest: .sha256, rsaPadding: padding.mode, message: $0) }
                return RSASignature(rawRepresentation: sig)
            }

            /// Redacted: `RSA PrivateKey(2048 bits, redacted)`.
            public var description: String { "RSA PrivateKey(\(keySizeInBits) bits, redacted)" }
            /// Redacted, as ``description``.
            public var debugDescription: String { description }
        }

        /// An RSA public key. Its `description` shows a SHA-256 fingerprint of the SubjectPublicKeyInfo.
        public struct PublicKey: Sendable, CustomStringConvertible {
            let storage: PublicKeyStorage

            init(storage: PublicKeyStorage) { self.storage = storage }

            /// Loads a SubjectPublicKeyInfo `PUBLIC KEY` PEM.
            /// - Parameter pemRepresentation: The PEM text.
            /// - Throws: ``FIPSError/Code/invalidEncoding``, ``FIPSError/Code/notApproved`` (modulus below 2048
            ///   bits, a type outside the policy) or ``FIPSError/Code/invalidParameter`` (an EC key).
            public init(pemRepresentation: String) throws {
                let core = try ModuleRuntime.operational()
                try self.init(checking: try PublicKeyStorage.decode(core: core, pem: pemRepresentation))
            }

            /// Loads a SubjectPublicKeyInfo DER.
            /// - Parameter derRepresentation: The DER bytes.
            /// - Throws: As ``init(pemRepresentation:)``.
            public init<D: DataProtocol>(derRepresentation: D) throws {
                let core = try ModuleRuntime.operational()
                try self.init(checking: try withContiguous(derRepresentation) { try PublicKeyStorage.decode(core: core, $0, pem: false) })
            }

            private init(checking s: PublicKeyStorage) throws {
                try s.requireShape({ if case .rsa = $0 { return true } else { return false } }, "an RSA key")
                storage = s
            }

            /// The SubjectPublicKeyInfo `PUBLIC KEY` PEM.
            public var pemRepresentation: String { storage.pemRepresentation }
            /// The SubjectPublicKeyInfo DER.
            public var derRepresentation: Data { storage.spki }
            /// The modulus size in bits.
            public var keySizeInBits: Int { PKeyEngine.bits(storage.pkey) }

            /// Whether `signature` is a valid SHA-256 RSA signature over `data` with the given padding.
            /// - Parameters:
            ///   - signature: The signature.
            ///   - data: The message.
            ///   - padding: ``Padding/PSS`` (default, salt length must be 32) or ``Padding/insecurePKCS1v1_5``.
            /// - Returns: `true` only if the signature verifies (`false` also when the module is not operational).
            public func isValidSignature<D: DataProtocol>(_ signature: RSASignature, for data: D, padding: Padding = .PSS) -> Bool {
                guard let core = try? ModuleRuntime.operational() else { return false }
                return signature.rawRepresentation.withUnsafeBytes { sig in
                    withContiguous(data) { storage.verify(core: core, digest: .sha256, rsaPadding: padding.mode, signature: sig, message: $0) }
                }
            }

            /// `RSA PublicKey(2048 bits, sha256:<first 16 bytes of SHA-256(SPKI)>)`.
            public var description: String { "RSA PublicKey(\(keySizeInBits) bits, sha256:\(storage.fingerprint))" }
        }

        /// An RSA signature: the big-endian integer, as long as the modulus.
        public struct RSASignature: Sendable, Hashable {
            /// The signature bytes.
            public let rawRepresentation: Data

            /// A signature from its bytes (any length is accepted here; a wrong length simply does not verify).
            /// - Parameter rawRepresentation: The signature bytes.
            public init<D: DataProtocol>(rawRepresentation: D) {
                self.rawRepresentation = Data(rawRepresentation)
            }
        }
    }
}
