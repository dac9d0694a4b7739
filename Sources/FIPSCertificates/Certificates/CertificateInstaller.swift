import Foundation
import FIPSCrypto

/// Checks a custom certificate (one issued by a real CA, brought by an operator) before it is installed.
public enum CertificateInstaller {
    /// Validates a chain and key for use as a TLS server certificate, and returns them as a pair.
    ///
    /// The checks, in order, each with its own error code:
    /// 1. the chain parses (PEM `CERTIFICATE` blocks) and the key parses (PKCS#8, decrypted with `passphrase`);
    /// 2. every certificate's public key and signature hash are approved: RSA ≥ 2048 bits or EC P-256/P-384/P-521,
    ///    signed with SHA-256, SHA-384 or SHA-512 (SHA-1 and MD5 are refused) — ``FIPSError/Code/certificateNotApproved``;
    /// 3. the chain is in order: each certificate is issued by the next one (names, key identifiers and signature)
    ///    and every issuer is a CA; a self-issued last certificate (a root, or a lone self-signed leaf) verifies its
    ///    own signature —
    ///    ``FIPSError/Code/certificateChainInvalid``;
    /// 4. the key belongs to the leaf (`EVP_PKEY_eq`) — ``FIPSError/Code/certificateKeyMismatch``;
    /// 5. every certificate is valid at `now` — ``FIPSError/Code/certificateNotYetValid`` / ``FIPSError/Code/certificateExpired``;
    /// 6. the leaf is not a CA and, if it has an extended key usage, allows serverAuth —
    ///    ``FIPSError/Code/certificateNotApproved``;
    /// 7. the leaf's SANs cover every name in `requiredNames` — ``FIPSError/Code/certificateNameMismatch``.
    ///
    /// - Parameters:
    ///   - chainPEM: The chain, leaf first.
    ///   - keyPEM: The leaf's private key (PKCS#8 PEM, encrypted or not).
    ///   - passphrase: The key's passphrase, if it is encrypted.
    ///   - requiredNames: Host names and IP addresses the certificate must cover.
    ///   - now: The time to check validity at (default: now).
    /// - Returns: The validated pair.
    /// - Throws: ``FIPSError`` with one of the codes above, ``FIPSError/Code/invalidEncoding`` for malformed PEM,
    ///   or the key decoder's errors (``FIPSError/Code/notApproved`` for a weak key, its own code for a wrong
    ///   passphrase).
    public static func validate(chainPEM: String, keyPEM: String, passphrase: String? = nil,
                                requiredNames: [String] = [], now: Date = Date()) throws -> CertificatePair {
        let chain = try Certificate.chain(fromPEM: chainPEM)
        try validateAlgorithms(chain)
        try validateOrder(chain)
        let key = try SigningPrivateKey(pemRepresentation: keyPEM, passphrase: passphrase)
        let pair = try CertificatePair(chain: chain, key: key)
        try validateDates(chain, now: now)
        let leaf = chain[0]
        if leaf.isCA {
            throw FIPSError(.certificateNotApproved, "the first certificate '\(leaf.subject)' is a CA certificate; put the server (leaf) certificate first")
        }
        if let eku = leaf.extendedKeyUsage, !eku.contains(.serverAuth), !eku.contains(.any) {
            throw FIPSError(.certificateNotApproved, "the certificate '\(leaf.subject)' is not for TLS servers (extended key usage: \(eku))")
        }
        try validateNames(leaf, requiredNames: requiredNames)
        return pair
    }

    /// Step 2: approved keys and signature hashes for every certificate.
    static func validateAlgorithms(_ chain: [Certificate]) throws {
        for (i, c) in chain.enumerated() {
            guard c.publicKeyIsApproved else {
                throw FIPSError(.certificateNotApproved, "certificate \(i + 1) ('\(c.subject)') has a \(c.publicKeyAlgorithm) key; approved keys are RSA of 2048 bits or more and EC P-256, P-384, P-521")
            }
            let sig = c.signatureAlgorithm
            guard sig.isApproved else {
                throw FIPSError(.certificateNotApproved, "certificate \(i + 1) ('\(c.subject)') is signed with \(sig.name)\(sig.digest.isEmpty ? "" : " (\(sig.digest))"); approved signature hashes are SHA-256, SHA-384, SHA-512")
            }
        }
    }

    /// Step 3: each certificate issued by the next, every issuer a CA.
    static func validateOrder(_ chain: [Certificate]) throws {
        for i in chain.indices.dropLast() {
            let (c, issuer) = (chain[i], chain[i + 1])
            guard issuer.isCA else {
                throw FIPSError(.certificateChainInvalid, "certificate \(i + 2) ('\(issuer.subject)') is not a CA, so it cannot issue certificate \(i + 1) ('\(c.subject)'); the chain must be leaf first, then each issuer")
            }
            guard c.isIssued(by: issuer) else {
                throw FIPSError(.certificateChainInvalid, "certificate \(i + 1) ('\(c.subject)', issuer '\(c.issuer)') is not issued by certificate \(i + 2) ('\(issuer.subject)'); the chain must be leaf first, then each issuer in order")
            }
        }
        if let last = chain.last, last.isSelfIssued, !last.isIssued(by: last) {
            throw FIPSError(.certificateChainInvalid, "the self-issued certificate '\(last.subject)' does not verify its own signature")
        }
    }

    /// Step 5: validity at `now` for every certificate.
    static func validateDates(_ chain: [Certificate], now: Date) throws {
        for (i, c) in chain.enumerated() {
            if now < c.notValidBefore {
                throw FIPSError(.certificateNotYetValid, "certificate \(i + 1) ('\(c.subject)') is not valid before \(c.notValidBefore) (now: \(now)); check the clock")
            }
            if now > c.notValidAfter {
                throw FIPSError(.certificateExpired, "certificate \(i + 1) ('\(c.subject)') expired on \(c.notValidAfter) (now: \(now))")
            }
        }
    }

    /// Step 7: SAN coverage.
    static func validateNames(_ leaf: Certificate, requiredNames: [String]) throws {
        let missing = requiredNames.filter { !leaf.matches(name: $0) }
        guard missing.isEmpty else {
            throw FIPSError(.certificateNameMismatch, "the certificate '\(leaf.subject)' does not cover \(missing.joined(separator: ", ")); its names are \(leaf.subjectAlternativeNames.map(\.description).joined(separator: ", "))")
        }
    }
}
