internal import COpenSSL

/// The module's DRBG: `RAND_bytes_ex` on the module's library context.
enum DRBG {
    static func fill(_ buffer: UnsafeMutableRawBufferPointer, core: ModuleCore) throws {
        guard buffer.count > 0 else { return }
        if RAND_bytes_ex(core.context, buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), buffer.count, 0) != 1 {
            throw FIPSError.openSSL(.randomFailure, "RAND_bytes_ex")
        }
    }
}
