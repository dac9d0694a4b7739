import Foundation
import FIPSCrypto
import CBenchBaseline

/// Payload sizes measured for AES-GCM.
let gcmSizes = [16, 64, 256, 1024, 16 << 10, 64 << 10, 1 << 20]
let aadCount = 16

func sizeLabel(_ n: Int) -> String {
    if n >= 1 << 20, n % (1 << 20) == 0 { return "\(n >> 20)MiB" }
    if n >= 1 << 10, n % (1 << 10) == 0 { return "\(n >> 10)KiB" }
    return "\(n)B"
}

struct BenchFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Buffers owned for the whole run (freed at exit).
func filledBuffer(_ count: Int, _ byte: UInt8) -> UnsafeMutableRawBufferPointer {
    let p = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 64)
    p.initializeMemory(as: UInt8.self, repeating: byte)
    return UnsafeMutableRawBufferPointer(rebasing: p[0..<count])
}

/// The C reference for one key: fetched cipher and keyed contexts, living as long as the benchmark.
final class CGCM {
    let handle: OpaquePointer
    init(libctx: OpaquePointer, key: [UInt8]) throws {
        guard let h = key.withUnsafeBufferPointer({ cbench_gcm_new(UnsafeMutableRawPointer(libctx), $0.baseAddress!) }) else {
            throw BenchFailure("cbench_gcm_new failed")
        }
        handle = h
    }
    deinit { cbench_gcm_free(handle) }
}

/// AES-GCM seal and open at every size, three contenders each: C on EVP, the caller-buffer API, the Data API.
func gcmBenchmarks(_ harness: Harness, libctx: OpaquePointer, sizes: [Int]) throws -> [Measurement] {
    let keyBytes = [UInt8](repeating: 0x42, count: 32)
    let key = SymmetricKey(data: keyBytes)
    let c = try CGCM(libctx: libctx, key: keyBytes)
    let aad = filledBuffer(aadCount, 0xAA)
    let aadData = Data(aad)
    var results: [Measurement] = []
    for size in sizes {
        let msg = filledBuffer(size, 0x5A)
        let msgData = Data(msg)
        let out = filledBuffer(size + 28, 0)
        let plain = filledBuffer(size, 0)
        defer { msg.deallocate(); out.deallocate(); plain.deallocate() }
        let cptr = c.handle
        let m = UnsafeRawBufferPointer(msg), a = UnsafeRawBufferPointer(aad)

        results += try harness.measure(benchmark: "AES.GCM.seal/\(sizeLabel(size))", operation: "seal", bytes: size, [
            Contender(implementation: "c") { n in
                guard cbench_gcm_seal_loop(cptr, m.baseAddress?.assumingMemoryBound(to: UInt8.self), size,
                                           a.baseAddress?.assumingMemoryBound(to: UInt8.self), aadCount,
                                           out.baseAddress!.assumingMemoryBound(to: UInt8.self), n) == 1 else { throw BenchFailure("C seal failed") }
            },
            Contender(implementation: "swift-buffer") { n in
                for _ in 0..<n { blackHole(try AES.GCM.seal(m, using: key, authenticating: a, into: out)) }
            },
            Contender(implementation: "swift-data") { n in
                for _ in 0..<n { blackHole(try AES.GCM.seal(msgData, using: key, authenticating: aadData)) }
            },
        ])

        // Boxes to open: one sealed by each side (each side's decrypt context uses the same key).
        let box = try AES.GCM.seal(msgData, using: key, authenticating: aadData)
        let boxBuffer = filledBuffer(size + 28, 0)
        defer { boxBuffer.deallocate() }
        box.combined.withUnsafeBytes { boxBuffer.copyMemory(from: $0) }
        let b = UnsafeRawBufferPointer(boxBuffer)
        guard cbench_gcm_open_loop(cptr, b.baseAddress!.assumingMemoryBound(to: UInt8.self), size + 28,
                                   a.baseAddress?.assumingMemoryBound(to: UInt8.self), aadCount,
                                   plain.baseAddress?.assumingMemoryBound(to: UInt8.self), 1) == 1,
              plain.elementsEqual(msg) else { throw BenchFailure("C could not open a box sealed by Swift") }

        results += try harness.measure(benchmark: "AES.GCM.open/\(sizeLabel(size))", operation: "open", bytes: size, [
            Contender(implementation: "c") { n in
                guard cbench_gcm_open_loop(cptr, b.baseAddress!.assumingMemoryBound(to: UInt8.self), size + 28,
                                           a.baseAddress?.assumingMemoryBound(to: UInt8.self), aadCount,
                                           plain.baseAddress?.assumingMemoryBound(to: UInt8.self), n) == 1 else { throw BenchFailure("C open failed") }
            },
            Contender(implementation: "swift-buffer") { n in
                for _ in 0..<n { blackHole(try AES.GCM.open(b, using: key, authenticating: a, into: plain)) }
            },
            Contender(implementation: "swift-data") { n in
                for _ in 0..<n { blackHole(try AES.GCM.open(box, using: key, authenticating: aadData)) }
            },
        ])
    }
    aad.deallocate()
    withExtendedLifetime(c) {}
    return results
}

