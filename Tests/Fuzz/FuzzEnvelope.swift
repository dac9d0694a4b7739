// FuzzEnvelope.swift — libFuzzer target `envelope` (run with scripts/fuzz envelope).
//
// Input: arbitrary bytes, treated as a keyring envelope. Checks, for every input:
//   - `Keyring.keyVersion(of:)` and `keyring.decrypt(_:context:)` never crash, and throw only FIPSError with a code
//     docs/FORMAT.md lists for opening an envelope;
//   - a header `keyVersion(of:)` refuses is refused by `decrypt` with the same code (same parser, same order);
//   - `decrypt` returns plaintext only for an envelope make-seeds.py sealed: it must be under an active version of the fixed
//     keyring (2, the primary, or 4), be plaintext + 73 bytes long, and carry the seed marker —
//     anything else that opens would be a forgery of the commitment or the GCM tag.
import FIPSCrypto
import Foundation

private let openCodes: Set<FIPSError.Code> = [
    .invalidEncoding, .unsupportedFormat, .unknownKeyVersion, .keyVersionUnavailable, .keyVersionTooOld,
    .contextMismatch, .keyCommitmentMismatch, .authenticationFailure,
]

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Fuzz.start()
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEnvelope(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    let ring = Fuzz.keyring

    var headerError: FIPSError.Code? = nil
    var headerVersion: Int? = nil
    Fuzz.expectTyped("keyVersion(of:)", [.invalidEncoding, .unsupportedFormat]) {
        do { headerVersion = try Keyring.keyVersion(of: input) } catch let e as FIPSError { headerError = e.code; throw e }
    }
    if let v = headerVersion, !(1...Int(UInt32.max)).contains(v) { Fuzz.die("keyVersion(of:) returned \(v)") }

    // The same bytes as a Data slice whose startIndex is not 0 must behave the same.
    let slice = Data([0xEE] + input).dropFirst()
    for label in ["Array", "Data slice"] {
        do {
            let plaintext = label == "Array" ? try ring.decrypt(input, context: Fuzz.context)
                                             : try ring.decrypt(slice, context: Fuzz.context)
            guard headerError == nil, headerVersion == 2 || headerVersion == 4 else {
                Fuzz.die("decrypt (\(label)) returned plaintext for an envelope whose header says \(String(describing: headerVersion)) / \(String(describing: headerError))")
            }
            guard input.count == plaintext.count + 73 else { Fuzz.die("decrypt returned \(plaintext.count) bytes from \(input.count)") }
            guard plaintext.starts(with: Fuzz.plaintextMarker) else { Fuzz.die("decrypt returned plaintext that no seed sealed (forgery)") }
            Fuzz.note("decrypt (\(label)): \(plaintext.count) bytes of plaintext")
        } catch let e as FIPSError {
            Fuzz.note("decrypt (\(label)): \(e.code)")
            guard openCodes.contains(e.code) else { Fuzz.die("decrypt threw the undocumented code \(e.code): \(e)") }
            if let h = headerError, h != e.code { Fuzz.die("keyVersion(of:) threw \(h) but decrypt threw \(e.code)") }
        } catch {
            Fuzz.die("decrypt threw a non-FIPSError \(type(of: error)): \(error)")
        }
    }

    // With additional data no seed uses (make-seeds.py's "with-aad" seed uses 0x01), nothing may open.
    do {
        _ = try ring.decrypt(input, context: Fuzz.context, authenticating: Array("no seed uses this".utf8))
        Fuzz.die("decrypt opened an envelope under additional data no seed used")
    } catch let e as FIPSError {
        guard openCodes.contains(e.code) else { Fuzz.die("decrypt(aad) threw the undocumented code \(e.code): \(e)") }
    } catch {
        Fuzz.die("decrypt(aad) threw a non-FIPSError \(type(of: error)): \(error)")
    }
    return 0
}
