import Foundation

extension FIPSError.Code {
    /// An envelope was sealed under a different context label than the one given to open it.
    public static let contextMismatch = FIPSError.Code("contextMismatch")
    /// An envelope's key commitment does not match the keyring's key for its version and context: it was sealed by
    /// another keyring (a different key under the same version number), or its header was modified.
    public static let keyCommitmentMismatch = FIPSError.Code("keyCommitmentMismatch")
}

/// The keyring envelope's wire layout (format version 1). Documented in docs/FORMAT.md.
///
/// ```
/// offset size  field
///  0      4    magic "FCEv" (0x46 0x43 0x45 0x76)
///  4      1    format version = 1
///  5      4    key version, UInt32 big-endian (1 ... 2^32 - 1)
///  9      4    context tag: the first 4 bytes of SHA-256(context label, UTF-8) — diagnostics, not security
/// 13     32    key commitment for (key version, context), from HKDF-SHA-256 over the version key
/// 45     12    AES-GCM nonce (generated inside the provider)
/// 57      n    ciphertext
/// 57+n   16    AES-GCM tag
/// ```
/// The AES-GCM additional data is the 45-byte header followed by the caller's additional data.
enum EnvelopeFormat {
    static let magic: [UInt8] = [0x46, 0x43, 0x45, 0x76]          // "FCEv"
    static let version: UInt8 = 1
    static let contextTagCount = 4
    static let commitmentCount = 32
    static let headerCount = 4 + 1 + 4 + contextTagCount + commitmentCount   // 45
    static let overhead = headerCount + AES.GCM.overhead                     // 73

    /// HKDF-SHA-256 info prefix for the envelope's encryption subkey and commitment (one 64-byte output:
    /// bytes 0..<32 the AES-256 subkey, 32..<64 the commitment). Followed by 0x00, UInt32BE(version), context UTF-8.
    static let envelopeInfoLabel = Array("FIPSCrypto keyring envelope v1".utf8)
    /// HKDF-SHA-256 info prefix for ``Keyring/deriveKey(purpose:version:byteCount:)``.
    /// Followed by 0x00, UInt32BE(version), purpose UTF-8.
    static let derivedKeyInfoLabel = Array("FIPSCrypto keyring derived key v1".utf8)

    /// The parsed, not yet authenticated header.
    struct Header {
        let keyVersion: Int
        /// Offset of the context tag within the envelope.
        static let contextTagOffset = 9
        static let commitmentOffset = 13
    }

    /// Parses the header of `envelope` (structure only; nothing is authenticated yet).
    /// - Throws: ``FIPSError/Code/invalidEncoding`` (empty, truncated, bad magic, key version 0),
    ///   ``FIPSError/Code/unsupportedFormat`` (a format version other than 1).
    static func parseHeader(_ e: UnsafeRawBufferPointer) throws -> Header {
        guard !e.isEmpty else { throw FIPSError(.invalidEncoding, "the envelope is empty") }
        guard e.count >= 5 else {
            throw FIPSError(.invalidEncoding, "the envelope is truncated: \(e.count) bytes, at least \(overhead) needed")
        }
        guard e[0] == magic[0], e[1] == magic[1], e[2] == magic[2], e[3] == magic[3] else {
            throw FIPSError(.invalidEncoding, "not a keyring envelope (bad magic)")
        }
        guard e[4] == version else {
            throw FIPSError(.unsupportedFormat, "envelope format version \(e[4]) is not supported (this build reads version \(version))")
        }
        guard e.count >= overhead else {
            throw FIPSError(.invalidEncoding, "the envelope is truncated: \(e.count) bytes, at least \(overhead) needed")
        }
        let v = Int(readUInt32(e, at: 5))
        guard v >= 1 else { throw FIPSError(.invalidEncoding, "the envelope names key version 0, which never exists") }
        return Header(keyVersion: v)
    }

    /// Writes the 45-byte header to `out`.
    static func writeHeader(_ out: UnsafeMutableRawBufferPointer, keyVersion: Int, contextTag: [UInt8], commitment: [UInt8]) {
        out[0] = magic[0]; out[1] = magic[1]; out[2] = magic[2]; out[3] = magic[3]
        out[4] = version
        writeUInt32(out, at: 5, UInt32(keyVersion))
        for i in 0..<contextTagCount { out[9 + i] = contextTag[i] }
        for i in 0..<commitmentCount { out[13 + i] = commitment[i] }
    }

    /// HKDF info bytes: label ‖ 0x00 ‖ UInt32BE(version) ‖ label2.
    static func info(_ label: [UInt8], version: Int, _ tail: String) -> [UInt8] {
        var info = label
        info.append(0)
        info.append(contentsOf: [UInt8(truncatingIfNeeded: version >> 24), UInt8(truncatingIfNeeded: version >> 16),
                                 UInt8(truncatingIfNeeded: version >> 8), UInt8(truncatingIfNeeded: version)])
        info.append(contentsOf: Array(tail.utf8))
        return info
    }
}

@inline(__always)
func readUInt32(_ b: UnsafeRawBufferPointer, at i: Int) -> UInt32 {
    UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
}

@inline(__always)
func writeUInt32(_ b: UnsafeMutableRawBufferPointer, at i: Int, _ v: UInt32) {
    b[i] = UInt8(truncatingIfNeeded: v >> 24); b[i + 1] = UInt8(truncatingIfNeeded: v >> 16)
    b[i + 2] = UInt8(truncatingIfNeeded: v >> 8); b[i + 3] = UInt8(truncatingIfNeeded: v)
}
