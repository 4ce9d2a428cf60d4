/// Writes JSON compactly, one value per call, in the byte form every JSON Lines reader takes:
/// UTF-8, no spaces, control characters escaped, key order kept.
///
/// The record types write themselves with the pieces below (`writeString`, `writeInt`,
/// `append(raw:)`) rather than through a `JSON` tree; the bytes are the same.
public enum JSONSerializer {
    public static func string(_ value: JSON) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    public static func bytes(_ value: JSON) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, into: &out)
        return out
    }

    public static func write(_ value: JSON, into out: inout [UInt8]) {
        switch value {
        case .null: append(raw: "null", into: &out)
        case .bool(let b): append(raw: b ? "true" : "false", into: &out)
        case .number(let text): out.append(contentsOf: text.utf8)
        case .string(let s): writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (i, member) in object.members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(member.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Writes `,"key":value` for each member, as the members of an object already begun.
    static func writeMembers(_ members: [JSONObject.Member], into out: inout [UInt8]) {
        for member in members {
            out.append(UInt8(ascii: ","))
            writeString(member.key, into: &out)
            out.append(UInt8(ascii: ":"))
            write(member.value, into: &out)
        }
    }

    private static let hexDigits: StaticString = "0123456789abcdef"

    public static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let done: Void? = s.utf8.withContiguousStorageIfAvailable { writeEscaped($0, into: &out) }
        if done == nil { Array(s.utf8).withUnsafeBufferPointer { writeEscaped($0, into: &out) } }
        out.append(UInt8(ascii: "\""))
    }

    /// The bytes of a string body: runs that need no escape are copied whole.
    private static func writeEscaped(_ text: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        var run = 0
        for i in 0..<text.count {
            let b = text[i]
            if b >= 0x20 && b != 0x22 && b != 0x5C && b != 0x7F { continue }
            if run < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: text[run..<i])) }
            run = i + 1
            out.append(0x5C)
            switch b {
            case 0x22: out.append(0x22)
            case 0x5C: out.append(0x5C)
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            default:
                append(raw: "u00", into: &out)
                out.append(hexDigits.utf8Start[Int(b >> 4)])
                out.append(hexDigits.utf8Start[Int(b & 0xF)])
            }
        }
        if run < text.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: text[run...])) }
    }

    /// An integer as `String(value)` writes it.
    public static func writeInt(_ value: Int, into out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        // The digits go right to left into 24 bytes on the stack (an Int has at most 19), then
        // into `out` at once.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var i = buffer.count
            repeat {
                i -= 1
                buffer[i] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[i...]))
        }
    }

    static func writeOptionalInt(_ value: Int?, into out: inout [UInt8]) {
        if let value { writeInt(value, into: &out) } else { append(raw: "null", into: &out) }
    }

    static func writeOptionalString(_ value: String?, into out: inout [UInt8]) {
        if let value { writeString(value, into: &out) } else { append(raw: "null", into: &out) }
    }

    /// Bytes written as they are: punctuation and member names the caller knows need no escape.
    static func append(raw text: StaticString, into out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}
