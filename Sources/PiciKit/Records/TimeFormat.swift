import Glibc

/// The seed's ways of writing times and durations, so pages and status lines read the same.
public enum TimeFormat {
    /// RFC 3339 in UTC, as Go's time.RFC3339 writes it: `2026-05-11T09:30:00Z`.
    public static func rfc3339(_ unixSeconds: Int) -> String {
        format(unixSeconds, date: UInt8(ascii: "-"), between: UInt8(ascii: "T"), suffix: UInt8(ascii: "Z"))
    }

    /// The seed's formatTimestamp: `2026-05-11 09:30:00`, or `—` when unknown.
    public static func timestamp(_ unixSeconds: Int?) -> String {
        guard let unixSeconds else { return "—" }
        return format(unixSeconds, date: UInt8(ascii: "-"), between: UInt8(ascii: " "), suffix: nil)
    }

    private static func format(_ unixSeconds: Int, date sep: UInt8, between: UInt8, suffix: UInt8?) -> String {
        var t = time_t(unixSeconds)
        var parts = tm()
        guard gmtime_r(&t, &parts) != nil else { return "—" }
        var out: [UInt8] = []
        out.reserveCapacity(24)
        appendPadded(Int(parts.tm_year) + 1900, 4, to: &out)
        out.append(sep)
        appendPadded(Int(parts.tm_mon) + 1, 2, to: &out)
        out.append(sep)
        appendPadded(Int(parts.tm_mday), 2, to: &out)
        out.append(between)
        appendPadded(Int(parts.tm_hour), 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(Int(parts.tm_min), 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendPadded(Int(parts.tm_sec), 2, to: &out)
        if let suffix { out.append(suffix) }
        return String(decoding: out, as: UTF8.self)
    }

    /// What `pad` gives, appended as bytes.
    private static func appendPadded(_ n: Int, _ width: Int, to out: inout [UInt8]) {
        if width == 2 && n >= 0 && n < 100 {  // months, days and times: the common case
            out.append(UInt8(ascii: "0") + UInt8(n / 10))
            out.append(UInt8(ascii: "0") + UInt8(n % 10))
            return
        }
        let start = out.count
        JSONSerializer.writeInt(n, into: &out)
        let written = out.count - start
        if written < width { out.insert(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - written), at: start) }
    }

    /// Parses what `rfc3339` writes back to unix seconds.
    public static func parseRFC3339(_ text: String) -> Int? {
        let u = Array(text.utf8)
        guard u.count == 20, u[4] == 0x2D, u[7] == 0x2D, u[10] == 0x54, u[13] == 0x3A, u[16] == 0x3A, u[19] == 0x5A
        else { return nil }
        func num(_ r: Range<Int>) -> Int? { Int(String(decoding: u[r], as: UTF8.self)) }
        guard let y = num(0..<4), let mo = num(5..<7), let d = num(8..<10), let h = num(11..<13),
              let mi = num(14..<16), let s = num(17..<19) else { return nil }
        var parts = tm()
        parts.tm_year = Int32(y - 1900)
        parts.tm_mon = Int32(mo - 1)
        parts.tm_mday = Int32(d)
        parts.tm_hour = Int32(h)
        parts.tm_min = Int32(mi)
        parts.tm_sec = Int32(s)
        return Int(timegm(&parts))
    }

    public static func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// The seed's fmtDuration over whole seconds: `2m34s`, `12s`, `5.0s`; `—` when either end
    /// is unknown or the span is negative.
    public static func duration(from start: Int?, to end: Int?) -> String {
        guard let start, let end else { return "—" }
        return duration(seconds: end - start)
    }

    public static func duration(seconds: Int) -> String {
        if seconds < 0 { return "—" }
        if seconds >= 60 { return "\(seconds / 60)m\(seconds % 60)s" }
        if seconds >= 10 { return "\(seconds)s" }
        return "\(seconds).0s"
    }

    /// Reads a duration flag the way Go's time.ParseDuration does for the units people use:
    /// `500ms`, `5s`, `10m`, `3h`, `1h30m`, a bare `0`. Returns seconds.
    public static func parseDuration(_ text: String) -> Double? {
        if text == "0" { return 0 }
        var total = 0.0
        var number = ""
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            number = ""
            while let c = rest.first, c.isNumber || c == "." { number.append(c); rest.removeFirst() }
            guard let value = Double(number) else { return nil }
            var unit = ""
            while let c = rest.first, c.isLetter { unit.append(c); rest.removeFirst() }
            switch unit {
            case "ms": total += value / 1000
            case "s": total += value
            case "m": total += value * 60
            case "h": total += value * 3600
            default: return nil
            }
        }
        return total
    }
}
