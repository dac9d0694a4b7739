import Foundation
import XCTest
import FIPSAudit
import FIPSCrypto
import FIPSTestSupport

/// Checkpoints signed with the library's P-384 key, checked by the library and by the openssl command line.
final class CheckpointTests: XCTestCase {
    override func setUp() { _ = try? FIPSModule.load() }

    func testP384CheckpointsVerifyWithThePublicKeyAlone() throws {
        let dir = try AuditFixtures.directory()
        let key = try P384.Signing.PrivateKey.generate()
        var c = AuditLogConfiguration.standard(directory: dir)
        c.checkpointInterval = 25
        let log = try AuditLog(configuration: c, rootKey: SymmetricKey(size: .bits256), stateKey: SymmetricKey(size: .bits256),
                               checkpointSigner: P384CheckpointSigner(privateKey: key))
        for i in 0..<100 { try log.log(AuditFixtures.event(i)) }
        try log.close()
        let pubPEM = try String(contentsOf: dir.appendingPathComponent("audit-checkpoint.pub"), encoding: .utf8)
        let verifier = try P384CheckpointVerifier(pemRepresentation: pubPEM)
        XCTAssertEqual(verifier.publicKeyDER, key.publicKey.derRepresentation)
        let report = try AuditVerifier(checkpointVerifier: verifier).verify(files: log.files)
        XCTAssertNil(report.problem, report.problem?.description ?? "")
        XCTAssertEqual(report.checkpointsVerified, 4)
        XCTAssertEqual(report.recordsAfterLastCheckpoint, 0)

        // An independent check of one checkpoint with openssl: rebuild the signed message from the record's fields.
        let line = try XCTUnwrap(try AuditFixtures.lines(log.activeFile).first { $0.contains("\"fipsaudit.type\":\"checkpoint\"") })
        let r = try AuditFixtures.json(line)
        XCTAssertEqual(r["fipsaudit.checkpoint.algorithm"] as? String, "ecdsa-p384-sha384")
        XCTAssertEqual(r["fipsaudit.checkpoint.key"] as? String, TestSupport.hex(SHA256.hash(data: key.publicKey.derRepresentation)))
        let message = "fipsaudit-checkpoint-v1\n\(r["fipsaudit.checkpoint.sequence"]!)\n\(r["fipsaudit.checkpoint.chain"]!)\n\(r["fipsaudit.checkpoint.mac"]!)\n"
        let tmp = try TestSupport.temporaryDirectory("fipsaudit-ossl")
        try Data(message.utf8).write(to: tmp.appendingPathComponent("m"))
        try XCTUnwrap(Data(base64Encoded: r["fipsaudit.checkpoint.signature"] as! String)).write(to: tmp.appendingPathComponent("s"))
        let v = try TestSupport.run("openssl", ["dgst", "-sha384", "-verify", dir.appendingPathComponent("audit-checkpoint.pub").path,
                                                "-signature", tmp.appendingPathComponent("s").path, tmp.appendingPathComponent("m").path])
        XCTAssertEqual(v.status, 0, v.out + v.err)
        XCTAssertTrue(v.out.contains("Verified OK"))
        // The checkpoint's chain value is SHA-384 over the lines before it, recomputed here with openssl.
        let lines = try AuditFixtures.lines(log.files[0])
        let first = try AuditFixtures.json(lines[0])
        var h = TestSupport.bytes(hex: first["fipsaudit.previous.chain"] as! String)
        var checked = false
        for l in lines {
            if l.contains("\"fipsaudit.type\":\"checkpoint\"") {
                XCTAssertEqual(TestSupport.hex(h), try AuditFixtures.json(l)["fipsaudit.checkpoint.chain"] as? String)
                checked = true
                break
            }
            try Data(h + Array(l.utf8)).write(to: tmp.appendingPathComponent("h"))
            let d = try TestSupport.run("openssl", ["dgst", "-sha384", "-binary", tmp.appendingPathComponent("h").path])
            h = Array(d.stdout)
        }
        XCTAssertTrue(checked)
    }

    func testCheckpointsSignedByAnotherKeyAreRefused() throws {
        let dir = try AuditFixtures.directory()
        let log = try AuditLog(configuration: .standard(directory: dir), rootKey: SymmetricKey(size: .bits256), stateKey: SymmetricKey(size: .bits256),
                               checkpointSigner: P384CheckpointSigner(privateKey: try .generate()))
        try log.log(AuditFixtures.event(1))
        try log.close()
        let other = P384CheckpointVerifier(publicKey: try P384.Signing.PrivateKey.generate().publicKey)
        let p = try XCTUnwrap(try AuditVerifier(checkpointVerifier: other).verify(files: log.files).problem)
        XCTAssertEqual(p.kind, .badCheckpoint)
        XCTAssertTrue(p.detail.contains("not the expected"), p.detail)
    }
}
