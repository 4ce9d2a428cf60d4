/// The fields one record type knows, for FieldScanner and FieldReader: a bit each, numbered in
/// the order pici writes them, each with the range its number must fall in.
protocol RecordField: RawRepresentable, Equatable where RawValue == UInt32 {
    /// The member name, as written.
    var name: StaticString { get }
    /// The field a member name is, if any; a cheap test first (its length, a letter), then
    /// `p.matches`.
    static func of(_ key: Range<Int>, in p: JSONParser) -> Self?
    /// For a number field, the values it may hold; nil for any other field.
    var range: ClosedRange<Int>? { get }
}

extension RecordField {
    var bit: UInt32 { 1 << rawValue }
    /// The field that follows in the order pici writes them.
    var next: Self? { Self(rawValue: rawValue + 1) }
    var key: String { "\(name)" }
}

/// The ranges numbers from outside must fall in, so that no arithmetic on them can overflow
/// (an Int trap stops a filter for every job, pass after pass). Checked where a number is
/// read — FieldScanner and FieldReader for records, ZmxList for `zmx list` — and nowhere else.
public enum FieldRange {
    /// Unix seconds, 1970 to 2255: seconds × 10⁹ still fits an Int, and so does any span.
    public static let seconds: ClosedRange<Int> = 0...9_000_000_000
    /// Unix nanoseconds over the same years.
    public static let nanoseconds: ClosedRange<Int> = 0...9_000_000_000_999_999_999
    /// An exit status as a 32-bit int holds it (a shell's, a signal's, a Windows one's).
    public static let exitCode: ClosedRange<Int> = Int(Int32.min)...Int(Int32.max)
    /// A pid or a count.
    public static let count: ClosedRange<Int> = 0...Int(Int32.max)

    static func describe(_ range: ClosedRange<Int>) -> String { "\(range.lowerBound) to \(range.upperBound)" }
}

/// The one reader of a record object's members straight from bytes, shared by every record
/// decoder's fast path: it finds each member's field (checking the one expected next first,
/// since lines pici wrote have their fields in its order), refuses a field given twice, keeps
/// unknown members as they are, and reads numbers range-checked.
///
/// Like the decoders it serves, it throws NotTheCommonShape (or a JSONError) for anything it
/// does not read plainly; the line is then decoded through `init(json:)`, which words what is
/// wrong (FastPathTests holds the two to the same answers).
struct FieldScanner<Field: RecordField> {
    /// The fields read so far, as bits.
    private(set) var seen: UInt32
    /// Members this version does not know, in the order they came.
    private(set) var extra: [JSONObject.Member] = []
    private var expected: Field?
    /// The object's nesting depth, as JSONParser counts it.
    let depth: Int

    /// `read` are the fields already read (a `type` the caller checked), `next` the one
    /// expected first.
    init(depth: Int, read: UInt32 = 0, next: Field?) {
        self.depth = depth
        seen = read
        expected = next
    }

    /// Reads members until the object's `}`, calling `body` once per known field with the
    /// parser at its value. `more` says whether a member follows the ones already read.
    mutating func scan(_ p: inout JSONParser, more: Bool, _ body: (Field, inout JSONParser) throws -> Void) throws {
        var more = more
        while more {
            let field: Field
            if let e = expected, p.takeKey(e.name) {
                field = e
            } else {
                let key = try p.memberKey()
                guard let f = Field.of(key, in: p) else {
                    // A `type` a record does not list as a field is a second one: the general
                    // path takes the last, so it must decide.
                    guard !p.matches(key, "type") else { throw NotTheCommonShape() }
                    extra.append(JSONObject.Member(try p.keyString(key), try p.value(depth: depth)))
                    expected = nil
                    more = try p.endOfMember()
                    continue
                }
                field = f
            }
            expected = field.next
            guard seen & field.bit == 0 else { throw NotTheCommonShape() }
            seen |= field.bit
            try body(field, &p)
            more = try p.endOfMember()
        }
    }

    /// Throws unless every field in `fields` was read.
    func require(_ fields: UInt32) throws {
        guard seen & fields == fields else { throw NotTheCommonShape() }
    }

    /// A whole number in the field's range.
    static func int(_ p: inout JSONParser, _ field: Field) throws -> Int {
        let value = try p.intValue()
        guard field.range?.contains(value) ?? true else { throw NotTheCommonShape() }
        return value
    }

    /// A whole number in the field's range, or null.
    static func optionalInt(_ p: inout JSONParser, _ field: Field) throws -> Int? {
        if p.peek == UInt8(ascii: "n") {
            try p.literal("null")
            return nil
        }
        return try int(&p, field)
    }
}
