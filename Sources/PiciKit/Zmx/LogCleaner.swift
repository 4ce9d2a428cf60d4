/// What a build printed, out of what zmx shows of its session: zmx types
/// `<command>; echo ZMX_TASK_COMPLETED:<hex>:$?` into the session's shell, so its history
/// begins with that line (echoed by the terminal), then the prompt and the line again, and
/// ends with the marker `ZMX_TASK_COMPLETED:<hex>:<code>` and another prompt. None of that is
/// the build's. Pure functions over lines; nothing here can fail.
///
/// - The head is recognised by its shape: a first line ending in `; echo
///   ZMX_TASK_COMPLETED:<hex>:$?`, which also gives the session's own hex.
/// - The marker is cut where that hex appears as `ZMX_TASK_COMPLETED:<hex>:<digits>` at the
///   end of a line, the last such line; what the build printed before it on the same line
///   (its last line had no newline) is kept. A look-alike with another hex is the build's.
/// - Without the head (it scrolled out of zmx's scrollback) the hex is unknown: the marker is
///   then only taken when it carries the session's exit code and is followed by nothing but
///   a prompt, at the very end.
/// - A session that shows neither is left as it is.
public enum LogCleaner {
    /// zmx's terminal for a session without a client: 24 rows of 120 columns.
    public static let columns = 120

    public struct Cleaned: Equatable, Sendable {
        public var lines: [String]
        /// The session's marker hex, when its typed line was seen (or given).
        public var hex: String?
        /// The typed command line (and its prompt echo) was found and dropped.
        public var headFound: Bool
        /// The marker (and what followed it) was found and dropped.
        public var markerFound: Bool

        /// The head is gone but the session is one of zmx's: rows were lost before it.
        public var headLost: Bool { !headFound && markerFound }

        public init(lines: [String], hex: String?, headFound: Bool, markerFound: Bool) {
            self.lines = lines
            self.hex = hex
            self.headFound = headFound
            self.markerFound = markerFound
        }
    }

    /// The build's lines out of a session's lines (already unwrapped). `hex` is the session's
    /// marker hex when known from an earlier look; `exitCode` its code once it has ended.
    public static func clean(_ lines: [String], hex knownHex: String? = nil, exitCode: Int? = nil) -> Cleaned {
        var lines = lines
        let seen = stripHead(&lines)
        let hex = seen ?? knownHex
        let marker = stripMarker(&lines, hex: hex, exitCode: exitCode)
        return Cleaned(lines: lines, hex: hex, headFound: seen != nil, markerFound: marker)
    }

    /// `zmx history` text (rows, `\n` after each) to the build's lines.
    public static func clean(history text: String, hex: String? = nil, exitCode: Int? = nil) -> Cleaned {
        clean(unwrap(rows(text)), hex: hex, exitCode: exitCode)
    }

