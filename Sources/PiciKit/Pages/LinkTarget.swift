/// Where a link in a build's log may point. Any program can print an OSC 8 hyperlink, and zmx
/// renders it as `<a href>` with the target as given, so a build could put a
/// `javascript:` link on the CI site. Only `http:`, `https:` and `mailto:` are kept.
///
/// The scheme is judged the way a browser's URL parser finds it (WHATWG URL): C0 controls and
/// spaces at either end are stripped, tabs and newlines anywhere are removed, and the scheme is
/// compared without case. The caller passes the target with character references already
/// decoded, and pici writes back the normalised string escaped, so the browser parses exactly
/// what was judged here: `JaVaScRiPt:`, ` javascript:`, `java\tscript:` and `&#106;avascript:`
/// all end up as the same refused scheme.
public enum LinkTarget {
    public static let schemes: Set<String> = ["http", "https", "mailto"]

    /// The normalised target, ready for `HTML.escape`, or nil when the link must go. Other
    /// control characters, spaces and DEL inside it are percent-encoded, as the browser would.
    public static func safe(_ target: String) -> String? {
        var scalars = Array(target.unicodeScalars)
        while let first = scalars.first, first.value <= 0x20 { scalars.removeFirst() }
        while let last = scalars.last, last.value <= 0x20 { scalars.removeLast() }
        scalars.removeAll { $0 == "\t" || $0 == "\n" || $0 == "\r" }

        guard let colon = scalars.firstIndex(of: ":"), colon > 0, isAlpha(scalars[0]),
              scalars[1..<colon].allSatisfy({ isAlpha($0) || isDigit($0) || $0 == "+" || $0 == "-" || $0 == "." })
        else { return nil }
        var scheme = ""
        for s in scalars[..<colon] { scheme.unicodeScalars.append(lower(s)) }
        guard schemes.contains(scheme) else { return nil }

        var out = scheme
        for s in scalars[colon...] {
            if s.value <= 0x20 || s.value == 0x7F {
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(hex[Int(s.value >> 4)])
                out.unicodeScalars.append(hex[Int(s.value & 0xF)])
            } else {
                out.unicodeScalars.append(s)
            }
        }
        return out
    }

    private static func isAlpha(_ s: Unicode.Scalar) -> Bool { ("a"..."z").contains(s) || ("A"..."Z").contains(s) }
    private static func isDigit(_ s: Unicode.Scalar) -> Bool { ("0"..."9").contains(s) }
    private static func lower(_ s: Unicode.Scalar) -> Unicode.Scalar {
        ("A"..."Z").contains(s) ? Unicode.Scalar(s.value + 32)! : s
    }
}
