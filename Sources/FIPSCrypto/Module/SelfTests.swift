import Foundation

/// This library's own self-tests, run on load (before any service) and on demand.
///
/// Each runs through the same internal code path the public API uses, with expected values compiled in from
/// `vectors/` (provenance in `vectors/README.md`). `FIPSCRYPTO_FAIL_SELFTEST=<name>` (or a family name, or `all`)
/// corrupts that test's computed output before the comparison, so the gate can be seen to close; it can only make
/// a test fail, never pass.
enum SelfTests {
    struct Test: Sendable {
        let name: String
        let family: String
        let kind: String
        /// Returns the computed output and the expected output; a mismatch fails the test.
        let run: @Sendable (ModuleCore) throws -> (computed: [UInt8], expected: [UInt8])
    }

    /// The names `FIPSCRYPTO_FAIL_SELFTEST` accepts (besides the family names and `all`).
    static var names: [String] { tests.map(\.name) }

    static let tests: [Test] = [
        Test(name: "SHA-256", family: "SHA-256", kind: "KAT") { core in
            // NIST CAVP SHA256ShortMsg.rsp, Len = 24
            (try views([hex("b4190e")]) { try DigestEngine.oneShot(core: core, .sha256, $0[0]) },
             hex("dff2e73091f6c05e528896c4c831b9448653dc2ff043528f6769437bc7b975c2"))
        },
        Test(name: "SHA-384", family: "SHA-384", kind: "KAT") { core in
            // NIST CAVP SHA384ShortMsg.rsp, Len = 24
            (try views([hex("1fa4d5")]) { try DigestEngine.oneShot(core: core, .sha384, $0[0]) },
             hex("e4ca4663dff189541cd026dcc056626419028774666f5b379b99f4887c7237bdbd3bea46d5388be0efc2d4b7989ab2c4"))
        },
        Test(name: "SHA-512", family: "SHA-512", kind: "KAT") { core in
            // NIST CAVP SHA512ShortMsg.rsp, Len = 24
            (try views([hex("0a55db")]) { try DigestEngine.oneShot(core: core, .sha512, $0[0]) },
             hex("7952585e5330cb247d72bae696fc8a6b0f7d0804577e347d99bc1b11e52f384985a428449382306a89261ae143c2f3fb613804ab20b42dc097e5bf4a96ef919b"))
        },
        Test(name: "HMAC-SHA-256", family: "HMAC", kind: "KAT") { core in
            // RFC 4231 test case 1
            (try views([hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), hex("4869205468657265")]) {
                try MACEngine.hmac(core: core, .sha256, key: $0[0], data: $0[1])
             },
             hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"))
        },
        Test(name: "HKDF-SHA-256", family: "HKDF", kind: "KAT") { core in
            // RFC 5869 test case 1
            let okm = try views([hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), hex("000102030405060708090a0b0c"),
                                 hex("f0f1f2f3f4f5f6f7f8f9")]) {
                try KDFEngine.hkdf(core: core, .sha256, mode: .extractAndExpand, key: $0[0], salt: $0[1], info: $0[2], length: 42)
            }
            return (okm.withUnsafeBytes { Array($0) },
                    hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"))
        },
        Test(name: "AES-256-GCM-encrypt", family: "AES-256-GCM", kind: "KAT") { core in
            // NIST CAVP gcmEncryptExtIV256.rsp, [IVlen = 96][PTlen = 256][AADlen = 128][Taglen = 128] Count = 0
            let r = try GCMEngine.knownAnswerEncrypt(core: core, key: hex("37ccdba1d929d6436c16bba5b5ff34deec88ed7df3d15d0f4ddf80c0c731ee1f"),
                                                     iv: hex("5c1b21c8998ed6299006d3f9"),
                                                     message: hex("ad4260e3cdc76bcc10c7b2c06b80b3be948258e5ef20c508a81f51e96a518388"),
                                                     aad: hex("22ed235946235a85a45bc5fad7140bfa"))
            return (r.ciphertext + r.tag,
                    hex("3b335f8b08d33ccdcad228a74700f1007542a4d1e7fc1ebe3f447fe71af29816") + hex("1fbf49cc46f458bf6e88f6370975e6d4"))
        },
        Test(name: "AES-256-GCM-decrypt", family: "AES-256-GCM", kind: "KAT") { core in
            // NIST CAVP gcmDecrypt256.rsp, [IVlen = 96][PTlen = 256][AADlen = 128][Taglen = 128] Count = 1
            let key = KeyStorage(SecureBytes(copying: hex("f0eaf7b41b42f4500635bc05d9cede11a5363d59a6288870f527bcffeb4d6e04")))
            let pt = try GCMEngine.knownAnswerDecrypt(core: core, key: key, iv: hex("18f316781077a595c72d4c07"),
                                                      ciphertext: hex("7a1b61009dce6b7cd4d1ea0203b179f1219dd5ce7407e12ea0a4c56c71bb791b"),
                                                      tag: hex("4419180b0b963b7289a4fa3f45c535a3"), aad: hex("42cade3a19204b7d4843628c425c2375"))
            return (pt ?? [], hex("400fb5ef32083b3abea957c4f068abad50c8d86bbf9351fa72e7da5171df38f9"))
        },
        Test(name: "AES-256-GCM-tag-reject", family: "AES-256-GCM", kind: "KAT") { core in
            // NIST CAVP gcmDecrypt256.rsp, same group, Count = 0: expected FAIL (the tag must be rejected)
            let key = KeyStorage(SecureBytes(copying: hex("22ab50af434ac76377118aaa014c008d25e766b23e2d0488c1b2a3b720a9e89e")))
            let pt = try GCMEngine.knownAnswerDecrypt(core: core, key: key, iv: hex("123f018807b3f5368c38b1dd"),
                                                      ciphertext: hex("b05cca6533e1f81c9751b42cd32158ac37841afae09eafde4cf51458ed6d234f"),
                                                      tag: hex("f082c6743dca40f7b98ed44de872d46c"), aad: hex("1c56bf07fdbddc8eebcd0712ab2c16ad"))
            return (pt == nil ? Array("rejected".utf8) : Array("accepted".utf8), Array("rejected".utf8))
        },
        Test(name: "AES-256-GCM-seal-open", family: "AES-256-GCM", kind: "health") { core in
            // The public seal path end to end: provider-generated IV, then open; two seals must use different IVs.
            let key = KeyStorage(SecureBytes(copying: [UInt8](repeating: 0x42, count: 32)))
            let message = Array("FIPSCrypto seal/open self-test".utf8)
            let a = try views([message, []]) { try GCMEngine.seal(core: core, key: key, message: $0[0], aad: $0[1]) }
            let b = try views([message, []]) { try GCMEngine.seal(core: core, key: key, message: $0[0], aad: $0[1]) }
            guard a.combined.prefix(12) != b.combined.prefix(12) else { return (Array("repeated IV".utf8), message) }
            let opened = try views([Array(a.combined), []]) { try GCMEngine.open(core: core, key: key, combined: $0[0], aad: $0[1]) }
            return (Array(opened), message)
        },
        Test(name: "DRBG", family: "DRBG", kind: "health") { core in
            // Continuous test: two successive 32-byte outputs must differ and not be all zero. (The provider runs
            // the DRBG known-answer tests itself; they appear among the provider's self-test events.)
            var a = [UInt8](repeating: 0, count: 32), b = a
            try a.withUnsafeMutableBytes { try DRBG.fill($0, core: core) }
            try b.withUnsafeMutableBytes { try DRBG.fill($0, core: core) }
            let ok = a != b && a.contains { $0 != 0 } && b.contains { $0 != 0 }
            return (ok ? [1] : [0], [1])
        },
        Test(name: "ECDSA-P256-PCT", family: "ECDSA", kind: "PCT") { core in
            // Pair-wise consistency through the API's own path: generate, sign, verify; a flipped message must fail.
            let key = try PrivateKeyStorage.generate(core: core, .ec(.p256), audited: false)
            let message = Array("FIPSCrypto ECDSA P-256 pair-wise consistency test".utf8)
            var flipped = message
            flipped[0] ^= 0x01
            let sig = try views([message]) { try key.sign(core: core, digest: .sha256, rsaPadding: nil, message: $0[0]) }
            let verdicts = views([sig, message, flipped]) { v in
                [key.publicKey.verify(core: core, digest: .sha256, rsaPadding: nil, signature: v[0], message: v[1]),
                 key.publicKey.verify(core: core, digest: .sha256, rsaPadding: nil, signature: v[0], message: v[2])]
            }
            return (verdicts.map { $0 ? 1 : 0 }, [1, 0])
        },
        Test(name: "ECDSA-P256-verify", family: "ECDSA", kind: "KAT") { core in
            // vectors/wycheproof/ecdsa_secp256r1_sha256_test.json, tcId 2 (valid, "pseudorandom signature"),
            // first test group's public key; the same signature over a one-bit-different message must fail.
            let key = try views([hex("0404aaec73635726f213fb8a9e64da3b8632e41495a944d0045b522eba7240fad587d9315798aaa3a5ba01775787ced05eaaf7b4e09fc81d6d1aa546e8365d525d")]) {
                try PublicKeyStorage.fromX963(core: core, curve: .p256, $0[0])
            }
            let verdicts = views([hex("30450220530bd6b0c9af2d69ba897f6b5fb59695cfbf33afe66dbadcf5b8d2a2a6538e23022100d85e489cb7a161fd55ededcedbf4cc0c0987e3e3f0f242cae934c72caa3f43e9"), hex("4d7367"), hex("4d7366")]) { v in
                [key.verify(core: core, digest: .sha256, rsaPadding: nil, signature: v[0], message: v[1]),
                 key.verify(core: core, digest: .sha256, rsaPadding: nil, signature: v[0], message: v[2])]
            }
            return (verdicts.map { $0 ? 1 : 0 }, [1, 0])
        },
    ]

