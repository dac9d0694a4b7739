import Foundation
import FIPSCrypto
internal import COpenSSL
internal import COpenSSLShims

/// Owns one `SSL` over a connected socket. Used by one thread at a time (the connection's).
///
/// The socket is owned by the caller (``Socket``); this class never closes it.
final class SSLHandle: @unchecked Sendable {
    let ssl: OpaquePointer
    /// The context this connection was made from, kept alive for as long as the connection lives.
    let context: SSLContextHandle

    init(context: SSLContextHandle, fd: Int32) throws {
        clearOpenSSLErrors()
        guard let ssl = SSL_new(context.ctx) else { throw FIPSError.openSSL("SSL_new") }
        self.ssl = ssl
        self.context = context
        try check(SSL_set_fd(ssl, fd), "SSL_set_fd")
    }

    deinit { SSL_free(ssl) }

    /// Server handshake, then the Extended Master Secret check for TLS 1.2.
    func accept() throws {
        clearOpenSSLErrors()
        let rc = SSL_accept(ssl)
        if rc != 1 { throw handshakeError(rc, "SSL_accept") }
        try requireExtendedMasterSecret()
    }

    /// Client handshake: SNI and host-name verification for `host`, then the Extended Master Secret check.
    func connect(host: String) throws {
        clearOpenSSLErrors()
        guard let param = SSL_get0_param(ssl) else { throw FIPSError.openSSL("SSL_get0_param") }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if Socket.isIPAddress(bare) {
            try check(X509_VERIFY_PARAM_set1_ip_asc(param, bare), "X509_VERIFY_PARAM_set1_ip_asc(\(bare))", code: .invalidParameter)
        } else {
            X509_VERIFY_PARAM_set_hostflags(param, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
            try check(X509_VERIFY_PARAM_set1_host(param, bare, 0), "X509_VERIFY_PARAM_set1_host(\(bare))", code: .invalidParameter)
            try checkLong(fcshim_SSL_set_tlsext_host_name(ssl, bare), "SSL_set_tlsext_host_name")
        }
        let rc = SSL_connect(ssl)
        if rc != 1 {
            let verify = SSL_get_verify_result(ssl)
            if verify != X509_V_OK {
                let why = X509_verify_cert_error_string(verify).map { String(cString: $0) } ?? "error \(verify)"
                throw FIPSError(.certificateVerificationFailed, "the server's certificate did not verify for \(bare): \(why)",
                                openSSLErrors: drainOpenSSLErrors())
            }
            throw handshakeError(rc, "SSL_connect")
        }
        try requireExtendedMasterSecret()
    }

    private func requireExtendedMasterSecret() throws {
        // Every profile a context accepts requires EMS (TLSProfile.violations), so the check is unconditional.
        guard SSL_version(ssl) == TLS1_2_VERSION else { return }
        if fcshim_SSL_get_extms_support(ssl) != 1 {
            throw FIPSError(.tlsHandshakeFailed,
                            "the peer negotiated TLS 1.2 without the Extended Master Secret (RFC 7627, FIPS 140-3 IG D.Q)")
        }
    }

    private func handshakeError(_ rc: Int32, _ operation: String) -> FIPSError {
        let kind = SSL_get_error(ssl, rc)
        let savedErrno = errno
        let queue = drainOpenSSLErrors()
        switch kind {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return FIPSError(.timedOut, "\(operation): the TLS handshake timed out")
        case SSL_ERROR_SYSCALL where queue.isEmpty:
            return FIPSError(.tlsHandshakeFailed,
                             "\(operation): the peer closed the connection during the handshake"
                             + (savedErrno != 0 ? " (\(String(cString: strerror(savedErrno))))" : ""))
        default:
            let why = queue.last?.reason ?? "error \(kind)"
            return FIPSError(.tlsHandshakeFailed, "\(operation) failed: \(why)", openSSLErrors: queue)
        }
    }

    /// Reads up to `buffer.count` bytes; returns 0 when the peer closed the connection.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        clearOpenSSLErrors()
        var n = 0
        let rc = SSL_read_ex(ssl, base, buffer.count, &n)
        if rc == 1 { return n }
        let kind = SSL_get_error(ssl, rc)
        let queue = drainOpenSSLErrors()
        switch kind {
        case SSL_ERROR_ZERO_RETURN: return 0
        case SSL_ERROR_SYSCALL where queue.isEmpty: return 0
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: throw FIPSError(.timedOut, "TLS read timed out")
        default:
            if queue.contains(where: { $0.reason.contains("unexpected eof") }) { return 0 }
            throw FIPSError(.connectionFailed, "TLS read failed: \(queue.last?.reason ?? "error \(kind)")", openSSLErrors: queue)
        }
    }

    /// Writes all of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            clearOpenSSLErrors()
            var n = 0
            let rc = SSL_write_ex(ssl, bytes.baseAddress! + offset, bytes.count - offset, &n)
            if rc != 1 {
                let kind = SSL_get_error(ssl, rc)
                let queue = drainOpenSSLErrors()
                if kind == SSL_ERROR_WANT_WRITE || kind == SSL_ERROR_WANT_READ { throw FIPSError(.timedOut, "TLS write timed out") }
                throw FIPSError(.connectionFailed, "TLS write failed: \(queue.last?.reason ?? "error \(kind)")", openSSLErrors: queue)
            }
            offset += n
        }
    }

    /// Sends close_notify (best effort; never waits for the peer's).
    func shutdown() {
        _ = SSL_shutdown(ssl)
        clearOpenSSLErrors()
    }

    /// `"TLSv1.2"` / `"TLSv1.3"`.
    var protocolVersion: String { SSL_get_version(ssl).map { String(cString: $0) } ?? "" }

    /// The negotiated suite's OpenSSL name.
    var cipherSuite: String {
        guard let c = SSL_get_current_cipher(ssl), let n = SSL_CIPHER_get_name(c) else { return "" }
        return String(cString: n)
    }

    /// Whether the TLS 1.2 handshake used the Extended Master Secret (always `true` for TLS 1.3).
    var usedExtendedMasterSecret: Bool {
        SSL_version(ssl) == TLS1_3_VERSION || fcshim_SSL_get_extms_support(ssl) == 1
    }

    /// The DER of the certificate the peer presented, if any.
    var peerCertificateDER: Data? {
        guard let x = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(x) }
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        let n = i2d_X509(x, &buffer)
        guard n > 0, let buffer else { clearOpenSSLErrors(); return nil }
        defer { fcshim_OPENSSL_free(buffer) }
        return Data(bytes: buffer, count: Int(n))
    }
}
