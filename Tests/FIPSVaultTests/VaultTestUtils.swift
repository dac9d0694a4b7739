import Foundation
import XCTest
import Synchronization
import FIPSCrypto
import FIPSTestSupport
@testable import FIPSVault

/// TEMPORARY stand-in for the module's Keyring until it lands: AES-256-GCM under versioned SymmetricKeys, envelope
/// = 4-byte big-endian version || AES.GCM combined box. Test-only.
final class TestSealer: SecretSealer, Sendable {
    private let keys = Mutex<[Int: SymmetricKey]>([1: SymmetricKey(size: .bits256)])
    var primaryVersion: Int { keys.withLock { $0.keys.max() ?? 0 } }
    @discardableResult func rotateKey() -> Int {
        keys.withLock { k in let v = (k.keys.max() ?? 0) + 1; k[v] = SymmetricKey(size: .bits256); return v }
    }
    func retire(below v: Int) { keys.withLock { k in k = k.filter { $0.key >= v } } }
    private func key(_ v: Int) throws -> SymmetricKey {
        guard let k = keys.withLock({ $0[v] }) else { throw FIPSError(.unknownKeyVersion, "no key version \(v)") }
        return k
    }
    func seal(_ plaintext: Data, aad: Data) throws -> Data {
        let v = primaryVersion
        var out = Data(); withUnsafeBytes(of: UInt32(v).bigEndian) { out.append(contentsOf: $0) }
        out.append(try AES.GCM.seal(plaintext, using: key(v), authenticating: aad).combined)
        return out
    }
    func open(_ envelope: Data, aad: Data) throws -> Data {
        try AES.GCM.open(AES.GCM.SealedBox(combined: envelope.dropFirst(4)), using: key(version(of: envelope)), authenticating: aad)
    }
    func rewrap(_ envelope: Data, aad: Data, toVersion: Int) throws -> Data {
        var p = try open(envelope, aad: aad); defer { wipe(&p) }
        return try seal(p, aad: aad)
    }
    func version(of envelope: Data) throws -> Int {
        guard envelope.count > 4 else { throw FIPSError(.invalidEncoding, "short envelope") }
        return envelope.prefix(4).reduce(0) { $0 << 8 | Int($1) }
    }
}

/// Collects the SecurityEvents raised while it is installed.
final class EventRecorder: Sendable {
    private let events = Mutex<[SecurityEvent]>([])
    private let token = Mutex<UInt64>(0)
    init() {
        let t = SecurityEvents.addHandler { [weak self] e in self?.events.withLock { $0.append(e) } }
        token.withLock { $0 = t }
    }
    func stop() { SecurityEvents.removeHandler(token.withLock { $0 }) }
    var all: [SecurityEvent] { events.withLock { $0 } }
    func actions(for name: String) -> [String] { all.filter { $0.metadata["credential.name"] == name }.map(\.action) }
}

enum VaultTestSupport {
    /// Every file in `dir` (database, -wal, -shm, journals, anything else), with its bytes.
    static func filesIn(_ dir: URL) throws -> [(String, Data)] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().map { ($0, try Data(contentsOf: dir.appendingPathComponent($0))) }
    }

    /// The forms a secret could take on disk: raw, hex (both cases), base64 (and its unpadded / URL-safe forms).
    static func encodings(of secret: Data) -> [(String, Data)] {
        let hex = secret.map { String(format: "%02x", $0) }.joined()
        let b64 = secret.base64EncodedString()
        let b64url = b64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return [("raw", secret), ("hex", Data(hex.utf8)), ("HEX", Data(hex.uppercased().utf8)),
                ("base64", Data(b64.utf8)), ("base64-unpadded", Data(b64.trimmingCharacters(in: ["="]).utf8)),
                ("base64url", Data(b64url.trimmingCharacters(in: ["="]).utf8))]
    }

    /// The names of `files` that contain any encoding of `secret`, with the encoding.
    static func occurrences(of secret: Data, in files: [(String, Data)]) -> [String] {
        var hits: [String] = []
        for (file, bytes) in files {
            for (form, needle) in encodings(of: secret) where bytes.range(of: needle) != nil { hits.append("\(file):\(form)") }
        }
        return hits
    }

    /// Runs the sqlite3 CLI on a database.
    static func sqlite3(_ db: URL, _ sql: String) throws -> TestSupport.ProcessResult {
        try TestSupport.run("sqlite3", [db.path, sql])
    }
}
