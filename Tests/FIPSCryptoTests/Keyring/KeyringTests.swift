import Foundation
import Synchronization
import XCTest
import FIPSCrypto
import FIPSTestSupport

/// Collects SecurityEvents raised while a test runs.
final class KeyringEventRecorder: Sendable {
    private let token: UInt64
    private let sink: KeyringEventSink
    init() {
        let sink = KeyringEventSink()
        token = SecurityEvents.addHandler { e in sink.add(e) }
        self.sink = sink
    }
    var all: [SecurityEvent] { sink.all }
    func stop() { SecurityEvents.removeHandler(token) }
    deinit { SecurityEvents.removeHandler(token) }
}

final class KeyringEventSink: Sendable {
    private let events = Mutex<[SecurityEvent]>([])
    func add(_ e: SecurityEvent) { events.withLock { $0.append(e) } }
    var all: [SecurityEvent] { events.withLock { $0 } }
}

func assertKeyringError<T>(_ code: FIPSError.Code, _ body: @autoclosure () throws -> T, _ message: String = "",
                           file: StaticString = #filePath, line: UInt = #line) {
    do {
        let v = try body()
        XCTFail("expected \(code), got a value \(v) \(message)", file: file, line: line)
    } catch let e as FIPSError {
        XCTAssertEqual(e.code, code, "\(e) \(message)", file: file, line: line)
    } catch {
        XCTFail("expected FIPSError \(code), got \(error) \(message)", file: file, line: line)
    }
}

final class KeyringTests: XCTestCase {
    override func setUpWithError() throws { try FIPSModule.load() }

    let message = Data("attack at dawn".utf8)

    func testRoundTripWithAndWithoutAAD() throws {
        let ring = try Keyring.generate()
        XCTAssertEqual(ring.primaryVersion, 1)
        let e = try ring.encrypt(message, context: "users.email")
        XCTAssertEqual(e.count, message.count + 73)
        XCTAssertEqual(try ring.decrypt(e, context: "users.email"), message)
        let aad = Data("row 17".utf8)
        let e2 = try ring.encrypt(message, context: "users.email", authenticating: aad)
        XCTAssertEqual(try ring.decrypt(e2, context: "users.email", authenticating: aad), message)
        // non-contiguous input (DispatchData with two regions) and an empty message
        var dd = DispatchData.empty
        message.prefix(5).withUnsafeBytes { dd.append($0) }
        message.dropFirst(5).withUnsafeBytes { dd.append($0) }
        let e3 = try ring.encrypt(dd, context: "c", authenticating: dd)
        XCTAssertEqual(try ring.decrypt(e3, context: "c", authenticating: message), message)
        XCTAssertEqual(try ring.decrypt(try ring.encrypt(Data(), context: "c"), context: "c"), Data())
        // two seals of the same message differ (fresh IV)
        XCTAssertNotEqual(try ring.encrypt(message, context: "c"), try ring.encrypt(message, context: "c"))
        XCTAssertEqual(ring.versions.first?.sealCount, 6)
    }

    func testNonContiguousInputEverywhere() throws {
        let ring = try Keyring.generate()
        let aad = Array("row 5".utf8)
        let e = Array(try ring.encrypt(TestSupport.nonContiguous(Array(message)), context: "nc",
                                       authenticating: TestSupport.nonContiguous(aad)))
        let nce = TestSupport.nonContiguous(e, cuts: [3, 20, 50, 60])
        XCTAssertEqual(try ring.decrypt(nce, context: "nc", authenticating: TestSupport.nonContiguous(aad)), message)
        XCTAssertEqual(try Keyring.keyVersion(of: nce), 1)
        XCTAssertEqual(ring.census([nce, TestSupport.nonContiguous([1, 2, 3])]), [1: 1, -1: 1])
        try ring.rotate()
        let moved = try ring.rewrap(nce, context: "nc", authenticating: TestSupport.nonContiguous(aad, cuts: [2]))
        XCTAssertEqual(try Keyring.keyVersion(of: moved), 2)
        XCTAssertEqual(try ring.decrypt(moved, context: "nc", authenticating: aad), message)
        let plainNC = try ring.encrypt(TestSupport.nonContiguous(Array(message), cuts: [1, 2]), context: "nc")
        XCTAssertEqual(try ring.decrypt(TestSupport.nonContiguous(Array(plainNC), cuts: [10]), context: "nc"), message)
    }

