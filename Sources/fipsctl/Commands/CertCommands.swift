import Foundation
import FIPSCrypto
import FIPSCertificates

/// `fipsctl cert ...`: generate, issue, request, install, inspect and rotate X.509 certificates.
enum CertCommands {
    static let cert = Command(
        name: "cert",
        summary: "X.509 certificates: generate, local CA, CSR, install, inspect, rotate",
        help: """
        NAME
            fipsctl cert — make, install, inspect and rotate the TLS server certificate

        SYNOPSIS
            fipsctl cert generate --out DIR --cn NAME --san DNS:NAME|IP:ADDR ... [--key-type TYPE] [--days N]
                                  [--passphrase-file F]
            fipsctl cert ca init  --out DIR [--cn NAME] [--days N] [--passphrase-file F]
            fipsctl cert ca issue --ca DIR --out DIR --cn NAME --san ... [--key-type TYPE] [--days N]
                                  [--passphrase-file F]
            fipsctl cert csr      --key F --cn NAME --san ... --out F [--passphrase-file F]
            fipsctl cert install  --cert F --key F --into DIR [--passphrase-file F] [--name N ...]
            fipsctl cert inspect  FILE [--json]
            fipsctl cert rotate   --dir DIR [--force] [--passphrase-file F]

        DESCRIPTION
            Every key is made, every certificate signed and every key file encrypted inside the cryptographic module
            (OpenSSL's FIPS provider in FIPSCRYPTO_MODE=fips). Certificates are X.509 v3 with a random positive
            127-bit serial from the module's DRBG, SKI/AKI, and ECDSA or RSA signatures with SHA-256 (P-256, RSA
            signers) or SHA-384 (P-384, P-521 signers).

            A certificate directory (DIR) is a store: DIR/cert.pem (chain, leaf first, 0644), DIR/key.pem (0600),
            DIR/state.json (managed or custom, and how to renew), DIR/previous/ (the pair before the last
            rotation) and, for a local CA, DIR/ca/ca.pem and DIR/ca/ca-key.pem. Directories are 0700; a key file
            readable by group or others, or a directory writable by them, is refused with the chmod that fixes it.
            Files are written atomically (temporary file, fsync, rename, fsync of the directory). See
            docs/CERTIFICATES.md.

            generate    A self-signed server leaf: CA:FALSE, KU digitalSignature (+ keyEncipherment for RSA),
                        EKU serverAuth, the SANs given. Managed: `cert rotate` renews it.
            ca init     A local root CA in DIR/ca/: ECDSA P-384, CA:TRUE pathlen:0, keyCertSign + cRLSign,
                        3650 days unless --days. Clients trust DIR/ca/ca.pem.
            ca issue    A server leaf issued by the CA in --ca DIR (AKI = the CA's SKI), stored in --out DIR with
                        the chain leaf + CA. Managed: `cert rotate --dir OUT` issues a new one from the same CA.
            csr         A PKCS#10 request for a real CA, for an existing key (--key, PKCS#8 PEM): subject CN, and an
                        extension request with the SANs, CA:FALSE, KU and EKU serverAuth.
            install     A certificate from elsewhere (--cert: the chain, leaf first; --key: its key). Checked before
                        anything is written: the key matches the leaf, the chain is in order and each certificate
                        is signed by the next, all are valid now, keys are RSA >= 2048 or EC P-256/384/521, hashes
                        SHA-256/384/512 (SHA-1 refused), the leaf is not a CA and covers every --name. Custom: never
                        renewed here; `cert rotate` warns as it nears expiry.
            inspect     Prints a certificate (PEM or DER; each of a PEM chain) or a PEM CSR: subject, issuer, serial, validity, key,
                        signature algorithm, extensions, SHA-256 fingerprint.
            rotate      Renews the managed leaf in DIR if less than 1/3 of its lifetime remains (at 2/3, as
                        certmagic does), or now with --force; the old pair moves to DIR/previous/. For a custom
                        certificate it only warns.

        OPTIONS
            --out DIR | F         where to write (a store directory; a file for csr)
            --cn NAME             the subject common name (1..64 bytes)
            --san DNS:NAME | IP:ADDR
                                  a subject alternative name; repeat it. A bare value is an IP address if it
                                  parses as one, else a DNS name. At least one for a server certificate.
            --key-type TYPE       p256 (default for leaves) | p384 | p521 | rsa2048 | rsa3072 | rsa4096
            --days N              validity in days: leaves 1..398 (default 90); CA 1..9125 (default 3650)
            --passphrase-file F   a file whose first line is the passphrase (at least 8 bytes) that encrypts the
                                  key files written (PKCS#8, PBES2 AES-256-CBC, PBKDF2-HMAC-SHA-256) or decrypts the
                                  ones read. Never on the command line.
            --ca DIR              the store holding the CA (DIR/ca/) for `ca issue`
            --key F               the private key (PKCS#8 PEM) for `csr` and `install`
            --cert F              the chain (PEM, leaf first) for `install`
            --into DIR            the store to install into
            --name N              a host name or IP address the installed certificate must cover; repeat it
            --dir DIR             the store to rotate
            --force               rotate even if the leaf is not due
            --json                machine-readable output for `inspect`

        EXIT STATUS
            0  success (for rotate: renewed, or nothing to do)
            1  the operation failed; the message names the check that failed (e.g. certificateKeyMismatch,
               certificateChainInvalid, certificateExpired, certificateNameMismatch, certificateNotApproved,
               insecurePermissions)
            2  bad usage
            3  the module failed its self-tests (fail closed)

        EXAMPLES
            fipsctl cert generate --out /etc/svc/tls --cn localhost --san DNS:localhost --san IP:127.0.0.1
            fipsctl cert ca init --out /etc/svc/ca
            fipsctl cert ca issue --ca /etc/svc/ca --out /etc/svc/tls --cn api.internal --san api.internal --san IP:10.0.0.5
            curl --cacert /etc/svc/ca/ca/ca.pem https://api.internal/
            fipsctl cert csr --key key.pem --cn api.example.com --san DNS:api.example.com --out api.csr
            fipsctl cert install --cert fullchain.pem --key key.pem --into /etc/svc/tls --name api.example.com
            fipsctl cert inspect /etc/svc/tls/cert.pem --json
            fipsctl cert rotate --dir /etc/svc/tls     # from a timer, every 10 minutes to daily
        """,
        run: { args in
            let sub = try args.positional("subcommand (generate, ca, csr, install, inspect, rotate)")
            switch sub {
            case "generate": return try generate(&args)
            case "ca":
                let what = try args.positional("ca subcommand (init, issue)")
                switch what {
                case "init": return try caInit(&args)
                case "issue": return try caIssue(&args)
                default: throw CLIError.usage("unknown subcommand 'ca \(what)' (init, issue)")
                }
            case "csr": return try csr(&args)
            case "install": return try install(&args)
            case "inspect": return try inspect(&args)
            case "rotate": return try rotate(&args)
            default: throw CLIError.usage("unknown subcommand '\(sub)' (generate, ca, csr, install, inspect, rotate)")
            }
        })

