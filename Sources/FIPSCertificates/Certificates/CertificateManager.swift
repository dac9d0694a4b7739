import Foundation
import FIPSCrypto
import Synchronization

/// Keeps a server certificate present and fresh: creates it on first run, renews a managed leaf at 2/3 of its
/// lifetime (as certmagic does), never renews a custom one (it warns instead), and tells observers — TLS contexts
/// that hot-swap — about every new pair.
///
/// ```swift
/// let manager = CertificateManager(store: CertificateStore(directory: URL(fileURLWithPath: "/var/lib/svc/tls")))
/// let pair = try manager.ensureServerCertificate(names: ["localhost", "127.0.0.1", "::1"])
/// manager.onRotate { newPair in tlsContext.swap(to: newPair) }
/// // every 10 minutes:
/// _ = try manager.renewIfNeeded()
/// ```
public final class CertificateManager: Sendable {
    /// How a managed certificate is made.
    public enum Mode: String, Sendable, Codable, CaseIterable {
        /// A local CA (ECDSA P-384, CA:TRUE pathlen:0, 10 years) issues the leaf; clients trust `ca/ca.pem`.
        case localCA
        /// A self-signed leaf (clients must pin or trust the leaf itself).
        case selfSigned
    }

    /// The store the manager reads and writes.
    public let store: CertificateStore
    private let state = Mutex<State>(State())
    /// Serializes the operations that write the store (ensure, install, renew, rotate) within this process.
    private let operation = Mutex<Void>(())

    private struct State {
        var current: CertificateStore.Entry?
        var observers: [UInt64: @Sendable (CertificatePair) -> Void] = [:]
        var nextToken: UInt64 = 1
    }

    /// Creates a manager over a store.
    /// - Parameter store: Where the certificates live.
    public init(store: CertificateStore) { self.store = store }

    /// The current pair, if one was loaded or created.
    public var current: CertificatePair? { state.withLock { $0.current?.pair } }

    /// The current pair's metadata (managed or custom, names, mode).
    public var currentMetadata: CertificateStore.Metadata? { state.withLock { $0.current?.metadata } }

    /// Registers an observer called with every new pair (after it is stored), on the thread that rotated it.
    /// - Parameter observer: The callback; it must not block and must not call back into the manager's
    ///   ensure/install/renew/rotate methods (they hold the manager's operation lock while observers run).
    /// - Returns: A token for ``removeObserver(_:)``.
    @discardableResult
    public func onRotate(_ observer: @escaping @Sendable (CertificatePair) -> Void) -> UInt64 {
        state.withLock { s in
            let t = s.nextToken; s.nextToken += 1; s.observers[t] = observer; return t
        }
    }

    /// Removes an observer.
    /// - Parameter token: What ``onRotate(_:)`` returned.
    public func removeObserver(_ token: UInt64) { _ = state.withLock { $0.observers.removeValue(forKey: token) } }

    /// Returns the server certificate, creating it on first run.
    ///
    /// An installed (custom) pair is returned as it is, even if it does not cover `names` (a
    /// certificate-renewal-warning event says so). A managed pair is kept if it covers every name, has the asked
    /// mode, key type and common name and is not due for renewal; otherwise a new leaf is made (the old pair goes
    /// to `previous/`). In ``Mode/localCA`` the CA is created once and reused while it outlives a new leaf; after
    /// that a new CA is made (clients must then trust the new `ca/ca.pem`; a certificate-generated event with
    /// `cert.role=local-ca` records it). Names are used as given: include `localhost`, `127.0.0.1` and `::1` if
    /// local clients connect by those.
    /// - Parameters:
    ///   - names: DNS names and IP addresses the leaf must cover (the first DNS name, or the first name, is the CN).
    ///   - mode: ``Mode/localCA`` (default) or ``Mode/selfSigned``.
    ///   - keyKind: The leaf's key type (default P-256).
    ///   - validity: The leaf's validity (default 90 days, at most 398).
    ///   - commonName: The leaf's CN (default: the first DNS name, else the first name).
    ///   - certificateAuthority: In ``Mode/localCA``, a store whose `ca/` holds an existing CA to issue from
    ///     (default: this store's own `ca/`, created on first use). An external CA is never created or replaced.
    ///   - now: The current time (injectable for tests).
    /// - Returns: The pair to serve.
    /// - Throws: ``FIPSError`` (``FIPSError/Code/certificateRequestInvalid`` for bad names or validity,
    ///   ``FIPSError/Code/insecurePermissions``, ``FIPSError/Code/ioFailure``, store and OpenSSL errors).
    @discardableResult
    public func ensureServerCertificate(names: [String], mode: Mode = .localCA, keyKind: SigningPrivateKey.Kind = .p256,
                                        validity: TimeInterval = CertificateBuilder.defaultLeafValidity,
                                        commonName: String? = nil, certificateAuthority: CertificateStore? = nil,
                                        now: Date = Date()) throws -> CertificatePair {
        try operation.withLock { _ in
            try store.withExclusiveLock {
                try ensureLocked(names: names, mode: mode, keyKind: keyKind, validity: validity, commonName: commonName,
                                 certificateAuthority: certificateAuthority, now: now)
            }
        }
    }

