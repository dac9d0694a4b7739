import Foundation
import XCTest
import FIPSTestSupport

/// `fipsctl vault ...` end to end: a real keystore (`fipsctl key init`), a real SQLite file, separate processes.
final class VaultCLITests: XCTestCase {
    var dir: URL!
    var keystore: String { dir.appendingPathComponent("keys").path }
    var db: String { dir.appendingPathComponent("data/vault.db").path }

    override func setUpWithError() throws {
        dir = try TestSupport.temporaryDirectory("fipsctl-vault")
        let r = try TestSupport.fipsctl(["key", "init", "--keystore", keystore])
        XCTAssertEqual(r.status, 0, r.err)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    @discardableResult
    func vault(_ args: [String], input: Data? = nil, env: [String: String] = [:]) throws -> TestSupport.ProcessResult {
        try TestSupport.fipsctl(["vault"] + args + ["--db", db, "--keystore", keystore], input: input, environment: env)
    }

    func testPutGetListRenameDeleteVerify() throws {
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
        let keyFile = dir.appendingPathComponent("id_test")
        try Data(key.utf8).write(to: keyFile)
        let passFile = dir.appendingPathComponent("pass")
        _ = FileManager.default.createFile(atPath: passFile.path, contents: Data("correct horse\n".utf8), attributes: [.posixPermissions: 0o600])

        var r = try vault(["put", "deploy", "--kind", "ssh-key", "--secret-file", keyFile.path, "--key-passphrase-file", passFile.path,
                           "--username", "git", "--host", "github.com", "--label", "env=prod"])
        XCTAssertEqual(r.status, 0, r.err)
        r = try vault(["put", "ci/token", "--kind", "api-key"], input: Data("tok-123".utf8))
        XCTAssertEqual(r.status, 0, r.err)

        // Metadata only, unless --reveal.
        r = try vault(["get", "deploy"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("host:        github.com"), r.out)
        XCTAssertFalse(r.out.contains("OPENSSH"))
        r = try vault(["get", "deploy", "--reveal"])
        XCTAssertEqual(r.stdout, Data(key.utf8))
        r = try vault(["get", "deploy", "--reveal", "--field", "passphrase"])
        XCTAssertEqual(r.out, "correct horse")
        r = try vault(["get", "ci/token", "--reveal"])
        XCTAssertEqual(r.out, "tok-123")

        r = try vault(["list", "--json"])
        XCTAssertEqual(r.status, 0, r.err)
        let list = try JSONSerialization.jsonObject(with: r.stdout) as? [[String: Any]]
        XCTAssertEqual(list?.compactMap { $0["name"] as? String }, ["ci/token", "deploy"])
        XCTAssertEqual(list?.first?["kind"] as? String, "api-key")
        XCTAssertNotNil((list?.first?["createdAt"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) })

        // Typed failures: exit 1 with the error code named.
        r = try vault(["put", "ci/token", "--kind", "api-key"], input: Data("x".utf8))
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.err.contains("credentialExists"), r.err)
        r = try vault(["get", "missing"])
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.err.contains("credentialNotFound"), r.err)
        r = try vault(["put", "empty", "--kind", "password"], input: Data())
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.err.contains("invalidCredential"), r.err)
        // Usage errors: exit 2; a secret can never be given on the command line.
        XCTAssertEqual(try vault(["put", "x", "--kind", "password", "--secret", "hunter2"]).status, 2)
        XCTAssertEqual(try vault(["put", "x", "--kind", "gpg"], input: Data("x".utf8)).status, 2)
        XCTAssertEqual(try vault(["frobnicate"]).status, 2)
        XCTAssertEqual(try TestSupport.fipsctl(["vault", "list", "--keystore", keystore], removingEnvironment: ["FIPSCRYPTO_VAULT"]).status, 2)

