import Foundation
import Synchronization
internal import COpenSSL

/// A few cipher contexts keyed with one key, reused across calls without a lock.
///
/// Each slot holds a context pointer or 0. `take` swaps a slot to 0 (the caller then owns the context
/// exclusively); `give` puts it back into an empty slot or frees it. Four slots of each kind cover more
/// threads than this class of machine has cores; extra concurrent callers make a fresh context.
final class GCMContextCache: Sendable {
    private let enc0 = Atomic<UInt>(0), enc1 = Atomic<UInt>(0), enc2 = Atomic<UInt>(0), enc3 = Atomic<UInt>(0)
    private let dec0 = Atomic<UInt>(0), dec1 = Atomic<UInt>(0), dec2 = Atomic<UInt>(0), dec3 = Atomic<UInt>(0)

    @inline(__always)
    private func withSlots<R>(_ encrypt: Bool, _ body: (borrowing Atomic<UInt>) -> R?) -> R? {
        if encrypt {
            if let r = body(enc0) { return r }; if let r = body(enc1) { return r }
            if let r = body(enc2) { return r }; return body(enc3)
        } else {
            if let r = body(dec0) { return r }; if let r = body(dec1) { return r }
            if let r = body(dec2) { return r }; return body(dec3)
        }
    }

    @inline(__always)
    func take(encrypt: Bool) -> OpaquePointer? {
        withSlots(encrypt) { slot in
            let v = slot.exchange(0, ordering: .acquiring)
            return v == 0 ? nil : OpaquePointer(bitPattern: v)
        }
    }

    @inline(__always)
    func give(_ ctx: OpaquePointer, encrypt: Bool) {
        let bits = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(ctx)))
        let stored: Bool? = withSlots(encrypt) { slot in
            slot.compareExchange(expected: 0, desired: bits, ordering: .releasing).exchanged ? true : nil
        }
        if stored == nil { EVP_CIPHER_CTX_free(ctx) }
    }

    deinit {
        for slot in [enc0.load(ordering: .acquiring), enc1.load(ordering: .acquiring), enc2.load(ordering: .acquiring),
                     enc3.load(ordering: .acquiring), dec0.load(ordering: .acquiring), dec1.load(ordering: .acquiring),
                     dec2.load(ordering: .acquiring), dec3.load(ordering: .acquiring)] where slot != 0 {
            EVP_CIPHER_CTX_free(OpaquePointer(bitPattern: slot))   // also cleanses the key schedule
        }
    }
}

/// AES-256-GCM over EVP: the one place this library encrypts and decrypts.
///
/// `core` is an autoclosure: the module core is needed only to key a new context (a cache miss), so the hot path
/// neither loads nor retains it — a retain/release pair on the shared core per call cost ~10 ns and a cache line
/// that every thread writes. Callers check that the module is operational before calling.
enum GCMEngine {
    static let nonceCount = 12
    static let tagCount = 16
    /// SP 800-38D: plaintext of one invocation is at most 2^39 − 256 bits.
    static let maxMessage = (1 << 36) - 32

    @inline(__always)
    static func checkKey(_ key: KeyStorage) throws {
        guard key.secret.count == ApprovedPolicy.aesKeyByteCount else {
            throw FIPSError(.invalidKeySize, "AES-GCM needs a 256-bit key, got \(key.secret.count * 8) bits")
        }
    }