    // MARK: Subcommands

    static func generate(_ args: inout Arguments) throws -> Int32 {
        let out = try required(&args, "out"), cn = try required(&args, "cn")
        let sans = try args.options("san")
        let kind = try keyKind(&args, default: .p256)
        let days = try args.intOption("days", range: 1...398) ?? 90
        let passphrase = try passphraseFile(&args)
        try args.finish()
        guard !sans.isEmpty else { throw CLIError.usage("give at least one --san") }
        let store = CertificateStore(directory: URL(fileURLWithPath: out), keyPassphrase: passphrase)
        try refuseExisting(store)
        let pair = try CertificateManager(store: store).ensureServerCertificate(
            names: sans, mode: .selfSigned, keyKind: kind, validity: TimeInterval(days) * 86_400, commonName: cn)
        print("wrote \(store.certificatePath.path) and \(store.keyPath.path)")
        print(pair.leaf.description)
        return ExitStatus.success
    }

    static func caInit(_ args: inout Arguments) throws -> Int32 {
        let out = try required(&args, "out")
        let cn = try args.option("cn") ?? "swift-fips-crypto Local CA"
        let days = try args.intOption("days", range: 1...9125) ?? 3650
        let passphrase = try passphraseFile(&args)
        try args.finish()
        let store = CertificateStore(directory: URL(fileURLWithPath: out), keyPassphrase: passphrase)
        try store.prepare()
        let ca = try CertificateManager(store: store).createCertificateAuthority(commonName: cn, validity: TimeInterval(days) * 86_400).leaf
        print("wrote \(store.certificateAuthorityPath.path) (trust this file in clients)")
        print(ca.description)
        return ExitStatus.success
    }