        r = try vault(["rename", "ci/token", "ci/token-2"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try vault(["get", "ci/token-2", "--reveal"]).out, "tok-123")
        r = try vault(["delete", "ci/token-2"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try vault(["get", "ci/token-2"]).status, 1)

        r = try vault(["verify"])
        XCTAssertEqual(r.status, 0, r.err + r.out)
        XCTAssertTrue(r.out.contains("opened 1 credentials"), r.out)

        // The database is 0600, its (created) directory 0700.
        let mode = { (p: String) in (try FileManager.default.attributesOfItem(atPath: p)[.posixPermissions] as! NSNumber).intValue }
        XCTAssertEqual(try mode(db), 0o600)
        XCTAssertEqual(try mode(dir.appendingPathComponent("data").path), 0o700)
        // The environment names the vault too.
        r = try TestSupport.fipsctl(["vault", "list", "--keystore", keystore], environment: ["FIPSCRYPTO_VAULT": db])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.hasPrefix("deploy\tssh-key\tv1\tgit@github.com"), r.out)
    }

    func testRotateRetireAndVerifyAfterRowSwap() throws {
        for i in 0..<12 { XCTAssertEqual(try vault(["put", "c\(i)", "--kind", "password"], input: Data("pw-\(i)".utf8)).status, 0) }
        var r = try TestSupport.fipsctl(["key", "rotate", "--keystore", keystore])
        XCTAssertEqual(r.status, 0, r.err)
        r = try vault(["rotate", "--batch-size", "5", "--retire", "--json"])
        XCTAssertEqual(r.status, 0, r.err)
        let report = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any]
        XCTAssertEqual(report?["rotated"] as? Int, 12)
        XCTAssertEqual(report?["batches"] as? Int, 3)
        XCTAssertEqual(report?["retiredBelow"] as? Int, 2)
        XCTAssertTrue(r.err.contains("rotated 5 (7 remaining)"), r.err)
        XCTAssertEqual(try vault(["get", "c7", "--reveal"]).out, "pw-7")
        XCTAssertEqual(try vault(["rotate"]).status, 0)
        // Move a ciphertext to another row with the sqlite3 CLI: verify names the row and fails.
        r = try TestSupport.run("sqlite3", [db, "UPDATE credentials SET secret = (SELECT secret FROM credentials WHERE name = 'c1') WHERE name = 'c2'"])
        XCTAssertEqual(r.status, 0, r.err)
        r = try vault(["verify"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.out.contains("FAILED c2"), r.out)
        XCTAssertFalse(r.out.contains("FAILED c1"), r.out)
        XCTAssertEqual(try vault(["get", "c2", "--reveal"]).status, 1)
    }

    func testTwoProcessesWritingConcurrently() throws {
        XCTAssertEqual(try vault(["list"]).status, 0)   // creates the database
        let perProcess = 6
        let tool = TestSupport.fipsctl, db = self.db, keystore = self.keystore
        let failures = DispatchQueue(label: "failures")
        nonisolated(unsafe) var errors: [String] = []
        DispatchQueue.concurrentPerform(iterations: 2) { p in
            let script = "for i in $(seq 1 \(perProcess)); do printf %s \"secret-\(p)-$i\" | \"\(tool)\" vault put \"p\(p)-$i\" --kind password --db \"\(db)\" --keystore \"\(keystore)\" || exit 1; done"
            do {
                let r = try TestSupport.run("/bin/sh", ["-c", script], timeout: 300)
                if r.status != 0 { failures.sync { errors.append(r.err) } }
            } catch { failures.sync { errors.append("\(error)") } }
        }
        XCTAssertEqual(errors, [])
        let r = try vault(["list"])
        XCTAssertEqual(r.out.split(separator: "\n").count, 2 * perProcess, r.out)
        XCTAssertEqual(try vault(["get", "p1-6", "--reveal"]).out, "secret-1-6")
        XCTAssertEqual(try vault(["verify"]).status, 0)
    }

    func testHelpIsManPageQuality() throws {
        let r = try TestSupport.fipsctl(["vault", "--help"])
        XCTAssertEqual(r.status, 0)
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES", "TEST ONLY"] {
            XCTAssertTrue(r.out.contains(section), section)
        }
    }
}
