import Foundation
import XCTest
import FIPSCrypto
import FIPSTestSupport

/// Properties of AES-256-GCM through the public API, and its answers to bad input.
final class AESGCMPropertyTests: XCTestCase {
    override func setUpWithError() throws { try loadModule() }

    private func code(_ body: () throws -> some Any) -> FIPSError.Code? {
        do { _ = try body(); return nil } catch let e as FIPSError { return e.code } catch { return FIPSError.Code("not a FIPSError: \(error)") }
    }

    // MARK: - Properties

    func testRoundTripAndSingleByteTamperOverRandomSizes() throws {
        var rng = SplitMix64(seed: 0x5EA1)
        let key = try SymmetricKey.generate(size: .bits256)
        var sizes = [0, 1, 15, 16, 17, 1 << 20]
        while sizes.count < 50 { sizes.append(Int.random(in: 0...(1 << 20), using: &rng)) }
        var tampers = 0
        for (i, size) in sizes.enumerated() {
            let msg = [UInt8].random(count: size, using: &rng)
            let aad = [UInt8].random(count: Int.random(in: 0...64, using: &rng), using: &rng)
            let box = i % 2 == 0 ? try AES.GCM.seal(msg, using: key, authenticating: aad)
                                 : try AES.GCM.seal(TestSupport.nonContiguous(msg), using: key, authenticating: TestSupport.nonContiguous(aad))
            XCTAssertEqual(box.combined.count, size + AES.GCM.overhead)
            XCTAssertEqual(Array(try AES.GCM.open(AES.GCM.SealedBox(combined: box.combined), using: key, authenticating: aad)), msg,
                           "round trip of \(size) bytes")
            // Any single byte of nonce ‖ ciphertext ‖ tag changed → authenticationFailure.
            var bad = Array(box.combined)
            let at = Int.random(in: 0..<bad.count, using: &rng)
            bad[at] ^= UInt8.random(in: 1...255, using: &rng)
            XCTAssertEqual(code { try AES.GCM.open(AES.GCM.SealedBox(combined: bad), using: key, authenticating: aad) },
                           .authenticationFailure, "\(size) bytes, byte \(at) changed")
            // A changed AAD byte (or added AAD when there was none) → authenticationFailure.
            var badAAD = aad.isEmpty ? [0] : aad
            if !aad.isEmpty { badAAD[Int.random(in: 0..<aad.count, using: &rng)] ^= 0x01 }
            XCTAssertEqual(code { try AES.GCM.open(box, using: key, authenticating: badAAD) }, .authenticationFailure)
            tampers += 2
        }
        // Exhaustively on one small box: every byte position.
        let small = try AES.GCM.seal([UInt8](repeating: 7, count: 33), using: key, authenticating: [1, 2, 3])
        for at in 0..<small.combined.count {
            var bad = Array(small.combined); bad[at] ^= 0x01
            XCTAssertEqual(code { try AES.GCM.open(AES.GCM.SealedBox(combined: bad), using: key, authenticating: [1, 2, 3]) },
                           .authenticationFailure, "byte \(at) of a 61-byte box")
            tampers += 1
        }
        print("gcm properties: \(sizes.count) round trips (0 ... 1 MiB), \(tampers) tampered boxes all failed authentication")
    }

    func testTenThousandSealsNeverRepeatANonce() throws {
        let key = try SymmetricKey.generate(size: .bits256)
        let message = Array("same message".utf8)
        var nonces = Set<[UInt8]>()
        for _ in 0..<10_000 { nonces.insert(Array(try AES.GCM.seal(message, using: key).nonce)) }
        // And a second key's contexts draw their own fixed field: no overlap expected either.
        let key2 = try SymmetricKey.generate(size: .bits256)
        var nonces2 = Set<[UInt8]>()
        for _ in 0..<1_000 { nonces2.insert(Array(try AES.GCM.seal(message, using: key2).nonce)) }
        print("gcm nonces: \(nonces.count) distinct of 10000 seals with one key; \(nonces2.count) of 1000 with a second")
        XCTAssertEqual(nonces.count, 10_000)
        XCTAssertEqual(nonces2.count, 1_000)
    }

    // MARK: - Bad input

    func testWrongKeySizesAreRefused() throws {
        let box = try AES.GCM.seal([1, 2, 3], using: SymmetricKey.generate(size: .bits256))
        for n in [0, 16, 24, 31, 33, 64] {
            let key = SymmetricKey(data: [UInt8](repeating: 0x11, count: n))
            XCTAssertEqual(code { try AES.GCM.seal([1, 2, 3], using: key) }, .invalidKeySize, "seal, \(n)-byte key")
            XCTAssertEqual(code { try AES.GCM.open(box, using: key) }, .invalidKeySize, "open, \(n)-byte key")
            var out = [UInt8](repeating: 0, count: 64)
            XCTAssertEqual(code {
                try [UInt8]([1, 2, 3]).withUnsafeBytes { m in
                    try out.withUnsafeMutableBytes { o in try AES.GCM.seal(m, using: key, authenticating: UnsafeRawBufferPointer(start: nil, count: 0), into: o) }
                }
            }, .invalidKeySize, "seal(into:), \(n)-byte key")
        }
        XCTAssertEqual(code { try AES.GCM.seal([1], using: SymmetricKey(size: .bits128)) }, .invalidKeySize)
        XCTAssertEqual(code { try AES.GCM.seal([1], using: SymmetricKey(size: .bits192)) }, .invalidKeySize)
    }

