import Glibc

/// The complete log of a followed session, written to disk as it is read: each follower's
/// history (`head`) and stream in turn, joined where they overlap, so no line is doubled or
/// dropped, and a note where rows were lost; zmx's typed line and marker cleaned off
/// (`LogCleaner`). Memory holds the last `held` lines only, however long the log: the page
/// shows those, and the marker to cut is among them.
struct LogComposer {
    /// Lines held back: the page's lines, and room to join and clean at the end.
    static let held = LogFragment.shownLines
    /// How many of the log's last lines a later history may stand in for.
    static let damagedEnd = 3

    private let fd: Int32
    private var window: [String] = []
    private var start = 0
    private var headChecked = false
    private(set) var written = 0
    private(set) var hex: String?
    private(set) var headFound = false
    /// The first history had output but no typed line: rows were lost before it.
    var headLost = false
    private var pending: [UInt8] = []
    private var failure: Int32 = 0

    init(fd: Int32, hex: String?) {
        self.fd = fd
        self.hex = hex
    }

    var count: Int { window.count - start }
    private var held: ArraySlice<String> { window[start...] }

    /// Adds lines (a history) after what came before, skipping those the log already ends with.
    mutating func add(_ lines: [String], gapIfNoOverlap: Bool) {
        if lines.isEmpty { return }
        var (k, replace) = LogComposer.overlap(held, lines)
        if k == 0 && gapIfNoOverlap {
            // The log's last lines may be what zmx tail made of lines a string sequence ate
            // (`❌` leaves an empty line and swallows the marker): when the log joins the
            // history without them, the history's text stands in their place.
            for drop in 1...LogComposer.damagedEnd where count > drop {
                let r = LogComposer.overlap(held.dropLast(drop), lines)
                guard r.k >= 2 else { continue }
                window.removeLast(drop)
                (k, replace) = r
                break
            }
        }
        if replace { window[window.count - 1] = lines[k - 1] }
        if k == 0 && gapIfNoOverlap && count > 0 {
            append(LogFragment.gapNote(rows: nil))
        }
        for line in lines[k...] { append(line) }
    }

    /// Adds a follower's stream file, read line by line.
    mutating func add(streamFile path: String, gapIfNoOverlap: Bool) {
        let input = open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { return }
        defer { close(input) }
        var reader = LineReader(fd: input)
        // Its first lines may repeat the end of the history before it.
        var first: [String] = []
        let probe = min(count, LogComposer.held) + 1
        while first.count < probe, let line = LogComposer.next(&reader) { first.append(line) }
        add(first, gapIfNoOverlap: gapIfNoOverlap)
        while let line = LogComposer.next(&reader) { append(line) }
    }

    private static func next(_ reader: inout LineReader) -> String? {
        let line: LineReader.Line?
        do { line = try reader.next() } catch { return nil }
        switch line {
        case .text(let bytes)?: return String(decoding: bytes, as: UTF8.self)
        case .tooLong(let length)?: return "[pici: a line of \(length) bytes is left out]"
        case nil: return nil
        }
    }

    private mutating func append(_ line: String) {
        window.append(line)
        if count > LogComposer.held + 8 { flush(keeping: LogComposer.held) }
    }

    /// Writes all but the last `keeping` lines.
    private mutating func flush(keeping: Int) {
        checkHead()
        while count > keeping {
            var line = window[start]
            line.withUTF8 { pending.append(contentsOf: $0) }
            pending.append(0x0A)
            start += 1
            written += 1
            if pending.count >= 1 << 16 { writePending() }
        }
        if start > 4096 {
            window.removeFirst(start)
            start = 0
        }
    }

    private mutating func checkHead() {
        guard !headChecked else { return }
        headChecked = true
        var lines = Array(held)
        if let seen = LogCleaner.stripHead(&lines) {
            hex = seen
            headFound = true
        } else if headLost {
            lines.insert(LogFragment.gapNote(rows: nil), at: 0)
        }
        window = lines
        start = 0
    }

    private mutating func writePending() {
        guard failure == 0 else { pending.removeAll(); return }
        let masked = Masking.active.isEmpty ? pending : Masking.active.mask(pending)
        do { try Output.writeAll(fd: fd, masked) } catch { failure = errno == 0 ? EIO : errno }
        pending.removeAll(keepingCapacity: true)
    }

    /// Whether the log ends with the session's marker: its follower saw the end.
    func endsWithMarker(exitCode: Int?) -> Bool {
        var tail = Array(held.suffix(8))
        return LogCleaner.stripMarker(&tail, hex: hex, exitCode: exitCode)
    }

    /// Cuts the marker, writes the rest; returns the last lines (the page's) or the errno of
    /// a failed write.
    mutating func finish(exitCode: Int?) -> (lines: [String], markerFound: Bool, error: Int32) {
        checkHead()
        var lines = Array(held)
        let marker = LogCleaner.stripMarker(&lines, hex: hex, exitCode: exitCode)
        window = lines
        start = 0
        flush(keeping: 0)
        writePending()
        return (lines.suffix(LogComposer.held), marker, failure)
    }

    /// The largest k such that `a` ends with the first k lines of `b`; also when a's last
    /// line is the start of b's k-th (a history taken mid-line): then it is to be replaced.
    static func overlap(_ a: ArraySlice<String>, _ b: [String]) -> (k: Int, replaceLast: Bool) {
        guard let last = a.last else { return (0, false) }
        var k = min(a.count, b.count)
        while k > 0 {
            let from = a.endIndex - k
            var equal = true
            for i in 0..<(k - 1) where a[from + i] != b[i] {
                equal = false
                break
            }
            if equal {
                if last == b[k - 1] { return (k, false) }
                if !last.isEmpty && b[k - 1].hasPrefix(last) { return (k, true) }
            }
            k -= 1
        }
        return (0, false)
    }
}

/// A file written whole or not at all, streamed: a temp file beside it, synced and renamed.
struct AtomicFile {
    let path: String
    let temp: String
    let fd: Int32

    init(_ path: String) throws {
        self.path = path
        var template = Array("\(FileSystem.dirname(path))/.\(path.split(separator: "/").last ?? "log").tmp.XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw FileError("create temp file for", path) }
        self.fd = fd
        temp = String(cString: template)
        fchmod(fd, 0o644)
    }

    func commit() throws {
        if SyncBatch.hold(fd: fd, temp: temp, path: path) { return }
        if fsync(fd) != 0 {
            let e = errno
            abandon()
            throw FileError("sync", path, e)
        }
        close(fd)
        guard rename(temp, path) == 0 else {
            let e = errno
            unlink(temp)
            throw FileError("rename into", path, e)
        }
    }

    func abandon() {
        close(fd)
        unlink(temp)
    }
}
