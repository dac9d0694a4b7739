import Foundation
import FIPSCrypto
import Synchronization

/// A tamper-evident, structured audit log: JSON lines with ECS field names, each record MAC-chained to the one
/// before under a forward-secure epoch key, signed checkpoints, rotation, retention, and optional shipping.
///
/// ```swift
/// let log = try AuditLog(configuration: .standard(directory: dir), rootKey: keyring.deriveKey(purpose: "audit"),
///                        stateKey: stateKey, checkpointSigner: signer)
/// try log.loginFailed(user: "alice", sourceAddress: "192.0.2.7", reason: "bad password")
/// ```
///
/// Records from many threads are serialised: each gets the next sequence number and is written whole. The log
/// never holds more than the current epoch's key; ``AuditVerifier`` needs the root key (epoch 0), kept off the host,
/// to check the MACs, and only the checkpoint public key to check the checkpoints.
public final class AuditLog: Sendable {
    /// The configuration.
    public let configuration: AuditLogConfiguration
    private let writer: Mutex<AuditWriter>
    private let syncQueue = DispatchQueue(label: "fipsaudit.fsync")
    private let eventQueue = DispatchQueue(label: "fipsaudit.security-events")
    private let tlsLimiter = Mutex<(windowStart: Double, count: Int, suppressed: Int)>((0, 0, 0))

    /// Opens (or creates) the log in `configuration.directory`, continuing the chain where it stopped.
    ///
    /// - Parameters:
    ///   - configuration: Where and how to write.
    ///   - rootKey: The epoch-0 MAC key (from the keyring, purpose `"audit"`). Needed only to start a new chain; an
    ///     existing chain continues with the epoch key sealed in its state file, so it may be `nil` then (and should
    ///     be kept off the host: it is the verifier's key).
    ///   - stateKey: The key that seals the current epoch key in the state file (keyring purpose `"audit-state"` or
    ///     a 0600 key file). It must differ from `rootKey`.
    ///   - checkpointSigner: Signs checkpoints (ECDSA P-384); `nil` writes no checkpoints.
    /// - Throws: ``FIPSError/Code/insecurePermissions`` for a directory or state others can read,
    ///   ``FIPSError/Code/auditStorageFailure`` for unusable files, ``FIPSError/Code/invalidKeySize`` for keys
    ///   shorter than 256 bits, or module failures.
    public init(configuration: AuditLogConfiguration, rootKey: SymmetricKey?, stateKey: SymmetricKey,
                checkpointSigner: (any AuditCheckpointSigner)? = nil) throws {
        guard (rootKey?.bitCount ?? 256) >= 256, stateKey.bitCount == 256 else {
            throw FIPSError(.invalidKeySize, "the audit root key needs at least 256 bits and the state key exactly 256")
        }
        guard rootKey.map({ $0 != stateKey }) ?? true else { throw FIPSError(.invalidParameter, "the audit state key must differ from the root key") }
        guard configuration.checkpointInterval > 0, configuration.maxFileBytes > 1024, configuration.epochDuration > 0 else {
            throw FIPSError(.invalidParameter, "audit configuration: checkpointInterval > 0, maxFileBytes > 1024, epochDuration > 0")
        }
        if case .batched(let ms) = configuration.sync, ms <= 0 {
            throw FIPSError(.invalidParameter, "audit configuration: the batched fsync interval must be positive")
        }
        self.configuration = configuration
        let w = try AuditWriter(configuration: configuration, rootKey: rootKey, stateKey: stateKey, signer: checkpointSigner)
        writer = Mutex(w)
        if case .batched(let ms) = configuration.sync { scheduleSync(milliseconds: ms) }
    }

    /// Group commit: fsync (and save the state) every `milliseconds` while the log is open.
    private func scheduleSync(milliseconds ms: Int) {
        syncQueue.asyncAfter(deadline: .now() + .milliseconds(ms)) { [weak self] in
            guard let self else { return }
            // The fsync runs outside the writer's lock (on a duplicate descriptor of the same file), so writers
            // are not held up by the disk; the state file is refreshed at most once a second.
            let (fd, open) = self.writer.withLock { w -> (Int32, Bool) in
                guard !w.closed else { return (-1, false) }
                guard w.dirty else { return (-1, true) }
                w.dirty = false
                return (dup(w.fd), true)
            }
            if fd >= 0 {
                fsync(fd)
                Glibc.close(fd)
                self.writer.withLock { w in
                    if !w.closed && Date().timeIntervalSince(w.lastStateSave) >= 1 { try? w.saveState() }
                }
            }
            if open { self.scheduleSync(milliseconds: ms) }
        }
    }

