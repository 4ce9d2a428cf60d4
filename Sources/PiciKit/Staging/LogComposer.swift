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
        // Until the head is checked (at the first flush) a line may still be cut or noted;
        // from then on it only passes through the window on its way to the file.
        while !headChecked, let line = LogComposer.next(&reader) { append(line) }
        if headChecked { addRest(&reader, fd: input) }
    }

    private static func next(_ reader: inout LineReader) -> String? {
        let line: LineReader.Line?
        do { line = try reader.next() } catch { return nil }
        switch line {
        case .text(let bytes)?: return String(decoding: bytes, as: UTF8.self)
        case .tooLong(let length)?: return tooLongNote(length)
        case nil: return nil
        }
    }

    private static func tooLongNote(_ length: Int) -> String { "[pici: a line of \(length) bytes is left out]" }

    /// The rest of a stream once the head is checked, as `append` would add it line by line:
    /// the same bytes written, the same lines left in the window. But a line is not made a
    /// String to be written: those followed by `held + 8` lines in the file as it is now are
    /// copied (`copyLines`), the others kept as bytes until as many follow them. So a long
    /// log costs little more than a copy of it each pass.
    private mutating func addRest(_ reader: inout LineReader, fd: Int32) {
        let limit = LogComposer.held + 8
        let before = count
        var added = 0
        var queue = ByteLines()
        for line in held { queue.append(line) }
        window.removeAll(keepingCapacity: true)
        start = 0
        let from = reader.offset
        let cut = LogComposer.start(ofLast: limit, in: fd, after: from)
        if cut > from {
            let copied = copyLines(fd, from: from, to: cut, after: &queue)
            added += copied.lines
            lseek(fd, off_t(copied.end), SEEK_SET)
            reader = LineReader(fd: fd)
        }
        while true {
            let more: Void? = try? reader.withNext { line in
                switch line {
                case .text(let bytes): queue.append(bytes)
                case .tooLong(let length): queue.append(LogComposer.tooLongNote(length))
                }
            }
            guard more != nil else { break }
            added += 1
            if queue.count > limit { writeFirst(of: &queue) }
        }
        // `append` flushes down to `held` lines each time there are more than `limit`: first
        // at the append that makes `before + added` pass `limit` (the `limit + 1 - before`th),
        // then at every `cycle`th (ninth) after it.
        let total = before + added
        let cycle = limit + 1 - LogComposer.held
        let left = total <= limit ? total : LogComposer.held + (added - (limit + 1 - before)) % cycle
        while queue.count > left { writeFirst(of: &queue) }
        window = queue.strings()
    }

    /// Where the last `lines` whole lines of the file begin, if after `from`; else `from`.
    private static func start(ofLast lines: Int, in fd: Int32, after from: Int) -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return from }
        var end = Int(info.st_size)
        var seen = 0
        return FileSystem.withScratch { chunk in
            while end > from {
                let n = min(chunk.count, end - from)
                guard pread(fd, chunk.baseAddress!, n, off_t(end - n)) == n else { return from }
                let found = ByteScan.afterNewline(lines + 1 - seen, fromEndOf: UnsafeBufferPointer(rebasing: chunk[..<n]))
                if let index = found.index { return end - n + index }
                seen += found.newlines
                end -= n
            }
            return from
        }
    }

    /// Writes the lines of the file from `from` to `to` (a line's start) as `writeFirst` would
    /// write each, after the lines of `queue` (written only once a run of the file is, so
    /// that they stay queued if the file turns out shorter than it was). Stops early at a line
    /// longer than its buffer (the line reader takes it). Returns where it stopped and how
    /// many lines of the file it wrote.
    private mutating func copyLines(_ fd: Int32, from: Int, to: Int, after queue: inout ByteLines) -> (end: Int, lines: Int) {
        var at = from, filled = 0, lines = 0
        FileSystem.withScratch(1 << 18) { b in
            let base = b.baseAddress!
            while at + filled < to {
                let n = pread(fd, base + filled, min(b.count - filled, to - at - filled), off_t(at + filled))
                guard n > 0 else { break }
                filled += n
                var nl = filled - 1
                while nl >= 0 && base[nl] != 0x0A { nl -= 1 }
                guard nl >= 0 else {
                    if filled == b.count { break }
                    continue
                }
                let run = nl + 1
                while queue.count > 0 { writeFirst(of: &queue) }
                writePending()
                lines += writeLines(UnsafeBufferPointer(start: base, count: run))
                at += run
                filled -= run
                if filled > 0 { memmove(base, base + run, filled) }
            }
        }
        return (at, lines)
    }

    /// Whole lines, each as `writeLine` would write it: a run of valid UTF-8 without a CR as
    /// it is (a line of it is valid when the run is: a newline is never inside a character),
    /// else line by line. Returns how many.
    private mutating func writeLines(_ run: UnsafeBufferPointer<UInt8>) -> Int {
        let scan = ByteScan.scan(run)
        if !scan.cr && (scan.ascii || String(validating: run, as: UTF8.self) != nil) {
            writeDirectly(run)
            written += scan.newlines
            return scan.newlines
        }
        var from = 0
        for i in run.indices where run[i] == 0x0A {
            var end = i
            if end > from && run[end - 1] == 0x0D { end -= 1 }
            writeLine(UnsafeBufferPointer(rebasing: run[from..<end]))
            from = i + 1
        }
        writePending()
        return scan.newlines
    }

    /// `flush` for the queue's first line.
    private mutating func writeFirst(of queue: inout ByteLines) {
        queue.withFirst { writeLine($0) }
        queue.removeFirst()
    }

    /// `flush` for one line: its bytes as its String would give them (invalid UTF-8 repaired).
    private mutating func writeLine(_ line: UnsafeBufferPointer<UInt8>) {
        if ByteScan.isASCII(line) {
            pending.append(contentsOf: line)
        } else {
            pending.append(utf8: String(decoding: line, as: UTF8.self))
        }
        pending.append(0x0A)
        written += 1
        if pending.count >= 1 << 16 { writePending() }
    }

    private mutating func append(_ line: String) {
        window.append(line)
        if count > LogComposer.held + 8 { flush(keeping: LogComposer.held) }
    }

    /// Writes all but the last `keeping` lines.
    private mutating func flush(keeping: Int) {
        checkHead()
        while count > keeping {
            pending.append(utf8: window[start])
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
        pending.withUnsafeBufferPointer { writeDirectly($0) }
        pending.removeAll(keepingCapacity: true)
    }

    /// Masked here and again by `Output`, as every file pici writes. No secret spans a line
    /// (each is one line of its file), so a run of whole lines is masked as each of its lines
    /// would be.
    private mutating func writeDirectly(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard failure == 0, !bytes.isEmpty else { return }
        let masker = Masking.active
        do {
            if masker.isEmpty { try Output.writeAll(fd: fd, bytes) } else { try Output.writeAll(fd: fd, masker.mask(Array(bytes))) }
        } catch { failure = errno == 0 ? EIO : errno }
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

/// Lines as bytes in one buffer, taken from the front: the part of a composed log between
/// the stream and the file.
private struct ByteLines {
    private var bytes: [UInt8] = []
    private var ends: [Int] = []
    private var first = 0

    var count: Int { ends.count - first }

    mutating func append(_ line: UnsafeBufferPointer<UInt8>) {
        bytes.append(contentsOf: line)
        ends.append(bytes.count)
    }

    mutating func append(_ line: String) {
        bytes.append(utf8: line)
        ends.append(bytes.count)
    }

    private var firstStart: Int { first == 0 ? 0 : ends[first - 1] }

    func withFirst(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        bytes.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[firstStart..<ends[first]])) }
    }

    /// Drops the first line; the space of those dropped is given back now and then, so the
    /// buffer holds about `count` lines however many passed through.
    mutating func removeFirst() {
        first += 1
        let dropped = firstStart
        guard dropped >= 1 << 20, dropped * 2 >= bytes.count else { return }
        bytes.removeFirst(dropped)
        ends.removeFirst(first)
        for i in ends.indices { ends[i] -= dropped }
        first = 0
    }

    func strings() -> [String] {
        var out: [String] = []
        out.reserveCapacity(count)
        bytes.withUnsafeBufferPointer { all in
            var from = firstStart
            for end in ends[first...] {
                out.append(String(decoding: UnsafeBufferPointer(rebasing: all[from..<end]), as: UTF8.self))
                from = end
            }
        }
        return out
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
        let fd = template.withUnsafeMutableBufferPointer { FileSystem.mkostemp($0.baseAddress!, O_CLOEXEC) }
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
