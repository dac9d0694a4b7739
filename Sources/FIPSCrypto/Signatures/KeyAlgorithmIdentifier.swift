import Foundation

/// Names the algorithm of a key that OpenSSL's decoders in the module's context could not load, so that a key of a
/// known but non-approved kind (secp256k1, X25519, ... which the FIPS provider cannot even decode) is refused with
/// ``FIPSError/Code/notApproved`` rather than reported as malformed.
///
/// Reads only the outer DER structure of a PKCS#8 `PrivateKeyInfo`, a `SubjectPublicKeyInfo` or a SEC1
/// `ECPrivateKey` (no key material is interpreted): the AlgorithmIdentifier's OID and, for EC keys, the named-curve OID.
enum KeyAlgorithmIdentifier {
    /// A name for a non-approved key algorithm found in `input` (PEM or DER), or `nil` if none is recognised.
    static func nonApprovedAlgorithm(in input: UnsafeRawBufferPointer, pem: Bool) -> String? {
        // The input may hold a private key: the decoded copy is wiped before returning.
        var der: [UInt8]
        if pem {
            guard let d = pemBody(input) else { return nil }
            der = d
        } else {
            der = Array(input)
        }
        defer { secureZero(&der) }
        if let curve = sec1Curve(der) {
            if approvedCurves.contains(curve) { return nil }
            return "EC key on curve \(curveNames[curve] ?? "OID \(curve.map { String(format: "%02x", $0) }.joined())")"
        }
        guard let (alg, param) = algorithmIdentifier(der) else { return nil }
        if alg == ecPublicKey {
            guard let param else { return "EC key with explicit curve parameters" }
            if approvedCurves.contains(param) { return nil }
            return "EC key on curve \(curveNames[param] ?? "OID \(param.map { String(format: "%02x", $0) }.joined())")"
        }
        return algorithmNames[alg]
    }

    // DER OID contents (without tag and length).
    static let ecPublicKey: [UInt8] = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]             // 1.2.840.10045.2.1
    static let approvedCurves: [[UInt8]] = [
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],                                       // P-256
        [0x2b, 0x81, 0x04, 0x00, 0x22],                                                         // P-384
        [0x2b, 0x81, 0x04, 0x00, 0x23],                                                         // P-521
    ]
    static let curveNames: [[UInt8]: String] = [
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x01]: "P-192 (secp192r1)",
        [0x2b, 0x81, 0x04, 0x00, 0x21]: "P-224 (secp224r1)",
        [0x2b, 0x81, 0x04, 0x00, 0x0a]: "secp256k1",
        [0x2b, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07]: "brainpoolP256r1",
        [0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d]: "SM2",
    ]
    static let algorithmNames: [[UInt8]: String] = [
        [0x2b, 0x65, 0x70]: "Ed25519",
        [0x2b, 0x65, 0x71]: "Ed448",
        [0x2b, 0x65, 0x6e]: "X25519",
        [0x2b, 0x65, 0x6f]: "X448",
        [0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01]: "DSA",
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x03, 0x01]: "DH",
        [0x2a, 0x86, 0x48, 0xce, 0x3e, 0x02, 0x01]: "X9.42 DH",
    ]

    /// The base64-decoded body of the first PEM block (decoded by hand, so no intermediate copies remain unwiped).
    private static func pemBody(_ text: UnsafeRawBufferPointer) -> [UInt8]? {
        let bytes = UnsafeRawBufferPointer(rebasing: text.prefix(64 * 1024)) // a key's PEM is far smaller; bound the work
        func find(_ pattern: String, from: Int) -> Int? {
            let p = Array(pattern.utf8)
            guard bytes.count >= p.count, from <= bytes.count - p.count else { return nil }
            for i in from...(bytes.count - p.count) where bytes[i..<(i + p.count)].elementsEqual(p) { return i }
            return nil
        }
        guard let begin = find("-----BEGIN ", from: 0),
              let headerEnd = find("-----", from: begin + 11),
              let end = find("-----END ", from: headerEnd + 5) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity((end - headerEnd) * 3 / 4)
        var acc: UInt32 = 0, n = 0
        for c in bytes[(headerEnd + 5)..<end] {
            let v: UInt8
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): v = c - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): v = c - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): v = 62
            case UInt8(ascii: "/"): v = 63
            case UInt8(ascii: "="), UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "\t"): continue
            default: secureZero(&out); return nil
            }
            acc = (acc << 6) | UInt32(v); n += 6
            if n >= 8 { n -= 8; out.append(UInt8(truncatingIfNeeded: acc >> UInt32(n))) }
        }
        acc = 0
        return out
    }

    /// `SEQUENCE { [INTEGER version,] SEQUENCE { OID algorithm, [OID parameter] }, ... }`.
    private static func algorithmIdentifier(_ der: [UInt8]) -> ([UInt8], [UInt8]?)? {
        guard let outer = element(der, at: 0), outer.tag == 0x30 else { return nil }
        var pos = outer.contentStart
        guard var first = element(der, at: pos) else { return nil }
        if first.tag == 0x02 { // PKCS#8 version
            pos = first.end
            guard let next = element(der, at: pos) else { return nil }
            first = next
        }
        guard first.tag == 0x30, let oid = element(der, at: first.contentStart), oid.tag == 0x06 else { return nil }
        let alg = Array(der[oid.contentStart..<oid.end])
        var param: [UInt8]? = nil
        if oid.end < first.end, let p = element(der, at: oid.end), p.tag == 0x06 {
            param = Array(der[p.contentStart..<p.end])
        }
        return (alg, param)
    }

    /// SEC1 `ECPrivateKey`: `SEQUENCE { INTEGER 1, OCTET STRING, [0] { OID namedCurve }, ... }` → the curve OID.
    private static func sec1Curve(_ der: [UInt8]) -> [UInt8]? {
        guard let outer = element(der, at: 0), outer.tag == 0x30,
              let version = element(der, at: outer.contentStart), version.tag == 0x02,
              let secret = element(der, at: version.end), secret.tag == 0x04,
              let params = element(der, at: secret.end), params.tag == 0xa0,
              let oid = element(der, at: params.contentStart), oid.tag == 0x06 else { return nil }
        return Array(der[oid.contentStart..<oid.end])
    }

    private struct Element { var tag: UInt8; var contentStart: Int; var end: Int }

    /// One DER element at `offset` (definite lengths up to 4 length bytes), bounds-checked.
    private static func element(_ der: [UInt8], at offset: Int) -> Element? {
        guard offset + 2 <= der.count else { return nil }
        let tag = der[offset]
        var length = Int(der[offset + 1])
        var start = offset + 2
        if length & 0x80 != 0 {
            let n = length & 0x7f
            guard n >= 1, n <= 4, start + n <= der.count else { return nil }
            length = 0
            for i in 0..<n { length = (length << 8) | Int(der[start + i]) }
            start += n
        }
        guard start + length <= der.count else { return nil }
        return Element(tag: tag, contentStart: start, end: start + length)
    }
}
