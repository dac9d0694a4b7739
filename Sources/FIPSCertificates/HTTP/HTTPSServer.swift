import Foundation
import FIPSCrypto
import Synchronization

/// A small HTTP/1.1 server over TLS (POSIX sockets, one thread per connection, bounded), with an optional plain-HTTP
/// port that only redirects to HTTPS.
///
/// Every response — 200, 404, 405, 400, 431, 500, redirects, HEAD, OPTIONS — carries the configured
/// ``SecurityHeaders`` (without HSTS over plain HTTP) and a `Content-Type` with a charset; no `Server` header is
/// ever sent. Each connection has a read timeout covering the handshake and every request head, heads are limited in
/// size (431), malformed input gets a 400 and the connection closes, and the server keeps serving. New connections
/// take the ``TLSContextHolder``'s current context, so a certificate swap never disturbs live connections. TLS
/// handshake failures raise ``SecurityEvent``s (category `tls`, action `tls-handshake-failed`), rate-limited.
///
/// ```swift
/// let holder = try TLSContextHolder(configuration: .makeServerConfiguration(
///     certificateChain: [.file("server.pem")], privateKey: .file("server.key")))
/// let server = HTTPSServer(configuration: .init(httpsHost: "127.0.0.1", httpsPort: 8443), contexts: holder)
/// try server.start()
/// ```
public final class HTTPSServer: Sendable {
    /// How the server listens and what it allows.
    public struct Configuration: Sendable {
        /// The literal address the HTTPS port binds to.
        public var httpsHost: String
        /// The HTTPS port (0: any free port, read back with ``HTTPSServer/httpsPort``).
        public var httpsPort: UInt16
        /// The literal address of the plain-HTTP redirect port, or `nil` for none.
        public var httpHost: String?
        /// The plain-HTTP port (0: any free port).
        public var httpPort: UInt16
        /// The headers every response carries.
        public var securityHeaders: SecurityHeaders
        /// Host names a redirect may point to when a client sends them in `Host` (besides `localhost` and the
        /// bound address). Any other `Host` is not echoed: the redirect goes to the first name, or the bound address.
        public var hostNames: [String]
        /// The most connections served at once. Further ones wait (accepted, not yet read from) until a slot frees;
        /// the client's own timeout bounds the wait.
        public var maxConnections: Int
        /// Seconds allowed for the TLS handshake and for each request head (and between requests on a kept-alive
        /// connection).
        public var readTimeout: Double
        /// The largest request head accepted; a larger one gets 431.
        public var maxHeaderBytes: Int
        /// Requests served on one connection before it closes.
        public var maxRequestsPerConnection: Int
        /// Handshake-failure events raised per minute; further ones are counted and reported with the next event.
        public var handshakeFailureEventsPerMinute: Int

        /// Creates a configuration.
        /// - Parameters:
        ///   - httpsHost: The literal address for HTTPS (default `127.0.0.1`).
        ///   - httpsPort: The HTTPS port (default 8443; 0 for any).
        ///   - httpHost: The literal address for the plain-HTTP redirect port, or `nil` (default) for none.
        ///   - httpPort: The plain-HTTP port (default 8080; 0 for any).
        ///   - securityHeaders: The headers (default ``SecurityHeaders/strictAPI``).
        ///   - hostNames: Names a redirect may use (default none).
        ///   - maxConnections: Concurrent connections (default 64).
        ///   - readTimeout: Seconds per handshake / request head (default 10).
        ///   - maxHeaderBytes: The head size limit (default 16 KiB).
        ///   - maxRequestsPerConnection: Requests per connection (default 100).
        ///   - handshakeFailureEventsPerMinute: Event rate limit (default 10).
        public init(httpsHost: String = "127.0.0.1", httpsPort: UInt16 = 8443, httpHost: String? = nil,
                    httpPort: UInt16 = 8080, securityHeaders: SecurityHeaders = .strictAPI, hostNames: [String] = [],
                    maxConnections: Int = 64, readTimeout: Double = 10, maxHeaderBytes: Int = 16_384,
                    maxRequestsPerConnection: Int = 100, handshakeFailureEventsPerMinute: Int = 10) {
            self.httpsHost = httpsHost; self.httpsPort = httpsPort; self.httpHost = httpHost; self.httpPort = httpPort
            self.securityHeaders = securityHeaders; self.hostNames = hostNames; self.maxConnections = maxConnections
            self.readTimeout = readTimeout; self.maxHeaderBytes = maxHeaderBytes
            self.maxRequestsPerConnection = maxRequestsPerConnection
            self.handshakeFailureEventsPerMinute = handshakeFailureEventsPerMinute
        }
    }

