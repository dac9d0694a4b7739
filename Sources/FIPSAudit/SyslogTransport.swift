import Foundation
import FIPSCrypto

/// Where audit records are shipped: `tcp://HOST:PORT` (RFC 6587 octet counting), `tls://HOST:PORT` (RFC 5425) or
/// `udp://HOST:PORT` (RFC 5426).
public struct SyslogDestination: Sendable, Hashable, CustomStringConvertible {
    /// The transport.
    public struct Transport: Hashable, Sendable, CustomStringConvertible {
        /// The URL scheme.
        public let scheme: String
        /// TCP with octet-counted frames (RFC 6587 §3.4.1).
        public static let tcp = Transport(scheme: "tcp")
        /// TLS with octet-counted frames (RFC 5425).
        public static let tls = Transport(scheme: "tls")
        /// One message per UDP datagram (RFC 5426); no delivery guarantee.
        public static let udp = Transport(scheme: "udp")
        /// The scheme.
        public var description: String { scheme }
    }

    /// The transport.
    public var transport: Transport
    /// The collector's host name or IP address.
    public var host: String
    /// The collector's port.
    public var port: UInt16

    /// Creates a destination.
    /// - Parameters:
    ///   - transport: The transport.
    ///   - host: The host.
    ///   - port: The port.
    public init(transport: Transport, host: String, port: UInt16) {
        self.transport = transport; self.host = host; self.port = port
    }

    /// Parses `tcp://HOST:PORT`, `tls://HOST:PORT` or `udp://HOST:PORT` (IPv6 hosts in brackets).
    /// - Parameter url: The URL.
    /// - Throws: ``FIPSError/Code/invalidParameter`` for anything else.
    public init(url: String) throws {
        let bad = FIPSError(.invalidParameter, "syslog destination must be tcp://HOST:PORT, tls://HOST:PORT or udp://HOST:PORT, got '\(url)'")
        guard let sep = url.range(of: "://") else { throw bad }
        let scheme = String(url[..<sep.lowerBound]).lowercased()
        guard ["tcp", "tls", "udp"].contains(scheme) else { throw bad }
        let rest = url[sep.upperBound...]
        guard let colon = rest.lastIndex(of: ":"), let port = UInt16(rest[rest.index(after: colon)...]), port > 0 else { throw bad }
        var host = String(rest[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains("/") else { throw bad }
        self.init(transport: Transport(scheme: scheme), host: host, port: port)
    }

    /// `scheme://host:port`.
    public var description: String { "\(transport.scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)" }
}

/// An open connection to a collector that takes whole syslog messages.
public protocol SyslogConnection: AnyObject {
    /// Sends framed bytes (already octet-counted for stream transports).
    /// - Parameter bytes: The bytes.
    /// - Throws: ``FIPSError/Code/auditShippingFailure`` if the connection broke.
    func send(_ bytes: UnsafeRawBufferPointer) throws
    /// Whether the peer has closed the connection (checked without blocking).
    var peerClosed: Bool { get }
    /// Closes the connection.
    func close()
}

/// Opens connections to a collector; the TLS transport plugs in here.
public protocol SyslogConnector: Sendable {
    /// Whether messages are octet-counted (stream transports) or one per datagram.
    var isStream: Bool { get }
    /// Connects.
    /// - Parameter timeout: The bound on connecting, in seconds.
    /// - Returns: The connection.
    /// - Throws: ``FIPSError/Code/auditShippingFailure`` if the collector cannot be reached.
    func connect(timeout: TimeInterval) throws -> any SyslogConnection
}

/// Plain TCP or UDP to a collector, over POSIX sockets.
public struct SocketSyslogConnector: SyslogConnector {
    /// The destination (`tcp` or `udp`).
    public let destination: SyslogDestination
    /// The bound on one send, in seconds.
    public let sendTimeout: TimeInterval

    /// Creates a connector.
    /// - Parameters:
    ///   - destination: A `tcp://` or `udp://` destination.
    ///   - sendTimeout: The bound on one blocking send.
    /// - Throws: ``FIPSError/Code/invalidParameter`` for a `tls://` destination (use the TLS connector).
    public init(destination: SyslogDestination, sendTimeout: TimeInterval = 5) throws {
        guard destination.transport == .tcp || destination.transport == .udp else {
            throw FIPSError(.invalidParameter, "SocketSyslogConnector serves tcp:// and udp:// only; use TLSSyslogConnector for tls://")
        }
        self.destination = destination; self.sendTimeout = sendTimeout
    }

    /// Stream for TCP, datagrams for UDP.
    public var isStream: Bool { destination.transport == .tcp }

    /// Connects (a UDP socket is connected so errors from the peer surface).
    /// - Parameter timeout: The bound on connecting.
    /// - Returns: The connection.
    /// - Throws: ``FIPSError/Code/auditShippingFailure``.
    public func connect(timeout: TimeInterval) throws -> any SyslogConnection {
        try SocketConnection.open(destination, timeout: timeout, sendTimeout: sendTimeout)
    }
}

/// One socket; closed on `close()` or deinit.
final class SocketConnection: SyslogConnection {
    private var fd: Int32
    private let stream: Bool

    private init(fd: Int32, stream: Bool) { self.fd = fd; self.stream = stream }
    deinit { close() }

    static func open(_ d: SyslogDestination, timeout: TimeInterval, sendTimeout: TimeInterval) throws -> SocketConnection {
        let stream = d.transport != .udp
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(stream ? SOCK_STREAM.rawValue : SOCK_DGRAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(d.host, String(d.port), &hints, &res)
        guard rc == 0, let first = res else {
            throw FIPSError(.auditShippingFailure, "cannot resolve \(d.host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(res) }
        var lastError = "no address"
        var ai: UnsafeMutablePointer<addrinfo>? = first
        while let a = ai {
            ai = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, a.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), a.pointee.ai_protocol)
            guard fd >= 0 else { lastError = String(cString: strerror(errno)); continue }
            let conn = SocketConnection(fd: fd, stream: stream)
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var r = Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen)
            if r != 0 && errno == EINPROGRESS {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ms = Int32(max(1, min(timeout, 600) * 1000))
                if poll(&p, 1, ms) == 1 {
                    var err: Int32 = 0
                    var len = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
                    r = err == 0 ? 0 : -1
                    errno = err
                } else { errno = ETIMEDOUT; r = -1 }
            }
            guard r == 0 else { lastError = String(cString: strerror(errno)); conn.close(); continue }
            _ = fcntl(fd, F_SETFL, flags)
            var tv = timeval(tv_sec: Int(sendTimeout), tv_usec: Int((sendTimeout - floor(sendTimeout)) * 1e6))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            if stream {
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            return conn
        }
        throw FIPSError(.auditShippingFailure, "cannot connect to \(d): \(lastError)")
    }

    func send(_ bytes: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else { throw FIPSError(.auditShippingFailure, "connection closed") }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                throw FIPSError(.auditShippingFailure, "send failed: \(String(cString: strerror(errno)))")
            }
            offset += n
            if !stream { break }
        }
    }

    var peerClosed: Bool {
        guard fd >= 0 else { return true }
        guard stream else { return false }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 0) == 1 else { return false }
        if p.revents & Int16(POLLERR | POLLHUP) != 0 { return true }
        var b: UInt8 = 0
        let n = recv(fd, &b, 1, Int32(MSG_DONTWAIT | MSG_PEEK))
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    func close() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }
}

