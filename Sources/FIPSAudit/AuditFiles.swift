import Foundation
import FIPSCrypto

/// File-system helpers for the audit directory: permissions, atomic writes, listing and reading (gzip too).
enum AuditFiles {
    /// Creates the audit directory (0700) or checks it: a real directory, yours, no group/other access
    /// (``FIPSError/Code/insecurePermissions``); I/O failures are ``FIPSError/Code/auditStorageFailure``.
    static func ensureDirectory(_ url: URL) throws {
        try SecureFiles.ensurePrivateDirectory(url.path, code: .auditStorageFailure)
    }

    /// Writes `data` to `url` atomically (temp file 0600 created exclusively, fsync, rename, fsync the directory).
    static func atomicWrite(_ data: Data, to url: URL) throws {
        try SecureFiles.atomicReplace(url.path, mode: 0o600, contents: data, code: .auditStorageFailure)
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
