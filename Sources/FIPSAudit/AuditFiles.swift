import Foundation
import FIPSCrypto

/// File-system helpers for the audit directory: permissions, atomic writes, listing and reading (gzip too).
enum AuditFiles {
    static func ensureDirectory(_ url: URL) throws {
        var st = stat()
        if stat(url.path, &st) != 0 {
            guard mkdir(url.path, 0o700) == 0 || errno == EEXIST else {
                throw FIPSError(.auditStorageFailure, "cannot create audit directory \(url.path): \(String(cString: strerror(errno)))")
            }
            guard stat(url.path, &st) == 0 else { throw FIPSError(.auditStorageFailure, "cannot stat \(url.path)") }
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw FIPSError(.auditStorageFailure, "\(url.path) is not a directory") }
        guard st.st_mode & 0o077 == 0 else {
            throw FIPSError(.insecurePermissions, "audit directory \(url.path) is accessible by group or others (mode \(String(st.st_mode & 0o777, radix: 8)), want 0700)")
        }
    }

    /// Writes `data` to `url` atomically (temp file 0600, fsync, rename, fsync the directory).
    static func atomicWrite(_ data: Data, to url: URL) throws {
        let tmp = url.path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FIPSError(.auditStorageFailure, "cannot write \(tmp): \(String(cString: strerror(errno)))") }
        let ok = data.withUnsafeBytes { writeAll(fd, $0) } && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp, url.path) == 0 else {
            unlink(tmp)
            throw FIPSError(.auditStorageFailure, "cannot write \(url.path): \(String(cString: strerror(errno)))")
        }
        syncDirectory(url.deletingLastPathComponent())
    }

    static func syncDirectory(_ url: URL) {
        let d = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if d >= 0 { fsync(d); close(d) }
    }

    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 { if errno == EINTR { continue }; return false }
            offset += n
        }
        return true
    }

    /// A file's bytes; `.gz` files are decompressed with the system's `gzip -dc`.
    static func read(_ url: URL) throws -> [UInt8] {
        if url.pathExtension == "gz" {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["gzip", "-dc", url.path]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw FIPSError(.auditStorageFailure, "gzip -dc \(url.path) failed") }
            return Array(data)
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw FIPSError(.auditStorageFailure, "cannot read \(url.path)")
        }
        return Array(data)
    }

    /// Compresses a file in place with `gzip` (the result is `<file>.gz`, 0600); returns the new URL.
    static func gzip(_ url: URL) -> URL? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-n", "-q", url.path]
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        let gz = URL(fileURLWithPath: url.path + ".gz")
        chmod(gz.path, 0o600)
        return gz
    }

    /// Splits bytes into lines; the last element is `nil`-terminated: `complete` is false if the data did not end
    /// with a newline (a truncated tail).
    static func lines(_ bytes: [UInt8]) -> (lines: [ArraySlice<UInt8>], complete: Bool) {
        var out: [ArraySlice<UInt8>] = []
        var start = 0
        for i in 0..<bytes.count where bytes[i] == 0x0A {
            out.append(bytes[start..<i]); start = i + 1
        }
        if start < bytes.count { out.append(bytes[start..<bytes.count]); return (out, false) }
        return (out, true)
    }

    /// The rotated files of a log, oldest first (names sort by UTC stamp).
    static func rotatedFiles(in directory: URL, baseName: String) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix(baseName + "-") && ($0.hasSuffix(".log") || $0.hasSuffix(".log.gz")) }
            .sorted().map { directory.appendingPathComponent($0) }
    }

    /// Every file of a log in order: rotated files, then the active file.
    /// - Returns: The URLs.
    static func allFiles(in directory: URL, baseName: String) -> [URL] {
        var files = rotatedFiles(in: directory, baseName: baseName)
        let active = directory.appendingPathComponent(baseName + ".log")
        if FileManager.default.fileExists(atPath: active.path) { files.append(active) }
        return files
    }

    static func fileSize(_ url: URL) -> Int {
        var st = stat()
        return stat(url.path, &st) == 0 ? Int(st.st_size) : 0
    }
}
