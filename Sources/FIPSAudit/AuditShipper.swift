import Foundation
import FIPSCrypto
import Synchronization

/// How an ``AuditShipper`` queues, spools and sends.
public struct AuditShipperConfiguration: Sendable {
    /// The collector.
    public var destination: SyslogDestination
    /// HOSTNAME in each syslog message.
    public var hostName: String
    /// APP-NAME in each syslog message.
    public var appName: String
    /// Records held in memory before further ones go to the disk spool.
    public var memoryCapacity: Int
    /// Where the spool file lives (0700 directory, file 0600); `nil`: no spool, records beyond memory are dropped.
    public var spoolDirectory: URL?
    /// The spool's size limit; records beyond it are dropped (and counted).
    public var maxSpoolBytes: Int
    /// The bound on connecting, in seconds.
    public var connectTimeout: TimeInterval
    /// Recently sent bytes kept to resend after a reconnect: TCP cannot say what the collector really received,
    /// so the tail that may have been in socket buffers when it went away is sent again (at-least-once).
    public var replayWindowBytes: Int
    /// The longest pause between reconnection attempts, in seconds.
    public var maxReconnectDelay: TimeInterval

    /// Creates a configuration.
    /// - Parameters:
    ///   - destination: The collector.
    ///   - hostName: HOSTNAME.
    ///   - appName: APP-NAME.
    ///   - memoryCapacity: In-memory queue bound (records).
    ///   - spoolDirectory: The spool's directory, or `nil`.
    ///   - maxSpoolBytes: The spool's limit.
    ///   - connectTimeout: The connect bound.
    ///   - replayWindowBytes: Bytes resent after a reconnect.
    ///   - maxReconnectDelay: The longest back-off.
    public init(destination: SyslogDestination, hostName: String = ProcessInfo.processInfo.hostName, appName: String = "fipsaudit",
                memoryCapacity: Int = 10_000, spoolDirectory: URL? = nil, maxSpoolBytes: Int = 256 << 20,
                connectTimeout: TimeInterval = 2, replayWindowBytes: Int = 16 << 20, maxReconnectDelay: TimeInterval = 2) {
        self.destination = destination; self.hostName = hostName; self.appName = appName
        self.memoryCapacity = memoryCapacity; self.spoolDirectory = spoolDirectory; self.maxSpoolBytes = maxSpoolBytes
        self.connectTimeout = connectTimeout; self.replayWindowBytes = replayWindowBytes; self.maxReconnectDelay = maxReconnectDelay
    }
}

/// What a shipper has done so far.
public struct AuditShipperCounters: Sendable, Hashable, Codable {
    /// Records written to the collector's connection (first sends, not replays).
    public var sent: UInt64 = 0
    /// Records that went to the disk spool because memory was full or the collector was down.
    public var spooled: UInt64 = 0
    /// Records dropped because memory and spool were full (or no spool was configured).
    public var dropped: UInt64 = 0
    /// Records sent again after a reconnect (duplicates the collector may drop by sequence number).
    public var replayed: UInt64 = 0
    /// Successful connections.
    public var connections: UInt64 = 0
    /// Failed connection attempts and broken connections.
    public var failures: UInt64 = 0
}

/// Ships audit records to a syslog collector (RFC 5424 messages; TCP/TLS with octet counting, or UDP) from a
/// background thread, with a bounded memory queue, a disk spool while the collector is away, in-order replay,
/// and at-least-once delivery: every message carries `[fipsaudit@32473 seq="N"]` so duplicates can be dropped.
///
/// ``enqueue(_:)`` never waits for the network: it appends to memory, or to the spool file when memory is full.
/// Call ``stop()`` when done: the sending thread keeps the shipper alive until then.
public final class AuditShipper: Sendable {
    /// The configuration.
    public let configuration: AuditShipperConfiguration
    private let connector: any SyslogConnector
    private let state: Mutex<ShipperState>
    private let wake = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let pid = ProcessInfo.processInfo.processIdentifier