    private func ensureLocked(names: [String], mode: Mode, keyKind: SigningPrivateKey.Kind, validity: TimeInterval,
                              commonName: String?, certificateAuthority: CertificateStore?, now: Date) throws -> CertificatePair {
        let sans = try names.map { try GeneralName(parsing: $0) }
        guard !sans.isEmpty else { throw FIPSError(.certificateRequestInvalid, "give at least one name for the server certificate") }
        try store.prepare()
        if let entry = try store.load() {
            let leaf = entry.pair.leaf
            if entry.metadata.kind == .custom {
                let missing = names.filter { !leaf.matches(name: $0) }
                if !missing.isEmpty {
                    CertificateEvents.emit("certificate-renewal-warning", leaf, outcome: .unknown,
                                           reason: "the installed certificate does not cover \(missing.joined(separator: ", ")); custom certificates are not replaced")
                }
                state.withLock { $0.current = entry }
                return entry.pair
            }
            let covers = names.allSatisfy { leaf.matches(name: $0) }
            if covers, entry.metadata.mode == mode.rawValue, entry.metadata.keyKind == keyKind.name,
               commonName == nil || commonName == entry.metadata.commonName,
               !Self.isDue(leaf, now: now, fraction: 1.0 / 3.0) {
                state.withLock { $0.current = entry }
                return entry.pair
            }
        }
        let recipe = Recipe(mode: mode, names: sans.map(Self.nameText), keyKind: keyKind, validity: validity,
                            commonName: commonName, caDirectory: mode == .localCA ? certificateAuthority?.directory.path : nil)
        return try issueAndStore(recipe, now: now, action: store.hasCurrent ? "certificate-rotated" : "certificate-generated")
    }

    /// Installs a custom pair (validated with ``CertificateInstaller/validate(chainPEM:keyPEM:passphrase:requiredNames:now:)``)
    /// as the current one; it is never renewed here.
    /// - Parameters:
    ///   - chainPEM: The chain, leaf first.
    ///   - keyPEM: The leaf's key.
    ///   - passphrase: The key's passphrase, if encrypted.
    ///   - requiredNames: Names the certificate must cover.
    ///   - now: The time to validate at.
    /// - Returns: The installed pair.
    /// - Throws: The installer's ``FIPSError``s, or store errors.
    @discardableResult
    public func install(chainPEM: String, keyPEM: String, passphrase: String? = nil, requiredNames: [String] = [],
                        now: Date = Date()) throws -> CertificatePair {
        try operation.withLock { _ in
            try store.withExclusiveLock {
                try installLocked(chainPEM: chainPEM, keyPEM: keyPEM, passphrase: passphrase, requiredNames: requiredNames, now: now)
            }
        }
    }

