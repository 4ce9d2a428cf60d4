/// Parses what `zmx list` prints into session records. Every line shape of zmx 0.4 to 0.7 is
/// understood; a line that is none of them is reported by number, never guessed at.
public struct ZmxList {
    public struct Malformed: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        /// The line's `name=`, when it has one: its job is held (see `held`).
        public var name: String? = nil
        public var description: String { "line \(line): \(reason)" }
    }

    public var sessions: [SessionRecord] = []
    public var malformed: [Malformed] = []
    /// A session for every name whose line cannot be trusted: a malformed line with a
    /// `name=` (its fields out of zmx's order, as when a name holds a TAB or a newline, or a
    /// name with a control character), and every name that has two lines. Each is
    /// `unreachable`, with the reason as its `err` label, so that its job stays running — not
    /// published on what the line may have forged — until the session is gone. Its fields
    /// are never taken.
    public var held: [SessionRecord] = []

    /// What pici-list prints: the sessions and the held names, by name.
    public var listed: [SessionRecord] { held.isEmpty ? sessions : SessionRecord.sortedByName(sessions + held) }

    /// Every malformed line was held by its name: the listing still accounts for every job.
    public var accountsForEveryJob: Bool { malformed.allSatisfy { $0.name != nil } }

    /// zmx session names are socket file names; a longer line is not a session.
    public static let maxLineLength = 64 * 1024

    public init() {}

    /// Splits on the byte, not the Character: Swift reads `\r\n` as one Character, so a
    /// CRLF text split on "\n" would be a single line.
    public static func parse(_ text: String) -> ZmxList { parse(Array(text.utf8)) }

    public static func parse(_ bytes: [UInt8]) -> ZmxList {
        var list = ZmxList()
        var number = 0
        var start = bytes.startIndex
        while true {
            number += 1
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.endIndex
            list.add(line: bytes[start..<end], number: number)
            if end == bytes.endIndex { break }
            start = end + 1
        }
        list.sort()
        return list
    }

    public mutating func sort() {
        sessions = SessionRecord.sortedByName(sessions)
        holdSuspects()
    }

    /// Moves names with two lines from `sessions` to `held`, and holds every malformed line's
    /// name (see `held`).
    mutating func holdSuspects() {
        var reasons: [(name: String, reason: String)] = []
        var kept: [SessionRecord] = []
        kept.reserveCapacity(sessions.count)
        var i = 0
        while i < sessions.count {
            var j = i + 1
            while j < sessions.count && sessions[j].name == sessions[i].name { j += 1 }
            if j - i > 1 { reasons.append((sessions[i].name, "\(j - i) lines for one name")) } else { kept.append(sessions[i]) }
            i = j
        }
        if reasons.isEmpty && malformed.allSatisfy({ $0.name == nil }) { return }
        for m in malformed { if let name = m.name { reasons.append((name, m.reason)) } }
        let heldNames = Set(reasons.map(\.name))
        sessions = kept.filter { !heldNames.contains($0.name) }
        var seen = Set<String>()
        held = reasons.compactMap { r in
            guard seen.insert(r.name).inserted else { return nil }
            let job = JobName.parse(r.name)
            return SessionRecord(
                name: r.name, repo: job?.repo, jobID: job?.jobID, short: job?.short, created: 0, status: .unreachable,
                labels: [("err", "suspect: " + r.reason)])
        }
    }

    public mutating func add(line bytes: [UInt8], number: Int) { add(line: bytes[...], number: number) }

    mutating func add(line bytes: ArraySlice<UInt8>, number: Int) {
        var bad: Malformed
        do {
            if let s = try ZmxList.session(fromLine: bytes) {
                sessions.append(s)
                previousName = s.name
            }
            return
        } catch let e as Malformed {
            bad = Malformed(line: number, reason: e.reason, name: e.name)
        } catch {
            bad = Malformed(line: number, reason: "\(error)")
        }
        // zmx starts every line with a name; a line without one is the rest of the line
        // before it, cut by a newline in that session's name.
        if bad.name == nil, let previous = previousName { bad.name = previous }
        previousName = bad.name
        malformed.append(bad)
    }

    /// The name of the last line that had one, for a line that has none.
    private var previousName: String? = nil

    private static func bad(_ reason: String) -> Malformed { Malformed(line: 0, reason: reason) }

    /// One line to a session, nil for a line that carries none (blank, or zmx's
    /// `no sessions found` notice); throws Malformed (line 0) for anything else.
    public static func session(fromLine raw: [UInt8]) throws -> SessionRecord? { try session(fromLine: raw[...]) }

    /// `byCharacters` makes even an ASCII line go the Character way (for tests: both ways
    /// must read it the same).
    static func session(fromLine raw: ArraySlice<UInt8>, byCharacters: Bool = false) throws -> SessionRecord? {
        if raw.count > maxLineLength { throw bad("line is \(raw.count) bytes, longer than \(maxLineLength)") }
        var bytes = raw
        if bytes.last == 0x0D { bytes = bytes.dropLast() }
        // A name that is not UTF-8 is listed, its bad bytes written `\xe9`, rather than
        // dropped: a job missing a failed step would be published as a success.
        let escaped: [UInt8]
        if !bytes.allSatisfy({ $0 < 0x80 }), String(validating: bytes, as: UTF8.self) == nil {
            escaped = escapingInvalidUTF8(bytes)
            bytes = escaped[...]
        }
        if !byCharacters, let line = try asciiFields(bytes) {
            guard case .fields(let fields) = line else { return nil }
            return try session(fields: fields, in: bytes, ascii: true)
        }
        guard case .fields(let fields) = try unicodeFields(bytes) else { return nil }
        return try session(fields: fields, in: bytes, ascii: false)
    }

    /// A `key=value` field: where its key and its value are in the line.
    private typealias Field = (key: Range<Int>, value: Range<Int>)

    private enum Line {
        case fields([Field])
        /// Blank, or zmx's `no sessions found` notice.
        case noSession
    }

    /// The fields of a line that is ASCII after its indent and `→` mark, as every line zmx
    /// prints in practice: there each byte is one Character, so splitting bytes is splitting
    /// text. One pass over the bytes; returns nil for any other line, which `unicodeFields`
    /// reads. What is wrong is reported in the order `unicodeFields` checks it.
    private static func asciiFields(_ bytes: ArraySlice<UInt8>) throws -> Line? {
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end && bytes[i] == 0x20 { i += 1 }
        if end - i >= 3 && bytes[i] == 0xE2 && bytes[i + 1] == 0x86 && bytes[i + 2] == 0x92 {  // →
            i += 3
            while i < end && bytes[i] == 0x20 { i += 1 }
        }
        let lineStart = i
        var fields: [Field] = []
        fields.reserveCapacity(8)
        var nul = false, blank = true
        var notKeyValue: Range<Int>? = nil
        var fieldStart = i, eq = -1
        while i <= end {
            let b = i < end ? bytes[i] : 0x09  // the end closes the last field as a TAB would
            if b >= 0x80 { return nil }
            if b == 0x09 {
                if i > fieldStart {
                    if eq >= 0 { fields.append((fieldStart..<eq, (eq + 1)..<i)) } else if notKeyValue == nil { notKeyValue = fieldStart..<i }
                }
                fieldStart = i + 1
                eq = -1
            } else {
                if b == 0 { nul = true }
                if b != 0x20 { blank = false }
                if b == UInt8(ascii: "=") && eq < 0 { eq = i }
            }
            i += 1
        }
        if nul { throw bad("contains a NUL byte") }
        if blank { return .noSession }
        if ASCIIBytes.hasPrefix(bytes[lineStart...], "no sessions found") { return .noSession }
        if let field = notKeyValue {
            throw bad("field \(SafeName.quoted(String(decoding: bytes[field], as: UTF8.self))) is not key=value")
        }
        return .fields(fields)
    }

    /// The fields of any other line, split as Swift's Characters fall, for a line whose bytes
    /// are not all Characters of their own.
    private static func unicodeFields(_ bytes: ArraySlice<UInt8>) throws -> Line {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw bad("not valid UTF-8") }
        if text.utf8.contains(0) { throw bad("contains a NUL byte") }
        var line = Substring(text)
        while let c = line.first, c == " " { line.removeFirst() }
        if line.hasPrefix("→") {
            line.removeFirst()
            while let c = line.first, c == " " { line.removeFirst() }
        }
        if line.allSatisfy({ $0 == " " || $0 == "\t" }) { return .noSession }
        if line.hasPrefix("no sessions found") { return .noSession }
        func offset(_ i: String.Index) -> Int { bytes.startIndex + text.utf8.distance(from: text.startIndex, to: i) }
        var fields: [Field] = []
        for field in line.split(separator: "\t", omittingEmptySubsequences: true) {
            guard let eq = field.firstIndex(of: "=") else {
                throw bad("field \(SafeName.quoted(String(field))) is not key=value")
            }
            fields.append((offset(field.startIndex)..<offset(eq), offset(field.index(after: eq))..<offset(field.endIndex)))
        }
        return .fields(fields)
    }

    /// The bytes with each one that is not part of valid UTF-8 written as `\xHH`.
    static func escapingInvalidUTF8(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        let hex = Array("0123456789abcdef".utf8)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            let n = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 ? 2 : 0
            if n > 0, i + n <= bytes.endIndex, String(validating: bytes[i..<(i + n)], as: UTF8.self) != nil {
                out.append(contentsOf: bytes[i..<(i + n)])
                i += n
            } else {
                out += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(b >> 4)], hex[Int(b & 0xF)]]
                i += 1
            }
        }
        return out
    }

    /// Where each field zmx knows comes in its line (ZMX.md): `name, pid, clients, created`,
    /// then `cwd`, `cmd`, `ended`, `exit_code`, then labels. A known field after one it
    /// follows, or after a label, was not put there by zmx: the name before it holds a TAB.
    private static func rank(_ key: ArraySlice<UInt8>) -> Int {
        switch key.count {
        case 3 where ASCIIBytes.equal(key, "pid"): return 1
        case 3 where ASCIIBytes.equal(key, "err"): return 1
        case 3 where ASCIIBytes.equal(key, "cwd"): return 4
        case 3 where ASCIIBytes.equal(key, "cmd"): return 5
        case 4 where ASCIIBytes.equal(key, "name"): return 0
        case 5 where ASCIIBytes.equal(key, "ended"): return 6
        case 7 where ASCIIBytes.equal(key, "clients"): return 2
        case 7 where ASCIIBytes.equal(key, "created"): return 3
        case 9 where ASCIIBytes.equal(key, "exit_code"): return 7
        case 9 where ASCIIBytes.equal(key, "start_dir"): return 4
        case 10 where ASCIIBytes.equal(key, "started_in"): return 4
        case 12 where ASCIIBytes.equal(key, "session_name"): return 0
        default: return 8
        }
    }

    private static func session(fields: [Field], in bytes: ArraySlice<UInt8>, ascii: Bool) throws -> SessionRecord {
        let name = try checkedName(fields: fields, in: bytes)
        do {
            return try session(fields: fields, checked: bytes, ascii: ascii)
        } catch var e as Malformed {
            e.name = e.name ?? name
            throw e
        }
    }

    /// The line's name, once its fields are in zmx's order and the name has no control
    /// character; else Malformed carrying the name, so that its job is held.
    private static func checkedName(fields: [Field], in bytes: ArraySlice<UInt8>) throws -> String {
        var name: String? = nil
        for (key, value) in fields where rank(bytes[key]) == 0 { name = String(decoding: bytes[value], as: UTF8.self) }
        guard let name, !name.isEmpty else { throw bad("no name= field") }
        var last = -1, lastKey = 0..<0
        for (key, _) in fields {
            let r = rank(bytes[key])
            if r < last || (r == last && r < 8) {
                let (k, before) = (String(decoding: bytes[key], as: UTF8.self), String(decoding: bytes[lastKey], as: UTF8.self))
                throw Malformed(line: 0, reason: "session \(SafeName.quoted(name)): \(k)= after \(before)=, not zmx's order (a name with a TAB?)", name: name)
            }
            last = r
            lastKey = key
        }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80...0x9F).contains($0.value) }) {
            throw Malformed(line: 0, reason: "session \(SafeName.quoted(name)): the name holds a control character", name: name)
        }
        return name
    }

    private static func session(fields: [Field], checked bytes: ArraySlice<UInt8>, ascii: Bool) throws -> SessionRecord {
        func text(_ r: Range<Int>) -> String { String(decoding: bytes[r], as: UTF8.self) }
        // The same ranges as a session record's fields (FieldRange), so what pici-list prints
        // reads back.
        func int(_ field: SessionRecord.Field, _ r: Range<Int>) throws -> Int {
            guard let i = wholeNumber(bytes[r]) else { throw bad("\(field.key)=\(SafeName.quoted(text(r))) is not a whole number") }
            guard let range = field.range, !range.contains(i) else { return i }
            throw bad("\(field.key)=\(i) is out of range (\(FieldRange.describe(range)))")
        }
        func matches(_ r: Range<Int>, _ word: StaticString) -> Bool { ASCIIBytes.equal(bytes[r], word) }
        var name: String?
        var pid: Int?, clients: Int?, created: Int?, ended: Int?, exitCode: Int?
        var cwd: String?
        var unreachable = false
        var labels: [(key: String, value: String)] = []
        for (key, value) in fields {
            switch key.count {
            case 3 where matches(key, "pid"): pid = try int(.pid, value)
            case 3 where matches(key, "cwd"): cwd = ascii ? pathOfFileURL(ascii: bytes[value]) : pathOfFileURL(text(value))
            case 3 where matches(key, "err"):
                unreachable = true
                labels.append(("err", text(value)))
            case 4 where matches(key, "name"): name = text(value)
            case 5 where matches(key, "ended"): ended = try int(.ended, value)
            case 7 where matches(key, "clients"): clients = try int(.clients, value)
            case 7 where matches(key, "created"): created = try int(.created, value)
            case 9 where matches(key, "exit_code"): exitCode = try int(.exitCode, value)
            case 9 where matches(key, "start_dir"): cwd = text(value)
            case 10 where matches(key, "started_in"): cwd = text(value)
            case 12 where matches(key, "session_name"): name = text(value)
            default: labels.append((text(key), text(value)))
            }
        }
        guard let name, !name.isEmpty else { throw bad("no name= field") }
        if !unreachable && created == nil {
            throw Malformed(line: 0, reason: "session \(SafeName.quoted(name)) has no created= field", name: name)
        }
        let status: SessionStatus
        if unreachable {
            status = .unreachable
        } else if ended != nil {
            status = exitCode == 0 ? .success : .failed
        } else {
            status = .running
        }
        let job = JobName.parse(name)
        return SessionRecord(
            name: name, repo: job?.repo, jobID: job?.jobID, short: job?.short, pid: pid, clients: clients,
            created: created ?? 0, ended: ended, exitCode: exitCode, status: status, cwd: cwd, labels: labels)
    }

    /// The number as `Int(text)` reads it: an optional sign, then digits, nil on overflow.
    static func wholeNumber(_ digits: ArraySlice<UInt8>) -> Int? {
        var i = digits.startIndex
        let negative = i < digits.endIndex && digits[i] == UInt8(ascii: "-")
        if i < digits.endIndex && (negative || digits[i] == UInt8(ascii: "+")) { i += 1 }
        guard i < digits.endIndex else { return nil }
        var value = 0
        while i < digits.endIndex {
            let d = digits[i] &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = negative ? times10.subtractingReportingOverflow(Int(d)) : times10.addingReportingOverflow(Int(d))
            guard !o1 && !o2 else { return nil }
            value = next
            i += 1
        }
        return value
    }

    /// `file://HOST/PATH` → `/PATH`, with %XX escapes decoded; anything else as it is.
    public static func pathOfFileURL(_ url: String) -> String {
        url.utf8.allSatisfy({ $0 < 0x80 }) ? pathOfFileURL(ascii: url.utf8) : pathOfFileURLByCharacters(url)
    }

    /// pathOfFileURL on Swift's Characters, for URLs that are not ASCII.
    static func pathOfFileURLByCharacters(_ url: String) -> String {
        guard url.hasPrefix("file://") else { return url }
        let rest = url.dropFirst(7)
        guard let slash = rest.firstIndex(of: "/") else { return url }
        return percentDecoded(String(rest[slash...]))
    }

    /// pathOfFileURL for ASCII bytes, where each byte is a Character and can be cut directly.
    static func pathOfFileURL<C: Collection<UInt8>>(ascii url: C) -> String {
        guard ASCIIBytes.hasPrefix(url, "file://"), let slash = url.dropFirst(7).firstIndex(of: UInt8(ascii: "/")) else {
            return String(decoding: url, as: UTF8.self)
        }
        let path = String(decoding: url[slash...], as: UTF8.self)
        return url[slash...].contains(UInt8(ascii: "%")) ? percentDecoded(path) : path
    }

    static func percentDecoded(_ s: String) -> String {
        guard s.contains("%") else { return s }
        var out: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        while i < u.count {
            // Hex digits only: UInt8(_:radix:) would also take a sign, as in `%+5`.
            if u[i] == UInt8(ascii: "%"), i + 2 < u.count, let hi = hexValue(u[i + 1]), let lo = hexValue(u[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(u[i])
                i += 1
            }
        }
        return String(validating: out, as: UTF8.self) ?? s
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
