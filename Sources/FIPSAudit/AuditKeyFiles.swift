import Foundation
import FIPSCrypto

/// Key files for hosts without a keyring: 32 raw bytes, 0600, in a 0700 directory kept apart from the log files.
///
/// `root.key` is the chain's epoch-0 key: it starts a chain and verifies it. Copy it off the host after the first
/// record and delete it there to get forward security (the writer then continues from the sealed epoch key).
/// `state.key` seals the current epoch key in the state file.
public enum AuditKeyFiles {
    /// Reads a 256-bit key file (must be 0600 or stricter and hold exactly 32 bytes).
    /// - Parameter url: The file.
    /// - Returns: The key.
    /// - Throws: ``FIPSError/Code/insecurePermissions`` if group or others can read it; ``FIPSError/Code/invalidKeySize``
    ///   for a wrong length; ``FIPSError/Code/auditStorageFailure`` if unreadable.
    public static func read(_ url: URL) throws -> SymmetricKey {
        var st = stat()
        guard stat(url.path, &st) == 0 else { throw FIPSError(.auditStorageFailure, "cannot read key file \(url.path): \(String(cString: strerror(errno)))") }
        guard st.st_mode & 0o077 == 0 else {
            throw FIPSError(.insecurePermissions, "key file \(url.path) is accessible by group or others (want 0600)")
        }
        guard var data = FileManager.default.contents(atPath: url.path) else {
            throw FIPSError(.auditStorageFailure, "cannot read key file \(url.path)")
        }
        defer { data.withUnsafeMutableBytes { wipe($0) } }
        guard data.count == 32 else { throw FIPSError(.invalidKeySize, "key file \(url.path) must hold exactly 32 bytes, it holds \(data.count)") }
        return SymmetricKey(data: data)
    }

    /// Creates a new random 256-bit key file (0600; refuses to overwrite).
    /// - Parameter url: The file.
    /// - Returns: The key.
    /// - Throws: ``FIPSError/Code/auditStorageFailure`` if the file exists or cannot be written; DRBG failures.
    public static func create(_ url: URL) throws -> SymmetricKey {
        try AuditFiles.ensureDirectory(url.deletingLastPathComponent())
        let key = try SymmetricKey.generate(size: .bits256)
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FIPSError(.auditStorageFailure, "cannot create key file \(url.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard key.withUnsafeBytes({ AuditFiles.writeAll(fd, $0) }), fsync(fd) == 0 else {
            unlink(url.path)
            throw FIPSError(.auditStorageFailure, "cannot write key file \(url.path)")
        }
        return key
    }

    /// Reads the key file, or creates it if it does not exist.
    /// - Parameter url: The file.
    /// - Returns: The key.
    /// - Throws: As ``read(_:)`` and ``create(_:)``.
    public static func readOrCreate(_ url: URL) throws -> SymmetricKey {
        FileManager.default.fileExists(atPath: url.path) ? try read(url) : try create(url)
    }
}

extension AuditLog {
    /// The last sequence number the writer of the log in `directory` recorded in its state (to detect a tail cut
    /// at a record boundary), or `nil` if there is no state.
    /// - Parameters:
    ///   - directory: The audit directory.
    ///   - baseName: The log's base name.
    /// - Returns: The sequence number.
    public static func recordedLastSequence(directory: URL, baseName: String = "audit") -> UInt64? {
        (try? AuditState.load(directory.appendingPathComponent(baseName + ".state")))??.lastSequence
    }

    /// The files of the log in `directory`, oldest first.
    /// - Parameters:
    ///   - directory: The audit directory.
    ///   - baseName: The log's base name.
    /// - Returns: Rotated files then the active file.
    public static func files(directory: URL, baseName: String = "audit") -> [URL] {
        AuditFiles.allFiles(in: directory, baseName: baseName)
    }
}
