import Foundation
import XCTest
import FIPSCrypto
import FIPSTestSupport
@testable import FIPSCertificates

/// Independent tools (openssl CLI, python3 `cryptography`) and small helpers for the certificate tests.
enum CertTools {
    static func write(_ text: String, _ dir: URL, _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// Runs `openssl` (the system CLI, default provider: an independent parser and verifier).
    static func openssl(_ args: [String], input: Data? = nil) throws -> TestSupport.ProcessResult {
        try TestSupport.run("openssl", args, input: input, removingEnvironment: ["OPENSSL_CONF", "OPENSSL_MODULES"])
    }

    /// Runs a python3 script with `cryptography`; the script's stdout is returned. Fails the test on a non-zero exit.
    static func python(_ script: String, _ args: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try TestSupport.run("python3", ["-c", script] + args, removingEnvironment: ["OPENSSL_CONF", "OPENSSL_MODULES"])
        XCTAssertEqual(r.status, 0, "python3 failed: \(r.err)", file: file, line: line)
        return r.out
    }

    /// Makes test certificates with python3 `cryptography` (an independent implementation) into `dir`:
    /// `<name>.pem` and `<name>-key.pem` (PKCS#8, unencrypted). `spec` is a JSON object:
    /// {"key": "p256"|"p384"|"p192"|"k256"|"rsa1024"|"rsa2048", "hash": "sha256"|"sha384", "cn": "...", "sans": ["DNS:x","IP:y"],
    ///  "not_before_days": -1, "not_after_days": 30, "ca": false, "issuer": "<name of an earlier cert>" }
    static func pythonCertificate(_ dir: URL, _ name: String, _ spec: [String: Any]) throws {
        try pythonCertificates(dir, [(name, spec)])
    }

    /// Several certificates in one python3 run (in order, so a later one can name an earlier one as issuer).
    static func pythonCertificates(_ dir: URL, _ specs: [(String, [String: Any])]) throws {
        let list = specs.map { [$0.0, $0.1] as [Any] }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: list), as: UTF8.self)
        _ = try python(pythonMaker, [dir.path, json])
    }

    static let pythonMaker = #"""
import sys, json, datetime, ipaddress
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
def make(d, name, spec):
  k = spec.get("key", "p256")
  if k.startswith("rsa"): key = rsa.generate_private_key(65537, int(k[3:]))
  else: key = ec.generate_private_key({"p256": ec.SECP256R1(), "p384": ec.SECP384R1(), "p192": ec.SECP192R1(), "k256": ec.SECP256K1()}[k])
  now = datetime.datetime.now(datetime.timezone.utc)
  subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, spec.get("cn", name))])
  if "issuer" in spec:
      ic = x509.load_pem_x509_certificate(open(f"{d}/{spec['issuer']}.pem", "rb").read())
      ik = serialization.load_pem_private_key(open(f"{d}/{spec['issuer']}-key.pem", "rb").read(), None)
      issuer = ic.subject
  else:
      ic, ik, issuer = None, key, subject
  b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
       .serial_number(x509.random_serial_number())
       .not_valid_before(now + datetime.timedelta(days=spec.get("not_before_days", -1)))
       .not_valid_after(now + datetime.timedelta(days=spec.get("not_after_days", 30))))
  ca = spec.get("ca", False)
  b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
  b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
  if ic is not None:
      b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ik.public_key()), critical=False)
  if ca:
      b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
  else:
      b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
  sans = []
  for s in spec.get("sans", []):
      t, v = s.split(":", 1)
      sans.append(x509.DNSName(v) if t == "DNS" else x509.IPAddress(ipaddress.ip_address(v)))
  if sans: b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
  h = {"sha256": hashes.SHA256(), "sha1": hashes.SHA1(), "sha384": hashes.SHA384()}[spec.get("hash", "sha256")]
  cert = b.sign(ik, h)
  open(f"{d}/{name}.pem", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
  open(f"{d}/{name}-key.pem", "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
d = sys.argv[1]
for name, spec in json.loads(sys.argv[2]): make(d, name, spec)
"""#

    /// Inspects a certificate with python3 `cryptography` and prints facts as JSON.
    static func pythonInspect(_ path: String) throws -> [String: Any] {
        let out = try python(#"""
import sys, json
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.hazmat.primitives.asymmetric import ec, rsa
c = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
r = {"version": c.version.name, "serial": c.serial_number, "serial_bits": c.serial_number.bit_length(),
     "sig_hash": c.signature_hash_algorithm.name, "sig_oid": c.signature_algorithm_oid._name,
     "subject": c.subject.rfc4514_string(), "issuer": c.issuer.rfc4514_string(),
     "not_before": c.not_valid_before_utc.timestamp(), "not_after": c.not_valid_after_utc.timestamp()}
pk = c.public_key()
r["key"] = ("EC " + pk.curve.name) if isinstance(pk, ec.EllipticCurvePublicKey) else ("RSA %d" % pk.key_size)
for e in c.extensions:
    v = e.value
    if isinstance(v, x509.BasicConstraints): r["bc"] = {"ca": v.ca, "pathlen": v.path_length, "critical": e.critical}
    elif isinstance(v, x509.KeyUsage):
        r["ku"] = {"critical": e.critical, "digital_signature": v.digital_signature, "key_encipherment": v.key_encipherment,
                   "key_cert_sign": v.key_cert_sign, "crl_sign": v.crl_sign}
    elif isinstance(v, x509.ExtendedKeyUsage): r["eku"] = [o._name for o in v]
    elif isinstance(v, x509.SubjectAlternativeName):
        r["san"] = ["DNS:" + n for n in v.get_values_for_type(x509.DNSName)] + ["IP:" + str(n) for n in v.get_values_for_type(x509.IPAddress)]
    elif isinstance(v, x509.SubjectKeyIdentifier): r["ski"] = v.digest.hex()
    elif isinstance(v, x509.AuthorityKeyIdentifier): r["aki"] = v.key_identifier.hex()
print(json.dumps(r))
"""#, [path])
        return try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
    }
}

/// Asserts that `body` throws a ``FIPSError`` with `code`.
func XCTAssertThrowsFIPSError<T>(_ code: FIPSError.Code, _ body: @autoclosure () throws -> T,
                                 file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected FIPSError \(code), got success", file: file, line: line)
    } catch let e as FIPSError {
        XCTAssertEqual(e.code, code, "wrong code: \(e)", file: file, line: line)
    } catch {
        XCTFail("expected FIPSError \(code), got \(error)", file: file, line: line)
    }
}
