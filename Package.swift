// swift-tools-version: 6.0
// swift-fips-crypto: FIPS-approved cryptography for Swift services on Linux, over OpenSSL 3's FIPS provider.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "swift-fips-crypto",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "FIPSCrypto", targets: ["FIPSCrypto"]),
        .library(name: "FIPSCertificates", targets: ["FIPSCertificates"]),
        .library(name: "FIPSAudit", targets: ["FIPSAudit"]),
        .library(name: "FIPSVault", targets: ["FIPSVault"]),
        .executable(name: "fipsctl", targets: ["fipsctl"]),
        .executable(name: "fips-bench", targets: ["fips-bench"]),
    ],
    targets: [
        // C boundary: the system's OpenSSL 3 (Debian: libssl-dev) and SQLite (libsqlite3-dev).
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"]), .yum(["openssl-devel"])]
        ),
        .target(name: "COpenSSLShims", dependencies: ["COpenSSL"]),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"]), .yum(["sqlite-devel"])]
        ),

        // The small trusted core: module, policy, errors, primitives, keys, keyring, keystore.
        .target(
            name: "FIPSCrypto",
            dependencies: ["COpenSSL", "COpenSSLShims"],
            swiftSettings: strict
        ),
        // X.509 certificates, TLS contexts, the HTTPS endpoint and security headers.
        .target(
            name: "FIPSCertificates",
            dependencies: ["FIPSCrypto", "COpenSSL", "COpenSSLShims"],
            swiftSettings: strict
        ),
        // Tamper-evident audit log: events, chained MACs, file sink, syslog shipping.
        .target(
            name: "FIPSAudit",
            dependencies: ["FIPSCrypto", "FIPSCertificates"],
            swiftSettings: strict
        ),
        // Credential vault over SQLite.
        .target(
            name: "FIPSVault",
            dependencies: ["FIPSCrypto", "CSQLite"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "fipsctl",
            dependencies: ["FIPSCrypto", "FIPSCertificates", "FIPSAudit", "FIPSVault"],
            swiftSettings: strict
        ),

        // Benchmarks: the Swift API against the same work straight on EVP, in one process.
        .target(name: "CBenchBaseline", dependencies: ["COpenSSL"], path: "benchmarks/CBenchBaseline"),
        .executableTarget(
            name: "fips-bench",
            dependencies: ["FIPSCrypto", "FIPSAudit", "CBenchBaseline"],
            path: "benchmarks/fips-bench",
            swiftSettings: strict
        ),

        // Shared test helpers: paths, processes, vector-file readers.
        .target(name: "FIPSTestSupport", path: "Tests/FIPSTestSupport", swiftSettings: strict),
        .testTarget(name: "FIPSCryptoTests", dependencies: ["FIPSCrypto", "FIPSTestSupport"], swiftSettings: strict),
        .testTarget(name: "FIPSCertificatesTests", dependencies: ["FIPSCertificates", "FIPSCrypto", "FIPSTestSupport"], swiftSettings: strict),
        .testTarget(name: "FIPSAuditTests", dependencies: ["FIPSAudit", "FIPSCrypto", "FIPSTestSupport"], swiftSettings: strict),
        .testTarget(name: "FIPSVaultTests", dependencies: ["FIPSVault", "FIPSCrypto", "FIPSTestSupport"], swiftSettings: strict),
        .testTarget(name: "fipsctlTests", dependencies: ["FIPSTestSupport"], swiftSettings: strict),
        // A probe the module tests run as a child process: concurrent first use, refusal after failure.
        .executableTarget(name: "fipscrypto-probe", dependencies: ["FIPSCrypto", "COpenSSL"], path: "Tests/Probe", swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
