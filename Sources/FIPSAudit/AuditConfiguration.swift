import Foundation
import Synchronization

/// The time source of an audit log; tests inject a fake one to drive rotation, retention and epochs.
public protocol AuditClock: Sendable {
    /// The current time.
    /// - Returns: Now.
    func now() -> Date
}

/// The system clock.
public struct SystemAuditClock: AuditClock {
    /// Creates the system clock.
    public init() {}
    /// The current time.
    /// - Returns: `Date()`.
    public func now() -> Date { Date() }
}

/// A clock that only moves when told to (for tests and replay).
public final class ManualAuditClock: AuditClock {
    private let current: Mutex<Date>
    /// Creates a clock stopped at `date`.
    /// - Parameter date: The initial time.
    public init(_ date: Date) { current = Mutex(date) }
    /// The clock's time.
    /// - Returns: The time last set.
    public func now() -> Date { current.withLock { $0 } }
    /// Moves the clock forward.
    /// - Parameter seconds: How far.
    public func advance(by seconds: TimeInterval) { current.withLock { $0 += seconds } }
    /// Sets the clock.
    /// - Parameter date: The new time.
    public func set(_ date: Date) { current.withLock { $0 = date } }
}

/// How an audit log's file sink is set up: durability, rotation, retention, checkpoints and epochs.
///
/// Start from ``standard(directory:)`` and adjust the typed properties.
public struct AuditLogConfiguration: Sendable {
    /// When records reach the disk.
    public enum SyncPolicy: Sendable, Hashable {
        /// `fsync` after every record: nothing acknowledged is ever lost, at the cost of one disk flush per event.
        case everyRecord
        /// `fsync` at most every so many milliseconds (group commit); a crash can lose that window.
        case batched(milliseconds: Int)
    }

    /// The audit directory (created 0700; refused if group or others can access it).
    public var directory: URL
    /// The active file is `<baseName>.log`; rotated files `<baseName>-<UTC stamp>-<first sequence>.log[.gz]`.
    public var baseName: String
    /// ECS `service.name` in every record.
    public var serviceName: String
    /// ECS `host.name` in every record.
    public var hostName: String
    /// The durability policy.
    public var sync: SyncPolicy
    /// Rotate when the active file would grow past this many bytes.
    public var maxFileBytes: Int
    /// Rotate when the UTC day changes.
    public var rotateDaily: Bool
    /// Delete rotated files older than this (`nil`: keep). FedRAMP AU-11 asks for at least 90 days online.
    public var retentionMaxAge: TimeInterval?
    /// Keep at most this many rotated files (`nil`: no limit).
    public var retentionMaxFiles: Int?
    /// Keep rotated files within this many bytes in total (`nil`: no limit).
    public var retentionMaxTotalBytes: Int?
    /// Compress rotated files with the system's `gzip`.
    public var compressRotated: Bool
    /// Write a signed checkpoint after this many records (and at every rotation and close), when a signer is set.
    public var checkpointInterval: Int
    /// Evolve the MAC key after this long (and at every rotation).
    public var epochDuration: TimeInterval
    /// The time source.
    public var clock: any AuditClock

    /// Creates a configuration; see ``standard(directory:)`` for the defaults.
    /// - Parameters:
    ///   - directory: The audit directory.
    ///   - baseName: The files' base name.
    ///   - serviceName: ECS `service.name`.
    ///   - hostName: ECS `host.name`.
    ///   - sync: The durability policy.
    ///   - maxFileBytes: The rotation size.
    ///   - rotateDaily: Rotate at UTC midnight.
    ///   - retentionMaxAge: Maximum age of rotated files.
    ///   - retentionMaxFiles: Maximum number of rotated files.
    ///   - retentionMaxTotalBytes: Maximum total size of rotated files.
    ///   - compressRotated: gzip rotated files.
    ///   - checkpointInterval: Records between checkpoints.
    ///   - epochDuration: Seconds between MAC key evolutions.
    ///   - clock: The time source.
    public init(directory: URL, baseName: String = "audit", serviceName: String = "fipsaudit",
                hostName: String = ProcessInfo.processInfo.hostName, sync: SyncPolicy = .batched(milliseconds: 100),
                maxFileBytes: Int = 64 << 20, rotateDaily: Bool = true, retentionMaxAge: TimeInterval? = 90 * 86_400,
                retentionMaxFiles: Int? = nil, retentionMaxTotalBytes: Int? = nil, compressRotated: Bool = false,
                checkpointInterval: Int = 1000, epochDuration: TimeInterval = 3600, clock: any AuditClock = SystemAuditClock()) {
        self.directory = directory; self.baseName = baseName; self.serviceName = serviceName; self.hostName = hostName
        self.sync = sync; self.maxFileBytes = maxFileBytes; self.rotateDaily = rotateDaily
        self.retentionMaxAge = retentionMaxAge; self.retentionMaxFiles = retentionMaxFiles
        self.retentionMaxTotalBytes = retentionMaxTotalBytes; self.compressRotated = compressRotated
        self.checkpointInterval = checkpointInterval; self.epochDuration = epochDuration; self.clock = clock
    }

    /// The defaults: batched fsync every 100 ms, 64 MiB files, daily rotation, 90 days' retention, a checkpoint
    /// every 1000 records, hourly epochs.
    /// - Parameter directory: The audit directory.
    /// - Returns: The configuration.
    public static func standard(directory: URL) -> AuditLogConfiguration { AuditLogConfiguration(directory: directory) }
}
