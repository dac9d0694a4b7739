import Foundation

/// The machine and module a run was made on.
struct Environment: Codable, Sendable {
    var cpuModel: String
    var cpuFlags: [String: Bool]
    var cores: Int
    var kernel: String
    var mode: String
    var isFIPS: Bool
    var provider: String
    var providerVersion: String
    var libcrypto: String
    var date: String
    var quick: Bool
    /// The clock the samples were timed with.
    var clock: SampleClock
    /// /proc/loadavg when the run ended: neighbours' load makes wall-clock and thread figures noisy.
    var loadAverage: String

    static func current(quick: Bool, clock: SampleClock) -> Environment {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        func field(_ name: String) -> String {
            for line in cpuinfo.split(separator: "\n") where line.hasPrefix(name) {
                if let colon = line.firstIndex(of: ":") { return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
            }
            return "unknown"
        }
        let flags = Set(field("flags").split(separator: " ").map(String.init))
        var flagMap: [String: Bool] = [:]
        for f in ["aes", "vaes", "vpclmulqdq", "avx512f", "avx2", "pclmulqdq"] { flagMap[f] = flags.contains(f) }
        var u = utsname(); uname(&u)
        let kernel = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        let status = FIPSModuleStatusSnapshot.read()
        return Environment(cpuModel: field("model name"), cpuFlags: flagMap, cores: ProcessInfo.processInfo.activeProcessorCount,
                           kernel: kernel, mode: status.mode, isFIPS: status.isFIPS, provider: status.provider,
                           providerVersion: status.version, libcrypto: status.libcrypto,
                           date: ISO8601DateFormatter().string(from: Date()), quick: quick, clock: clock,
                           loadAverage: ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?")
                               .split(separator: " ").prefix(3).joined(separator: " "))
    }
}

/// Everything one run produced; the `--json` file.
struct Report: Codable, Sendable {
    var tool = "fips-bench"
    var schema = 1
    var environment: Environment
    var results: [Measurement]
    var scaling: [ScalingPoint]
    var targets: [TargetCheck]
}

/// One of issue 5's targets, checked against this run.
struct TargetCheck: Codable, Sendable {
    var name: String
    var measured: String
    var met: Bool
}

func fmtNs(_ ns: Double) -> String {
    if ns.isNaN { return "-" }
    if ns >= 1_000_000 { return String(format: "%.2f ms", ns / 1e6) }
    if ns >= 10_000 { return String(format: "%.1f µs", ns / 1e3) }
    return String(format: "%.0f ns", ns)
}

func pad(_ s: String, _ w: Int, left: Bool = false) -> String {
    let n = s.count
    if n >= w { return s }
    return left ? s + String(repeating: " ", count: w - n) : String(repeating: " ", count: w - n) + s
}

/// The human table: per benchmark, C's median, each Swift variant's median, GB/s, Swift/C throughput ratio,
/// the extra nanoseconds per call and allocations per call.
func renderTable(_ report: Report) -> String {
    var lines: [String] = []
    let e = report.environment
    lines.append("fips-bench — \(e.date)\(e.quick ? " (quick)" : "")")
    let flags = ["aes", "vaes", "vpclmulqdq", "avx512f"].map { "\($0)=\(e.cpuFlags[$0] == true ? "yes" : "no")" }.joined(separator: " ")
    lines.append("machine:  \(e.cpuModel), \(e.cores) cores, Linux \(e.kernel); \(flags)")
    lines.append("clock:    \(e.clock == .wall ? "wall clock" : "thread CPU time") per sample; load average \(e.loadAverage)")
    lines.append("module:   mode \(e.mode)\(e.isFIPS ? " (FIPS)" : " (NOT FIPS)"), provider \(e.provider) \(e.providerVersion), \(e.libcrypto)")
    lines.append("")
    let header = [pad("benchmark", 28, left: true), pad("impl", 13, left: true), pad("p0", 10), pad("p50", 10), pad("p90", 10),
                  pad("GB/s", 7), pad("vs C", 7), pad("+ns/op", 8), pad("allocs", 7)].joined(separator: " ")
    lines.append(header)
    lines.append(String(repeating: "-", count: header.count))
    var byBenchmark: [String: [Measurement]] = [:]
    var order: [String] = []
    for m in report.results {
        if byBenchmark[m.benchmark] == nil { order.append(m.benchmark) }
        byBenchmark[m.benchmark, default: []].append(m)
    }
    for name in order {
        let group = byBenchmark[name]!
        // Ratio and delta against C, or (marked *) against the benchmark's first contender when it has no C side.
        let c = group.first { $0.implementation == "c" }
        let ref = c ?? group.first!
        let mark = c == nil ? "*" : ""
        for (idx, m) in group.enumerated() {
            let isRef = m.implementation == ref.implementation
            let ratio = String(format: "%.3f", ref.p50 / m.p50) + mark
            let delta = String(format: "%+.0f", m.p50 - ref.p50) + mark
            lines.append([pad(idx == 0 ? name : "", 28, left: true), pad(m.implementation, 13, left: true),
                          pad(fmtNs(m.p0), 10), pad(fmtNs(m.p50), 10), pad(fmtNs(m.p90), 10),
                          pad(m.bytes > 0 ? String(format: "%.2f", m.gigabytesPerSecond) : "-", 7),
                          pad(isRef ? "1" + mark : ratio, 7), pad(isRef ? "0" + mark : delta, 8),
                          pad(m.allocationsPerOperation.map { String(format: "%.1f", $0) } ?? "-", 7)].joined(separator: " "))
        }
    }
    lines.append("")
    lines.append("p0/p50/p90: min/median/90th percentile of ns per operation over the interleaved samples; GB/s at p50;")
    lines.append("vs C: C's p50 / this p50 (throughput ratio, 1 = as fast as C); +ns/op: this p50 − C's p50; allocs: heap allocations per call.")
    lines.append("*: no C side; against the benchmark's first contender (Keyring: a bare AES.GCM.seal/open on Data).")
    if !report.scaling.isEmpty {
        lines.append("")
        lines.append("Throughput across threads, AES.GCM.seal on one key (\(e.cores) cores):")
        lines.append([pad("size", 8, left: true), pad("impl", 13, left: true), pad("threads", 7), pad("ops/s", 12), pad("GB/s", 7), pad("scaling", 8)].joined(separator: " "))
        for p in report.scaling {
            lines.append([pad(sizeLabel(p.bytes), 8, left: true), pad(p.implementation, 13, left: true), pad("\(p.threads)", 7),
                          pad(String(format: "%.0f", p.operationsPerSecond), 12), pad(String(format: "%.2f", p.gigabytesPerSecond), 7),
                          pad(String(format: "%.2f×", p.scaling), 8)].joined(separator: " "))
        }
    }
    if !report.targets.isEmpty {
        lines.append("")
        lines.append("Targets (issue 5), judged on p50; p0 shown because it is the figure least moved by neighbours' load:")
        for t in report.targets { lines.append("  \(t.met ? "met " : "MISS") \(t.name): \(t.measured)") }
    }
    return lines.joined(separator: "\n")
}

/// Issue 5's targets against this run's medians.
func checkTargets(_ results: [Measurement], scaling: [ScalingPoint], cores: Int) -> [TargetCheck] {
    func find(_ bench: String, _ impl: String) -> Measurement? { results.first { $0.benchmark == bench && $0.implementation == impl } }
    var out: [TargetCheck] = []
    func ratio(_ op: String, _ size: Int, _ impl: String, atLeast: Double) {
        let b = "AES.GCM.\(op)/\(sizeLabel(size))"
        guard let c = find(b, "c"), let s = find(b, impl) else { return }
        let r = c.p50 / s.p50
        out.append(TargetCheck(name: "\(b) \(impl) ≥ \(Int(atLeast * 100)) % of C",
                               measured: String(format: "%.1f %% at p50 (%.1f %% at p0)", r * 100, c.p0 / s.p0 * 100), met: r >= atLeast))
    }
    func delta(_ op: String, _ size: Int, _ impl: String, atMost: Double) {
        let b = "AES.GCM.\(op)/\(sizeLabel(size))"
        guard let c = find(b, "c"), let s = find(b, impl) else { return }
        let d = s.p50 - c.p50
        out.append(TargetCheck(name: "\(b) \(impl) ≤ +\(Int(atMost)) ns over C",
                               measured: String(format: "%+.0f ns at p50 (%+.0f ns at p0)", d, s.p0 - c.p0), met: d <= atMost))
    }
    for op in ["seal", "open"] {
        ratio(op, 16 << 10, "swift-buffer", atLeast: 0.97)
        ratio(op, 1 << 20, "swift-buffer", atLeast: 0.99)
        delta(op, 64, "swift-buffer", atMost: 10)
        if let s = find("AES.GCM.\(op)/64B", "swift-buffer"), let a = s.allocationsPerOperation {
            out.append(TargetCheck(name: "AES.GCM.\(op) swift-buffer allocates nothing", measured: String(format: "%.2f allocs/call", a), met: a < 0.01))
        }
        ratio(op, 16 << 10, "swift-data", atLeast: 0.85)
        ratio(op, 1 << 20, "swift-data", atLeast: 0.97)
        delta(op, 64, "swift-data", atMost: 200)
    }
    if let k = find("Keyring.encrypt/64B", "swift-keyring"), let s = find("Keyring.encrypt/64B", "swift-data") {
        let d = k.p50 - s.p50
        out.append(TargetCheck(name: "Keyring.encrypt/64B ≤ +150 ns over AES.GCM.seal (Data)",
                               measured: String(format: "%+.0f ns at p50 (%+.0f ns at p0)", d, k.p0 - s.p0), met: d <= 150))
    }
    for p in scaling where p.implementation == "swift-buffer" && p.threads == 2 {
        out.append(TargetCheck(name: "AES.GCM.seal/\(sizeLabel(p.bytes)) 2 threads ≥ 1.8× one thread", measured: String(format: "%.2f×", p.scaling),
                               met: p.scaling >= 1.8))
    }
    return out
}

/// Compares this run with a baseline: a benchmark regresses when its median grew by more than `maxPercent`.
/// Returns the regressions (empty when none).
func compare(_ report: Report, baseline: Report, maxPercent: Double) -> (lines: [String], regressions: Int) {
    var old: [String: Measurement] = [:]
    for m in baseline.results { old[m.key] = m }
    var lines: [String] = ["Compared with the baseline of \(baseline.environment.date) (threshold +\(maxPercent) % on p50):"]
    var regressions = 0
    for m in report.results {
        guard let b = old[m.key] else { lines.append("  new        \(m.key)"); continue }
        let change = (m.p50 - b.p50) / b.p50 * 100
        let bad = change > maxPercent
        if bad { regressions += 1 }
        lines.append("  \(bad ? "REGRESSED" : "ok       ") \(pad(m.key, 46, left: true)) \(pad(fmtNs(b.p50), 10)) → \(pad(fmtNs(m.p50), 10)) \(String(format: "%+6.1f %%", change))")
    }
    lines.append(regressions == 0 ? "No regression." : "\(regressions) regression(s) beyond +\(maxPercent) %.")
    return (lines, regressions)
}

// MARK: - SVG

/// Throughput (GB/s) against payload size on a log₂ x axis: one line per implementation, solid for seal and
/// dashed for open, with axis labels, ticks and a legend. Hand-written SVG, no dependency.
func renderSVG(_ report: Report) -> String {
    let w = 860.0, h = 520.0, left = 80.0, right = 220.0, top = 50.0, bottom = 70.0
    let plotW = w - left - right, plotH = h - top - bottom
    let series: [(impl: String, op: String, color: String, dash: Bool)] = [
        ("c", "seal", "#444444", false), ("swift-buffer", "seal", "#d9480f", false), ("swift-data", "seal", "#1c7ed6", false),
        ("c", "open", "#444444", true), ("swift-buffer", "open", "#d9480f", true), ("swift-data", "open", "#1c7ed6", true),
    ]
    let points = report.results.filter { $0.benchmark.hasPrefix("AES.GCM.") && $0.bytes > 0 }
    guard let minSize = points.map(\.bytes).min(), let maxSize = points.map(\.bytes).max(), maxSize > minSize else {
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"400\" height=\"40\"><text x=\"10\" y=\"25\">no AES-GCM results</text></svg>\n"
    }
    let x0 = log2(Double(minSize)), x1 = log2(Double(maxSize))
    let yMaxRaw = max(points.map(\.gigabytesPerSecond).max() ?? 1, 0.1)
    let yStep = [0.1, 0.2, 0.5, 1, 2, 5, 10].first { yMaxRaw / $0 <= 8 } ?? 20
    let yMax = (yMaxRaw / yStep).rounded(.up) * yStep
    func px(_ size: Int) -> Double { left + (log2(Double(size)) - x0) / (x1 - x0) * plotW }
    func py(_ gbs: Double) -> Double { top + plotH - gbs / yMax * plotH }
    func esc(_ s: String) -> String { s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;") }
    var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    let e = report.environment
    s += "<text x=\"\(left)\" y=\"22\" font-size=\"15\" font-weight=\"bold\">AES-256-GCM throughput: Swift API vs C on EVP (same provider, same process)</text>\n"
    s += "<text x=\"\(left)\" y=\"40\" fill=\"#555\">\(esc(e.cpuModel)), \(e.cores) cores; \(esc(e.provider)) \(esc(e.providerVersion)); 16 B AAD; median of interleaved samples</text>\n"
    // Grid and y ticks.
    var y = 0.0
    while y <= yMax + 1e-9 {
        let yy = py(y)
        s += "<line x1=\"\(left)\" y1=\"\(yy)\" x2=\"\(left + plotW)\" y2=\"\(yy)\" stroke=\"#e5e5e5\"/>\n"
        s += "<text x=\"\(left - 8)\" y=\"\(yy + 4)\" text-anchor=\"end\">\(String(format: yStep < 1 ? "%.1f" : "%.0f", y))</text>\n"
        y += yStep
    }
    // x ticks at every measured size.
    for size in Set(points.map(\.bytes)).sorted() {
        let xx = px(size)
        s += "<line x1=\"\(xx)\" y1=\"\(top)\" x2=\"\(xx)\" y2=\"\(top + plotH)\" stroke=\"#f0f0f0\"/>\n"
        s += "<line x1=\"\(xx)\" y1=\"\(top + plotH)\" x2=\"\(xx)\" y2=\"\(top + plotH + 5)\" stroke=\"black\"/>\n"
        s += "<text x=\"\(xx)\" y=\"\(top + plotH + 19)\" text-anchor=\"middle\">\(sizeLabel(size))</text>\n"
    }
    s += "<line x1=\"\(left)\" y1=\"\(top + plotH)\" x2=\"\(left + plotW)\" y2=\"\(top + plotH)\" stroke=\"black\"/>\n"
    s += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotH)\" stroke=\"black\"/>\n"
    s += "<text x=\"\(left + plotW / 2)\" y=\"\(h - 22)\" text-anchor=\"middle\">message size (bytes, log scale)</text>\n"
    s += "<text transform=\"translate(24 \(top + plotH / 2)) rotate(-90)\" text-anchor=\"middle\">throughput (GB/s, 10⁹ bytes/s)</text>\n"
    // Series and legend.
    var ly = top + 10
    for ser in series {
        let pts = points.filter { $0.implementation == ser.impl && $0.operation == ser.op }.sorted { $0.bytes < $1.bytes }
        guard !pts.isEmpty else { continue }
        let dash = ser.dash ? " stroke-dasharray=\"6 4\"" : ""
        let path = pts.map { "\(px($0.bytes)),\(py($0.gigabytesPerSecond))" }.joined(separator: " ")
        s += "<polyline fill=\"none\" stroke=\"\(ser.color)\" stroke-width=\"2\"\(dash) points=\"\(path)\"/>\n"
        for p in pts {
            s += "<circle cx=\"\(px(p.bytes))\" cy=\"\(py(p.gigabytesPerSecond))\" r=\"3\" fill=\"\(ser.color)\"><title>\(ser.impl) \(ser.op) \(sizeLabel(p.bytes)): \(String(format: "%.2f", p.gigabytesPerSecond)) GB/s, \(fmtNs(p.p50))/op</title></circle>\n"
        }
        let lx = left + plotW + 20
        s += "<line x1=\"\(lx)\" y1=\"\(ly)\" x2=\"\(lx + 30)\" y2=\"\(ly)\" stroke=\"\(ser.color)\" stroke-width=\"2\"\(dash)/>\n"
        let label = ser.impl == "c" ? "C (EVP loop)" : ser.impl == "swift-buffer" ? "Swift, caller buffer" : "Swift, SealedBox/Data"
        s += "<text x=\"\(lx + 38)\" y=\"\(ly + 4)\">\(label) \(ser.op)</text>\n"
        ly += 22
    }
    s += "</svg>\n"
    return s
}
