/// Parses what `zmx list` prints into session records. Every line shape of zmx 0.4 to 0.7 is
/// understood; a line that is none of them is reported by number, never guessed at.
public struct ZmxList {
    public struct Malformed: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    public var sessions: [SessionRecord] = []
    public var malformed: [Malformed] = []

    /// zmx session names are socket file names; a longer line is not a session.
    public static let maxLineLength = 64 * 1024

    public init() {}

    /// Splits on the byte, not the Character: Swift reads `\r\n` as one Character, so a
    /// CRLF text split on "\n" would be a single line.
    public static func parse(_ text: String) -> ZmxList { parse(Array(text.utf8)) }

    public static func parse(_ bytes: [UInt8]) -> ZmxList {
        var list = ZmxList()
        var n = 0
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            n += 1
            list.add(line: Array(line), number: n)
        }
        list.sort()
        return list
    }

    public mutating func sort() {
        sessions.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    public mutating func add(line bytes: [UInt8], number: Int) {
        do {
            if let s = try ZmxList.session(fromLine: bytes) { sessions.append(s) }
        } catch let e as Malformed {
            malformed.append(Malformed(line: number, reason: e.reason))
        } catch {
            malformed.append(Malformed(line: number, reason: "\(error)"))
        }
    }

    /// One line to a session, nil for a line that carries none (blank, or zmx's
    /// `no sessions found` notice); throws Malformed (line 0) for anything else.
    public static func session(fromLine raw: [UInt8]) throws -> SessionRecord? {
        func bad(_ reason: String) -> Malformed { Malformed(line: 0, reason: reason) }
        if raw.count > maxLineLength { throw bad("line is \(raw.count) bytes, longer than \(maxLineLength)") }
        var bytes = raw[...]
        if bytes.last == 0x0D { bytes = bytes.dropLast() }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw bad("not valid UTF-8") }
        if text.utf8.contains(0) { throw bad("contains a NUL byte") }
        var line = Substring(text)
        while let c = line.first, c == " " { line.removeFirst() }
        if line.hasPrefix("→") {
            line.removeFirst()
            while let c = line.first, c == " " { line.removeFirst() }
        }
        if line.allSatisfy({ $0 == " " || $0 == "\t" }) { return nil }
        if line.hasPrefix("no sessions found") { return nil }

        var fields: [(key: Substring, value: Substring)] = []
        for field in line.split(separator: "\t", omittingEmptySubsequences: true) {
            guard let eq = field.firstIndex(of: "=") else {
                throw bad("field \(SafeName.quoted(String(field))) is not key=value")
            }
            fields.append((field[..<eq], field[field.index(after: eq)...]))
        }
        func int(_ key: String, _ value: Substring) throws -> Int {
            guard let i = Int(value) else { throw bad("\(key)=\(SafeName.quoted(String(value))) is not a whole number") }
            return i
        }
        var name: String?
        var pid: Int?, clients: Int?, created: Int?, ended: Int?, exitCode: Int?
        var cwd: String?
        var unreachable = false
        var labels: [(key: String, value: String)] = []
        for (key, value) in fields {
            switch key {
            case "name", "session_name": name = String(value)
            case "pid": pid = try int("pid", value)
            case "clients": clients = try int("clients", value)
            case "created": created = try int("created", value)
            case "ended": ended = try int("ended", value)
            case "exit_code": exitCode = try int("exit_code", value)
            case "cwd": cwd = pathOfFileURL(String(value))
            case "start_dir", "started_in": cwd = String(value)
            case "err":
                unreachable = true
                labels.append(("err", String(value)))
            default: labels.append((String(key), String(value)))
            }
        }
        guard let name, !name.isEmpty else { throw bad("no name= field") }
        if !unreachable && created == nil { throw bad("session \(SafeName.quoted(name)) has no created= field") }
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

    /// `file://HOST/PATH` → `/PATH`, with %XX escapes decoded; anything else as it is.
    public static func pathOfFileURL(_ url: String) -> String {
        guard url.hasPrefix("file://") else { return url }
        let rest = url.dropFirst(7)
        guard let slash = rest.firstIndex(of: "/") else { return url }
        return percentDecoded(String(rest[slash...]))
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
