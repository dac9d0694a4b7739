import Foundation

/// Writes one JSON object with keys in the order they are added: the canonical bytes a record's MAC covers.
///
/// The audit writer keeps one and ``reset()``s it for every record, so encoding a record reuses one buffer and
/// builds no intermediate strings.
struct JSONLineWriter {
    private(set) var bytes: [UInt8] = []
    private var first = true

    init() {
        bytes.reserveCapacity(1024)
        reset()
    }

    /// Starts a new object (`{`), keeping the buffer's capacity unless one outsized record grew it past 64 KiB.
    mutating func reset() {
        bytes.removeAll(keepingCapacity: bytes.capacity <= 1 << 16)
        bytes.append(UInt8(ascii: "{"))
        first = true
    }

    private mutating func key(_ k: String) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        JSONLineWriter.appendString(k, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func string(_ k: String, _ v: String?) {
        guard let v else { return }
        key(k); JSONLineWriter.appendString(v, to: &bytes)
    }

    mutating func number(_ k: String, _ v: UInt64) {
        key(k); JSONLineWriter.appendDecimal(v, to: &bytes)
    }

    mutating func number(_ k: String, _ v: Int) {
        key(k)
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        JSONLineWriter.appendDecimal(UInt64(v.magnitude), to: &bytes)
    }

    /// An RFC 3339 UTC time with milliseconds, as a string.
    mutating func timestamp(_ k: String, _ date: Date) {
        key(k)
        bytes.append(UInt8(ascii: "\""))
        RFC3339.append(date, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// A nested object of strings with sorted keys (ECS `labels`); values whose key `isSecret` are written as
    /// ``AuditRedaction/placeholder``.
    mutating func object(_ k: String, _ v: [String: String], redacting isSecret: (String) -> Bool) {
        guard !v.isEmpty else { return }
        key(k)
        bytes.append(UInt8(ascii: "{"))
        func member(_ name: String, _ value: String) {
            JSONLineWriter.appendString(name, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            JSONLineWriter.appendString(isSecret(name) ? AuditRedaction.placeholder : value, to: &bytes)
        }
        if v.count == 1, let only = v.first {
            member(only.key, only.value)
        } else {
            for (i, name) in v.keys.sorted().enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                member(name, v[name]!)
            }
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// Closes the object (`}`): the bytes are now the record's body, what its MAC covers.
    mutating func close() { bytes.append(UInt8(ascii: "}")) }

    /// Turns a closed body into its line: the closing `}` becomes `,"event.hash":"<64 hex>"}`.
    mutating func appendHash(_ mac: [UInt8]) {
        bytes.removeLast()
        bytes.append(contentsOf: ParsedLine.hashSuffixPrefix)
        Hex.append(mac, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: "}"))
    }

    /// Ends the line for the file (`\n`, not covered by the MAC or the chain).
    mutating func newline() { bytes.append(0x0A) }

    static func appendDecimal(_ v: UInt64, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var i = digits.count
            var x = v
            repeat {
                i -= 1
                digits[i] = UInt8(truncatingIfNeeded: 48 + x % 10)
                x /= 10
            } while x > 0
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i...]))
        }
    }

    static func appendString(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { buf in
            out.append(UInt8(ascii: "\""))
            var clean = true
            for b in buf where b < 0x20 || b == 0x22 || b == 0x5C || b == 0x7F { clean = false; break }
            if clean {
                out.append(contentsOf: buf)
            } else {
                for b in buf { appendEscaped(b, to: &out) }
            }
            out.append(UInt8(ascii: "\""))
        }
    }

    private static func appendEscaped(_ b: UInt8, to out: inout [UInt8]) {
        switch b {
        case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
        case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
        case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
        case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
        case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
        case 0x00..<0x20, 0x7F:
            out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, Hex.digits[Int(b >> 4)], Hex.digits[Int(b & 0xF)]])
        default: out.append(b)
        }
    }
}

