import Foundation
internal import COpenSSL

/// One OpenSSL context — an `EVP_MD_CTX` for the hashers (``SHA256`` ...) or a keyed HMAC `EVP_MAC_CTX` for the
/// incremental ``HMAC`` — with value semantics: a copy shares the context until one of them changes, which first
/// duplicates it; `finalize` works on a duplicate, so the value can go on being updated.
struct CopyOnWriteContext: @unchecked Sendable {
    // Sendable: a shared context is only read (duplicated); every change happens on a uniquely owned one.

    /// The calls that differ between digests and MACs.
    struct Operations {
        let name: String
        let duplicate: (OpaquePointer) -> OpaquePointer?
        let update: (OpaquePointer, UnsafeRawBufferPointer) -> Int32
        let final: (OpaquePointer, UnsafeMutableBufferPointer<UInt8>) -> Int32
        let free: (OpaquePointer) -> Void
    }

    final class Box {
        let ctx: OpaquePointer
        let operations: Operations
        init(_ ctx: OpaquePointer, _ operations: Operations) { self.ctx = ctx; self.operations = operations }
        deinit { operations.free(ctx) }
    }
    private var box: Box
    /// The output length in bytes.
    let outputCount: Int

    private static func duplicateDigest(_ ctx: OpaquePointer) -> OpaquePointer? {
        guard let copy = EVP_MD_CTX_new() else { return nil }
        guard EVP_MD_CTX_copy_ex(copy, ctx) == 1 else { EVP_MD_CTX_free(copy); return nil }
        return copy
    }

    /// A SHA-2 digest at the start of a message.
    static func digest(core: ModuleCore, _ algorithm: DigestAlgorithm) throws -> CopyOnWriteContext {
        guard let ctx = EVP_MD_CTX_new() else { throw FIPSError.openSSL("EVP_MD_CTX_new") }
        guard EVP_DigestInit_ex2(ctx, core.md(algorithm), nil) == 1 else {
            defer { EVP_MD_CTX_free(ctx) }
            throw FIPSError.openSSL("EVP_DigestInit_ex2(\(algorithm))")
        }
        return CopyOnWriteContext(ctx, outputCount: algorithm.byteCount, Operations(
            name: "\(algorithm)",
            duplicate: duplicateDigest,
            update: { ctx, bytes in EVP_DigestUpdate(ctx, bytes.baseAddress, bytes.count) },
            final: { ctx, out in var n: UInt32 = 0; return EVP_DigestFinal_ex(ctx, out.baseAddress, &n) },
            free: { ctx in EVP_MD_CTX_free(ctx) }))
    }

    /// An HMAC keyed with `key`, at the start of a message.
    static func hmac(core: ModuleCore, _ algorithm: DigestAlgorithm, key: SymmetricKey) throws -> CopyOnWriteContext {
        let ctx = try key.withUnsafeBytes { try MACEngine.keyedContext(core: core, algorithm, key: $0) }
        return CopyOnWriteContext(ctx, outputCount: algorithm.byteCount, Operations(
            name: "HMAC-\(algorithm)",
            duplicate: { ctx in EVP_MAC_CTX_dup(ctx) },
            update: { ctx, bytes in EVP_MAC_update(ctx, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count) },
            final: { ctx, out in var n = 0; return EVP_MAC_final(ctx, out.baseAddress, &n, out.count) },
            // EVP_MAC_CTX_free cleanses the key and the keyed digest states.
            free: { ctx in EVP_MAC_CTX_free(ctx) }))
    }

    private init(_ ctx: OpaquePointer, outputCount: Int, _ operations: Operations) {
        box = Box(ctx, operations)
        self.outputCount = outputCount
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        let operations = box.operations
        if !isKnownUniquelyReferenced(&box) {
            guard let copy = operations.duplicate(box.ctx) else {
                preconditionFailure("\(operations.name): duplicating the context failed: \(drainOpenSSLErrors())")
            }
            box = Box(copy, operations)
        }
        guard bytes.count > 0 else { return }
        if operations.update(box.ctx, bytes) != 1 {
            preconditionFailure("\(operations.name) update failed: \(drainOpenSSLErrors())")
        }
    }

    /// The result over everything added so far; the value itself is unchanged (a duplicate is finalized).
    func finalize() throws -> [UInt8] {
        let operations = box.operations
        guard let copy = operations.duplicate(box.ctx) else { throw FIPSError.openSSL("\(operations.name): duplicate") }
        defer { operations.free(copy) }
        var out = [UInt8](repeating: 0, count: outputCount)
        try check(out.withUnsafeMutableBufferPointer { operations.final(copy, $0) }, "\(operations.name) final")
        return out
    }
}