    static func caIssue(_ args: inout Arguments) throws -> Int32 {
        let caDir = try required(&args, "ca"), out = try required(&args, "out"), cn = try required(&args, "cn")
        let sans = try args.options("san")
        let kind = try keyKind(&args, default: .p256)
        let days = try args.intOption("days", range: 1...398) ?? 90
        let passphrase = try passphraseFile(&args)
        try args.finish()
        guard !sans.isEmpty else { throw CLIError.usage("give at least one --san") }
        let caStore = CertificateStore(directory: URL(fileURLWithPath: caDir), keyPassphrase: passphrase)
        let store = CertificateStore(directory: URL(fileURLWithPath: out), keyPassphrase: passphrase)
        if caStore.directory != store.directory { try refuseExisting(store) }
        let pair = try CertificateManager(store: store).ensureServerCertificate(
            names: sans, mode: .localCA, keyKind: kind, validity: TimeInterval(days) * 86_400, commonName: cn,
            certificateAuthority: caStore)
        print("wrote \(store.certificatePath.path) (leaf + CA) and \(store.keyPath.path)")
        print(pair.leaf.description)
        return ExitStatus.success
    }

    static func csr(_ args: inout Arguments) throws -> Int32 {
        let keyFile = try required(&args, "key"), cn = try required(&args, "cn"), out = try required(&args, "out")
        let sans = try args.options("san")
        let passphrase = try passphraseFile(&args)
        try args.finish()
        let key = try SigningPrivateKey(pemRepresentation: try readText(keyFile), passphrase: passphrase)
        let names = try sans.map { try GeneralName(parsing: $0) }
        let request = try CertificateBuilder.serverLeaf(commonName: cn, subjectAlternativeNames: names).signingRequest(key: key)
        do { try Data(request.pemRepresentation.utf8).write(to: URL(fileURLWithPath: out), options: .atomic) } catch {
            throw CLIError.failed("cannot write \(out): \(error.localizedDescription)")
        }
        print("wrote \(out): \(request.subject), \(request.subjectAlternativeNames.map(\.description).joined(separator: ", "))")
        return ExitStatus.success
    }

    static func install(_ args: inout Arguments) throws -> Int32 {
        let certFile = try required(&args, "cert"), keyFile = try required(&args, "key"), into = try required(&args, "into")
        let names = try args.options("name")
        let passphrase = try passphraseFile(&args)
        try args.finish()
        let store = CertificateStore(directory: URL(fileURLWithPath: into), keyPassphrase: passphrase)
        let pair = try CertificateManager(store: store).install(chainPEM: try readText(certFile), keyPEM: try readText(keyFile),
                                                                 passphrase: passphrase, requiredNames: names)
        print("installed into \(store.directory.path): \(pair.chain.count) certificate(s), custom (never renewed automatically)")
        print(pair.leaf.description)
        return ExitStatus.success
    }

    static func inspect(_ args: inout Arguments) throws -> Int32 {
        let json = args.flag("json")
        let file = try args.positional("FILE")
        try args.finish()
        let text = String(decoding: try readData(file), as: UTF8.self)
        if text.contains("CERTIFICATE REQUEST-----") {
            let r = try CertificateSigningRequest(pemRepresentation: text)
            if json {
                struct Out: Encodable { let type = "csr"; let subject: String; let subjectAlternativeNames: [String]; let signatureValid: Bool }
                print(try jsonString(Out(subject: r.subject, subjectAlternativeNames: r.subjectAlternativeNames.map(\.description), signatureValid: r.isSignatureValid)))
            } else {
                print("Certificate Request:\n    Subject: \(r.subject)\n    Subject Alternative Names: \(r.subjectAlternativeNames.map(\.description).joined(separator: ", "))\n    Signature: \(r.isSignatureValid ? "valid" : "INVALID")")
            }
            return r.isSignatureValid ? ExitStatus.success : ExitStatus.failure
        }
        // PEM (one or more certificates), or a single DER certificate.
        let chain = text.contains("-----BEGIN") ? try Certificate.chain(fromPEM: text)
            : [try Certificate(derRepresentation: try readData(file))]
        if json {
            print(try jsonString(chain.map(CertificateJSON.init)))
        } else {
            print(chain.map(\.description).joined(separator: "\n"))
        }
        return ExitStatus.success
    }

