/// A string that is safe to use as one path component, an argument word and an HTML-escaped
/// label: repository names, job ids and step names come from users and from zmx, and reach
/// the file system only through here.
public enum SafeName {
    public struct Unsafe: Error, Equatable, CustomStringConvertible {
        public var value: String
        public var reason: String
        public var description: String { "unsafe name \(quoted(value)): \(reason)" }
    }

    /// Checks one path component: not empty, not `.`/`..`, no `/`, no NUL or other control
    /// character, no leading `-` (an option) or `.` (hidden, and the state dir is `.pici`).
    public static func check(_ value: String) throws {
        if value.isEmpty { throw Unsafe(value: value, reason: "empty") }
        if value == "." || value == ".." { throw Unsafe(value: value, reason: "is . or ..") }
        if value.hasPrefix("-") { throw Unsafe(value: value, reason: "starts with -") }
        if value.hasPrefix(".") { throw Unsafe(value: value, reason: "starts with .") }
        if value.utf8.count > 200 { throw Unsafe(value: value, reason: "longer than 200 bytes") }
        for u in value.unicodeScalars {
            if u == "/" { throw Unsafe(value: value, reason: "contains /") }
            if u.value < 0x20 || u.value == 0x7F || (0x80...0x9F).contains(u.value) {
                throw Unsafe(value: value, reason: "contains a control character")
            }
        }
    }

    public static func isSafe(_ value: String) -> Bool { (try? check(value)) != nil }

    /// A repository name for pici-run: a safe component that is also free of white space and
    /// shell metacharacters, since it becomes part of zmx session names and shell hints.
    public static func checkRepository(_ value: String) throws {
        try check(value)
        for u in value.unicodeScalars {
            if u.properties.isWhitespace { throw Unsafe(value: value, reason: "contains white space") }
            // Bidi overrides and other invisible format characters make a page or a terminal
            // show another name than the one that runs (U+202E turns `cba` into `abc`).
            if u.properties.generalCategory == .format {
                throw Unsafe(value: value, reason: "contains the invisible format character U+\(String(u.value, radix: 16, uppercase: true))")
            }
            if "`$&|;<>()*?[]{}!~#'\"\\^%=,".unicodeScalars.contains(u) {
                throw Unsafe(value: value, reason: "contains the shell metacharacter \(u)")
            }
        }
    }

    /// A job id as pici makes them: eight lowercase hex digits.
    public static func isJobID(_ value: Substring) -> Bool {
        value.utf8.count == 8 && value.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// The value in double quotes with control characters made visible, for messages.
    public static func quoted(_ value: String) -> String {
        var out = "\""
        for u in value.unicodeScalars.prefix(200) {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 || u.value == 0x7F { out += "\\x" + String(u.value, radix: 16) } else { out.unicodeScalars.append(u) }
            }
        }
        if value.unicodeScalars.count > 200 { out += "…" }
        return out + "\""
    }
}