/// RFC 5424 formatting of an audit record.
public enum SyslogFormat {
    /// The facility: 13, "log audit".
    public static let logAuditFacility = 13
    /// The structured-data ID that carries the sequence number (`32473` is the documentation enterprise number).
    public static let sdID = "fipsaudit@32473"

    /// `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [fipsaudit@32473 seq="N"] JSON`.
    /// - Parameters:
    ///   - record: The record.
    ///   - hostName: HOSTNAME (printable ASCII, ≤ 255).
    ///   - appName: APP-NAME (≤ 48).
    ///   - processID: PROCID.
    ///   - facility: The facility (default log audit).
    /// - Returns: The message bytes (no framing).
    public static func message(_ record: AuditShippedRecord, hostName: String, appName: String, processID: Int32,
                               facility: Int = logAuditFacility) -> [UInt8] {
        let severity: Int
        switch record.level {
        case "emergency": severity = 0
        case "alert": severity = 1
        case "critical": severity = 2
        case "error": severity = 3
        case "warning": severity = 4
        case "notice": severity = 5
        case "debug": severity = 7
        default: severity = 6
        }
        let header = "<\(facility * 8 + severity)>1 \(RFC3339.string(record.timestamp)) \(field(hostName, 255)) \(field(appName, 48)) \(processID) \(field(record.category, 32)) [\(sdID) seq=\"\(record.sequence)\"] "
        return Array(header.utf8) + record.line
    }

    /// `LEN SP MSG` (RFC 6587 octet counting).
    /// - Parameter message: The message.
    /// - Returns: The frame.
    public static func octetCounted(_ message: [UInt8]) -> [UInt8] {
        Array("\(message.count) ".utf8) + message
    }

    static func field(_ s: String, _ max: Int) -> String {
        let printable = String(String.UnicodeScalarView(s.unicodeScalars.filter { $0.value >= 33 && $0.value <= 126 }).prefix(max))
        return printable.isEmpty ? "-" : printable
    }
}

/// One record handed to a shipper.
public struct AuditShippedRecord: Sendable, Hashable {
    /// Its sequence number.
    public var sequence: UInt64
    /// Its time.
    public var timestamp: Date
    /// Its swift-log level name (`info`, `notice`, `warning`).
    public var level: String
    /// Its category (the syslog MSGID).
    public var category: String
    /// The JSON line as written to the file (no newline).
    public var line: [UInt8]

    /// Creates a record.
    /// - Parameters:
    ///   - sequence: The sequence number.
    ///   - timestamp: The time.
    ///   - level: The level.
    ///   - category: The category.
    ///   - line: The JSON line.
    public init(sequence: UInt64, timestamp: Date, level: String, category: String, line: [UInt8]) {
        self.sequence = sequence; self.timestamp = timestamp; self.level = level; self.category = category; self.line = line
    }

    /// A record read back from a file line (for `fipsctl audit ship`).
    /// - Parameter line: The JSON line.
    /// - Returns: The record, or `nil` if the line is not a record.
    public static func fromLine<S: Sequence>(_ line: S) -> AuditShippedRecord? where S.Element == UInt8 {
        let bytes = Array(line)
        guard let p = ParsedLine(bytes[...]), let seq = p.sequence else { return nil }
        let ts = p.string(Field.timestamp).flatMap { ISO8601DateFormatter.withFractional.date(from: $0) } ?? Date()
        return AuditShippedRecord(sequence: seq, timestamp: ts, level: p.string("log.level") ?? "info",
                                  category: p.string("event.category") ?? "audit", line: bytes)
    }
}