    private func installLocked(chainPEM: String, keyPEM: String, passphrase: String?, requiredNames: [String],
                               now: Date) throws -> CertificatePair {
        let pair: CertificatePair
        do {
            pair = try CertificateInstaller.validate(chainPEM: chainPEM, keyPEM: keyPEM, passphrase: passphrase,
                                                     requiredNames: requiredNames, now: now)
        } catch {
            let leaf = try? Certificate.chain(fromPEM: chainPEM).first
            CertificateEvents.emit("certificate-installed", leaf, outcome: .failure,
                                   reason: (error as? FIPSError).map { "\($0.code): \($0.reason)" } ?? "\(error)")
            throw error
        }
        let metadata = CertificateStore.Metadata(kind: .custom, names: requiredNames, leaf: pair.leaf, storedAt: now)
        try store.save(pair, metadata: metadata)
        let entry = CertificateStore.Entry(pair: pair, metadata: metadata)
        CertificateEvents.emit("certificate-installed", pair.leaf, outcome: .success)
        publish(entry)
        return pair
    }

    /// Renews the managed leaf when less than `renewWhenRemainingFraction` of its lifetime remains.
    ///
    /// Call it periodically (every 10 minutes is plenty). A custom certificate is never renewed: when it is due,
    /// a certificate-renewal-warning event is raised instead and `false` returned.
    /// - Parameters:
    ///   - now: The current time (injectable for tests).
    ///   - renewWhenRemainingFraction: Renew when `notAfter - now < fraction × (notAfter - notBefore)`; default
    ///     1/3, i.e. at 2/3 of the lifetime.
    /// - Returns: Whether there is a new pair (observers have then been called): renewed here, or found in the
    ///   store after another process (e.g. `fipsctl cert rotate`) replaced it.
    /// - Throws: ``FIPSError`` from the store, the CA or OpenSSL; the current pair stays in use.
    @discardableResult
    public func renewIfNeeded(now: Date = Date(), renewWhenRemainingFraction: Double = 1.0 / 3.0) throws -> Bool {
        try operation.withLock { _ in try store.withExclusiveLock { try renewLocked(now: now, fraction: renewWhenRemainingFraction) } }
    }

    private func renewLocked(now: Date, fraction renewWhenRemainingFraction: Double) throws -> Bool {
        // The store is read fresh: a pair written by another process (`fipsctl cert rotate`, `cert install`) is
        // picked up here and handed to the observers.
        guard let entry = try store.load() else { return false }
        let cached = state.withLock { $0.current?.pair.leaf }
        if cached != nil && cached != entry.pair.leaf && !Self.isDue(entry.pair.leaf, now: now, fraction: renewWhenRemainingFraction) {
            publish(entry)
            return true
        }
        state.withLock { $0.current = entry }
        guard Self.isDue(entry.pair.leaf, now: now, fraction: renewWhenRemainingFraction) else { return false }
        if entry.metadata.kind == .custom {
            let leaf = entry.pair.leaf
            CertificateEvents.emit("certificate-renewal-warning", leaf, outcome: .unknown,
                                   reason: now > leaf.notValidAfter
                                       ? "the installed certificate has expired; install a new one"
                                       : "the installed certificate expires on \(ISO8601DateFormatter().string(from: leaf.notValidAfter)); install a renewed one (custom certificates are not renewed automatically)")
            return false
        }
        do {
            _ = try issueAndStore(try Recipe(entry.metadata, store: store), now: now, action: "certificate-rotated")
        } catch {
            // The current pair stays in use; say so in the audit trail, then let the caller retry later.
            CertificateEvents.emit("certificate-rotated", entry.pair.leaf, outcome: .failure,
                                   reason: (error as? FIPSError).map { "\($0.code): \($0.reason)" } ?? "\(error)")
            throw error
        }
        return true
    }

    /// Replaces the managed leaf now, whatever its age.
    /// - Parameter now: The current time.
    /// - Returns: The new pair.
    /// - Throws: ``FIPSError`` ``FIPSError/Code/certificateNotFound`` if there is no pair,
    ///   ``FIPSError/Code/certificateRequestInvalid`` if the pair is custom, or store/OpenSSL errors.
    @discardableResult
    public func rotate(now: Date = Date()) throws -> CertificatePair {
        try operation.withLock { _ in try store.withExclusiveLock { try rotateLocked(now: now) } }
    }

