import Foundation
import FIPSCrypto

/// Benchmarks over APIs that land later (the keyring envelope); empty until then.
func extraBenchmarks(_ harness: Harness, libctx: OpaquePointer, selected: (String) -> Bool) throws -> [Measurement] {
    []
}
