import Foundation
import FIPSCrypto
import Synchronization
import COpenSSL

// fipscrypto-probe — a child process for the module tests (not shipped as a product).
//   first-use N   N threads use the library at the same instant in a fresh process; prints JSON facts
//   default-context-fetch   fetch SHA2-256 straight from OpenSSL's default context
//   refusal       loads (expected to fail, e.g. with FIPSCRYPTO_FAIL_SELFTEST), then calls every service and
//                 prints `name code` for each refusal

func out(_ s: String) { FileHandle.standardOutput.write(Data((s + "\n").utf8)) }

let args = CommandLine.arguments.dropFirst()
switch args.first {
case "first-use":
    let n = Int(args.dropFirst().first ?? "16") ?? 16
    let key = SymmetricKey(data: [UInt8](repeating: 7, count: 32))
    let start = DispatchSemaphore(value: 0)
    let group = DispatchGroup()
    let ok = Mutex(0)
    let loads = Mutex(0)
    SecurityEvents.addHandler { e in if e.action == "module-loaded" || e.action == "module-load-failed" { loads.withLock { $0 += 1 } } }
    for _ in 0..<n {
        group.enter()
        Thread.detachNewThread {
            start.wait()
            if let box = try? AES.GCM.seal(Data("probe".utf8), using: key),
               (try? AES.GCM.open(box, using: key)) == Data("probe".utf8) {
                ok.withLock { $0 += 1 }
            }
            group.leave()
        }
    }
    usleep(50_000)
    for _ in 0..<n { start.signal() }
    group.wait()
    let s = FIPSModule.status
    out("{\"threads\":\(n),\"succeeded\":\(ok.withLock { $0 }),\"state\":\"\(s.state.rawValue)\",\"loads\":\(loads.withLock { $0 })}")
case "refusal":
    do { try FIPSModule.load(); out("load succeeded") } catch let e as FIPSError { out("load \(e.code)") }
    let key = SymmetricKey(data: [UInt8](repeating: 7, count: 32))
    func probe(_ name: String, _ body: () throws -> Void) {
        do { try body(); out("\(name) SERVED") } catch let e as FIPSError { out("\(name) \(e.code)") } catch { out("\(name) \(error)") }
    }
    probe("aes-gcm-seal") { _ = try AES.GCM.seal(Data("x".utf8), using: key) }
    probe("aes-gcm-open") { _ = try AES.GCM.open(try AES.GCM.SealedBox(combined: Data(count: 40)), using: key) }
    probe("sha256") { _ = try SHA256.checkedHash(data: Data("x".utf8)) }
    probe("hmac") { _ = try HMAC<SHA256>.authenticationCode(for: Data("x".utf8), using: key) }
    probe("hmac-incremental") { _ = try HMAC<SHA256>(key: key) }
    probe("hmac-context") { _ = try HMACContext<SHA256>(key: key) }
    probe("digest-context") { _ = try DigestContext<SHA384>() }
    probe("hkdf") { _ = try HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Data(), outputByteCount: 32) }
    probe("pbkdf2") { _ = try PBKDF2.deriveKey(passphrase: Array("correct horse".utf8), salt: [UInt8](repeating: 1, count: 16), iterations: 10_000) }
    probe("drbg") { _ = try SecureRandom.bytes(count: 16) }
    probe("symmetric-key") { _ = try SymmetricKey.generate(size: .bits256) }
    probe("self-test-rerun") { _ = try FIPSModule.runSelfTests() }
case "default-context-fetch":
    // With FIPSCRYPTO_LOCK_DEFAULT_CONTEXT=1 the module loads the null provider into OpenSSL's default context,
    // so a stray fetch outside the module (here: straight on the default context) must fail.
    try FIPSModule.load()
    let md = EVP_MD_fetch(nil, "SHA2-256", nil)
    out(md == nil ? "default-context fetch refused" : "default-context fetch served")
    EVP_MD_free(md)
    ERR_clear_error()
default:
    out("usage: fipscrypto-probe first-use N | refusal")
    exit(2)
}
