import Foundation
import FIPSCrypto
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A built TLS context (OpenSSL `SSL_CTX` on the module's library context), immutable and shareable.
///
/// Building one validates the profile (``TLSProfile/violations``), applies it, loads and matches the certificate
/// and key (server) or the trust roots (client), and reads the version bounds back. Any failure throws, and nothing
/// half-built is ever used.
///
/// - Note: Creating a context sets `SIGPIPE` to ignored for the process: OpenSSL writes to sockets with `write(2)`,
///   and a peer that resets a connection must produce an error, not kill the service.
public final class TLSContext: Sendable {
    /// The configuration it was built from.
    public let configuration: TLSConfiguration
    let handle: SSLContextHandle

    /// Builds a context.
    /// - Parameter configuration: What to build.
    /// - Throws: ``FIPSError`` — ``FIPSError/Code/notApproved`` for a profile outside SP 800-52r2,
    ///   ``FIPSError/Code/insecurePermissions`` for a group/other-readable key file, ``FIPSError/Code/invalidEncoding``
    ///   for unreadable PEM, ``FIPSError/Code/invalidParameter`` for a key that does not match the certificate,
    ///   ``FIPSError/Code/moduleInErrorState`` if the module failed.
    public init(configuration: TLSConfiguration) throws {
        _ = ignoreSIGPIPE
        self.configuration = configuration
        self.handle = try SSLContextHandle(configuration)
    }

    /// The module's state and this context's protocol settings folded into one answer (as rustls' `fips()`).
    public var fipsStatus: TLSFIPSStatus {
        let module = FIPSModule.status
        var reasons: [String] = []
        if !module.isFIPS {
            reasons.append(module.mode == .development
                           ? "the module runs in development mode (OpenSSL's default provider)"
                           : "the module is not running the FIPS provider (state: \(module.state.rawValue))")
        }
        reasons += configuration.profile.violations
        return TLSFIPSStatus(isFIPS: reasons.isEmpty, moduleIsFIPS: module.isFIPS,
                             profile: configuration.profile.name, reasons: reasons)
    }

    /// The leaf certificate a server context presents; `nil` for a client.
    public var certificate: Certificate? { handle.leaf }
}

/// Set once, process-wide.
private let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

/// Holds the current server ``TLSContext`` and swaps it atomically.
///
/// Each new connection takes ``current``; live connections keep the context they started with (every `SSL` holds
/// its own reference), so they finish undisturbed. ``reload()`` builds the whole new context first and swaps only
/// if that succeeded: on any error the old context stays in service and the error is returned to the caller.
public final class TLSContextHolder: Sendable {
    private let state: Mutex<(context: TLSContext, configuration: TLSConfiguration, generation: Int)>

    /// Builds the first context.
    /// - Parameter configuration: The configuration (its files are read again on every ``reload()``).
    /// - Throws: What ``TLSContext/init(configuration:)`` throws.
    public init(configuration: TLSConfiguration) throws {
        let context = try TLSContext(configuration: configuration)
        state = Mutex((context, configuration, 1))
    }

    /// The context new connections use.
    public var current: TLSContext { state.withLock { $0.context } }

    /// How many contexts have been in service (1 after `init`, +1 per successful swap).
    public var generation: Int { state.withLock { $0.generation } }

    /// Rebuilds the context from the configuration (re-reading certificate and key files) and swaps it in.
    /// - Returns: The new context.
    /// - Throws: What ``TLSContext/init(configuration:)`` throws; the old context then stays current.
    @discardableResult
    public func reload() throws -> TLSContext {
        try replace(with: state.withLock { $0.configuration })
    }

    /// Follows a ``CertificateManager``: every pair it rotates in (renewal, `fipsctl cert rotate`, an install
    /// picked up from the store) is built into a new context with this holder's current profile and swapped in.
    /// A pair that fails to build leaves the current context in service (and raises a `tls-context-reload`
    /// failure event).
    /// - Parameter manager: The manager.
    /// - Returns: The observer token (``CertificateManager/removeObserver(_:)``).
    @discardableResult
    public func follow(_ manager: CertificateManager) -> UInt64 {
        manager.onRotate { [weak self] pair in
            guard let self else { return }
            var next = self.state.withLock { $0.configuration }
            next.certificateChain = pair.chain.map { .certificate($0) }
            next.privateKey = .privateKey(pair.key)
            _ = try? self.replace(with: next)
        }
    }

    /// Builds a context from a new configuration and swaps it in.
    /// - Parameter configuration: The new configuration.
    /// - Returns: The new context.
    /// - Throws: What ``TLSContext/init(configuration:)`` throws; the old context then stays current.
    @discardableResult
    public func replace(with configuration: TLSConfiguration) throws -> TLSContext {
        let old = current
        let fresh: TLSContext
        do {
            fresh = try TLSContext(configuration: configuration)
        } catch {
            SecurityEvents.emit(SecurityEvent(category: .tls, action: "tls-context-reload", outcome: .failure,
                                              reason: "kept the previous TLS context: \((error as? FIPSError)?.reason ?? "\(error)")",
                                              metadata: ["tls.certificate.sha256": old.certificate?.sha256FingerprintHex ?? ""]))
            throw error
        }
        state.withLock { $0 = (fresh, configuration, $0.generation + 1) }
        SecurityEvents.emit(SecurityEvent(category: .tls, action: "tls-context-reload", outcome: .success,
                                          metadata: ["tls.certificate.sha256": fresh.certificate?.sha256FingerprintHex ?? "",
                                                     "tls.previous.sha256": old.certificate?.sha256FingerprintHex ?? ""]))
        return fresh
    }
}
