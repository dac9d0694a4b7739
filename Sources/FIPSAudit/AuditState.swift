import Foundation
import FIPSCrypto

/// What survives a restart: the current epoch's key (sealed with AES-256-GCM under the state key), the epoch, and
/// where the chain stood at the last sync. Stored as `<baseName>.state` (0600) beside the files.
///
/// The file never holds an earlier epoch's key: evolving the epoch rewrites it with the new key only.
struct AuditState: Codable {
    var format: Int = 1
    var epoch: UInt64
    var epochStarted: Double
    var sealedKey: String
    var lastSequence: UInt64
    var lastMAC: String
    var lastChain: String
    var checkpointKey: String?

    static func aad(epoch: UInt64) -> Data { Data("fipsaudit-state-v1 epoch=\(epoch)".utf8) }

    static func seal(_ key: SymmetricKey, epoch: UInt64, stateKey: SymmetricKey) throws -> String {
        let box: AES.GCM.SealedBox = try key.withUnsafeBytes { k in
            var out = Data(count: k.count + AES.GCM.overhead)
            let n = try aad(epoch: epoch).withUnsafeBytes { a in
                try out.withUnsafeMutableBytes { o in try AES.GCM.seal(k, using: stateKey, authenticating: a, into: o) }
            }
            return try AES.GCM.SealedBox(combined: out.prefix(n))
        }
        return box.combined.base64EncodedString()
    }

    func unsealKey(stateKey: SymmetricKey) throws -> SymmetricKey {
        guard let combined = Data(base64Encoded: sealedKey) else {
            throw FIPSError(.auditStorageFailure, "audit state: sealed key is not base64")
        }
        var plain = try AES.GCM.open(try AES.GCM.SealedBox(combined: combined), using: stateKey,
                                     authenticating: AuditState.aad(epoch: epoch))
        defer { plain.withUnsafeMutableBytes { wipe($0) } }
        return SymmetricKey(data: plain)
    }

    static func load(_ url: URL) throws -> AuditState? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        var st = stat()
        if stat(url.path, &st) == 0, st.st_mode & 0o077 != 0 {
            throw FIPSError(.insecurePermissions, "audit state \(url.path) is readable by group or others (want 0600)")
        }
        guard let data = FileManager.default.contents(atPath: url.path),
              let s = try? JSONDecoder().decode(AuditState.self, from: data) else {
            throw FIPSError(.auditStorageFailure, "audit state \(url.path) is unreadable")
        }
        return s
    }

    func save(_ url: URL) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        try AuditFiles.atomicWrite(try e.encode(self), to: url)
    }
}

/// Overwrites memory that held a secret; the opaque call keeps the stores from being optimised away.
@inline(never)
func wipe(_ buffer: UnsafeMutableRawBufferPointer) {
    guard let base = buffer.baseAddress, buffer.count > 0 else { return }
    _ = memset(base, 0, buffer.count)
    withExtendedLifetime(buffer) {}
}
