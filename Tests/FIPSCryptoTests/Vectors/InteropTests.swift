import Foundation
import XCTest
import FIPSCrypto
import FIPSTestSupport

/// Interoperability with an independent implementation: python3 with pyca/`cryptography` (its own OpenSSL build).
///
/// One Python process answers a batch of requests, one per line on stdin, as hex (`-` for empty):
/// `gcm-open KEY NONCE CT||TAG AAD` → plaintext or `FAIL`; `gcm-seal KEY PT AAD` → NONCE||CT||TAG (nonce from
/// `os.urandom`); `hkdf HASH IKM SALT INFO LEN` → OKM; `hmac HASH KEY MSG` → MAC.
final class InteropTests: XCTestCase {
    override func setUpWithError() throws {
        try loadModule()
        guard TestSupport.hasProgram("python3") else { throw XCTSkip("python3 is not installed (scripts/setup installs it)") }
    }

    private static let script = #"""
import os, sys
import cryptography
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.exceptions import InvalidTag
H = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}
def b(x): return b"" if x == "-" else bytes.fromhex(x)
def h(x): return x.hex() or "-"
sys.stderr.write("python cryptography %s\n" % cryptography.__version__)
for line in sys.stdin:
    f = line.split()
    if not f: continue
    op = f[0]
    if op == "gcm-open":
        try: print(h(AESGCM(b(f[1])).decrypt(b(f[2]), b(f[3]), b(f[4]))))
        except InvalidTag: print("FAIL")
    elif op == "gcm-seal":
        n = os.urandom(12)
        print(h(n + AESGCM(b(f[1])).encrypt(n, b(f[2]), b(f[3]))))
    elif op == "hkdf":
        print(h(HKDF(algorithm=H[f[1]](), length=int(f[5]), salt=b(f[3]), info=b(f[4])).derive(b(f[2]))))
    elif op == "hmac":
        m = hmac.HMAC(b(f[2]), H[f[1]]()); m.update(b(f[3])); print(h(m.finalize()))
    else:
        print("ERROR unknown op " + op)