    deinit { try? close() }

    /// Writes an event.
    /// - Parameter event: The event (secret-named metadata is redacted).
    /// - Returns: The record's sequence number.
    /// - Throws: ``FIPSError/Code/auditStorageFailure`` if the record could not be written; module failures.
    @discardableResult
    public func log(_ event: AuditEvent) throws -> UInt64 {
        try writer.withLock { try $0.append(event) }
    }

    /// Forces everything written so far to disk (and the state file up to date).
    /// - Throws: ``FIPSError/Code/auditStorageFailure``.
    public func flush() throws { try writer.withLock { try $0.sync(force: true) } }

    /// Writes a signed checkpoint now (if a signer is set).
    /// - Throws: As ``log(_:)``.
    public func checkpoint() throws { try writer.withLock { try $0.writeCheckpoint(now: $0.configuration.clock.now()) } }

    /// Rotates the active file now (checkpoint, new epoch, new file linked to the old one's last MAC).
    /// - Throws: As ``log(_:)``.
    public func rotate() throws { try writer.withLock { try $0.rotate(now: $0.configuration.clock.now()) } }

    /// Closes the log: a final checkpoint, fsync, state saved. Later calls to ``log(_:)`` throw.
    /// - Throws: As ``log(_:)``.
    public func close() throws {
        try writer.withLock { try $0.close() }
    }

    /// Sends every record written from now on to `shipper` as well (in sequence order).
    /// - Parameter shipper: A syslog shipper.
    public func attach(_ shipper: AuditShipper) { writer.withLock { $0.shippers.append(shipper) } }

    /// The last sequence number written.
    public var lastSequence: UInt64 { writer.withLock { $0.sequence } }

    /// The current MAC epoch.
    public var epoch: UInt64 { writer.withLock { $0.epoch } }

    /// The active file.
    public var activeFile: URL { configuration.directory.appendingPathComponent(configuration.baseName + ".log") }

    /// Every file of this log, oldest first (rotated files then the active file).
    public var files: [URL] { AuditFiles.allFiles(in: configuration.directory, baseName: configuration.baseName) }

    // MARK: The host's own events

    /// Records a successful login.
    /// - Parameters:
    ///   - user: Who logged in.
    ///   - sourceAddress: From where.
    ///   - correlationID: The request id.
    ///   - metadata: Extra facts (method, realm); secret-named keys are redacted.
    /// - Returns: The sequence number.
    /// - Throws: As ``log(_:)``.
    @discardableResult
    public func loginSucceeded(user: String, sourceAddress: String? = nil, correlationID: String? = nil,
                               metadata: [String: String] = [:]) throws -> UInt64 {
        try log(AuditEvent(category: .authentication, action: "login", outcome: .success, actor: user, sourceAddress: sourceAddress,
                           correlationID: correlationID, metadata: metadata, message: "login succeeded"))
    }

    /// Records a failed login.
    /// - Parameters:
    ///   - user: The claimed user.
    ///   - sourceAddress: From where.
    ///   - reason: Why (never the attempted password).
    ///   - correlationID: The request id.
    ///   - metadata: Extra facts; secret-named keys are redacted.
    /// - Returns: The sequence number.
    /// - Throws: As ``log(_:)``.
    @discardableResult
    public func loginFailed(user: String, sourceAddress: String? = nil, reason: String, correlationID: String? = nil,
                            metadata: [String: String] = [:]) throws -> UInt64 {
        try log(AuditEvent(category: .authentication, action: "login", outcome: .failure, actor: user, sourceAddress: sourceAddress,
                           reason: reason, correlationID: correlationID, metadata: metadata, message: "login failed"))
    }

