// FuzzKeys.swift — libFuzzer target `keys` (run with scripts/fuzz keys).
//
// Input byte 0 (mod 5) picks the loader, the remaining bytes are its input:
//   0  SigningPrivateKey(pemRepresentation:)  (bytes decoded as UTF-8, invalid sequences replaced)
//   1  SigningPrivateKey(derRepresentation:)
//   2  SigningPublicKey(derRepresentation:)
//   3  SigningPublicKey(pemRepresentation:)
//   4  AES.GCM.SealedBox(combined:) + AES.GCM.open under a fixed key (32 × 0x5A)
// Checks: no crash; only FIPSError with a documented code; a private key that loads is approved (P-256/384/521,
// RSA ≥ 2048), its public key's DER loads back as the same public key, and a signature it makes verifies under
// that public key (the private and public halves belong together); a public key that loads round-trips through
// its DER; a box opens only if make-seeds.py sealed it (its plaintext starts with the seed marker).
import FIPSCrypto
import Foundation

private let privateCodes: Set<FIPSError.Code> = [.invalidEncoding, .notApproved, .wrongPassphrase]
private let publicCodes: Set<FIPSError.Code> = [.invalidEncoding, .notApproved]
private let boxCodes: Set<FIPSError.Code> = [.invalidParameter, .authenticationFailure]
private let boxKey = SymmetricKey(data: [UInt8](repeating: 0x5A, count: 32))

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Fuzz.start()
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKeys(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard size >= 1, let data else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let body = Array(input[1...])
    switch input[0] % 5 {
    case 0:
        Fuzz.expectTyped("SigningPrivateKey(pemRepresentation:)", privateCodes) {
            checkPrivate(try SigningPrivateKey(pemRepresentation: String(decoding: body, as: UTF8.self)))
        }
    case 1:
        Fuzz.expectTyped("SigningPrivateKey(derRepresentation:)", privateCodes) {
            checkPrivate(try SigningPrivateKey(derRepresentation: body))
        }
    case 2:
        Fuzz.expectTyped("SigningPublicKey(derRepresentation:)", publicCodes) {
            checkPublic(try SigningPublicKey(derRepresentation: body))
        }
    case 3:
        Fuzz.expectTyped("SigningPublicKey(pemRepresentation:)", publicCodes) {
            checkPublic(try SigningPublicKey(pemRepresentation: String(decoding: body, as: UTF8.self)))
        }
    default:
        Fuzz.expectTyped("AES.GCM.SealedBox(combined:) + open", boxCodes) {
            let box = try AES.GCM.SealedBox(combined: body)
            guard box.combined == Data(body), box.nonce.withUnsafeBytes({ Array($0) }) == Array(body.prefix(12)),
                  box.tag == Data(body.suffix(16)), box.ciphertext.count == body.count - 28 else {
                Fuzz.die("SealedBox(combined:) split the bytes wrongly")
            }
            let plaintext = try AES.GCM.open(box, using: boxKey)
            guard plaintext.count == body.count - 28, plaintext.starts(with: Fuzz.plaintextMarker) else {
                Fuzz.die("AES.GCM.open returned plaintext that no seed sealed (forgery)")
            }
        }
    }
    return 0
}

private func checkPrivate(_ key: SigningPrivateKey) {
    guard approved(key.kind) else { Fuzz.die("loaded a private key of kind \(key.kind)") }
    let der = key.publicKeyDER
    do {
        let pub = try SigningPublicKey(derRepresentation: der)
        guard pub.derRepresentation == der, pub.kind == key.kind else { Fuzz.die("the private key's public key does not round-trip") }
        // The key is one key: what it signs verifies under the public key it names (a spliced or damaged key
        // would sign with one key and be identified, fingerprinted and trusted as another).
        let message = Array("fuzz".utf8)
        let signature = try key.signature(for: message)
        guard pub.isValidSignature(signature, for: message) else {
            Fuzz.die("a loaded private key signs with a key other than the public key it names")
        }
    } catch {
        Fuzz.die("a loaded private key does not work: \(error)")
    }
}

private func checkPublic(_ key: SigningPublicKey) {
    guard approved(key.kind) else { Fuzz.die("loaded a public key of kind \(key.kind)") }
    do {
        let again = try SigningPublicKey(derRepresentation: key.derRepresentation)
        guard again.derRepresentation == key.derRepresentation else { Fuzz.die("a public key's DER does not round-trip") }
    } catch {
        Fuzz.die("the DER of a loaded public key does not load again: \(error)")
    }
}

/// The policy: ECDSA P-256/384/521 or RSA with a modulus of at least 2048 bits.
private func approved(_ kind: SigningPrivateKey.Kind) -> Bool {
    if ["p256", "p384", "p521"].contains(kind.name) { return true }
    guard kind.name.hasPrefix("rsa"), let bits = Int(kind.name.dropFirst(3)) else { return false }
    return bits >= 2048
}
