import XCTest
import Foundation
import FIPSCrypto
import FIPSTestSupport

/// Round trips through the public API: generate, sign, verify, encode, load, for every approved kind.
final class SignatureAPITests: XCTestCase {
    let message = Data("swift-fips-crypto signature test".utf8)

    func testP256SignVerifyAndEncodings() throws {
        let key = P256.Signing.PrivateKey()
        let sig = try key.signature(for: message)
        XCTAssertEqual(sig.rawRepresentation.count, 64)
        XCTAssertTrue(key.publicKey.isValidSignature(sig, for: message))
        XCTAssertFalse(key.publicKey.isValidSignature(sig, for: Data("other".utf8)))
        // Non-contiguous message input gives the same answer.
        let split = DispatchData.fromParts([Array(message.prefix(5)), Array(message.dropFirst(5))])
        XCTAssertTrue(key.publicKey.isValidSignature(sig, for: split))
        let sig2 = try key.signature(for: split)
        XCTAssertTrue(key.publicKey.isValidSignature(sig2, for: message))

        let raw = try P256.Signing.ECDSASignature(rawRepresentation: sig.rawRepresentation)
        XCTAssertEqual(raw.derRepresentation, sig.derRepresentation)
        let der = try P256.Signing.ECDSASignature(derRepresentation: sig.derRepresentation)
        XCTAssertEqual(der.rawRepresentation, sig.rawRepresentation)

        let reloaded = try P256.Signing.PrivateKey(pemRepresentation: key.pemRepresentation)
        XCTAssertEqual(reloaded.derRepresentation, key.derRepresentation)
        XCTAssertTrue(key.pemRepresentation.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        let fromDER = try P256.Signing.PrivateKey(derRepresentation: key.derRepresentation)
        XCTAssertEqual(fromDER.publicKey.derRepresentation, key.publicKey.derRepresentation)

        let pub = key.publicKey
        XCTAssertEqual(pub.x963Representation.count, 65)
        XCTAssertEqual(try P256.Signing.PublicKey(x963Representation: pub.x963Representation).derRepresentation, pub.derRepresentation)
        XCTAssertEqual(try P256.Signing.PublicKey(pemRepresentation: pub.pemRepresentation).derRepresentation, pub.derRepresentation)
        XCTAssertEqual(try P256.Signing.PublicKey(derRepresentation: pub.derRepresentation).x963Representation, pub.x963Representation)
        XCTAssertTrue(try P256.Signing.PublicKey(x963Representation: pub.x963Representation).isValidSignature(sig, for: message))

        XCTAssertFalse("\(key)".contains(key.pemRepresentation.dropFirst(28).prefix(20)))
        XCTAssertTrue("\(key)".contains("redacted"))
        XCTAssertTrue("\(pub)".contains("sha256:"))
    }

    func testP384AndP521() throws {
        let k384 = try P384.Signing.PrivateKey.generate()
        let s384 = try k384.signature(for: message)
        XCTAssertEqual(s384.rawRepresentation.count, 96)
        XCTAssertTrue(k384.publicKey.isValidSignature(s384, for: message))
        XCTAssertEqual(k384.publicKey.x963Representation.count, 97)
        let k521 = P521.Signing.PrivateKey()
        let s521 = try k521.signature(for: message)
        XCTAssertEqual(s521.rawRepresentation.count, 132)
        XCTAssertTrue(k521.publicKey.isValidSignature(s521, for: message))
        XCTAssertFalse(k521.publicKey.isValidSignature(s521, for: message + [0]))
        XCTAssertEqual(try P521.Signing.PrivateKey(pemRepresentation: k521.pemRepresentation).derRepresentation, k521.derRepresentation)
        // A key of one curve is not a key of another.
        XCTAssertThrowsError(try P256.Signing.PrivateKey(pemRepresentation: k384.pemRepresentation)) {
            XCTAssertEqual(($0 as? FIPSError)?.code, .invalidParameter)
        }
        XCTAssertThrowsError(try P384.Signing.PublicKey(derRepresentation: k521.publicKey.derRepresentation)) {
            XCTAssertEqual(($0 as? FIPSError)?.code, .invalidParameter)
        }
    }

    func testRSAPSSAndPKCS1() throws {
        let key = try RSA.Signing.PrivateKey(keySize: .bits2048)
        XCTAssertEqual(key.keySizeInBits, 2048)
        XCTAssertEqual(key.publicKey.keySizeInBits, 2048)
        let pss = try key.signature(for: message)
        XCTAssertEqual(pss.rawRepresentation.count, 256)
        XCTAssertTrue(key.publicKey.isValidSignature(pss, for: message))
        XCTAssertFalse(key.publicKey.isValidSignature(pss, for: message, padding: .insecurePKCS1v1_5))
        let v15 = try key.signature(for: message, padding: .insecurePKCS1v1_5)
        XCTAssertTrue(key.publicKey.isValidSignature(v15, for: message, padding: .insecurePKCS1v1_5))
        XCTAssertFalse(key.publicKey.isValidSignature(v15, for: message))
        XCTAssertEqual(try key.signature(for: message, padding: .insecurePKCS1v1_5), v15, "PKCS#1 v1.5 is deterministic")
        XCTAssertNotEqual(try key.signature(for: message), pss, "PSS is randomized")
        let reloaded = try RSA.Signing.PrivateKey(pemRepresentation: key.pemRepresentation)
        XCTAssertTrue(reloaded.publicKey.isValidSignature(try reloaded.signature(for: message), for: message))
        XCTAssertEqual(try RSA.Signing.PublicKey(pemRepresentation: key.publicKey.pemRepresentation).derRepresentation,
                       key.publicKey.derRepresentation)
        XCTAssertTrue("\(key)".contains("redacted"))
        XCTAssertThrowsError(try RSA.Signing.PrivateKey(pemRepresentation: P256.Signing.PrivateKey().pemRepresentation)) {
            XCTAssertEqual(($0 as? FIPSError)?.code, .invalidParameter)
        }
    }

    func testSigningPrivateKeyKinds() throws {
        for kind in [SigningPrivateKey.Kind.p256, .p384, .p521, .rsa2048] {
            let key = try SigningPrivateKey.generate(kind)
            XCTAssertEqual(key.kind, kind)
            XCTAssertEqual(SigningPrivateKey.Kind(name: kind.name), kind)
            let pub = try SigningPublicKey(derRepresentation: key.publicKeyDER)
            XCTAssertEqual(pub.kind, kind)
            let sig = try key.signature(for: message)
            XCTAssertTrue(pub.isValidSignature(sig, for: message))
            XCTAssertFalse(pub.isValidSignature(sig, for: message.dropLast()))
            let reloaded = try SigningPrivateKey(pemRepresentation: try key.pemRepresentation())
            XCTAssertEqual(reloaded.publicKeyDER, key.publicKeyDER)
            XCTAssertEqual("\(key)", "SigningPrivateKey(\(kind.name), redacted)")
            XCTAssertEqual(try SigningPublicKey(pemRepresentation: pub.pemRepresentation).derRepresentation, pub.derRepresentation)
            key.withPKey { XCTAssertNotNil(UnsafeRawPointer($0)) }
        }
        XCTAssertEqual(SigningPrivateKey.Kind.rsa3072.name, "rsa3072")
        XCTAssertNil(SigningPrivateKey.Kind(name: "rsa1024"))
        XCTAssertNil(SigningPrivateKey.Kind(name: "ed25519"))
        let p = P384.Signing.PrivateKey()
        XCTAssertEqual(SigningPrivateKey(p).kind, .p384)
        XCTAssertEqual(SigningPrivateKey(p).publicKeyDER, p.publicKey.derRepresentation)
        XCTAssertEqual(SigningPublicKey(p.publicKey).kind, .p384)
    }

    func testNonContiguousInputs() throws {
        func split(_ d: Data) -> DispatchData { DispatchData.fromParts([Array(d.prefix(3)), Array(d.dropFirst(3))]) }
        let key = P384.Signing.PrivateKey()
        let sig = try key.signature(for: message)
        XCTAssertEqual(try P384.Signing.ECDSASignature(derRepresentation: split(sig.derRepresentation)).rawRepresentation, sig.rawRepresentation)
        XCTAssertEqual(try P384.Signing.ECDSASignature(rawRepresentation: split(sig.rawRepresentation)).derRepresentation, sig.derRepresentation)
        XCTAssertEqual(try P384.Signing.PublicKey(x963Representation: split(key.publicKey.x963Representation)).derRepresentation,
                       key.publicKey.derRepresentation)
        XCTAssertEqual(try P384.Signing.PublicKey(derRepresentation: split(key.publicKey.derRepresentation)).derRepresentation,
                       key.publicKey.derRepresentation)
        XCTAssertEqual(try P384.Signing.PrivateKey(derRepresentation: split(key.derRepresentation)).derRepresentation, key.derRepresentation)
        XCTAssertEqual(try SigningPrivateKey(derRepresentation: split(key.derRepresentation)).kind, .p384)
        let erased = try SigningPublicKey(derRepresentation: split(key.publicKey.derRepresentation))
        XCTAssertTrue(erased.isValidSignature(split(sig.derRepresentation), for: split(message)))
        let rsa = try RSA.Signing.PrivateKey(keySize: .bits2048)
        let rsig = try rsa.signature(for: split(message))
        XCTAssertTrue(rsa.publicKey.isValidSignature(RSA.Signing.RSASignature(rawRepresentation: split(rsig.rawRepresentation)), for: split(message)))
        XCTAssertEqual(try RSA.Signing.PublicKey(derRepresentation: split(rsa.publicKey.derRepresentation)).keySizeInBits, 2048)
        XCTAssertEqual(try RSA.Signing.PrivateKey(derRepresentation: split(rsa.derRepresentation)).keySizeInBits, 2048)
    }

    func testOneKeyFromManyThreads() throws {
        let ec = P256.Signing.PrivateKey()
        let rsa = try SigningPrivateKey.generate(.rsa2048)
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            let m = Data("message \(i)".utf8)
            do {
                let s = try ec.signature(for: m)
                if !ec.publicKey.isValidSignature(s, for: m) { failures.add() }
                let r = try rsa.signature(for: m)
                if !rsa.publicKey.isValidSignature(r, for: m) || rsa.publicKey.isValidSignature(r, for: m + [1]) { failures.add() }
            } catch { failures.add() }
        }
        XCTAssertEqual(failures.value, 0)
    }

    func testRSA3072And4096Generate() throws {
        let k = try SigningPrivateKey.generate(.rsa3072)
        XCTAssertEqual(k.kind, .rsa3072)
        let r = try RSA.Signing.PrivateKey(keySize: .bits4096)
        XCTAssertEqual(r.keySizeInBits, 4096)
        XCTAssertEqual(SigningPrivateKey(r).kind, .rsa4096)
    }
}

extension DispatchData {
    static func fromParts(_ parts: [[UInt8]]) -> DispatchData {
        var d = DispatchData.empty
        for p in parts { p.withUnsafeBytes { d.append($0) } }
        return d
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