    /// Runs every test; never throws (a throwing test is a failed test).
    static func run(core: ModuleCore, failing: Set<String>) -> [SelfTestResult] {
        tests.map { test in
            let start = ContinuousClock.now
            var passed = false
            var failure: String? = nil
            do {
                var (computed, expected) = try test.run(core)
                if failing.contains(test.name) || failing.contains(test.family) || failing.contains("all") {
                    if computed.isEmpty { computed = [0] } else { computed[0] ^= 0x01 }
                    failure = "forced to fail by FIPSCRYPTO_FAIL_SELFTEST"
                }
                passed = computed == expected
                if !passed && failure == nil { failure = "computed output does not match the expected value" }
            } catch {
                failure = "\(error)"
            }
            return SelfTestResult(name: test.name, kind: test.kind, family: test.family, passed: passed,
                                  duration: (ContinuousClock.now - start).seconds, failure: passed ? nil : failure)
        }
    }
}

/// Decodes hex compiled into the binary (programmer-supplied constants only).
func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(s.count / 2)
    var it = s.makeIterator()
    while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
    return out
}

/// Calls `body` with raw views of several arrays at once.
private func views<R>(_ arrays: [[UInt8]], _ done: [UnsafeRawBufferPointer] = [],
                      _ body: ([UnsafeRawBufferPointer]) throws -> R) rethrows -> R {
    guard let first = arrays.first else { return try body(done) }
    return try first.withUnsafeBytes { try views(Array(arrays.dropFirst()), done + [$0], body) }
}
