import Foundation
import XCTest
import FIPSTestSupport

/// `fipsctl key ...`, `encrypt`, `decrypt`, `rewrap` through the built binary, and the formats in docs/FORMAT.md
/// checked by an independent implementation (python3 `cryptography`).
final class KeyCLITests: XCTestCase {
    var root: URL!
    var dir: URL { root.appendingPathComponent("ks") }

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: TestSupport.fipsctl) else {
            throw XCTSkip("fipsctl is not built at \(TestSupport.fipsctl)")
        }
        root = try TestSupport.temporaryDirectory("keycli")
    }
    override func tearDownWithError() throws { if let root { try? FileManager.default.removeItem(at: root) } }

    let clean = ["FIPSCRYPTO_KEYSTORE", "FIPSCRYPTO_KEK_FILE", "FIPSCRYPTO_KEK_PASSPHRASE_FILE", "FIPSCRYPTO_TEST_CRASH_BEFORE_RENAME"]

    @discardableResult
    func ctl(_ args: [String], input: Data? = nil, env: [String: String] = [:], expect: Int32 = 0,
             file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        let r = try TestSupport.fipsctl(args, input: input, environment: env, removingEnvironment: clean)
        XCTAssertEqual(r.status, expect, "fipsctl \(args.joined(separator: " ")): \(r.err)", file: file, line: line)
        return r
    }
    func ks(_ args: [String]) -> [String] { args + ["--keystore", dir.path] }

    /// `decrypt --out` writes the plaintext into a file that is 0600 from creation (whatever the umask), replaces an
    /// existing file, and never writes through a symbolic link at the path.
    func testDecryptOutFileIsPrivateAndNeverFollowsALink() throws {
        try ctl(["key", "init", "--keystore", dir.path])
        let plain = Data("the plaintext".utf8)
        let env = try ctl(ks(["encrypt", "--context", "c"]), input: plain).stdout
        let out = root.appendingPathComponent("plain.out")
        try Data("old".utf8).write(to: out)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: out.path)
        try ctl(ks(["decrypt", "--context", "c", "--out", out.path]), input: env)
        XCTAssertEqual(try Data(contentsOf: out), plain)
        XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: out.path)[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        // A link at the output path is replaced by a new file; its target is untouched.
        let target = root.appendingPathComponent("target")
        try Data("target".utf8).write(to: target)
        let link = root.appendingPathComponent("link.out")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: target.path)
        try ctl(ks(["decrypt", "--context", "c", "--out", link.path]), input: env)
        XCTAssertEqual(try Data(contentsOf: target), Data("target".utf8))
        XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(atPath: link.path))
        XCTAssertEqual(try Data(contentsOf: link), plain)
        XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: link.path)[.posixPermissions] as? NSNumber)?.intValue, 0o600)
    }

    func testHelpIsAManPage() throws {
        for c in ["key", "encrypt", "decrypt", "rewrap"] {
            let r = try ctl([c, "--help"])
            for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES"] {
                XCTAssertTrue(r.out.contains(section), "\(c) --help lacks \(section)")
            }
        }
        XCTAssertTrue(try ctl(["--help"]).out.contains("encrypt"))
    }

    func testLifecycleThroughTheCLI() throws {
        try ctl(["key", "init", "--keystore", dir.path])
        try ctl(["key", "init", "--keystore", dir.path], expect: 1)            // never overwrites
        let plain = Data("card 4111".utf8)
        let v1 = try ctl(ks(["encrypt", "--context", "cards"]), input: plain).stdout
        XCTAssertEqual(v1.count, plain.count + 73)
        XCTAssertEqual(try ctl(ks(["decrypt", "--context", "cards"]), input: v1).stdout, plain)

        // staged rotation: v2 exists but is not used until promoted
        XCTAssertTrue(try ctl(ks(["key", "rotate", "--stage"])).out.contains("added key version 2"))
        let still1 = try ctl(ks(["encrypt", "--context", "cards"]), input: plain).stdout
        XCTAssertEqual(Array(still1[5..<9]), [0, 0, 0, 1])
        try ctl(ks(["key", "promote", "--version", "2"]))
        let v2 = try ctl(ks(["encrypt", "--context", "cards"]), input: plain).stdout
        XCTAssertEqual(Array(v2[5..<9]), [0, 0, 0, 2])

        // rewrap via files, then idempotent
        let inFile = root.appendingPathComponent("v1.env"), outFile = root.appendingPathComponent("v2.env")
        try v1.write(to: inFile)
        try ctl(ks(["rewrap", "--context", "cards", "--in", inFile.path, "--out", outFile.path]))
        let rewrapped = try Data(contentsOf: outFile)
        XCTAssertEqual(Array(rewrapped[5..<9]), [0, 0, 0, 2])
        XCTAssertEqual(try ctl(ks(["rewrap", "--context", "cards"]), input: rewrapped).stdout, rewrapped)
        XCTAssertEqual(try ctl(ks(["decrypt", "--context", "cards", "--in", outFile.path])).stdout, plain)

        // list: text and JSON, never key bytes
        let kek = try Data(contentsOf: dir.appendingPathComponent("kek"))
        let json = try ctl(ks(["key", "list", "--json"])).stdout
        let obj = try JSONSerialization.jsonObject(with: json) as! [String: Any]
        XCTAssertEqual(obj["primaryVersion"] as? Int, 2)
        let versions = obj["versions"] as! [[String: Any]]
        XCTAssertEqual(versions.map { $0["sealCount"] as? Int }, [2, 2])      // encrypt ×2 under v1; encrypt + rewrap under v2
        XCTAssertEqual(Set(versions[0].keys), ["version", "createdAt", "state", "isPrimary", "sealCount"])
        XCTAssertFalse(json.range(of: kek) != nil)
        XCTAssertTrue(try ctl(ks(["key", "list"])).out.contains("VERSION"))

        // retire / reinstate / destroy
        try ctl(ks(["key", "retire", "--version", "1"]))
        XCTAssertTrue(try ctl(ks(["decrypt", "--context", "cards"]), input: v1, expect: 1).err.contains("keyVersionUnavailable"))
        try ctl(ks(["key", "reinstate", "--version", "1"]))
        XCTAssertEqual(try ctl(ks(["decrypt", "--context", "cards"]), input: v1).stdout, plain)
        try ctl(ks(["key", "minimum", "--decryption", "2"]))
        XCTAssertTrue(try ctl(ks(["decrypt", "--context", "cards"]), input: v1, expect: 1).err.contains("keyVersionTooOld"))
        try ctl(ks(["key", "minimum", "--decryption", "1"]))
        try ctl(ks(["key", "destroy", "--version", "1"]), expect: 2)             // needs --yes
        try ctl(ks(["key", "destroy", "--version", "1", "--yes"]))
        let r = try ctl(ks(["decrypt", "--context", "cards"]), input: v1, expect: 1)
        XCTAssertTrue(r.err.contains("keyVersionUnavailable") && r.stdout.isEmpty, r.err)
        try ctl(ks(["key", "retire", "--below", "2"]))
        try ctl(ks(["key", "retire"]), expect: 2)
    }

    func testErrorsAndUsage() throws {
        try ctl(["key", "init", "--keystore", dir.path])
        try ctl(ks(["encrypt"]), input: Data(), expect: 2)                      // --context required
        try ctl(["key", "list"], expect: 2)                                     // no keystore
        try ctl(ks(["key", "frobnicate"]), expect: 2)
        try ctl(ks(["key", "promote", "--version", "zero"]), expect: 2)
        let aadFile = root.appendingPathComponent("aad")
        try Data("row=9".utf8).write(to: aadFile)
        let e = try ctl(ks(["encrypt", "--context", "a", "--aad-file", aadFile.path]), input: Data("x".utf8)).stdout
        XCTAssertEqual(try ctl(ks(["decrypt", "--context", "a", "--aad-file", aadFile.path]), input: e).stdout, Data("x".utf8))
        XCTAssertTrue(try ctl(ks(["decrypt", "--context", "a"]), input: e, expect: 1).err.contains("authenticationFailure"))
        XCTAssertTrue(try ctl(ks(["decrypt", "--context", "b", "--aad-file", aadFile.path]), input: e, expect: 1).err.contains("contextMismatch"))
        XCTAssertTrue(try ctl(ks(["decrypt", "--context", "a"]), input: Data("nope".utf8), expect: 1).err.contains("invalidEncoding"))
        // environment instead of --keystore
        XCTAssertEqual(try ctl(["decrypt", "--context", "a", "--aad-file", aadFile.path], input: e,
                               env: ["FIPSCRYPTO_KEYSTORE": dir.path]).stdout, Data("x".utf8))
        // another keystore cannot open it: commitment mismatch
        let other = root.appendingPathComponent("other")
        try ctl(["key", "init", "--keystore", other.path])
        XCTAssertTrue(try ctl(["decrypt", "--context", "a", "--aad-file", aadFile.path, "--keystore", other.path], input: e, expect: 1)
            .err.contains("keyCommitmentMismatch"))
        // permissions
        XCTAssertEqual(chmod(dir.appendingPathComponent("keyring").path, 0o644), 0)
        let p = try ctl(ks(["key", "list"]), expect: 1)
        XCTAssertTrue(p.err.contains("chmod 600 \(dir.appendingPathComponent("keyring").path)"), p.err)
    }

    func testPassphraseKeystore() throws {
        let pf = root.appendingPathComponent("pass")
        try Data("a long enough passphrase\n".utf8).write(to: pf)
        XCTAssertEqual(chmod(pf.path, 0o644), 0)
        try ctl(["key", "init", "--keystore", dir.path, "--passphrase-file", pf.path], expect: 1)   // 0644 passphrase file refused
        XCTAssertEqual(chmod(pf.path, 0o600), 0)
        try ctl(["key", "init", "--keystore", dir.path, "--passphrase-file", pf.path])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("kek").path))
        let env = ["FIPSCRYPTO_KEYSTORE": dir.path, "FIPSCRYPTO_KEK_PASSPHRASE_FILE": pf.path]
        let e = try ctl(["encrypt", "--context", "p"], input: Data("y".utf8), env: env).stdout
        try ctl(["key", "rotate"], env: env)
        XCTAssertEqual(try ctl(["decrypt", "--context", "p"], input: e, env: env).stdout, Data("y".utf8))
        try ctl(["key", "list"], env: ["FIPSCRYPTO_KEYSTORE": dir.path], expect: 1)            // KEK file given, passphrase store
    }

    /// An independent reader (python3 `cryptography`) follows docs/FORMAT.md: unseals the keystore with the KEK file,
    /// parses the keyring, derives subkey + commitment with HKDF and opens an envelope made by fipsctl.
    func testIndependentReaderFollowsFormatDoc() throws {
        guard (try? TestSupport.run("python3", ["-c", "import cryptography"]).status) == 0 else {
            throw XCTSkip("python3 with cryptography is not available")
        }
        try ctl(["key", "init", "--keystore", dir.path])
        try ctl(ks(["key", "rotate"]))
        let aadFile = root.appendingPathComponent("aad")
        try Data("tenant=7".utf8).write(to: aadFile)
        let plain = Data("independently verified".utf8)
        let envFile = root.appendingPathComponent("m.env")
        try ctl(ks(["encrypt", "--context", "orders.note", "--aad-file", aadFile.path, "--out", envFile.path]), input: plain)
        let script = #"""
        import sys, struct, hashlib, hmac
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF
        from cryptography.hazmat.primitives import hashes
        d, env, aadf, ctx = sys.argv[1:5]
        kek = open(d + "/kek", "rb").read(); ks = open(d + "/keyring", "rb").read()
        assert ks[:4] == b"FCKs" and ks[4] == 1 and ks[5] == 1
        hdr = ks[:6]; body = ks[6:]
        plain = AESGCM(kek).decrypt(body[:12], body[12:], hdr)
        assert plain[0] == 1
        primary, mindec, minenc, n = struct.unpack(">IIII", plain[1:17]); off = 17; keys = {}
        for _ in range(n):
            v, st, created, seals, kl = struct.unpack(">IBqQB", plain[off:off+22]); off += 22
            keys[v] = plain[off:off+kl]; off += kl
        assert off == len(plain) and primary == 2
        e = open(env, "rb").read(); aad = open(aadf, "rb").read()
        assert e[:4] == b"FCEv" and e[4] == 1
        v = struct.unpack(">I", e[5:9])[0]
        assert e[9:13] == hashlib.sha256(ctx.encode()).digest()[:4]
        okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=None,
                   info=b"FIPSCrypto keyring envelope v1\x00" + struct.pack(">I", v) + ctx.encode()).derive(keys[v])
        assert hmac.compare_digest(okm[32:], e[13:45])
        sys.stdout.buffer.write(AESGCM(okm[:32]).decrypt(e[45:57], e[57:], e[:45] + aad))
        """#
        let r = try TestSupport.run("python3", ["-c", script, dir.path, envFile.path, aadFile.path, "orders.note"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.stdout, plain)
    }
}
