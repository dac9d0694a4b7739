// FuzzSupport.swift — shared by every libFuzzer harness in Tests/Fuzz (compiled into each fuzzer by scripts/fuzz).
// Not part of the SwiftPM package: `swift build` never sees this folder.
//
// The fixed keyring every harness uses is written here byte by byte, in the layout docs/FORMAT.md describes, so
// that Tests/Fuzz/make-seeds.py (an independent implementation with pyca/cryptography) can seal envelopes and a
// keystore under the same keys:
//   KEK           32 × 0x4B
//   version 1     retired,   key 32 × 0x11
//   version 2     active,    key 32 × 0x22   (primary)
//   version 3     destroyed
//   version 4     active,    key 32 × 0x44
//   minimum decryption version 1, minimum encryption version 2
import FIPSCrypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum Fuzz {
    /// The context label the envelope harness decrypts under (the seeds use it, and also "other-context").
    static let context = "fuzz-context"
    /// Every plaintext make-seeds.py seals starts with this marker; a decrypt that returns anything else is a forgery.
    static let plaintextMarker = Array("FUZZSEED".utf8)
    static let kek = [UInt8](repeating: 0x4B, count: 32)

    /// The serialized keyring (layout version 1).
    static var serializedKeyring: [UInt8] {
        var b: [UInt8] = [1]
        b += u32(2) + u32(1) + u32(2) + u32(4)
        func entry(_ v: UInt32, _ state: UInt8, key: UInt8?) -> [UInt8] {
            var e = u32(v) + [state] + u64(1_700_000_000_000) + u64(UInt64(v) * 10)
            if let key { e += [32] + [UInt8](repeating: key, count: 32) } else { e += [0] }
            return e
        }
        b += entry(1, 1, key: 0x11) + entry(2, 0, key: 0x22) + entry(3, 2, key: nil) + entry(4, 0, key: 0x44)
        return b
    }

    static func u32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }
    static func u64(_ v: UInt64) -> [UInt8] { u32(UInt32(v >> 32)) + u32(UInt32(v & 0xffff_ffff)) }

    /// Keystore file header for a KEK-file keystore: "FCKs" ‖ 01 ‖ 01.
    static let keystoreHeader: [UInt8] = [0x46, 0x43, 0x4B, 0x73, 0x01, 0x01]

    /// A keystore file: header ‖ AES-256-GCM(KEK, AAD = header) of `plaintext`.
    static func sealKeystore(_ plaintext: [UInt8]) throws -> [UInt8] {
        let box = try AES.GCM.seal(plaintext, using: SymmetricKey(data: kek), authenticating: keystoreHeader)
        return keystoreHeader + Array(box.combined)
    }

    /// A fresh 0700 directory holding `kek` (0600).
    static func makeKeystoreDirectory() -> URL {
        var template = Array("/tmp/fipscrypto-fuzz-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { die("mkdtemp failed") }
        let dir = URL(fileURLWithPath: String(cString: p), isDirectory: true)
        writeFile(dir.appendingPathComponent("kek").path, kek)
        return dir
    }

    /// Writes `bytes` to `path` (created or truncated, mode 0600).
    static func writeFile(_ path: String, _ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { die("open \(path) failed: errno \(errno)") }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
            guard n > 0 else { die("write \(path) failed: errno \(errno)") }
            done += n
        }
    }

    /// The fixed keyring, loaded through the public keystore API from a private temporary directory.
    static let keyring: Keyring = {
        let dir = makeKeystoreDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            writeFile(dir.appendingPathComponent("keyring").path, try sealKeystore(serializedKeyring))
            let ring = try Keystore(directory: dir, kek: .file(dir.appendingPathComponent("kek"))).load()
            guard ring.primaryVersion == 2, ring.versions.count == 4 else { die("the fixed keyring loaded wrong") }
            return ring
        } catch {
            die("cannot build the fixed keyring: \(error)")
        }
    }()

    /// `FUZZ_TRACE=1`: print each input's outcome (to check what the seeds reach: `FUZZ_TRACE=1 fuzz-X SEEDDIR/*`).
    static let trace = ProcessInfo.processInfo.environment["FUZZ_TRACE"] == "1"

    /// Prints `message` when tracing.
    static func note(_ message: @autoclosure () -> String) {
        if trace { FileHandle.standardError.write(Data("fuzz-trace: \(message())\n".utf8)) }
    }

    /// Reports an invariant violation and aborts, so libFuzzer saves the input as a crash.
    static func die(_ message: String) -> Never {
        FileHandle.standardError.write(Data("FUZZ INVARIANT VIOLATED: \(message)\n".utf8))
        abort()
    }

    /// Runs `body`; any error that is not a FIPSError with one of `allowed` codes is an invariant violation.
    static func expectTyped(_ what: String, _ allowed: Set<FIPSError.Code>, _ body: () throws -> Void) {
        do {
            try body()
            note("\(what): ok")
        } catch let e as FIPSError {
            note("\(what): \(e.code)")
            if !allowed.contains(e.code) { die("\(what) threw the undocumented code \(e.code): \(e)") }
        } catch {
            die("\(what) threw a non-FIPSError \(type(of: error)): \(error)")
        }
    }

    /// Makes sure the module is loaded before fuzzing (so a load failure is not blamed on an input).
    static func start() {
        do {
            let status = try FIPSModule.load()
            FileHandle.standardError.write(Data("fuzz: module \(status.isFIPS ? "FIPS" : "NOT FIPS (development mode)")\n".utf8))
        } catch { die("the module did not load: \(error)") }
        _ = keyring
    }
}
