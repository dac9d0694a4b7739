import Foundation

/// Random bytes from the module's DRBG (SP 800-90A, served by the FIPS provider in the module's library context).
public enum SecureRandom {
    /// Returns `count` random bytes.
    /// - Parameter count: How many bytes (0 ... 1 MiB per call).
    /// - Returns: The bytes.
    /// - Throws: ``FIPSError`` if the module is not operational, `count` is out of range, or the DRBG fails.
    public static func bytes(count: Int) throws -> Data {
        let core = try ModuleRuntime.operational()
        guard count >= 0 && count <= 1 << 20 else {
            throw FIPSError(.invalidParameter, "random byte count \(count) is outside 0 ... 1048576")
        }
        var out = Data(count: count)
        try out.withUnsafeMutableBytes { try DRBG.fill($0, core: core) }
        return out
    }

    /// Fills a caller's buffer with random bytes.
    /// - Parameter buffer: The memory to fill.
    /// - Throws: ``FIPSError`` if the module is not operational or the DRBG fails.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer) throws {
        try DRBG.fill(buffer, core: try ModuleRuntime.operational())
    }
}

/// A `RandomNumberGenerator` drawing from the module's DRBG, for `Int.random(in:using:)` and friends.
///
/// - Warning: `RandomNumberGenerator.next()` cannot throw; a DRBG failure traps (fail closed).
public struct FIPSRandomNumberGenerator: RandomNumberGenerator, Sendable {
    /// Creates the generator.
    public init() {}
    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        var v: UInt64 = 0
        do { try withUnsafeMutableBytes(of: &v) { try SecureRandom.fill($0) } } catch {
            preconditionFailure("the module's DRBG failed: \(error)")
        }
        return v
    }
}
