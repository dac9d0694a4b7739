// fips-bench: the hot encrypt path of FIPSCrypto against the same work written straight on EVP (CBenchBaseline),
// in one process, on the module's own library context and provider. See benchmarks/README.md.
import Foundation
import FIPSCrypto

let usage = """
NAME
    fips-bench — measure FIPSCrypto's AES-GCM and HKDF against a C loop on EVP, same provider, same process

SYNOPSIS
    swift run -c release fips-bench [--quick] [--filter TEXT] [--repetitions N] [--threads N] [--wall-clock]
                                    [--json FILE] [--svg FILE] [--compare BASELINE.json [--max-regression PCT]]

OPTIONS
    --quick                  Fewer sizes' samples and shorter samples: under a minute, for CI smoke runs.
    --filter TEXT            Run only benchmarks whose name contains TEXT, or any of comma-separated TEXTs
                             (e.g. "seal", "/64B,/16KiB", "HKDF", "threads").
    --repetitions N          Interleaved samples per contender (default 15, quick 5).
    --wall-clock             Time samples with the monotonic wall clock instead of the thread's CPU time.
    --threads N              Highest thread count for the scaling run (default: the number of cores).
    --json FILE              Write the full results (every sample, percentiles, allocations, machine) as JSON.
    --svg FILE               Draw throughput against message size, Swift and C, as an SVG chart.
    --compare FILE           Compare medians with an earlier --json file.
    --max-regression PCT     With --compare: exit 1 when any median grew by more than PCT percent (default 10).
    -h, --help               This text.

    The module loads as the library does (FIPSCRYPTO_MODE, FIPSCRYPTO_OPENSSL_CONF, .fips/ search).

EXIT STATUS
    0 done (and no regression); 1 a regression beyond --max-regression; 2 bad arguments or a failed run.
"""

struct Options {
    var quick = false
    var filter: String?
    var repetitions: Int?
    var threads: Int?
    var json: String?
    var svg: String?
    var compare: String?
    var maxRegression = 10.0
    var wallClock = false

    static func parse(_ args: [String]) throws -> Options {
        var o = Options()
        var i = 0
        func value(_ flag: String) throws -> String {
            i += 1
            guard i < args.count else { throw BenchFailure("\(flag) needs a value") }
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--quick": o.quick = true
            case "--filter": o.filter = try value("--filter")
            case "--repetitions":
                guard let n = Int(try value("--repetitions")), n >= 1 else { throw BenchFailure("--repetitions needs a positive integer") }
                o.repetitions = n
            case "--threads":
                guard let n = Int(try value("--threads")), n >= 1 else { throw BenchFailure("--threads needs a positive integer") }
                o.threads = n
            case "--wall-clock": o.wallClock = true
            case "--json": o.json = try value("--json")
            case "--svg": o.svg = try value("--svg")
            case "--compare": o.compare = try value("--compare")
            case "--max-regression":
                guard let p = Double(try value("--max-regression")), p >= 0 else { throw BenchFailure("--max-regression needs a percentage ≥ 0") }
                o.maxRegression = p
            case "-h", "--help": print(usage); exit(0)
            default: throw BenchFailure("unknown argument \(args[i]); see --help")
            }
            i += 1
        }
        return o
    }
}

/// What the module says about itself, flattened for the report.
struct FIPSModuleStatusSnapshot {
    var mode: String, isFIPS: Bool, provider: String, version: String, libcrypto: String
    static func read() -> FIPSModuleStatusSnapshot {
        let s = FIPSModule.status
        return FIPSModuleStatusSnapshot(mode: s.mode?.rawValue ?? "unloaded", isFIPS: s.isFIPS,
                                        provider: s.provider.map { "\($0.name) (\($0.reportedName))" } ?? "none",
                                        version: s.provider?.version ?? "-", libcrypto: s.provider?.libcryptoVersion ?? "-")
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("fips-bench: \(message)\n".utf8))
    exit(2)
}

func main() -> Int32 {
    let options: Options
    do { options = try Options.parse(Array(CommandLine.arguments.dropFirst())) } catch { fail("\(error)") }
    let libctx: OpaquePointer
    do {
        try FIPSModule.load()
        libctx = try FIPSModule.libraryContext()
    } catch { fail("the module did not load: \(error)") }

    let harness = Harness(repetitions: options.repetitions ?? (options.quick ? 5 : 15),
                          sampleNanoseconds: options.quick ? 4e6 : 20e6, clock: options.wallClock ? .wall : .threadCPU)
    func selected(_ name: String) -> Bool {
        options.filter.map { f in f.split(separator: ",").contains { name.localizedCaseInsensitiveContains($0) } } ?? true
    }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    var results: [Measurement] = []
    var scaling: [ScalingPoint] = []
    let started = nowNanoseconds()
    do {
        try verifyGCM(libctx: libctx)
        let sizes = gcmSizes.filter { selected("AES.GCM.seal/\(sizeLabel($0))") || selected("AES.GCM.open/\(sizeLabel($0))") }
        if !sizes.isEmpty {
            results += try gcmBenchmarks(harness, libctx: libctx, sizes: sizes).filter { selected($0.benchmark) }
        }
        results += try extraBenchmarks(harness, libctx: libctx, selected: selected)
        if selected("HKDF-SHA256.deriveKey/32B") { results += try hkdfBenchmark(harness, libctx: libctx) }
        if selected("AuditLog.log") { results += try auditBenchmark(harness) }
        if selected("threads") || options.filter == nil {
            scaling = try scalingBenchmarks(libctx: libctx, sizes: [64, 16 << 10], maxThreads: options.threads ?? cores,
                                            sampleNanoseconds: options.quick ? 40e6 : 200e6, repetitions: options.quick ? 3 : 5)
        }
    } catch { fail("benchmark failed: \(error)") }

    let environment = Environment.current(quick: options.quick, clock: harness.clock)
    let report = Report(environment: environment, results: results, scaling: scaling,
                        targets: checkTargets(results, scaling: scaling, cores: cores))
    print(renderTable(report))
    print(String(format: "\n(run took %.1f s)", Double(nowNanoseconds() - started) / 1e9))

    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    if let path = options.json {
        do { try encoder.encode(report).write(to: URL(fileURLWithPath: path)) } catch { fail("writing \(path): \(error)") }
        print("JSON written to \(path)")
    }
    if let path = options.svg {
        do { try Data(renderSVG(report).utf8).write(to: URL(fileURLWithPath: path)) } catch { fail("writing \(path): \(error)") }
        print("SVG written to \(path)")
    }
    if let path = options.compare {
        let baseline: Report
        do { baseline = try JSONDecoder().decode(Report.self, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            fail("reading baseline \(path): \(error)")
        }
        let (lines, regressions) = compare(report, baseline: baseline, maxPercent: options.maxRegression)
        print("")
        print(lines.joined(separator: "\n"))
        if regressions > 0 { return 1 }
    }
    return 0
}

exit(main())
