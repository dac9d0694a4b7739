import Foundation
import CBenchBaseline

/// Keeps the optimizer from deleting work whose result is unused (package-benchmark's `blackHole`).
@inline(never)
func blackHole<T>(_ value: T) { withExtendedLifetime(value) {} }

/// Monotonic wall-clock nanoseconds.
@inline(__always)
func nowNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// CPU nanoseconds consumed by the calling thread: unlike wall time, it does not count the time the thread sat
/// descheduled while a neighbour ran, so it stays honest on a shared machine.
@inline(__always)
func threadCPUNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// The clock samples are taken with.
enum SampleClock: String, Codable, Sendable {
    case threadCPU = "thread-cpu"
    case wall = "wall"
    @inline(__always)
    func now() -> UInt64 { self == .wall ? nowNanoseconds() : threadCPUNanoseconds() }
}

/// One contender in a benchmark: a name and a body that runs the operation `n` times.
struct Contender {
    /// `c`, `swift-buffer`, `swift-data`, `swift-keyring`, ...
    let implementation: String
    let run: (UInt64) throws -> Void
}

/// The result of one named benchmark for one implementation.
struct Measurement: Codable, Sendable {
    /// `AES.GCM.seal/16KiB`, `HKDF-SHA256.derive/32B`, ...
    var benchmark: String
    /// `c`, `swift-buffer`, `swift-data`, `swift-keyring`.
    var implementation: String
    /// `seal`, `open`, `derive`, `envelope.encrypt`, ...
    var operation: String
    /// Payload bytes per operation (0 when throughput does not apply).
    var bytes: Int
    /// Operations per sample.
    var iterations: UInt64
    /// Nanoseconds per operation, one value per sample (repetition), in run order.
    var samples: [Double]
    /// Percentiles of `samples` (p0 = min, p50 = median, p100 = max).
    var p0: Double
    var p50: Double
    var p90: Double
    var p100: Double
    /// Payload gigabytes (10^9) per second at the median.
    var gigabytesPerSecond: Double
    /// Heap allocations per operation (counted on the calling thread over a separate, untimed run).
    var allocationsPerOperation: Double?

    /// The key `--compare` matches on.
    var key: String { "\(benchmark) [\(implementation)]" }
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = p / 100 * Double(sorted.count - 1)
    let lo = Int(rank.rounded(.down)), hi = Int(rank.rounded(.up))
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - Double(lo))
}

/// Runs contenders of one benchmark interleaved: every repetition runs each once, in a rotating order, so drift
/// in clock speed or neighbour load hits all of them alike.
struct Harness {
    var repetitions: Int
    /// Target wall time of one sample.
    var sampleNanoseconds: Double
    /// Thread CPU time by default; wall time with `--wall-clock`.
    var clock: SampleClock = .threadCPU
    /// Iterations of the untimed allocation-counting run are capped by this much work (bytes).
    var allocationProbeBytes = 8 << 20

    func measure(benchmark: String, operation: String, bytes: Int, _ contenders: [Contender]) throws -> [Measurement] {
        // Warm up and calibrate each contender to about one sample's time.
        var iterations: [UInt64] = []
        for c in contenders {
            try c.run(8)
            var n: UInt64 = 16
            while true {
                let t0 = clock.now(); try c.run(n); let dt = Double(clock.now() - t0)
                if dt >= sampleNanoseconds / 8 || n >= 1 << 30 {
                    iterations.append(max(1, UInt64(Double(n) * sampleNanoseconds / max(dt, 1))))
                    break
                }
                n *= 4
            }
        }
        var samples = [[Double]](repeating: [], count: contenders.count)
        for rep in 0..<repetitions {
            for k in 0..<contenders.count {
                let i = (k + rep) % contenders.count
                let n = iterations[i]
                let t0 = clock.now(); try contenders[i].run(n); let dt = clock.now() - t0
                samples[i].append(Double(dt) / Double(n))
            }
        }
        var out: [Measurement] = []
        for (i, c) in contenders.enumerated() {
            let sorted = samples[i].sorted()
            let p50 = percentile(sorted, 50)
            // Count allocations on this thread over an untimed run (after warm-up, so lazy set-up is excluded).
            let probe = UInt64(max(16, min(1000, allocationProbeBytes / max(bytes, 1))))
            let a0 = cbench_thread_allocations()
            try c.run(probe)
            let allocs = Double(cbench_thread_allocations() - a0) / Double(probe)
            out.append(Measurement(benchmark: benchmark, implementation: c.implementation, operation: operation, bytes: bytes,
                                   iterations: iterations[i], samples: samples[i],
                                   p0: sorted.first ?? .nan, p50: p50, p90: percentile(sorted, 90), p100: sorted.last ?? .nan,
                                   gigabytesPerSecond: bytes > 0 ? Double(bytes) / p50 : 0,
                                   allocationsPerOperation: allocs))
        }
        return out
    }
}