    /// An encryption context keyed once, with a provider-generated IV: fixed field (4 bytes from the DRBG)
    /// set once, and the provider's 64-bit invocation field incremented per message (`EVP_CTRL_GCM_IV_GEN`).
    private static func makeEncryptContext(core: ModuleCore, key: KeyStorage) throws -> OpaquePointer {
        guard let ctx = EVP_CIPHER_CTX_new() else { throw FIPSError.openSSL("EVP_CIPHER_CTX_new") }
        var fixed = [UInt8](repeating: 0, count: 4)
        do {
            try fixed.withUnsafeMutableBytes { try DRBG.fill($0, core: core) }
            try check(EVP_EncryptInit_ex2(ctx, core.aes256GCM, key.secret.pointer.assumingMemoryBound(to: UInt8.self), nil, nil),
                      "EVP_EncryptInit_ex2(AES-256-GCM)")
            try check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IV_FIXED, 4, &fixed), "EVP_CTRL_GCM_SET_IV_FIXED")
        } catch {
            EVP_CIPHER_CTX_free(ctx); throw error
        }
        return ctx
    }

    private static func makeDecryptContext(core: ModuleCore, key: KeyStorage) throws -> OpaquePointer {
        guard let ctx = EVP_CIPHER_CTX_new() else { throw FIPSError.openSSL("EVP_CIPHER_CTX_new") }
        if EVP_DecryptInit_ex2(ctx, core.aes256GCM, key.secret.pointer.assumingMemoryBound(to: UInt8.self), nil, nil) != 1 {
            EVP_CIPHER_CTX_free(ctx); throw FIPSError.openSSL("EVP_DecryptInit_ex2(AES-256-GCM)")
        }
        return ctx
    }

    /// Counts one invocation of the key, refusing past SP 800-38D's limit.
    @inline(__always)
    private static func countInvocation(_ key: KeyStorage) throws {
        let n = key.gcmInvocations.wrappingAdd(1, ordering: .relaxed).oldValue
        if n >= ApprovedPolicy.gcmInvocationLimit {
            throw FIPSError(.usageLimitExceeded,
                            "this key has sealed 2^32 messages, SP 800-38D's limit for AES-GCM with generated IVs; rotate the key")
        }
    }

    /// Seals into a new `Data`: nonce ‖ ciphertext ‖ tag.
    static func seal(core: @autoclosure () throws -> ModuleCore, key: KeyStorage, message: UnsafeRawBufferPointer,
                     aad: UnsafeRawBufferPointer) throws -> AES.GCM.SealedBox {
        let total = message.count + nonceCount + tagCount
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(total, 1), alignment: 16)
        do {
            _ = try seal(core: try core(), key: key, message: message, aad: aad,
                         into: UnsafeMutableRawBufferPointer(start: raw, count: total))
        } catch {
            raw.deallocate(); throw error
        }
        return AES.GCM.SealedBox(uncheckedCombined: Data(bytesNoCopy: raw, count: total, deallocator: .custom { p, _ in p.deallocate() }))
    }

    /// Seals into caller memory; returns the bytes written.
    static func seal(core: @autoclosure () throws -> ModuleCore, key: KeyStorage, message: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
                     into output: UnsafeMutableRawBufferPointer) throws -> Int {
        try checkKey(key)
        guard message.count <= maxMessage else { throw FIPSError(.invalidParameter, "AES-GCM message exceeds 2^36 − 32 bytes") }
        let total = message.count + nonceCount + tagCount
        guard output.count >= total else {
            throw FIPSError(.invalidParameter, "output buffer holds \(output.count) bytes; sealing needs \(total)")
        }
        // The IV is written before the message is read: overlapping buffers would encrypt corrupted plaintext.
        if message.count > 0, let m = message.baseAddress, let o = output.baseAddress,
           UnsafeRawPointer(o) < m + message.count, m < UnsafeRawPointer(o) + total {
            throw FIPSError(.invalidParameter, "the output buffer overlaps the message; seal(into:) does not work in place")
        }
        try countInvocation(key)
        let ctx: OpaquePointer
        if let cached = key.gcmContexts.take(encrypt: true) { ctx = cached } else { ctx = try makeEncryptContext(core: core(), key: key) }
        let out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        do {
            if EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_IV_GEN, Int32(nonceCount), out) != 1 {
                throw FIPSError.openSSL("EVP_CTRL_GCM_IV_GEN")
            }
            try encryptBody(ctx, message: message, aad: aad, ciphertext: out + nonceCount, tag: out + nonceCount + message.count)
        } catch {
            EVP_CIPHER_CTX_free(ctx)
            secureZero(UnsafeMutableRawBufferPointer(start: output.baseAddress, count: total))
            throw error
        }
        key.gcmContexts.give(ctx, encrypt: true)
        return total
    }

    /// AAD, message, final, tag — shared by `seal` and the encryption known-answer test.
    @inline(__always)
    private static func encryptBody(_ ctx: OpaquePointer, message: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
                                    ciphertext: UnsafeMutablePointer<UInt8>, tag: UnsafeMutablePointer<UInt8>) throws {
        var outl: Int32 = 0
        if aad.count > 0 {
            try update(aad, chunked: { p, n in EVP_EncryptUpdate(ctx, nil, &outl, p, n) }, "EVP_EncryptUpdate(AAD)")
        }
        var written = 0
        if message.count > 0 {
            try update(message, chunked: { p, n in
                let r = EVP_EncryptUpdate(ctx, ciphertext + written, &outl, p, n); written += Int(outl); return r
            }, "EVP_EncryptUpdate")
        }
        try check(EVP_EncryptFinal_ex(ctx, ciphertext + written, &outl), "EVP_EncryptFinal_ex")
        try check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(tagCount), tag), "EVP_CTRL_GCM_GET_TAG")
    }

    /// Feeds `bytes` to an EVP update function in chunks that fit its `int` length.
    @inline(__always)
    private static func update(_ bytes: UnsafeRawBufferPointer, chunked call: (UnsafePointer<UInt8>, Int32) -> Int32,
                               _ operation: String) throws {
        var offset = 0
        let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        while offset < bytes.count {
            let n = min(bytes.count - offset, 1 << 30)
            try check(call(base + offset, Int32(n)), operation)
            offset += n
        }
    }

    /// Opens into a new `Data`.
    static func open(core: @autoclosure () throws -> ModuleCore, key: KeyStorage, combined: UnsafeRawBufferPointer,
                     aad: UnsafeRawBufferPointer) throws -> Data {
        guard combined.count >= nonceCount + tagCount else {
            throw FIPSError(.invalidParameter, "an AES-GCM sealed box is at least 28 bytes, got \(combined.count)")
        }
        let n = combined.count - nonceCount - tagCount
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(n, 1), alignment: 16)
        do {
            _ = try open(core: try core(), key: key, combined: combined, aad: aad, into: UnsafeMutableRawBufferPointer(start: raw, count: n))
        } catch {
            raw.deallocate(); throw error
        }
        // The returned plaintext belongs to the caller and is not wiped when freed (wiping cost 20 % of `open` at
        // 1 MiB); callers who must wipe it use open(_:using:authenticating:into:) with memory they zeroize.
        return Data(bytesNoCopy: raw, count: n, deallocator: .custom { p, _ in p.deallocate() })
    }

    /// Opens into caller memory; returns the plaintext length. The output is wiped on failure.
    static func open(core: @autoclosure () throws -> ModuleCore, key: KeyStorage, combined: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
                     into output: UnsafeMutableRawBufferPointer) throws -> Int {
        try checkKey(key)
        guard combined.count >= nonceCount + tagCount else {
            throw FIPSError(.invalidParameter, "an AES-GCM sealed box is at least 28 bytes, got \(combined.count)")
        }
        let n = combined.count - nonceCount - tagCount
        guard output.count >= n else { throw FIPSError(.invalidParameter, "output buffer holds \(output.count) bytes; opening needs \(n)") }
        let base = combined.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let ctx: OpaquePointer
        if let cached = key.gcmContexts.take(encrypt: false) { ctx = cached } else { ctx = try makeDecryptContext(core: core(), key: key) }
        let ok: Bool
        do {
            try check(EVP_DecryptInit_ex2(ctx, nil, nil, base, nil), "EVP_DecryptInit_ex2(IV)")
            ok = try decryptBody(ctx, ciphertext: UnsafeRawBufferPointer(start: base + nonceCount, count: n), aad: aad,
                                 tag: base + nonceCount + n, plaintext: output.baseAddress?.assumingMemoryBound(to: UInt8.self))
        } catch {
            EVP_CIPHER_CTX_free(ctx)
            secureZero(UnsafeMutableRawBufferPointer(start: output.baseAddress, count: n))
            throw error
        }
        key.gcmContexts.give(ctx, encrypt: false)
        guard ok else {
            secureZero(UnsafeMutableRawBufferPointer(start: output.baseAddress, count: n))
            throw FIPSError(.authenticationFailure, "AES-GCM authentication failed: the key, nonce, ciphertext, tag or associated data does not match")
        }
        return n
    }

    /// AAD, ciphertext, tag, final. Returns whether the tag verified.
    @inline(__always)
    private static func decryptBody(_ ctx: OpaquePointer, ciphertext: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
                                    tag: UnsafePointer<UInt8>, plaintext: UnsafeMutablePointer<UInt8>?) throws -> Bool {
        var outl: Int32 = 0
        if aad.count > 0 {
            try update(aad, chunked: { p, n in EVP_DecryptUpdate(ctx, nil, &outl, p, n) }, "EVP_DecryptUpdate(AAD)")
        }
        var written = 0
        if ciphertext.count > 0, let plaintext {
            try update(ciphertext, chunked: { p, n in
                let r = EVP_DecryptUpdate(ctx, plaintext + written, &outl, p, n); written += Int(outl); return r
            }, "EVP_DecryptUpdate")
        }
        try check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(tagCount), UnsafeMutableRawPointer(mutating: tag)),
                  "EVP_CTRL_GCM_SET_TAG")
        // GCM's final writes no bytes, but EVP wants a valid pointer: for an empty plaintext, a stack scratch block
        // (a heap array here cost one allocation per open).
        var scratch: (UInt64, UInt64) = (0, 0)
        let final = withUnsafeMutableBytes(of: &scratch) { s in
            EVP_DecryptFinal_ex(ctx, plaintext.map { $0 + written } ?? s.baseAddress!.assumingMemoryBound(to: UInt8.self), &outl)
        }
        if final != 1 { clearOpenSSLErrors() }
        return final == 1
    }

    // MARK: - Known-answer tests (self-tests only)

    /// Encrypts with a caller-supplied IV. Used **only** by the known-answer self-test, which needs a fixed
    /// IV to compare against NIST's expected output; the public API never accepts an encryption nonce.
    static func knownAnswerEncrypt(core: ModuleCore, key: [UInt8], iv: [UInt8], message: [UInt8], aad: [UInt8]) throws -> (ciphertext: [UInt8], tag: [UInt8]) {
        guard let ctx = EVP_CIPHER_CTX_new() else { throw FIPSError.openSSL("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        guard iv.count == nonceCount else { throw FIPSError(.invalidParameter, "the GCM known-answer test needs a 96-bit IV") }
        try check(EVP_EncryptInit_ex2(ctx, core.aes256GCM, key, iv, nil), "EVP_EncryptInit_ex2(KAT key/IV)")
        var ct = [UInt8](repeating: 0, count: message.count + 1)
        var tag = [UInt8](repeating: 0, count: tagCount)
        try message.withUnsafeBytes { m in
            try aad.withUnsafeBytes { a in
                try ct.withUnsafeMutableBufferPointer { c in
                    try tag.withUnsafeMutableBufferPointer { t in
                        try encryptBody(ctx, message: m, aad: a, ciphertext: c.baseAddress!, tag: t.baseAddress!)
                    }
                }
            }
        }
        ct.removeLast()
        return (ct, tag)
    }

    /// Decrypts with explicit IV and tag through the same body `open` uses. Returns nil when the tag fails.
    static func knownAnswerDecrypt(core: ModuleCore, key: KeyStorage, iv: [UInt8], ciphertext: [UInt8], tag: [UInt8], aad: [UInt8]) throws -> [UInt8]? {
        var combined = iv; combined += ciphertext; combined += tag
        var out = [UInt8](repeating: 0, count: max(ciphertext.count, 1))
        do {
            let n = try combined.withUnsafeBytes { c in
                try aad.withUnsafeBytes { a in
                    try out.withUnsafeMutableBytes { o in try open(core: core, key: key, combined: c, aad: a, into: o) }
                }
            }
            return Array(out.prefix(n))
        } catch let e as FIPSError where e.code == .authenticationFailure {
            return nil
        }
    }
}
