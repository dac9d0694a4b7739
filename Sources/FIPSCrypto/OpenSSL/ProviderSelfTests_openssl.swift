import Foundation
import Synchronization
internal import COpenSSL

/// Records the provider's own self-test events, reported through `OSSL_SELF_TEST_set_callback`.
enum ProviderSelfTestRecorder {
    struct Raw: Sendable { var phase: String; var type: String; var desc: String; var at: ContinuousClock.Instant }
    private static let log = Mutex<[Raw]>([])

    static func append(_ raw: Raw) { log.withLock { $0.append(raw) } }

    static func events() -> [Raw] { log.withLock { $0 } }

    /// One entry per test (type + description): its final phase and the time from Start to it.
    static func summary(of list: [Raw]? = nil) -> [ProviderSelfTestEvent] {
        var order: [String] = []
        var open: [String: ContinuousClock.Instant] = [:]
        var done: [String: ProviderSelfTestEvent] = [:]
        // "Corrupt" is the provider asking whether to corrupt a test (we never do); it is not a result.
        for e in (list ?? events()) where e.phase != "Corrupt" {
            let key = e.type + "/" + e.desc
            if done[key] == nil && open[key] == nil { order.append(key) }
            if e.phase == "Start" {
                open[key] = e.at
                if done[key] == nil { done[key] = ProviderSelfTestEvent(type: e.type, description: e.desc, result: "Start", duration: 0) }
            } else {
                let started = open[key] ?? e.at
                // A failure is sticky: a later Pass of the same test does not hide it.
                if done[key]?.result == "Fail" { continue }
                done[key] = ProviderSelfTestEvent(type: e.type, description: e.desc, result: e.phase,
                                                  duration: (e.at - started).seconds)
            }
        }
        return order.compactMap { done[$0] }
    }

    /// Whether any event reports a failure, optionally of one test type.
    static func sawFailure(type: String? = nil) -> Bool {
        events().contains { $0.phase == "Fail" && (type == nil || $0.type == type) }
    }
}

/// The C callback handed to `OSSL_SELF_TEST_set_callback`. It only records; returning 1 lets the test proceed.
let providerSelfTestCallback: @convention(c) (UnsafePointer<OSSL_PARAM>?, UnsafeMutableRawPointer?) -> Int32 = { params, _ in
    guard let params else { return 1 }
    func string(_ key: String) -> String {
        guard let p = OSSL_PARAM_locate_const(params, key) else { return "" }
        var value: UnsafePointer<CChar>? = nil
        guard OSSL_PARAM_get_utf8_string_ptr(p, &value) == 1, let value else { return "" }
        return String(cString: value)
    }
    ProviderSelfTestRecorder.append(.init(phase: string(OSSL_PROV_PARAM_SELF_TEST_PHASE),
                                          type: string(OSSL_PROV_PARAM_SELF_TEST_TYPE),
                                          desc: string(OSSL_PROV_PARAM_SELF_TEST_DESC),
                                          at: .now))
    return 1
}
