import XCTest
final class PlaceholderFIPSAuditTests: XCTestCase { func testBuilds() {} }
