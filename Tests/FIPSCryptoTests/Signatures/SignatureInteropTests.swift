import XCTest
import Foundation
import FIPSCrypto
import FIPSTestSupport

/// Interoperability with independent implementations: the `openssl` CLI and python3 `cryptography`.
final class SignatureInteropTests: XCTestCase {
    let message = Data("interop: swift-fips-crypto <-> openssl / python cryptography".utf8)
    var dir: URL!

    override func setUpWithError() throws {
        guard TestSupport.hasProgram("openssl"), TestSupport.hasProgram("python3") else { throw XCTSkip("needs openssl and python3") }
        dir = try TestSupport.temporaryDirectory("fipscrypto-sig")
    }

    override func tearDownWithError() throws {
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }

    @discardableResult
    private func write(_ name: String, _ data: Data) throws -> String {
        let url = dir.appendingPathComponent(name)
        try data.write(to: url)
        return url.path
    }

    private func python(_ script: String, _ args: [String] = [], input: Data? = nil,
                        file: StaticString = #filePath, line: UInt = #line) throws -> TestSupport.ProcessResult {
        let r = try TestSupport.run("python3", ["-c", script] + args, input: input)
        XCTAssertEqual(r.status, 0, "python3 failed: \(String(decoding: r.stderr, as: UTF8.self))", file: file, line: line)
        return r
    }

    private func opensslVerify(pub: String, sig: Data, digest: String, options: [String] = [],
                               file: StaticString = #filePath, line: UInt = #line) throws -> Bool {
        let msgPath = try write("msg", message)
        let sigPath = try write("sig", sig)
        let pubPath = try write("pub.pem", Data(pub.utf8))
        let r = try TestSupport.run("openssl", ["dgst", "-\(digest)", "-verify", pubPath, "-signature", sigPath] + options + [msgPath])
        return r.status == 0 && r.out.contains("Verified OK")
    }

    // MARK: - Signatures made here, verified by openssl and python

    func testOurSignaturesVerifyInOpenSSLCLI() throws {
        let p256 = P256.Signing.PrivateKey()
        XCTAssertTrue(try opensslVerify(pub: p256.publicKey.pemRepresentation, sig: try p256.signature(for: message).derRepresentation, digest: "sha256"))
        let p384 = P384.Signing.PrivateKey()
        XCTAssertTrue(try opensslVerify(pub: p384.publicKey.pemRepresentation, sig: try p384.signature(for: message).derRepresentation, digest: "sha384"))
        let p521 = P521.Signing.PrivateKey()
        let s521 = try p521.signature(for: message)
        XCTAssertTrue(try opensslVerify(pub: p521.publicKey.pemRepresentation, sig: s521.derRepresentation, digest: "sha512"))
        // The check can fail: a signature over another message is refused by the CLI.
        XCTAssertFalse(try opensslVerify(pub: p521.publicKey.pemRepresentation, sig: try p521.signature(for: Data("x".utf8)).derRepresentation, digest: "sha512"))

        let rsa = try RSA.Signing.PrivateKey(keySize: .bits2048)
        let pss = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-sigopt", "rsa_mgf1_md:sha256"]
        XCTAssertTrue(try opensslVerify(pub: rsa.publicKey.pemRepresentation, sig: try rsa.signature(for: message).rawRepresentation,
                                        digest: "sha256", options: pss))
        XCTAssertTrue(try opensslVerify(pub: rsa.publicKey.pemRepresentation,
                                        sig: try rsa.signature(for: message, padding: .insecurePKCS1v1_5).rawRepresentation, digest: "sha256"))
        XCTAssertFalse(try opensslVerify(pub: rsa.publicKey.pemRepresentation, sig: try rsa.signature(for: message).rawRepresentation, digest: "sha256"),
                       "a PSS signature is not a PKCS#1 v1.5 signature")
    }

