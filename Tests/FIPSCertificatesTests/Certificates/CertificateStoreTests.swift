import Foundation
import XCTest
import Synchronization
import FIPSCrypto
import FIPSTestSupport
@testable import FIPSCertificates

final class CertificateStoreTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TestSupport.temporaryDirectory("certs-store") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func mode(_ url: URL) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as! NSNumber).intValue
    }

    func testFirstRunCreatesCAAndLeafWithSecurePermissions() throws {
        let storeDir = dir.appendingPathComponent("tls")
        let manager = CertificateManager(store: CertificateStore(directory: storeDir))
        let events = Mutex<[SecurityEvent]>([])
        let token = SecurityEvents.addHandler { e in events.withLock { $0.append(e) } }
        defer { SecurityEvents.removeHandler(token) }

        let pair = try manager.ensureServerCertificate(names: ["localhost", "127.0.0.1", "::1"])
        XCTAssertEqual(pair.chain.count, 2)
        XCTAssertTrue(pair.leaf.isIssued(by: pair.chain[1]))
        XCTAssertEqual(pair.leaf.subjectAlternativeNames, [.dns("localhost"), .ipAddress("127.0.0.1"), .ipAddress("::1")])
        XCTAssertEqual(pair.chain[1].publicKeyAlgorithm, "EC P-384")
        XCTAssertEqual(pair.leaf.publicKeyAlgorithm, "EC P-256")
        XCTAssertEqual(manager.currentMetadata?.kind, .managed)

        XCTAssertEqual(try mode(storeDir), 0o700)
        XCTAssertEqual(try mode(storeDir.appendingPathComponent("key.pem")), 0o600)
        XCTAssertEqual(try mode(storeDir.appendingPathComponent("cert.pem")), 0o644)
        XCTAssertEqual(try mode(storeDir.appendingPathComponent("ca")), 0o700)
        XCTAssertEqual(try mode(storeDir.appendingPathComponent("ca/ca-key.pem")), 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: storeDir.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [])

        // openssl verifies the stored leaf against the stored CA.
        let v = try CertTools.openssl(["verify", "-CAfile", storeDir.appendingPathComponent("ca/ca.pem").path, storeDir.appendingPathComponent("cert.pem").path])
        XCTAssertEqual(v.status, 0, v.out + v.err)

        // Events: the CA and the leaf were generated; metadata names the certificate, never a key.
        let got = events.withLock { $0 }.filter { $0.category == .certificate }
        XCTAssertEqual(got.map(\.action), ["certificate-generated", "certificate-generated"])
        XCTAssertEqual(got.last?.metadata["cert.serial"], pair.leaf.serialNumber)
        XCTAssertEqual(got.last?.metadata["cert.subject"], "CN=localhost")
        XCTAssertNotNil(got.last?.metadata["cert.not_after"])
        for e in got { for v in e.metadata.values { XCTAssertFalse(v.contains("PRIVATE KEY")) } }

        // A second run (new manager, same directory) reuses the pair.
        let again = try CertificateManager(store: CertificateStore(directory: storeDir)).ensureServerCertificate(names: ["localhost", "127.0.0.1", "::1"])
        XCTAssertEqual(again.leaf, pair.leaf)
        // Asking for a name the leaf lacks makes a new leaf from the same CA, keeping the old one in previous/.
        let wider = try CertificateManager(store: CertificateStore(directory: storeDir)).ensureServerCertificate(names: ["localhost", "svc.test"])
        XCTAssertNotEqual(wider.leaf, pair.leaf)
        XCTAssertEqual(wider.chain[1], pair.chain[1], "the CA is reused")
        XCTAssertEqual(try CertificateStore(directory: storeDir).loadPrevious()?.pair.leaf, pair.leaf)
    }

    func testSelfSignedMode() throws {
        let manager = CertificateManager(store: CertificateStore(directory: dir.appendingPathComponent("ss")))
        let pair = try manager.ensureServerCertificate(names: ["localhost"], mode: .selfSigned, keyKind: .rsa2048)
        XCTAssertEqual(pair.chain.count, 1)
        XCTAssertTrue(pair.leaf.isSelfIssued)
        XCTAssertEqual(pair.leaf.publicKeyAlgorithm, "RSA 2048")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("ss/ca").path))
    }

    func testInsecurePermissionsAreRefused() throws {
        let storeDir = dir.appendingPathComponent("perm")
        let store = CertificateStore(directory: storeDir)
        _ = try CertificateManager(store: store).ensureServerCertificate(names: ["localhost"], mode: .selfSigned)

        let key = storeDir.appendingPathComponent("key.pem")
        XCTAssertEqual(chmod(key.path, 0o640), 0)
        do { _ = try store.load(); XCTFail("a group-readable key must be refused") } catch let e as FIPSError {
            XCTAssertEqual(e.code, .insecurePermissions)
            XCTAssertTrue(e.reason.contains("chmod 600 \(key.path)"), e.reason)
        }
        XCTAssertThrowsFIPSError(.insecurePermissions, try CertificateManager(store: store).ensureServerCertificate(names: ["localhost"], mode: .selfSigned))
        XCTAssertEqual(chmod(key.path, 0o604), 0)
        XCTAssertThrowsFIPSError(.insecurePermissions, try store.load())
        XCTAssertEqual(chmod(key.path, 0o600), 0)
        XCTAssertNoThrow(try store.load())

        XCTAssertEqual(chmod(storeDir.path, 0o777), 0)
        do { _ = try store.load(); XCTFail("a world-writable directory must be refused") } catch let e as FIPSError {
            XCTAssertEqual(e.code, .insecurePermissions)
            XCTAssertTrue(e.reason.contains("chmod 700"), e.reason)
        }
        XCTAssertEqual(chmod(storeDir.path, 0o770), 0)
        XCTAssertThrowsFIPSError(.insecurePermissions, try store.load())
        XCTAssertEqual(chmod(storeDir.path, 0o700), 0)

        // A symbolic link in place of the key is refused too.
        let real = dir.appendingPathComponent("elsewhere.pem")
        try FileManager.default.moveItem(at: key, to: real)
        try FileManager.default.createSymbolicLink(at: key, withDestinationURL: real)
        XCTAssertThrowsFIPSError(.insecurePermissions, try store.load())
    }

    func testRenewalAtTwoThirdsAndNotBefore() throws {
        let t0 = Date(timeIntervalSince1970: TimeInterval(Int(Date().timeIntervalSince1970)))
        let storeDir = dir.appendingPathComponent("renew")
        let manager = CertificateManager(store: CertificateStore(directory: storeDir))
        let first = try manager.ensureServerCertificate(names: ["localhost", "127.0.0.1"], now: t0)
        XCTAssertEqual(first.leaf.notValidBefore, t0)
        XCTAssertEqual(first.leaf.notValidAfter, t0.addingTimeInterval(90 * 86_400))

        let rotated = Mutex<[CertificatePair]>([])
        manager.onRotate { p in rotated.withLock { $0.append(p) } }

        // 60 days = exactly 2/3: remaining is 30 days = 1/3, not less than 1/3 -> no renewal. One second later -> renewal.
        XCTAssertFalse(try manager.renewIfNeeded(now: t0.addingTimeInterval(1 * 86_400)))
        XCTAssertFalse(try manager.renewIfNeeded(now: t0.addingTimeInterval(59 * 86_400)))
        XCTAssertFalse(try manager.renewIfNeeded(now: t0.addingTimeInterval(60 * 86_400)))
        XCTAssertEqual(rotated.withLock { $0.count }, 0)
        let t1 = t0.addingTimeInterval(60 * 86_400 + 1)
        XCTAssertTrue(try manager.renewIfNeeded(now: t1))
        let new = try XCTUnwrap(rotated.withLock { $0.first })
        XCTAssertEqual(rotated.withLock { $0.count }, 1)
        XCTAssertNotEqual(new.leaf, first.leaf)
        XCTAssertNotEqual(new.key.publicKeyDER, first.key.publicKeyDER, "a renewed leaf has a new key")
        XCTAssertEqual(new.leaf.notValidBefore, t1)
        XCTAssertEqual(new.leaf.subjectAlternativeNames, first.leaf.subjectAlternativeNames)
        XCTAssertEqual(manager.current?.leaf, new.leaf)
        XCTAssertFalse(try manager.renewIfNeeded(now: t1.addingTimeInterval(86_400)), "the fresh leaf is not due")

        // The store holds the new pair and keeps the previous one.
        let store = CertificateStore(directory: storeDir)
        XCTAssertEqual(try store.load()?.pair.leaf, new.leaf)
        XCTAssertEqual(try store.loadPrevious()?.pair.leaf, first.leaf)
        XCTAssertEqual(try store.loadPrevious()?.pair.key.publicKeyDER, first.key.publicKeyDER)

        // A forced rotation works and moves the renewed pair to previous/.
        let forced = try manager.rotate(now: t1.addingTimeInterval(10))
        XCTAssertEqual(try store.loadPrevious()?.pair.leaf, new.leaf)
        XCTAssertEqual(try store.load()?.pair.leaf, forced.leaf)
    }

    /// A pair written by another manager (another process: `fipsctl cert rotate`) reaches this one's observers
    /// at its next check.
    func testRotationByAnotherProcessIsPickedUp() throws {
        let storeDir = dir.appendingPathComponent("shared")
        let service = CertificateManager(store: CertificateStore(directory: storeDir))
        let first = try service.ensureServerCertificate(names: ["localhost"])
        let seen = Mutex<[CertificatePair]>([])
        service.onRotate { p in seen.withLock { $0.append(p) } }
        XCTAssertFalse(try service.renewIfNeeded())

        let other = try CertificateManager(store: CertificateStore(directory: storeDir)).rotate()
        XCTAssertNotEqual(other.leaf, first.leaf)
        XCTAssertTrue(try service.renewIfNeeded())
        XCTAssertEqual(seen.withLock { $0.map(\.leaf) }, [other.leaf])
        XCTAssertEqual(service.current?.leaf, other.leaf)
        XCTAssertFalse(try service.renewIfNeeded(), "nothing new the second time")
        XCTAssertTrue(FileManager.default.fileExists(atPath: storeDir.appendingPathComponent(".lock").path))
    }

    func testKeyTypeChangeAndCAEndOfLife() throws {
        let t0 = Date(timeIntervalSince1970: TimeInterval(Int(Date().timeIntervalSince1970)))
        let manager = CertificateManager(store: CertificateStore(directory: dir.appendingPathComponent("eol")))
        let first = try manager.ensureServerCertificate(names: ["localhost"], now: t0)
        let rsa = try manager.ensureServerCertificate(names: ["localhost"], keyKind: .rsa2048, now: t0)
        XCTAssertEqual(rsa.leaf.publicKeyAlgorithm, "RSA 2048", "asking for another key type makes a new leaf")
        XCTAssertEqual(rsa.chain[1], first.chain[1])
        // 3600 days later the CA (3650 days) would not outlive a 90-day leaf: a new CA is made.
        let late = t0.addingTimeInterval(3600 * 86_400)
        let renewed = try manager.ensureServerCertificate(names: ["localhost"], keyKind: .rsa2048, now: late)
        XCTAssertNotEqual(renewed.chain[1], first.chain[1])
        XCTAssertTrue(renewed.leaf.isIssued(by: renewed.chain[1]))
        XCTAssertEqual(renewed.chain[1].notValidBefore, late)
        XCTAssertGreaterThan(renewed.chain[1].notValidAfter, renewed.leaf.notValidAfter)
    }

    func testCustomCertificateIsNeverRenewed() throws {
        try CertTools.pythonCertificate(dir, "custom", ["sans": ["DNS:svc.test"], "not_before_days": -80, "not_after_days": 10])
        let storeDir = dir.appendingPathComponent("custom-store")
        let manager = CertificateManager(store: CertificateStore(directory: storeDir))
        let events = Mutex<[SecurityEvent]>([])
        let token = SecurityEvents.addHandler { e in events.withLock { $0.append(e) } }
        defer { SecurityEvents.removeHandler(token) }

        let chain = try String(contentsOf: dir.appendingPathComponent("custom.pem"), encoding: .utf8)
        let key = try String(contentsOf: dir.appendingPathComponent("custom-key.pem"), encoding: .utf8)
        // A refused install is audited (failure, with the reason) and writes nothing.
        XCTAssertThrowsFIPSError(.certificateNameMismatch, try manager.install(chainPEM: chain, keyPEM: key, requiredNames: ["nope.test"]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: storeDir.appendingPathComponent("cert.pem").path))
        let refused = try XCTUnwrap(events.withLock { $0.first { $0.category == .certificate } })
        XCTAssertEqual(refused.outcome, .failure)
        XCTAssertTrue(refused.reason?.hasPrefix("certificateNameMismatch") ?? false, "\(refused)")
        events.withLock { $0.removeAll() }
        let installed = try manager.install(chainPEM: chain, keyPEM: key, requiredNames: ["svc.test"])
        XCTAssertEqual(manager.currentMetadata?.kind, .custom)

        // 10 of 90 days remain: due, but custom -> a warning, no renewal, same certificate.
        XCTAssertFalse(try manager.renewIfNeeded())
        XCTAssertEqual(manager.current?.leaf, installed.leaf)
        XCTAssertThrowsFIPSError(.certificateRequestInvalid, try manager.rotate())
        // ensureServerCertificate keeps a custom pair even when the names differ (and warns).
        XCTAssertEqual(try CertificateManager(store: CertificateStore(directory: storeDir)).ensureServerCertificate(names: ["other.test"]).leaf, installed.leaf)
        let actions = events.withLock { $0 }.filter { $0.category == .certificate }.map(\.action)
        XCTAssertEqual(actions, ["certificate-installed", "certificate-renewal-warning", "certificate-renewal-warning"])
    }

    func testEncryptedKeyFilesWithAPassphrase() throws {
        let storeDir = dir.appendingPathComponent("enc")
        let store = CertificateStore(directory: storeDir, keyPassphrase: "a long store passphrase")
        let pair = try CertificateManager(store: store).ensureServerCertificate(names: ["localhost"], mode: .selfSigned)
        let text = try String(contentsOf: storeDir.appendingPathComponent("key.pem"), encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        XCTAssertEqual(try store.load()?.pair.leaf, pair.leaf)
        XCTAssertThrowsFIPSError(.wrongPassphrase, try CertificateStore(directory: storeDir, keyPassphrase: "the wrong passphrase").load())
    }
}
