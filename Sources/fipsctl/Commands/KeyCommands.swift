import Foundation
import FIPSCrypto
#if canImport(Glibc)
import Glibc
#endif

/// `fipsctl key ...`, `fipsctl encrypt`, `fipsctl decrypt`, `fipsctl rewrap`: the keyring at rest and its envelopes.
enum KeyCommands {
    static let keystoreHelp = """
        KEYSTORE
            The keystore is the directory given by --keystore DIR, or else FIPSCRYPTO_KEYSTORE. Its key-encryption
            key (KEK) is, in order: --passphrase-file F (first line; PBKDF2-HMAC-SHA-256, 600,000 iterations),
            --kek-file F (32 raw bytes), FIPSCRYPTO_KEK_PASSPHRASE_FILE, FIPSCRYPTO_KEK_FILE, or DIR/kek.
            The directory must be 0700 and every file 0600, owned by you; otherwise the command refuses and says
            which chmod fixes it. Secrets never come from the command line.
        """

    /// The keystore from the options and the environment.
    static func keystore(_ args: inout Arguments) throws -> Keystore {
        let dir = try args.option("keystore")
        let passphraseFile = try args.option("passphrase-file")
        let kekFile = try args.option("kek-file")
        let env = ProcessInfo.processInfo.environment
        guard let directory = dir ?? env["FIPSCRYPTO_KEYSTORE"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw CLIError.usage("no keystore: give --keystore DIR or set FIPSCRYPTO_KEYSTORE")
        }
        let url = URL(fileURLWithPath: directory)
        if let passphraseFile { return Keystore(directory: url, kek: .passphrase(try Keystore.readPassphrase(URL(fileURLWithPath: passphraseFile)))) }
        if let kekFile { return Keystore(directory: url, kek: .file(URL(fileURLWithPath: kekFile))) }
        if let p = env["FIPSCRYPTO_KEK_PASSPHRASE_FILE"], !p.isEmpty {
            return Keystore(directory: url, kek: .passphrase(try Keystore.readPassphrase(URL(fileURLWithPath: p))))
        }
        if let k = env["FIPSCRYPTO_KEK_FILE"], !k.isEmpty { return Keystore(directory: url, kek: .file(URL(fileURLWithPath: k))) }
        return Keystore(directory: url, kek: .file(url.appendingPathComponent("kek")))
    }

    static func version(_ args: inout Arguments, _ name: String = "version") throws -> Int? {
        try args.intOption(name, range: 1...Int(UInt32.max))
    }

    // MARK: - key

