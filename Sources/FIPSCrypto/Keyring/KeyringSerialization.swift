import Foundation

/// The keyring's plaintext serialization inside a keystore (layout version 1; docs/FORMAT.md):
///
/// ```
/// UInt8  layout version = 1
/// UInt32 primary version, UInt32 minimum decryption version, UInt32 minimum encryption version, UInt32 entry count
/// per entry, ascending versions:
///   UInt32 version, UInt8 state (0 active, 1 retired, 2 destroyed), Int64 created (ms since 1970, big-endian),
///   UInt64 seal count, UInt8 key length (32, or 0 when destroyed), key bytes
/// ```
/// All integers big-endian. The buffer is a zeroizing ``SecureBytes``.
enum KeyringSerialization {
    static let layoutVersion: UInt8 = 1

    /// Serializes a consistent snapshot of the keyring into a zeroizing buffer.
    static func serialize(_ ring: Keyring) -> SecureBytes {
        ring.state.withLock { s in
            let entries = s.entries.values.sorted { $0.version < $1.version }
            var total = 1 + 16
            for e in entries { total += 4 + 1 + 8 + 8 + 1 + (e.material == nil ? 0 : 32) }
            return SecureBytes(count: total) { out in
                var w = Writer(out: out)
                w.u8(layoutVersion)
                w.u32(s.primary); w.u32(s.minimumDecryption); w.u32(s.minimumEncryption); w.u32(entries.count)
                for e in entries {
                    w.u32(e.version)
                    w.u8(e.state == .active ? 0 : e.state == .retired ? 1 : 2)
                    w.u64(UInt64(bitPattern: Int64((e.createdAt.timeIntervalSince1970 * 1000).rounded())))
                    w.u64(e.sealCount)
                    if let m = e.material {
                        w.u8(32)
                        m.key.withUnsafeBytes { w.bytes($0) }
                    } else {
                        w.u8(0)
                    }
                }
                precondition(w.offset == total, "keyring serialization size mismatch")
            }
        }
    }

    /// Rebuilds a keyring, validating every field.
    /// - Throws: ``FIPSError/Code/invalidEncoding`` for any inconsistency, ``FIPSError/Code/unsupportedFormat`` for
    ///   an unknown layout version.
    static func deserialize(_ b: UnsafeRawBufferPointer) throws -> Keyring {
        var r = Reader(b: b)
        let layout = try r.u8()
        guard layout == layoutVersion else {
            throw FIPSError(.unsupportedFormat, "keyring layout version \(layout) is not supported (this build reads \(layoutVersion))")
        }
        let primary = Int(try r.u32()), minDec = Int(try r.u32()), minEnc = Int(try r.u32()), count = Int(try r.u32())
        guard count >= 1, count <= 1 << 20 else { throw FIPSError(.invalidEncoding, "keyring holds an implausible \(count) versions") }
        var entries: [Int: KeyringState.Entry] = [:]
        var last = 0
        for _ in 0..<count {
            let v = Int(try r.u32())
            guard v > last else { throw FIPSError(.invalidEncoding, "keyring versions are not strictly ascending") }
            last = v
            let st = try r.u8()
            let state: KeyVersionInfo.State
            switch st {
            case 0: state = .active
            case 1: state = .retired
            case 2: state = .destroyed
            default: throw FIPSError(.invalidEncoding, "keyring version \(v) has unknown state \(st)")
            }
            let created = Date(timeIntervalSince1970: Double(Int64(bitPattern: try r.u64())) / 1000)
            let seals = try r.u64()
            let keyLength = Int(try r.u8())
            var entry = KeyringState.Entry(version: v, createdAt: created, state: state, material: nil, destroyedSealCount: seals)
            if state == .destroyed {
                guard keyLength == 0 else { throw FIPSError(.invalidEncoding, "destroyed key version \(v) still holds key bytes") }
            } else {
                guard keyLength == 32 else { throw FIPSError(.invalidEncoding, "key version \(v) has a \(keyLength)-byte key, not 32") }
                let key = SymmetricKey(data: try r.bytes(32), priorInvocations: seals)
                entry.material = KeyVersionMaterial(version: v, key: key, seals: seals)
            }
            entries[v] = entry
        }
        guard r.offset == b.count else { throw FIPSError(.invalidEncoding, "trailing bytes after the keyring") }
        guard let p = entries[primary], p.state == .active else {
            throw FIPSError(.invalidEncoding, "the keyring's primary version \(primary) is missing or not active")
        }
        guard (1...primary).contains(minDec), (1...primary).contains(minEnc) else {
            throw FIPSError(.invalidEncoding, "the keyring's minimum versions (\(minDec), \(minEnc)) are outside 1 ... \(primary)")
        }
        return Keyring(state: KeyringState(entries: entries, primary: primary, minimumDecryption: minDec, minimumEncryption: minEnc))
    }

    private struct Writer {
        let out: UnsafeMutableRawBufferPointer
        var offset = 0
        mutating func u8(_ v: UInt8) { out[offset] = v; offset += 1 }
        mutating func u32(_ v: Int) { writeUInt32(out, at: offset, UInt32(v)); offset += 4 }
        mutating func u64(_ v: UInt64) { writeUInt32(out, at: offset, UInt32(v >> 32)); writeUInt32(out, at: offset + 4, UInt32(v & 0xffff_ffff)); offset += 8 }
        mutating func bytes(_ b: UnsafeRawBufferPointer) {
            UnsafeMutableRawBufferPointer(rebasing: out[offset..<(offset + b.count)]).copyMemory(from: b); offset += b.count
        }
    }

    private struct Reader {
        let b: UnsafeRawBufferPointer
        var offset = 0
        mutating func need(_ n: Int) throws {
            guard b.count - offset >= n else { throw FIPSError(.invalidEncoding, "the keyring serialization is truncated") }
        }
        mutating func u8() throws -> UInt8 { try need(1); defer { offset += 1 }; return b[offset] }
        mutating func u32() throws -> UInt32 { try need(4); defer { offset += 4 }; return readUInt32(b, at: offset) }
        mutating func u64() throws -> UInt64 {
            try need(8); defer { offset += 8 }
            return UInt64(readUInt32(b, at: offset)) << 32 | UInt64(readUInt32(b, at: offset + 4))
        }
        mutating func bytes(_ n: Int) throws -> UnsafeRawBufferPointer {
            try need(n); defer { offset += n }; return UnsafeRawBufferPointer(rebasing: b[offset..<(offset + n)])
        }
    }
}
