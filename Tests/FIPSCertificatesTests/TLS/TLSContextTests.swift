import Foundation
import XCTest
import FIPSCrypto
import FIPSCertificates
import FIPSTestSupport

final class TLSContextTests: XCTestCase {
    /// The profile table holds the SP 800-52r2 values of the transport reference, spelled as OpenSSL spells them.
    func testProfileTableMatchesSP800_52r2() {
        let p = TLSProfile.sp800_52r2
        XCTAssertEqual(p.minimumVersion, .tlsv12)
        XCTAssertEqual(p.maximumVersion, .tlsv13)
        XCTAssertEqual(p.tls12CipherList, "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256")
        XCTAssertEqual(p.tls13CipherList, "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256")
        XCTAssertEqual(p.groupList, "P-384:P-256")
        XCTAssertEqual(p.signatureAlgorithmList, "ECDSA+SHA384:ECDSA+SHA256:ECDSA+SHA512:rsa_pss_rsae_sha384:rsa_pss_rsae_sha256:rsa_pss_rsae_sha512:rsa_pss_pss_sha384:rsa_pss_pss_sha256:rsa_pss_pss_sha512:RSA+SHA384:RSA+SHA256:RSA+SHA512")
        XCTAssertTrue(p.serverPreference)
        XCTAssertFalse(p.renegotiation || p.compression || p.earlyData || p.sessionTickets)
        XCTAssertTrue(p.requireExtendedMasterSecret)
        XCTAssertEqual(p.violations, [])
        let conf = Dictionary(uniqueKeysWithValues: p.confCommands.map { ($0.name, $0.value) })
        XCTAssertEqual(conf["MinProtocol"], "TLSv1.2")
        XCTAssertEqual(conf["Groups"], "P-384:P-256")
    }

    /// A profile that loosens a required option is refused when a context is built from it.
    func testLoosenedProfilesAreRefused() throws {
        let pki = try TestPKI.make()
        let cases: [(String, (inout TLSProfile) -> Void)] = [
            ("EMS off", { $0.requireExtendedMasterSecret = false }),
            ("renegotiation", { $0.renegotiation = true }),
            ("compression", { $0.compression = true }),
            ("0-RTT", { $0.earlyData = true }),
            ("tickets", { $0.sessionTickets = true }),
            ("no groups", { $0.groups = [] }),
            ("1.3 suite in 1.2 list", { $0.tls12CipherSuites = [.aes256GCMSHA384] }),
            ("min above max", { $0.minimumVersion = .tlsv13; $0.maximumVersion = .tlsv12 }),
        ]
        for (name, loosen) in cases {
            var c = pki.serverConfiguration()
            loosen(&c.profile)
            XCTAssertThrowsError(try TLSContext(configuration: c), name) { e in
                XCTAssertEqual((e as? FIPSError)?.code, .notApproved, name)
            }
        }
        // Narrowing is fine: TLS 1.3 only, P-384 only.
        var narrow = pki.serverConfiguration()
        narrow.profile.minimumVersion = .tlsv13
        narrow.profile.groups = [.p384]
        XCTAssertNoThrow(try TLSContext(configuration: narrow))
    }

    func testBadCertificateAndKeyInputsGetTypedErrors() throws {
        let pki = try TestPKI.make()
        let dir = try TestSupport.temporaryDirectory("fipscerts-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let garbage = dir.appendingPathComponent("garbage.pem").path
        try Data("-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n".utf8).write(to: URL(fileURLWithPath: garbage))
        let openKey = dir.appendingPathComponent("open.key").path
        try FileManager.default.copyItem(atPath: pki.leafKey, toPath: openKey)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: openKey)
        let encKey = dir.appendingPathComponent("enc.key").path
        let r = try TestSupport.run("openssl", ["pkey", "-in", pki.leafKey, "-aes256", "-passout", "pass:secretpass", "-out", encKey])
        XCTAssertEqual(r.status, 0)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: encKey)

