import Foundation
internal import COpenSSL

extension ModuleCore {
    /// The fetched `EVP_MD` for a digest algorithm.
    func md(_ algorithm: DigestAlgorithm) -> OpaquePointer {
        switch algorithm.byteCount {
        case 32: return sha256
        case 48: return sha384
        default: return sha512
        }
    }
}

/// One-shot and incremental hashing over the module's fetched digests.
enum DigestEngine {
    static func oneShot(core: ModuleCore, _ algorithm: DigestAlgorithm, _ data: UnsafeRawBufferPointer) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: algorithm.byteCount)
        var len: UInt32 = 0
        try check(EVP_Digest(data.baseAddress, data.count, &out, &len, core.md(algorithm), nil), "EVP_Digest(\(algorithm))")
        return out
    }
}