"""#

    private func hx(_ bytes: some Sequence<UInt8>) -> String {
        let s = TestSupport.hex(bytes); return s.isEmpty ? "-" : s
    }
    private func unhex(_ s: Substring) -> [UInt8] { s == "-" ? [] : TestSupport.bytes(hex: String(s)) }

    private func python(_ requests: [String]) throws -> [Substring] {
        let input = Data((requests.joined(separator: "\n") + "\n").utf8)
        let r = try TestSupport.run("python3", ["-c", Self.script], input: input, timeout: 300)
        XCTAssertEqual(r.status, 0, r.err)
        print(r.err.trimmingCharacters(in: .whitespacesAndNewlines))
        let lines = r.out.split(separator: "\n")
        XCTAssertEqual(lines.count, requests.count, "one answer per request")
        return lines
    }

    func testAESGCMBothDirections() throws {
        let sizes = [0, 1, 15, 16, 17, 1000, 65536]
        var rng = SplitMix64(seed: 0x6C6D)
        let key = try SymmetricKey.generate(size: .bits256)
        let keyBytes = key.withUnsafeBytes { Array($0) }
        var ours: [(pt: [UInt8], aad: [UInt8], box: AES.GCM.SealedBox)] = []
        var theirs: [(pt: [UInt8], aad: [UInt8])] = []
        var requests: [String] = []
        for size in sizes {
            let pt = [UInt8].random(count: size, using: &rng)
            let aad = [UInt8].random(count: Int.random(in: 0...40, using: &rng), using: &rng)
            let box = try AES.GCM.seal(pt, using: key, authenticating: aad)
            ours.append((pt, aad, box))
            requests.append("gcm-open \(hx(keyBytes)) \(hx(box.nonce)) \(hx(Array(box.ciphertext) + Array(box.tag))) \(hx(aad))")
        }
        // A box of ours with one bit flipped must fail in Python too.
        var tampered = Array(ours[3].box.combined); tampered[12] ^= 0x80
        requests.append("gcm-open \(hx(keyBytes)) \(hx(tampered.prefix(12))) \(hx(tampered.dropFirst(12))) \(hx(ours[3].aad))")
        for size in sizes {
            let pt = [UInt8].random(count: size, using: &rng)
            let aad = [UInt8].random(count: Int.random(in: 0...40, using: &rng), using: &rng)
            theirs.append((pt, aad))
            requests.append("gcm-seal \(hx(keyBytes)) \(hx(pt)) \(hx(aad))")
        }
        let answers = try python(requests)
        guard answers.count == requests.count else { return }
        var opened = 0
        for (i, o) in ours.enumerated() {
            XCTAssertEqual(unhex(answers[i]), o.pt, "Python could not open our \(o.pt.count)-byte seal")
            if unhex(answers[i]) == o.pt { opened += 1 }
        }
        XCTAssertEqual(answers[ours.count], "FAIL", "Python accepted a tampered box")
        var ourOpens = 0
        for (j, t) in theirs.enumerated() {
            let combined = unhex(answers[ours.count + 1 + j])
            XCTAssertEqual(combined.count, t.pt.count + 28)
            let box = try AES.GCM.SealedBox(combined: j % 2 == 0 ? Data(combined) : Data(TestSupport.nonContiguous(combined)))
            let pt = try AES.GCM.open(box, using: key, authenticating: j % 2 == 0 ? Data(t.aad) : Data(TestSupport.nonContiguous(t.aad)))
            XCTAssertEqual(Array(pt), t.pt, "we could not open Python's \(t.pt.count)-byte seal")
            if Array(pt) == t.pt { ourOpens += 1 }
        }
        print("interop aes-gcm: python opened \(opened)/\(sizes.count) of our seals, we opened \(ourOpens)/\(sizes.count) of python's (sizes \(sizes))")
    }

    private func derive<H: HashFunction>(_: H.Type, ikm: [UInt8], salt: [UInt8], info: [UInt8], length: Int) throws -> [UInt8] {
        try HKDF<H>.deriveKey(inputKeyMaterial: SymmetricKey(data: ikm), salt: salt, info: info, outputByteCount: length)
            .withUnsafeBytes { Array($0) }
    }
    private func mac<H: HashFunction>(_: H.Type, key: [UInt8], msg: [UInt8]) throws -> [UInt8] {
        Array(try HMAC<H>.authenticationCode(for: msg, using: SymmetricKey(data: key)))
    }

    func testHKDFAndHMACMatchPython() throws {
        var rng = SplitMix64(seed: 0x4B44)
        var requests: [String] = [], expected: [[UInt8]] = []
        for i in 0..<60 {
            let hash = ["sha256", "sha384", "sha512"][i % 3]
            let byteCount = [32, 48, 64][i % 3]
            let ikm = [UInt8].random(count: Int.random(in: 14...100, using: &rng), using: &rng)
            let salt = [UInt8].random(count: Int.random(in: 0...80, using: &rng), using: &rng)
            let info = [UInt8].random(count: Int.random(in: 0...80, using: &rng), using: &rng)
            let length = Int.random(in: 1...(i < 3 ? 255 * byteCount : 300), using: &rng)
            switch i % 3 {
            case 0: expected.append(try derive(SHA256.self, ikm: ikm, salt: salt, info: info, length: length))
            case 1: expected.append(try derive(SHA384.self, ikm: ikm, salt: salt, info: info, length: length))
            default: expected.append(try derive(SHA512.self, ikm: ikm, salt: salt, info: info, length: length))
            }
            requests.append("hkdf \(hash) \(hx(ikm)) \(hx(salt)) \(hx(info)) \(length)")
        }
        for i in 0..<60 {
            let hash = ["sha256", "sha384", "sha512"][i % 3]
            let key = [UInt8].random(count: Int.random(in: 14...200, using: &rng), using: &rng)   // crosses the block size
            let msg = [UInt8].random(count: Int.random(in: 0...2000, using: &rng), using: &rng)
            switch i % 3 {
            case 0: expected.append(try mac(SHA256.self, key: key, msg: msg))
            case 1: expected.append(try mac(SHA384.self, key: key, msg: msg))
            default: expected.append(try mac(SHA512.self, key: key, msg: msg))
            }
            requests.append("hmac \(hash) \(hx(key)) \(hx(msg))")
        }
        let answers = try python(requests)
        guard answers.count == requests.count else { return }
        var equal = 0
        for (i, a) in answers.enumerated() {
            XCTAssertEqual(unhex(a), expected[i], "request \(i): \(requests[i].prefix(40))…")
            if unhex(a) == expected[i] { equal += 1 }
        }
        print("interop hkdf+hmac: \(equal)/\(requests.count) outputs equal python's (60 HKDF, 60 HMAC over SHA-256/384/512)")
    }
}