    /// The rows of a text, without the empty string after its final newline.
    public static func rows(_ text: String) -> [String] {
        // Split on the UTF-8 bytes, as splitting on the Character "\n" would: an LF right
        // after a CR is part of the Character "\r\n" and no row break.
        var text = text
        return text.withUTF8 { b in
            var rows: [String] = []
            var start = 0
            for i in 0..<b.count where b[i] == 0x0A && (i == 0 || b[i - 1] != 0x0D) {
                rows.append(String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self))
                start = i + 1
            }
            if start < b.count { rows.append(String(decoding: UnsafeBufferPointer(rebasing: b[start...]), as: UTF8.self)) }
            return rows
        }
    }

    // MARK: Soft wraps

    /// Rows joined back into lines: a row exactly as wide as the terminal, followed by another
    /// row, was wrapped there. zmx marks no wrap, so a line the build printed exactly 120
    /// columns wide is joined with the next one: that cannot be told apart.
    public static func unwrap<C: Collection>(_ rows: C) -> [String] where C.Element: StringProtocol {
        var out: [String] = []
        out.reserveCapacity(rows.count)
        var pending: String? = nil
        for row in rows {
            if pending != nil { pending! += row } else { pending = String(row) }
            if !isFull(row) {
                out.append(pending!)
                pending = nil
            }
        }
        if let pending { out.append(pending) }
        return out
    }

    /// Whether a row fills the terminal's width. One column per character, as the stand-in
    /// counts; a row holding wide characters (two columns each in a real terminal) also when
    /// it reaches 119 columns, since a wide character that does not fit wraps whole.
    public static func isFull<S: StringProtocol>(_ row: S) -> Bool {
        // Each column takes at least a byte (a wide character three for two columns), so a
        // shorter row is never full: most rows are, and need not be walked.
        if row.utf8.count < columns - 1 { return false }
        var scalars = 0, width = 0, wide = false
        for u in row.unicodeScalars {
            scalars += 1
            if isWide(u) { width += 2; wide = true } else { width += 1 }
            if scalars > columns && width > columns { return false }
        }
        return scalars == columns || (wide && (width == columns || width == columns - 1))
    }

    /// `isFull` of a row's UTF-8.
    static func isFull(_ row: UnsafeBufferPointer<UInt8>) -> Bool {
        row.count >= columns - 1 && isFull(String(decoding: row, as: UTF8.self))
    }

    static func isWide(_ u: Unicode.Scalar) -> Bool {
        switch u.value {
        case 0x1100...0x115F, 0x2E80...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F,
             0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD:
            return true
        default:
            return false
        }
    }

    // MARK: The head

    static let echoMarker = Array("; echo ZMX_TASK_COMPLETED:".utf8)
    static let markerWord = Array("ZMX_TASK_COMPLETED:".utf8)

    /// The end of the typed line `…; echo ZMX_TASK_COMPLETED:<hex>:$?` in `line`, and its hex.
    static func typedLineEnd(_ line: [UInt8]) -> (end: Int, hex: String)? {
        var from = 0
        while let at = Masker.find(echoMarker, in: line, from: from) {
            var j = at + echoMarker.count
            let hexStart = j
            while j < line.count, j - hexStart < 16, isHex(line[j]) { j += 1 }
            if j > hexStart, j + 3 <= line.count, line[j] == UInt8(ascii: ":"), line[j + 1] == UInt8(ascii: "$"),
               line[j + 2] == UInt8(ascii: "?") {
                return (j + 3, String(decoding: line[hexStart..<j], as: UTF8.self))
            }
            from = at + 1
        }
        return nil
    }

    /// What the head of a session's lines is: the typed line and its echo, on the first line
    /// or the first two.
    struct Head: Equatable {
        /// The session's marker hex, from the typed line.
        var hex: String
        /// How many of the first lines the head takes.
        var lines: Int
        /// What followed the echo on the last of them: the build's first output, kept as the
        /// first line (when not empty).
        var rest: [UInt8]
    }

    /// The head of `lines`, or nil when the first line is not a typed line. When the typed
    /// line filled its last row exactly, the prompt line was joined to it by `unwrap`; what
    /// follows the typed part is then split off again.
    static func head<L: CleanerLines>(of lines: L) -> Head? {
        guard lines.count > 0 else { return nil }
        let l0 = lines.withLine(0) { Array($0) }
        guard let (end, hex) = typedLineEnd(l0) else { return nil }
        let typed = Array(l0[0..<end])
        var rest = Array(l0[end...])
        var taken = 1
        if rest.isEmpty, lines.count > 1 {
            rest = lines.withLine(1) { Array($0) }
            taken = 2
        }
        // The prompt and the typed line again: a short prompt before it, nothing else.
        if let at = Masker.find(typed, in: rest, from: 0), at <= 256, Masker.find(markerWord, in: Array(rest[0..<at]), from: 0) == nil {
            rest = Array(rest[(at + typed.count)...])
        }
        return Head(hex: hex, lines: taken, rest: rest)
    }

    /// Drops the typed line and its echo after the prompt from the front of `lines`; returns
    /// the hex, or nil (and leaves the lines alone) when the first line is not a typed line.
    public static func stripHead(_ lines: inout [String]) -> String? {
        guard let head = head(of: lines) else { return nil }
        lines.removeFirst(head.lines)
        if !head.rest.isEmpty { lines.insert(String(decoding: head.rest, as: UTF8.self), at: 0) }
        return head.hex
    }

    // MARK: The marker

    /// Whether the last byte of `line` but trailing blanks (as `markerAtEnd` skips them) is a
    /// digit.
    static func endsInDigit(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        for b in line.reversed() where b != UInt8(ascii: " ") && b != UInt8(ascii: "\r") { return isDigit(b) }
        return false
    }

    /// Where a marker `ZMX_TASK_COMPLETED:<hex>:<code>` ends `line` (trailing blanks
    /// allowed): its start, hex and code.
    static func markerAtEnd(_ line: UnsafeBufferPointer<UInt8>) -> (start: Int, hex: [UInt8], code: Int)? {
        var end = line.count
        while end > 0, line[end - 1] == UInt8(ascii: " ") || line[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        var j = end
        while j > 0, isDigit(line[j - 1]) { j -= 1 }
        guard j < end, end - j <= 10, j > 0, line[j - 1] == UInt8(ascii: ":") else { return nil }
        let code = Int(String(decoding: UnsafeBufferPointer(rebasing: line[j..<end]), as: UTF8.self)) ?? -1
        let hexEnd = j - 1
        var h = hexEnd
        while h > 0, hexEnd - h < 16, isHex(line[h - 1]) { h -= 1 }
        guard h < hexEnd, h >= markerWord.count, line[(h - markerWord.count)..<h].elementsEqual(markerWord) else { return nil }
        return (h - markerWord.count, Array(line[h..<hexEnd]), code)
    }

    /// Where the session's marker is in `lines`: its line, and how many bytes of that line
    /// came before it (the build's, kept). Everything from the marker on is zmx's.
    static func marker<L: CleanerLines>(in lines: L, hex: String?, exitCode: Int?) -> (line: Int, kept: Int)? {
        if let hex {
            let wanted = Array(hex.utf8)
            // A running build has no marker yet, so every line is looked at: first its end,
            // which a marker's code ends (blanks after it at most), without copying it.
            for i in stride(from: lines.count - 1, through: 0, by: -1) {
                let start: Int? = lines.withLine(i) { b in
                    guard endsInDigit(b), Masker.find(markerWord, in: Array(b), from: 0) != nil, let m = markerAtEnd(b), m.hex == wanted else { return nil }
                    return m.start
                }
                if let start { return (i, start) }
            }
            return nil
        }
        // Unknown hex: only the very end, with the session's own exit code.
        guard let exitCode else { return nil }
        var i = lines.count - 1
        while i >= 0, lines.withLine(i, { $0.allSatisfy { $0 == UInt8(ascii: " ") } }) { i -= 1 }
        for _ in 0..<2 where i >= 0 {
            if let m = lines.withLine(i, markerAtEnd), m.code == exitCode { return (i, m.start) }
            guard isPrompt(lines.withLine(i) { String(decoding: $0, as: UTF8.self) }) else { return nil }
            i -= 1
        }
        return nil
    }

    /// Cuts the session's marker and everything after it; true when it was there.
    public static func stripMarker(_ lines: inout [String], hex: String?, exitCode: Int?) -> Bool {
        guard let (i, kept) = marker(in: lines, hex: hex, exitCode: exitCode) else { return false }
        let prefix = lines.withLine(i) { Array($0[..<kept]) }
        lines.removeSubrange(i...)
        if !prefix.isEmpty { lines.append(String(decoding: prefix, as: UTF8.self)) }
        return true
    }

    /// A shell prompt as bash shows it: `user@host:dir$` or `…#`, maybe with a space.
    static func isPrompt(_ line: String) -> Bool {
        var s = Substring(line)
        while s.last == " " { s.removeLast() }
        guard let last = s.last, last == "$" || last == "#" || last == ">" || last == "%" else { return false }
        return s.utf8.count <= 256 && !s.contains("ZMX_TASK_COMPLETED:")
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    private static func isHex(_ c: UInt8) -> Bool {
        isDigit(c) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "F"))
    }
}