    /// Records a configuration change; old and new values are redacted when the setting is named like a secret.
    /// - Parameters:
    ///   - setting: The setting's name, e.g. `"tls.min-version"`.
    ///   - oldValue: The previous value.
    ///   - newValue: The new value.
    ///   - actor: Who changed it.
    ///   - sourceAddress: From where.
    ///   - correlationID: The request id.
    /// - Returns: The sequence number.
    /// - Throws: As ``log(_:)``.
    @discardableResult
    public func configurationChanged(setting: String, oldValue: String?, newValue: String?, actor: String?,
                                     sourceAddress: String? = nil, correlationID: String? = nil) throws -> UInt64 {
        let secret = AuditRedaction.isSecret(setting)
        var meta: [String: String] = ["config.setting": setting]
        if let oldValue { meta["config.old"] = secret ? AuditRedaction.placeholder : oldValue }
        if let newValue { meta["config.new"] = secret ? AuditRedaction.placeholder : newValue }
        return try log(AuditEvent(category: .configuration, action: "configuration-changed", outcome: .success, actor: actor,
                                  sourceAddress: sourceAddress, target: setting, correlationID: correlationID, metadata: meta,
                                  message: "configuration changed"))
    }

    /// Records the start of a scan.
    /// - Parameters:
    ///   - target: What is scanned.
    ///   - actor: Who started it.
    ///   - correlationID: The scan's id (use the same in ``scanFinished(target:outcome:actor:correlationID:metadata:)``).
    ///   - metadata: Extra facts.
    /// - Returns: The sequence number.
    /// - Throws: As ``log(_:)``.
    @discardableResult
    public func scanStarted(target: String, actor: String?, correlationID: String? = nil, metadata: [String: String] = [:]) throws -> UInt64 {
        try log(AuditEvent(category: .scan, action: "scan-started", outcome: .success, actor: actor, target: target,
                           correlationID: correlationID, metadata: metadata, message: "scan started"))
    }

    /// Records the end of a scan.
    /// - Parameters:
    ///   - target: What was scanned.
    ///   - outcome: How it ended.
    ///   - actor: Who started it.
    ///   - correlationID: The scan's id.
    ///   - metadata: Extra facts (finding counts).
    /// - Returns: The sequence number.
    /// - Throws: As ``log(_:)``.
    @discardableResult
    public func scanFinished(target: String, outcome: AuditEvent.Outcome, actor: String?, correlationID: String? = nil,
                             metadata: [String: String] = [:]) throws -> UInt64 {
        try log(AuditEvent(category: .scan, action: "scan-finished", outcome: outcome, actor: actor, target: target,
                           correlationID: correlationID, metadata: metadata, message: "scan finished"))
    }

    /// Records a refused access.
    /// - Parameters:
    ///   - actor: Who asked.
    ///   - resource: For what.
    ///   - reason: Why it was refused.
    ///   - sourceAddress: From where.
    ///   - correlationID: The request id.
    /// - Returns: The sequence number.
    /// - Throws: As ``log(_:)``.
    @discardableResult
    public func accessDenied(actor: String?, resource: String, reason: String, sourceAddress: String? = nil,
                             correlationID: String? = nil) throws -> UInt64 {
        try log(AuditEvent(category: .access, action: "access-denied", outcome: .failure, actor: actor, sourceAddress: sourceAddress,
                           target: resource, reason: reason, correlationID: correlationID, message: "access denied"))
    }

    // MARK: The library's own events

    /// Records the module's current status (load, then each self-test) and subscribes to ``SecurityEvents`` so the
    /// library's own events land in this log: policy refusals, key life-cycle, decryption failures, certificate
    /// events and TLS handshake failures (at most 10 a second; the rest are counted in the next one's
    /// `suppressed.count`).
    ///
    /// Events are queued and written off the caller's thread, so raising one never blocks on the disk.
    /// - Returns: The handler's token for `SecurityEvents.removeHandler(_:)`.
    @discardableResult
    public func installAsSecurityEventHandler() -> UInt64 {
        let status = FIPSModule.status
        var loadMeta: [String: String] = ["module.state": status.state.rawValue, "module.fips": String(status.isFIPS)]
        if let mode = status.mode { loadMeta["module.mode"] = mode.rawValue }
        if let p = status.provider { loadMeta["provider.name"] = p.reportedName; loadMeta["provider.version"] = p.version }
        let loadOutcome: AuditEvent.Outcome = status.state == .operational ? .success : (status.state == .failed ? .failure : .unknown)
        _ = try? log(AuditEvent(category: .selfTest, action: "module-loaded", outcome: loadOutcome, reason: status.failure,
                                metadata: loadMeta, message: "cryptographic module status"))
        for t in status.selfTests {
            _ = try? log(AuditEvent(category: .selfTest, action: "self-test", outcome: t.passed ? .success : .failure,
                                    target: t.name, reason: t.failure,
                                    metadata: ["selftest.kind": t.kind, "selftest.family": t.family,
                                               "selftest.duration_us": String(format: "%.0f", t.duration * 1e6)],
                                    message: "self-test result"))
        }
        return SecurityEvents.addHandler { [weak self] event in
            guard let self else { return }
            var e = AuditEvent(event)
            if event.category == .tls && event.outcome == .failure {
                guard let suppressed = self.admitTLSFailure() else { return }
                if suppressed > 0 { e.metadata["suppressed.count"] = String(suppressed) }
            }
            let record = e
            self.eventQueue.async { _ = try? self.log(record) }
        }
    }