/// HKDF-SHA-256, 32 bytes out, 32-byte input key, 16-byte salt, 16-byte info.
func hkdfBenchmark(_ harness: Harness, libctx: OpaquePointer) throws -> [Measurement] {
    let ikmBytes = [UInt8](repeating: 0x0B, count: 32)
    let salt = [UInt8](repeating: 0x01, count: 16), info = [UInt8](repeating: 0x02, count: 16)
    let ikm = SymmetricKey(data: ikmBytes)
    guard let h = cbench_hkdf_new(UnsafeMutableRawPointer(libctx)) else { throw BenchFailure("cbench_hkdf_new failed") }
    defer { cbench_hkdf_free(h) }
    var out = [UInt8](repeating: 0, count: 32)
    // Sanity: both sides derive the same key.
    guard cbench_hkdf_loop(h, ikmBytes, 32, salt, 16, info, 16, &out, 32, 1) == 1 else { throw BenchFailure("C HKDF failed") }
    let swiftKey = try HKDF<SHA256>.deriveKey(inputKeyMaterial: ikm, salt: salt, info: info, outputByteCount: 32)
    guard swiftKey.withUnsafeBytes({ Array($0) }) == out else { throw BenchFailure("HKDF: Swift and C disagree") }
    return try harness.measure(benchmark: "HKDF-SHA256.deriveKey/32B", operation: "derive", bytes: 0, [
        Contender(implementation: "c") { n in
            guard cbench_hkdf_loop(h, ikmBytes, 32, salt, 16, info, 16, &out, 32, n) == 1 else { throw BenchFailure("C HKDF failed") }
        },
        Contender(implementation: "swift-data") { n in
            for _ in 0..<n { blackHole(try HKDF<SHA256>.deriveKey(inputKeyMaterial: ikm, salt: salt, info: info, outputByteCount: 32)) }
        },
    ])
}

/// Aggregate throughput of `threads` threads sealing with the same key.
struct ScalingPoint: Codable, Sendable {
    var implementation: String
    var bytes: Int
    var threads: Int
    /// Operations per second, all threads together (median of the repetitions).
    var operationsPerSecond: Double
    var gigabytesPerSecond: Double
    /// Throughput relative to one thread.
    var scaling: Double
}

final class Box<T>: @unchecked Sendable { var value: T; init(_ v: T) { value = v } }

/// Runs `body(threadIndex)` on `threads` threads started together; returns the wall time in nanoseconds.
func runThreads(_ threads: Int, _ body: @escaping @Sendable (Int) -> Void) -> UInt64 {
    let ready = DispatchSemaphore(value: 0), go = DispatchSemaphore(value: 0), done = DispatchGroup()
    for t in 0..<threads {
        done.enter()
        let thread = Thread { ready.signal(); go.wait(); body(t); done.leave() }
        thread.start()
    }
    for _ in 0..<threads { ready.wait() }
    let t0 = nowNanoseconds()
    for _ in 0..<threads { go.signal() }
    done.wait()
    return nowNanoseconds() - t0
}

