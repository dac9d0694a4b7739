import Foundation
internal import COpenSSL
internal import COpenSSLShims

/// The module's one library context and the algorithms fetched from it once, for the life of the process.
///
/// Immutable after ``open(_:)``; the C objects are never freed because the core lives as long as the process
/// (a failed open frees everything it made).
final class ModuleCore: @unchecked Sendable {
    let context: OpaquePointer          // OSSL_LIB_CTX *
    let providerHandle: OpaquePointer   // OSSL_PROVIDER * (fips, or default in development mode)
    let mode: FIPSModule.Mode
    let configFile: String?
    let provider: ProviderInfo
    let defaultContextLocked: Bool

    let aes256GCM: OpaquePointer        // EVP_CIPHER *
    let sha256: OpaquePointer           // EVP_MD *
    let sha384: OpaquePointer
    let sha512: OpaquePointer
    let hmac: OpaquePointer             // EVP_MAC *
    let hkdf: OpaquePointer             // EVP_KDF *
    let pbkdf2: OpaquePointer           // EVP_KDF *

    private init(context: OpaquePointer, providerHandle: OpaquePointer, mode: FIPSModule.Mode, configFile: String?,
                 provider: ProviderInfo, defaultContextLocked: Bool, fetched: Fetched) {
        self.context = context; self.providerHandle = providerHandle; self.mode = mode
        self.configFile = configFile; self.provider = provider; self.defaultContextLocked = defaultContextLocked
        aes256GCM = fetched.aes256GCM; sha256 = fetched.sha256; sha384 = fetched.sha384; sha512 = fetched.sha512
        hmac = fetched.hmac; hkdf = fetched.hkdf; pbkdf2 = fetched.pbkdf2
    }

    /// The provider every fetched algorithm must come from.
    var expectedProvider: String { mode == .fips ? "fips" : "default" }

    struct Fetched {
        var aes256GCM, sha256, sha384, sha512, hmac, hkdf, pbkdf2: OpaquePointer

        /// Frees every fetched algorithm (only when the open fails: an operational core keeps them for life).
        func free() {
            EVP_CIPHER_free(aes256GCM)
            EVP_MD_free(sha256); EVP_MD_free(sha384); EVP_MD_free(sha512)
            EVP_MAC_free(hmac); EVP_KDF_free(hkdf); EVP_KDF_free(pbkdf2)
        }
    }

    // MARK: - Opening

    static func open(_ configuration: FIPSModule.Configuration) throws -> ModuleCore {
        clearOpenSSLErrors()
        let locked = configuration.lockDefaultContext ? lockDefaultLibraryContext() : false
        guard let ctx = OSSL_LIB_CTX_new() else { throw FIPSError.openSSL("OSSL_LIB_CTX_new") }
        var keepContext = false
        defer { if !keepContext { OSSL_LIB_CTX_free(ctx) } }
        // Before any provider loads, or its load-time self-tests are not seen (openssl#19246).
        OSSL_SELF_TEST_set_callback(ctx, providerSelfTestCallback, nil)

        let providerName: String
        var configFile: String? = nil
        switch configuration.mode {
        case .fips:
            providerName = "fips"
            configFile = try loadFIPSConfiguration(into: ctx, explicit: configuration.configFile)
            guard OSSL_PROVIDER_available(ctx, "base") == 1 || OSSL_PROVIDER_load(ctx, "base") != nil else {
                throw FIPSError.openSSL(.providerUnavailable, "loading the base provider")
            }
            try check(EVP_default_properties_enable_fips(ctx, 1), "EVP_default_properties_enable_fips")
        case .development:
            providerName = "default"
            guard OSSL_PROVIDER_load(ctx, "default") != nil, OSSL_PROVIDER_load(ctx, "base") != nil else {
                throw FIPSError.openSSL(.providerUnavailable, "loading the default and base providers")
            }
        }
        guard let prov = OSSL_PROVIDER_load(ctx, providerName) else {
            throw FIPSError.openSSL(.providerUnavailable, "OSSL_PROVIDER_load(\(providerName))")
        }
        let info = providerInfo(prov, name: providerName, ctx: ctx)
        guard info.isActive else {
            throw FIPSError(.providerUnavailable, "the \(providerName) provider loaded but does not report itself active",
                            openSSLErrors: drainOpenSSLErrors())
        }
        let fetched = try fetchAll(ctx, expecting: providerName)
        defer { if !keepContext { fetched.free() } } // runs before the context is freed
        var info2 = info
        info2.hasApprovedIndicator = cipherHasParameter(fetched.aes256GCM, "fips-indicator")
        info2.reportsGeneratedIV = cipherHasParameter(fetched.aes256GCM, "iv-generated")
        let core = ModuleCore(context: ctx, providerHandle: prov, mode: configuration.mode, configFile: configFile,
                              provider: info2, defaultContextLocked: locked, fetched: fetched)
        if configuration.mode == .fips {
            try core.runProviderSelfTest()
        }
        keepContext = true
        return core
    }