    /// A token bucket for TLS failures: returns `nil` to drop, or the number dropped since the last admitted one.
    private func admitTLSFailure() -> Int? {
        let now = configuration.clock.now().timeIntervalSince1970
        return tlsLimiter.withLock { s in
            if now - s.windowStart >= 1 { s.windowStart = now; s.count = 0 }
            guard s.count < 10 else { s.suppressed += 1; return nil }
            s.count += 1
            let n = s.suppressed
            s.suppressed = 0
            return n
        }
    }

    /// Waits until queued library events have been written (for tests and orderly shutdown).
    public func drainSecurityEvents() { eventQueue.sync {} }
}

/// The single writer behind an ``AuditLog``'s lock.
final class AuditWriter {
    let configuration: AuditLogConfiguration
    let stateKey: SymmetricKey
    let signer: (any AuditCheckpointSigner)?
    let signerFingerprint: String?
    let pid = ProcessInfo.processInfo.processIdentifier
    var epoch: UInt64 = 0
    /// The current epoch's MAC key (the only one the writer holds).
    var epochMAC: AuditChain.EpochMAC
    var epochStarted: Date
    var sequence: UInt64 = 0
    var lastMAC = AuditChain.genesisMAC
    var chain = AuditChain.genesisChain
    var sinceCheckpoint = 0
    var fd: Int32 = -1
    var fileSize = 0
    /// The sequence number of the active file's first record (names the file when it is rotated).
    var fileFirstSequence: UInt64 = 0
    var fileDay = 0
    var dirty = false
    var closed = false
    var shippers: [AuditShipper] = []
    var redactionCache: [String: Bool] = [:]
    /// The record being encoded; one buffer reused for every record.
    var record = JSONLineWriter()
    /// The public chain's SHA-384, one context reused for every record.
    var chainHasher: DigestContext<SHA384>
    var lastStateSave = Date.distantPast

    var activeURL: URL { configuration.directory.appendingPathComponent(configuration.baseName + ".log") }
    var stateURL: URL { configuration.directory.appendingPathComponent(configuration.baseName + ".state") }

    init(configuration: AuditLogConfiguration, rootKey: SymmetricKey?, stateKey: SymmetricKey, signer: (any AuditCheckpointSigner)?) throws {
        self.configuration = configuration
        self.stateKey = stateKey
        self.signer = signer
        self.signerFingerprint = signer.map { AuditChain.fingerprint($0.publicKeyDER) }
        chainHasher = try DigestContext<SHA384>()
        try AuditFiles.ensureDirectory(configuration.directory)
        let now = configuration.clock.now()
        let stateURL = configuration.directory.appendingPathComponent(configuration.baseName + ".state")
        let activeURL = configuration.directory.appendingPathComponent(configuration.baseName + ".log")
        if let signer {
            let pub = configuration.directory.appendingPathComponent(configuration.baseName + "-checkpoint.pub")
            try AuditFiles.atomicWrite(Data(pemEncode(signer.publicKeyDER, label: "PUBLIC KEY").utf8), to: pub)
        }
        if let state = try AuditState.load(stateURL) {
            epoch = state.epoch
            epochMAC = try AuditChain.EpochMAC(key: state.unsealKey(stateKey: stateKey))
            epochStarted = Date(timeIntervalSince1970: state.epochStarted)
            sequence = state.lastSequence
            lastMAC = Hex.decode(state.lastMAC) ?? AuditChain.genesisMAC
            chain = Hex.decode(state.lastChain) ?? AuditChain.genesisChain
            try recoverActiveFile(now: now)
        } else {
            guard !FileManager.default.fileExists(atPath: activeURL.path) else {
                throw FIPSError(.auditStorageFailure, "\(activeURL.path) exists but its state file \(stateURL.lastPathComponent) is missing; refusing to start a second chain over it")
            }
            guard let rootKey else {
                throw FIPSError(.invalidParameter, "starting a new audit chain in \(configuration.directory.path) needs the root key")
            }
            epochMAC = try AuditChain.EpochMAC(key: rootKey)
            epochStarted = now
            try saveState()
        }
        if fd < 0 { try openNewFile(now: now, previousFile: nil) }
    }

