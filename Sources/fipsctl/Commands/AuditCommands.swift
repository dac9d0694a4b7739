import Foundation
import FIPSCrypto
import FIPSAudit

/// `fipsctl audit log|verify|tail|ship`: the tamper-evident audit log from the command line, and the hook that
/// records every fipsctl command when an audit directory is configured.
enum AuditCommands {
    static let subcommands = ["log", "verify", "tail", "ship"]

    static let audit = Command(
        name: "audit",
        summary: "tamper-evident audit log: record, verify, tail, ship to syslog",
        help: """
        NAME
            fipsctl audit — write, verify, read and ship the tamper-evident audit log

        SYNOPSIS
            fipsctl audit log --category CATEGORY --action ACTION --outcome success|failure|unknown --actor NAME
                              [--source-ip IP] [--target RESOURCE] [--reason TEXT] [--correlation-id ID]
                              [--message TEXT] [--meta KEY=VALUE ...] [--audit-dir DIR]
            fipsctl audit verify [--audit-dir DIR] [--key-file FILE | --no-key] [--checkpoint-key PEM] [--expect-last N]
                                 [--json] [FILE ...]
            fipsctl audit tail [-n N] [--audit-dir DIR]
            fipsctl audit ship --to tcp://HOST:PORT|tls://HOST:PORT|udp://HOST:PORT [--tls] [--ca FILE]
                               [--timeout SECONDS] FILE ...

        DESCRIPTION
            The audit log is a set of JSON-lines files with Elastic Common Schema field names (@timestamp,
            event.category, event.action, event.outcome, event.sequence, event.hash, user.name, source.ip,
            host.name, service.name, process.pid, log.level, message). Each record carries an HMAC-SHA-256 over the
            previous record's MAC and its own content, under a key that evolves every epoch
            (K[i+1] = HKDF-SHA-256(K[i], "audit-epoch"); the old key is erased), so whoever takes today's key
            cannot rewrite earlier records. Each rotated file starts with a record linking to the previous file's
            last MAC. A checkpoint signed with ECDSA P-384 (key DIR/keys/checkpoint.pem) over the SHA-384 chain
            of all lines is written every 1000 records, at each rotation and on close; its public key is
            DIR/audit-checkpoint.pub (pin its SHA-256 fingerprint, shown in each checkpoint, off the host).

            log      records one event and prints its sequence number. Metadata keys named like secrets
                     (password, token, key, secret, cookie, authorization, credential...) are redacted.
            verify   checks files (default: every file of the log in the audit directory) and names the first
                     broken place: edited, deleted or reordered record, truncated tail, missing file, bad
                     checkpoint. With the root key (default DIR/keys/root.key when present) every record's MAC is
                     checked; with --no-key only sequence, file links and checkpoints are checked, which proves
                     the records up to the last checkpoint unaltered without any secret.
            tail     prints the last records for people.
            ship     sends files' records to a syslog collector as RFC 5424 messages (TCP with RFC 6587 octet
                     counting, TLS per RFC 5425 with the strict SP 800-52r2 client verifying the collector's
                     certificate and address, or UDP), each with [fipsaudit@32473 seq="N"] so duplicates can be
                     dropped.

            Keys: with a keystore (FIPSCRYPTO_KEYSTORE, see `fipsctl key --help`) the root key and the state key
            are derived from the keyring (purposes "audit" and "audit-state" of the version pinned in
            DIR/keys/keyring.version when the chain starts). Without one, DIR/keys/ (0700) holds root.key (the
            chain's epoch-0 key: needed to start a chain and to verify MACs; copy it off the host and remove it
            there for forward security) and state.key (seals the current epoch key in DIR/audit.state), both 32
            random bytes, mode 0600, created on first use.

            When an audit directory is configured (FIPSCRYPTO_AUDIT_DIR), every fipsctl command records its name,
            outcome and exit status (never argument values).

        OPTIONS
            --audit-dir DIR        the audit directory (default: $FIPSCRYPTO_AUDIT_DIR)
            --category NAME        authentication, configuration, scan, access, key-management, certificate,
                                   self-test, crypto-failure, policy-refusal, tls
            --action NAME          what happened, kebab-case (login, scan-started, ...)
            --outcome VALUE        success, failure or unknown
            --actor NAME           who did it (user.name)
            --source-ip IP         where from (source.ip)
            --target RESOURCE      what it was done to
            --reason TEXT          why (failures, refusals); never a secret
            --correlation-id ID    request or job id (trace.id)
            --message TEXT         a constant human message
            --meta KEY=VALUE       extra facts (repeatable; labels.KEY)
            --key-file FILE        verify: the root MAC key (32 bytes, 0600)
            --no-key               verify: check without any secret
            --checkpoint-key PEM   verify: the checkpoint public key (default DIR/audit-checkpoint.pub)
            --expect-last N        verify: the last sequence the writer recorded (default: from DIR/audit.state)
            --json                 verify: print the report as JSON
            -n N, --lines N        tail: how many records (default 20)
            --to URL               ship: tcp://HOST:PORT, tls://HOST:PORT or udp://HOST:PORT
            --tls                  ship: RFC 5425 TLS to a tcp:// destination (same as tls://)
            --ca FILE              ship: the CA certificates (PEM) that sign the collector's certificate
            --timeout SECONDS      ship: give up after this long (default 30)

        EXIT STATUS
            0 success (verify: intact); 1 failure (verify: the log is damaged; ship: not everything was sent);
            2 bad usage

        EXAMPLES
            export FIPSCRYPTO_AUDIT_DIR=/var/lib/myapp/audit
            fipsctl audit log --category scan --action scan-started --outcome success --actor ops --meta scan.id=42
            fipsctl audit verify
            fipsctl audit verify --no-key /backup/audit-*.log.gz
            fipsctl audit tail -n 5
            fipsctl audit ship --to tcp://127.0.0.1:6514 $FIPSCRYPTO_AUDIT_DIR/audit*.log
        """,
        run: { args in
            // `-n N` is the tail's short form of `--lines N`.
            if let i = args.words.firstIndex(of: "-n") {
                var w = args.words
                w[i] = "--lines"
                args = Arguments(w)
            }
            let sub = try args.positional("subcommand (\(subcommands.joined(separator: ", ")))")
            switch sub {
            case "log": return try log(&args)
            case "verify": return try verify(&args)
            case "tail": return try tail(&args)
            case "ship": return try ship(&args)
            default: throw CLIError.usage("unknown audit subcommand '\(sub)' (\(subcommands.joined(separator: ", ")))")
            }
        })