    /// Runs the provider's own self-tests now (`OSSL_PROVIDER_self_test`).
    func runProviderSelfTest() throws {
        clearOpenSSLErrors()
        let rc = OSSL_PROVIDER_self_test(providerHandle)
        if rc != 1 || ProviderSelfTestRecorder.sawFailure() {
            throw FIPSError.openSSL(.selfTestFailed, "the \(provider.name) provider's self-test (OSSL_PROVIDER_self_test)")
        }
    }

    /// Loads the `null` provider into OpenSSL's default library context so a stray fetch there fails.
    private static func lockDefaultLibraryContext() -> Bool {
        OSSL_PROVIDER_load(nil, "null") != nil
    }

    /// Finds and loads the FIPS configuration, in ``FIPSModule/searchOrder``; returns the file loaded.
    private static func loadFIPSConfiguration(into ctx: OpaquePointer, explicit: String?) throws -> String? {
        var searched: [String] = []
        var candidates: [String] = []
        if let explicit { candidates = [explicit] } else {
            for start in [FileManager.default.currentDirectoryPath,
                          URL(fileURLWithPath: CommandLine.arguments.first ?? "/").resolvingSymlinksInPath()
                              .deletingLastPathComponent().path] {
                var dir = URL(fileURLWithPath: start)
                while true {
                    let f = dir.appendingPathComponent(".fips/openssl-fips.cnf").path
                    if !searched.contains(f) {
                        searched.append(f)
                        if FileManager.default.fileExists(atPath: f) {
                            // The configuration names the provider module to load: a file another user could
                            // have written (e.g. /tmp/.fips/ for a service whose working directory is below /tmp)
                            // would run their code inside this process. Such a file is skipped, and reported.
                            if let why = untrustedSearchedConfiguration(f) {
                                searched[searched.count - 1] = "\(f) (ignored: \(why))"
                            } else {
                                candidates.append(f); break
                            }
                        }
                    }
                    let parent = dir.deletingLastPathComponent()
                    if parent.path == dir.path { break }
                    dir = parent
                }
                if !candidates.isEmpty { break }
            }
        }
        if let file = candidates.first {
            try loadConfigFile(file, into: ctx)
            guard OSSL_PROVIDER_available(ctx, "fips") == 1 else {
                let errors = drainOpenSSLErrors()
                if ProviderSelfTestRecorder.sawFailure() || !errors.isEmpty {
                    throw classify(errors, file: file, fallback: .providerUnavailable, "activating the fips provider from \(file)")
                }
                throw FIPSError(.providerUnavailable,
                                "\(file) loaded but did not activate the fips provider; it needs a [provider_sect] with fips (activate = 1) — scripts/install-fips-provider writes one",
                                openSSLErrors: errors)
            }
            return file
        }
        // The system's provider (RHEL 9, Ubuntu Pro): fips.so in the modules directory.
        let modules = String(cString: OpenSSL_version(Int32(OPENSSL_MODULES_DIR)))
            .replacingOccurrences(of: "MODULESDIR: ", with: "").trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        let systemModule = modules + "/fips.so"
        searched.append(systemModule)
        if FileManager.default.fileExists(atPath: systemModule) {
            let raw = CONF_get1_default_config_file()
            let systemConfig = raw.map { String(cString: $0) } ?? ""
            fcshim_OPENSSL_free(raw)
            if FileManager.default.isReadableFile(atPath: systemConfig) {
                _ = OSSL_LIB_CTX_load_config(ctx, systemConfig)
            }
            clearOpenSSLErrors()
            if OSSL_PROVIDER_available(ctx, "fips") == 1 || OSSL_PROVIDER_load(ctx, "fips") != nil {
                return FileManager.default.isReadableFile(atPath: systemConfig) ? systemConfig : nil
            }
            let errors = drainOpenSSLErrors()
            throw classify(errors, file: systemConfig, fallback: .providerUnavailable,
                           "the system FIPS provider \(systemModule) did not load")
        }
        throw FIPSError(.providerUnavailable,
                        "no FIPS provider found. Searched: \(searched.joined(separator: ", ")). "
                        + "On Debian 12 run scripts/install-fips-provider; on RHEL 9 / Ubuntu Pro install the distribution's FIPS provider; "
                        + "or set FIPSCRYPTO_OPENSSL_CONF. Development mode (FIPSCRYPTO_MODE=development) runs without one but is NOT FIPS.")
    }

