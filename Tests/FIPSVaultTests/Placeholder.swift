import XCTest
final class PlaceholderFIPSVaultTests: XCTestCase { func testBuilds() {} }