    /// Creates a shipper and starts its sending thread.
    /// - Parameters:
    ///   - configuration: The configuration.
    ///   - connector: How to connect; `nil` picks plain TCP/UDP from the destination (TLS needs an explicit one).
    /// - Throws: ``FIPSError/Code/invalidParameter`` for a TLS destination without a connector or bad bounds;
    ///   ``FIPSError/Code/auditStorageFailure`` if the spool cannot be opened.
    public init(configuration: AuditShipperConfiguration, connector: (any SyslogConnector)? = nil) throws {
        guard configuration.memoryCapacity > 0, configuration.connectTimeout > 0 else {
            throw FIPSError(.invalidParameter, "audit shipper: memoryCapacity and connectTimeout must be positive")
        }
        self.configuration = configuration
        self.connector = try connector ?? SocketSyslogConnector(destination: configuration.destination)
        var s = ShipperState()
        if let dir = configuration.spoolDirectory {
            try AuditFiles.ensureDirectory(dir)
            let url = dir.appendingPathComponent("spool-\(configuration.destination.transport.scheme)-\(configuration.destination.port).frames")
            let fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw FIPSError(.auditStorageFailure, "cannot open spool \(url.path): \(String(cString: strerror(errno)))") }
            s.spoolFD = fd
            s.spoolSize = Int(lseek(fd, 0, SEEK_END))
        }
        state = Mutex(s)
        let t = Thread { [self] in self.run() }
        t.name = "fipsaudit-shipper"
        t.start()
    }

    /// Queues a record (never blocks on the network).
    /// - Parameter record: The record.
    public func enqueue(_ record: AuditShippedRecord) {
        let message = SyslogFormat.message(record, hostName: configuration.hostName, appName: configuration.appName, processID: pid)
        let wasIdle = state.withLock { s -> Bool in
            guard !s.stopping else { s.counters.dropped += 1; return false }
            if s.spoolSize == 0 && s.memory.count < configuration.memoryCapacity {
                s.memory.append(message)
                return s.memory.count == 1
            }
            let frame = SyslogFormat.octetCounted(message)
            guard s.spoolFD >= 0, s.spoolSize + frame.count <= configuration.maxSpoolBytes else {
                s.counters.dropped += 1; return false
            }
            let ok = frame.withUnsafeBytes { b in pwrite(s.spoolFD, b.baseAddress!, b.count, off_t(s.spoolSize)) == b.count }
            if ok { s.spoolSize += frame.count; s.counters.spooled += 1 } else { s.counters.dropped += 1 }
            return false
        }
        if wasIdle { wake.signal() }
    }

    /// The counters.
    public var counters: AuditShipperCounters { state.withLock { $0.counters } }

    /// Records waiting (memory + spool, not yet sent).
    public var pending: Int { state.withLock { $0.memory.count + ($0.spoolSize > $0.spoolOffset ? 1 : 0) } }

    /// Waits until everything queued has been sent (or the timeout passes).
    /// - Parameter timeout: Seconds to wait at most.
    /// - Returns: `true` if nothing is pending.
    @discardableResult
    public func flush(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let idle = state.withLock { $0.memory.isEmpty && $0.spoolSize == 0 && !$0.inFlight }
            if idle { return true }
            wake.signal()
            usleep(2_000)
        }
        return false
    }

    /// Stops the sending thread (after at most one connect or send bound); what is still queued stays in the spool
    /// (if any) for the next shipper with the same spool directory.
    public func stop() {
        let first = state.withLock { s -> Bool in
            if s.stopping { return false }
            s.stopping = true
            return true
        }
        guard first else { return }
        wake.signal()
        done.wait()
        state.withLock { s in
            // Persist what is still in memory, in order, behind the spool.
            if s.spoolFD >= 0 {
                // The unsent spool part stays; memory records go after it.
                if s.spoolOffset > 0 {
                    let rest = s.spoolSize - s.spoolOffset
                    var buf = [UInt8](repeating: 0, count: rest)
                    _ = buf.withUnsafeMutableBytes { pread(s.spoolFD, $0.baseAddress!, rest, off_t(s.spoolOffset)) }
                    _ = buf.withUnsafeBytes { pwrite(s.spoolFD, $0.baseAddress!, rest, 0) }
                    ftruncate(s.spoolFD, off_t(rest)); s.spoolSize = rest; s.spoolOffset = 0
                }
                for m in s.memory {
                    let f = SyslogFormat.octetCounted(m)
                    _ = f.withUnsafeBytes { pwrite(s.spoolFD, $0.baseAddress!, $0.count, off_t(s.spoolSize)) }
                    s.spoolSize += f.count
                }
                s.memory.removeAll()
                fsync(s.spoolFD)
                close(s.spoolFD); s.spoolFD = -1
            }
        }
    }

    deinit { stop() }

    // MARK: The sending thread

    private func run() {
        var connection: (any SyslogConnection)? = nil
        var delay = 0.05
        var replay = ReplayRing(limit: configuration.replayWindowBytes)
        var needReplay = false
        while true {
            if state.withLock({ $0.stopping }) { break }
            if connection == nil || connection!.peerClosed {
                if connection != nil { connection!.close(); connection = nil; needReplay = true; state.withLock { $0.counters.failures += 1 } }
                do {
                    connection = try connector.connect(timeout: configuration.connectTimeout)
                    state.withLock { $0.counters.connections += 1 }
                    delay = 0.05
                } catch {
                    state.withLock { $0.counters.failures += 1 }
                    _ = wake.wait(timeout: .now() + delay)
                    delay = min(delay * 2, configuration.maxReconnectDelay)
                    continue
                }
            }
            if needReplay && !replay.isEmpty {
                do {
                    let n = try replay.resend(over: connection!, stream: connector.isStream)
                    state.withLock { $0.counters.replayed += UInt64(n) }
                    needReplay = false
                } catch {
                    connection!.close(); connection = nil
                    state.withLock { $0.counters.failures += 1 }
                    continue
                }
            }
            needReplay = false
            guard let batch = takeBatch() else {
                _ = wake.wait(timeout: .now() + 0.2)
                continue
            }
            do {
                try send(batch.messages, over: connection!)
                commit(batch)
                for m in batch.messages { replay.append(m) }
            } catch {
                putBack(batch)
                connection!.close(); connection = nil; needReplay = true
                state.withLock { $0.counters.failures += 1 }
            }
        }
        connection?.close()
        done.signal()
    }

    private struct Batch { var messages: [[UInt8]]; var fromSpool: Bool; var spoolEnd: Int }

    /// Takes up to ~256 KiB: memory first (oldest), then the spool (records that arrived while memory was full).
    private func takeBatch() -> Batch? {
        state.withLock { s -> Batch? in
            if !s.memory.isEmpty {
                var out: [[UInt8]] = []
                var bytes = 0
                while let m = s.memory.first, bytes < 256 << 10 {
                    out.append(m); bytes += m.count; s.memory.removeFirst()
                }
                s.inFlight = true
                return Batch(messages: out, fromSpool: false, spoolEnd: 0)
            }
            guard s.spoolFD >= 0, s.spoolOffset < s.spoolSize else { return nil }
            let length = min(s.spoolSize - s.spoolOffset, 256 << 10)
            var buf = [UInt8](repeating: 0, count: length)
            let n = buf.withUnsafeMutableBytes { pread(s.spoolFD, $0.baseAddress!, length, off_t(s.spoolOffset)) }
            guard n == length else { return nil }
            var out: [[UInt8]] = []
            var i = 0
            while i < length {
                guard let sp = buf[i...].firstIndex(of: 0x20), let len = Int(String(decoding: buf[i..<sp], as: UTF8.self)),
                      sp + 1 + len <= length else { break }
                out.append(Array(buf[(sp + 1)..<(sp + 1 + len)]))
                i = sp + 1 + len
            }
            if out.isEmpty {
                // A frame longer than the read window or a corrupt spool: skip it rather than stall forever.
                if length < 256 << 10 || i == 0 { s.spoolOffset = s.spoolSize; s.counters.dropped += 1; return nil }
            }
            s.inFlight = true
            return Batch(messages: out, fromSpool: true, spoolEnd: s.spoolOffset + i)
        }
    }

    private func send(_ messages: [[UInt8]], over connection: any SyslogConnection) throws {
        if connector.isStream {
            var buf: [UInt8] = []
            buf.reserveCapacity(messages.reduce(0) { $0 + $1.count + 8 })
            for m in messages { buf.append(contentsOf: Array("\(m.count) ".utf8)); buf.append(contentsOf: m) }
            try buf.withUnsafeBytes { try connection.send($0) }
        } else {
            for m in messages { try m.withUnsafeBytes { try connection.send($0) } }
        }
    }

    private func commit(_ b: Batch) {
        state.withLock { s in
            s.inFlight = false
            s.counters.sent += UInt64(b.messages.count)
            if b.fromSpool {
                s.spoolOffset = b.spoolEnd
                if s.spoolOffset >= s.spoolSize { ftruncate(s.spoolFD, 0); s.spoolSize = 0; s.spoolOffset = 0 }
            }
        }
    }

    private func putBack(_ b: Batch) {
        state.withLock { s in
            s.inFlight = false
            if !b.fromSpool { s.memory.insert(contentsOf: b.messages, at: 0) }
        }
    }
}

