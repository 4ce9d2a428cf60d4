/// Log lines in the seed's format, Go's log/slog TextHandler on stderr:
/// `time=2026-11-28T10:00:00.000Z level=ERROR msg="runner failed" service=ci err="..."`.
/// `bin/pici` asks pici-run for them (`--log-level`) so the seed's command line logs as it did.
public struct SeedLog: Sendable {
    /// slog's levels; a line is written when its level is at least the logger's.
    public enum Level: Int, Sendable, Comparable {
        case debug = -4, info = 0, warn = 4, error = 8

        /// The seed's parseLogLevel: debug, warn, error in any case; anything else is info.
        public init(parsing text: String) {
            switch text.lowercased() {
            case "debug": self = .debug
            case "warn": self = .warn
            case "error": self = .error
            default: self = .info
            }
        }

        public var name: String {
            switch self {
            case .debug: return "DEBUG"
            case .info: return "INFO"
            case .warn: return "WARN"
            case .error: return "ERROR"
            }
        }

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    public var level: Level
    /// Attributes every line carries after `msg`, as slog's Logger.With adds them.
    public var attributes: [(key: String, value: String)]

    public init(level: Level, attributes: [(key: String, value: String)] = []) {
        self.level = level
        self.attributes = attributes
    }

    /// The seed's logger: `newLogger("ci", level).With("key_loc", pk, "cert_loc", ck)`.
    public static func seed(level: Level, key: String, certificate: String) -> SeedLog {
        SeedLog(level: level, attributes: [("service", "ci"), ("key_loc", key), ("cert_loc", certificate)])
    }

    public func with(_ more: [(key: String, value: String)]) -> SeedLog {
        SeedLog(level: level, attributes: attributes + more)
    }

    public func enabled(_ l: Level) -> Bool { l >= level }

    /// Writes one line to stderr if `l` is enabled.
    public func log(_ l: Level, _ message: String, _ attrs: [(key: String, value: String)] = []) {
        guard enabled(l) else { return }
        try? Output.writeAll(fd: 2, Array((line(l, message, attrs, nanoseconds: Clock.nowNanoseconds()) + "\n").utf8))
    }

    /// One line without its newline, at the given time (UTC, milliseconds truncated).
    public func line(_ l: Level, _ message: String, _ attrs: [(key: String, value: String)], nanoseconds: Int) -> String {
        var out = "time=" + SeedLog.time(nanoseconds) + " level=" + l.name + " msg=" + SeedLog.value(message)
        for (k, v) in attributes + attrs { out += " " + SeedLog.value(k) + "=" + SeedLog.value(v) }
        return out
    }

    /// slog's appendRFC3339Millis in UTC: `2026-11-28T10:00:00.000Z`.
    public static func time(_ nanoseconds: Int) -> String {
        let seconds = nanoseconds >= 0 ? nanoseconds / 1_000_000_000 : (nanoseconds - 999_999_999) / 1_000_000_000
        let millis = (nanoseconds - seconds * 1_000_000_000) / 1_000_000
        let stamp = TimeFormat.rfc3339(seconds)
        return String(stamp.dropLast()) + "." + TimeFormat.pad(millis, 3) + "Z"
    }

    /// A value as slog's TextHandler writes it: bare, or quoted with strconv.Quote when it is
    /// empty or holds a space, `=`, `"`, a control character or a non-printing character.
    public static func value(_ s: String) -> String {
        needsQuoting(s) ? goQuote(s) : s
    }

    static func needsQuoting(_ s: String) -> Bool {
        if s.isEmpty { return true }
        for u in s.unicodeScalars {
            if u.value < 0x80 {
                if u == "\\" { continue }
                if u == " " || u == "=" || u == "\"" || u.value < 0x20 { return true }
                continue
            }
            if u == "\u{FFFD}" || u.properties.isWhitespace || !isPrint(u) { return true }
        }
        return false
    }

    /// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
    static func isPrint(_ u: Unicode.Scalar) -> Bool {
        if u == " " { return true }
        switch u.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark,
             .decimalNumber, .letterNumber, .otherNumber,
             .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation,
             .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }

    /// Go's strconv.Quote.
    public static func goQuote(_ s: String) -> String {
        let hex = Array("0123456789abcdef")
        func escape(_ v: UInt32, digits: Int, prefix: String) -> String {
            var out = prefix
            for shift in stride(from: (digits - 1) * 4, through: 0, by: -4) { out.append(hex[Int((v >> UInt32(shift)) & 0xF)]) }
            return out
        }
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if isPrint(u) { out.unicodeScalars.append(u); continue }
                switch u.value {
                case 0x07: out += "\\a"
                case 0x08: out += "\\b"
                case 0x0C: out += "\\f"
                case 0x0A: out += "\\n"
                case 0x0D: out += "\\r"
                case 0x09: out += "\\t"
                case 0x0B: out += "\\v"
                case 0..<0x20, 0x7F: out += escape(u.value, digits: 2, prefix: "\\x")
                case 0..<0x10000: out += escape(u.value, digits: 4, prefix: "\\u")
                default: out += escape(u.value, digits: 8, prefix: "\\U")
                }
            }
        }
        return out + "\""
    }
}

/// Where pici-run's diagnostics go: `pici-run: WHAT` lines on stderr, or with `--log-level`
/// the seed's slog lines (failures as `msg="runner failed" err="WHAT"`).
public struct RunLog: Sendable {
    public var seed: SeedLog?

    public init(seed: SeedLog? = nil) { self.seed = seed }

    public func with(_ more: [(key: String, value: String)]) -> RunLog {
        RunLog(seed: seed?.with(more))
    }

    /// Detail that only the seed's log shows (at debug level).
    public func debug(_ message: String, _ attrs: [(key: String, value: String)] = []) {
        seed?.log(.debug, message, attrs)
    }

    public func info(_ message: String, _ attrs: [(key: String, value: String)] = []) {
        seed?.log(.info, message, attrs)
    }

    /// Something went wrong and pici-run carries on.
    public func warn(_ message: String) {
        if let seed { seed.log(.warn, message) } else { Diagnostics.error(message) }
    }

    /// The error that ends the command; `what` is the seed's message (`runner failed`).
    public func failure(_ what: String, _ error: Error) {
        if let seed { seed.log(.error, what, [("err", "\(error)")]) } else { Diagnostics.error("\(error)") }
    }
}
