/// pici's HTML writer: every string that reaches a page goes through `escape` (text and
/// attribute values alike) or `linkSegment` (a relative link). zmx's `--html` fragment is no
/// exception: `ZmxHTML` reads it into values and writes them back through here.
public enum HTML {
    /// Text safe in element content and in a quoted attribute value. Control characters other
    /// than tab and newline, which HTML does not allow, become U+FFFD.
    public static func escape(_ text: String) -> String {
        // Byte by byte over the UTF-8, which a String always is: most lines of a log hold
        // nothing to escape and are returned as they are, without a copy.
        var text = text
        let escaped: String? = text.withUTF8 { utf8 in
            guard let first = firstToEscape(utf8) else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(utf8.count + 64)
            out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[..<first]))
            appendEscaped(utf8, from: first, to: &out)
            return String(decoding: out, as: UTF8.self)
        }
        return escaped ?? text
    }

    /// `escape(text)` appended to `out` (a page written as bytes, without a String per piece).
    public static func append(escaping text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { utf8 in appendEscaped(utf8, from: 0, to: &out) }
    }

    /// Every byte from `first` on, through `replacements`: one load and one store a byte,
    /// with no branch on what the byte is but for 0xC2 (a C1 control's lead byte). A log
    /// holds a byte to escape every few words, at places no branch predictor learns:
    /// branching on each byte cost ~3x as much on such text (bench/README.md, session 14).
    /// Text with nothing to escape is no faster than that, not copied whole as it was.
    private static func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>, from first: Int, to out: inout [UInt8]) {
        guard first < utf8.count, let src = utf8.baseAddress else { return }
        // Into a buffer on the stack, moved to `out` a chunk at a time; each store is a
        // whole word, of which only the replacement's length counts.
        let size = 4096
        let table = replacements
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: size) { buffer in
            let buf = UnsafeMutableRawPointer(buffer.baseAddress!)
            var i = first
            let n = utf8.count
            while i < n {
                var k = 0
                // At most 6 bytes out for one in, and a word stored at the last.
                let limit = min(n, i + (size - 8) / 6)
                while i < limit {
                    var entry = table[Int(src[i])]
                    if entry == 0 {
                        // 0xC2: a C1 control with the byte after it (U+FFFD), else itself.
                        if isC1(utf8, at: i) {
                            entry = 0xBD_BF_EF | 3 << 56
                            i += 1
                        } else {
                            entry = 0xC2 | 1 << 56
                        }
                    }
                    (buf + k).storeBytes(of: entry.littleEndian, as: UInt64.self)
                    k += Int(truncatingIfNeeded: entry >> 56)
                    i += 1
                }
                out.append(contentsOf: UnsafeBufferPointer(start: buffer.baseAddress!, count: k))
            }
        }
    }

    /// What `escape` makes of each byte: its replacement (at most 6 bytes, the first in the
    /// low byte) and, in the top byte, how many bytes that is; 0 for 0xC2, which depends on
    /// the byte after it.
    private static let replacements: UnsafeMutablePointer<UInt64> = {
        let table = UnsafeMutablePointer<UInt64>.allocate(capacity: 256)
        for b in 0..<256 { table[b] = UInt64(b) | 1 << 56 }
        for b in 0..<256 where !needsNoEscape(UInt8(b)) {
            switch b {
            case 0x26: table[b] = 0x3B_70_6D_61_26 | 5 << 56  // &amp;
            case 0x3C: table[b] = 0x3B_74_6C_26 | 4 << 56  // &lt;
            case 0x3E: table[b] = 0x3B_74_67_26 | 4 << 56  // &gt;
            case 0x22: table[b] = 0x3B_74_6F_75_71_26 | 6 << 56  // &quot;
            case 0x27: table[b] = 0x3B_39_33_23_26 | 5 << 56  // &#39;
            case 0xC2: table[b] = 0
            default: table[b] = 0xBD_BF_EF | 3 << 56  // U+FFFD for a control character
            }
        }
        return table
    }()

    /// A byte that `escape` keeps as it is whatever follows it (the common case).
    @inline(__always)
    private static func needsNoEscape(_ b: UInt8) -> Bool {
        b < 0x40 ? (belowAt >> UInt64(b)) & 1 == 0 : (b != 0x7F && b != 0xC2)
    }

    /// The bytes under 0x40 that `escape` changes, as bits: the controls but tab and
    /// newline (0x00-0x1F but 0x09, 0x0A), `"` 0x22, `&` 0x26, `'` 0x27, `<` 0x3C, `>` 0x3E.
    private static let belowAt: UInt64 = 0x5000_00C4_FFFF_F9FF

    /// Where the first byte is that `escape` changes, if any.
    private static func firstToEscape(_ utf8: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        while i < utf8.count {
            let b = utf8[i]
            if !needsNoEscape(b) && (b != 0xC2 || isC1(utf8, at: i)) { return i }
            i += 1
        }
        return nil
    }

    /// Whether U+0080...U+009F, a C1 control, starts at `i` (0xC2 0x80...0x9F).
    @inline(__always)
    private static func isC1(_ utf8: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
        utf8[i] == 0xC2 && i + 1 < utf8.count && utf8[i + 1] >= 0x80 && utf8[i + 1] <= 0x9F
    }

    /// A path segment for a relative link: percent-encodes all but unreserved characters, so
    /// that a repo named `a#b` or `a?b` still links to its own directory.
    public static func linkSegment(_ segment: String) -> String {
        var out = ""
        for b in segment.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(hex[Int(b >> 4)])
                out.unicodeScalars.append(hex[Int(b & 0xF)])
            }
        }
        return out
    }
}
