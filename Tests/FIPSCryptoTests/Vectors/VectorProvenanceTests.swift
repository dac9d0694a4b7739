import Foundation
import XCTest
import FIPSTestSupport

/// The vector files are the bytes vectors/README.md records: every `<sha256>  <path>` line there is checked with
/// `sha256sum -c` (an independent tool, not the code under test).
final class VectorProvenanceTests: XCTestCase {
    func testVectorFilesMatchTheChecksumsInREADME() throws {
        guard TestSupport.hasProgram("sha256sum") else { throw XCTSkip("sha256sum (coreutils) is not installed") }
        let readme = try String(contentsOf: TestSupport.vectorsDirectory.appendingPathComponent("README.md"), encoding: .utf8)
        let lines = readme.split(whereSeparator: \.isNewline).filter {
            $0.range(of: #"^[0-9a-f]{64}  [^ ]+$"#, options: .regularExpression) != nil
        }
        let listed = Set(lines.map { String($0.dropFirst(66)) })
        for path in ["nist/cavp/gcm/gcmEncryptExtIV256.rsp", "nist/cavp/gcm/gcmDecrypt256.rsp",
                     "nist/cavp/sha/SHA256ShortMsg.rsp", "nist/cavp/sha/SHA384ShortMsg.rsp", "nist/cavp/sha/SHA512ShortMsg.rsp",
                     "nist/cavp/sha/SHA256LongMsg.rsp", "rfc/rfc-4231-sha256.txt", "rfc/rfc-4231-sha384.txt",
                     "rfc/rfc-4231-sha512.txt", "rfc/rfc-5869-HKDF-SHA256.txt", "wycheproof/aes_gcm_test.json",
                     "wycheproof/hkdf_sha256_test.json", "wycheproof/hkdf_sha384_test.json", "wycheproof/hkdf_sha512_test.json"] {
            XCTAssertTrue(listed.contains(path), "README lists no checksum for \(path)")
        }
        let input = Data((lines.joined(separator: "\n") + "\n").utf8)
        let r = try TestSupport.run("sha256sum", ["-c", "--strict", "-"], input: input, currentDirectory: TestSupport.vectorsDirectory)
        XCTAssertEqual(r.status, 0, "sha256sum -c:\n\(r.out)\(r.err)")
        let ok = r.out.split(separator: "\n").filter { $0.hasSuffix(": OK") }.count
        print("vectors: \(ok) of \(lines.count) files match the SHA-256 in vectors/README.md")
        XCTAssertEqual(ok, lines.count)
    }
}