    func testEnvelopeLayout() throws {
        let ring = try Keyring.generate()
        try ring.rotate(); try ring.rotate()
        let e = Array(try ring.encrypt(message, context: "layout"))
        XCTAssertEqual(Array(e[0..<4]), Array("FCEv".utf8))
        XCTAssertEqual(e[4], 1)
        XCTAssertEqual(Array(e[5..<9]), [0, 0, 0, 3])
        // context tag = SHA-256("layout")[0..<4] (the independent python3 reader in KeyCLITests checks it too)
        XCTAssertEqual(Array(e[9..<13]), Array(SHA256.hash(data: Array("layout".utf8)).prefix(4)))
        XCTAssertEqual(try Keyring.keyVersion(of: e), 3)
    }

    func testRotationRetireReinstateDestroy() throws {
        let ring = try Keyring.generate()
        let events = KeyringEventRecorder()
        let v1 = try ring.encrypt(message, context: "ctx")
        for expected in 2...5 { XCTAssertEqual(try ring.rotate(), expected) }
        XCTAssertEqual(ring.primaryVersion, 5)
        XCTAssertEqual(try ring.decrypt(v1, context: "ctx"), message)
        XCTAssertEqual(try Keyring.keyVersion(of: try ring.encrypt(message, context: "ctx")), 5)

        try ring.retire(version: 1)
        assertKeyringError(.keyVersionUnavailable, try ring.decrypt(v1, context: "ctx"))
        XCTAssertEqual(ring.versions[0].state, .retired)
        try ring.reinstate(version: 1)
        XCTAssertEqual(try ring.decrypt(v1, context: "ctx"), message)

        try ring.destroy(version: 1)
        assertKeyringError(.keyVersionUnavailable, try ring.decrypt(v1, context: "ctx"))
        assertKeyringError(.invalidKeyringState, try ring.reinstate(version: 1))
        assertKeyringError(.keyVersionUnavailable, try ring.decrypt(v1, context: "ctx"))
        assertKeyringError(.keyVersionUnavailable, try ring.deriveKey(purpose: "audit", version: 1))
        XCTAssertEqual(ring.versions[0].state, .destroyed)

        // primary cannot be retired or destroyed
        assertKeyringError(.invalidKeyringState, try ring.retire(version: 5))
        assertKeyringError(.invalidKeyringState, try ring.destroy(version: 5))
        assertKeyringError(.unknownKeyVersion, try ring.retire(version: 9))
        try ring.retire(below: 5)
        XCTAssertEqual(ring.versions.map(\.state), [.destroyed, .retired, .retired, .retired, .active])
        assertKeyringError(.invalidKeyringState, try ring.retire(below: 6))

        let actions = events.all.filter { $0.category == .keyManagement }.map(\.action)
        XCTAssertEqual(actions.filter { $0 == "key-rotated" }.count, 4)
        XCTAssertTrue(actions.contains("key-retired") && actions.contains("key-destroyed") && actions.contains("key-reinstated"))
        XCTAssertTrue(events.all.contains { $0.action == "key-destroyed" && $0.metadata["key.version"] == "1" })
        let failures = events.all.filter { $0.category == .cryptoFailure && $0.action == "decrypt-failed" }
        XCTAssertGreaterThanOrEqual(failures.count, 3)
        XCTAssertEqual(failures.first?.metadata["key.version"], "1")
        events.stop()
    }

    func testMinimumVersions() throws {
        let ring = try Keyring.generate()
        let v1 = try ring.encrypt(message, context: "ctx")
        try ring.rotate()
        let v2 = try ring.encrypt(message, context: "ctx")
        try ring.setMinimumDecryptionVersion(2)
        assertKeyringError(.keyVersionTooOld, try ring.decrypt(v1, context: "ctx"))
        XCTAssertEqual(try ring.decrypt(v2, context: "ctx"), message)
        assertKeyringError(.invalidKeyringState, try ring.setMinimumDecryptionVersion(3))
        assertKeyringError(.invalidKeyringState, try ring.setMinimumEncryptionVersion(0))
        try ring.setMinimumDecryptionVersion(1)
        XCTAssertEqual(try ring.decrypt(v1, context: "ctx"), message)
        try ring.setMinimumEncryptionVersion(2)
        XCTAssertEqual(ring.minimumEncryptionVersion, 2)
        assertKeyringError(.keyVersionTooOld, try ring.rewrap(v2, context: "ctx", authenticating: Data(), toVersion: 1))
        assertKeyringError(.keyVersionTooOld, try ring.promote(version: 1))
    }

