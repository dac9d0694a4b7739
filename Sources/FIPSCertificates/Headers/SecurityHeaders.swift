import Foundation
import FIPSCrypto

/// The HTTP response headers that harden a browser's handling of a service's responses (OWASP Secure Headers).
///
/// ``strictAPI`` scores A+ on securityheaders.com's scale and passes drheader's and shcheck's default rules.
/// Send the headers on *every* response (200, 404, 405, 500, redirects, HEAD, OPTIONS), send no `Server` or
/// `X-Powered-By`, and never send `Strict-Transport-Security` over plain HTTP (RFC 6797 §7.2:
/// ``removingStrictTransportSecurity()``).
public struct SecurityHeaders: Sendable, Hashable {
    /// The header fields, in the order they are sent.
    public var fields: [(name: String, value: String)] {
        get { storage.map { (name: $0.name, value: $0.value) } }
        set { storage = newValue.map { Field(name: $0.name, value: $0.value) } }
    }

    private struct Field: Sendable, Hashable { var name: String; var value: String }
    private var storage: [Field]

    /// Creates a header set from explicit fields.
    /// - Parameter fields: Name/value pairs, in sending order.
    public init(fields: [(name: String, value: String)]) {
        storage = fields.map { Field(name: $0.name, value: $0.value) }
    }

    /// One year, the HSTS max-age securityheaders.com and drheader expect.
    public static let hstsMaxAge = 31_536_000

    private static let common: [(name: String, value: String)] = [
        ("Strict-Transport-Security", "max-age=\(hstsMaxAge); includeSubDomains"),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Permissions-Policy", "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Embedder-Policy", "require-corp"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("Cache-Control", "no-store, max-age=0"),
        ("X-Permitted-Cross-Domain-Policies", "none"),
    ]

    /// For an API that serves no HTML: nothing may load, frame, or submit anything.
    ///
    /// `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
    /// HSTS for one year with subdomains, `X-Frame-Options: DENY`, `nosniff`, `no-referrer`, every powerful browser
    /// feature off, cross-origin isolation, `no-store`.
    public static let strictAPI = SecurityHeaders(fields: [common[0],
        ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")]
        + common.dropFirst())

    /// For an HTML application: resources only from its own origin, scripts and styles only with this response's
    /// nonce (no `unsafe-inline`, no `unsafe-eval`).
    /// - Parameter nonce: A fresh per-response nonce (``makeNonce()``): base64, 16 to 128 characters.
    /// - Returns: The header set.
    /// - Throws: ``FIPSError/Code/invalidParameter`` if the nonce is too short or could break out of the policy.
    public static func htmlApp(nonce: String) throws -> SecurityHeaders {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_")
        guard (16...128).contains(nonce.count), nonce.allSatisfy({ allowed.contains($0) }) else {
            throw FIPSError(.invalidParameter, "a CSP nonce must be 16 to 128 base64 characters")
        }
        let csp = "default-src 'self'; script-src 'self' 'nonce-\(nonce)'; style-src 'self' 'nonce-\(nonce)'; "
            + "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
        return SecurityHeaders(fields: [common[0], ("Content-Security-Policy", csp)] + common.dropFirst())
    }

    /// A fresh CSP nonce: 128 bits from the module's DRBG, base64.
    /// - Returns: The nonce.
    /// - Throws: ``FIPSError`` if the module is not operational.
    public static func makeNonce() throws -> String {
        try SecureRandom.bytes(count: 16).base64EncodedString()
    }

    /// The same headers without `Strict-Transport-Security`, for responses over plain HTTP (RFC 6797 §7.2).
    /// - Returns: The header set.
    public func removingStrictTransportSecurity() -> SecurityHeaders {
        var copy = self
        copy.storage.removeAll { $0.name.lowercased() == "strict-transport-security" }
        return copy
    }

    /// The fields with one header replaced (or added when absent).
    /// - Parameters:
    ///   - name: The header name (case-insensitive).
    ///   - value: Its new value.
    /// - Returns: The header set.
    public func setting(_ name: String, to value: String) -> SecurityHeaders {
        var copy = self
        if let i = copy.storage.firstIndex(where: { $0.name.lowercased() == name.lowercased() }) {
            copy.storage[i].value = value
        } else {
            copy.storage.append(Field(name: name, value: value))
        }
        return copy
    }

    /// Two header sets are equal when their fields are, in order.
    public static func == (lhs: SecurityHeaders, rhs: SecurityHeaders) -> Bool { lhs.storage == rhs.storage }
    /// Hashes the fields.
    public func hash(into hasher: inout Hasher) { hasher.combine(storage) }
}

/// A securityheaders.com-style grade of a response's headers.
public struct HeaderGrade: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The letter: `"A+"`, `"A"`, `"B"`, `"C"`, `"D"`, `"E"` or `"F"`.
    public var grade: String
    /// The graded headers that are absent (or present with a value that has no effect), in canonical spelling.
    public var missing: [String]
    /// Problems with headers that are present (weak values, `unsafe-inline`, information leaks).
    public var warnings: [String]

    /// `A+` or e.g. `B (missing: Permissions-Policy; warnings: ...)`.
    public var description: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing: " + missing.joined(separator: ", ")) }
        if !warnings.isEmpty { parts.append("warnings: " + warnings.joined(separator: "; ")) }
        return parts.isEmpty ? grade : "\(grade) (\(parts.joined(separator: "; ")))"
    }
}