    static func directory(_ args: inout Arguments) throws -> URL {
        if let d = try args.option("audit-dir") { return URL(fileURLWithPath: d) }
        if let d = ProcessInfo.processInfo.environment["FIPSCRYPTO_AUDIT_DIR"], !d.isEmpty { return URL(fileURLWithPath: d) }
        throw CLIError.usage("no audit directory: give --audit-dir DIR or set FIPSCRYPTO_AUDIT_DIR")
    }

    /// The chain's root key and state key: from the keystore (`FIPSCRYPTO_KEYSTORE`, purposes `"audit"` and
    /// `"audit-state"` of the key version pinned in `keys/keyring.version` at the chain's start), else key files.
    /// `root` is `nil` when it is not needed (the chain exists) and not available.
    static func chainKeys(_ dir: URL, needRoot: Bool) throws -> (root: SymmetricKey?, state: SymmetricKey) {
        let keys = dir.appendingPathComponent("keys")
        if let ks = ProcessInfo.processInfo.environment["FIPSCRYPTO_KEYSTORE"], !ks.isEmpty {
            let ring = try Keystore.fromEnvironment().load()
            let versionURL = keys.appendingPathComponent("keyring.version")
            let version: Int
            if let text = try? String(contentsOf: versionURL, encoding: .utf8) {
                guard let v = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                    throw CLIError.failed("\(versionURL.path) does not hold a key version")
                }
                version = v
            } else {
                if !FileManager.default.fileExists(atPath: keys.path) {
                    try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                }
                version = ring.primaryVersion
                try Data("\(version)\n".utf8).write(to: versionURL, options: .atomic)
                chmod(versionURL.path, 0o600)
            }
            return (try ring.deriveKey(purpose: "audit", version: version), try ring.deriveKey(purpose: "audit-state", version: version))
        }
        let state = try AuditKeyFiles.readOrCreate(keys.appendingPathComponent("state.key"))
        let rootURL = keys.appendingPathComponent("root.key")
        if needRoot { return (try AuditKeyFiles.readOrCreate(rootURL), state) }
        return (FileManager.default.fileExists(atPath: rootURL.path) ? try AuditKeyFiles.read(rootURL) : nil, state)
    }

    /// The root key for `verify`, without creating anything: from the keystore (the pinned version) or
    /// `keys/root.key` if it is still on this host.
    static func verifierRootKey(_ dir: URL) throws -> SymmetricKey? {
        let keys = dir.appendingPathComponent("keys")
        if let ks = ProcessInfo.processInfo.environment["FIPSCRYPTO_KEYSTORE"], !ks.isEmpty,
           let text = try? String(contentsOf: keys.appendingPathComponent("keyring.version"), encoding: .utf8),
           let version = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            return try Keystore.fromEnvironment().load().deriveKey(purpose: "audit", version: version)
        }
        let rootURL = keys.appendingPathComponent("root.key")
        return FileManager.default.fileExists(atPath: rootURL.path) ? try AuditKeyFiles.read(rootURL) : nil
    }

    /// The checkpoint signing key `keys/checkpoint.pem` (P-384, PKCS#8 PEM, 0600), created on first use.
    static func checkpointSigner(_ dir: URL) throws -> P384CheckpointSigner {
        let url = dir.appendingPathComponent("keys/checkpoint.pem")
        if FileManager.default.fileExists(atPath: url.path) {
            var st = stat()
            guard stat(url.path, &st) == 0, st.st_mode & 0o077 == 0 else {
                throw FIPSError(.insecurePermissions, "\(url.path) is accessible by group or others (want 0600)")
            }
            let pem = try String(contentsOf: url, encoding: .utf8)
            return P384CheckpointSigner(privateKey: try P384.Signing.PrivateKey(pemRepresentation: pem))
        }
        let key = try P384.Signing.PrivateKey.generate()
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CLIError.failed("cannot create \(url.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let pem = Array(key.pemRepresentation.utf8)
        guard pem.withUnsafeBytes({ write(fd, $0.baseAddress!, $0.count) }) == pem.count, fsync(fd) == 0 else {
            unlink(url.path)
            throw CLIError.failed("cannot write \(url.path)")
        }
        return P384CheckpointSigner(privateKey: key)
    }

    /// Opens the log in `dir` with its keys (created on first use) and its checkpoint signer.
    static func openLog(_ dir: URL) throws -> AuditLog {
        try FIPSModule.load()
        if !FileManager.default.fileExists(atPath: dir.path) {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let hasChain = AuditLog.recordedLastSequence(directory: dir) != nil
        let keys = try chainKeys(dir, needRoot: !hasChain)
        var c = AuditLogConfiguration.standard(directory: dir)
        c.serviceName = "fipsctl"
        c.sync = .everyRecord
        return try AuditLog(configuration: c, rootKey: hasChain ? nil : keys.root, stateKey: keys.state,
                            checkpointSigner: try checkpointSigner(dir))
    }

    static func log(_ args: inout Arguments) throws -> Int32 {
        let dir = try directory(&args)
        guard let category = try args.option("category"), let action = try args.option("action"),
              let outcomeText = try args.option("outcome"), let actor = try args.option("actor") else {
            throw CLIError.usage("log needs --category, --action, --outcome and --actor")
        }
        guard let outcome = AuditEvent.Outcome(rawValue: outcomeText) else {
            throw CLIError.usage("--outcome takes success, failure or unknown, got '\(outcomeText)'")
        }
        guard !category.isEmpty, !action.isEmpty, !category.contains(" "), !action.contains(" ") else {
            throw CLIError.usage("--category and --action are single words (kebab-case)")
        }
        var meta: [String: String] = [:]
        for kv in try args.options("meta") {
            guard let eq = kv.firstIndex(of: "="), eq != kv.startIndex else { throw CLIError.usage("--meta takes KEY=VALUE, got '\(kv)'") }
            meta[String(kv[..<eq])] = String(kv[kv.index(after: eq)...])
        }
        let event = AuditEvent(category: AuditEvent.Category(category), action: action, outcome: outcome, actor: actor,
                               sourceAddress: try args.option("source-ip"), target: try args.option("target"),
                               reason: try args.option("reason"), correlationID: try args.option("correlation-id"),
                               metadata: meta, message: try args.option("message"))
        try args.finish()
        let log = try openLog(dir)
        let seq = try log.log(event)
        try log.close()
        print(seq)
        return ExitStatus.success
    }

    static func verify(_ args: inout Arguments) throws -> Int32 {
        let dirOption = try args.option("audit-dir")
        let envDir = ProcessInfo.processInfo.environment["FIPSCRYPTO_AUDIT_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        let dir = (dirOption ?? envDir).map { URL(fileURLWithPath: $0) }
        let keyFile = try args.option("key-file")
        let checkpointKey = try args.option("checkpoint-key")
        let noKey = args.flag("no-key")
        let expectLast = try args.option("expect-last")
        let json = args.flag("json")
        var files: [URL] = []
        while let f = args.optionalPositional() { files.append(URL(fileURLWithPath: f)) }
        try args.finish()
        if keyFile != nil && noKey { throw CLIError.usage("--key-file and --no-key exclude each other") }
        if files.isEmpty {
            guard let dir else { throw CLIError.usage("give FILE... or an audit directory (--audit-dir or FIPSCRYPTO_AUDIT_DIR)") }
            files = AuditLog.files(directory: dir)
            guard !files.isEmpty else { throw CLIError.failed("no audit files in \(dir.path)") }
        }
        try FIPSModule.load()
        var key: SymmetricKey? = nil
        if let keyFile { key = try AuditKeyFiles.read(URL(fileURLWithPath: keyFile)) }
        else if !noKey, let dir { key = try verifierRootKey(dir) }
        var checkpointVerifier: P384CheckpointVerifier? = nil
        let pubURL = checkpointKey.map { URL(fileURLWithPath: $0) } ?? dir?.appendingPathComponent("audit-checkpoint.pub")
        if let pubURL, FileManager.default.fileExists(atPath: pubURL.path) {
            checkpointVerifier = try P384CheckpointVerifier(pemRepresentation: try String(contentsOf: pubURL, encoding: .utf8))
        } else if let checkpointKey {
            throw CLIError.failed("cannot read the checkpoint public key \(checkpointKey)")
        }
        var last: UInt64? = nil
        if let expectLast {
            guard let n = UInt64(expectLast) else { throw CLIError.usage("--expect-last takes a sequence number") }
            last = n
        } else if let dir, files.allSatisfy({ $0.deletingLastPathComponent().standardizedFileURL.path == dir.standardizedFileURL.path }) {
            last = AuditLog.recordedLastSequence(directory: dir)
        }
        let report = try AuditVerifier(rootKey: key, checkpointVerifier: checkpointVerifier, expectedLastSequence: last).verify(files: files)
        if json {
            struct Out: Encodable {
                let intact: Bool; let files: [String]; let records: Int; let firstSequence: UInt64?; let lastSequence: UInt64?
                let macsChecked: Bool; let checkpointsVerified: Int; let notes: [String]
                let problem: [String: String]?
            }
            let p = report.problem.map { p -> [String: String] in
                var d = ["kind": p.kind.identifier, "file": p.file, "detail": p.detail]
                if let l = p.line { d["line"] = String(l) }
                if let s = p.sequence { d["sequence"] = String(s) }
                return d
            }
            print(try jsonString(Out(intact: report.isIntact, files: report.files, records: report.recordCount,
                                     firstSequence: report.firstSequence, lastSequence: report.lastSequence,
                                     macsChecked: report.macsChecked, checkpointsVerified: report.checkpointsVerified,
                                     notes: report.notes, problem: p)))
        } else {
            if let p = report.problem {
                print("BROKEN: \(p)")
            } else {
                let range = report.firstSequence.map { f in " (seq \(f)...\(report.lastSequence ?? f))" } ?? ""
                print("OK: \(report.files.count) file(s), \(report.recordCount) record(s)\(range); MACs \(report.macsChecked ? "checked" : "not checked (no key)"); \(report.checkpointsVerified) checkpoint(s) verified")
            }
            for n in report.notes { print("note: \(n)") }
        }
        return report.isIntact ? ExitStatus.success : ExitStatus.failure
    }

    static func tail(_ args: inout Arguments) throws -> Int32 {
        let dir = try directory(&args)
        let n = try args.intOption("lines", range: 1...100_000) ?? 20
        try args.finish()
        var lines: [String] = []
        for f in AuditLog.files(directory: dir).reversed() where lines.count < n {
            guard let text = try? String(contentsOf: f, encoding: .utf8) else { continue }
            lines = text.split(separator: "\n").suffix(n - lines.count).map(String.init) + lines
        }
        for line in lines { print(pretty(line)) }
        return ExitStatus.success
    }

    static func pretty(_ line: String) -> String {
        guard let r = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return "?? \(line)" }
        func s(_ k: String) -> String? { r[k].map { "\($0)" } }
        var out = "\(s("@timestamp") ?? "-")  #\(s("event.sequence") ?? "?")  \((s("log.level") ?? "-").padding(toLength: 7, withPad: " ", startingAt: 0)) \(s("event.category") ?? "-")/\(s("event.action") ?? "-")  \(s("event.outcome") ?? "-")"
        for (k, label) in [("user.name", "user"), ("source.ip", "src"), ("fipsaudit.target", "target"), ("trace.id", "trace"), ("event.reason", "reason")] {
            if let v = s(k) { out += "  \(label)=\(v.contains(" ") ? "\"\(v)\"" : v)" }
        }
        if let labels = r["labels"] as? [String: String] {
            for k in labels.keys.sorted() { out += "  \(k)=\(labels[k]!)" }
        }
        return out
    }

    static func ship(_ args: inout Arguments) throws -> Int32 {
        guard let to = try args.option("to") else { throw CLIError.usage("ship needs --to tcp://HOST:PORT or udp://HOST:PORT") }
        let tls = args.flag("tls")
        let ca = try args.option("ca")
        let timeout = Double(try args.intOption("timeout", range: 1...3600) ?? 30)
        _ = try args.option("audit-dir")
        var files: [URL] = []
        while let f = args.optionalPositional() { files.append(URL(fileURLWithPath: f)) }
        try args.finish()
        guard !files.isEmpty else { throw CLIError.usage("ship needs FILE...") }
        var destination = try SyslogDestination(url: to)
        var connector: (any SyslogConnector)? = nil
        if tls || ca != nil || destination.transport == .tls {
            guard let ca else { throw CLIError.usage("--tls needs --ca FILE (the collector's CA certificates, PEM)") }
            guard destination.transport != .udp else { throw CLIError.usage("--tls works over tcp:// or tls://, not udp://") }
            destination.transport = .tls
            connector = try TLSSyslogConnector(destination: destination, configuration: .makeClientConfiguration(trustRoots: .file(ca)))
        }
        var records: [AuditShippedRecord] = []
        for f in files {
            guard let data = FileManager.default.contents(atPath: f.path) else { throw CLIError.failed("cannot read \(f.path)") }
            for line in data.split(separator: 0x0A) {
                guard let r = AuditShippedRecord.fromLine(line) else { throw CLIError.failed("\(f.path): a line is not an audit record") }
                records.append(r)
            }
        }
        let shipper = try AuditShipper(configuration: AuditShipperConfiguration(
            destination: destination, memoryCapacity: max(1, records.count), connectTimeout: min(timeout, 5)), connector: connector)
        for r in records { shipper.enqueue(r) }
        let done = shipper.flush(timeout: timeout)
        shipper.stop()
        let c = shipper.counters
        print("sent \(c.sent) of \(records.count) record(s) to \(destination); replayed \(c.replayed), dropped \(c.dropped), connection failures \(c.failures)")
        return done && c.sent == UInt64(records.count) ? ExitStatus.success : ExitStatus.failure
    }

    /// Records the finished fipsctl command in the audit log when an audit directory is configured: the command's
    /// name (and audit subcommand), its outcome and exit status. Never any argument value.
    static func recordInvocation(arguments: [String], status: Int32) {
        let words = Array(arguments.dropFirst())
        guard let name = words.first, Registry.commands.contains(where: { $0.name == name }) else { return }
        if words.contains("--help") || words.contains("-h") { return }
        var dirPath = ProcessInfo.processInfo.environment["FIPSCRYPTO_AUDIT_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        if name == "audit", let i = words.firstIndex(of: "--audit-dir"), i + 1 < words.count { dirPath = words[i + 1] }
        guard let dirPath else { return }
        var command = name
        if name == "audit", words.count > 1, subcommands.contains(words[1]) { command += " " + words[1] }
        do {
            let log = try openLog(URL(fileURLWithPath: dirPath))
            let user = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? String(getuid())
            try log.log(AuditEvent(category: AuditEvent.Category("process"), action: "fipsctl-command",
                                   outcome: status == 0 ? .success : .failure, actor: user,
                                   metadata: ["command.name": command, "process.exit_code": String(status)],
                                   message: "fipsctl command finished"))
            try log.close()
        } catch {
            printError("fipsctl: warning: could not record this command in the audit log: \(error)")
        }
    }
}
