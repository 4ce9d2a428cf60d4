/// Reads one JSON text from UTF-8 bytes. Strict (RFC 8259), with a nesting limit so that a
/// hostile line cannot exhaust the stack, and with strings checked to be valid UTF-8.
///
/// Besides `parse`, the record decoders walk an object member by member with the cursor calls
/// below (`memberKey`, `endOfMember`, …), so a record is read straight into its struct without
/// building a `JSON` tree first. Every read is bounds-checked against `bytes.count`.
public struct JSONParser {
    public static let maxDepth = 256

    public static func parse(_ text: String) throws -> JSON {
        var copy = text
        return try copy.withUTF8 { try parse(UnsafeRawBufferPointer($0)) }
    }

    public static func parse(_ bytes: [UInt8]) throws -> JSON {
        try bytes.withUnsafeBytes { try parse($0) }
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSON {
        var parser = JSONParser(bytes: bytes)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        if !parser.atEnd { throw parser.fail("unexpected data after the value") }
        return value
    }

    let bytes: UnsafeRawBufferPointer
    private(set) var index = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    private func fail(_ reason: String) -> JSONError { JSONError(offset: index, reason: reason) }

    var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    var atEnd: Bool { index == bytes.count }

    @inline(__always)
    mutating func skipSpace() {
        // Compact JSON has none: one look and out.
        if index < bytes.count && bytes[index] > 0x20 { return }
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws -> JSON {
        guard let byte = peek else { throw fail("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw fail("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw fail("unexpected end of input") }
        for i in 0..<count where bytes[index + i] != word.utf8Start[i] {
            throw fail("unexpected character")
        }
        index += count
    }

    private mutating func object(depth: Int) throws -> JSON {
        guard depth <= JSONParser.maxDepth else { throw fail("nested deeper than \(JSONParser.maxDepth)") }
        index += 1
        var result = JSONObject()
        skipSpace()
        if peek == UInt8(ascii: "}") { index += 1; return .object(result) }
        while true {
            skipSpace()
            guard peek == UInt8(ascii: "\"") else { throw fail("expected a member name") }
            let key = try string()
            skipSpace()
            guard peek == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            skipSpace()
            result.append(key, try value(depth: depth))
            skipSpace()
            switch peek {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return .object(result)
            case nil: throw fail("unexpected end of input")
            default: throw fail("expected ',' or '}'")
            }
        }
    }

    private mutating func array(depth: Int) throws -> JSON {
        guard depth <= JSONParser.maxDepth else { throw fail("nested deeper than \(JSONParser.maxDepth)") }
        index += 1
        var result: [JSON] = []
        skipSpace()
        if peek == UInt8(ascii: "]") { index += 1; return .array(result) }
        while true {
            skipSpace()
            result.append(try value(depth: depth))
            skipSpace()
            switch peek {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return .array(result)
            case nil: throw fail("unexpected end of input")
            default: throw fail("expected ',' or ']'")
            }
        }
    }

    private mutating func number() throws -> String {
        let range = try numberRange()
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// Where the number at the cursor is, checked against JSON's grammar.
    private mutating func numberRange() throws -> Range<Int> {
        let start = index
        if peek == UInt8(ascii: "-") { index += 1 }
        guard let first = peek, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else {
            throw fail("malformed number")
        }
        if first == UInt8(ascii: "0") { index += 1 } else { skipDigits() }
        if peek == UInt8(ascii: ".") {
            index += 1
            guard skipDigits() > 0 else { throw fail("malformed number") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            index += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
            guard skipDigits() > 0 else { throw fail("malformed number") }
        }
        return start..<index
    }

    @discardableResult
    private mutating func skipDigits() -> Int {
        let start = index
        while let b = peek, b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }

    mutating func string() throws -> String {
        index += 1
        let start = index
        // Fast path: no escapes, so the bytes between the quotes are the string.
        var i = index
        var high: UInt8 = 0  // any byte >= 0x80 sets the top bit: not ASCII, so validate
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                index = i + 1
                guard let s = JSONParser.utf8String(UnsafeRawBufferPointer(rebasing: bytes[start..<i]), ascii: high < 0x80) else {
                    throw JSONError(offset: start, reason: "string is not valid UTF-8")
                }
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 {
                index = i
                throw fail("control character in string")
            }
            high |= b
            i += 1
        }
        index = i
        var out = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while true {
            guard index < bytes.count else { throw fail("unterminated string") }
            let b = bytes[index]
            switch b {
            case UInt8(ascii: "\""):
                index += 1
                guard let s = out.withUnsafeBytes({ JSONParser.utf8String($0, ascii: false) }) else {
                    throw JSONError(offset: start, reason: "string is not valid UTF-8")
                }
                return s
            case UInt8(ascii: "\\"):
                index += 1
                guard let e = peek else { throw fail("unterminated string") }
                index += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"): appendUTF8(of: try unicodeEscape(), to: &out)
                default: throw fail("unknown escape")
                }
            default:
                if b < 0x20 { throw fail("control character in string") }
                out.append(b)
                index += 1
            }
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard bytes.count - index >= 4 else { throw fail("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail("bad \\u escape")
            }
            v = v << 4 | d
            index += 1
        }
        return v
    }

    /// A lone surrogate becomes U+FFFD rather than an error: it is valid JSON, just not text.
    private mutating func unicodeEscape() throws -> UInt32 {
        let first = try hex4()
        guard (0xD800...0xDBFF).contains(first) else {
            return (0xDC00...0xDFFF).contains(first) ? 0xFFFD : first
        }
        guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
        else { return 0xFFFD }
        let save = index
        index += 2
        let second = try hex4()
        guard (0xDC00...0xDFFF).contains(second) else {
            index = save
            return 0xFFFD
        }
        return 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
    }

    /// The bytes as a String, or nil when they are not UTF-8. String(decoding:) puts U+FFFD in
    /// place of what is not UTF-8, so the bytes are valid exactly when they come out unchanged;
    /// ASCII always is. (String(validating:) says the same, but far more slowly.)
    static func utf8String(_ raw: UnsafeRawBufferPointer, ascii: Bool) -> String? {
        let s = String(decoding: raw, as: UTF8.self)
        return ascii || s.utf8.elementsEqual(raw) ? s : nil
    }

    private func appendUTF8(of scalar: UInt32, to out: inout [UInt8]) {
        let s = Unicode.Scalar(scalar) ?? "\u{FFFD}"
        out.append(contentsOf: String(Character(s)).utf8)
    }
}

// MARK: - The cursor the record decoders use

/// Thrown by a record decoder's fast path when the line is not in the shape it reads: the
/// line is then read again by the general path, which alone decides what is wrong with it.
struct NotTheCommonShape: Error {}

extension JSONParser {
    /// Reads `byte` if it is next.
    mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count && bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// Reads `{` and says whether members follow (false for `{}`).
    mutating func beginObject() throws -> Bool {
        skipSpace()
        guard take(UInt8(ascii: "{")) else { throw NotTheCommonShape() }
        skipSpace()
        return !take(UInt8(ascii: "}"))
    }

    /// Reads `"key":` and returns where the key's bytes are. Only a key without escapes or
    /// control characters is read here; any other makes the caller take the general path.
    mutating func memberKey() throws -> Range<Int> {
        skipSpace()
        let key = try plainString()
        skipSpace()
        guard take(UInt8(ascii: ":")) else { throw NotTheCommonShape() }
        skipSpace()
        return key
    }

    /// Reads `"word":` if that is what comes next, as written compactly; false (and nothing
    /// read) for anything else, which `memberKey` then reads.
    mutating func takeKey(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        let i = index
        guard bytes.count - i >= n + 3, bytes[i] == UInt8(ascii: "\""), bytes[i + n + 1] == UInt8(ascii: "\""),
              bytes[i + n + 2] == UInt8(ascii: ":")
        else { return false }
        let w = word.utf8Start
        for k in 0..<n where bytes[i + 1 + k] != w[k] { return false }
        index = i + n + 3
        skipSpace()
        return true
    }

    /// Reads `"name":` where the name may hold escapes, as a label's name may.
    mutating func memberName() throws -> String {
        skipSpace()
        guard peek == UInt8(ascii: "\"") else { throw NotTheCommonShape() }
        let name = try string()
        skipSpace()
        guard take(UInt8(ascii: ":")) else { throw NotTheCommonShape() }
        skipSpace()
        return name
    }

    /// After a member's value: true at `,` (another member follows), false at `}`.
    mutating func endOfMember() throws -> Bool {
        skipSpace()
        if take(UInt8(ascii: ",")) { return true }
        if take(UInt8(ascii: "}")) { return false }
        throw NotTheCommonShape()
    }

    /// Reads `[` and says whether items follow (false for `[]`).
    mutating func beginArray() throws -> Bool {
        guard take(UInt8(ascii: "[")) else { throw NotTheCommonShape() }
        skipSpace()
        return !take(UInt8(ascii: "]"))
    }

    /// After an item: true at `,`, false at `]`.
    mutating func endOfItem() throws -> Bool {
        skipSpace()
        if take(UInt8(ascii: ",")) { skipSpace(); return true }
        if take(UInt8(ascii: "]")) { return false }
        throw NotTheCommonShape()
    }

    /// The bytes of a string with no escapes and no control characters, quotes excluded; they
    /// are not checked to be UTF-8, so only compare them with ASCII or validate them.
    mutating func plainString() throws -> Range<Int> {
        guard take(UInt8(ascii: "\"")) else { throw NotTheCommonShape() }
        let start = index
        var i = index
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                index = i + 1
                return start..<i
            }
            if b == UInt8(ascii: "\\") || b < 0x20 { break }
            i += 1
        }
        throw NotTheCommonShape()
    }

    /// Whether the bytes at `range` are exactly `word` (ASCII).
    func matches(_ range: Range<Int>, _ word: StaticString) -> Bool { ASCIIBytes.equal(bytes[range], word) }

    /// A member name read by `memberKey`, as a String.
    func keyString(_ range: Range<Int>) throws -> String {
        guard let s = JSONParser.utf8String(UnsafeRawBufferPointer(rebasing: bytes[range]), ascii: false) else {
            throw NotTheCommonShape()
        }
        return s
    }

    /// A string value (escapes and all).
    mutating func stringValue() throws -> String {
        guard peek == UInt8(ascii: "\"") else { throw NotTheCommonShape() }
        return try string()
    }

    /// A string or null.
    mutating func optionalStringValue() throws -> String? {
        if peek == UInt8(ascii: "n") {
            try literal("null")
            return nil
        }
        return try stringValue()
    }

    /// A number that is a whole number fitting an Int, read as `Int(text)` would read its text:
    /// `-?(0|[1-9][0-9]*)` not followed by a fraction or an exponent.
    mutating func intValue() throws -> Int {
        var i = index
        let negative = i < bytes.count && bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        guard i < bytes.count else { throw NotTheCommonShape() }
        var value = 0
        if bytes[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            let first = i
            while i < bytes.count {
                let d = bytes[i] &- UInt8(ascii: "0")
                guard d < 10 else { break }
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                // Negative numbers are summed downwards so that Int.min fits.
                let (next, o2) = negative ? times10.subtractingReportingOverflow(Int(d)) : times10.addingReportingOverflow(Int(d))
                guard !o1 && !o2 else { throw NotTheCommonShape() }
                value = next
                i += 1
            }
            guard i > first else { throw NotTheCommonShape() }
        }
        if i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"):
                throw NotTheCommonShape()
            default: break
            }
        }
        index = i
        return value
    }

    /// A whole number or null.
    mutating func optionalIntValue() throws -> Int? {
        if peek == UInt8(ascii: "n") {
            try literal("null")
            return nil
        }
        return try intValue()
    }

    mutating func boolValue() throws -> Bool {
        switch peek {
        case UInt8(ascii: "t"): try literal("true"); return true
        case UInt8(ascii: "f"): try literal("false"); return false
        default: throw NotTheCommonShape()
        }
    }

    /// Reads the rest of a line after its record: only white space may follow.
    mutating func expectEnd() throws {
        skipSpace()
        guard atEnd else { throw NotTheCommonShape() }
    }
}
