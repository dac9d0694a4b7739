import Foundation
import FIPSCrypto

/// One established TLS connection (client or server side), used from one thread at a time.
///
/// Reads and writes block up to the connection's timeout and then throw ``FIPSError/Code/timedOut``.
public final class TLSConnection: @unchecked Sendable {
    let socket: Socket
    let ssl: SSLHandle
    /// The peer's address (server side) or the host connected to (client side).
    public let peer: String

    init(socket: Socket, ssl: SSLHandle, peer: String) {
        self.socket = socket; self.ssl = ssl; self.peer = peer
    }

    deinit { socket.close() }

    /// The negotiated protocol, `"TLSv1.2"` or `"TLSv1.3"`.
    public var protocolVersion: String { ssl.protocolVersion }
    /// The negotiated cipher suite's OpenSSL name, e.g. `"TLS_AES_256_GCM_SHA384"`.
    public var cipherSuite: String { ssl.cipherSuite }
    /// Whether the handshake used the Extended Master Secret (always `true` for TLS 1.3).
    public var usedExtendedMasterSecret: Bool { ssl.usedExtendedMasterSecret }
    /// The certificate the peer presented (the leaf), if any.
    public var peerCertificate: Certificate? { ssl.peerCertificateDER.flatMap { try? Certificate(derRepresentation: $0) } }

    /// Reads what is available, up to `maxBytes`.
    /// - Parameter maxBytes: The most bytes to return (at least 1).
    /// - Returns: The bytes; empty when the peer closed the connection.
    /// - Throws: ``FIPSError/Code/timedOut`` or ``FIPSError/Code/connectionFailed``.
    public func read(maxBytes: Int = 16_384) throws -> Data {
        var buffer = Data(count: max(1, maxBytes))
        let n = try buffer.withUnsafeMutableBytes { try ssl.read(into: $0) }
        return buffer.prefix(n)
    }

    /// Writes all of `data`.
    /// - Parameter data: The bytes.
    /// - Throws: ``FIPSError/Code/timedOut`` or ``FIPSError/Code/connectionFailed``.
    public func write<D: DataProtocol>(_ data: D) throws {
        let bytes = Data(data)
        try bytes.withUnsafeBytes { try ssl.write($0) }
    }

    /// Sends close_notify, waits (at most 2 s) for the peer to close its side, then closes the socket (idempotent).
    public func close() {
        ssl.shutdown()              // close_notify
        socket.closeGracefully()    // nothing we sent is lost to an RST (see Socket.closeGracefully)
    }
}

/// Opens client TLS connections with the strict profile, verifying the server's chain and name.
public enum TLSClient {
    /// Connects, handshakes and verifies the server against the configuration's trust roots and `host`.
    ///
    /// `host` is checked against the certificate's subject alternative names: as an IP address
    /// (`X509_VERIFY_PARAM_set1_ip_asc`) when it is a literal address, else as a DNS name
    /// (`X509_VERIFY_PARAM_set1_host`, no partial wildcards) that is also sent as SNI.
    /// - Parameters:
    ///   - host: The server's name or literal address.
    ///   - port: The TCP port.
    ///   - configuration: A client configuration (``TLSConfiguration/makeClientConfiguration(trustRoots:)``).
    ///   - timeout: Seconds allowed for the connection and the handshake; later reads and writes use it too.
    /// - Returns: The established connection.
    /// - Throws: ``FIPSError`` — ``FIPSError/Code/connectionFailed``, ``FIPSError/Code/timedOut``,
    ///   ``FIPSError/Code/certificateVerificationFailed``, ``FIPSError/Code/tlsHandshakeFailed``, or
    ///   ``FIPSError/Code/invalidParameter`` for a server configuration.
    public static func connect(host: String, port: UInt16, configuration: TLSConfiguration,
                               timeout: Double = 10) throws -> TLSConnection {
        guard configuration.role == .client else {
            throw FIPSError(.invalidParameter, "TLSClient.connect needs a client configuration (makeClientConfiguration)")
        }
        return try connect(host: host, port: port, context: TLSContext(configuration: configuration), timeout: timeout)
    }

    /// Connects with an already built client context (to reuse one context for many connections).
    /// - Parameters:
    ///   - host: The server's name or literal address.
    ///   - port: The TCP port.
    ///   - context: A client ``TLSContext``.
    ///   - timeout: Seconds allowed for the connection and the handshake; later reads and writes use it too.
    /// - Returns: The established connection.
    /// - Throws: As ``connect(host:port:configuration:timeout:)``.
    public static func connect(host: String, port: UInt16, context: TLSContext, timeout: Double = 10) throws -> TLSConnection {
        guard context.configuration.role == .client else {
            throw FIPSError(.invalidParameter, "TLSClient.connect needs a client context")
        }
        guard timeout > 0 else { throw FIPSError(.invalidParameter, "timeout must be positive, got \(timeout)") }
        let socket = try Socket.connect(host: host, port: port, timeout: timeout)
        let ssl = try SSLHandle(context: context.handle, fd: socket.fd)
        try ssl.connect(host: host)
        return TLSConnection(socket: socket, ssl: ssl, peer: host)
    }
}

extension TLSContext {
    /// Server side: runs the handshake on an accepted socket (with its timeouts already set).
    func accept(_ socket: Socket, peer: String) throws -> TLSConnection {
        let ssl = try SSLHandle(context: handle, fd: socket.fd)
        try ssl.accept()
        return TLSConnection(socket: socket, ssl: ssl, peer: peer)
    }
}
