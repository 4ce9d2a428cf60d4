import XCTest
@testable import PiciKit

/// `DisplayWidth`: the columns a running line takes at a terminal, and the line cut to fit.
final class DisplayWidthTests: XCTestCase {
    func testLettersTakeOneColumnWideCharactersTwoAndMarksNone() {
        XCTAssertEqual(DisplayWidth.of(""), 0)
        XCTAssertEqual(DisplayWidth.of("running, job 7e7a"), 17)
        XCTAssertEqual(DisplayWidth.of("é"), 1)
        XCTAssertEqual(DisplayWidth.of("e\u{301}"), 1, "a combining accent")
        XCTAssertEqual(DisplayWidth.of("日本"), 4)
        XCTAssertEqual(DisplayWidth.of("한국"), 4)
        XCTAssertEqual(DisplayWidth.of("ｆｕｌｌ"), 8, "fullwidth forms")
        XCTAssertEqual(DisplayWidth.of("🙂"), 2)
        XCTAssertEqual(DisplayWidth.of("a\u{200B}b"), 2, "a zero-width space")
    }

    func testEscapeSequencesTakeNoColumns() {
        XCTAssertEqual(DisplayWidth.of(Terminal.colour("running", "33", enabled: true)), 7)
        XCTAssertEqual(DisplayWidth.of("\u{1B}[1;31mx\u{1B}[0m y"), 3)
    }

    func testALineThatFitsIsKeptWhole() {
        let line = "   pici         running, job 7e7a7e7a"
        XCTAssertEqual(DisplayWidth.fit(line, columns: DisplayWidth.of(line)), line)
        XCTAssertEqual(DisplayWidth.fit(line, columns: 200), line)
        XCTAssertEqual(DisplayWidth.fit(line, columns: 3), line, "too narrow to cut")
    }

    func testALongerLineIsCutToTheColumnsWithDots() {
        let line = "   a-very-long-repository-name running, job 7e7a7e7a on build-host-3"
        for columns in 4...DisplayWidth.of(line) - 1 {
            let cut = DisplayWidth.fit(line, columns: columns)
            XCTAssertLessThanOrEqual(DisplayWidth.of(cut), columns, cut)
            XCTAssertGreaterThanOrEqual(DisplayWidth.of(cut), columns - 1, cut)
            XCTAssertTrue(cut.hasSuffix("..."), cut)
            XCTAssertTrue(line.hasPrefix(String(cut.dropLast(3))), cut)
        }
    }

    func testAWideCharacterIsNeverHalved() {
        let cut = DisplayWidth.fit("日本語のリポジトリ running", columns: 10)
        XCTAssertEqual(cut, "日本語...")
        XCTAssertEqual(DisplayWidth.of(cut), 9)
    }

    func testACutColourIsEndedAndSequencesStayWhole() {
        let line = "   job  " + Terminal.colour("running for a long time now", "33", enabled: true) + " tail"
        let cut = DisplayWidth.fit(line, columns: 16)
        XCTAssertEqual(cut, "   job  \u{1B}[33mrunni...\u{1B}[0m")
        // Cut after the colour ended: nothing more to end.
        let after = DisplayWidth.fit("   " + Terminal.colour("ok", "32", enabled: true) + " and a long tail of text", columns: 12)
        XCTAssertEqual(after, "   \u{1B}[32mok\u{1B}[0m and...")
    }
}
