import Foundation
internal import COpenSSL

/// A heap buffer for secret bytes that is wiped with `OPENSSL_cleanse` (whole capacity) when freed.
///
/// Immutable after creation; shared by reference, so copies of a key share one buffer and one wipe.
final class SecureBytes: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let count: Int

    /// Copies `bytes` into a new zeroizing buffer.
    init<B: ContiguousBytes>(copying bytes: B) {
        let (p, n) = bytes.withUnsafeBytes { raw -> (UnsafeMutableRawPointer, Int) in
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(raw.count, 1), alignment: 16)
            if raw.count > 0 { p.copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
            return (p, raw.count)
        }
        pointer = p; count = n
    }

    /// A buffer of `count` bytes filled by `fill`; wiped and freed if `fill` throws.
    init(count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
        do { try fill(UnsafeMutableRawBufferPointer(start: p, count: count)) } catch {
            OPENSSL_cleanse(p, max(count, 1)); p.deallocate(); throw error
        }
        pointer = p; self.count = count
    }

    deinit {
        OPENSSL_cleanse(pointer, max(count, 1))
        pointer.deallocate()
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: pointer, count: count) }

    /// Constant-time comparison (`CRYPTO_memcmp`); lengths are not secret.
    func constantTimeEquals(_ other: UnsafeRawBufferPointer) -> Bool {
        guard other.count == count else { return false }
        if count == 0 { return true }
        return CRYPTO_memcmp(pointer, other.baseAddress!, count) == 0
    }
}

/// Wipes a buffer with `OPENSSL_cleanse`, which the compiler may not elide (for temporary secret outputs). The
/// package's one wipe: FIPSAudit, FIPSCertificates and FIPSVault use it too.
package func secureZero(_ buffer: UnsafeMutableRawBufferPointer) {
    if let base = buffer.baseAddress, buffer.count > 0 { OPENSSL_cleanse(base, buffer.count) }
}

/// Wipes a `Data` value's bytes in place (only this buffer: a copy that shares storage is wiped too, a copy already
/// mutated elsewhere is not).
package func secureZero(_ data: inout Data) {
    data.withUnsafeMutableBytes { secureZero($0) }
}

/// Wipes an array's bytes in place.
package func secureZero(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { secureZero($0) }
}

/// Constant-time equality of two byte sequences of public length (`CRYPTO_memcmp`).
package func constantTimeEquals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    if a.count == 0 { return true }
    return CRYPTO_memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
}