    /// Answers one request. A thrown error becomes a 500 (its text is not sent to the client).
    public typealias Handler = @Sendable (HTTPRequest) throws -> HTTPResponse

    /// The configuration.
    public let configuration: Configuration
    /// The contexts new connections use.
    public let contexts: TLSContextHolder
    private let handler: Handler
    private let listeners = Mutex<(https: Socket?, http: Socket?)>((nil, nil))
    private let active = Atomic<Int>(0)
    private let running = Atomic<Bool>(false)
    private let reporter: HandshakeFailureReporter

    /// Creates a server (it listens only after ``start()``).
    /// - Parameters:
    ///   - configuration: Addresses and limits.
    ///   - contexts: The holder of the current TLS server context.
    ///   - handler: The request handler; ``statusRoutes`` (`GET /status`, `GET /healthz`) by default.
    public init(configuration: Configuration, contexts: TLSContextHolder, handler: @escaping Handler = HTTPSServer.statusRoutes) {
        self.configuration = configuration
        self.contexts = contexts
        self.handler = handler
        self.reporter = HandshakeFailureReporter(perMinute: configuration.handshakeFailureEventsPerMinute)
    }

    /// Binds the ports and starts serving on background threads.
    /// - Throws: ``FIPSError`` if a port cannot be bound, the configuration is not a server one, or the server
    ///   already runs.
    public func start() throws {
        guard contexts.current.configuration.role == .server else {
            throw FIPSError(.invalidParameter, "HTTPSServer needs a server TLS context")
        }
        guard configuration.maxConnections > 0, configuration.readTimeout > 0, configuration.maxHeaderBytes >= 256,
              configuration.maxRequestsPerConnection > 0 else {
            throw FIPSError(.invalidParameter, "HTTPSServer limits must be positive (and maxHeaderBytes at least 256)")
        }
        guard running.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            throw FIPSError(.invalidParameter, "the server is already running")
        }
        do {
            let https = try Socket.listen(host: configuration.httpsHost, port: configuration.httpsPort)
            let http = try configuration.httpHost.map { try Socket.listen(host: $0, port: configuration.httpPort) }
            listeners.withLock { $0 = (https, http) }
            let tlsPort = https.localPort
            Thread.detachNewThread { [self] in acceptLoop(https) { self.serveTLS($0, peer: $1) } }
            if let http {
                Thread.detachNewThread { [self] in acceptLoop(http) { self.serveRedirect($0, peer: $1, httpsPort: tlsPort) } }
            }
        } catch {
            running.store(false, ordering: .releasing)
            listeners.withLock { $0.https?.close(); $0.http?.close(); $0 = (nil, nil) }
            throw error
        }
    }

    /// The bound HTTPS port (after ``start()``).
    public var httpsPort: UInt16 { listeners.withLock { $0.https?.localPort ?? 0 } }
    /// The bound plain-HTTP port, if any (after ``start()``).
    public var httpPort: UInt16? { listeners.withLock { $0.http?.localPort } }
    /// Connections being served now.
    public var activeConnections: Int { active.load(ordering: .relaxed) }

    /// Stops accepting, then waits up to `timeout` seconds for live connections to finish.
    /// - Parameter timeout: Seconds to wait for live connections.
    public func stop(timeout: Double = 5) {
        running.store(false, ordering: .releasing)
        // Only shut the listeners down here: that wakes the accept threads, which then drop (and so close) their
        // socket themselves; closing here could let `accept` run on a descriptor number already reused elsewhere.
        listeners.withLock { $0.https?.shutdown(); $0.http?.shutdown(); $0 = (nil, nil) }
        let deadline = Date().addingTimeInterval(timeout)
        while active.load(ordering: .acquiring) > 0 && Date() < deadline { usleep(10_000) }
    }

    private func acceptLoop(_ listener: Socket, _ serve: @escaping @Sendable (Socket, String) -> Void) {
        while running.load(ordering: .acquiring) {
            let accepted: (Socket, String)
            do { accepted = try listener.accept() } catch {
                if !running.load(ordering: .acquiring) { return }
                usleep(50_000) // e.g. EMFILE: back off, keep serving
                continue
            }
            let (socket, peer) = accepted
            // At capacity, wait for a slot rather than drop the connection: a client that just finished may still
            // hold its slot for a moment (the close handshake), and dropping would fail the next client for that.
            // While this loop waits it accepts nothing more, so further connections queue in the kernel's listen
            // backlog; each client's own timeout bounds its wait.
            guard takeSlot() else { socket.close(); return }
            socket.setTimeouts(configuration.readTimeout)
            Thread.detachNewThread { [self] in
                defer { active.wrappingSubtract(1, ordering: .acquiringAndReleasing) }
                serve(socket, peer)
            }
        }
    }

    /// Counts one more connection in ``activeConnections``, waiting while `maxConnections` are served; `false`
    /// once the server stops.
    private func takeSlot() -> Bool {
        while running.load(ordering: .acquiring) {
            let n = active.load(ordering: .acquiring)
            if n < configuration.maxConnections {
                if active.compareExchange(expected: n, desired: n + 1, ordering: .acquiringAndReleasing).exchanged { return true }
            } else {
                usleep(1_000)
            }
        }
        return false
    }

    // MARK: HTTPS

    private func serveTLS(_ socket: Socket, peer: String) {
        let connection: TLSConnection
        do {
            connection = try contexts.current.accept(socket, peer: peer)
        } catch {
            reporter.report(error, peer: peer)
            socket.close()
            return
        }
        defer { connection.close() }
        var buffer: [UInt8] = []
        for served in 1...configuration.maxRequestsPerConnection {
            guard let head = readHead(&buffer, read: { try connection.read(maxBytes: 16_384) }) else { return }
            let (response, request, keepOpen) = respond(head, headers: configuration.securityHeaders) { try self.route($0) }
            let close = !keepOpen || served == configuration.maxRequestsPerConnection || !running.load(ordering: .relaxed)
            let bytes = HTTPWire.serialize(response, headOnly: request?.method == "HEAD", close: close)
            do { try connection.write(bytes) } catch { return }
            if close { return }
        }
    }

    private func route(_ request: HTTPRequest) throws -> HTTPResponse { try handler(request) }

    // MARK: plain HTTP: 308 to HTTPS only

    private func serveRedirect(_ socket: Socket, peer: String, httpsPort: UInt16) {
        defer { socket.close() }
        var buffer: [UInt8] = []
        guard let head = readHead(&buffer, read: {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = try chunk.withUnsafeMutableBytes { try socket.receive(into: $0) }
            return Data(chunk.prefix(n))
        }) else { return }
        let plainHeaders = configuration.securityHeaders.removingStrictTransportSecurity()
        let (response, request, _) = respond(head, headers: plainHeaders) { request in
            let host = self.redirectHost(request.header("Host"))
            let hostPart = host.contains(":") ? "[\(host)]" : host
            let path = request.path == "*" ? "/" : request.path
            let location = "https://\(hostPart):\(httpsPort)\(path)\(request.query.map { "?\($0)" } ?? "")"
            return .text(308, "Redirecting to \(location)", headers: [HTTPField("Location", location)])
        }
        let bytes = HTTPWire.serialize(response, headOnly: request?.method == "HEAD", close: true)
        try? bytes.withUnsafeBytes { try socket.send($0) }
    }

    /// The host a redirect points to: the client's `Host` if it names this server, else the configured name.
    func redirectHost(_ hostHeader: String?) -> String {
        let bound = configuration.httpsHost
        let fallback = configuration.hostNames.first ?? ((bound == "0.0.0.0" || bound == "::") ? "localhost" : bound)
        guard var h = hostHeader?.trimmingCharacters(in: .whitespaces).lowercased(), !h.isEmpty else { return fallback }
        if h.hasPrefix("[") {
            guard let end = h.firstIndex(of: "]") else { return fallback }
            h = String(h[h.index(after: h.startIndex)..<end])
        } else if let colon = h.lastIndex(of: ":"), h.filter({ $0 == ":" }).count == 1 {
            h = String(h[..<colon])
        }
        let allowed = Set((configuration.hostNames + ["localhost", "127.0.0.1", "::1", bound]).map { $0.lowercased() })
        return allowed.contains(h) ? h : fallback
    }

    // MARK: shared

    /// Reads until a complete head is buffered; returns it, `.tooLarge` past the size limit (answered 431), or `nil`
    /// to close silently (end of stream, timeout, error).
    /// The whole head must arrive within ``Configuration/readTimeout`` (a client trickling bytes is cut off too).
    private func readHead(_ buffer: inout [UInt8], read: () throws -> Data) -> HeadResult? {
        let deadline = Date().addingTimeInterval(configuration.readTimeout)
        while true {
            if let end = HTTPWire.headEnd(buffer) {
                guard end <= configuration.maxHeaderBytes else { return .tooLarge }
                let head = buffer[..<end]
                let result = HeadResult.head(HTTPWire.parseHead(head))
                buffer.removeFirst(end)
                return result
            }
            if buffer.count > configuration.maxHeaderBytes { return .tooLarge }
            guard Date() < deadline, let chunk = try? read(), !chunk.isEmpty else { return nil }
            buffer.append(contentsOf: chunk)
        }
    }

    enum HeadResult { case head(HTTPRequest?), tooLarge }

    /// Builds the response for a head: 431, 400, the route's answer, or 500; adds the security headers.
    /// Returns whether the connection may stay open.
    private func respond(_ head: HeadResult, headers security: SecurityHeaders,
                         _ route: (HTTPRequest) throws -> HTTPResponse) -> (HTTPResponse, HTTPRequest?, Bool) {
        var response: HTTPResponse
        var request: HTTPRequest? = nil
        var keepOpen = false
        switch head {
        case .tooLarge:
            response = .text(431, "Request header fields too large")
        case .head(nil):
            response = .text(400, "Bad request")
        case .head(let r?):
            request = r
            // Bodies are never read: a request announcing one gets its answer and the connection closes.
            let hasBody = r.header("Transfer-Encoding") != nil || (r.header("Content-Length").map { $0 != "0" } ?? false)
            keepOpen = r.version == "HTTP/1.1" && r.header("Connection")?.lowercased() != "close" && !hasBody
            if r.version == "HTTP/1.1" && r.header("Host") == nil {
                response = .text(400, "Bad request: missing Host")
                keepOpen = false
            } else {
                do { response = try route(r) } catch { response = .text(500, "Internal server error"); keepOpen = false }
            }
        }
        response.headers.removeAll { ["server", "x-powered-by", "content-length", "connection", "date"].contains($0.name.lowercased()) }
        let names = Set(response.headers.map { $0.name.lowercased() })
        if !names.contains("content-type") {
            response.headers.append(HTTPField("Content-Type", "text/plain; charset=utf-8"))
        }
        for f in security.fields where !names.contains(f.name.lowercased()) {
            response.headers.append(HTTPField(f.name, f.value))
        }
        return (response, request, keepOpen)
    }

    /// The default routes: `GET`/`HEAD /status` (the module's status as JSON), `GET`/`HEAD /healthz`
    /// (200 `ok` when the module is operational, else 503), `OPTIONS` on both (204 with `Allow`), 405 for other
    /// methods there, 404 elsewhere.
    /// - Parameter request: The request.
    /// - Returns: The response.
    /// - Throws: If the status cannot be encoded (the server answers 500).
    @Sendable public static func statusRoutes(_ request: HTTPRequest) throws -> HTTPResponse {
        let allow = HTTPField("Allow", "GET, HEAD, OPTIONS")
        guard request.path == "/status" || request.path == "/healthz" else { return .text(404, "Not found") }
        switch request.method {
        case "GET", "HEAD":
            if request.path == "/healthz" {
                return FIPSModule.isOperational ? .text(200, "ok") : .text(503, "the cryptographic module is not operational")
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            var body = try encoder.encode(FIPSModule.status)
            body.append(10)
            return HTTPResponse(status: 200, headers: [HTTPField("Content-Type", "application/json; charset=utf-8")], body: body)
        case "OPTIONS":
            return HTTPResponse(status: 204, headers: [allow])
        default:
            return .text(405, "Method not allowed", headers: [allow])
        }
    }
}

