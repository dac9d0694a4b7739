import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Overwrites every byte of `data` with zeros in place, then empties it.
///
/// The vault's plaintext secrets travel in `Data` (the public API's currency); this helper is how the vault — and
/// callers, through ``Credential/wipe()`` — clear a buffer they hold before releasing it. It uses
/// `explicit_bzero`, which the compiler may not elide. It clears only *this* buffer: a `Data` shares storage
/// until first mutation, so a copy made and mutated elsewhere is not reached.
/// - Parameter data: The buffer to clear.
func wipe(_ data: inout Data) {
    data.withUnsafeMutableBytes { b in
        if let p = b.baseAddress, b.count > 0 { explicit_bzero(p, b.count) }
    }
    data.removeAll()
}

/// Clears an optional buffer (see ``wipe(_:)-(Data)``).
func wipe(_ data: inout Data?) {
    if var d = data {
        data = nil
        wipe(&d)
    }
}
