import Foundation
import FIPSCrypto
import FIPSVault
#if canImport(Glibc)
import Glibc
#endif

/// `fipsctl vault ...`: the credential vault (SSH keys, passwords, API keys sealed in SQLite with the keyring).
enum VaultCommands {
    static let vault = Command(
        name: "vault",
        summary: "credential vault: SSH keys, passwords and API keys sealed with the keyring in SQLite",
        help: """
        NAME
            fipsctl vault — store SSH keys, passwords and API keys encrypted at rest in an SQLite database

        SYNOPSIS
            fipsctl vault put NAME --kind ssh-key|password|api-key [--secret-file F] [--key-passphrase-file F]
                              [--username U] [--host H] [--label KEY=VALUE]... [--replace] [VAULT OPTIONS]
            fipsctl vault get NAME [--reveal [--field secret|passphrase]] [--json] [VAULT OPTIONS]
            fipsctl vault list [--json] [VAULT OPTIONS]
            fipsctl vault delete NAME [VAULT OPTIONS]
            fipsctl vault rename OLD NEW [VAULT OPTIONS]
            fipsctl vault rotate [--batch-size N] [--retire] [--json] [VAULT OPTIONS]
            fipsctl vault verify [--json] [VAULT OPTIONS]

        DESCRIPTION
            The vault is one SQLite database. Names, kinds, usernames, hosts, labels, times and key versions are
            plaintext; every secret field (the key, password or token, and an SSH key's passphrase) is sealed with
            the keystore's keyring (context fipsvault.credential.v1) with the row's id, name and kind bound as
            associated data, so a ciphertext moved to another row does not open. No plaintext secret is written to
            the database, its WAL or any temporary file; deleted pages are zeroed (secure_delete). The database is
            created 0600 (its directory 0700); a database others can read is refused. Several processes may use one
            vault at a time. Every read, write, deletion and re-seal of a secret raises a security event.

            put      store a credential. The secret is read from --secret-file F, or else from standard input,
                     byte for byte (use printf '%s' or echo -n for passwords; a trailing newline is kept). Never
                     from the command line. Refuses an existing NAME unless --replace.
            get      print a credential's metadata; with --reveal, write the secret (or --field passphrase) to
                     standard output, raw, and nothing else.
            list     print every credential's metadata, by name.
            delete   delete a credential.
            rename   rename a credential (its fields are re-sealed under the new name).
            rotate   re-seal every credential not under the keyring's primary version, --batch-size rows per
                     transaction (default 500), with the keyring's rewrap (the plaintext never leaves the keyring).
                     Progress goes to standard error. A crash loses at most the batch in flight; run rotate again
                     to finish. With --retire, then retire every key version below the primary in the keystore
                     (only when nothing else still needs them). Add a key version first with `fipsctl key rotate`.
            verify   open every credential (plaintext wiped at once) and report any that do not open; exit 1 if any.

        OPTIONS
            VAULT OPTIONS are --db FILE and the keystore options below.
            --db FILE               the vault database (default: FIPSCRYPTO_VAULT)
            --kind KIND             ssh-key, password or api-key
            --secret-file F         read the secret from F instead of standard input
            --key-passphrase-file F an SSH key's passphrase: the first line of F (0600, yours)
            --username U, --host H  the account and host the credential is for (plaintext)
            --label KEY=VALUE       a plaintext label (repeatable; KEY of [A-Za-z0-9._/-])
            --replace               put over an existing credential of that name (keeps its id and creation time)
            --reveal                get: write the secret to standard output
            --field F               get --reveal: secret (default) or passphrase
            --batch-size N          rotate: rows per transaction, 1 to 100000 (default 500)
            --retire                rotate: afterwards retire key versions below the primary
            --json                  machine-readable output
            --keystore DIR, --passphrase-file F, --kek-file F   see KEYSTORE

        \(KeyCommands.keystoreHelp)

        ENVIRONMENT
            FIPSCRYPTO_VAULT        the vault database when --db is not given
            FIPSCRYPTO_KEYSTORE     the keystore directory when --keystore is not given
            FIPSCRYPTO_TEST_VAULT_ROTATION
                                    TEST ONLY (crash tests; never set it in production): delay-ms:N sleeps N ms
                                    inside each rotation batch before it commits; kill-in-batch:N makes the process
                                    SIGKILL itself inside batch N before it commits.

        EXIT STATUS
            0 success; 1 failure (not found, exists, a credential that does not open, database or keystore error);
            2 bad usage

        EXAMPLES
            fipsctl key init --keystore /etc/myapp/keys
            fipsctl vault put deploy/github --kind ssh-key --username git --host github.com \\
                --secret-file ~/.ssh/id_ecdsa --db /var/lib/myapp/vault.db --keystore /etc/myapp/keys
            printf '%s' "$TOKEN" | fipsctl vault put ci/token --kind api-key --label team=infra
            fipsctl vault get ci/token --reveal > token.txt
            fipsctl key rotate --keystore /etc/myapp/keys && fipsctl vault rotate --batch-size 1000 --retire
            fipsctl vault verify --json
        """,
        run: { args in
            guard let first = args.words.first, !first.hasPrefix("--") else {
                throw CLIError.usage("missing subcommand (put, get, list, delete, rename, rotate, verify)")
            }
            let sub = try args.positional("subcommand")
            switch sub {
            case "put": return try put(&args)
            case "get": return try get(&args)
            case "list": return try list(&args)
            case "delete": return try delete(&args)
            case "rename": return try rename(&args)
            case "rotate": return try rotate(&args)
            case "verify": return try verify(&args)
            default: throw CLIError.usage("unknown vault subcommand '\(sub)'")
            }
        })

