import XCTest
final class PlaceholderCLI: XCTestCase { func testBuilds() {} }
