import XCTest
final class PlaceholderFIPSCertificatesTests: XCTestCase { func testBuilds() {} }
