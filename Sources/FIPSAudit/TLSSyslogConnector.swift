import Foundation
import FIPSCrypto
import FIPSCertificates

/// RFC 5425 syslog over TLS: octet-counted frames on a connection opened with the library's strict TLS client
/// (`TLSClient`), which verifies the collector's certificate chain and name.
public struct TLSSyslogConnector: SyslogConnector {
    /// The destination (`tls://HOST:PORT`).
    public let destination: SyslogDestination
    private let context: TLSContext

    /// Creates a connector.
    /// - Parameters:
    ///   - destination: A `tls://` destination.
    ///   - configuration: A client configuration (`TLSConfiguration.makeClientConfiguration(trustRoots:)`).
    /// - Throws: ``FIPSError/Code/invalidParameter`` for a non-TLS destination; TLS context errors.
    public init(destination: SyslogDestination, configuration: TLSConfiguration) throws {
        guard destination.transport == .tls else {
            throw FIPSError(.invalidParameter, "TLSSyslogConnector serves tls:// destinations only")
        }
        self.destination = destination
        context = try TLSContext(configuration: configuration)
    }

    /// Always a stream (octet counting).
    public var isStream: Bool { true }

    /// Connects and handshakes.
    /// - Parameter timeout: The bound on connecting and the handshake (and later writes).
    /// - Returns: The connection.
    /// - Throws: ``FIPSError`` from the TLS client (connection, handshake, certificate verification).
    public func connect(timeout: TimeInterval) throws -> any SyslogConnection {
        TLSSyslogConnection(try TLSClient.connect(host: destination.host, port: destination.port, context: context, timeout: timeout))
    }
}

/// One TLS connection to a collector.
final class TLSSyslogConnection: SyslogConnection {
    private let connection: TLSConnection
    init(_ connection: TLSConnection) { self.connection = connection }

    func send(_ bytes: UnsafeRawBufferPointer) throws { try connection.write(bytes) }

    /// TLS offers no cheap non-blocking probe here; a collector that went away shows up as a failed write, and the
    /// replay window resends what may have been lost in flight.
    var peerClosed: Bool { false }

    func close() { connection.close() }
}