    private func rotateLocked(now: Date) throws -> CertificatePair {
        guard let entry = try currentOrStored() else {
            throw FIPSError(.certificateNotFound, "\(store.directory.path) holds no certificate to rotate; create one first")
        }
        guard entry.metadata.kind == .managed else {
            throw FIPSError(.certificateRequestInvalid, "the certificate in \(store.directory.path) was installed (custom); install a new one instead of rotating")
        }
        return try issueAndStore(try Recipe(entry.metadata, store: store), now: now, action: "certificate-rotated")
    }

    /// Whether less than `fraction` of the leaf's lifetime remains at `now`.
    /// - Parameters:
    ///   - leaf: The certificate.
    ///   - now: The time.
    ///   - fraction: The remaining fraction that triggers renewal.
    /// - Returns: `true` if it is due.
    public static func isDue(_ leaf: Certificate, now: Date, fraction: Double) -> Bool {
        let lifetime = leaf.notValidAfter.timeIntervalSince(leaf.notValidBefore)
        let remaining = leaf.notValidAfter.timeIntervalSince(now)
        return remaining < lifetime * fraction
    }

    // MARK: Internals

    private func currentOrStored() throws -> CertificateStore.Entry? {
        if let c = state.withLock({ $0.current }) { return c }
        let e = try store.load()
        if let e { state.withLock { $0.current = e } }
        return e
    }

    private static func nameText(_ n: GeneralName) -> String {
        switch n { case .dns(let s), .ipAddress(let s), .email(let s), .uri(let s): return s }
    }

    /// How to make a managed leaf (from the caller, or from the stored metadata on renewal).
    private struct Recipe {
        var mode: Mode
        var names: [String]
        var keyKind: SigningPrivateKey.Kind
        var validity: TimeInterval
        var commonName: String?
        var caDirectory: String?

        init(mode: Mode, names: [String], keyKind: SigningPrivateKey.Kind, validity: TimeInterval,
             commonName: String?, caDirectory: String?) {
            self.mode = mode; self.names = names; self.keyKind = keyKind; self.validity = validity
            self.commonName = commonName; self.caDirectory = caDirectory
        }

        init(_ m: CertificateStore.Metadata, store: CertificateStore) throws {
            guard let modeName = m.mode, let mode = Mode(rawValue: modeName), let kindName = m.keyKind,
                  let kind = SigningPrivateKey.Kind(name: kindName), !m.names.isEmpty else {
                throw FIPSError(.invalidEncoding, "\(store.directory.path)/state.json does not say how to renew this certificate (mode, names, key type)")
            }
            self.init(mode: mode, names: m.names, keyKind: kind, validity: m.validity ?? CertificateBuilder.defaultLeafValidity,
                      commonName: m.commonName, caDirectory: m.certificateAuthorityDirectory)
        }
    }

    private func issueAndStore(_ recipe: Recipe, now: Date, action: String) throws -> CertificatePair {
        let (mode, kind) = (recipe.mode, recipe.keyKind)
        let sans = try recipe.names.map { try GeneralName(parsing: $0) }
        let cn = sans.first(where: { if case .dns = $0 { return true }; return false }).map(Self.nameText) ?? recipe.names[0]
        let commonName = recipe.commonName ?? cn
        var builder = CertificateBuilder.serverLeaf(commonName: commonName, subjectAlternativeNames: sans, validity: recipe.validity)
        builder.notValidBefore = now
        let key = try SigningPrivateKey.generate(kind)
        let chain: [Certificate]
        switch mode {
        case .selfSigned:
            chain = [try builder.selfSigned(key: key, now: now)]
        case .localCA:
            let ca = try certificateAuthority(now: now, leafValidity: builder.validity, externalDirectory: recipe.caDirectory)
            chain = [try builder.issue(for: key.publicKey, issuer: ca.leaf, issuerKey: ca.key, now: now), ca.leaf]
        }
        let pair = try CertificatePair(chain: chain, key: key)
        let m = CertificateStore.Metadata(kind: .managed, mode: mode.rawValue, names: recipe.names, keyKind: kind.name,
                                          validity: recipe.validity, commonName: recipe.commonName,
                                          certificateAuthorityDirectory: recipe.caDirectory, leaf: pair.leaf, storedAt: now)
        try store.save(pair, metadata: m)
        CertificateEvents.emit(action, pair.leaf, outcome: .success)
        publish(CertificateStore.Entry(pair: pair, metadata: m))
        return pair
    }