    /// The database path and keystore from the options and the environment.
    static func location(_ args: inout Arguments) throws -> (db: String, store: Keystore) {
        let env = ProcessInfo.processInfo.environment
        guard let db = try args.option("db") ?? env["FIPSCRYPTO_VAULT"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw CLIError.usage("no vault: give --db FILE or set FIPSCRYPTO_VAULT")
        }
        return (db, try KeyCommands.keystore(&args))
    }

    /// Runs `body` with the vault open on the loaded keyring (read-only use of the keystore).
    static func withVault<R>(_ loc: (db: String, store: Keystore), _ body: (CredentialVault) throws -> R) throws -> R {
        try body(try CredentialVault(path: loc.db, keyring: try loc.store.load()))
    }

    /// Runs `body` with the vault open on the keyring under the keystore's lock, saving the keyring afterwards
    /// (so its per-version seal counts persist).
    static func withVaultUpdating<R>(_ loc: (db: String, store: Keystore), _ body: (CredentialVault, Keyring) throws -> R) throws -> R {
        try loc.store.update { keyring in try body(try CredentialVault(path: loc.db, keyring: keyring), keyring) }
    }

    static func put(_ args: inout Arguments) throws -> Int32 {
        guard let kindName = try args.option("kind") else { throw CLIError.usage("put needs --kind ssh-key|password|api-key") }
        let kind: CredentialKind
        do { kind = try CredentialKind(identifier: kindName) } catch { throw CLIError.usage("--kind must be ssh-key, password or api-key") }
        let secretFile = try args.option("secret-file")
        let passphraseFile = try args.option("key-passphrase-file")
        let username = try args.option("username")
        let host = try args.option("host")
        var labels: [String: String] = [:]
        for l in try args.options("label") {
            guard let eq = l.firstIndex(of: "="), eq != l.startIndex else { throw CLIError.usage("--label takes KEY=VALUE, got '\(l)'") }
            labels[String(l[..<eq])] = String(l[l.index(after: eq)...])
        }
        let replace = args.flag("replace")
        let loc = try location(&args)
        let name = try args.positional("NAME")
        try args.finish()
        var secret: Data
        if let secretFile {
            do { secret = try Data(contentsOf: URL(fileURLWithPath: secretFile)) } catch {
                throw CLIError.failed("cannot read --secret-file \(secretFile): \(error.localizedDescription)")
            }
        } else {
            secret = readStdin()
        }
        var passphrase: Data? = try passphraseFile.map { Data(try Keystore.readPassphrase(URL(fileURLWithPath: $0)).utf8) }
        defer {
            CredentialVault.wipe(&secret)
            if var p = passphrase { passphrase = nil; CredentialVault.wipe(&p) }
        }
        let m = try withVaultUpdating(loc) { v, _ in
            try v.put(name, kind: kind, secret: secret, passphrase: passphrase, username: username, host: host,
                      labels: labels, replacing: replace)
        }
        print("stored \(m.name) (\(m.kind), key version \(m.keyVersion))")
        return ExitStatus.success
    }

    static func get(_ args: inout Arguments) throws -> Int32 {
        let reveal = args.flag("reveal")
        let json = args.flag("json")
        let field = try args.option("field") ?? "secret"
        guard field == "secret" || field == "passphrase" else { throw CLIError.usage("--field takes secret or passphrase") }
        guard reveal || field == "secret" else { throw CLIError.usage("--field needs --reveal") }
        guard !(reveal && json) else { throw CLIError.usage("--reveal writes the raw secret; it does not combine with --json") }
        let loc = try location(&args)
        let name = try args.positional("NAME")
        try args.finish()
        return try withVault(loc) { v in
            if reveal {
                return try v.withCredential(named: name) { c in
                    if field == "passphrase" {
                        guard let p = c.passphrase else { throw CLIError.failed("\(name) has no passphrase") }
                        writeStdout(p)
                    } else {
                        writeStdout(c.secret)
                    }
                    return ExitStatus.success
                }
            }
            let m = try v.metadata(name)
            print(json ? try vaultJSON(m) : render(m))
            return ExitStatus.success
        }
    }

    /// Pretty, sorted JSON with ISO 8601 times (metadata carries dates; the shared `jsonString` writes them as numbers).
    static func vaultJSON<T: Encodable>(_ value: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        return String(decoding: try e.encode(value), as: UTF8.self)
    }

