import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The package's one implementation of file handling for secrets (keystore, certificate store, audit keys and
/// state, TLS key files, fipsctl outputs): private directories, permission checks done on the open descriptor,
/// exclusive creation, atomic replacement and `flock`.
///
/// The rules, as ssh applies them: a secret file is a regular file (never a symbolic link: opened `O_NOFOLLOW`),
/// owned by the effective user, with no group/other permission bits; a private directory is a real directory
/// owned by the effective user that group and others cannot write (and, by default, cannot read or search
/// either). A refusal is ``FIPSError/Code/insecurePermissions`` and says which `chmod`/`chown` fixes it.
///
/// I/O failures carry the caller's error code (`code`, ``FIPSError/Code/ioFailure`` unless the caller's
/// domain has its own, such as the audit log's storage failure).
package enum SecureFiles {
    /// Whether anything (a link included) exists at `path` (`lstat`).
    package static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// An I/O error: "`what` `path`: strerror(`err`)".
    package static func posixError(_ what: String, _ path: String, code: FIPSError.Code = .ioFailure,
                                   _ err: Int32 = errno) -> FIPSError {
        FIPSError(code, "\(what) \(path): \(String(cString: strerror(err)))")
    }

    // MARK: - Directories

    /// Creates a private directory (mode 0700) if it is absent, then checks it (``checkPrivateDirectory(_:forbidden:code:)``).
    /// - Parameters:
    ///   - path: The directory.
    ///   - createParents: Create missing parents too (0700, not checked: they may be system directories).
    ///   - tightenExisting: Set an existing directory (a real directory owned by this user) to 0700 first.
    ///   - forbidden: The permission bits refused (default: any group/other bit).
    ///   - code: The error code of I/O failures.
    ///   - notADirectory: The error code for a path that is not a real directory (default: `code`).
    /// - Throws: ``FIPSError/Code/insecurePermissions`` or `code`.
    package static func ensurePrivateDirectory(_ path: String, createParents: Bool = false, tightenExisting: Bool = false,
                                               forbidden: mode_t = 0o077, code: FIPSError.Code = .ioFailure,
                                               notADirectory: FIPSError.Code? = nil) throws {
        if !exists(path) {
            if createParents { try createParentDirectories(of: path, code: code) }
            if mkdir(path, 0o700) != 0 && errno != EEXIST { throw posixError("cannot create directory", path, code: code) }
            // mkdir applies the umask; a new directory is exactly 0700.
            guard chmod(path, 0o700) == 0 else { throw posixError("cannot set the mode of", path, code: code) }
        } else if tightenExisting {
            // Type and owner first (lstat): chmod through a link would change the mode of its target.
            try checkPrivateDirectory(path, forbidden: 0, code: code, notADirectory: notADirectory)
            guard chmod(path, 0o700) == 0 else { throw posixError("cannot set the mode of", path, code: code) }
        }
        try checkPrivateDirectory(path, forbidden: forbidden, code: code, notADirectory: notADirectory)
    }

    private static func createParentDirectories(of path: String, code: FIPSError.Code) throws {
        let parent = (path as NSString).deletingLastPathComponent
        guard !parent.isEmpty, parent != path, !exists(parent) else { return }
        try createParentDirectories(of: parent, code: code)
        if mkdir(parent, 0o700) != 0 && errno != EEXIST { throw posixError("cannot create directory", parent, code: code) }
    }

    /// Refuses a directory that is not a real directory (a symbolic link or a file: `code`), not owned by this
    /// user, or has any of the `forbidden` permission bits (``FIPSError/Code/insecurePermissions``).
    /// - Parameters:
    ///   - path: The directory.
    ///   - forbidden: The permission bits refused (default: any group/other bit).
    ///   - code: The error code of I/O failures.
    ///   - notADirectory: The error code for a path that is not a real directory (default: `code`).
    /// - Throws: ``FIPSError/Code/insecurePermissions`` or `code`.
    package static func checkPrivateDirectory(_ path: String, forbidden: mode_t = 0o077, code: FIPSError.Code = .ioFailure,
                                              notADirectory: FIPSError.Code? = nil) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw posixError("cannot read", path, code: code) }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw FIPSError(notADirectory ?? code, "\(path) is not a directory (a symbolic link or a file is not accepted); use a real directory")
        }
        try checkOwner(st, path)
        let mode = st.st_mode & 0o777
        guard mode & forbidden == 0 else {
            throw FIPSError(.insecurePermissions,
                            "permissions \(String(mode, radix: 8)) for the directory \(path) are too open: it holds secrets and must not be accessible by group or others; fix it with: chmod 700 \(path)")
        }
    }

    // MARK: - Secret files

    /// The secret-file rule on a `stat` (taken with `fstat` on an `O_NOFOLLOW` descriptor, or `lstat`): a regular
    /// file, owned by this user, no group/other permission bits.
    /// - Parameters:
    ///   - st: The file's status.
    ///   - path: The file (for the message).
    /// - Throws: ``FIPSError/Code/insecurePermissions``.
    package static func checkSecret(_ st: stat, _ path: String) throws {
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw FIPSError(.insecurePermissions, "\(path) is not a regular file (a symbolic link?); a secret must be stored as a plain file")
        }
        try checkOwner(st, path)
        let mode = st.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw FIPSError(.insecurePermissions,
                            "permissions \(String(mode, radix: 8)) for \(path) are too open: it holds secrets and must not be accessible by group or others; fix it with: chmod 600 \(path)")
        }
    }

    /// Checks an existing secret file without reading it (`lstat`: a link is refused).
    /// - Parameters:
    ///   - path: The file.
    ///   - code: The error code if it cannot be read.
    /// - Throws: ``FIPSError/Code/insecurePermissions`` or `code`.
    package static func checkSecretFile(_ path: String, code: FIPSError.Code = .ioFailure) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw posixError("cannot read", path, code: code) }
        try checkSecret(st, path)
    }

    private static func checkOwner(_ st: stat, _ path: String) throws {
        guard st.st_uid == geteuid() else {
            throw FIPSError(.insecurePermissions,
                            "\(path) is owned by uid \(st.st_uid), not by this user (uid \(geteuid())); fix it with: chown \(geteuid()) \(path)")
        }
    }

    /// Reads a secret file: opened `O_NOFOLLOW`, checked (``checkSecret(_:_:)``) on the open descriptor, so there is
    /// no window between the check and the read. The caller wipes the result (`secureZero(&data)`) when done.
    /// - Parameters:
    ///   - path: The file.
    ///   - maximumSize: Larger files are refused (``FIPSError/Code/invalidEncoding``).
    ///   - code: The error code of I/O failures (missing or unreadable).
    /// - Returns: The bytes.
    /// - Throws: ``FIPSError/Code/insecurePermissions``, ``FIPSError/Code/invalidEncoding`` or `code`.
    package static func readSecretFile(_ path: String, maximumSize: Int = 1 << 30, code: FIPSError.Code = .ioFailure) throws -> Data {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ELOOP { throw FIPSError(.insecurePermissions, "\(path) is a symbolic link; a secret must be stored as a plain file") }
            throw posixError("cannot open", path, code: code)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw posixError("cannot stat", path, code: code) }
        try checkSecret(st, path)
        guard st.st_size <= maximumSize else { throw FIPSError(.invalidEncoding, "\(path) is implausibly large for what it should hold") }
        var data = Data(count: Int(st.st_size))
        var off = 0
        do {
            try data.withUnsafeMutableBytes { buf in
                while off < buf.count {
                    let n = read(fd, buf.baseAddress! + off, buf.count - off)
                    if n < 0 { if errno == EINTR { continue }; throw posixError("cannot read", path, code: code) }
                    if n == 0 { break }
                    off += n
                }
            }
        } catch { secureZero(&data); throw error }
        if off < data.count { data.withUnsafeMutableBytes { secureZero(UnsafeMutableRawBufferPointer(rebasing: $0[off...])) }; data.count = off }
        return data
    }

    /// Reads a public file (a certificate, metadata).
    /// - Parameters:
    ///   - path: The file.
    ///   - code: The error code if it cannot be read.
    /// - Returns: The bytes.
    /// - Throws: `code`.
    package static func readFile(_ path: String, code: FIPSError.Code = .ioFailure) throws -> Data {
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw FIPSError(code, "cannot read \(path): \(error.localizedDescription)")
        }
    }

    // MARK: - Writing

    /// Creates `path`, which must not exist (`O_CREAT|O_EXCL|O_NOFOLLOW`: nothing is written through a link), with
    /// exactly `mode` from the first byte (set with `fchmod`, whatever the umask), writes `bytes` and fsyncs. On any
    /// failure the new file is removed.
    /// - Parameters:
    ///   - path: The file.
    ///   - mode: Its mode (0600 for secrets).
    ///   - bytes: The contents.
    ///   - code: The error code of I/O failures (an existing file is one).
    /// - Throws: `code`.
    package static func createNewFile(_ path: String, mode: mode_t = 0o600, bytes: UnsafeRawBufferPointer,
                                      code: FIPSError.Code = .ioFailure) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw posixError("cannot create", path, code: code) }
        var ok = false
        defer { close(fd); if !ok { unlink(path) } }
        guard fchmod(fd, mode) == 0 else { throw posixError("cannot set the mode of", path, code: code) }
        var off = 0
        while off < bytes.count {
            let n = write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 { if errno == EINTR { continue }; throw posixError("cannot write", path, code: code) }
            off += n
        }
        guard fsync(fd) == 0 else { throw posixError("cannot fsync", path, code: code) }
        ok = true
    }

    /// Creates `path` exclusively (see ``createNewFile(_:mode:bytes:code:)``) from `Data` or `[UInt8]`.
    package static func createNewFile<B: ContiguousBytes>(_ path: String, mode: mode_t = 0o600, contents: B,
                                                          code: FIPSError.Code = .ioFailure) throws {
        try contents.withUnsafeBytes { try createNewFile(path, mode: mode, bytes: $0, code: code) }
    }

    /// Replaces `path` atomically: a temporary file in the same directory (`<name>.tmp-<random>`, created
    /// exclusively with `mode`, see ``createNewFile(_:mode:bytes:code:)``), fsync, `rename` over `path`, fsync of the
    /// directory. The temporary file is removed on every failure path; a reader sees the old or the new file.
    /// - Parameters:
    ///   - path: The file.
    ///   - mode: Its mode (0600 for secrets, 0644 for public files).
    ///   - bytes: The contents.
    ///   - code: The error code of I/O failures.
    ///   - beforeRename: Runs after the temporary file is written and fsynced, before the rename (a test hook).
    /// - Throws: `code`.
    package static func atomicReplace(_ path: String, mode: mode_t = 0o600, bytes: UnsafeRawBufferPointer,
                                      code: FIPSError.Code = .ioFailure, beforeRename: () -> Void = {}) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let tmp = "\(path).tmp-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
        try createNewFile(tmp, mode: mode, bytes: bytes, code: code)
        beforeRename()
        guard rename(tmp, path) == 0 else {
            let e = posixError("cannot rename into", path, code: code); unlink(tmp); throw e
        }
        let dfd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw posixError("cannot open", directory, code: code) }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw posixError("cannot fsync", directory, code: code) }
    }

    /// Replaces `path` atomically (see ``atomicReplace(_:mode:bytes:code:beforeRename:)``) with `Data` or `[UInt8]`.
    package static func atomicReplace<B: ContiguousBytes>(_ path: String, mode: mode_t = 0o600, contents: B,
                                                          code: FIPSError.Code = .ioFailure) throws {
        try contents.withUnsafeBytes { try atomicReplace(path, mode: mode, bytes: $0, code: code) }
    }

    // MARK: - Locking

    /// Runs `body` holding an exclusive `flock` on `path` (created 0600 if absent; `O_NOFOLLOW`: a link planted
    /// there never makes us create or lock a file elsewhere). Processes and threads are serialized.
    /// - Parameters:
    ///   - path: The lock file.
    ///   - code: The error code of I/O failures.
    ///   - body: The work to do under the lock.
    /// - Returns: What `body` returns.
    /// - Throws: `code`, or what `body` throws.
    package static func withExclusiveLock<R>(_ path: String, code: FIPSError.Code = .ioFailure, _ body: () throws -> R) throws -> R {
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw posixError("cannot open the lock file", path, code: code) }
        defer { close(fd) }   // closing releases the lock
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw posixError("cannot lock", path, code: code) }
        }
        defer { _ = flock(fd, LOCK_UN) }
        return try body()
    }
}