    func testStagedRotation() throws {
        let ring = try Keyring.generate()
        XCTAssertEqual(try ring.addVersion(), 2)
        XCTAssertEqual(ring.primaryVersion, 1)
        XCTAssertEqual(try Keyring.keyVersion(of: try ring.encrypt(message, context: "c")), 1)
        XCTAssertEqual(ring.versions.map(\.isPrimary), [true, false])
        try ring.promote(version: 2)
        XCTAssertEqual(try Keyring.keyVersion(of: try ring.encrypt(message, context: "c")), 2)
        assertKeyringError(.unknownKeyVersion, try ring.promote(version: 7))
        try ring.retire(version: 1)
        assertKeyringError(.keyVersionUnavailable, try ring.promote(version: 1))
    }

    func testRewrapAndCensus() throws {
        let ring = try Keyring.generate()
        let aad = Data("id=4".utf8)
        var envelopes: [Data] = []
        for i in 0..<3 { envelopes.append(try ring.encrypt(Data("m\(i)".utf8), context: "c", authenticating: aad)) }
        try ring.rotate()
        for i in 3..<5 { envelopes.append(try ring.encrypt(Data("m\(i)".utf8), context: "c", authenticating: aad)) }
        envelopes.append(Data("garbage".utf8))
        XCTAssertEqual(ring.census(envelopes), [1: 3, 2: 2, -1: 1])

        let rewrapped = try envelopes.prefix(5).map { try ring.rewrap($0, context: "c", authenticating: aad) }
        XCTAssertEqual(ring.census(rewrapped), [2: 5])
        for (i, e) in rewrapped.enumerated() { XCTAssertEqual(try ring.decrypt(e, context: "c", authenticating: aad), Data("m\(i)".utf8)) }
        // idempotent: already under the primary → unchanged
        XCTAssertEqual(try ring.rewrap(rewrapped[0], context: "c", authenticating: aad), rewrapped[0])
        // rewrap of a tampered envelope fails and moves nothing
        var bad = envelopes[0]; bad[bad.count - 1] ^= 1
        assertKeyringError(.authenticationFailure, try ring.rewrap(bad, context: "c", authenticating: aad))
        assertKeyringError(.authenticationFailure, try ring.rewrap(envelopes[0], context: "c", authenticating: Data("x".utf8)))
        // back to v1 explicitly
        let back = try ring.rewrap(rewrapped[0], context: "c", authenticating: aad, toVersion: 1)
        XCTAssertEqual(try Keyring.keyVersion(of: back), 1)
    }

    func testBadInputsEachTyped() throws {
        let ring = try Keyring.generate()
        let aad = Data("aad".utf8)
        let good = try ring.encrypt(message, context: "ctx", authenticating: aad)
        func open(_ e: Data, context: String = "ctx", aad: Data = aad) throws -> Data {
            try ring.decrypt(e, context: context, authenticating: aad)
        }
        func flipped(_ i: Int) -> Data { var d = good; d[i] ^= 0x01; return d }
        assertKeyringError(.invalidEncoding, try open(Data()))
        assertKeyringError(.invalidEncoding, try open(good.prefix(3)))
        assertKeyringError(.invalidEncoding, try open(good.prefix(72)))
        assertKeyringError(.invalidEncoding, try open(flipped(0)))                     // magic
        assertKeyringError(.unsupportedFormat, try open(flipped(4)))                   // format version
        assertKeyringError(.invalidEncoding, try open(flipped(8)))                     // key version 1 → 0
        assertKeyringError(.unknownKeyVersion, try open({ var d = good; d[7] = 9; return d }()))
        assertKeyringError(.contextMismatch, try open(flipped(10)))                    // context tag
        assertKeyringError(.keyCommitmentMismatch, try open(flipped(20)))              // commitment
        assertKeyringError(.authenticationFailure, try open(flipped(46)))              // nonce
        assertKeyringError(.authenticationFailure, try open(flipped(60)))              // ciphertext
        assertKeyringError(.authenticationFailure, try open(flipped(good.count - 1)))  // tag
        assertKeyringError(.authenticationFailure, try open(good.prefix(good.count - 1)))
        assertKeyringError(.authenticationFailure, try open(good + [0]))
        assertKeyringError(.contextMismatch, try open(good, context: "other"))
        assertKeyringError(.authenticationFailure, try open(good, aad: Data("aae".utf8)))
        assertKeyringError(.authenticationFailure, try open(good, aad: Data()))
        let other = try Keyring.generate()
        assertKeyringError(.keyCommitmentMismatch, try other.decrypt(good, context: "ctx", authenticating: aad))
        try ring.rotate(); try ring.setMinimumDecryptionVersion(2)
        assertKeyringError(.keyVersionTooOld, try open(good))
    }