    /// Why a `.fips/openssl-fips.cnf` found by searching must not be trusted, or `nil`: the file and its `.fips`
    /// directory must be owned by this user or root and not writable by group or others. (An explicit
    /// `configFile` / `FIPSCRYPTO_OPENSSL_CONF` is the operator's choice and is not second-guessed.)
    private static func untrustedSearchedConfiguration(_ file: String) -> String? {
        for path in [file, (file as NSString).deletingLastPathComponent] {
            var st = stat()
            guard stat(path, &st) == 0 else { return "cannot stat \(path)" }
            if st.st_uid != geteuid() && st.st_uid != 0 { return "\(path) is owned by uid \(st.st_uid)" }
            if st.st_mode & 0o022 != 0 { return "\(path) is writable by group or others" }
        }
        return nil
    }

    private static func loadConfigFile(_ file: String, into ctx: OpaquePointer) throws {
        guard FileManager.default.isReadableFile(atPath: file) else {
            let exists = FileManager.default.fileExists(atPath: file)
            throw FIPSError(exists ? .configurationInvalid : .providerUnavailable,
                            exists ? "cannot read the OpenSSL configuration \(file) (check its permissions)"
                                   : "the OpenSSL configuration \(file) does not exist; run scripts/install-fips-provider")
        }
        clearOpenSSLErrors()
        if OSSL_LIB_CTX_load_config(ctx, file) != 1 {
            throw classify(drainOpenSSLErrors(), file: file, fallback: .configurationInvalid,
                           "loading the OpenSSL configuration \(file)")
        }
    }

    /// Turns a failed provider load into an error that says what is wrong and what fixes it.
    private static func classify(_ errors: [FIPSError.OpenSSLErrorRecord], file: String, fallback: FIPSError.Code,
                                 _ what: String) -> FIPSError {
        let text = errors.map { "\($0.reason) \($0.data)" }.joined(separator: " ").lowercased()
        let (module, moduleConfig) = fipsPaths(in: file)
        if ProviderSelfTestRecorder.sawFailure(type: "Module_Integrity") || text.contains("integrity") || text.contains("checksum") {
            return FIPSError(.integrityCheckFailed,
                             "the FIPS provider's integrity check failed: \(moduleConfig ?? "fipsmodule.cnf") was not written for \(module ?? "this fips.so") on this machine "
                             + "(a copied or stale fipsmodule.cnf, or a replaced fips.so). Fix: run scripts/install-fips-provider, or "
                             + "`openssl fipsinstall -module \(module ?? "<fips.so>") -out \(moduleConfig ?? "<fipsmodule.cnf>")`",
                             openSSLErrors: errors)
        }
        if ProviderSelfTestRecorder.sawFailure() || text.contains("self test") || text.contains("self-test") {
            return FIPSError(.selfTestFailed, "the FIPS provider failed its power-on self-tests while \(what)", openSSLErrors: errors)
        }
        if text.contains("module") && (text.contains("not found") || text.contains("no such file") || text.contains("dso") || text.contains("could not load")) {
            return FIPSError(.providerUnavailable,
                             "\(what): the provider module \(module ?? "fips.so") could not be loaded; run scripts/install-fips-provider",
                             openSSLErrors: errors)
        }
        return FIPSError(fallback, "\(what) failed: the file is malformed or names a provider that does not load", openSSLErrors: errors)
    }

