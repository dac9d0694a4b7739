import Foundation
import XCTest
import FIPSCrypto
import FIPSCertificates

final class SecurityHeadersTests: XCTestCase {
    /// The exact values of the transport reference (securityheaders.com A+, drheader and shcheck clean).
    func testStrictAPIValues() {
        let f = Dictionary(uniqueKeysWithValues: SecurityHeaders.strictAPI.fields.map { ($0.name, $0.value) })
        XCTAssertEqual(f["Strict-Transport-Security"], "max-age=31536000; includeSubDomains")
        XCTAssertEqual(f["Content-Security-Policy"], "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
        XCTAssertEqual(f["X-Frame-Options"], "DENY")
        XCTAssertEqual(f["X-Content-Type-Options"], "nosniff")
        XCTAssertEqual(f["Referrer-Policy"], "no-referrer")
        XCTAssertEqual(f["Permissions-Policy"], "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()")
        XCTAssertEqual(f["Cross-Origin-Opener-Policy"], "same-origin")
        XCTAssertEqual(f["Cross-Origin-Embedder-Policy"], "require-corp")
        XCTAssertEqual(f["Cross-Origin-Resource-Policy"], "same-origin")
        XCTAssertEqual(f["Cache-Control"], "no-store, max-age=0")
        XCTAssertEqual(f["X-Permitted-Cross-Domain-Policies"], "none")
        XCTAssertEqual(f.count, 11)
        XCTAssertNil(f["Server"])
        XCTAssertEqual(SecurityHeaders.grade(SecurityHeaders.strictAPI.fields.map { ($0.name, $0.value) }).grade, "A+")
        let plain = SecurityHeaders.strictAPI.removingStrictTransportSecurity()
        XCTAssertFalse(plain.fields.contains { $0.name == "Strict-Transport-Security" })
        XCTAssertEqual(plain.fields.count, 10)
    }

    func testHTMLAppPresetUsesNonceNotUnsafeInline() throws {
        let nonce = try SecurityHeaders.makeNonce()
        XCTAssertEqual(Data(base64Encoded: nonce)?.count, 16)
        let h = try SecurityHeaders.htmlApp(nonce: nonce)
        let csp = h.fields.first { $0.name == "Content-Security-Policy" }?.value ?? ""
        XCTAssertTrue(csp.hasPrefix("default-src 'self'; script-src 'self' 'nonce-\(nonce)'"), csp)
        XCTAssertFalse(csp.contains("unsafe"))
        XCTAssertEqual(SecurityHeaders.grade(h.fields.map { ($0.name, $0.value) }).grade, "A+")
        for bad in ["short", "abc'; script-src *; x='0123456789", String(repeating: "a", count: 129), "abcdefghijklmnop qrs"] {
            XCTAssertThrowsError(try SecurityHeaders.htmlApp(nonce: bad)) { XCTAssertEqual(($0 as? FIPSError)?.code, .invalidParameter) }
        }
    }

    /// Table cases for the grader, in securityheaders.com's terms.
    func testGraderTable() {
        let full = SecurityHeaders.strictAPI.fields.map { ($0.name, $0.value) }
        func without(_ names: String...) -> [(String, String)] { full.filter { !names.contains($0.0) } }
        func with(_ name: String, _ value: String) -> [(String, String)] { full.filter { $0.0 != name } + [(name, value)] }
        struct Case { let name: String; let headers: [(String, String)]; let grade: String; let missing: [String]; let warns: Int }
        let cases: [Case] = [
            Case(name: "strictAPI", headers: full, grade: "A+", missing: [], warns: 0),
            Case(name: "lower-case names", headers: full.map { ($0.0.lowercased(), $0.1) }, grade: "A+", missing: [], warns: 0),
            Case(name: "unsafe-inline", headers: with("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'"), grade: "A", missing: [], warns: 1),
            Case(name: "unsafe-eval", headers: with("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-eval'"), grade: "A", missing: [], warns: 1),
            Case(name: "wildcard source", headers: with("Content-Security-Policy", "default-src *"), grade: "A", missing: [], warns: 1),
            Case(name: "short HSTS", headers: with("Strict-Transport-Security", "max-age=86400"), grade: "A", missing: [], warns: 1),
            Case(name: "HSTS max-age=0", headers: with("Strict-Transport-Security", "max-age=0"), grade: "B", missing: ["Strict-Transport-Security"], warns: 0),
            Case(name: "X-Powered-By", headers: full + [("X-Powered-By", "Express")], grade: "A", missing: [], warns: 1),
            Case(name: "Server with version", headers: full + [("Server", "nginx/1.25.3")], grade: "A", missing: [], warns: 1),
            Case(name: "Server without version", headers: full + [("Server", "web")], grade: "A+", missing: [], warns: 0),
            Case(name: "no Permissions-Policy", headers: without("Permissions-Policy"), grade: "B", missing: ["Permissions-Policy"], warns: 0),
            Case(name: "XFO superseded by frame-ancestors", headers: without("X-Frame-Options"), grade: "A+", missing: [], warns: 0),
            Case(name: "XFO ALLOW-FROM, no frame-ancestors", headers: without("Content-Security-Policy").filter { $0.0 != "X-Frame-Options" } + [("X-Frame-Options", "ALLOW-FROM https://x")], grade: "C", missing: ["Content-Security-Policy", "X-Frame-Options"], warns: 0),
            Case(name: "nosniff misspelt", headers: with("X-Content-Type-Options", "nosnif"), grade: "B", missing: ["X-Content-Type-Options"], warns: 0),
            Case(name: "unsafe-url referrer", headers: with("Referrer-Policy", "unsafe-url"), grade: "B", missing: ["Referrer-Policy"], warns: 1),
            Case(name: "no-referrer-when-downgrade", headers: with("Referrer-Policy", "no-referrer-when-downgrade"), grade: "A", missing: [], warns: 1),
            Case(name: "HSTS and CSP missing", headers: without("Strict-Transport-Security", "Content-Security-Policy"), grade: "C", missing: ["Strict-Transport-Security", "Content-Security-Policy"], warns: 0),
            Case(name: "three missing", headers: without("Strict-Transport-Security", "Referrer-Policy", "Permissions-Policy"), grade: "D", missing: ["Strict-Transport-Security", "Referrer-Policy", "Permissions-Policy"], warns: 0),
            Case(name: "only HSTS and CSP", headers: [("Strict-Transport-Security", "max-age=31536000"), ("Content-Security-Policy", "default-src 'self'")], grade: "E", missing: ["X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy"], warns: 0),
            Case(name: "nothing", headers: [("Content-Type", "text/html")], grade: "F", missing: SecurityHeaders.gradedHeaders, warns: 0),
        ]
        for c in cases {
            let g = SecurityHeaders.grade(c.headers)
            XCTAssertEqual(g.grade, c.grade, "\(c.name): \(g)")
            XCTAssertEqual(Set(g.missing), Set(c.missing), "\(c.name): \(g)")
            XCTAssertEqual(g.warnings.count, c.warns, "\(c.name): \(g)")
        }
    }
}
