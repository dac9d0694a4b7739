import Foundation
import FIPSCrypto

/// The keyring envelope against a bare `AES.GCM.seal`/`open` (SealedBox/Data API) of the same payload,
/// interleaved: what the envelope (header, per-context subkey lookup, commitment) adds per call.
func extraBenchmarks(_ harness: Harness, libctx: OpaquePointer, selected: (String) -> Bool) throws -> [Measurement] {
    let sizes = [64, 1024, 16 << 10].filter { selected("Keyring.encrypt/\(sizeLabel($0))") || selected("Keyring.decrypt/\(sizeLabel($0))") }
    guard !sizes.isEmpty else { return [] }
    let keyring = try Keyring.generate()
    let key = SymmetricKey(data: [UInt8](repeating: 0x42, count: 32))
    let aad = Data(repeating: 0xAA, count: aadCount)
    let context = "bench.payload"
    var results: [Measurement] = []
    for size in sizes {
        let msg = Data(repeating: 0x5A, count: size)
        // Warm the per-context subkey and check the round trip before timing.
        let envelope = try keyring.encrypt(msg, context: context, authenticating: aad)
        guard try keyring.decrypt(envelope, context: context, authenticating: aad) == msg else {
            throw BenchFailure("keyring round trip failed at \(size) bytes")
        }
        let box = try AES.GCM.seal(msg, using: key, authenticating: aad)
        if selected("Keyring.encrypt/\(sizeLabel(size))") {
            results += try harness.measure(benchmark: "Keyring.encrypt/\(sizeLabel(size))", operation: "envelope.encrypt", bytes: size, [
                Contender(implementation: "swift-data") { n in
                    for _ in 0..<n { blackHole(try AES.GCM.seal(msg, using: key, authenticating: aad)) }
                },
                Contender(implementation: "swift-keyring") { n in
                    for _ in 0..<n { blackHole(try keyring.encrypt(msg, context: context, authenticating: aad)) }
                },
            ])
        }
        if selected("Keyring.decrypt/\(sizeLabel(size))") {
            results += try harness.measure(benchmark: "Keyring.decrypt/\(sizeLabel(size))", operation: "envelope.decrypt", bytes: size, [
                Contender(implementation: "swift-data") { n in
                    for _ in 0..<n { blackHole(try AES.GCM.open(box, using: key, authenticating: aad)) }
                },
                Contender(implementation: "swift-keyring") { n in
                    for _ in 0..<n { blackHole(try keyring.decrypt(envelope, context: context, authenticating: aad)) }
                },
            ])
        }
    }
    return results
}