struct ShipperState: ~Copyable {
    var memory: [[UInt8]] = []
    var spoolFD: Int32 = -1
    var spoolSize = 0
    var spoolOffset = 0
    var inFlight = false
    var stopping = false
    var counters = AuditShipperCounters()
}

/// The most recently sent messages, bounded in bytes, for resending after a reconnect.
struct ReplayRing {
    let limit: Int
    var messages: [[UInt8]] = []
    var head = 0
    var bytes = 0

    init(limit: Int) { self.limit = limit }
    var isEmpty: Bool { head >= messages.count }

    mutating func append(_ m: [UInt8]) {
        guard limit > 0 else { return }
        messages.append(m); bytes += m.count
        while bytes > limit, head < messages.count { bytes -= messages[head].count; head += 1 }
        if head > 4096 && head * 2 > messages.count { messages.removeFirst(head); head = 0 }
    }

    func resend(over c: any SyslogConnection, stream: Bool) throws -> Int {
        var buf: [UInt8] = []
        var count = 0
        for m in messages[head...] {
            if stream { buf.append(contentsOf: Array("\(m.count) ".utf8)); buf.append(contentsOf: m) }
            else { try m.withUnsafeBytes { try c.send($0) } }
            count += 1
            if buf.count > 256 << 10 { try buf.withUnsafeBytes { try c.send($0) }; buf.removeAll(keepingCapacity: true) }
        }
        if !buf.isEmpty { try buf.withUnsafeBytes { try c.send($0) } }
        return count
    }
}
