import XCTest
@testable import PiciKit

/// The flags every Swift tool takes, as their man pages say.
final class ArgumentsTests: XCTestCase {
    let options: [Arguments.Option] = [.init("human"), .init("artifact-dir", value: true)]

    func testFlagsTakeOneDashOrTwoAndValuesInlineOrNext() throws {
        let a = try Arguments(["-human", "--artifact-dir", "/a", "x", "--", "--human"], options: options)
        XCTAssertTrue(a.has("human"))
        XCTAssertEqual(a.value("artifact-dir"), "/a")
        XCTAssertEqual(a.positionals, ["x", "--human"])
        XCTAssertEqual(try Arguments(["-artifact-dir=/b"], options: options).value("artifact-dir"), "/b")
        XCTAssertEqual(try Arguments(["--artifact-dir="], options: options).value("artifact-dir"), "")
    }

    /// `--human=false` would read as `--human` (or, worse, as its opposite in one tool and not
    /// another): any value given to a flag that takes none is a usage error.
    func testAFlagThatTakesNoValueRefusesOne() {
        for arg in ["--human=false", "--human=true", "-human=1", "--human=0", "--human=", "--help=yes", "--version=1"] {
            XCTAssertThrowsError(try Arguments([arg], options: options), arg) { error in
                XCTAssertEqual("\(error)", "option \(arg.prefix(while: { $0 != "=" })) takes no value", arg)
            }
        }
    }

    func testUnknownAndValuelessOptionsAreUsageErrors() {
        XCTAssertThrowsError(try Arguments(["--bogus"], options: options)) { XCTAssertEqual("\($0)", "unknown option --bogus") }
        XCTAssertThrowsError(try Arguments(["--artifact-dir"], options: options)) { XCTAssertEqual("\($0)", "option --artifact-dir needs a value") }
    }
}
