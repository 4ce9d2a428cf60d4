import XCTest
@testable import PiciKit

/// `HTML.escape`, `LogCleaner.rows` and the palette's reading of an ASCII style sheet work on
/// UTF-8 bytes for speed; these check them against the Unicode-scalar and Character
/// definitions they replace, over every character class that matters (the escaped five, tab
/// and newline, C0 and C1 controls, DEL, CR LF, multi-byte text).
final class TextBytesTests: XCTestCase {
    /// The definition: per scalar, the five escaped, controls but tab and newline to U+FFFD.
    private func escapeByScalars(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n": out.unicodeScalars.append(c)
            case "\u{00}"..."\u{1F}", "\u{7F}"..."\u{9F}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// The definition: split on the Character "\n" (so CR LF is one Character, not a break).
    private func rowsByCharacters(_ text: String) -> [String] {
        var rows = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if rows.last == "" { rows.removeLast() }
        return rows
    }

    private static let pieces: [String] = [
        "", "a", "plain text ok", "&", "<", ">", "\"", "'", "\t", "\n", "\r", "\r\n", "\u{0}", "\u{1B}[31m",
        "\u{1F}", "\u{7F}", "\u{80}", "\u{85}", "\u{9F}", "\u{A0}", "\u{C2}", "é", "Ω", "→", "✓", "日本",
        "🙂", "e\u{301}", "\u{FFFD}", "&amp;", "x\r\ny", "\n\r", "  ",
    ]

    func testEscapeEqualsItsDefinition() {
        var rng = SystemRandomNumberGenerator()
        var cases = TextBytesTests.pieces + TextBytesTests.pieces.flatMap { a in TextBytesTests.pieces.map { a + $0 } }
        for _ in 0..<2000 {
            cases.append((0..<Int.random(in: 1...12, using: &rng)).map { _ in TextBytesTests.pieces.randomElement(using: &rng)! }.joined())
        }
        for text in cases {
            XCTAssertEqual(HTML.escape(text), escapeByScalars(text), "escaping \(text.debugDescription)")
            var bytes = Array("before".utf8)
            HTML.append(escaping: text, to: &bytes)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), "before" + escapeByScalars(text), "appending \(text.debugDescription)")
        }
    }

    /// Every scalar under U+0100 alone between two letters: each byte class of the escape's
    /// byte test.
    func testEveryCharacterUpToU100EscapesAsItsDefinition() {
        for value in 0..<0x100 {
            let text = "a" + String(Unicode.Scalar(UInt8(value))) + "b"
            XCTAssertEqual(HTML.escape(text), escapeByScalars(text), "U+\(String(value, radix: 16))")
        }
    }

    /// Every scalar under U+0100 at every place of a 20-byte text, alone and after a `<` (so
    /// after a replacement): the copy of what needs no escaping stops and starts anywhere.
    func testEveryCharacterAtEveryPlaceInAWordEscapesAsItsDefinition() {
        for value in 0..<0x100 {
            let c = String(Unicode.Scalar(UInt8(value)))
            for at in 0..<20 {
                let text = String(repeating: "x", count: at) + c + String(repeating: "y", count: 19 - at)
                XCTAssertEqual(HTML.escape(text), escapeByScalars(text), "U+\(String(value, radix: 16)) at \(at)")
                var bytes: [UInt8] = []
                HTML.append(escaping: "<" + text, to: &bytes)
                XCTAssertEqual(String(decoding: bytes, as: UTF8.self), escapeByScalars("<" + text), "U+\(String(value, radix: 16)) at \(at)")
            }
        }
    }

    /// A long log is escaped through a 4 KB buffer, 681 bytes of it at a time: replacements
    /// and multi-byte characters on the edges come out whole wherever they fall.
    func testLongTextsEscapeAsTheirDefinition() {
        // Each kind of byte at each place near a chunk's end (chunks count from the first
        // byte escaped) and near 4 KB.
        for at in Array(670..<690) + Array(1_352..<1_370) + Array(4_070..<4_100) {
            for piece in ["\n", "\t", "&", "\u{85}", "é", "\u{1B}", "\"x\""] {
                let text = "<" + String(repeating: "x", count: at) + piece + "\ny"
                XCTAssertEqual(HTML.escape(text), escapeByScalars(text), "\(piece.debugDescription) at \(at)")
            }
        }
        let pieces = TextBytesTests.pieces + [String(repeating: "x", count: 300), "plain text "]
        var seed: UInt64 = 42
        for length in [4_090, 4_096, 4_100, 12_289, 40_000] {
            var text = ""
            while text.utf8.count < length {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                text += pieces[Int((seed >> 33) % UInt64(pieces.count))]
            }
            XCTAssertEqual(HTML.escape(text), escapeByScalars(text), "length \(length)")
            var bytes = Array("before".utf8)
            HTML.append(escaping: text, to: &bytes)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self), "before" + escapeByScalars(text), "appending, length \(length)")
        }
    }

    func testRowsEqualTheirDefinition() {
        var rng = SystemRandomNumberGenerator()
        var cases = TextBytesTests.pieces + TextBytesTests.pieces.flatMap { a in TextBytesTests.pieces.map { a + $0 } }
        for _ in 0..<2000 {
            cases.append((0..<Int.random(in: 1...12, using: &rng)).map { _ in TextBytesTests.pieces.randomElement(using: &rng)! }.joined())
        }
        for text in cases {
            XCTAssertEqual(LogCleaner.rows(text), rowsByCharacters(text), "rows of \(text.debugDescription)")
        }
    }

    /// The definition: split on Characters, each piece read as Characters.
    private func paletteByCharacters(_ text: String) -> TerminalPalette {
        var p = TerminalPalette()
        for piece in text.split(whereSeparator: { $0 == ";" || $0 == "{" || $0 == "}" }) {
            guard let colon = piece.firstIndex(of: ":") else { continue }
            let name = TerminalStyle.trim(piece[..<colon])
            guard name.hasPrefix("--vt-palette-"), let index = TerminalStyle.byte(name.dropFirst("--vt-palette-".count)),
                  let rgb = TerminalPalette.hexColor(TerminalStyle.trim(piece[piece.index(after: colon)...])) else { continue }
            p.entries[index] = rgb
        }
        return p
    }

    func testAnASCIIStyleSheetIsReadAsItsDefinitionReadsIt() {
        let declarations = [
            "--vt-palette-0: #1d1f21", "--vt-palette-1:#CC6666", " \t--vt-palette-2 :\r\n #b5bd68 \u{0C}", "--vt-palette-255: #fff",
            "--vt-palette-256: #000000", "--vt-palette-007: #010203", "--vt-palette-: #010203", "--vt-palette-1x: #010203",
            "--vt-palette-3: red", "--vt-palette-4: #12345", "--VT-palette-5: #abcdef", "color: #123456", "--vt-palette-6",
            "--vt-palette-7: #a1b2c3d4", "", "  ", ":", "--vt-palette-\r\n8: #111111", "--vt-palette-9: #1\r\n23456",
        ]
        var rng = SystemRandomNumberGenerator()
        var sheets = [":root{" + declarations.joined(separator: ";") + "}", "", "{};;", ":root{--vt-palette-1: #cc6666;}"]
        for _ in 0..<500 {
            sheets.append((0..<Int.random(in: 1...8, using: &rng)).map { _ in declarations.randomElement(using: &rng)! }
                .joined(separator: [";", "{", "}", ";\n"].randomElement(using: &rng)!))
        }
        for sheet in sheets {
            var p = TerminalPalette()
            p.parse(styleSheet: sheet)
            XCTAssertEqual(p, paletteByCharacters(sheet), "reading \(sheet.debugDescription)")
        }
    }
}
