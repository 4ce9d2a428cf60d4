/// What the logs of a job's running sessions were last written from: by session, a print of
/// the history fetched and of all else its `.txt` and page show but the time. A pass that
/// fetches the same history again writes neither file, as a followed session's log is not
/// written again while its capture has not grown: a quiet session costs its call and no
/// writes, and its page keeps the duration of its last change.
/// Kept beside the pages as `DIR/<name>/<job_id>/.pici-snapshots` (rsync leaves `.pici-*`
/// out), one `PRINT<TAB>TIME<TAB>SESSION` line each. TIME is the one both files were given
/// (`Staging.store`): a file that anything else wrote since has another, and is written
/// again. Lost or unreadable, every log is written again, which is safe.
public struct RunningSnapshots: Equatable, Sendable {
    public struct Snapshot: Equatable, Sendable {
        public var print: SnapshotPrint
        /// The time of its `.txt` and page, unix seconds.
        public var modified: Int
    }

    public var sessions: [String: Snapshot] = [:]

    public init() {}

    public static func path(jobDir: String) -> String { jobDir + "/.pici-snapshots" }

    public static func read(jobDir: String) -> RunningSnapshots {
        var snapshots = RunningSnapshots()
        guard let bytes = try? FileSystem.readFile(path(jobDir: jobDir), limit: 1 << 20) else { return snapshots }
        for line in bytes.split(separator: 0x0A) {
            let fields = line.split(separator: 0x09, maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, let print = SnapshotPrint(hex: fields[0]),
                  let modified = Int(String(decoding: fields[1], as: UTF8.self))
            else { continue }
            snapshots.sessions[String(decoding: fields[2], as: UTF8.self)] = Snapshot(print: print, modified: modified)
        }
        return snapshots
    }

    /// Only the sessions still running: an ended one is staged from its final history once
    /// (`StagedLogs`) and needs no print.
    public func write(jobDir: String) throws {
        var out: [UInt8] = []
        for name in sessions.keys.sorted(by: NameOrder.less) {
            let snapshot = sessions[name]!
            out.append(utf8: "\(snapshot.print.hex)\t\(snapshot.modified)\t")
            out.append(utf8: name)
            out.append(0x0A)
        }
        try FileSystem.writeAtomically(RunningSnapshots.path(jobDir: jobDir), out)
    }
}

/// 128 bits that stand for some bytes: two lanes of 64-bit words, each lane's step a
/// bijection of its state, so bytes that differ in one word always differ in print. Not
/// against an adversary: a job can only make its own log stale until it prints again.
public struct SnapshotPrint: Hashable, Sendable {
    private var a: UInt64 = 0x243F_6A88_85A3_08D3
    private var b: UInt64 = 0x1319_8A2E_0370_7344

    public init() {}

    /// The print of `bytes`, after what was added before.
    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var i = 0
        let n = bytes.count
        while i + 16 <= n {
            a = Self.step(a, bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            b = Self.step(b, bytes.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
            i += 16
        }
        var tail: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &tail) { t in
            if i < n { t.baseAddress!.copyMemory(from: bytes.baseAddress! + i, byteCount: n - i) }
        }
        a = Self.step(a, tail.0)
        b = Self.step(b, tail.1)
        // The length ends each part: "ab" + "c" and "a" + "bc" differ.
        a = Self.step(a, UInt64(n))
        b = Self.step(b, ~UInt64(n))
    }

    public mutating func add(_ bytes: [UInt8]) { bytes.withUnsafeBytes { add($0) } }

    public mutating func add(_ text: String) {
        var text = text
        text.withUTF8 { add(UnsafeRawBufferPointer($0)) }
    }

    private static func step(_ h: UInt64, _ word: UInt64) -> UInt64 {
        var h = (h ^ word) &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 29
        return h
    }

    /// 32 lower-case hex digits.
    public var hex: String {
        func digits(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return digits(a) + digits(b)
    }

    init?<Bytes: Collection>(hex: Bytes) where Bytes.Element == UInt8 {
        guard hex.count == 32 else { return nil }
        let text = String(decoding: hex, as: UTF8.self)
        guard let a = UInt64(text.prefix(16), radix: 16), let b = UInt64(text.suffix(16), radix: 16) else { return nil }
        self.a = a
        self.b = b
    }
}