    /// Best-effort: the `module =` and `.include` paths named by a configuration, for error messages.
    private static func fipsPaths(in file: String) -> (module: String?, moduleConfig: String?) {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return (nil, nil) }
        var module: String?, include: String?
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix(".include") { include = line.dropFirst(8).trimmingCharacters(in: CharacterSet(charactersIn: " =")) }
            if line.hasPrefix("module") , let eq = line.firstIndex(of: "=") { module = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces) }
        }
        return (module, include)
    }

    // MARK: - Provider facts

    private static func providerInfo(_ prov: OpaquePointer, name: String, ctx: OpaquePointer) -> ProviderInfo {
        // OSSL_PARAMs keep raw pointers to their storage: it must outlive OSSL_PROVIDER_get_params.
        let names = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: 3)
        names.initialize(repeating: nil, count: 3)
        let status = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        status.initialize(to: 0)
        defer { names.deallocate(); status.deallocate() }
        var params: [OSSL_PARAM] = [
            OSSL_PARAM_construct_utf8_ptr(ParamKey.name, names, 0),
            OSSL_PARAM_construct_utf8_ptr(ParamKey.version, names + 1, 0),
            OSSL_PARAM_construct_utf8_ptr(ParamKey.buildInfo, names + 2, 0),
            OSSL_PARAM_construct_int(ParamKey.status, status),
            OSSL_PARAM_construct_end(),
        ]
        _ = OSSL_PROVIDER_get_params(prov, &params)
        var gettable: [String] = []
        if var p = OSSL_PROVIDER_gettable_params(prov) {
            while let key = p.pointee.key { gettable.append(String(cString: key)); p += 1 }
        }
        clearOpenSSLErrors()
        return ProviderInfo(name: name,
                            reportedName: names[0].map { String(cString: $0) } ?? name,
                            version: names[1].map { String(cString: $0) } ?? "unknown",
                            buildInfo: names[2].map { String(cString: $0) } ?? "unknown",
                            // Providers that do not report `status` (3.0's default provider) count as active when available in the context.
                            isActive: status.pointee == 1 || (!gettable.contains("status") && OSSL_PROVIDER_available(ctx, name) == 1),
                            gettableParameters: gettable,
                            hasApprovedIndicator: false, reportsGeneratedIV: false,
                            libcryptoVersion: String(cString: OpenSSL_version(Int32(OPENSSL_VERSION_STRING))))
    }

    private static func cipherHasParameter(_ cipher: OpaquePointer, _ name: String) -> Bool {
        guard var p = EVP_CIPHER_gettable_ctx_params(cipher) else { return false }
        while let key = p.pointee.key {
            if String(cString: key) == name { return true }
            p += 1
        }
        return false
    }

    // MARK: - Fetch once

    private static func fetchAll(_ ctx: OpaquePointer, expecting provider: String) throws -> Fetched {
        // Everything fetched so far is freed if a later fetch or provider check throws.
        var fetched: [(pointer: OpaquePointer, free: (OpaquePointer) -> Void)] = []
        var complete = false
        defer { if !complete { for f in fetched.reversed() { f.free(f.pointer) } } }
        func verify(_ kind: String, _ name: String, _ got: OpaquePointer?) throws {
            let actual = got.flatMap { OSSL_PROVIDER_get0_name($0) }.map { String(cString: $0) } ?? "none"
            if actual != provider {
                throw FIPSError(.unexpectedProvider, "\(kind) \(name) was served by provider '\(actual)', expected '\(provider)'")
            }
        }
        func cipher(_ name: String) throws -> OpaquePointer {
            guard let c = EVP_CIPHER_fetch(ctx, name, nil) else { throw FIPSError.openSSL(.providerUnavailable, "fetching cipher \(name)") }
            fetched.append((c, { EVP_CIPHER_free($0) }))
            try verify("cipher", name, EVP_CIPHER_get0_provider(c)); return c
        }
        func md(_ name: String) throws -> OpaquePointer {
            guard let m = EVP_MD_fetch(ctx, name, nil) else { throw FIPSError.openSSL(.providerUnavailable, "fetching digest \(name)") }
            fetched.append((m, { EVP_MD_free($0) }))
            try verify("digest", name, EVP_MD_get0_provider(m)); return m
        }
        func kdf(_ name: String) throws -> OpaquePointer {
            guard let k = EVP_KDF_fetch(ctx, name, nil) else { throw FIPSError.openSSL(.providerUnavailable, "fetching KDF \(name)") }
            fetched.append((k, { EVP_KDF_free($0) }))
            try verify("KDF", name, EVP_KDF_get0_provider(k)); return k
        }
        guard let mac = EVP_MAC_fetch(ctx, "HMAC", nil) else { throw FIPSError.openSSL(.providerUnavailable, "fetching MAC HMAC") }
        fetched.append((mac, { EVP_MAC_free($0) }))
        try verify("MAC", "HMAC", EVP_MAC_get0_provider(mac))
        for name in ["ECDSA", "RSA"] {
            guard let s = EVP_SIGNATURE_fetch(ctx, name, nil) else { throw FIPSError.openSSL(.providerUnavailable, "fetching signature \(name)") }
            defer { EVP_SIGNATURE_free(s) }
            try verify("signature", name, EVP_SIGNATURE_get0_provider(s))
        }
        for name in ["EC", "RSA"] {
            guard let k = EVP_KEYMGMT_fetch(ctx, name, nil) else { throw FIPSError.openSSL(.providerUnavailable, "fetching key management \(name)") }
            defer { EVP_KEYMGMT_free(k) }
            try verify("key management", name, EVP_KEYMGMT_get0_provider(k))
        }
        let result = Fetched(aes256GCM: try cipher("AES-256-GCM"), sha256: try md("SHA2-256"), sha384: try md("SHA2-384"),
                             sha512: try md("SHA2-512"), hmac: mac, hkdf: try kdf("HKDF"), pbkdf2: try kdf("PBKDF2"))
        complete = true
        return result
    }

    /// Whether an algorithm can be fetched at all in the module's context (used by tests and `fipsctl status`
    /// to show that non-approved algorithms are unreachable).
    func canFetch(digest name: String) -> Bool {
        defer { clearOpenSSLErrors() }
        guard let m = EVP_MD_fetch(context, name, nil) else { return false }
        EVP_MD_free(m); return true
    }

    /// Whether a cipher can be fetched in the module's context.
    func canFetch(cipher name: String) -> Bool {
        defer { clearOpenSSLErrors() }
        guard let c = EVP_CIPHER_fetch(context, name, nil) else { return false }
        EVP_CIPHER_free(c); return true
    }
}

extension FIPSModule {
    /// The module's `OSSL_LIB_CTX *` for the other modules of this package (certificates, TLS).
    ///
    /// Loads the module on first use; throws if it failed.
    package static func libraryContext() throws -> OpaquePointer { try ModuleRuntime.operational().context }

    /// Whether a digest (e.g. `"MD5"`) or cipher (e.g. `"ChaCha20-Poly1305"`) can be fetched in the module's
    /// library context. With the FIPS provider and `fips=yes`, non-approved algorithms cannot.
    /// - Parameter algorithm: The OpenSSL algorithm name.
    /// - Returns: `true` if a fetch succeeds.
    /// - Throws: ``FIPSError`` if the module is not operational.
    public static func canFetch(_ algorithm: String) throws -> Bool {
        let core = try ModuleRuntime.operational()
        return core.canFetch(digest: algorithm) || core.canFetch(cipher: algorithm)
    }
}
