import Foundation
import FIPSCrypto
internal import CSQLite

/// SQLite's "transient" destructor: SQLite copies bound bytes before the bind call returns.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection (`sqlite3 *`), owned by this object and closed in `deinit`.
///
/// The vault's only door to SQLite. It opens the database with the settings the vault relies on — WAL journal,
/// `secure_delete=ON`, `temp_store=MEMORY`, a busy timeout for multi-process access, `synchronous=FULL` — and
/// reads each setting back, failing if SQLite did not take it. Errors become ``FIPSError`` with code
/// ``FIPSError/Code/databaseFailure`` and SQLite's own message; bound values never appear in them.
final class SQLiteConnection {
    private let db: OpaquePointer
    let path: String

    /// Opens (creating if needed) the database at `path`.
    /// - Parameters:
    ///   - path: The database file.
    ///   - busyTimeoutMilliseconds: How long a statement waits for another connection's lock.
    /// - Throws: ``FIPSError/Code/databaseFailure`` if SQLite cannot open or configure the file.
    init(path: String, busyTimeoutMilliseconds: Int32) throws {
        var handle: OpaquePointer? = nil
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            if let handle { sqlite3_close_v2(handle) }
            throw FIPSError(.databaseFailure, "cannot open the vault database \(path): \(message) (SQLite \(rc))")
        }
        self.db = handle
        self.path = path
        sqlite3_extended_result_codes(db, 1)
        try check(sqlite3_busy_timeout(db, busyTimeoutMilliseconds), "sqlite3_busy_timeout")
        // Settings the vault's guarantees depend on; each one is set, then read back.
        try execute("PRAGMA secure_delete = ON")
        try execute("PRAGMA temp_store = MEMORY")
        try execute("PRAGMA journal_mode = WAL")
        try execute("PRAGMA synchronous = FULL")
        try execute("PRAGMA foreign_keys = ON")
        try expectPragma("secure_delete", returns: "1")
        try expectPragma("temp_store", returns: "2")
        try expectPragma("journal_mode", returns: "wal")
        try expectPragma("synchronous", returns: "2")
    }

    deinit { sqlite3_close_v2(db) }

    /// Runs `PRAGMA <pragma>` and fails unless its single result is `expected`.
    private func expectPragma(_ pragma: String, returns expected: String) throws {
        let s = try prepare("PRAGMA \(pragma)")
        let value = try s.step() ? s.text(0) : nil
        guard value?.lowercased() == expected else {
            throw FIPSError(.databaseFailure, "SQLite refused PRAGMA \(pragma): got \(value ?? "nothing"), expected \(expected)")
        }
    }

    /// Throws ``FIPSError/Code/databaseFailure`` with SQLite's message unless `rc` is `SQLITE_OK`.
    func check(_ rc: Int32, _ what: String) throws {
        guard rc == SQLITE_OK else { throw failure(rc, what) }
    }

    /// The error for a failed call: SQLite's message for this connection, never any bound value.
    func failure(_ rc: Int32, _ what: String) -> FIPSError {
        let message = String(cString: sqlite3_errmsg(db))
        return FIPSError(.databaseFailure, "\(what) failed: \(message) (SQLite \(rc))")
    }

    /// Runs one or more statements with no parameters and no results.
    func execute(_ sql: String) throws {
        try check(sqlite3_exec(db, sql, nil, nil, nil), "SQL '\(sql.prefix(60))'")
    }

    /// Compiles one statement.
    func prepare(_ sql: String) throws -> SQLiteStatement {
        var stmt: OpaquePointer? = nil
        let rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            if let stmt { sqlite3_finalize(stmt) }
            throw failure(rc, "prepare '\(sql.prefix(60))'")
        }
        return SQLiteStatement(stmt, connection: self)
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT` (the write lock is taken up front, so the busy timeout
    /// applies and no deadlock can arise from a read lock upgraded later); rolls back if `body` throws.
    func writeTransaction<R>(_ body: () throws -> R) throws -> R {
        try execute("BEGIN IMMEDIATE")
        do {
            let r = try body()
            try execute("COMMIT")
            return r
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` inside a deferred read transaction (one consistent snapshot).
    func readTransaction<R>(_ body: () throws -> R) throws -> R {
        try execute("BEGIN")
        defer { try? execute("COMMIT") }
        return try body()
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int { Int(sqlite3_changes(db)) }

    /// Writes the WAL back into the database file and truncates the WAL (`wal_checkpoint(TRUNCATE)`).
    func checkpoint() throws {
        var logFrames: Int32 = 0, checkpointed: Int32 = 0
        try check(sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_TRUNCATE, &logFrames, &checkpointed),
                  "sqlite3_wal_checkpoint_v2")
    }
}

/// One compiled statement (`sqlite3_stmt *`), owned by this object and finalized in `deinit`.
final class SQLiteStatement {
    private let stmt: OpaquePointer
    private let connection: SQLiteConnection

    fileprivate init(_ stmt: OpaquePointer, connection: SQLiteConnection) {
        self.stmt = stmt
        self.connection = connection
    }

    deinit { sqlite3_finalize(stmt) }

    /// Binds a value to the 1-based parameter `index`; `nil` binds NULL.
    func bind(_ index: Int32, _ value: String?) throws {
        guard let value else { return try connection.check(sqlite3_bind_null(stmt, index), "sqlite3_bind_null") }
        try connection.check(sqlite3_bind_text(stmt, index, value, -1, transient), "sqlite3_bind_text")
    }

    func bind(_ index: Int32, _ value: Int) throws {
        try connection.check(sqlite3_bind_int64(stmt, index, sqlite3_int64(value)), "sqlite3_bind_int64")
    }

    func bind(_ index: Int32, _ value: Double) throws {
        try connection.check(sqlite3_bind_double(stmt, index, value), "sqlite3_bind_double")
    }

    /// Binds bytes (only ever ciphertext in the vault); `nil` binds NULL.
    func bind(_ index: Int32, _ value: Data?) throws {
        guard let value else { return try connection.check(sqlite3_bind_null(stmt, index), "sqlite3_bind_null") }
        let rc = value.withUnsafeBytes { b in
            // A zero-length blob still needs a non-NULL pointer or SQLite stores NULL.
            sqlite3_bind_blob64(stmt, index, b.baseAddress ?? UnsafeRawPointer(bitPattern: 1), sqlite3_uint64(b.count), transient)
        }
        try connection.check(rc, "sqlite3_bind_blob64")
    }

    /// Steps once: `true` if a row is ready, `false` when done.
    func step() throws -> Bool {
        let rc = sqlite3_step(stmt)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.failure(rc, "sqlite3_step")
        }
    }

    /// Steps to completion (for statements that return no rows).
    func run() throws {
        while try step() {}
    }

    /// Clears bindings and rewinds the statement for reuse.
    func reset() throws {
        sqlite3_reset(stmt)
        try connection.check(sqlite3_clear_bindings(stmt), "sqlite3_clear_bindings")
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_NULL }

    func text(_ column: Int32) -> String? {
        guard let p = sqlite3_column_text(stmt, column) else { return nil }
        return String(cString: p)
    }

    func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(stmt, column)) }

    func double(_ column: Int32) -> Double { sqlite3_column_double(stmt, column) }

    func blob(_ column: Int32) -> Data? {
        if isNull(column) { return nil }
        let n = Int(sqlite3_column_bytes(stmt, column))
        guard n > 0, let p = sqlite3_column_blob(stmt, column) else { return Data() }
        return Data(bytes: p, count: n)
    }
}
