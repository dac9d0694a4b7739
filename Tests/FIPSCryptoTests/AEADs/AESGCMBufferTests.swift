import XCTest
import FIPSCrypto

/// Caller-buffer sealing: in-place use is refused rather than silently encrypting corrupted plaintext.
final class AESGCMBufferTests: XCTestCase {
    func testSealIntoOverlappingBufferIsRefused() throws {
        let key = SymmetricKey(data: [UInt8](repeating: 9, count: 32))
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 128, alignment: 16)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0x41)
        let message = UnsafeRawBufferPointer(start: buffer.baseAddress! + 12, count: 64)
        XCTAssertThrowsError(try AES.GCM.seal(message, using: key, authenticating: UnsafeRawBufferPointer(start: nil, count: 0),
                                              into: buffer)) { e in
            XCTAssertEqual((e as? FIPSError)?.code, .invalidParameter)
        }
        // Disjoint halves of one allocation are fine.
        let disjointMessage = UnsafeRawBufferPointer(start: buffer.baseAddress!, count: 16)
        let out = UnsafeMutableRawBufferPointer(start: buffer.baseAddress! + 32, count: 96)
        let n = try AES.GCM.seal(disjointMessage, using: key, authenticating: UnsafeRawBufferPointer(start: nil, count: 0), into: out)
        XCTAssertEqual(n, 16 + AES.GCM.overhead)
        let opened = try AES.GCM.open(try AES.GCM.SealedBox(combined: Data(UnsafeRawBufferPointer(rebasing: out.prefix(n)))), using: key)
        XCTAssertEqual(opened, Data(repeating: 0x41, count: 16))
    }
}
