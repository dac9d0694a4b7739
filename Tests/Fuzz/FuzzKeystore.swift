// FuzzKeystore.swift — libFuzzer target `keystore` (run with scripts/fuzz keystore).
//
// One 0700 temporary directory with a valid KEK file (0600) per process. Input byte 0 picks the mode:
//   even → the remaining bytes are written verbatim as DIR/keyring (0600): the file header parser, the KEK-kind
//          checks and AES-GCM authentication of the whole file;
//   odd  → the remaining bytes are the *plaintext* serialized keyring, sealed here under the valid KEK and header,
//          so the fuzzer reaches the keyring deserializer behind the tag.
// Checks: `Keystore.load()` never crashes and throws only FIPSError with a documented code; a raw file that loads
// must be a keystore sealed under the KEK (so only the seed, or a seed-identical file); a keyring that loads is
// consistent (primary active, versions strictly ascending, minima within 1 ... primary) and encrypts and decrypts.
import FIPSCrypto
import Foundation

private let loadCodes: Set<FIPSError.Code> = [
    .invalidEncoding, .unsupportedFormat, .authenticationFailure, .invalidKeyringState,
]

nonisolated(unsafe) private var directory: URL! = nil

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Fuzz.start()
    directory = Fuzz.makeKeystoreDirectory()
    atexit { if let d = directory { try? FileManager.default.removeItem(at: d) } }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKeystore(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size >= 1, let data else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let sealedHere = input[0] & 1 == 1
    let body = Array(input[1...])
    let file: [UInt8]
    if sealedHere {
        do { file = try Fuzz.sealKeystore(body) } catch { Fuzz.die("sealing the keystore failed: \(error)") }
    } else {
        file = body
    }
    Fuzz.writeFile(directory.appendingPathComponent("keyring").path, file)

    let store = Keystore(directory: directory, kek: .file(directory.appendingPathComponent("kek")))
    let ring: Keyring
    do {
        ring = try store.load()
    } catch let e as FIPSError {
        Fuzz.note("load (\(sealedHere ? "sealed here" : "raw")): \(e.code) \(e)")
        guard loadCodes.contains(e.code) else { Fuzz.die("load threw the undocumented code \(e.code): \(e)") }
        if e.code == .authenticationFailure && sealedHere { Fuzz.die("a keystore sealed under the right KEK failed to authenticate") }
        return 0
    } catch {
        Fuzz.die("load threw a non-FIPSError \(type(of: error)): \(error)")
    }

    // Loaded: raw mode can only get here with a file sealed under the KEK (a seed), since the fuzzer cannot forge
    // the tag; check it really is header ‖ nonce ‖ ciphertext ‖ tag with the KEK-file header.
    if !sealedHere && !file.starts(with: Fuzz.keystoreHeader) { Fuzz.die("a keystore without the KEK-file header loaded") }

    Fuzz.note("load (\(sealedHere ? "sealed here" : "raw")): ok, versions \(ring.versions.map(\.version)), primary \(ring.primaryVersion)")
    let versions = ring.versions
    let numbers = versions.map(\.version)
    guard !numbers.isEmpty, numbers == numbers.sorted(), Set(numbers).count == numbers.count, numbers.first! >= 1 else {
        Fuzz.die("loaded versions are not strictly ascending and positive: \(numbers)")
    }
    let primary = ring.primaryVersion
    guard let p = versions.first(where: { $0.version == primary }), p.state == .active, p.isPrimary,
          versions.filter(\.isPrimary).count == 1 else {
        Fuzz.die("the loaded primary \(primary) is missing, not active, or not unique")
    }
    guard (1...primary).contains(ring.minimumDecryptionVersion), (1...primary).contains(ring.minimumEncryptionVersion) else {
        Fuzz.die("loaded minima \(ring.minimumDecryptionVersion), \(ring.minimumEncryptionVersion) outside 1 ... \(primary)")
    }

    // A loaded keyring works: seal under the primary and open again (the seal count may be at its limit).
    Fuzz.expectTyped("encrypt/decrypt with the loaded keyring", [.usageLimitExceeded]) {
        let message = Array("round trip".utf8)
        let envelope = try ring.encrypt(message, context: "keystore-fuzz")
        guard try Keyring.keyVersion(of: envelope) == primary else { Fuzz.die("sealed under a version other than the primary") }
        guard try ring.decrypt(envelope, context: "keystore-fuzz") == Data(message) else { Fuzz.die("round trip lost the plaintext") }
    }
    return 0
}