func scalingBenchmarks(libctx: OpaquePointer, sizes: [Int], maxThreads: Int, sampleNanoseconds: Double,
                       repetitions: Int) throws -> [ScalingPoint] {
    let keyBytes = [UInt8](repeating: 0x42, count: 32)
    let key = SymmetricKey(data: keyBytes)
    let ctxBits = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(libctx)))
    var points: [ScalingPoint] = []
    for size in sizes {
        // Calibrate on one thread with the Swift caller-buffer API.
        let probe = filledBuffer(size, 1), probeOut = filledBuffer(size + 28, 0), probeAAD = filledBuffer(aadCount, 2)
        var n: UInt64 = 64
        while true {
            let t0 = nowNanoseconds()
            for _ in 0..<n { _ = try AES.GCM.seal(UnsafeRawBufferPointer(probe), using: key, authenticating: UnsafeRawBufferPointer(probeAAD), into: probeOut) }
            let dt = Double(nowNanoseconds() - t0)
            if dt > sampleNanoseconds / 8 { n = max(1, UInt64(Double(n) * sampleNanoseconds / dt)); break }
            n *= 4
        }
        probe.deallocate(); probeOut.deallocate(); probeAAD.deallocate()
        let iterations = n
        for implementation in ["c", "swift-buffer"] {
            var base = 0.0
            for threads in 1...maxThreads {
                let failed = Box(false)
                var rates: [Double] = []
                for _ in 0..<repetitions {
                    let wall = runThreads(threads) { _ in
                        let msg = filledBuffer(size, 0x5A), out = filledBuffer(size + 28, 0), aad = filledBuffer(aadCount, 0xAA)
                        defer { msg.deallocate(); out.deallocate(); aad.deallocate() }
                        if implementation == "c" {
                            // EVP contexts are not shared between threads: each thread keys its own (as a C service would).
                            guard let g = keyBytes.withUnsafeBufferPointer({ cbench_gcm_new(UnsafeMutableRawPointer(bitPattern: ctxBits)!, $0.baseAddress!) }) else {
                                failed.value = true; return
                            }
                            defer { cbench_gcm_free(g) }
                            if cbench_gcm_seal_loop(g, UnsafeRawBufferPointer(msg).baseAddress?.assumingMemoryBound(to: UInt8.self), size,
                                                    UnsafeRawBufferPointer(aad).baseAddress?.assumingMemoryBound(to: UInt8.self), aadCount,
                                                    out.baseAddress!.assumingMemoryBound(to: UInt8.self), iterations) != 1 { failed.value = true }
                        } else {
                            do {
                                for _ in 0..<iterations {
                                    blackHole(try AES.GCM.seal(UnsafeRawBufferPointer(msg), using: key, authenticating: UnsafeRawBufferPointer(aad), into: out))
                                }
                            } catch { failed.value = true }
                        }
                    }
                    rates.append(Double(threads) * Double(iterations) / (Double(wall) / 1e9))
                }
                if failed.value { throw BenchFailure("thread scaling: \(implementation) failed") }
                let ops = percentile(rates.sorted(), 50)
                if threads == 1 { base = ops }
                points.append(ScalingPoint(implementation: implementation, bytes: size, threads: threads, operationsPerSecond: ops,
                                           gigabytesPerSecond: ops * Double(size) / 1e9, scaling: ops / base))
            }
        }
    }
    return points
}

/// Before timing anything: both sides must agree. Swift opens what C sealed and C opens what Swift sealed, at
/// sizes around the block boundaries, through both APIs; a flipped tag bit must fail authentication.
func verifyGCM(libctx: OpaquePointer) throws {
    let keyBytes = (0..<32).map { UInt8($0) }
    let key = SymmetricKey(data: keyBytes)
    let c = try CGCM(libctx: libctx, key: keyBytes)
    let aad: [UInt8] = Array(repeating: 0xAA, count: aadCount)
    for size in [0, 1, 15, 16, 17, 64, 1000] {
        let msg = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var cBox = [UInt8](repeating: 0, count: size + 28)
        guard cbench_gcm_seal_loop(c.handle, msg, size, aad, aadCount, &cBox, 1) == 1 else { throw BenchFailure("C seal failed") }
        // Swift opens C's box through both APIs.
        var plain = [UInt8](repeating: 0, count: max(size, 1))
        let n = try cBox.withUnsafeBytes { b in try aad.withUnsafeBytes { a in try plain.withUnsafeMutableBytes {
            try AES.GCM.open(b, using: key, authenticating: a, into: $0) } } }
        guard n == size, Array(plain.prefix(n)) == msg,
              try AES.GCM.open(AES.GCM.SealedBox(combined: cBox), using: key, authenticating: aad) == Data(msg) else {
            throw BenchFailure("Swift did not open C's box at \(size) bytes")
        }
        // C opens Swift's box.
        let box = try AES.GCM.seal(msg, using: key, authenticating: aad)
        let sBox = [UInt8](box.combined)
        guard cbench_gcm_open_loop(c.handle, sBox, sBox.count, aad, aadCount, &plain, 1) == 1, Array(plain.prefix(size)) == msg else {
            throw BenchFailure("C did not open Swift's box at \(size) bytes")
        }
        // A flipped tag bit fails, through both APIs.
        var bad = sBox; bad[bad.count - 1] ^= 1
        do {
            _ = try AES.GCM.open(AES.GCM.SealedBox(combined: bad), using: key, authenticating: aad)
            throw BenchFailure("a forged box opened at \(size) bytes")
        } catch let e as FIPSError where e.code == .authenticationFailure {}
        do {
            _ = try bad.withUnsafeBytes { b in try aad.withUnsafeBytes { a in try plain.withUnsafeMutableBytes {
                try AES.GCM.open(b, using: key, authenticating: a, into: $0) } } }
            throw BenchFailure("a forged box opened into a buffer at \(size) bytes")
        } catch let e as FIPSError where e.code == .authenticationFailure {}
    }
}