    func testOurSignaturesVerifyInPython() throws {
        let ec = P256.Signing.PrivateKey()
        let rsa = try RSA.Signing.PrivateKey(keySize: .bits2048)
        let script = """
        import sys, binascii
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec, padding
        msg = binascii.unhexlify(sys.argv[1])
        ecpub = serialization.load_pem_public_key(open(sys.argv[2], 'rb').read())
        ecpub.verify(binascii.unhexlify(sys.argv[3]), msg, ec.ECDSA(hashes.SHA256()))
        rsapub = serialization.load_pem_public_key(open(sys.argv[4], 'rb').read())
        rsapub.verify(binascii.unhexlify(sys.argv[5]), msg, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
        rsapub.verify(binascii.unhexlify(sys.argv[6]), msg, padding.PKCS1v15(), hashes.SHA256())
        print("ok")
        """
        let r = try python(script, [TestSupport.hex(message),
                                    try write("ec.pem", Data(ec.publicKey.pemRepresentation.utf8)),
                                    TestSupport.hex(try ec.signature(for: message).derRepresentation),
                                    try write("rsa.pem", Data(rsa.publicKey.pemRepresentation.utf8)),
                                    TestSupport.hex(try rsa.signature(for: message).rawRepresentation),
                                    TestSupport.hex(try rsa.signature(for: message, padding: .insecurePKCS1v1_5).rawRepresentation)])
        XCTAssertEqual(r.out.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
    }

    // MARK: - Keys and signatures made by python, used here

    func testPythonKeysAndSignaturesWorkHere() throws {
        let script = """
        import sys, json, binascii
        from cryptography.hazmat.primitives import hashes, serialization as s
        from cryptography.hazmat.primitives.asymmetric import ec, rsa, padding
        msg = binascii.unhexlify(sys.argv[1])
        out = {}
        for name, curve, h in [("p256", ec.SECP256R1(), hashes.SHA256()), ("p384", ec.SECP384R1(), hashes.SHA384()), ("p521", ec.SECP521R1(), hashes.SHA512())]:
            k = ec.generate_private_key(curve)
            out[name + ".pkcs8"] = k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()).decode()
            out[name + ".sec1"] = k.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()).decode()
            out[name + ".pub"] = k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo).decode()
            out[name + ".x963"] = k.public_key().public_bytes(s.Encoding.X962, s.PublicFormat.UncompressedPoint).hex()
            out[name + ".sig"] = k.sign(msg, ec.ECDSA(h)).hex()
        k = rsa.generate_private_key(65537, 3072)
        out["rsa.pkcs8"] = k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()).decode()
        out["rsa.pkcs1"] = k.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()).decode()
        out["rsa.pub"] = k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo).decode()
        out["rsa.pss"] = k.sign(msg, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256()).hex()
        out["rsa.pss.max"] = k.sign(msg, padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.MAX_LENGTH), hashes.SHA256()).hex()
        out["rsa.v15"] = k.sign(msg, padding.PKCS1v15(), hashes.SHA256()).hex()
        print(json.dumps(out))
        """
        let r = try python(script, [TestSupport.hex(message)])
        let v = try JSONDecoder().decode([String: String].self, from: r.stdout)
        func b(_ k: String) -> [UInt8] { TestSupport.bytes(hex: v[k]!) }

        let p256 = try P256.Signing.PublicKey(pemRepresentation: v["p256.pub"]!)
        XCTAssertEqual(p256.x963Representation, Data(b("p256.x963")))
        XCTAssertTrue(p256.isValidSignature(try P256.Signing.ECDSASignature(derRepresentation: b("p256.sig")), for: message))
        XCTAssertFalse(p256.isValidSignature(try P256.Signing.ECDSASignature(derRepresentation: b("p256.sig")), for: message.dropLast()))
        XCTAssertEqual(try P256.Signing.PrivateKey(pemRepresentation: v["p256.pkcs8"]!).publicKey.derRepresentation, p256.derRepresentation)
        XCTAssertEqual(try P256.Signing.PrivateKey(pemRepresentation: v["p256.sec1"]!).publicKey.derRepresentation, p256.derRepresentation)
        let p384 = try P384.Signing.PublicKey(pemRepresentation: v["p384.pub"]!)
        XCTAssertTrue(p384.isValidSignature(try P384.Signing.ECDSASignature(derRepresentation: b("p384.sig")), for: message))
        XCTAssertEqual(try P384.Signing.PrivateKey(pemRepresentation: v["p384.sec1"]!).publicKey.derRepresentation, p384.derRepresentation)
        let p521 = try P521.Signing.PublicKey(x963Representation: b("p521.x963"))
        XCTAssertTrue(p521.isValidSignature(try P521.Signing.ECDSASignature(derRepresentation: b("p521.sig")), for: message))
        XCTAssertEqual(try SigningPrivateKey(pemRepresentation: v["p521.pkcs8"]!).kind, .p521)

        let rsa = try RSA.Signing.PublicKey(pemRepresentation: v["rsa.pub"]!)
        XCTAssertEqual(rsa.keySizeInBits, 3072)
        XCTAssertTrue(rsa.isValidSignature(.init(rawRepresentation: b("rsa.pss")), for: message))
        XCTAssertFalse(rsa.isValidSignature(.init(rawRepresentation: b("rsa.pss.max")), for: message),
                       "PSS verification requires salt length = digest length")
        XCTAssertTrue(rsa.isValidSignature(.init(rawRepresentation: b("rsa.v15")), for: message, padding: .insecurePKCS1v1_5))
        XCTAssertFalse(rsa.isValidSignature(.init(rawRepresentation: b("rsa.v15")), for: message))
        let fromPKCS1 = try RSA.Signing.PrivateKey(pemRepresentation: v["rsa.pkcs1"]!)
        XCTAssertEqual(fromPKCS1.publicKey.derRepresentation, rsa.derRepresentation)
        XCTAssertEqual(try SigningPrivateKey(pemRepresentation: v["rsa.pkcs8"]!).kind.name, "rsa3072")
        // A key loaded from python signs here, and python's public key verifies it.
        XCTAssertTrue(rsa.isValidSignature(try fromPKCS1.signature(for: message), for: message))
    }

    // MARK: - PEM written here, read by python and openssl

    func testOurPEMLoadsInPythonAndOpenSSL() throws {
        for kind in [SigningPrivateKey.Kind.p256, .p384, .rsa2048] {
            let key = try SigningPrivateKey.generate(kind)
            let path = try write("key-\(kind).pem", Data(try key.pemRepresentation().utf8))
            let script = """
            import sys
            from cryptography.hazmat.primitives import serialization as s
            k = s.load_pem_private_key(open(sys.argv[1], 'rb').read(), password=None)
            sys.stdout.write(k.public_key().public_bytes(s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo).hex())
            """
            XCTAssertEqual(try python(script, [path]).out, TestSupport.hex(key.publicKeyDER), "\(kind)")
            let r = try TestSupport.run("openssl", ["pkey", "-in", path, "-pubout", "-outform", "DER"])
            XCTAssertEqual(r.status, 0)
            XCTAssertEqual(r.stdout, key.publicKeyDER, "\(kind)")
        }
    }

    func testEncryptedPKCS8OpensInOpenSSLAndPython() throws {
        let key = try SigningPrivateKey.generate(.p256)
        let passphrase = "a long test passphrase"
        let pem = try key.pemRepresentation(passphrase: passphrase, iterations: 10_000)
        let path = try write("enc.pem", Data(pem.utf8))
        let pass = try write("pass.txt", Data(passphrase.utf8))

        // openssl: decrypts with the passphrase, and the structure is PBES2 / PBKDF2-HMAC-SHA-256 / AES-256-CBC.
        let r = try TestSupport.run("openssl", ["pkey", "-in", path, "-passin", "file:\(pass)", "-pubout", "-outform", "DER"])
        XCTAssertEqual(r.status, 0, String(decoding: r.stderr, as: UTF8.self))
        XCTAssertEqual(r.stdout, key.publicKeyDER)
        let wrong = try write("wrong.txt", Data("not the passphrase".utf8))
        XCTAssertNotEqual(try TestSupport.run("openssl", ["pkey", "-in", path, "-passin", "file:\(wrong)", "-noout"]).status, 0)
        let asn1 = try TestSupport.run("openssl", ["asn1parse", "-in", path]).out
        for token in ["PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc"] { XCTAssertTrue(asn1.contains(token), "asn1parse lacks \(token):\n\(asn1)") }

        // python: decrypts with the passphrase; a wrong one is refused.
        let script = """
        import sys
        from cryptography.hazmat.primitives import serialization as s
        data = open(sys.argv[1], 'rb').read()
        k = s.load_pem_private_key(data, password=sys.argv[2].encode())
        try:
            s.load_pem_private_key(data, password=b"wrong passphrase")
            print("WRONG ACCEPTED")
        except ValueError:
            pass
        sys.stdout.write(k.public_key().public_bytes(s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo).hex())
        """
        XCTAssertEqual(try python(script, [path, passphrase]).out, TestSupport.hex(key.publicKeyDER))

        // Here: the right passphrase opens it, a wrong one is a typed error.
        XCTAssertEqual(try SigningPrivateKey(pemRepresentation: pem, passphrase: passphrase).publicKeyDER, key.publicKeyDER)
        XCTAssertThrowsError(try SigningPrivateKey(pemRepresentation: pem, passphrase: "wrong passphrase!")) {
            XCTAssertEqual(($0 as? FIPSError)?.code, .wrongPassphrase)
        }
    }

    func testDefaultIterationCountIsWritten() throws {
        // The public API writes 600,000 PBKDF2 iterations (one export and one asn1parse; no decryption here).
        let key = try SigningPrivateKey.generate(.p256)
        let path = try write("enc-default.pem", Data(try key.pemRepresentation(passphrase: "a long test passphrase").utf8))
        let r = try TestSupport.run("openssl", ["asn1parse", "-in", path])
        XCTAssertEqual(r.status, 0, String(decoding: r.stderr, as: UTF8.self))
        XCTAssertTrue(r.out.contains("INTEGER           :0927C0"), "600000 = 0x0927C0 iterations expected:\n\(r.out)")
    }

    func testEncryptedPKCS8FromOpenSSLAndPythonOpensHere() throws {
        let passphrase = "another long passphrase"
        let pass = try write("pass2.txt", Data(passphrase.utf8))
        // openssl genpkey in its default context (test data): PKCS#8 encrypted with AES-256-CBC (PBES2).
        let keyPath = dir.appendingPathComponent("ossl-enc.pem").path
        let g = try TestSupport.run("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384",
                                                "-aes-256-cbc", "-pass", "file:\(pass)", "-out", keyPath])
        XCTAssertEqual(g.status, 0, String(decoding: g.stderr, as: UTF8.self))
        let pem = try String(contentsOfFile: keyPath, encoding: .utf8)
        XCTAssertTrue(pem.contains("ENCRYPTED PRIVATE KEY"))
        let pub = try TestSupport.run("openssl", ["pkey", "-in", keyPath, "-passin", "file:\(pass)", "-pubout", "-outform", "DER"]).stdout
        let loaded = try SigningPrivateKey(pemRepresentation: pem, passphrase: passphrase)
        XCTAssertEqual(loaded.kind, .p384)
        XCTAssertEqual(loaded.publicKeyDER, pub)
        XCTAssertThrowsError(try SigningPrivateKey(pemRepresentation: pem, passphrase: "wrong passphrase!")) {
            XCTAssertEqual(($0 as? FIPSError)?.code, .wrongPassphrase)
        }
        XCTAssertThrowsError(try SigningPrivateKey(pemRepresentation: pem)) { XCTAssertEqual(($0 as? FIPSError)?.code, .wrongPassphrase) }

        // python BestAvailableEncryption (PBES2, AES-256-CBC, PBKDF2-HMAC-SHA-256 in cryptography ≥ 38).
        let script = """
        import sys
        from cryptography.hazmat.primitives import serialization as s
        from cryptography.hazmat.primitives.asymmetric import rsa
        k = rsa.generate_private_key(65537, 2048)
        sys.stdout.write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.BestAvailableEncryption(sys.argv[1].encode())).decode())
        """
        let pyPEM = try python(script, [passphrase]).out
        XCTAssertEqual(try SigningPrivateKey(pemRepresentation: pyPEM, passphrase: passphrase).kind, .rsa2048)
    }
}