/// RFC 3339 UTC timestamps with milliseconds: `2026-12-04T15:49:16.123Z`.
enum RFC3339 {
    static func string(_ date: Date) -> String {
        var out = [UInt8]()
        out.reserveCapacity(24)
        append(date, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the 24 bytes of `date`'s RFC 3339 form.
    static func append(_ date: Date, to out: inout [UInt8]) {
        let t = date.timeIntervalSince1970
        let whole = floor(t)
        var seconds = time_t(whole)
        let millis = min(Int((t - whole) * 1000), 999)
        var tmv = tm()
        gmtime_r(&seconds, &tmv)
        func put(_ v: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 { out.append(UInt8(truncatingIfNeeded: 48 + (v / divisor) % 10)); divisor /= 10 }
        }
        put(Int(tmv.tm_year) + 1900, 4); out.append(45); put(Int(tmv.tm_mon) + 1, 2); out.append(45); put(Int(tmv.tm_mday), 2)
        out.append(84); put(Int(tmv.tm_hour), 2); out.append(58); put(Int(tmv.tm_min), 2); out.append(58); put(Int(tmv.tm_sec), 2)
        out.append(46); put(millis, 3); out.append(90)
    }

    /// The UTC day number (days since 1970-01-01).
    static func day(_ date: Date) -> Int { Int(floor(date.timeIntervalSince1970 / 86_400)) }

    /// A compact UTC stamp for file names: `20261204T154916123Z`.
    static func compact(_ date: Date) -> String {
        string(date).replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
            .replacingOccurrences(of: ".", with: "")
    }
}

/// Hex encoding and decoding for MACs and digests (never used on key bytes in output).
enum Hex {
    static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        append(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the lowercase hex of `bytes`.
    static func append<S: Sequence>(_ bytes: S, to out: inout [UInt8]) where S.Element == UInt8 {
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
    }

    static func decode(_ s: String) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let h = v(u[i]), let l = v(u[i + 1]) else { return nil }
            out.append(h << 4 | l); i += 2
        }
        return out
    }
}

/// The record kinds in the chain (`fipsaudit.type`).
enum RecordType {
    /// An audit event.
    static let event = "event"
    /// The first record of every file: links to the previous file's last MAC and chain hash.
    static let fileStart = "file-start"
    /// A signed checkpoint over the public hash chain.
    static let checkpoint = "checkpoint"
}

/// Field names used in records (ECS where ECS has one, `fipsaudit.*` otherwise).
enum Field {
    static let timestamp = "@timestamp"
    static let hash = "event.hash"
    static let sequence = "event.sequence"
    static let type = "fipsaudit.type"
    static let epoch = "fipsaudit.epoch"
    static let previousMAC = "fipsaudit.previous.mac"
    static let previousChain = "fipsaudit.previous.chain"
    static let previousSequence = "fipsaudit.previous.sequence"
    static let previousFile = "fipsaudit.previous.file"
    static let checkpointChain = "fipsaudit.checkpoint.chain"
    static let checkpointSequence = "fipsaudit.checkpoint.sequence"
    static let checkpointMAC = "fipsaudit.checkpoint.mac"
    static let checkpointKey = "fipsaudit.checkpoint.key"
    static let checkpointSignature = "fipsaudit.checkpoint.signature"
    static let checkpointAlgorithm = "fipsaudit.checkpoint.algorithm"
}

/// A record line split into the bytes its MAC covers and the MAC it carries.
///
/// A line is `BODY` with its closing `}` replaced by `,"event.hash":"<64 hex>"}`; the MAC covers
/// `previous MAC (32 bytes) || BODY`.
struct ParsedLine {
    static let hashSuffixPrefix = Array(",\"event.hash\":\"".utf8)
    /// The JSON object without `event.hash` (what the MAC covers).
    let body: [UInt8]
    /// The MAC the line carries.
    let mac: [UInt8]
    /// The decoded fields.
    let fields: [String: Any]

    /// Parses a line (without its newline); `nil` if it is not a well-formed record.
    init?(_ line: ArraySlice<UInt8>) {
        let suffixLength = ParsedLine.hashSuffixPrefix.count + 64 + 2
        guard line.count > suffixLength + 1, line.last == UInt8(ascii: "}") else { return nil }
        let cut = line.endIndex - suffixLength
        guard Array(line[cut..<(cut + ParsedLine.hashSuffixPrefix.count)]) == ParsedLine.hashSuffixPrefix,
              line[line.endIndex - 2] == UInt8(ascii: "\""),
              let mac = Hex.decode(String(decoding: line[(cut + ParsedLine.hashSuffixPrefix.count)..<(line.endIndex - 2)], as: UTF8.self))
        else { return nil }
        var body = Array(line[line.startIndex..<cut])
        body.append(UInt8(ascii: "}"))
        guard let obj = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { return nil }
        self.body = body; self.mac = mac; self.fields = obj
    }

    var sequence: UInt64? { (fields[Field.sequence] as? NSNumber)?.uint64Value }
    var epoch: UInt64? { (fields[Field.epoch] as? NSNumber)?.uint64Value }
    var type: String? { fields[Field.type] as? String }
    func string(_ k: String) -> String? { fields[k] as? String }
    func number(_ k: String) -> UInt64? { (fields[k] as? NSNumber)?.uint64Value }
}