    /// Re-reads the active file to find where the chain stands; a torn tail (crash mid-write) is set aside.
    private func recoverActiveFile(now: Date) throws {
        guard FileManager.default.fileExists(atPath: activeURL.path) else { return }
        let bytes = try AuditFiles.read(activeURL)
        let (lines, complete) = AuditFiles.lines(bytes)
        var seq = sequence, mac = lastMAC, h = chain
        var count = 0
        var sound = complete
        // Fast path: the state was saved after the file's last record (a clean close or a sync with no write
        // since), so the chain values in the state are current and the file need not be re-hashed.
        let upToDate = complete && lines.last.flatMap { ParsedLine($0) }.map { $0.sequence == sequence && $0.mac == lastMAC } == true
        for (i, line) in lines.enumerated() where !upToDate {
            guard let p = ParsedLine(line), let s = p.sequence else { sound = false; break }
            if i == 0, let prev = p.string(Field.previousChain).flatMap(Hex.decode) { h = prev }
            seq = s; mac = p.mac
            h = try line.withUnsafeBytes { try AuditChain.chain(previous: h, line: $0, hasher: &chainHasher) }
            count += 1
            if p.type == RecordType.checkpoint { count = 0 }
        }
        sequence = seq; lastMAC = mac; chain = h; sinceCheckpoint = count
        if sound {
            fd = open(activeURL.path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw FIPSError(.auditStorageFailure, "cannot open \(activeURL.path): \(String(cString: strerror(errno)))") }
            fileSize = bytes.count
            var st = stat()
            fstat(fd, &st)
            fileDay = RFC3339.day(Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec)))
            let first = lines.first.flatMap({ ParsedLine($0) })
            fileFirstSequence = first?.sequence ?? 0
            if let ts = first?.string(Field.timestamp), let d = ISO8601DateFormatter.withFractional.date(from: ts) {
                fileDay = RFC3339.day(d)
            }
        } else {
            // Keep the torn file as evidence (verify reports its tail) and continue in a new file.
            let aside = rotatedURL(now: now, firstSequence: 0, suffix: "-torn")
            rename(activeURL.path, aside.path)
            try openNewFile(now: now, previousFile: aside.lastPathComponent)
        }
    }

    func rotatedURL(now: Date, firstSequence: UInt64, suffix: String = "") -> URL {
        let seq = String(firstSequence)
        let padded = String(repeating: "0", count: max(0, 20 - seq.count)) + seq
        return configuration.directory.appendingPathComponent("\(configuration.baseName)-\(RFC3339.compact(now))-\(padded)\(suffix).log")
    }

    private func openNewFile(now: Date, previousFile: String?) throws {
        fd = open(activeURL.path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FIPSError(.auditStorageFailure, "cannot create \(activeURL.path): \(String(cString: strerror(errno)))") }
        fileSize = 0
        fileDay = RFC3339.day(now)
        fileFirstSequence = sequence + 1
        AuditFiles.syncDirectory(configuration.directory)
        beginRecord(now: now, level: "info", message: "audit file started")
        record.string("event.category", "audit"); record.string("event.action", "audit-file-started"); record.string("event.outcome", "success")
        record.number(Field.sequence, sequence + 1)
        endRecordFields(type: RecordType.fileStart)
        record.string(Field.previousMAC, Hex.encode(lastMAC))
        record.string(Field.previousChain, Hex.encode(chain))
        record.number(Field.previousSequence, sequence)
        record.string(Field.previousFile, previousFile)
        _ = try emit(now: now)
        try syncFile()
    }

    /// Starts a new record in ``record``: the fields every record begins with.
    func beginRecord(now: Date, level: String, message: String) {
        record.reset()
        record.timestamp(Field.timestamp, now)
        record.string("log.level", level)
        record.string("message", message)
        record.string("event.kind", "event")
    }

    /// The fields every record carries after its event fields: who wrote it, its type and its MAC epoch.
    func endRecordFields(type: String) {
        record.string("host.name", configuration.hostName)
        record.string("service.name", configuration.serviceName)
        record.number("process.pid", Int(pid))
        record.string(Field.type, type)
        record.number(Field.epoch, epoch)
    }

    func append(_ event: AuditEvent) throws -> UInt64 {
        guard !closed else { throw FIPSError(.auditStorageFailure, "the audit log is closed") }
        let now = configuration.clock.now()
        try rotateIfDue(now: now)
        if now.timeIntervalSince(epochStarted) >= configuration.epochDuration { try advanceEpoch(now: now) }
        let level = event.outcome == .success ? "info" : (event.outcome == .failure ? "warning" : "notice")
        beginRecord(now: now, level: level,
                    message: event.message ?? "\(event.category.identifier) \(event.action) \(event.outcome.rawValue)")
        record.string("event.category", event.category.identifier)
        record.string("event.action", event.action)
        record.string("event.outcome", event.outcome.rawValue)
        record.string("event.reason", event.reason)
        record.number(Field.sequence, sequence + 1)
        record.string("user.name", event.actor)
        record.string("source.ip", event.sourceAddress)
        record.string("trace.id", event.correlationID)
        record.string("fipsaudit.target", event.target)
        record.object("labels", event.metadata, redacting: isSecret)
        endRecordFields(type: RecordType.event)
        let seq = try emit(now: now, level: level, category: event.category.identifier)
        sinceCheckpoint += 1
        if signer != nil && sinceCheckpoint >= configuration.checkpointInterval { try writeCheckpoint(now: now) }
        return seq
    }

    /// Whether a metadata key names a secret (``AuditRedaction/isSecret(_:)``), cached per key name: keys repeat.
    private func isSecret(_ key: String) -> Bool {
        if let known = redactionCache[key] { return known }
        let secret = AuditRedaction.isSecret(key)
        if redactionCache.count < 4096 { redactionCache[key] = secret }
        return secret
    }

    /// MACs, chains and writes the record whose fields are in ``record``; returns its sequence number.
    ///
    /// The body (the closed object) is MACed, the MAC appended as `event.hash` to make the line, the line hashed
    /// into the public chain, and the line written with its newline in one `write`.
    @discardableResult
    private func emit(now: Date, level: String = "info", category: String = "audit") throws -> UInt64 {
        record.close()
        let mac = try record.bytes.withUnsafeBytes { try epochMAC.mac(previous: lastMAC, body: $0) }
        record.appendHash(mac)
        let h = try record.bytes.withUnsafeBytes { try AuditChain.chain(previous: chain, line: $0, hasher: &chainHasher) }
        record.newline()
        guard record.bytes.withUnsafeBytes({ AuditFiles.writeAll(fd, $0) }) else {
            throw FIPSError(.auditStorageFailure, "write to \(activeURL.path) failed: \(String(cString: strerror(errno)))")
        }
        sequence += 1
        lastMAC = mac
        chain = h
        fileSize += record.bytes.count
        dirty = true
        if configuration.sync == .everyRecord { try syncFile() }
        if !shippers.isEmpty {
            let r = AuditShippedRecord(sequence: sequence, timestamp: now, level: level, category: category,
                                       line: Array(record.bytes.dropLast()))
            for s in shippers { s.enqueue(r) }
        }
        return sequence
    }

    func writeCheckpoint(now: Date) throws {
        guard let signer, let signerFingerprint, sinceCheckpoint > 0 else { return }
        let message = AuditChain.checkpointMessage(sequence: sequence, chain: chain, mac: lastMAC)
        let signature = try signer.signature(for: message)
        beginRecord(now: now, level: "info", message: "audit checkpoint")
        record.string("event.category", "audit"); record.string("event.action", "audit-checkpoint"); record.string("event.outcome", "success")
        record.number(Field.sequence, sequence + 1)
        endRecordFields(type: RecordType.checkpoint)
        record.number(Field.checkpointSequence, sequence)
        record.string(Field.checkpointChain, Hex.encode(chain))
        record.string(Field.checkpointMAC, Hex.encode(lastMAC))
        record.string(Field.checkpointAlgorithm, signer.algorithm)
        record.string(Field.checkpointKey, signerFingerprint)
        record.string(Field.checkpointSignature, signature.base64EncodedString())
        try emit(now: now)
        sinceCheckpoint = 0
    }

    private func rotateIfDue(now: Date) throws {
        if fileSize >= configuration.maxFileBytes || (configuration.rotateDaily && RFC3339.day(now) != fileDay) {
            try rotate(now: now)
        }
    }

    func rotate(now: Date) throws {
        try writeCheckpoint(now: now)
        try syncFile()
        Glibc.close(fd); fd = -1
        // The rotated file is named by its first sequence number.
        let rotated = rotatedURL(now: now, firstSequence: fileFirstSequence)
        guard rename(activeURL.path, rotated.path) == 0 else {
            throw FIPSError(.auditStorageFailure, "cannot rotate \(activeURL.path): \(String(cString: strerror(errno)))")
        }
        AuditFiles.syncDirectory(configuration.directory)
        try advanceEpoch(now: now)
        try openNewFile(now: now, previousFile: rotated.lastPathComponent)
        if configuration.compressRotated { _ = AuditFiles.gzip(rotated) }
        applyRetention(now: now)
    }

    /// `K_{i+1} = HKDF(K_i, "audit-epoch")`; the new key is sealed into the state before the old one is dropped.
    func advanceEpoch(now: Date) throws {
        let next = try epochMAC.next()
        epoch += 1
        epochMAC = next
        epochStarted = now
        try saveState()
    }

    func applyRetention(now: Date) {
        var files = AuditFiles.rotatedFiles(in: configuration.directory, baseName: configuration.baseName)
            .map { (url: $0, size: AuditFiles.fileSize($0), mtime: modificationTime($0)) }
        var total = files.reduce(0) { $0 + $1.size }
        while let oldest = files.first {
            let tooOld = configuration.retentionMaxAge.map { now.timeIntervalSince(oldest.mtime) > $0 } ?? false
            let tooMany = configuration.retentionMaxFiles.map { files.count > $0 } ?? false
            let tooBig = configuration.retentionMaxTotalBytes.map { total > $0 } ?? false
            guard tooOld || tooMany || tooBig else { break }
            unlink(oldest.url.path)
            total -= oldest.size
            files.removeFirst()
        }
    }

    /// A rotated file's time: the UTC stamp in its name (the injectable clock's time at rotation).
    private func modificationTime(_ url: URL) -> Date {
        let name = url.lastPathComponent.dropFirst(configuration.baseName.count + 1)
        let stamp = String(name.prefix(19))
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmssSSS'Z'"
        return f.date(from: stamp) ?? Date(timeIntervalSince1970: 0)
    }

    func syncFile() throws {
        guard fd >= 0 else { return }
        guard fsync(fd) == 0 else { throw FIPSError(.auditStorageFailure, "fsync \(activeURL.path) failed: \(String(cString: strerror(errno)))") }
        dirty = false
    }

    func sync(force: Bool) throws {
        guard !closed, dirty || force else { return }
        try syncFile()
        try saveState()
    }

    func saveState() throws {
        lastStateSave = Date()
        let state = AuditState(epoch: epoch, epochStarted: epochStarted.timeIntervalSince1970,
                               sealedKey: try AuditState.seal(epochMAC.key, epoch: epoch, stateKey: stateKey),
                               lastSequence: sequence, lastMAC: Hex.encode(lastMAC), lastChain: Hex.encode(chain),
                               checkpointKey: signerFingerprint)
        try state.save(stateURL)
    }

    func close() throws {
        guard !closed else { return }
        try writeCheckpoint(now: configuration.clock.now())
        try syncFile()
        try saveState()
        Glibc.close(fd); fd = -1
        closed = true
    }
}

extension ISO8601DateFormatter {
    nonisolated(unsafe) static let withFractional: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()
}

func pemEncode(_ der: Data, label: String) -> String {
    let b64 = der.base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
    return "-----BEGIN \(label)-----\n\(b64)\n-----END \(label)-----\n"
}

func pemDecode(_ text: String) -> Data? {
    let body = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    return Data(base64Encoded: body)
}
