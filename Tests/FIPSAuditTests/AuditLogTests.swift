import Foundation
import XCTest
import FIPSAudit
import FIPSCrypto
import FIPSTestSupport

final class AuditLogTests: XCTestCase {
    override func setUp() { _ = try? FIPSModule.load() }

    func testRecordsCarryECSFieldsAndAChainedMAC() throws {
        let dir = try AuditFixtures.directory()
        let root = SymmetricKey(size: .bits256), stateKey = SymmetricKey(size: .bits256)
        let log = try AuditLog(configuration: AuditLogConfiguration(directory: dir, serviceName: "svc", hostName: "h1"),
                               rootKey: root, stateKey: stateKey)
        try log.loginFailed(user: "alice", sourceAddress: "192.0.2.7", reason: "bad password", correlationID: "req-1",
                            metadata: ["auth.method": "password", "password": "hunter2"])
        try log.close()
        let lines = try AuditFixtures.lines(log.activeFile)
        XCTAssertEqual(lines.count, 2, "file-start + the event")
        let r = try AuditFixtures.json(lines[1])
        XCTAssertEqual(r["event.category"] as? String, "authentication")
        XCTAssertEqual(r["event.action"] as? String, "login")
        XCTAssertEqual(r["event.outcome"] as? String, "failure")
        XCTAssertEqual(r["event.reason"] as? String, "bad password")
        XCTAssertEqual(r["event.kind"] as? String, "event")
        XCTAssertEqual(r["event.sequence"] as? Int, 2)
        XCTAssertEqual(r["user.name"] as? String, "alice")
        XCTAssertEqual(r["source.ip"] as? String, "192.0.2.7")
        XCTAssertEqual(r["trace.id"] as? String, "req-1")
        XCTAssertEqual(r["host.name"] as? String, "h1")
        XCTAssertEqual(r["service.name"] as? String, "svc")
        XCTAssertEqual(r["process.pid"] as? Int, Int(ProcessInfo.processInfo.processIdentifier))
        XCTAssertEqual(r["log.level"] as? String, "warning")
        XCTAssertEqual(r["message"] as? String, "login failed")
        let labels = try XCTUnwrap(r["labels"] as? [String: String])
        XCTAssertEqual(labels["auth.method"], "password")
        XCTAssertEqual(labels["password"], "[REDACTED]")
        XCTAssertFalse(lines.joined().contains("hunter2"))
        let ts = try XCTUnwrap(r["@timestamp"] as? String)
        XCTAssertNotNil(ts.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression), ts)
        let hash = try XCTUnwrap(r["event.hash"] as? String)
        XCTAssertNotNil(hash.range(of: "^[0-9a-f]{64}$", options: .regularExpression))
        // The MAC is HMAC-SHA-256(K_0, previous MAC || line without event.hash), checked here with the openssl CLI.
        let prev = try XCTUnwrap(AuditFixtures.json(lines[0])["event.hash"] as? String)
        let body = String(lines[1][..<lines[1].range(of: ",\"event.hash\":")!.lowerBound]) + "}"
        let msgFile = dir.appendingPathComponent("../mac-input")
        try Data(TestSupport.bytes(hex: prev) + Array(body.utf8)).write(to: msgFile)
        let keyHex = root.withUnsafeBytes { TestSupport.hex($0) }
        let mac = try TestSupport.run("openssl", ["mac", "-digest", "SHA256", "-macopt", "hexkey:\(keyHex)", "-in", msgFile.path, "HMAC"])
        XCTAssertEqual(mac.status, 0, mac.err)
        XCTAssertEqual(mac.out.trimmingCharacters(in: .whitespacesAndNewlines).lowercased(), hash)
        try? FileManager.default.removeItem(at: msgFile)
    }

    func testFilesAre0600InA0700Directory() throws {
        let dir = try AuditFixtures.directory()
        let log = try AuditLog(configuration: .standard(directory: dir), rootKey: SymmetricKey(size: .bits256), stateKey: SymmetricKey(size: .bits256))
        try log.scanStarted(target: "10.0.0.0/24", actor: "ops")
        try log.close()
        func mode(_ p: String) throws -> Int {
            let a = try FileManager.default.attributesOfItem(atPath: p)
            return (a[.posixPermissions] as? NSNumber)?.intValue ?? -1
        }
        XCTAssertEqual(try mode(dir.path), 0o700)
        for f in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            XCTAssertEqual(try mode(dir.appendingPathComponent(f).path), 0o600, f)
        }
        // A directory others can read is refused.
        let open = try TestSupport.temporaryDirectory("fipsaudit-open")
        chmod(open.path, 0o755)
        XCTAssertThrowsError(try AuditLog(configuration: .standard(directory: open), rootKey: SymmetricKey(size: .bits256),
                                          stateKey: SymmetricKey(size: .bits256))) { e in
            XCTAssertEqual((e as? FIPSError)?.code, .insecurePermissions)
        }
    }

    func testBadKeysAndConfigurationAreRefused() throws {
        let dir = try AuditFixtures.directory()
        let k = SymmetricKey(size: .bits256)
        XCTAssertThrowsError(try AuditLog(configuration: .standard(directory: dir), rootKey: SymmetricKey(size: .bits128), stateKey: k)) {
            XCTAssertEqual(($0 as? FIPSError)?.code, .invalidKeySize)
        }
        XCTAssertThrowsError(try AuditLog(configuration: .standard(directory: dir), rootKey: k, stateKey: k)) {
            XCTAssertEqual(($0 as? FIPSError)?.code, .invalidParameter)
        }
        var c = AuditLogConfiguration.standard(directory: dir)
        c.sync = .batched(milliseconds: 0)
        XCTAssertThrowsError(try AuditLog(configuration: c, rootKey: k, stateKey: SymmetricKey(size: .bits256))) {
            XCTAssertEqual(($0 as? FIPSError)?.code, .invalidParameter)
        }
        // A wrong state key cannot open an existing chain.
        let log = try AuditLog(configuration: .standard(directory: dir), rootKey: k, stateKey: SymmetricKey(size: .bits256))
        try log.close()
        XCTAssertThrowsError(try AuditLog(configuration: .standard(directory: dir), rootKey: k, stateKey: SymmetricKey(size: .bits256))) {
            XCTAssertEqual(($0 as? FIPSError)?.code, .authenticationFailure)
        }
    }

    func testAClosedLogRefusesRecords() throws {
        let log = try AuditLog(configuration: .standard(directory: try AuditFixtures.directory()), rootKey: SymmetricKey(size: .bits256),
                               stateKey: SymmetricKey(size: .bits256))
        try log.close()
        XCTAssertThrowsError(try log.log(AuditFixtures.event(1))) { XCTAssertEqual(($0 as? FIPSError)?.code, .auditStorageFailure) }
        // A new chain cannot start without the root key; an existing one continues without it.
        XCTAssertThrowsError(try AuditLog(configuration: .standard(directory: try AuditFixtures.directory()), rootKey: nil,
                                          stateKey: SymmetricKey(size: .bits256))) { XCTAssertEqual(($0 as? FIPSError)?.code, .invalidParameter) }
    }

    func testRedactionByKeyName() {
        for k in ["password", "db.password", "Passphrase", "client_secret", "apiKey", "api-key", "X-Api-Key", "token", "access_token",
                  "Authorization", "cookie", "Set-Cookie", "credentials", "aws.secretAccessKey", "private_key", "key", "sessionId"] {
            XCTAssertTrue(AuditRedaction.isSecret(k), k)
        }
        for k in ["key.version", "key.id", "token.expiry", "user", "auth.method", "scan.index", "cert.subject", "keyboard.layout", "monkey"] {
            XCTAssertFalse(AuditRedaction.isSecret(k), k)
        }
    }

    func testConfigurationChangeRedactsSecretSettings() throws {
        let dir = try AuditFixtures.directory()
        let log = try AuditLog(configuration: .standard(directory: dir), rootKey: SymmetricKey(size: .bits256), stateKey: SymmetricKey(size: .bits256))
        try log.configurationChanged(setting: "tls.min-version", oldValue: "1.2", newValue: "1.3", actor: "admin")
        try log.configurationChanged(setting: "smtp.password", oldValue: "old-S3cret!", newValue: "new-S3cret!", actor: "admin")
        try log.accessDenied(actor: "bob", resource: "vault/prod", reason: "not in group")
        try log.scanFinished(target: "10.0.0.0/24", outcome: .failure, actor: "ops", metadata: ["findings": "3"])
        try log.close()
        let text = try String(contentsOf: log.activeFile, encoding: .utf8)
        XCTAssertTrue(text.contains("\"config.new\":\"1.3\""))
        XCTAssertFalse(text.contains("S3cret"))
        let lines = try AuditFixtures.lines(log.activeFile)
        let secretLine = try AuditFixtures.json(lines[2])
        XCTAssertEqual((secretLine["labels"] as? [String: String])?["config.old"], "[REDACTED]")
        XCTAssertEqual(try AuditFixtures.json(lines[3])["event.action"] as? String, "access-denied")
    }

    /// No byte sequence of any key (root, state, any epoch key) appears in any file, as raw bytes, hex or base64.
    func testNoKeyBytesInAnyFile() throws {
        let dir = try AuditFixtures.directory()
        let root = SymmetricKey(size: .bits256), stateKey = SymmetricKey(size: .bits256)
        var c = AuditLogConfiguration.standard(directory: dir)
        c.epochDuration = 1
        let clock = ManualAuditClock(Date(timeIntervalSince1970: 1_800_000_000))
        c.clock = clock
        let cp = try OpenSSLCLICheckpointKey(directory: try TestSupport.temporaryDirectory("fipsaudit-cp"))
        c.checkpointInterval = 20
        let log = try AuditLog(configuration: c, rootKey: root, stateKey: stateKey, checkpointSigner: cp)
        for i in 0..<60 {
            try log.log(AuditFixtures.event(i))
            try log.configurationChanged(setting: "api.key", oldValue: root.withUnsafeBytes { TestSupport.hex($0) }, newValue: "x", actor: "a")
            clock.advance(by: 0.5)
        }
        try log.rotate()
        try log.close()
        XCTAssertGreaterThan(log.epoch, 10)
        var keys: [[UInt8]] = [root.withUnsafeBytes { Array($0) }, stateKey.withUnsafeBytes { Array($0) }]
        var k = root
        for _ in 0...log.epoch { k = try AuditChain.nextEpochKey(k); keys.append(k.withUnsafeBytes { Array($0) }) }
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        XCTAssertGreaterThanOrEqual(files.count, 3)
        for f in files {
            let data = Array(try Data(contentsOf: dir.appendingPathComponent(f)))
            let text = String(decoding: data, as: UTF8.self).lowercased()
            for key in keys {
                XCTAssertNil(data.firstRange(of: key), "raw key bytes in \(f)")
                XCTAssertFalse(text.contains(TestSupport.hex(key)), "hex key in \(f)")
                XCTAssertFalse(String(decoding: data, as: UTF8.self).contains(Data(key).base64EncodedString()), "base64 key in \(f)")
                XCTAssertFalse(String(decoding: data, as: UTF8.self).contains(Data(key).base64EncodedString().dropLast(2)), "base64 key prefix in \(f)")
            }
        }
    }

    func testRestartContinuesTheChain() throws {
        let dir = try AuditFixtures.directory()
        let root = SymmetricKey(size: .bits256), stateKey = SymmetricKey(size: .bits256)
        for round in 0..<3 {
            let log = try AuditLog(configuration: .standard(directory: dir), rootKey: root, stateKey: stateKey)
            for i in 0..<10 { try log.log(AuditFixtures.event(round * 10 + i)) }
            if round == 1 { try log.rotate() }
            try log.close()
        }
        // Flushed and released without an explicit close: the next open continues from the file.
        do {
            let log = try AuditLog(configuration: .standard(directory: dir), rootKey: root, stateKey: stateKey)
            try log.log(AuditFixtures.event(99))
            try log.flush()
        }
        let log = try AuditLog(configuration: .standard(directory: dir), rootKey: root, stateKey: stateKey)
        try log.log(AuditFixtures.event(100))
        try log.close()
        let report = try AuditVerifier(rootKey: root).verify(files: log.files)
        XCTAssertNil(report.problem, report.problem?.description ?? "")
        XCTAssertEqual(report.firstSequence, 1)
        XCTAssertEqual(report.lastSequence, log.lastSequence)
        XCTAssertEqual(report.recordCount, Int(log.lastSequence))
    }

    func testLibrarySecurityEventsLandInTheLog() throws {
        let dir = try AuditFixtures.directory()
        let log = try AuditLog(configuration: .standard(directory: dir), rootKey: SymmetricKey(size: .bits256), stateKey: SymmetricKey(size: .bits256))
        let token = log.installAsSecurityEventHandler()
        defer { SecurityEvents.removeHandler(token) }
        SecurityEvents.emit(SecurityEvent(category: .keyManagement, action: "key-rotated", outcome: .success,
                                          metadata: ["key.version": "3", "key": "should-not-appear"]))
        SecurityEvents.emit(SecurityEvent(category: .policyRefusal, action: "algorithm-refused", outcome: .failure, reason: "MD5 is not approved"))
        for _ in 0..<50 { SecurityEvents.emit(SecurityEvent(category: .tls, action: "handshake-failed", outcome: .failure, reason: "alert 40")) }
        log.drainSecurityEvents()
        try log.close()
        let records = try AuditFixtures.lines(log.activeFile).map { try AuditFixtures.json($0) }
        let loaded = records.filter { $0["event.action"] as? String == "module-loaded" }
        XCTAssertEqual(loaded.count, 1)
        XCTAssertEqual(loaded.first?["event.outcome"] as? String, "success")
        let selfTests = records.filter { $0["event.action"] as? String == "self-test" }
        XCTAssertEqual(selfTests.count, FIPSModule.status.selfTests.count)
        XCTAssertGreaterThan(selfTests.count, 0)
        let rotated = try XCTUnwrap(records.first { $0["event.action"] as? String == "key-rotated" })
        XCTAssertEqual((rotated["labels"] as? [String: String])?["key.version"], "3")
        XCTAssertEqual((rotated["labels"] as? [String: String])?["key"], "[REDACTED]")
        XCTAssertEqual(records.filter { $0["event.category"] as? String == "policy-refusal" }.count, 1)
        let tls = records.filter { $0["event.action"] as? String == "handshake-failed" }
        XCTAssertLessThanOrEqual(tls.count, 20, "TLS failures are rate-limited")
        XCTAssertGreaterThanOrEqual(tls.count, 1)
    }

    /// Many threads at once: every record whole, sequence numbers 1...N with no gap or repeat, chain intact.
    func testConcurrentWritersNeitherInterleaveNorLose() throws {
        for sync in [AuditLogConfiguration.SyncPolicy.everyRecord, .batched(milliseconds: 20)] {
            let dir = try AuditFixtures.directory()
            let root = SymmetricKey(size: .bits256)
            var c = AuditLogConfiguration.standard(directory: dir)
            c.sync = sync
            c.maxFileBytes = 256 << 10
            let log = try AuditLog(configuration: c, rootKey: root, stateKey: SymmetricKey(size: .bits256))
            let threads = 8, perThread = sync == .everyRecord ? 150 : 1500
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                for i in 0..<perThread {
                    do { try log.log(AuditFixtures.event(t * 100_000 + i)) } catch { XCTFail("\(error)") }
                }
            }
            try log.close()
            var seqs: [Int] = []
            var events = 0
            for f in log.files {
                for line in try AuditFixtures.lines(f) {
                    let r = try AuditFixtures.json(line)
                    seqs.append(try XCTUnwrap(r["event.sequence"] as? Int))
                    if r["fipsaudit.type"] as? String == "event" { events += 1 }
                }
            }
            XCTAssertEqual(events, threads * perThread, "\(sync)")
            XCTAssertEqual(seqs, Array(1...seqs.count), "\(sync)")
            let report = try AuditVerifier(rootKey: root).verify(files: log.files)
            XCTAssertNil(report.problem, "\(sync): \(report.problem?.description ?? "")")
            XCTAssertGreaterThan(log.files.count, 1, "rotation happened under load")
        }
    }

    /// Many records in a row (the writer reuses one MAC context and one hash context for all of them), checked by
    /// an independent implementation: Python's `hmac`/`hashlib` recompute every record's MAC and the public chain,
    /// and the chain's end must equal the state the log saved. Speed is measured by `fips-bench`, not here.
    func testThousandsOfRecordsMatchAnIndependentChainComputation() throws {
        let dir = try AuditFixtures.directory()
        let root = SymmetricKey(size: .bits256), stateKey = SymmetricKey(size: .bits256)
        let log = try AuditLog(configuration: .standard(directory: dir), rootKey: root, stateKey: stateKey)
        let n = 5_000
        for i in 0..<n {
            var e = AuditFixtures.event(i)
            if i % 7 == 0 { e.reason = "quote \" backslash \\ newline \n tab \t nul \u{0} del \u{7F} é" }
            if i % 11 == 0 { e.metadata["k\(i % 3)"] = "v\(i)"; e.metadata["api_token"] = "t0k\(i)" }
            try log.log(e)
        }
        try log.close()
        let script = """
        import hashlib, hmac, json, sys
        key = bytes.fromhex(sys.argv[1]); lines = open(sys.argv[2], 'rb').read().split(b'\\n')
        assert lines[-1] == b'', 'the file ends with a newline'
        mac, chain, n = bytes(32), bytes(48), 0
        for line in lines[:-1]:
            cut = line.rindex(b',"event.hash":"')
            body = line[:cut] + b'}'
            carried = bytes.fromhex(line[cut + 15:-2].decode())
            assert hmac.new(key, mac + body, 'sha256').digest() == carried, 'MAC of record %d' % (n + 1)
            rec = json.loads(line)
            assert rec['event.sequence'] == n + 1, 'sequence of record %d' % (n + 1)
            mac, chain, n = carried, hashlib.sha384(chain + line).digest(), n + 1
        state = json.load(open(sys.argv[3]))
        print(n, mac.hex() == state['lastMAC'], chain.hex() == state['lastChain'])
        """
        let keyHex = root.withUnsafeBytes { TestSupport.hex($0) }
        let r = try TestSupport.run("python3", ["-c", script, keyHex, log.activeFile.path,
                                                dir.appendingPathComponent("audit.state").path])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out.trimmingCharacters(in: .whitespacesAndNewlines), "\(n + 1) True True", r.err)
        // Escaped values round-trip, and secret-named labels are redacted on every record.
        let lines = try AuditFixtures.lines(log.activeFile)
        let firstEvent = try AuditFixtures.json(lines[1])
        XCTAssertEqual(firstEvent["event.reason"] as? String, "quote \" backslash \\ newline \n tab \t nul \u{0} del \u{7F} é")
        XCTAssertFalse(lines.joined().contains("t0k"), "a token value reached the file")
    }
}