    /// The local CA: the stored one while it is valid and outlives a new leaf, else a new one.
    private func certificateAuthority(now: Date, leafValidity: TimeInterval, externalDirectory: String?) throws -> CertificatePair {
        if let externalDirectory {
            let caStore = CertificateStore(directory: URL(fileURLWithPath: externalDirectory), keyPassphrase: store.keyPassphrase)
            guard let ca = try caStore.loadCertificateAuthority() else {
                throw FIPSError(.certificateNotFound, "no CA in \(externalDirectory)/ca (create one with `fipsctl cert ca init --out \(externalDirectory)`)")
            }
            return ca   // the builder refuses an expired CA or one that the leaf would outlive
        }
        if let ca = try store.loadCertificateAuthority(), ca.leaf.isValid(at: now),
           ca.leaf.notValidAfter >= now.addingTimeInterval(leafValidity) {
            return ca
        }
        return try makeCertificateAuthority(builder: CertificateBuilder.localCA(), now: now)
    }

    /// Creates a new local CA (ECDSA P-384, self-signed) in this store's `ca/` folder, replacing none: use it for a
    /// CA that clients trust once while leaves rotate (`fipsctl cert ca init`).
    /// - Parameters:
    ///   - commonName: The CA's subject common name.
    ///   - validity: Its lifetime.
    ///   - now: The issuing time.
    /// - Returns: The CA certificate and key.
    /// - Throws: ``FIPSError/Code/certificateRequestInvalid`` if the store already holds a CA, or store/signing failures.
    public func createCertificateAuthority(commonName: String, validity: TimeInterval = CertificateBuilder.defaultCAValidity,
                                           now: Date = Date()) throws -> CertificatePair {
        try operation.withLock { _ in
            try store.withExclusiveLock {
                if try store.loadCertificateAuthority() != nil {
                    throw FIPSError(.certificateRequestInvalid,
                                    "\(store.certificateAuthorityPath.path) already exists; remove the directory's ca/ to make a new CA")
                }
                return try makeCertificateAuthority(builder: CertificateBuilder.localCA(commonName: commonName, validity: validity), now: now)
            }
        }
    }

    /// Generates, stores and announces a CA: the one place a local CA is made.
    private func makeCertificateAuthority(builder: CertificateBuilder, now: Date) throws -> CertificatePair {
        var builder = builder
        builder.notValidBefore = now
        let key = try SigningPrivateKey.generate(.p384)
        let ca = try CertificatePair(chain: [try builder.selfSigned(key: key, now: now)], key: key)
        try store.saveCertificateAuthority(ca)
        CertificateEvents.emit("certificate-generated", ca.leaf, outcome: .success, extra: ["cert.role": "local-ca"])
        return ca
    }

    private func publish(_ entry: CertificateStore.Entry) {
        let observers = state.withLock { s -> [@Sendable (CertificatePair) -> Void] in
            s.current = entry
            return Array(s.observers.values)
        }
        for o in observers { o(entry.pair) }
    }
}

/// The certificate life-cycle's ``SecurityEvent``s (category `certificate`); metadata never holds keys.
enum CertificateEvents {
    static func emit(_ action: String, _ cert: Certificate?, outcome: SecurityEvent.Outcome, reason: String? = nil,
                     extra: [String: String] = [:]) {
        var metadata: [String: String] = [:]
        if let cert {
            metadata = [
                "cert.subject": cert.subject,
                "cert.serial": cert.serialNumber,
                "cert.not_after": ISO8601DateFormatter().string(from: cert.notValidAfter),
                "cert.fingerprint_sha256": cert.sha256FingerprintHex,
            ]
        }
        metadata.merge(extra) { _, new in new }
        SecurityEvents.emit(SecurityEvent(category: .certificate, action: action, outcome: outcome, reason: reason, metadata: metadata))
    }
}