        func code(_ chain: String, _ key: String) -> FIPSError.Code? {
            do { _ = try TLSContext(configuration: .makeServerConfiguration(certificateChain: [.file(chain)], privateKey: .file(key))); return nil }
            catch { return (error as? FIPSError)?.code }
        }
        XCTAssertEqual(code(dir.appendingPathComponent("missing.pem").path, pki.leafKey), .ioFailure)
        XCTAssertEqual(code(garbage, pki.leafKey), .invalidEncoding)
        XCTAssertEqual(code(pki.leafCert, openKey), .insecurePermissions)
        XCTAssertEqual(code(pki.leafCert, encKey), .wrongPassphrase)
        XCTAssertEqual(code(pki.leafCert, pki.leaf2Key), .invalidParameter) // key does not match the certificate
        XCTAssertEqual(code(pki.leafCert, pki.leafKey), nil)
        let link = dir.appendingPathComponent("link.key").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: pki.leafKey)
        XCTAssertEqual(code(pki.leafCert, link), .insecurePermissions)
        let weak = dir.appendingPathComponent("rsa1024.key").path
        XCTAssertEqual(try TestSupport.run("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", weak]).status, 0)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: weak)
        XCTAssertEqual(code(pki.leafCert, weak), .notApproved)
        // A key already loaded works the same as its file.
        let key = try SigningPrivateKey(pemRepresentation: String(contentsOfFile: pki.leafKey, encoding: .utf8))
        let fromKey = try TLSContext(configuration: .makeServerConfiguration(certificateChain: [.file(pki.leafCert)], privateKey: .privateKey(key)))
        XCTAssertEqual(fromKey.certificate?.sha256FingerprintHex, try TestPKI.fingerprint(pki.leafCert))

        XCTAssertThrowsError(try TLSContext(configuration: .makeClientConfiguration(trustRoots: .file(garbage)))) {
            XCTAssertEqual(($0 as? FIPSError)?.code, .invalidEncoding)
        }
        var noKey = pki.serverConfiguration(); noKey.privateKey = nil
        XCTAssertThrowsError(try TLSContext(configuration: noKey)) { XCTAssertEqual(($0 as? FIPSError)?.code, .invalidParameter) }
    }

    /// The context's FIPS answer folds the module state and the profile: FIPS mode → true; development → false with
    /// the reason; the protocol profile is the same in both.
    func testFIPSStatusFoldsModuleAndProfile() throws {
        let pki = try TestPKI.make()
        let context = try TLSContext(configuration: pki.serverConfiguration())
        let s = context.fipsStatus
        XCTAssertEqual(s.profile, "SP 800-52r2")
        if TestSupport.isDevelopmentMode {
            XCTAssertFalse(s.isFIPS)
            XCTAssertFalse(s.moduleIsFIPS)
            XCTAssertTrue(s.reasons.contains { $0.contains("development mode") }, "\(s.reasons)")
            XCTAssertTrue(s.description.hasPrefix("NOT FIPS"))
        } else {
            XCTAssertTrue(s.isFIPS, s.description)
            XCTAssertEqual(s.reasons, [])
        }
        XCTAssertEqual(context.certificate?.sha256FingerprintHex, try TestPKI.fingerprint(pki.leafCert))
    }

    /// Our client against our server: verified chain and host name, TLS 1.3 with AES-256-GCM; wrong CA and wrong
    /// name are refused with certificateVerificationFailed.
    func testClientVerifiesChainAndHostName() throws {
        let pki = try TestPKI.make()
        let running = try RunningServer.start(pki)
        defer { running.stop() }
        let client = TLSConfiguration.makeClientConfiguration(trustRoots: .file(pki.caCert))
        for host in ["localhost", "127.0.0.1"] {
            let c = try TLSClient.connect(host: host, port: running.port, configuration: client, timeout: 5)
            XCTAssertEqual(c.protocolVersion, "TLSv1.3")
            XCTAssertEqual(c.cipherSuite, "TLS_AES_256_GCM_SHA384")
            XCTAssertTrue(c.usedExtendedMasterSecret)
            XCTAssertEqual(c.peerCertificate?.sha256FingerprintHex, try TestPKI.fingerprint(pki.leafCert))
            try c.write(Data("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".utf8))
            var response = Data()
            while true { let d = try c.read(); if d.isEmpty { break }; response.append(d) }
            XCTAssertTrue(String(decoding: response, as: UTF8.self).hasPrefix("HTTP/1.1 200 OK\r\n"))
            c.close()
        }
        // TLS 1.2 client: EMS used, ECDSA AES-256-GCM.
        var v12 = client; v12.profile.maximumVersion = .tlsv12
        let c12 = try TLSClient.connect(host: "localhost", port: running.port, configuration: v12, timeout: 5)
        XCTAssertEqual(c12.protocolVersion, "TLSv1.2")
        XCTAssertEqual(c12.cipherSuite, "ECDHE-ECDSA-AES256-GCM-SHA384")
        XCTAssertTrue(c12.usedExtendedMasterSecret)
        c12.close()

        XCTAssertThrowsError(try TLSClient.connect(host: "localhost", port: running.port,
                                                   configuration: .makeClientConfiguration(trustRoots: .file(pki.otherCACert)), timeout: 5)) {
            XCTAssertEqual(($0 as? FIPSError)?.code, .certificateVerificationFailed, "\($0)")
        }
        // A certificate from the trusted CA for another name: refused for 127.0.0.1 and for localhost.
        try running.holder.replace(with: .makeServerConfiguration(certificateChain: [.file(pki.otherNameCert)], privateKey: .file(pki.otherNameKey)))
        for host in ["127.0.0.1", "localhost"] {
            XCTAssertThrowsError(try TLSClient.connect(host: host, port: running.port, configuration: client, timeout: 5), host) {
                XCTAssertEqual(($0 as? FIPSError)?.code, .certificateVerificationFailed, "\($0)")
                XCTAssertTrue(($0 as? FIPSError)?.reason.contains("mismatch") ?? false, "\($0)")
            }
        }
        XCTAssertThrowsError(try TLSClient.connect(host: "localhost", port: running.port,
                                                   configuration: pki.serverConfiguration(), timeout: 2)) {
            XCTAssertEqual(($0 as? FIPSError)?.code, .invalidParameter)
        }
    }

    /// A failed reload keeps the old context in service.
    func testFailedReloadKeepsOldContext() throws {
        let pki = try TestPKI.make()
        let holder = try TLSContextHolder(configuration: pki.serverConfiguration())
        let before = holder.current
        XCTAssertThrowsError(try holder.replace(with: .makeServerConfiguration(certificateChain: [.file("/nonexistent.pem")], privateKey: .file(pki.leafKey))))
        XCTAssertTrue(holder.current === before)
        XCTAssertEqual(holder.generation, 1)
        try holder.replace(with: pki.serverConfiguration(second: true))
        XCTAssertEqual(holder.generation, 2)
        XCTAssertEqual(holder.current.certificate?.sha256FingerprintHex, try TestPKI.fingerprint(pki.leaf2Cert))
    }
}
