import Foundation
import FIPSCrypto
import FIPSCertificates
import Synchronization

/// `fipsctl serve`: the HTTPS status endpoint with the strict TLS profile, security headers and certificate renewal.
enum ServeCommands {
    static let serve = Command(
        name: "serve",
        summary: "serve /status and /healthz over HTTPS (SP 800-52r2 TLS, security headers, auto-renewed certificate)",
        help: """
        NAME
            fipsctl serve — an HTTPS endpoint for the module's status, with the strict TLS profile

        SYNOPSIS
            fipsctl serve --cert-dir DIR [--https HOST:PORT] [--http HOST:PORT] [--self-signed] [--names a,b,...]
                          [--renew-check-interval SECONDS] [--max-connections N] [--read-timeout SECONDS]

        DESCRIPTION
            Serves GET/HEAD /status (the module's status as JSON) and GET/HEAD /healthz (200 "ok" while the module is
            operational) over TLS 1.2/1.3 restricted to NIST SP 800-52r2: ECDHE with AES-GCM, TLS_AES_256_GCM_SHA384
            and TLS_AES_128_GCM_SHA256, groups P-384 and P-256, the Extended Master Secret required, no
            renegotiation, compression, 0-RTT or session tickets. Other paths get 404, other methods 405, OPTIONS
            204. Every response carries the strict security headers (HSTS, CSP, X-Frame-Options, ...), a
            Content-Type with charset, and no Server header.

            With --http, a plain-HTTP port answers every request with 308 Permanent Redirect to the same path and
            query over HTTPS, without HSTS (RFC 6797 §7.2).

            Certificates live in DIR (0700; key files 0600). On the first run with an empty DIR a local CA (ECDSA
            P-384) and a leaf (ECDSA P-256, 90 days) for --names plus localhost, 127.0.0.1 and ::1 are created
            (CertificateManager), and the path of the CA certificate to trust (DIR/ca/ca.pem) is printed;
            --self-signed makes a bare self-signed leaf instead. An installed (custom) certificate is served as it
            is and never renewed here.
            While running, the managed leaf is renewed at 2/3 of its lifetime (checked every
            --renew-check-interval seconds) and swapped in without dropping live connections. SIGHUP reloads the
            certificate from DIR now (for example after `fipsctl cert install`); a rotation by
            another process (`fipsctl cert rotate`) is also picked up at the next check. On any reload error the
            current certificate stays in service. SIGTERM or SIGINT stops the server
            cleanly. TLS handshake failures are raised as security events (tls-handshake-failed), rate-limited.

        OPTIONS
            --cert-dir DIR                  where the certificate, key and local CA live (required)
            --https HOST:PORT               HTTPS address (default 127.0.0.1:8443; port 0 picks a free port)
            --http HOST:PORT                plain-HTTP redirect address (default: none)
            --self-signed                   on first run, make a self-signed leaf instead of a local CA and a leaf
            --names a,b,...                 extra DNS names / IP addresses for the leaf
            --renew-check-interval SECONDS  how often to check whether the leaf is due (1-600, default 600)
            --max-connections N             concurrent connections (1-10000, default 64); more wait for a slot
            --read-timeout SECONDS          handshake and request-head timeout (1-300, default 10)

        EXIT STATUS
            0 stopped by SIGTERM/SIGINT; 1 could not start (bad certificate, port in use); 2 bad usage;
            3 the module failed its self-tests

        EXAMPLES
            fipsctl serve --cert-dir /var/lib/fipsctl/tls --https 127.0.0.1:8443 --http 127.0.0.1:8080
            curl --cacert /var/lib/fipsctl/tls/ca/ca.pem https://localhost:8443/status
            kill -HUP $(pidof fipsctl)    # reload the certificate
        """,
        run: { args in
            guard let certDir = try args.option("cert-dir") else { throw CLIError.usage("--cert-dir DIR is required") }
            let https = try parseAddress(try args.option("https") ?? "127.0.0.1:8443", "--https")
            let http = try (try args.option("http")).map { try parseAddress($0, "--http") }
            let selfSigned = args.flag("self-signed")
            let extraNames = (try args.option("names"))?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty } ?? []
            let interval = try args.intOption("renew-check-interval", range: 1...600) ?? 600
            let maxConnections = try args.intOption("max-connections", range: 1...10_000) ?? 64
            let readTimeout = try args.intOption("read-timeout", range: 1...300) ?? 10
            try args.finish()

            try FIPSModule.load()
            let names = unique(extraNames + ["localhost", "127.0.0.1", "::1"])
            let store = CertificateStore(directory: URL(fileURLWithPath: certDir))
            let manager = CertificateManager(store: store)
            let pair = try manager.ensureServerCertificate(names: names, mode: selfSigned ? .selfSigned : .localCA)
            let holder = try TLSContextHolder(configuration: .makeServerConfiguration(pair: pair))
            holder.follow(manager)
            let configuration = HTTPSServer.Configuration(
                httpsHost: https.host, httpsPort: https.port, httpHost: http?.host, httpPort: http?.port ?? 0,
                hostNames: names, maxConnections: maxConnections, readTimeout: Double(readTimeout))
            let server = HTTPSServer(configuration: configuration, contexts: holder)
            try server.start()

            say("fipsctl serve: https://\(display(https.host)):\(server.httpsPort)/status  (TLS \(holder.current.fipsStatus))")
            if let p = server.httpPort, let h = http { say("fipsctl serve: http://\(display(h.host)):\(p)/ redirects to HTTPS (308)") }
            say("fipsctl serve: certificate \(fingerprint(holder)) (\(manager.currentMetadata?.kind.rawValue ?? "?"), expires \(pair.leaf.notValidAfter))")
            switch (manager.currentMetadata?.kind, selfSigned) {
            case (.custom?, _): say("fipsctl serve: serving an installed certificate (it is not renewed here)")
            case (_, true): say("fipsctl serve: self-signed: clients trust \(store.certificatePath.path)")
            default: say("fipsctl serve: clients trust the local CA \(store.certificateAuthorityPath.path)")
            }
            say("fipsctl serve: security headers grade \(SecurityHeaders.grade(configuration.securityHeaders.fields.map { ($0.name, $0.value) }))")

            // Signals: handled on a queue, never in async-signal context.
            let queue = DispatchQueue(label: "fipsctl.serve.signals")
            let done = DispatchSemaphore(value: 0)
            var sources: [any DispatchSourceSignal] = []
            for sig in [SIGTERM, SIGINT, SIGHUP] {
                signal(sig, SIG_IGN)
                let s = DispatchSource.makeSignalSource(signal: sig, queue: queue)
                s.setEventHandler {
                    if sig == SIGHUP {
                        do {
                            // A pair another process stored is published to the holder by renewIfNeeded; otherwise
                            // rebuild from what the store holds now.
                            if try !manager.renewIfNeeded(), let entry = try store.load() {
                                try holder.replace(with: .makeServerConfiguration(pair: entry.pair))
                            }
                            say("fipsctl serve: SIGHUP: reloaded, certificate \(fingerprint(holder))")
                        } catch {
                            say("fipsctl serve: SIGHUP: reload failed, keeping the current certificate: \(error)")
                        }
                    } else {
                        done.signal()
                    }
                }
                s.resume()
                sources.append(s)
            }
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now() + .seconds(interval), repeating: .seconds(interval))
            timer.setEventHandler {
                do {
                    if try manager.renewIfNeeded() {
                        say("fipsctl serve: new certificate in service: \(fingerprint(holder))")
                    }
                } catch {
                    say("fipsctl serve: renewal check failed (will retry): \(error)")
                }
            }
            timer.resume()
            done.wait()
            timer.cancel()
            for s in sources { s.cancel() }
            say("fipsctl serve: stopping")
            server.stop(timeout: Double(readTimeout))
            return ExitStatus.success
        })

    /// `HOST:PORT`, `[v6]:PORT`.
    static func parseAddress(_ text: String, _ option: String) throws -> (host: String, port: UInt16) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            throw CLIError.usage("\(option) takes HOST:PORT (a literal address and a port 0-65535), got '\(text)'")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw CLIError.usage("\(option) needs a host, got '\(text)'") }
        return (host, port)
    }

    static func fingerprint(_ holder: TLSContextHolder) -> String {
        "sha256 " + (holder.current.certificate?.sha256FingerprintHex ?? "?")
    }

    static func display(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }

    static func unique(_ names: [String]) -> [String] {
        var seen = Set<String>()
        return names.filter { seen.insert($0.lowercased()).inserted }
    }

    /// Prints a line and flushes (the output is read by supervisors and tests while the server runs).
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
