import Foundation
internal import COpenSSL

/// One OpenSSL context — an `EVP_MD_CTX` for ``DigestContext`` or a keyed HMAC `EVP_MAC_CTX` for ``HMACContext`` —
/// used message after message: finalized in place, then restarted (`EVP_DigestInit_ex2` with no digest keeps the
/// fetched one; `EVP_MAC_init` with no key resets to the keyed inner state). Nothing is allocated per message and
/// HMAC's key schedule runs once.
///
/// A message is never mixed into the next one: the context is restarted whether or not finalizing succeeded, and
/// if a restart fails the context refuses further input and its next finalize throws (after trying the restart
/// again), so no MAC or digest is ever produced over a partial or stale message.
struct RestartableContext: ~Copyable {
    /// The four calls that differ between digests and MACs.
    struct Operations {
        let name: String
        let update: (OpaquePointer, UnsafeRawBufferPointer) -> Int32
        let final: (OpaquePointer, UnsafeMutableBufferPointer<UInt8>) -> Int32
        let restart: (OpaquePointer) -> Int32
        let free: (OpaquePointer) -> Void
    }

    private let ctx: OpaquePointer
    private let operations: Operations
    /// The output length in bytes.
    let outputCount: Int
    /// A restart failed: input is refused and the next finalize throws.
    private var broken = false

    /// A SHA-2 digest context at the start of a message.
    static func digest(core: ModuleCore, _ algorithm: DigestAlgorithm) throws -> RestartableContext {
        guard let ctx = EVP_MD_CTX_new() else { throw FIPSError.openSSL("EVP_MD_CTX_new") }
        guard EVP_DigestInit_ex2(ctx, core.md(algorithm), nil) == 1 else {
            defer { EVP_MD_CTX_free(ctx) }
            throw FIPSError.openSSL("EVP_DigestInit_ex2(\(algorithm))")
        }
        return RestartableContext(ctx: ctx, outputCount: algorithm.byteCount, operations: Operations(
            name: "\(algorithm)",
            update: { ctx, bytes in EVP_DigestUpdate(ctx, bytes.baseAddress, bytes.count) },
            final: { ctx, out in var n: UInt32 = 0; return EVP_DigestFinal_ex(ctx, out.baseAddress, &n) },
            restart: { ctx in EVP_DigestInit_ex2(ctx, nil, nil) },
            free: { ctx in EVP_MD_CTX_free(ctx) }))
    }

    /// An HMAC context keyed with `key`, at the start of a message.
    static func hmac(core: ModuleCore, _ algorithm: DigestAlgorithm, key: SymmetricKey) throws -> RestartableContext {
        let ctx = try key.withUnsafeBytes { try MACEngine.keyedContext(core: core, algorithm, key: $0) }
        return RestartableContext(ctx: ctx, outputCount: algorithm.byteCount, operations: Operations(
            name: "HMAC-\(algorithm)",
            update: { ctx, bytes in EVP_MAC_update(ctx, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count) },
            final: { ctx, out in var n = 0; return EVP_MAC_final(ctx, out.baseAddress, &n, out.count) },
            restart: { ctx in EVP_MAC_init(ctx, nil, 0, nil) },
            // EVP_MAC_CTX_free cleanses the key and the keyed digest states.
            free: { ctx in EVP_MAC_CTX_free(ctx) }))
    }

    private init(ctx: OpaquePointer, outputCount: Int, operations: Operations) {
        self.ctx = ctx; self.outputCount = outputCount; self.operations = operations
    }

    deinit { operations.free(ctx) }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0, !broken else { return }
        if operations.update(ctx, bytes) != 1 {
            preconditionFailure("\(operations.name) update failed: \(drainOpenSSLErrors())")
        }
    }

    /// The result over everything added since the last restart; the context then starts a new message.
    mutating func finalizeAndRestart() throws -> [UInt8] {
        if broken {
            try restart()
            throw FIPSError(.openSSLFailure, "\(operations.name): the context could not restart after the previous message; this message was discarded")
        }
        var out = [UInt8](repeating: 0, count: outputCount)
        let finalError = out.withUnsafeMutableBufferPointer { operations.final(ctx, $0) } == 1
            ? nil : FIPSError.openSSL("\(operations.name) final")
        try restart()
        if let finalError { throw finalError }
        return out
    }

    /// Drops the current message (the module refused to finalize it).
    mutating func discardMessage() { try? restart() }

    private mutating func restart() throws {
        guard operations.restart(ctx) == 1 else {
            broken = true
            throw FIPSError.openSSL("\(operations.name) restart")
        }
        broken = false
    }
}
