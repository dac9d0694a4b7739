internal import COpenSSL

/// Drains this thread's OpenSSL error queue (oldest first), leaving it empty for the next call.
package func drainOpenSSLErrors() -> [FIPSError.OpenSSLErrorRecord] {
    var records: [FIPSError.OpenSSLErrorRecord] = []
    while true {
        var file: UnsafePointer<CChar>? = nil
        var function: UnsafePointer<CChar>? = nil
        var data: UnsafePointer<CChar>? = nil
        var line: Int32 = 0
        var flags: Int32 = 0
        let code = ERR_get_error_all(&file, &line, &function, &data, &flags)
        if code == 0 { break }
        let library = ERR_lib_error_string(code).map { String(cString: $0) } ?? "lib(\(ERR_GET_LIB(code)))"
        let reason = ERR_reason_error_string(code).map { String(cString: $0) } ?? "reason(\(ERR_GET_REASON(code)))"
        let text = (flags & ERR_TXT_STRING) != 0 ? (data.map { String(cString: $0) } ?? "") : ""
        records.append(.init(code: UInt(code), library: library, reason: reason,
                             function: function.map { String(cString: $0) } ?? "",
                             file: file.map { String(cString: $0) } ?? "", line: Int(line), data: text))
    }
    return records
}

/// Clears stale entries before an operation, so its failure reports only its own errors.
package func clearOpenSSLErrors() { ERR_clear_error() }

extension FIPSError {
    /// An error for a failed OpenSSL call, carrying the drained error queue.
    /// - Parameters:
    ///   - code: The code to report (``Code/openSSLFailure`` unless the caller knows better).
    ///   - operation: What the library was doing, e.g. `"EVP_EncryptFinal_ex"`.
    package static func openSSL(_ operation: String, file: String = #fileID, line: UInt = #line) -> FIPSError {
        openSSL(.openSSLFailure, operation, file: file, line: line)
    }

    /// An error with a specific code for a failed OpenSSL call, carrying the drained error queue.
    package static func openSSL(_ code: Code, _ operation: String,
                                file: String = #fileID, line: UInt = #line) -> FIPSError {
        FIPSError(code, "\(operation) failed", openSSLErrors: drainOpenSSLErrors(), file: file, line: line)
    }
}

/// Throws ``FIPSError/openSSL(_:_:file:line:)`` unless an OpenSSL call returned 1 (its success value).
@inline(__always)
package func check(_ result: Int32, _ operation: @autoclosure () -> String,
                   code: FIPSError.Code = .openSSLFailure, file: String = #fileID, line: UInt = #line) throws {
    if result != 1 { throw FIPSError.openSSL(code, operation(), file: file, line: line) }
}
