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

/// An `EVP_MD_CTX` with value semantics: copied (`EVP_MD_CTX_copy_ex`) before a shared state is mutated.
struct DigestState: @unchecked Sendable {
    final class Box {
        let ctx: OpaquePointer
        init(_ ctx: OpaquePointer) { self.ctx = ctx }
        deinit { EVP_MD_CTX_free(ctx) }
    }
    private var box: Box
    let algorithm: DigestAlgorithm

    init(_ algorithm: DigestAlgorithm) {
        self.algorithm = algorithm
        do {
            let core = try ModuleRuntime.operational()
            guard let ctx = EVP_MD_CTX_new() else { throw FIPSError.openSSL("EVP_MD_CTX_new") }
            box = Box(ctx)
            try check(EVP_DigestInit_ex2(ctx, core.md(algorithm), nil), "EVP_DigestInit_ex2(\(algorithm))")
        } catch {
            preconditionFailure("\(algorithm) hasher needs an operational module: \(error)")
        }
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        if !isKnownUniquelyReferenced(&box) {
            guard let copy = EVP_MD_CTX_new(), EVP_MD_CTX_copy_ex(copy, box.ctx) == 1 else {
                preconditionFailure("EVP_MD_CTX_copy_ex failed: \(drainOpenSSLErrors())")
            }
            box = Box(copy)
        }
        guard bytes.count > 0 else { return }
        if EVP_DigestUpdate(box.ctx, bytes.baseAddress, bytes.count) != 1 {
            preconditionFailure("EVP_DigestUpdate failed: \(drainOpenSSLErrors())")
        }
    }

    func finalize() -> [UInt8] {
        guard let copy = EVP_MD_CTX_new() else { preconditionFailure("EVP_MD_CTX_new failed") }
        defer { EVP_MD_CTX_free(copy) }
        var out = [UInt8](repeating: 0, count: algorithm.byteCount)
        var len: UInt32 = 0
        guard EVP_MD_CTX_copy_ex(copy, box.ctx) == 1, EVP_DigestFinal_ex(copy, &out, &len) == 1 else {
            preconditionFailure("EVP_DigestFinal_ex failed: \(drainOpenSSLErrors())")
        }
        return out
    }
}