    static func rotate(_ args: inout Arguments) throws -> Int32 {
        let dir = try required(&args, "dir")
        let force = args.flag("force")
        let passphrase = try passphraseFile(&args)
        try args.finish()
        let store = CertificateStore(directory: URL(fileURLWithPath: dir), keyPassphrase: passphrase)
        let manager = CertificateManager(store: store)
        guard let entry = try store.load() else { throw CLIError.failed("\(dir) holds no certificate (cert.pem and key.pem)") }
        if force {
            let pair = try manager.rotate()
            print("rotated: new serial \(pair.leaf.serialNumber), valid until \(ISO8601DateFormatter().string(from: pair.leaf.notValidAfter)); the old pair is in \(dir)/previous/")
        } else if try manager.renewIfNeeded() {
            let leaf = try unwrapCurrent(manager.current?.leaf)
            print("renewed: new serial \(leaf.serialNumber), valid until \(ISO8601DateFormatter().string(from: leaf.notValidAfter)); the old pair is in \(dir)/previous/")
        } else if entry.metadata.kind == .custom, CertificateManager.isDue(entry.pair.leaf, now: Date(), fraction: 1.0 / 3.0) {
            printError("fipsctl cert rotate: warning: the installed certificate '\(entry.pair.leaf.subject)' expires on \(ISO8601DateFormatter().string(from: entry.pair.leaf.notValidAfter)); install a renewed one (custom certificates are not renewed here)")
        } else {
            print("not due: valid until \(ISO8601DateFormatter().string(from: entry.pair.leaf.notValidAfter)) (renewal when less than 1/3 of the lifetime remains)")
        }
        return ExitStatus.success
    }

    // MARK: Helpers

    static func unwrapCurrent<T>(_ v: T?) throws -> T {
        guard let v else { throw CLIError.failed("internal: no current certificate after renewal") }
        return v
    }

    static func required(_ args: inout Arguments, _ name: String) throws -> String {
        guard let v = try args.option(name), !v.isEmpty else { throw CLIError.usage("--\(name) is required") }
        return v
    }

    static func keyKind(_ args: inout Arguments, default d: SigningPrivateKey.Kind) throws -> SigningPrivateKey.Kind {
        guard let name = try args.option("key-type") else { return d }
        guard let k = SigningPrivateKey.Kind(name: name) else {
            throw CLIError.usage("--key-type takes p256, p384, p521, rsa2048, rsa3072 or rsa4096, got '\(name)'")
        }
        return k
    }

    /// The first line of --passphrase-file (secrets never come from argv).
    static func passphraseFile(_ args: inout Arguments) throws -> String? {
        guard let f = try args.option("passphrase-file") else { return nil }
        let text = try readText(f)
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let p = line.hasSuffix("\r") ? String(line.dropLast()) : line
        guard !p.isEmpty else { throw CLIError.failed("the passphrase file \(f) is empty") }
        return p
    }

    static func readData(_ path: String) throws -> Data {
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CLIError.failed("cannot read \(path): \(error.localizedDescription)")
        }
    }

    static func readText(_ path: String) throws -> String {
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw CLIError.failed("cannot read \(path): \(error.localizedDescription)")
        }
    }

    static func refuseExisting(_ store: CertificateStore) throws {
        if FileManager.default.fileExists(atPath: store.certificatePath.path) {
            throw CLIError.failed("\(store.certificatePath.path) already exists; use `fipsctl cert rotate --dir \(store.directory.path)` to renew it")
        }
    }

    struct CertificateJSON: Encodable {
        let subject: String, issuer: String, serialNumber: String
        let notValidBefore: String, notValidAfter: String
        let subjectAlternativeNames: [String]
        let isCA: Bool
        let pathLength: Int?
        let keyUsage: String?, extendedKeyUsage: String?
        let publicKey: String, publicKeyApproved: Bool
        let signatureAlgorithm: String, signatureDigest: String, signatureApproved: Bool
        let subjectKeyIdentifier: String?, authorityKeyIdentifier: String?
        let sha256Fingerprint: String

        init(_ c: Certificate) {
            let f = ISO8601DateFormatter()
            let hex = { (d: Data) in d.map { String(format: "%02x", $0) }.joined() }
            subject = c.subject; issuer = c.issuer; serialNumber = c.serialNumber
            notValidBefore = f.string(from: c.notValidBefore); notValidAfter = f.string(from: c.notValidAfter)
            subjectAlternativeNames = c.subjectAlternativeNames.map(\.description)
            isCA = c.isCA; pathLength = c.pathLengthConstraint
            keyUsage = c.keyUsage?.description; extendedKeyUsage = c.extendedKeyUsage?.description
            publicKey = c.publicKeyAlgorithm; publicKeyApproved = c.publicKeyIsApproved
            signatureAlgorithm = c.signatureAlgorithm.name; signatureDigest = c.signatureAlgorithm.digest
            signatureApproved = c.signatureAlgorithm.isApproved
            subjectKeyIdentifier = c.subjectKeyIdentifier.map(hex); authorityKeyIdentifier = c.authorityKeyIdentifier.map(hex)
            sha256Fingerprint = hex(c.sha256Fingerprint)
        }
    }
}
