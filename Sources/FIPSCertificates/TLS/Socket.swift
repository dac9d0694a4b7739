import Foundation
import FIPSCrypto
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A blocking TCP socket (POSIX), closed exactly once.
final class Socket: @unchecked Sendable {
    let fd: Int32
    private let closed = Atomic<Bool>(false)

    init(fd: Int32) { self.fd = fd }
    deinit { close() }

    /// Closes the descriptor (idempotent). `shutdown` first, so a thread blocked in `accept`/`recv` wakes up.
    func close() {
        if closed.exchange(true, ordering: .acquiringAndReleasing) == false {
            _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
            _ = Glibc.close(fd)
        }
    }

    /// Closes after the peer has seen everything we sent: half-close our side, then read (and discard) until the
    /// peer closes or `timeout` passes. Closing with unread bytes in the receive buffer (a TLS 1.3 server's session
    /// tickets, say) makes the kernel send RST, and a peer that gets RST may discard data it has not read yet.
    func closeGracefully(timeout: TimeInterval = 2) {
        guard !closed.load(ordering: .acquiring) else { return }
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
        let deadline = Date().addingTimeInterval(timeout)
        var scratch = [UInt8](repeating: 0, count: 4096)
        while true {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { break }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(min(remaining, 1) * 1000))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }   // 0: the peer closed; < 0: nothing more to wait for
        }
        close()
    }

    /// Wakes a thread blocked on this socket without releasing the descriptor.
    func shutdown() { if !closed.load(ordering: .acquiring) { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) } }

    /// Whether `text` is a literal IPv4 or IPv6 address.
    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// A listening socket on a literal address (`127.0.0.1`, `::1`, `0.0.0.0`) and port (0 picks a free port).
    static func listen(host: String, port: UInt16, backlog: Int32 = 64) throws -> Socket {
        var storage = sockaddr_storage()
        let length: socklen_t
        let family: Int32
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, bare, &v4) == 1 {
            family = AF_INET
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutableBytes(of: &storage) { raw in
                let sin = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                sin.pointee.sin_family = sa_family_t(AF_INET)
                sin.pointee.sin_port = port.bigEndian
                sin.pointee.sin_addr = v4
            }
        } else if inet_pton(AF_INET6, bare, &v6) == 1 {
            family = AF_INET6
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { raw in
                let sin6 = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
                sin6.pointee.sin6_family = sa_family_t(AF_INET6)
                sin6.pointee.sin6_port = port.bigEndian
                sin6.pointee.sin6_addr = v6
            }
        } else {
            throw FIPSError(.invalidParameter, "'\(host)' is not a literal IP address to listen on")
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw posixError("socket") }
        let s = Socket(fd: fd)
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard rc == 0 else { throw posixError("bind \(host):\(port)") }
        guard Glibc.listen(fd, backlog) == 0 else { throw posixError("listen \(host):\(port)") }
        return s
    }

    /// The local port the socket is bound to.
    var localPort: UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { return 0 }
        return withUnsafeBytes(of: &storage) { raw in
            // sin_port and sin6_port sit at the same offset.
            UInt16(bigEndian: raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self).pointee.sin_port)
        }
    }

    /// Accepts one connection; returns it with the peer's address as text.
    func accept() throws -> (Socket, String) {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        while true {
            let client = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(fd, $0, &length) }
            }
            if client >= 0 {
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                return (Socket(fd: client), Self.addressText(&storage)) }
            if errno == EINTR || errno == ECONNABORTED { continue }
            throw posixError("accept")
        }
    }

    private static func addressText(_ storage: inout sockaddr_storage) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = Int32(storage.ss_family)
        return withUnsafeBytes(of: &storage) { raw -> String in
            if family == AF_INET {
                var a = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self).pointee.sin_addr
                inet_ntop(AF_INET, &a, &buffer, socklen_t(buffer.count))
            } else if family == AF_INET6 {
                var a = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self).pointee.sin6_addr
                inet_ntop(AF_INET6, &a, &buffer, socklen_t(buffer.count))
            }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// Sets receive and send timeouts (a blocked read or write then fails instead of hanging).
    func setTimeouts(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Connects to `host:port` (a name or a literal address) within `timeout` seconds.
    static func connect(host: String, port: UInt16, timeout: Double) throws -> Socket {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let gai = getaddrinfo(bare, String(port), &hints, &list)
        guard gai == 0, let first = list else {
            throw FIPSError(.connectionFailed, "cannot resolve \(bare): \(String(cString: gai_strerror(gai)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = FIPSError(.connectionFailed, "no address for \(bare)")
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        let deadline = Date().addingTimeInterval(timeout)
        while let ai = cursor {
            cursor = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), ai.pointee.ai_protocol)
            if fd < 0 { lastError = posixError("socket"); continue }
            let s = Socket(fd: fd)
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var rc = Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen)
            if rc != 0 && errno == EINPROGRESS {
                var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ms = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
                let ready = poll(&pfd, 1, ms)
                if ready == 0 { lastError = FIPSError(.timedOut, "connecting to \(bare):\(port) timed out after \(timeout) s"); continue }
                var soError: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len)
                if ready > 0 && soError == 0 { rc = 0 } else { errno = soError; lastError = posixError("connect \(bare):\(port)"); continue }
            } else if rc != 0 {
                lastError = posixError("connect \(bare):\(port)"); continue
            }
            _ = fcntl(fd, F_SETFL, flags)
            s.setTimeouts(timeout)
            return s
        }
        throw lastError
    }

    /// Receives up to `buffer.count` plain bytes; 0 at end of stream.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { throw FIPSError(.timedOut, "read timed out") }
            throw posixError("recv")
        }
    }

    /// Sends all of `bytes` (plain).
    func send(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                throw posixError("send")
            }
            offset += n
        }
    }
}

/// A ``FIPSError`` for a failed POSIX call, with `strerror(errno)`.
func posixError(_ operation: String) -> FIPSError {
    let e = errno
    let code: FIPSError.Code = (e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT) ? .timedOut : .connectionFailed
    return FIPSError(code, "\(operation): \(String(cString: strerror(e)))")
}
