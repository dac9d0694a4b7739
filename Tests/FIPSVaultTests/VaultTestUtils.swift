import Foundation
import XCTest
import Synchronization
import FIPSCrypto
import FIPSTestSupport
import FIPSVault

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