    func testFlippedKeyVersionToZeroIsInvalidEncoding() throws {
        let ring = try Keyring.generate()
        var e = try ring.encrypt(message, context: "ctx")
        e[8] ^= 1
        assertKeyringError(.invalidEncoding, try ring.decrypt(e, context: "ctx"))
    }

    func testEnvelopeMutationFuzz() throws {
        let ring = try Keyring.generate()
        try ring.rotate()
        let aad = Data("fuzz".utf8)
        let good = try ring.encrypt(Data(repeating: 0x41, count: 40), context: "fuzz", authenticating: aad)
        var rng = SystemRandomNumberGenerator()
        let allowed: Set<FIPSError.Code> = [.invalidEncoding, .unsupportedFormat, .unknownKeyVersion, .keyVersionTooOld,
                                            .keyVersionUnavailable, .contextMismatch, .keyCommitmentMismatch, .authenticationFailure]
        var seen: [String: Int] = [:]
        for _ in 0..<10_000 {
            var m = good
            switch Int.random(in: 0..<5, using: &rng) {
            case 0: let i = Int.random(in: 0..<m.count, using: &rng); m[i] ^= UInt8.random(in: 1...255, using: &rng)
            case 1: m = m.prefix(Int.random(in: 0..<m.count, using: &rng))
            case 2: m.append(contentsOf: (0..<Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            case 3:
                for _ in 0..<Int.random(in: 2...6, using: &rng) {
                    let i = Int.random(in: 0..<m.count, using: &rng); m[i] = UInt8.random(in: 0...255, using: &rng)
                }
            default: let i = Int.random(in: 0..<m.count, using: &rng); m.remove(at: m.startIndex + i)
            }
            if m == good { continue }
            do {
                let p = try ring.decrypt(m, context: "fuzz", authenticating: aad)
                XCTFail("a mutated envelope opened: \(p.count) bytes"); return
            } catch let e as FIPSError {
                XCTAssertTrue(allowed.contains(e.code), "\(e)")
                seen[e.code.identifier, default: 0] += 1
            }
        }
        XCTAssertGreaterThan(seen.count, 4, "\(seen)")
    }

    func testRandomSizesRoundTrip() throws {
        let ring = try Keyring.generate()
        var sizes = [0, 1, 15, 16, 17, 4096, 1 << 20]
        for _ in 0..<12 { sizes.append(Int.random(in: 0...(1 << 20))) }
        for n in sizes {
            let m = try SecureRandom.bytes(count: n)
            let aad = try SecureRandom.bytes(count: Int.random(in: 0...64))
            let e = try ring.encrypt(m, context: "prop", authenticating: aad)
            XCTAssertEqual(e.count, n + 73)
            XCTAssertEqual(try ring.decrypt(e, context: "prop", authenticating: aad), m, "size \(n)")
        }
    }

    func testDeriveKeySeparation() throws {
        let ring = try Keyring.generate()
        let a1 = try ring.deriveKey(purpose: "audit")
        XCTAssertEqual(a1, try ring.deriveKey(purpose: "audit", version: 1))
        XCTAssertNotEqual(a1, try ring.deriveKey(purpose: "vault"))
        XCTAssertEqual(try ring.deriveKey(purpose: "audit", byteCount: 64).bitCount, 512)
        try ring.rotate()
        XCTAssertNotEqual(a1, try ring.deriveKey(purpose: "audit"))
        XCTAssertEqual(a1, try ring.deriveKey(purpose: "audit", version: 1))
        assertKeyringError(.invalidParameter, try ring.deriveKey(purpose: "audit", byteCount: 8))
        assertKeyringError(.unknownKeyVersion, try ring.deriveKey(purpose: "audit", version: 3))
        XCTAssertEqual(a1.description, "SymmetricKey(256 bits, redacted)")
    }

    func testConcurrentUseAndRotation() throws {
        let ring = try Keyring.generate()
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            for j in 0..<200 {
                do {
                    if i == 0 && j % 20 == 0 { try ring.rotate() }
                    let m = Data("\(i)-\(j)".utf8)
                    let e = try ring.encrypt(m, context: "t\(j % 3)")
                    if try ring.decrypt(e, context: "t\(j % 3)") != m { failures.add(1, ordering: .relaxed) }
                } catch { failures.add(1, ordering: .relaxed) }
            }
        }
        XCTAssertEqual(failures.load(ordering: .relaxed), 0)
        XCTAssertEqual(ring.primaryVersion, 11)
        XCTAssertEqual(ring.versions.reduce(0) { $0 + $1.sealCount }, 1600)
    }
}
