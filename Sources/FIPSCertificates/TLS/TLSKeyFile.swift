import Foundation
import FIPSCrypto
#if canImport(Glibc)
import Glibc
#endif

/// Reads a private key file for a TLS server: a regular file (not a symbolic link), owned by this user, with no
/// group/other permission bits, checked on the open descriptor (no window between check and read).
enum TLSKeyFile {
    static func load(_ path: String) throws -> SigningPrivateKey {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ELOOP { throw FIPSError(.insecurePermissions, "private key file \(path) is a symbolic link; it must be a regular file") }
            throw FIPSError(.ioFailure, "cannot open private key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FIPSError(.ioFailure, "cannot stat private key file \(path)") }
        guard st.st_mode & S_IFMT == S_IFREG else { throw FIPSError(.insecurePermissions, "private key file \(path) is not a regular file") }
        guard st.st_uid == geteuid() else {
            throw FIPSError(.insecurePermissions, "private key file \(path) is owned by uid \(st.st_uid), not by this user (uid \(geteuid()))")
        }
        guard st.st_mode & 0o077 == 0 else {
            throw FIPSError(.insecurePermissions,
                            "private key file \(path) is readable by group or other (mode \(String(st.st_mode & 0o777, radix: 8))); fix it with: chmod 600 \(path)")
        }
        guard st.st_size <= 1 << 20 else { throw FIPSError(.invalidEncoding, "private key file \(path) is implausibly large") }
        var data = Data(count: Int(st.st_size))
        defer { data.resetBytes(in: 0..<data.count) }
        var offset = 0
        try data.withUnsafeMutableBytes { buffer in
            while offset < buffer.count {
                let n = read(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 { if errno == EINTR { continue }; throw FIPSError(.ioFailure, "cannot read private key file \(path)") }
                if n == 0 { break }
                offset += n
            }
        }
        return try SigningPrivateKey(pemRepresentation: String(decoding: data.prefix(offset), as: UTF8.self))
    }
}
