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
func zeroize(_ data: inout Data) {
    data.withUnsafeMutableBytes { b in
        if let p = b.baseAddress, b.count > 0 { explicit_bzero(p, b.count) }
    }
    data.removeAll()
}

/// Clears an optional buffer (see ``zeroize(_:)-(Data)``).
func zeroize(_ data: inout Data?) {
    if var d = data {
        data = nil
        zeroize(&d)
    }
}

extension CredentialVault {
    /// Overwrites a buffer that held a secret with zeros (`explicit_bzero`, which the compiler may not elide) and
    /// empties it — for secrets read before ``put(_:kind:secret:passphrase:username:host:labels:replacing:)`` or
    /// after ``get(_:)``.
    ///
    /// Only this buffer is cleared: a `Data` shares storage with its copies until one is mutated, so copies made
    /// and changed elsewhere are not reached.
    /// - Parameter data: The buffer to clear.
    public static func wipe(_ data: inout Data) {
        FIPSVault.zeroize(&data)
    }
}
