import Foundation
import XCTest

/// Shared helpers for the test targets: paths, processes, hex, and the vector-file readers.
public enum TestSupport {
    /// The package root (the folder holding Package.swift).
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    /// `vectors/` in the package.
    public static var vectorsDirectory: URL { packageRoot.appendingPathComponent("vectors") }

    /// The folder holding the built products (`fipsctl`, the test bundle).
    public static var productsDirectory: URL {
        // swift test runs <build>/debug/<Package>PackageTests.xctest; the executables sit beside it.
        var url = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("fipsctl").path) { return url }
            url.deleteLastPathComponent()
        }
        return packageRoot.appendingPathComponent(".build/debug")
    }

    /// Path of the built `fipsctl`.
    public static var fipsctl: String { productsDirectory.appendingPathComponent("fipsctl").path }

    /// Whether the suite runs in development mode (`FIPSCRYPTO_MODE=development`).
    public static var isDevelopmentMode: Bool { ProcessInfo.processInfo.environment["FIPSCRYPTO_MODE"] == "development" }

    /// A fresh temporary directory (0700), removed by the caller or left for inspection under /tmp.
    public static func temporaryDirectory(_ prefix: String = "fipscrypto-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return url
    }

    /// The result of running a process.
    public struct ProcessResult: Sendable {
        /// Exit status (or 128 + signal).
        public var status: Int32
        /// Standard output.
        public var stdout: Data
        /// Standard error.
        public var stderr: Data
        /// Standard output as UTF-8.
        public var out: String { String(decoding: stdout, as: UTF8.self) }
        /// Standard error as UTF-8.
        public var err: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// Runs a program to completion with a timeout (default 120 s), feeding `input` to its standard input.
    public static func run(_ executable: String, _ arguments: [String], input: Data? = nil,
                           environment: [String: String] = [:], removingEnvironment: [String] = [],
                           currentDirectory: URL? = nil, timeout: TimeInterval = 120) throws -> ProcessResult {
        let p = Process()
        if executable.hasPrefix("/") {
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = arguments
        } else {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [executable] + arguments
        }
        var env = ProcessInfo.processInfo.environment
        for k in removingEnvironment { env.removeValue(forKey: k) }
        env.merge(environment) { _, new in new }
        p.environment = env
        if let currentDirectory { p.currentDirectoryURL = currentDirectory }
        let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
        p.standardOutput = outPipe
        p.standardError = errPipe
        p.standardInput = inPipe
        try p.run()
        let group = DispatchGroup()
        nonisolated(unsafe) var out = Data(), err = Data()
        group.enter(); DispatchQueue.global().async { out = outPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter(); DispatchQueue.global().async { err = errPipe.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        if let input { inPipe.fileHandleForWriting.write(input) }
        try? inPipe.fileHandleForWriting.close()
        if group.wait(timeout: .now() + timeout) == .timedOut {
            p.terminate()
            throw NSError(domain: "TestSupport", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(executable) timed out after \(timeout) s"])
        }
        p.waitUntilExit()
        let status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
        return ProcessResult(status: status, stdout: out, stderr: err)
    }

    /// Runs the built `fipsctl`.
    public static func fipsctl(_ arguments: [String], input: Data? = nil, environment: [String: String] = [:],
                               removingEnvironment: [String] = [], timeout: TimeInterval = 120) throws -> ProcessResult {
        try run(fipsctl, arguments, input: input, environment: environment, removingEnvironment: removingEnvironment, timeout: timeout)
    }

    /// A free port on 127.0.0.1 (bind to port 0, read it back, close): TCP by default, UDP with `udp: true`.
    public static func freePort(udp: Bool = false) throws -> UInt16 {
        let fd = socket(AF_INET, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw NSError(domain: "TestSupport", code: 2, userInfo: [NSLocalizedDescriptionKey: "no socket"]) }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw NSError(domain: "TestSupport", code: 3, userInfo: [NSLocalizedDescriptionKey: "cannot bind 127.0.0.1"]) }
        return UInt16(bigEndian: addr.sin_port)
    }

    /// Whether a program is on PATH.
    public static func hasProgram(_ name: String) -> Bool {
        (try? run("/bin/sh", ["-c", "command -v \(name)"]).status) == 0
    }

    /// Hex to bytes (test data only; traps on malformed hex).
    public static func bytes(hex: String) -> [UInt8] {
        let s = Array(hex.utf8)
        precondition(s.count % 2 == 0, "odd-length hex")
        func v(_ c: UInt8) -> UInt8 {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: preconditionFailure("bad hex")
            }
        }
        return stride(from: 0, to: s.count, by: 2).map { v(s[$0]) << 4 | v(s[$0 + 1]) }
    }

    /// Bytes to lowercase hex.
    public static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Reads a NIST CAVP `.rsp` / RFC-style `KEY = VALUE` file into records (one per blank-line-separated block),
    /// with the current `[SECTION = value]` headers merged into each record. A bare word line (e.g. `FAIL`) is
    /// recorded as key with value "".
    ///
    /// - Parameters:
    ///   - url: The file.
    ///   - recordStart: When given, a record starts at each line whose key is this (e.g. `COUNT` in the RFC 5869
    ///     file, whose records contain blank lines) and runs to the next such line or section header; blank lines
    ///     then do not end a record. When nil, blank lines separate records.
    /// - Returns: The records, in file order.
    public static func readKeyValueVectors(_ url: URL, recordStart: String? = nil) throws -> [[String: String]] {
        // Works on bytes (the files are ASCII; CAVP's use CRLF): several times faster than String lines in debug
        // builds, which matters for the 3 MB GCM files.
        let bytes = [UInt8](try Data(contentsOf: url))
        var records: [[String: String]] = []
        var headers: [String: String] = [:]
        var current: [String: String] = [:]
        func flush() { if !current.isEmpty { records.append(headers.merging(current) { _, n in n }); current = [:] } }
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0B || b == 0x0C }
        func trimmed(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
            var lo = s.startIndex, hi = s.endIndex
            while lo < hi, isSpace(s[lo]) { lo += 1 }
            while hi > lo, isSpace(s[hi - 1]) { hi -= 1 }
            return s[lo..<hi]
        }
        func string(_ s: ArraySlice<UInt8>) -> String { String(decoding: trimmed(s), as: UTF8.self) }
        var lineStart = 0
        while lineStart <= bytes.count {
            let lineEnd = bytes[lineStart...].firstIndex(of: 0x0A) ?? bytes.count
            let line = trimmed(bytes[lineStart..<lineEnd])
            lineStart = lineEnd + 1
            if line.isEmpty { if recordStart == nil { flush() }; continue }
            if line.first == UInt8(ascii: "#") { continue }
            if line.first == UInt8(ascii: "["), line.last == UInt8(ascii: "]") {
                flush()
                let inner = line.dropFirst().dropLast()
                if let eq = inner.firstIndex(of: UInt8(ascii: "=")) {
                    headers[string(inner[..<eq])] = string(inner[(eq + 1)...])
                } else {
                    headers[string(inner)] = ""
                }
                continue
            }
            if let eq = line.firstIndex(of: UInt8(ascii: "=")) {
                let key = string(line[..<eq])
                if key == recordStart { flush() }
                current[key] = string(line[(eq + 1)...])
            } else {
                current[string(line)] = ""
            }
        }
        flush()
        return records
    }

    /// A Wycheproof test file (the common top-level shape).
    public struct WycheproofFile<Group: Decodable & Sendable>: Decodable, Sendable {
        /// The algorithm name.
        public var algorithm: String
        /// The number of tests the file declares.
        public var numberOfTests: Int
        /// The test groups.
        public var testGroups: [Group]
    }

    /// The same bytes as a `DispatchData` of several regions (split at `cuts`, offsets into `bytes`), so a
    /// generic `DataProtocol` API sees non-contiguous input. Empty input gives an empty `DispatchData`.
    /// - Parameters:
    ///   - bytes: The bytes.
    ///   - cuts: Where regions end; out-of-range or repeated cuts are ignored. Default: thirds.
    /// - Returns: The bytes in (up to `cuts.count + 1`) regions.
    public static func nonContiguous(_ bytes: [UInt8], cuts: [Int]? = nil) -> DispatchData {
        let points = (cuts ?? [bytes.count / 3, 2 * bytes.count / 3]).filter { $0 > 0 && $0 < bytes.count }
        var data = DispatchData.empty
        var start = 0
        for end in Set(points).sorted() + [bytes.count] where end > start {
            bytes[start..<end].withUnsafeBytes { data.append($0) }
            start = end
        }
        return data
    }

    /// Decodes a Wycheproof JSON file from `vectors/`.
    public static func wycheproof<G: Decodable & Sendable>(_ relativePath: String, as: G.Type) throws -> WycheproofFile<G> {
        let data = try Data(contentsOf: vectorsDirectory.appendingPathComponent(relativePath))
        return try JSONDecoder().decode(WycheproofFile<G>.self, from: data)
    }
}