/// A session's lines as `LogCleaner` reads them: Strings, or a history's rows joined into lines
/// without a String each (`HistoryRows`).
protocol CleanerLines {
    var count: Int { get }
    /// Calls `body` with line `i`'s UTF-8.
    func withLine<R>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R
    /// Calls `body` with each line of `lines` in turn, and its UTF-8.
    func forEachLine(_ lines: Range<Int>, _ body: (Int, UnsafeBufferPointer<UInt8>) -> Void)
}

extension CleanerLines {
    func forEachLine(_ lines: Range<Int>, _ body: (Int, UnsafeBufferPointer<UInt8>) -> Void) {
        for i in lines { withLine(i) { body(i, $0) } }
    }
}

extension Array: CleanerLines where Element == String {
    func withLine<R>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        var line = self[i]
        return line.withUTF8(body)
    }
}

/// Lines with their head taken off (`LogCleaner.head`): what followed the echo, when
/// anything did, then the lines after the head.
struct LinesAfterHead<Lines: CleanerLines>: CleanerLines {
    let lines: Lines
    let head: LogCleaner.Head?

    private var restLines: Int { head.map { $0.rest.isEmpty ? 0 : 1 } ?? 0 }
    private var taken: Int { head?.lines ?? 0 }

    var count: Int { lines.count - taken + restLines }

    func withLine<R>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        if i < restLines, let head { return head.rest.withUnsafeBufferPointer(body) }
        return lines.withLine(i - restLines + taken, body)
    }

    func forEachLine(_ range: Range<Int>, _ body: (Int, UnsafeBufferPointer<UInt8>) -> Void) {
        if restLines == 1, range.contains(0), let head { head.rest.withUnsafeBufferPointer { body(0, $0) } }
        let shift = taken - restLines
        let rest = max(range.lowerBound, restLines)..<max(range.upperBound, restLines)
        lines.forEachLine((rest.lowerBound + shift)..<(rest.upperBound + shift)) { body($0 - shift, $1) }
    }
}
