import Foundation
import PiciKit
import XCTest

/// The JSON reader against RFC 8259 and the writer against the reader.
final class JSONTests: XCTestCase {
    private func parse(_ text: String) throws -> JSON { try JSONParser.parse(text) }

    private func assertRejects(_ text: String, _ reason: String? = nil, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try JSONParser.parse(text), "accepted \(text.debugDescription)", file: file, line: line) { error in
            guard let e = error as? JSONError else { return XCTFail("not a JSONError: \(error)", file: file, line: line) }
            if let reason { XCTAssertTrue(e.reason.contains(reason), "reason was \(e.reason)", file: file, line: line) }
        }
    }

    private func assertRejects(bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try JSONParser.parse(bytes), "accepted \(bytes)", file: file, line: line)
    }

    // MARK: valid texts

    func testScalarsAtTopLevel() throws {
        XCTAssertEqual(try parse("null"), .null)
        XCTAssertEqual(try parse("true"), .bool(true))
        XCTAssertEqual(try parse("false"), .bool(false))
        XCTAssertEqual(try parse("\"\""), .string(""))
        XCTAssertEqual(try parse("0"), .number("0"))
        XCTAssertEqual(try parse(" \t\r\n42 \n"), .number("42"))
    }

    func testNumbersOfEveryShapeKeepTheirText() throws {
        for text in ["0", "-0", "7", "-12", "3.25", "-0.5", "1e9", "1E+9", "2.5e-3", "0e0", "-0.0E-0",
                     "123456789012345678901234567890", "1e400", "-1e-400", "0.000000000000000000000000001"] {
            XCTAssertEqual(try parse(text), .number(text), text)
            XCTAssertEqual(JSONSerializer.string(try parse(text)), text, text)
        }
    }

    func testHugeNumbersSurviveAsLiteralText() throws {
        let big = "184467440737095516161844674407370955161618446744073709551616"
        let value = try parse("{\"n\":\(big)}")
        XCTAssertEqual(value.objectValue?["n"], .number(big))
        XCTAssertNil(value.objectValue?["n"]?.intValue, "does not fit an Int, so it is not one")
        XCTAssertEqual(JSONSerializer.string(value), "{\"n\":\(big)}")
        XCTAssertEqual(JSON.number("3").intValue, 3)
        XCTAssertEqual(JSON.number("-1").intValue, -1)
        XCTAssertNil(JSON.number("3.5").intValue)
    }

    func testContainersKeepOrderAndDuplicateKeysResolveToTheLast() throws {
        let value = try parse(#"{ "b" : [1, {"x":[]}, "s"], "a" : {}, "b" : 2 }"#)
        guard case .object(let o) = value else { return XCTFail("not an object") }
        XCTAssertEqual(o.members.map(\.key), ["b", "a", "b"])
        XCTAssertEqual(o["b"], .number("2"))
        XCTAssertEqual(o["a"], .object(JSONObject()))
        XCTAssertEqual(o.members[0].value, .array([.number("1"), .object(JSONObject(["x": .array([])])), .string("s")]))
        XCTAssertEqual(try parse(#"{"":1," ":{"\u0000":null}}"#),
                       .object(JSONObject(["": .number("1"), " ": .object(JSONObject(["\u{0}": .null]))])), "any string is a key")
        XCTAssertEqual(try parse("[]"), .array([]))
        XCTAssertEqual(try parse("[[[]]]"), .array([.array([.array([])])]))
    }

    func testEscapes() throws {
        XCTAssertEqual(try parse(#""\" \\ \/ \b \f \n \r \t""#), .string("\" \\ / \u{08} \u{0C} \n \r \t"))
        XCTAssertEqual(try parse(#""\u0041\u00e9\u20AC""#), .string("Aé€"))
        XCTAssertEqual(try parse(#""\u0000""#), .string("\u{0}"))
        XCTAssertEqual(try parse(#""\ud83d\ude00""#), .string("😀"), "a surrogate pair is one scalar")
        XCTAssertEqual(try parse("\"plain é 😀 text\""), .string("plain é 😀 text"))
        XCTAssertEqual(try parse(#""mixed é\n😀""#), .string("mixed é\n😀"))
    }

    func testLoneSurrogatesBecomeReplacementCharacters() throws {
        XCTAssertEqual(try parse(#""\ud800""#), .string("\u{FFFD}"))
        XCTAssertEqual(try parse(#""\udc00""#), .string("\u{FFFD}"))
        XCTAssertEqual(try parse(#""a\ud800b""#), .string("a\u{FFFD}b"))
        XCTAssertEqual(try parse(#""\ud800\u0041""#), .string("\u{FFFD}A"), "the escape after a lone high surrogate is kept")
        XCTAssertEqual(try parse(#""\ud800\ud800\udc00""#), .string("\u{FFFD}\u{10000}"))
        XCTAssertEqual(try parse(#""\udc00\ud800""#), .string("\u{FFFD}\u{FFFD}"))
    }

    // MARK: invalid texts

    func testRejectsTrailingCommas() {
        assertRejects("[1,]")
        assertRejects(#"{"a":1,}"#)
        assertRejects("[,]")
        assertRejects("[1,,2]")
    }

    func testRejectsMalformedNumbers() {
        for text in ["01", "-01", "00", "+1", ".5", "5.", "1.e3", "1e", "1e+", "-", "--1", "0x10", "1_000", "NaN", "Infinity", "-Infinity"] {
            assertRejects(text)
            assertRejects("[\(text)]")
        }
    }

    func testRejectsBadEscapes() {
        assertRejects(#""\x41""#, "escape")
        assertRejects(#""\'""#, "escape")
        assertRejects(#""\u12""#)
        assertRejects(#""\u12G4""#, "\\u")
        assertRejects(#""\U0041""#, "escape")
        assertRejects("\"\\", "unterminated")
    }

    func testRejectsControlCharactersInStrings() {
        for c in [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F] {
            assertRejects(bytes: Array("\"a".utf8) + [UInt8(c)] + Array("b\"".utf8))
            assertRejects(bytes: Array("\"\\n".utf8) + [UInt8(c)] + Array("\"".utf8))
        }
        XCTAssertEqual(try JSONParser.parse(Array("\"a\u{7F}b\"".utf8)), .string("a\u{7F}b"), "DEL is allowed raw")
    }

    func testRejectsInvalidUTF8() {
        let cases: [[UInt8]] = [
            [0xFF], [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
            [0xC3], [0x80], [0xE2, 0x82],
        ]
        for bad in cases {
            assertRejects(bytes: [0x22] + bad + [0x22])
            assertRejects(bytes: Array("\"ok\\n".utf8) + bad + [0x22])
            assertRejects(bytes: bad)
            assertRejects(bytes: Array("{\"a\":1}".utf8) + bad)
        }
    }

    func testRejectsOtherInvalidTexts() {
        for text in ["", " ", "nul", "nulls", "True", "[1 2]", "{\"a\" 1}", "{a:1}", "{'a':1}", "{\"a\":}", "{1:2}",
                     "[", "]", "{", "}", "\"abc", "[1]]", "{} {}", "1 2", "[1]x", "\u{FEFF}{}", "/*c*/{}"] {
            assertRejects(text)
        }
    }

    func testNestingUpToTheLimitIsAcceptedAndDeeperIsRefused() throws {
        let limit = JSONParser.maxDepth
        let ok = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        XCTAssertNoThrow(try parse(ok))
        let okObjects = String(repeating: "{\"a\":", count: limit) + "1" + String(repeating: "}", count: limit)
        XCTAssertNoThrow(try parse(okObjects))
        assertRejects("[" + ok + "]", "nested")
        assertRejects("{\"a\":" + okObjects + "}", "nested")
        // Far deeper than any stack would take, unterminated too: refused, not a crash.
        assertRejects(String(repeating: "[", count: 1_000_000), "nested")
        assertRejects(String(repeating: "{\"a\":[", count: 200_000), "nested")
    }

    func testErrorNamesTheOffset() {
        XCTAssertThrowsError(try JSONParser.parse("[1,]")) { error in
            let e = error as! JSONError
            XCTAssertEqual(e.offset, 3)
            XCTAssertTrue("\(e)".hasPrefix("invalid JSON at byte 4:"), "\(e)")
        }
    }

    // MARK: writer

    func testSerializerEscapesEveryControlCharacter() throws {
        for c in 0..<0x20 {
            let s = "a" + String(UnicodeScalar(UInt8(c))) + "b"
            let text = JSONSerializer.string(.string(s))
            XCTAssertFalse(text.utf8.contains { $0 < 0x20 }, "raw control \(c) in \(text.debugDescription)")
            XCTAssertEqual(try parse(text), .string(s))
        }
        XCTAssertEqual(JSONSerializer.string(.string("\n\r\t\"\\")), #""\n\r\t\"\\""#)
        XCTAssertEqual(JSONSerializer.string(.string("\u{0}\u{1F}\u{7F}")), #""\u0000\u001f\u007f""#)
        XCTAssertEqual(JSONSerializer.string(.string("/é😀")), "\"/é😀\"", "non-ASCII stays UTF-8")
    }

    func testSerializerIsCompactAndKeepsKeyOrder() {
        let value = JSON.object(JSONObject([
            "z": .int(1), "a": .array([.null, .bool(true), .bool(false)]), "m": .object(JSONObject()),
            "s": .optionalString(nil), "n": .optionalInt(-7),
        ]))
        XCTAssertEqual(JSONSerializer.string(value), #"{"z":1,"a":[null,true,false],"m":{},"s":null,"n":-7}"#)
        XCTAssertEqual(JSONSerializer.bytes(value), Array(JSONSerializer.string(value).utf8))
    }

    func testRoundTripsThroughText() throws {
        let texts = [
            #"{"type":"x","a":[1,2.5,-3e10,{"b":null}],"c":"\u0001\n\"é😀","d":true,"e":{}}"#,
            #"[[],{},"",0,-0,1E+2]"#,
            "\"\(String(repeating: "long ", count: 10_000))\"",
        ]
        for text in texts {
            let once = try parse(text)
            let written = JSONSerializer.string(once)
            XCTAssertEqual(try parse(written), once)
            XCTAssertEqual(JSONSerializer.string(try parse(written)), written, "writing is stable")
        }
    }

    func testRoundTripsAgainstFoundation() throws {
        // What we write, a second reader reads the same way.
        let s = "tab\there\u{1}quote\"back\\slash\u{7F}é😀"
        let text = JSONSerializer.string(.object(JSONObject(["k": .string(s), "n": .int(12)])))
        let obj = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        XCTAssertEqual(obj["k"] as? String, s)
        XCTAssertEqual(obj["n"] as? Int, 12)
    }

    func testObjectSubscriptSetsRemovesAndAppends() {
        var o = JSONObject(["a": .int(1), "b": .int(2)])
        o["a"] = .int(3)
        o["c"] = .null
        o["b"] = nil
        XCTAssertEqual(JSONSerializer.string(.object(o)), #"{"a":3,"c":null}"#)
    }
}
