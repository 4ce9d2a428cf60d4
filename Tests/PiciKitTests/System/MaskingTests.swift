import Foundation
import PiciKit
import XCTest

/// Masker and mask files (pici-stage(1), "Secrets").
final class MaskingTests: XCTestCase {
    func testEveryFormOfASecretBecomesStars() throws {
        let m = try Masker(secrets: ["s3cr&t<'\"x"])
        XCTAssertEqual(m.mask("a s3cr&t<'\"x b"), "a *** b")
        XCTAssertEqual(m.mask("<b>s3cr&amp;t&lt;&#39;&quot;x</b>"), "<b>***</b>")
        XCTAssertEqual(m.mask("s3cr&amp;t&lt;&apos;&quot;x"), "***")
        XCTAssertEqual(m.mask(#"{"v":"s3cr&t<'\"x"}"#), #"{"v":"***"}"#)
        XCTAssertEqual(m.mask("nothing"), "nothing")
    }

    func testLongestFirstAndRepeated() throws {
        let m = try Masker(secrets: ["abcd", "abcdefgh"])
        XCTAssertEqual(m.mask("abcdefgh abcd abcdabcd"), "*** *** ******")
    }

    func testShortSecretsAreRefused() {
        XCTAssertThrowsError(try Masker(secrets: ["abc"])) { error in
            XCTAssertTrue("\(error)".contains("3 bytes"), "\(error)")
        }
        XCTAssertThrowsError(try Masker(secrets: [""]))
    }

    func testMaskFileLinesAndEnvAssignments() throws {
        let dir = Support.tempDir(self)
        let path = dir + "/mask"
        try "hunter22\nTOKEN=tok-1234\r\n\nweird line = yes\n".write(toFile: path, atomically: true, encoding: .utf8)
        let secrets = try Masking.secrets(inFile: path).map(\.secret)
        XCTAssertEqual(secrets, ["hunter22", "tok-1234", "weird line = yes"])
        XCTAssertThrowsError(try Masking.secrets(inFile: dir + "/missing"))
    }

    func testEnvFile() throws {
        let dir = Support.tempDir(self)
        let path = dir + "/env"
        try "# comment\nA=1\n\nB_2=x=y\n".write(toFile: path, atomically: true, encoding: .utf8)
        let pairs = try EnvFile.read(path)
        XCTAssertEqual(pairs.map(\.name), ["A", "B_2"])
        XCTAssertEqual(pairs.map(\.value), ["1", "x=y"])
        try "not an assignment\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try EnvFile.read(path)) { XCTAssertTrue("\($0)".contains("line 1"), "\($0)") }
    }
}