extension SecurityHeaders {
    /// The six headers securityheaders.com grades.
    public static let gradedHeaders = ["Strict-Transport-Security", "Content-Security-Policy", "X-Frame-Options",
                                       "X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy"]

    /// Grades response headers the way securityheaders.com does.
    ///
    /// Each of ``gradedHeaders`` counts when present with an effective value: HSTS with a `max-age` (a max-age
    /// under one year counts, with a warning; `max-age=0` does not count); X-Frame-Options `DENY` or `SAMEORIGIN`
    /// (or a CSP `frame-ancestors` directive); X-Content-Type-Options `nosniff`; a Referrer-Policy other than
    /// `unsafe-url`; any non-empty CSP and Permissions-Policy. The letter: all six and no warning → `A+`; all six
    /// with warnings → `A`; one missing → `B`; two → `C`; three → `D`; four → `E`; five or six → `F`.
    /// Warnings: CSP with `'unsafe-inline'` or `'unsafe-eval'` (or a wildcard source), HSTS max-age under one year,
    /// Referrer-Policy `no-referrer-when-downgrade`/`unsafe-url`, a `Server` header that names a version, and
    /// `X-Powered-By`.
    /// - Parameter headers: The response's header fields (names are case-insensitive; repeated fields are joined).
    /// - Returns: The grade with what is missing and what is weak.
    public static func grade(_ headers: [(String, String)]) -> HeaderGrade {
        var values: [String: String] = [:]
        for (name, value) in headers {
            let key = name.trimmingCharacters(in: .whitespaces).lowercased()
            let v = value.trimmingCharacters(in: .whitespaces)
            values[key] = values[key].map { "\($0), \(v)" } ?? v
        }
        var missing: [String] = []
        var warnings: [String] = []
        let csp = values["content-security-policy"]?.lowercased() ?? ""
        let directives = Dictionary(csp.split(separator: ";").compactMap { part -> (String, String)? in
            let words = part.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = words.first else { return nil }
            return (String(first), words.dropFirst().joined(separator: " "))
        }, uniquingKeysWith: { a, _ in a })

        // Strict-Transport-Security
        if let hsts = values["strict-transport-security"]?.lowercased(),
           let age = hsts.split(separator: ";").lazy.map({ $0.trimmingCharacters(in: .whitespaces) })
               .first(where: { $0.hasPrefix("max-age=") }).flatMap({ Int($0.dropFirst(8).trimmingCharacters(in: CharacterSet(charactersIn: "\""))) }),
           age > 0 {
            if age < hstsMaxAge { warnings.append("Strict-Transport-Security max-age=\(age) is under one year (\(hstsMaxAge))") }
        } else {
            missing.append("Strict-Transport-Security")
        }
        // Content-Security-Policy
        if csp.isEmpty {
            missing.append("Content-Security-Policy")
        } else {
            if csp.contains("'unsafe-inline'") { warnings.append("Content-Security-Policy allows 'unsafe-inline'") }
            if csp.contains("'unsafe-eval'") { warnings.append("Content-Security-Policy allows 'unsafe-eval'") }
            for (directive, sources) in directives where directive.hasSuffix("-src") {
                if sources.split(separator: " ").contains(where: { $0 == "*" || $0 == "http:" || $0 == "https:" || $0 == "data:" }) {
                    warnings.append("Content-Security-Policy \(directive) allows any source (\(sources))")
                }
            }
        }
        // X-Frame-Options (a CSP frame-ancestors directive supersedes it)
        let xfo = values["x-frame-options"]?.uppercased() ?? ""
        if xfo != "DENY" && xfo != "SAMEORIGIN" && directives["frame-ancestors"] == nil {
            missing.append("X-Frame-Options")
        }
        // X-Content-Type-Options
        if values["x-content-type-options"]?.lowercased() != "nosniff" { missing.append("X-Content-Type-Options") }
        // Referrer-Policy (the last valid token wins in browsers)
        if let rp = values["referrer-policy"]?.lowercased(), !rp.isEmpty {
            let last = rp.split(separator: ",").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? rp
            if last == "unsafe-url" {
                missing.append("Referrer-Policy")
                warnings.append("Referrer-Policy unsafe-url leaks full URLs to every origin")
            } else if last == "no-referrer-when-downgrade" {
                warnings.append("Referrer-Policy no-referrer-when-downgrade leaks full URLs to other origins")
            }
        } else {
            missing.append("Referrer-Policy")
        }
        // Permissions-Policy
        if (values["permissions-policy"] ?? "").isEmpty { missing.append("Permissions-Policy") }
        // Information leaks
        if let server = values["server"], server.contains(where: { $0.isNumber }) {
            warnings.append("Server header discloses a version (\(server))")
        }
        if values["x-powered-by"] != nil { warnings.append("X-Powered-By discloses the technology stack") }

        let letter: String
        switch missing.count {
        case 0: letter = warnings.isEmpty ? "A+" : "A"
        case 1: letter = "B"
        case 2: letter = "C"
        case 3: letter = "D"
        case 4: letter = "E"
        default: letter = "F"
        }
        return HeaderGrade(grade: letter, missing: missing, warnings: warnings)
    }
}
