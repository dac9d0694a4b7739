import Foundation
import FIPSCrypto

/// A parsed command line: positional words and `--option value` / `--flag` pairs, consumed as commands read them.
///
/// Every command reads what it needs with ``option(_:)``, ``flag(_:)`` and ``positional(_:)``, then calls
/// ``finish()``, which rejects anything left over (a typo must never be silently ignored).
struct Arguments {
    private(set) var words: [String]

    init(_ words: [String]) { self.words = words }

    /// Removes and returns the first positional word (not starting with `--`).
    mutating func positional(_ what: String) throws -> String {
        guard let i = words.firstIndex(where: { !$0.hasPrefix("--") }) else {
            throw CLIError.usage("missing \(what)")
        }
        // A positional word must not be the value of a preceding option; options are read before positionals.
        return words.remove(at: i)
    }

    /// Removes and returns the first positional word if there is one.
    mutating func optionalPositional() -> String? {
        guard let i = words.firstIndex(where: { !$0.hasPrefix("--") }) else { return nil }
        return words.remove(at: i)
    }

    /// Removes `--name VALUE` (or `--name=VALUE`) and returns VALUE; `nil` if absent.
    mutating func option(_ name: String) throws -> String? {
        try options(name).last
    }

    /// Removes every `--name VALUE` and returns the values in order (for repeatable options such as `--san`).
    mutating func options(_ name: String) throws -> [String] {
        var values: [String] = []
        var i = 0
        while i < words.count {
            if words[i] == "--\(name)" {
                guard i + 1 < words.count else { throw CLIError.usage("--\(name) needs a value") }
                values.append(words[i + 1])
                words.removeSubrange(i...(i + 1))
            } else if words[i].hasPrefix("--\(name)=") {
                values.append(String(words[i].dropFirst(name.count + 3)))
                words.remove(at: i)
            } else {
                i += 1
            }
        }
        return values
    }

    /// Removes `--name` and returns whether it was present.
    mutating func flag(_ name: String) -> Bool {
        let before = words.count
        words.removeAll { $0 == "--\(name)" }
        return words.count != before
    }

    /// An integer option within a range.
    mutating func intOption(_ name: String, range: ClosedRange<Int>) throws -> Int? {
        guard let v = try option(name) else { return nil }
        guard let n = Int(v), range.contains(n) else {
            throw CLIError.usage("--\(name) takes a whole number from \(range.lowerBound) to \(range.upperBound), got '\(v)'")
        }
        return n
    }

    /// Fails if anything was not consumed.
    func finish() throws {
        if let extra = words.first {
            throw CLIError.usage(extra.hasPrefix("--") ? "unknown option \(extra)" : "unexpected argument '\(extra)'")
        }
    }
}

/// Errors of the command line itself (as opposed to ``FIPSError`` from the library).
enum CLIError: Error, CustomStringConvertible {
    /// Bad usage: exit status 2 and a pointer to `--help`.
    case usage(String)
    /// A failed operation with a message for a person: exit status 1.
    case failed(String)

    var description: String {
        switch self {
        case .usage(let m): return m
        case .failed(let m): return m
        }
    }
}

/// Exit statuses, as documented in `fipsctl --help`.
enum ExitStatus {
    static let success: Int32 = 0
    static let failure: Int32 = 1
    static let usage: Int32 = 2
    static let selfTestFailed: Int32 = 3
}

/// A subcommand group: `fipsctl NAME ...`.
struct Command: Sendable {
    let name: String
    let summary: String
    let help: String
    let run: @Sendable (inout Arguments) throws -> Int32
}

/// Writes a line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Writes bytes to standard output unbuffered (for binary output such as decrypted data).
func writeStdout(_ data: Data) {
    FileHandle.standardOutput.write(data)
}

/// Reads all of standard input.
func readStdin() -> Data {
    FileHandle.standardInput.readDataToEndOfFile()
}

/// Encodes a value as pretty, sorted JSON.
func jsonString<T: Encodable>(_ value: T) throws -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try e.encode(value), as: UTF8.self)
}