    static let key = Command(
        name: "key",
        summary: "manage the keyring: init, rotate, promote, list, retire, reinstate, destroy, minimum",
        help: """
        NAME
            fipsctl key — manage a versioned keyring stored in a keystore

        SYNOPSIS
            fipsctl key init --keystore DIR [--passphrase-file F | --kek-file F]
            fipsctl key rotate [--stage] [KEYSTORE OPTIONS]
            fipsctl key promote --version N [KEYSTORE OPTIONS]
            fipsctl key list [--json] [KEYSTORE OPTIONS]
            fipsctl key retire (--below N | --version N) [KEYSTORE OPTIONS]
            fipsctl key reinstate --version N [KEYSTORE OPTIONS]
            fipsctl key destroy --version N --yes [KEYSTORE OPTIONS]
            fipsctl key minimum [--decryption N] [--encryption N] [KEYSTORE OPTIONS]

        DESCRIPTION
            A keyring holds versioned AES-256 keys. New envelopes (fipsctl encrypt) are sealed under the primary
            version; older active versions still open theirs. Every change runs under an exclusive lock on the
            keystore and replaces it atomically, so concurrent commands never lose a version.

            init        create DIR (0700), DIR/kek (32 random bytes, 0600) unless a passphrase is used, and a keyring
                        with version 1. Refuses to overwrite an existing keystore.
            rotate      add a version and make it primary; with --stage, add it without promoting (promote later,
                        after every reader has the new keystore).
            promote     make an active version primary.
            list        versions with created time, state (active, retired, destroyed), primary mark and seal count.
                        Never prints key bytes.
            retire      refuse a version (or every version below N) for all operations; reversible (reinstate).
            reinstate   return a retired version to active.
            destroy     delete a version's key bytes for good: its envelopes can never be opened again.
            minimum     set the minimum decryption version (older envelopes are refused as too old) and the minimum
                        encryption version (lowest version that may be primary or a rewrap target).

        OPTIONS
            --keystore DIR          the keystore directory (default: FIPSCRYPTO_KEYSTORE)
            --passphrase-file F     the KEK is this passphrase (first line of F, 0600)
            --kek-file F            the KEK is these 32 bytes (0600; default DIR/kek)
            --stage                 rotate: add the version without making it primary
            --version N             the key version
            --below N               retire: every active version below N
            --yes                   destroy: confirm the irreversible deletion
            --json                  list: JSON output
            --decryption N, --encryption N
                                    minimum: the new minimum versions

        \(keystoreHelp)

        EXIT STATUS
            0 success; 1 the operation failed (message says why); 2 bad usage

        EXAMPLES
            fipsctl key init --keystore /etc/myapp/keys
            FIPSCRYPTO_KEYSTORE=/etc/myapp/keys fipsctl key rotate
            fipsctl key rotate --stage --keystore /etc/myapp/keys && fipsctl key promote --version 3 --keystore /etc/myapp/keys
            fipsctl key retire --below 3 --keystore /etc/myapp/keys
            fipsctl key list --json --keystore /etc/myapp/keys
        """,
        run: { args in
            let sub = try args.positional("subcommand (init, rotate, promote, list, retire, reinstate, destroy, minimum)")
            switch sub {
            case "init":
                let dir = try args.option("keystore") ?? ProcessInfo.processInfo.environment["FIPSCRYPTO_KEYSTORE"]
                guard let dir else { throw CLIError.usage("key init needs --keystore DIR") }
                args = Arguments(["--keystore", dir] + args.words)
                let store = try keystore(&args)
                try args.finish()
                _ = try Keystore.initialize(directory: store.directory, kek: store.kek)
                print("initialized keystore \(store.directory.path) with key version 1")
                return ExitStatus.success
            case "rotate":
                let stage = args.flag("stage")
                let store = try keystore(&args)
                try args.finish()
                let v = try store.update { ring in stage ? try ring.addVersion() : try ring.rotate() }
                print(stage ? "added key version \(v) (staged, not primary)" : "rotated: key version \(v) is primary")
                return ExitStatus.success
            case "promote":
                guard let v = try version(&args) else { throw CLIError.usage("key promote needs --version N") }
                let store = try keystore(&args)
                try args.finish()
                try store.update { try $0.promote(version: v) }
                print("key version \(v) is primary")
                return ExitStatus.success
            case "list":
                let json = args.flag("json")
                let store = try keystore(&args)
                try args.finish()
                let ring = try store.load()
                if json {
                    struct Report: Encodable {
                        let primaryVersion: Int; let minimumDecryptionVersion: Int; let minimumEncryptionVersion: Int
                        let versions: [KeyVersionInfo]
                    }
                    let e = JSONEncoder()
                    e.outputFormatting = [.prettyPrinted, .sortedKeys]
                    e.dateEncodingStrategy = .iso8601
                    let r = Report(primaryVersion: ring.primaryVersion, minimumDecryptionVersion: ring.minimumDecryptionVersion,
                                   minimumEncryptionVersion: ring.minimumEncryptionVersion, versions: ring.versions)
                    print(String(decoding: try e.encode(r), as: UTF8.self))
                } else {
                    let f = ISO8601DateFormatter()
                    print("VERSION  STATE      PRIMARY  SEALS         CREATED")
                    for v in ring.versions {
                        print(String(v.version).padding(toLength: 9, withPad: " ", startingAt: 0)
                              + v.state.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0)
                              + (v.isPrimary ? "yes" : "").padding(toLength: 9, withPad: " ", startingAt: 0)
                              + String(v.sealCount).padding(toLength: 14, withPad: " ", startingAt: 0)
                              + f.string(from: v.createdAt))
                    }
                    print("minimum decryption version: \(ring.minimumDecryptionVersion); minimum encryption version: \(ring.minimumEncryptionVersion)")
                }
                return ExitStatus.success
            case "retire":
                let below = try version(&args, "below")
                let v = try version(&args)
                let store = try keystore(&args)
                try args.finish()
                switch (below, v) {
                case (let b?, nil): try store.update { try $0.retire(below: b) }; print("retired every active version below \(b)")
                case (nil, let v?): try store.update { try $0.retire(version: v) }; print("retired key version \(v)")
                default: throw CLIError.usage("key retire needs exactly one of --below N or --version N")
                }
                return ExitStatus.success
            case "reinstate":
                guard let v = try version(&args) else { throw CLIError.usage("key reinstate needs --version N") }
                let store = try keystore(&args)
                try args.finish()
                try store.update { try $0.reinstate(version: v) }
                print("key version \(v) is active again")
                return ExitStatus.success
            case "destroy":
                guard let v = try version(&args) else { throw CLIError.usage("key destroy needs --version N") }
                let yes = args.flag("yes")
                let store = try keystore(&args)
                try args.finish()
                guard yes else {
                    throw CLIError.usage("destroying key version \(v) is irreversible: its envelopes can never be opened again; add --yes to confirm")
                }
                try store.update { try $0.destroy(version: v) }
                print("destroyed key version \(v)")
                return ExitStatus.success
            case "minimum":
                let dec = try version(&args, "decryption")
                let enc = try version(&args, "encryption")
                let store = try keystore(&args)
                try args.finish()
                guard dec != nil || enc != nil else { throw CLIError.usage("key minimum needs --decryption N and/or --encryption N") }
                try store.update { ring in
                    if let dec { try ring.setMinimumDecryptionVersion(dec) }
                    if let enc { try ring.setMinimumEncryptionVersion(enc) }
                }
                print("minimum versions set")
                return ExitStatus.success
            default:
                throw CLIError.usage("unknown subcommand '\(sub)' (init, rotate, promote, list, retire, reinstate, destroy, minimum)")
            }
        })

    // MARK: - encrypt / decrypt / rewrap

    static let ioHelp = """
            --context LABEL   what the data is (required; the same label must be given to decrypt)
            --aad-file F      additional authenticated data, read from F (the same must be given to decrypt)
            --in F            read from F instead of standard input
            --out F           write to F (created 0600) instead of standard output
        """

    struct IO { let context: String; let aad: Data; let input: Data; let out: String? }

    static func io(_ args: inout Arguments) throws -> IO {
        guard let context = try args.option("context") else { throw CLIError.usage("--context LABEL is required") }
        let aad = try args.option("aad-file").map { try readFile($0) } ?? Data()
        let input = try args.option("in").map { try readFile($0) } ?? readStdin()
        return IO(context: context, aad: aad, input: input, out: try args.option("out"))
    }

    static func readFile(_ path: String) throws -> Data {
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CLIError.failed("cannot read \(path): \(error.localizedDescription)")
        }
    }

    /// Writes `data` (possibly plaintext) to standard output or to a new file at `path`.
    ///
    /// The file is created 0600 from the first byte: FileManager.createFile wrote through a temporary file with
    /// the umask's mode and applied 0600 only afterwards, so decrypted data was briefly readable by others. An
    /// existing file or link at `path` is replaced (unlinked, never followed); nothing is written through a link.
    static func emit(_ data: Data, to path: String?) throws {
        guard let path else { writeStdout(data); return }
        func failure(_ op: String) -> CLIError { CLIError.failed("cannot write \(path): \(op): \(String(cString: strerror(errno)))") }
        if unlink(path) != 0 && errno != ENOENT { throw failure("unlink") }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw failure("open") }
        var ok = false
        defer { close(fd); if !ok { unlink(path) } }
        guard fchmod(fd, 0o600) == 0 else { throw failure("fchmod") }
        try data.withUnsafeBytes { (b: UnsafeRawBufferPointer) in
            var off = 0
            while off < b.count {
                let n = write(fd, b.baseAddress! + off, b.count - off)
                if n < 0 { if errno == EINTR { continue }; throw failure("write") }
                off += n
            }
        }
        guard fsync(fd) == 0 else { throw failure("fsync") }
        ok = true
    }

    static let encrypt = Command(
        name: "encrypt",
        summary: "seal data under the keyring's primary version (key-committing envelope)",
        help: """
        NAME
            fipsctl encrypt — seal data into a keyring envelope

        SYNOPSIS
            fipsctl encrypt --context LABEL [--aad-file F] [--in F] [--out F] [KEYSTORE OPTIONS]

        DESCRIPTION
            Reads the plaintext (standard input or --in), seals it with AES-256-GCM under a subkey derived with
            HKDF-SHA-256 from the keyring's primary version and the context label, and writes the envelope (73 bytes
            longer than the plaintext; layout in docs/FORMAT.md). The seal is counted in the keystore against the
            version's 2^32 AES-GCM limit.

        OPTIONS
        \(ioHelp)
            --keystore DIR, --passphrase-file F, --kek-file F   see KEYSTORE

        \(keystoreHelp)

        EXIT STATUS
            0 success; 1 failure; 2 bad usage

        EXAMPLES
            echo -n secret | fipsctl encrypt --context users.email --keystore /etc/myapp/keys > secret.env
            fipsctl encrypt --context backups --in db.dump --out db.dump.env --aad-file host-id
        """,
        run: { args in
            let io = try io(&args)
            let store = try keystore(&args)
            try args.finish()
            let envelope = try store.update { try $0.encrypt(io.input, context: io.context, authenticating: io.aad) }
            try emit(envelope, to: io.out)
            return ExitStatus.success
        })

    static let decrypt = Command(
        name: "decrypt",
        summary: "open a keyring envelope",
        help: """
        NAME
            fipsctl decrypt — open a keyring envelope

        SYNOPSIS
            fipsctl decrypt --context LABEL [--aad-file F] [--in F] [--out F] [KEYSTORE OPTIONS]

        DESCRIPTION
            Reads an envelope, checks its format, key version (known, not destroyed, retired or below the minimum
            decryption version), context and key commitment, then opens it with AES-256-GCM. Nothing is written
            unless every check passes; the error names what failed (e.g. keyVersionTooOld, contextMismatch,
            keyCommitmentMismatch, authenticationFailure).

        OPTIONS
        \(ioHelp)
            --keystore DIR, --passphrase-file F, --kek-file F   see KEYSTORE

        \(keystoreHelp)

        EXIT STATUS
            0 success; 1 failure (nothing written); 2 bad usage

        EXAMPLES
            fipsctl decrypt --context users.email --keystore /etc/myapp/keys < secret.env
        """,
        run: { args in
            let io = try io(&args)
            let store = try keystore(&args)
            try args.finish()
            let plain = try store.load().decrypt(io.input, context: io.context, authenticating: io.aad)
            try emit(plain, to: io.out)
            return ExitStatus.success
        })

    static let rewrap = Command(
        name: "rewrap",
        summary: "re-seal an envelope under the primary version without revealing the plaintext",
        help: """
        NAME
            fipsctl rewrap — move an envelope to the current key version

        SYNOPSIS
            fipsctl rewrap --context LABEL [--aad-file F] [--in F] [--out F] [--to-version N] [KEYSTORE OPTIONS]

        DESCRIPTION
            Opens the envelope and seals it again under the primary version (or --to-version), keeping its context
            and additional data. The plaintext stays in a buffer that is wiped; it is never written. An envelope
            already under the target version is verified and written back unchanged.

        OPTIONS
        \(ioHelp)
            --to-version N      the target version (default: the primary)
            --keystore DIR, --passphrase-file F, --kek-file F   see KEYSTORE

        \(keystoreHelp)

        EXIT STATUS
            0 success; 1 failure (nothing written); 2 bad usage

        EXAMPLES
            fipsctl rewrap --context users.email --in old.env --out new.env --keystore /etc/myapp/keys
        """,
        run: { args in
            let io = try io(&args)
            let to = try version(&args, "to-version")
            let store = try keystore(&args)
            try args.finish()
            let out = try store.update { try $0.rewrap(io.input, context: io.context, authenticating: io.aad, toVersion: to) }
            try emit(out, to: io.out)
            return ExitStatus.success
        })
}
