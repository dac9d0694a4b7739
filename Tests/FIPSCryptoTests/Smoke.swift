import XCTest
import FIPSCrypto
final class SmokeTests: XCTestCase { func testLoad() throws { let s = try FIPSModule.load(); XCTAssertEqual(s.state, .operational) } }