    static func render(_ m: CredentialMetadata) -> String {
        var lines = ["name:        \(m.name)", "kind:        \(m.kind)"]
        if let u = m.username { lines.append("username:    \(u)") }
        if let h = m.host { lines.append("host:        \(h)") }
        for (k, v) in m.labels.sorted(by: { $0.key < $1.key }) { lines.append("label:       \(k)=\(v)") }
        lines.append("passphrase:  \(m.hasPassphrase ? "yes (sealed)" : "no")")
        lines.append("key version: \(m.keyVersion)")
        lines.append("created:     \(m.createdAt.ISO8601Format())")
        lines.append("updated:     \(m.updatedAt.ISO8601Format())")
        lines.append("id:          \(m.id)")
        return lines.joined(separator: "\n")
    }

    static func list(_ args: inout Arguments) throws -> Int32 {
        let json = args.flag("json")
        let loc = try location(&args)
        try args.finish()
        let all = try withVault(loc) { try $0.list() }
        if json {
            print(try vaultJSON(all))
        } else {
            for m in all {
                let who = [m.username, m.host].compactMap { $0 }.joined(separator: "@")
                print("\(m.name)\t\(m.kind)\tv\(m.keyVersion)\t\(who)")
            }
        }
        return ExitStatus.success
    }

    static func delete(_ args: inout Arguments) throws -> Int32 {
        let loc = try location(&args)
        let name = try args.positional("NAME")
        try args.finish()
        try withVault(loc) { try $0.delete(name) }
        print("deleted \(name)")
        return ExitStatus.success
    }

    static func rename(_ args: inout Arguments) throws -> Int32 {
        let loc = try location(&args)
        let old = try args.positional("OLD")
        let new = try args.positional("NEW")
        try args.finish()
        _ = try withVaultUpdating(loc) { v, _ in try v.rename(old, to: new) }
        print("renamed \(old) to \(new)")
        return ExitStatus.success
    }

    /// The test-only rotation hook named by FIPSCRYPTO_TEST_VAULT_ROTATION (see --help).
    static func rotationTestHook() throws -> ((Int) -> Void)? {
        guard let spec = ProcessInfo.processInfo.environment["FIPSCRYPTO_TEST_VAULT_ROTATION"], !spec.isEmpty else { return nil }
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let n = Int(parts[1]), n >= 0 else {
            throw CLIError.usage("FIPSCRYPTO_TEST_VAULT_ROTATION must be delay-ms:N or kill-in-batch:N")
        }
        switch parts[0] {
        case "delay-ms": return { _ in usleep(useconds_t(min(n, 60_000) * 1000)) }
        case "kill-in-batch": return { batch in if batch == n { kill(getpid(), SIGKILL) } }
        default: throw CLIError.usage("FIPSCRYPTO_TEST_VAULT_ROTATION must be delay-ms:N or kill-in-batch:N")
        }
    }

    static func rotate(_ args: inout Arguments) throws -> Int32 {
        let batchSize = try args.intOption("batch-size", range: 1...100_000) ?? 500
        let retire = args.flag("retire")
        let json = args.flag("json")
        let loc = try location(&args)
        try args.finish()
        let hook = try rotationTestHook()
        let started = ContinuousClock.now
        struct Report: Encodable { let targetVersion: Int; let rotated: Int; let batches: Int; let seconds: Double; let retiredBelow: Int? }
        let report: Report = try withVaultUpdating(loc) { v, keyring in
            let r = try v.rotate(batchSize: batchSize, progress: { p in
                printError("rotated \(p.rotated) (\(p.remaining) remaining) to key version \(p.targetVersion), batch \(p.batches)")
            }, beforeCommit: hook)
            let elapsed = ContinuousClock.now - started
            var retiredBelow: Int? = nil
            if retire {
                let census = try v.keyVersionCensus()
                guard census.keys.allSatisfy({ $0 >= r.targetVersion }) else {
                    throw CLIError.failed("not retiring: some credentials are still under an older key version")
                }
                try keyring.retire(below: r.targetVersion)
                retiredBelow = r.targetVersion
            }
            return Report(targetVersion: r.targetVersion, rotated: r.rotated, batches: r.batches,
                          seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                          retiredBelow: retiredBelow)
        }
        if json {
            print(try jsonString(report))
        } else {
            print(String(format: "rotated %d credentials to key version %d in %d batches (%.3f s)", report.rotated,
                         report.targetVersion, report.batches, report.seconds))
            if let b = report.retiredBelow { print("retired key versions below \(b)") }
        }
        return ExitStatus.success
    }

    static func verify(_ args: inout Arguments) throws -> Int32 {
        let json = args.flag("json")
        let loc = try location(&args)
        try args.finish()
        let r = try withVault(loc) { try $0.verify() }
        if json {
            print(try jsonString(r))
        } else {
            print("opened \(r.opened) credentials; key versions: "
                  + r.keyVersions.sorted(by: { $0.key < $1.key }).map { "v\($0.key): \($0.value)" }.joined(separator: ", "))
            for f in r.failures { print("FAILED \(f.name) (key version \(f.keyVersion)): \(f.reason)") }
            print(r.isClean ? "RESULT: every credential opens" : "RESULT: \(r.failures.count) credential(s) do not open")
        }
        return r.isClean ? ExitStatus.success : ExitStatus.failure
    }
}