    func testShortSealedBoxAndBadPartsAreRefused() throws {
        let key = try SymmetricKey.generate(size: .bits256)
        for n in [0, 1, 12, 27] {
            XCTAssertEqual(code { try AES.GCM.SealedBox(combined: [UInt8](repeating: 0, count: n)) }, .invalidParameter, "\(n)-byte box")
            XCTAssertEqual(code { try AES.GCM.SealedBox(combined: TestSupport.nonContiguous([UInt8](repeating: 0, count: n))) },
                           .invalidParameter, "\(n)-byte box, non-contiguous")
            var out = [UInt8](repeating: 0, count: 64)
            XCTAssertEqual(code {
                try [UInt8](repeating: 0, count: n).withUnsafeBytes { c in
                    try out.withUnsafeMutableBytes { o in try AES.GCM.open(c, using: key, authenticating: UnsafeRawBufferPointer(start: nil, count: 0), into: o) }
                }
            }, .invalidParameter, "open(into:) of a \(n)-byte box")
        }
        XCTAssertNotNil(try? AES.GCM.SealedBox(combined: [UInt8](repeating: 0, count: 28)), "28 bytes is an empty message's box")
        for n in [0, 8, 11, 13, 16] {
            XCTAssertEqual(code { try AES.GCM.Nonce(data: [UInt8](repeating: 1, count: n)) }, .invalidParameter, "\(n)-byte nonce")
        }
        let nonce = try AES.GCM.Nonce(data: TestSupport.nonContiguous(Array(0..<12)))
        XCTAssertEqual(Array(nonce), Array(0..<12))
        for n in [0, 4, 12, 13, 15, 17] {
            XCTAssertEqual(code { try AES.GCM.SealedBox(nonce: nonce, ciphertext: [1, 2], tag: [UInt8](repeating: 0, count: n)) },
                           .invalidParameter, "\(n)-byte tag")
        }
    }

    func testSealIntoTooSmallBufferIsRefusedAndLeavesNoOutput() throws {
        let key = try SymmetricKey.generate(size: .bits256)
        let message = [UInt8](repeating: 0x5A, count: 100)
        for size in [0, 27, 100, 127] {
            var out = [UInt8](repeating: 0xAA, count: size)
            let c = code {
                try message.withUnsafeBytes { m in
                    try out.withUnsafeMutableBytes { o in try AES.GCM.seal(m, using: key, authenticating: UnsafeRawBufferPointer(start: nil, count: 0), into: o) }
                }
            }
            XCTAssertEqual(c, .invalidParameter, "seal(into:) with a \(size)-byte buffer")
            XCTAssertTrue(out.allSatisfy { $0 == 0xAA } || out.allSatisfy { $0 == 0 }, "buffer untouched or wiped")
        }
        // The exact size works, and opens.
        var out = [UInt8](repeating: 0, count: 128)
        let n = try message.withUnsafeBytes { m in
            try out.withUnsafeMutableBytes { o in try AES.GCM.seal(m, using: key, authenticating: UnsafeRawBufferPointer(start: nil, count: 0), into: o) }
        }
        XCTAssertEqual(n, 128)
        XCTAssertEqual(Array(try AES.GCM.open(AES.GCM.SealedBox(combined: out), using: key)), message)
    }

    func testOpenIntoWipesOutputOnFailure() throws {
        let key = try SymmetricKey.generate(size: .bits256)
        let message = [UInt8](repeating: 0x5A, count: 100)
        let aad: [UInt8] = [9, 9, 9]
        var combined = Array(try AES.GCM.seal(message, using: key, authenticating: aad).combined)
        // A too-small output is refused before anything is written.
        var small = [UInt8](repeating: 0xAA, count: 99)
        XCTAssertEqual(code {
            try combined.withUnsafeBytes { c in try aad.withUnsafeBytes { a in try small.withUnsafeMutableBytes { o in try AES.GCM.open(c, using: key, authenticating: a, into: o) } } }
        }, .invalidParameter)
        XCTAssertTrue(small.allSatisfy { $0 == 0xAA })
        // Tag, ciphertext, nonce and AAD tampering: the output (which held decrypted bytes) is zero afterwards.
        for (what, at) in [("tag", combined.count - 1), ("ciphertext", 20), ("nonce", 0)] {
            combined[at] ^= 0x01
            var out = [UInt8](repeating: 0xAA, count: 100)
            XCTAssertEqual(code {
                try combined.withUnsafeBytes { c in try aad.withUnsafeBytes { a in try out.withUnsafeMutableBytes { o in try AES.GCM.open(c, using: key, authenticating: a, into: o) } } }
            }, .authenticationFailure, what)
            XCTAssertTrue(out.allSatisfy { $0 == 0 }, "output wiped after a bad \(what)")
            combined[at] ^= 0x01
        }
        var out = [UInt8](repeating: 0xAA, count: 100)
        XCTAssertEqual(code {
            try combined.withUnsafeBytes { c in try [UInt8]([9, 9, 8]).withUnsafeBytes { a in try out.withUnsafeMutableBytes { o in try AES.GCM.open(c, using: key, authenticating: a, into: o) } } }
        }, .authenticationFailure)
        XCTAssertTrue(out.allSatisfy { $0 == 0 }, "output wiped after a bad AAD")
        // And the untampered box still opens into the same buffer.
        let n = try combined.withUnsafeBytes { c in try aad.withUnsafeBytes { a in try out.withUnsafeMutableBytes { o in try AES.GCM.open(c, using: key, authenticating: a, into: o) } } }
        XCTAssertEqual(n, 100)
        XCTAssertEqual(out, message)
    }
}
