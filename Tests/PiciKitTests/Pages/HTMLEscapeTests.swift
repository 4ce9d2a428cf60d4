import PiciKit
import XCTest

/// HTML.escape: text safe in element content and in quoted attribute values.
final class HTMLEscapeTests: XCTestCase {
    /// What escape promises, a character at a time.
    static func reference(_ text: String) -> String {
        var out = ""
        for u in text.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n": out.unicodeScalars.append(u)
            case "\u{00}"..."\u{1F}", "\u{7F}"..."\u{9F}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    func testMarkupQuotesAndControlsAreReplaced() {
        XCTAssertEqual(HTML.escape(#"<a href="x">Tom's & co</a>"#), "&lt;a href=&quot;x&quot;&gt;Tom&#39;s &amp; co&lt;/a&gt;")
        XCTAssertEqual(HTML.escape("bell\u{07} esc\u{1B}[31m del\u{7F} c1\u{85}\u{9F} tab\tnl\n"), "bell\u{FFFD} esc\u{FFFD}[31m del\u{FFFD} c1\u{FFFD}\u{FFFD} tab\tnl\n")
        XCTAssertEqual(HTML.escape("é ✓ ❤ 日本 \u{A0}\u{C2}"), "é ✓ ❤ 日本 \u{A0}\u{C2}")
    }

    func testEveryCharacterUpToU100EscapesAsPromised() {
        for value in 0..<0x100 {
            let text = "a" + String(Unicode.Scalar(UInt8(value))) + "b"
            XCTAssertEqual(HTML.escape(text), HTMLEscapeTests.reference(text), "U+\(String(value, radix: 16))")
        }
    }

    func testTextWithNothingToEscapeIsItself() {
        let line = "line 42: compiling module_42.swift ok"
        XCTAssertEqual(HTML.escape(line), line)
    }

    /// A long log is escaped through a buffer: replacements and characters on its edges come out
    /// whole wherever they fall.
    func testLongTextsEscapeAsTheirCharactersDo() {
        let pieces = ["&", "<", ">", "\"", "'", "\u{85}", "\u{1B}", "é", "日本", "❤", "\n", "\t", "plain text ", String(repeating: "x", count: 300)]
        var seed: UInt64 = 42
        for length in [4_090, 4_096, 4_100, 12_289, 40_000] {
            var text = ""
            while text.utf8.count < length {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                text += pieces[Int((seed >> 33) % UInt64(pieces.count))]
            }
            XCTAssertEqual(HTML.escape(text), HTMLEscapeTests.reference(text), "length \(length)")
            var bytes: [UInt8] = Array("head ".utf8)
            HTML.append(escaping: text, to: &bytes)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), "head " + HTMLEscapeTests.reference(text))
        }
    }
}