/// Raises `tls-handshake-failed` events, at most `perMinute` per window; the rest are counted and the count is
/// reported (`tls.suppressed`) with the next event raised.
final class HandshakeFailureReporter: Sendable {
    private let perMinute: Int
    private let window: Double
    private let state = Mutex<(start: Date, raised: Int, suppressed: Int)>((Date(), 0, 0))

    init(perMinute: Int, window: Double = 60) {
        self.perMinute = max(1, perMinute); self.window = window
    }

    /// How many events were suppressed in the current window and not yet reported.
    var pendingSuppressed: Int { state.withLock { $0.suppressed } }

    func report(_ error: any Error, peer: String, now: Date = Date()) {
        let event: SecurityEvent? = state.withLock { s in
            if now.timeIntervalSince(s.start) >= window { s.start = now; s.raised = 0 }
            guard s.raised < perMinute else { s.suppressed += 1; return nil }
            s.raised += 1
            var metadata = ["source.ip": peer]
            if s.suppressed > 0 { metadata["tls.suppressed"] = String(s.suppressed); s.suppressed = 0 }
            let reason = (error as? FIPSError)?.reason ?? "\(error)"
            return SecurityEvent(category: .tls, action: "tls-handshake-failed", outcome: .failure, reason: reason, metadata: metadata)
        }
        if let event { SecurityEvents.emit(event) }
    }
}
