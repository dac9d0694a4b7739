import Foundation
import FIPSCrypto

/// `fipsctl`: the command-line face of swift-fips-crypto. One entry per command group; each group lives in
/// `Commands/<Group>Commands.swift`.
enum Registry {
    static let commands: [Command] = [
        ModuleCommands.status,
        ModuleCommands.selftest,
        KeyCommands.key, KeyCommands.encrypt, KeyCommands.decrypt, KeyCommands.rewrap,
        ServeCommands.serve,
        CertCommands.cert,
        VaultCommands.vault,
        AuditCommands.audit,
    ]
}
let commands = Registry.commands

let topLevelHelp: String = """
NAME
    fipsctl — FIPS-oriented cryptography on OpenSSL 3's FIPS provider: self-tests, status, keys, certificates,
    TLS, audit log and credential vault

SYNOPSIS
    fipsctl COMMAND [OPTIONS]
    fipsctl COMMAND --help
    fipsctl --help | --version

COMMANDS
\(Registry.commands.map { "    " + $0.name.padding(toLength: 12, withPad: " ", startingAt: 0) + $0.summary }.joined(separator: "\n"))

ENVIRONMENT
    FIPSCRYPTO_MODE              fips (default) | development. Development mode uses OpenSSL's default provider,
                                 still enforces the approved-services policy, and reports itself as NOT FIPS.
    FIPSCRYPTO_OPENSSL_CONF      OpenSSL configuration that activates the fips and base providers.
                                 Unset: .fips/openssl-fips.cnf in the working directory or a parent, then beside
                                 the executable or a parent, then the system's provider (MODULESDIR/fips.so).
    FIPSCRYPTO_FAIL_SELFTEST     NAME[,NAME...]: force these self-tests to fail (fault injection; see
                                 `fipsctl selftest --list`). It can only make tests fail.
    FIPSCRYPTO_FAILURE_POLICY    throw (default) | abort: abort the process when the module fails.
    FIPSCRYPTO_LOCK_DEFAULT_CONTEXT
                                 1: load the null provider into OpenSSL's default context (process-wide).
    FIPSCRYPTO_KEYSTORE          keystore directory for key, encrypt, decrypt, rewrap and vault (--keystore DIR).
    FIPSCRYPTO_KEK_FILE          key-encryption key file (default: KEYSTORE/kek).
    FIPSCRYPTO_KEK_PASSPHRASE_FILE
                                 a file holding the keystore passphrase (PBKDF2) instead of a KEK file.
    FIPSCRYPTO_VAULT             the credential vault's SQLite file (--db FILE).
    FIPSCRYPTO_AUDIT_DIR         audit log directory: every command records its own event there (--audit-dir).

EXIT STATUS
    0  success
    1  the operation failed (the message says why)
    2  bad usage
    3  a self-test failed or the module is in its error state (fail closed)

SEE ALSO
    README.md, SECURITY.md, docs/ARCHITECTURE.md
"""

func runMain() -> Int32 {
    var words = Array(CommandLine.arguments.dropFirst())
    guard let name = words.first, name != "--help", name != "-h", name != "help" else {
        print(topLevelHelp)
        return words.isEmpty ? ExitStatus.usage : ExitStatus.success
    }
    if name == "--version" {
        print("fipsctl (swift-fips-crypto) \(FIPSCryptoVersion.string)")
        return ExitStatus.success
    }
    guard let command = Registry.commands.first(where: { $0.name == name }) else {
        printError("fipsctl: unknown command '\(name)'. Run `fipsctl --help` for the list.")
        return ExitStatus.usage
    }
    words.removeFirst()
    if words.contains("--help") || words.contains("-h") {
        print(command.help)
        return ExitStatus.success
    }
    var args = Arguments(words)
    do {
        return try command.run(&args)
    } catch let e as CLIError {
        switch e {
        case .usage(let m):
            printError("fipsctl \(name): \(m)\nRun `fipsctl \(name) --help` for usage.")
            return ExitStatus.usage
        case .failed(let m):
            printError("fipsctl \(name): \(m)")
            return ExitStatus.failure
        }
    } catch let e as FIPSError {
        printError("fipsctl \(name): \(e)")
        return e.code == .selfTestFailed || e.code == .moduleInErrorState ? ExitStatus.selfTestFailed : ExitStatus.failure
    } catch {
        printError("fipsctl \(name): \(error)")
        return ExitStatus.failure
    }
}

let exitStatus = runMain()
AuditCommands.recordInvocation(arguments: CommandLine.arguments, status: exitStatus)
exit(exitStatus)
