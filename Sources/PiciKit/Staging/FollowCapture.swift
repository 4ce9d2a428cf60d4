import Glibc

/// What a follower makes of `zmx tail`'s bytes (see `Follower`): the head, the bridge, and the
/// stream, each line as the history shows it.
///
/// Joining without a silent gap: the history taken as the head must come after the tail is
/// connected, or rows printed between the two are in neither. Proof that it is: its first
/// bytes, or `zmx list` counting one client more than before it started. The head is taken
/// at the first proof. Without any for `proofWait` seconds it is taken all the same, and the
/// bridge when the first bytes come: the stream begins inside the bridge, and the bridge
/// inside the head unless rows were lost between them, which the log then says
/// (`LogComposer`).
///
/// Lines are held (`pending`, at most `window`) until a history is taken while they are still
/// in it, so that `StreamRepair` can put the history's text in their place: when all there
/// was to read has been read and `batch` lines are held or the oldest is `maxAge` old, or
/// after `quiet` seconds without output. What leaves the window before (the session prints
/// faster than the follower reads) is written as streamed: zmx's scrollback would no longer
/// hold it anyway.
///
/// Such unchecked lines are the tail's text, which the real zmx mangles where the output has
/// colour codes or non-ASCII text (`StreamRepair`), and nothing can put them right any more.
/// Where a stretch of them ends, and this session's output is known to be of that kind (a
/// check found the tail's text differing from the history's, or zmx's `--html` history shows
/// colour in the session's output), the log says so there (`LogFragment.uncheckedNote`).
struct FollowCapture {
    static let batch = 200, window = 600, contextLines = 4
    /// How fresh the stream file is kept: held lines go to it half a second after output
    /// stops, or once the oldest is a second old. Only freshness: `batch` alone keeps what is
    /// held inside zmx's scrollback. Each costs a history, so not sooner: a build printing a
    /// line every 50 ms cost 20 histories a second (189 such followers, 1,200 a second, three
    /// times the calls the seed's passes made), where pages reload every 5 s.
    static let quiet = 0.5, maxAge = 1.0
    /// Seconds between two looks at `zmx list` for the tail's connection, and how long to look.
    static let proofEvery = 0.2, proofWait = 5.0
    /// How long a tail proven connected only after its session's task ended may stay silent
    /// before it is taken for one that connected after the end: such a tail waits for a next
    /// task and never returns (ZMX.md), and a pass would wait for its follower. One connected
    /// before the end sends at least the marker.
    static let silentAfterEnd = 1.0

    let session: String, dir: String, out: Int32, zmx: ZmxCommand, masker: Masker
    private var lines: StreamLines
    private var pending: [String] = []
    private var context: [String] = []
    /// The stream's first lines, and whether any line was written before a history was taken:
    /// then the stream begins before `pending` does (a burst larger than the window).
    private var streamStart: [String] = []
    private var wroteStream = false
    /// Lines written unchecked since the last check, and whether the tail is known to mangle
    /// this session's output.
    private var unchecked = 0
    private var mangles = false
    private var pendingSince: Double? = nil
    private var lastData = 0.0
    private var head = Head.none
    /// Clients of the session before the tail started (nil: not known), and the next look.
    private let clientsBefore: Int?
    private var nextLook: Double
    /// Set when the look that proved the tail connected showed the task ended and nothing has
    /// come from the tail since: when it is given up for one that will never return.
    private var silentUntil: Double? = nil
    /// The tail connected after its session's task ended: it will never return, so the
    /// follower ends it (`Follower`).
    private(set) var tailWillNotReturn = false
    /// Where looks at `zmx list` come from (nil: a call of its own each), and when the tail
    /// was started (CLOCK_REALTIME ns): a look needs a listing begun after that.
    private let listing: SharedListing?
    private let tailStarted: Int

    private enum Head { case none, beforeProof, afterProof }

    init(
        session: String, dir: String, out: Int32, zmx: ZmxCommand, masker: Masker, clientsBefore: Int?, started: Double,
        listing: SharedListing? = nil, tailStarted: Int = Clock.nowNanoseconds()
    ) {
        self.clientsBefore = clientsBefore
        self.listing = listing
        self.tailStarted = tailStarted
        nextLook = started + (clientsBefore == nil ? FollowCapture.proofWait : FollowCapture.proofEvery / 2)
        self.session = session
        self.dir = dir
        self.out = out
        self.zmx = zmx
        self.masker = masker
        lines = StreamLines(carry: masker.longest - 1)
    }

    /// Seconds until something is due without new bytes; nil: nothing is.
    func timeout(started: Double) -> Double? {
        let now = Clock.monotonicSeconds()
        var due: Double? = nil
        if case .none = head { due = min(nextLook, started + FollowCapture.proofWait) - now }
        if let until = silentUntil { due = min(due ?? until - now, until - now) }
        if let since = pendingSince {
            let t = min(lastData + FollowCapture.quiet, since + FollowCapture.maxAge) - now
            due = min(due ?? t, t)
        }
        return due
    }

    mutating func timedOut(started: Double) {
        let now = Clock.monotonicSeconds()
        if let until = silentUntil, now >= until {
            silentUntil = nil
            tailWillNotReturn = true
        }
        if case .none = head {
            if now >= nextLook, let before = clientsBefore, let look = look(started: started), look.clients > before {
                takeHead(afterProof: true)
                if look.ended { silentUntil = now + FollowCapture.silentAfterEnd }
            } else if now >= started + FollowCapture.proofWait {
                takeHead(afterProof: false)
            } else if now >= nextLook {
                nextLook = now + FollowCapture.proofEvery
            }
            return
        }
        if let since = pendingSince, now >= lastData + FollowCapture.quiet || now >= since + FollowCapture.maxAge {
            snapshot()
        }
    }

    mutating func received(_ bytes: ArraySlice<UInt8>) {
        lastData = Clock.monotonicSeconds()
        silentUntil = nil  // it connected before the end: it returns after the marker
        add(lines.feed(bytes))
        switch head {
        case .none: takeHead(afterProof: true)
        case .beforeProof: takeBridge()
        case .afterProof: break
        }
    }

    /// Nothing more to read for now: the lines held are as fresh as they will be, the best
    /// moment for a history to still hold them all.
    mutating func caughtUp() {
        guard case .afterProof = head, let since = pendingSince else { return }
        if pending.count >= FollowCapture.batch || lastData - since >= FollowCapture.maxAge { snapshot() }
    }

    /// When `zmx tail` has returned: the rest, against a last history.
    mutating func finish() {
        add(lines.finish())
        if case .none = head { takeHead(afterProof: true) }
        if !pending.isEmpty { snapshot() }
        endStretch()
    }

    private mutating func add(_ new: [String]) {
        guard !new.isEmpty else { return }
        if pendingSince == nil { pendingSince = lastData }
        if streamStart.count < FollowCapture.contextLines { streamStart += new.prefix(FollowCapture.contextLines - streamStart.count) }
        pending += new
        if pending.count > FollowCapture.window {
            let over = pending.count - FollowCapture.window
            write(Array(pending[0..<over]))
            unchecked += over
            pending.removeFirst(over)
        }
    }

    private mutating func takeHead(afterProof: Bool) {
        head = afterProof ? .afterProof : .beforeProof
        // No history (the session is gone): no head, so that this capture, which knows
        // nothing of what came before, never replaces a log staged from a history.
        guard let h = history() else { return flushPending() }
        try? FileSystem.writeAtomically(dir + "/head", masked(before(h)))
    }

    private mutating func takeBridge() {
        head = .afterProof
        // Written also empty: the stream is then checked against the head.
        let h = history()
        try? FileSystem.writeAtomically(dir + "/bridge", masked(h.map { before($0) } ?? []))
        if h == nil { flushPending() }
    }

    /// A history taken after the stream's first bytes, as the part before the stream: the
    /// stream's held lines are put right against it; when it does not reach back to their
    /// start (they scrolled out meanwhile), nothing of it comes before the stream and none:
    /// what was printed before the tail connected is lost, and the log says so.
    private mutating func before(_ h: [String]) -> [String] {
        let streamedAlready = wroteStream
        var reached = true
        if !pending.isEmpty {
            let r = StreamRepair.repair(context: [], streamed: pending, history: h)
            pending = []
            put(r)
            reached = r.reached
        }
        if !streamedAlready { return reached ? h : [] }
        // Lines left the window before this history was taken: it is the part before the
        // stream only up to where it holds the stream's first lines, and none if it does not.
        guard !streamStart.isEmpty, let at = FollowCapture.find(streamStart, in: h) else { return [] }
        return Array(h[..<(at + streamStart.count)])
    }

    /// Where `lines` stand in `h`, one after another; the first place.
    static func find(_ lines: [String], in h: [String]) -> Int? {
        guard !lines.isEmpty, lines.count <= h.count else { return nil }
        for at in 0...(h.count - lines.count) where h[at] == lines[0] {
            if Array(h[at..<(at + lines.count)]) == lines { return at }
        }
        return nil
    }

    private mutating func snapshot() {
        guard let h = history() else { return flushPending() }
        repair(against: h, context: context)
    }

    private mutating func repair(against history: [String], context: [String]) {
        let r = StreamRepair.repair(context: context, streamed: pending, history: history)
        pending = []
        put(r)
    }

    /// A repair's lines: those the history no longer held, then (a check ends the stretch of
    /// unchecked lines) the checked ones.
    private mutating func put(_ r: StreamRepair.Result) {
        if r.mangled { mangles = true }
        write(Array(r.lines[..<r.unchecked]))
        unchecked += r.unchecked
        guard r.unchecked < r.lines.count else { return }
        endStretch()
        write(Array(r.lines[r.unchecked...]))
    }

    /// After a stretch of unchecked lines: the note, when this session's output is known to
    /// be of the kind the tail mangles.
    private mutating func endStretch() {
        guard unchecked > 0 else { return }
        defer { unchecked = 0 }
        if !mangles { mangles = coloured() }
        guard mangles else { return }
        try? Output.writeAll(fd: out, masked([LogFragment.uncheckedNote(lines: unchecked)]))
    }

    /// Whether zmx's `--html` history shows colour (or a link) in the session's output: in a
    /// row that is not zmx's (its typed line, its marker and the prompt after it). Taken at
    /// once, as the history it follows: in a burst, the rows it holds are moments later ones.
    private func coloured() -> Bool {
        guard let result = try? zmx.run(["history", session, "--html"]), result.status == 0 else { return false }
        for row in HistoryRows(fragment: result.stdout).rows {
            if row.plain.hasPrefix("ZMX_TASK_COMPLETED:") { return false }
            if !row.plain.contains("ZMX_TASK_COMPLETED:") && row.html.utf8.contains(UInt8(ascii: "<")) { return true }
        }
        return false
    }

    private mutating func flushPending() {
        let all = pending
        pending = []
        write(all)
        unchecked += all.count
    }

    private mutating func write(_ new: [String]) {
        if pending.isEmpty { pendingSince = nil }
        guard !new.isEmpty else { return }
        wroteStream = true
        try? Output.writeAll(fd: out, masked(new))
        context = Array((context + new).suffix(FollowCapture.contextLines))
    }

    private func masked(_ lines: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        for line in lines {
            bytes += masker.mask(Array(line.utf8))
            bytes.append(0x0A)
        }
        return bytes
    }

    /// The session's history, rows joined into lines; nil when it could not be had.
    private func history() -> [String]? {
        guard let text = try? zmx.historyText(session) else { return nil }
        return LogCleaner.unwrap(LogCleaner.rows(text))
    }

    /// What `zmx list` says of the session: its `clients`, and whether its task has ended.
    struct Look: Equatable {
        var clients: Int
        var ended: Bool
    }

    /// The session now: in a listing begun since the tail started and at most half a look's
    /// interval ago, shared with the other followers when it can be.
    private func look(started: Double) -> Look? {
        guard let listing else { return FollowCapture.look(at: session, zmx: zmx) }
        let since = max(tailStarted, Clock.nowNanoseconds() - Int(FollowCapture.proofEvery / 2 * 1e9))
        guard let bytes = listing.listing(since: since, deadline: started + FollowCapture.proofWait) else { return nil }
        return FollowCapture.look(at: session, inListing: bytes)
    }

    /// The session in `zmx list`; nil when it is not listed (or has no `clients`) or zmx failed.
    static func look(at session: String, zmx: ZmxCommand) -> Look? {
        guard let result = try? zmx.run(["list"]), result.status == 0 else { return nil }
        return look(at: session, inListing: result.stdout)
    }

    /// The line whose first field ends in `name=SESSION` after no letter (zmx's indent or
    /// `→`). By byte: a follower looks every `proofEvery` seconds, and 189 followers splitting
    /// a 1,000-line listing into Characters cost a first pass ~2 s of CPU.
    static func look(at session: String, inListing bytes: [UInt8]) -> Look? {
        let key = Array(("name=" + session).utf8), clients = Array("clients=".utf8), ended = Array("ended=".utf8)
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            var line = bytes[start..<end]
            if line.last == 0x0D { line = line.dropLast() }
            start = end + 1
            let firstEnd = line.firstIndex(of: 0x09) ?? line.endIndex
            let first = line[line.startIndex..<firstEnd]
            guard first.count >= key.count, first.suffix(key.count).elementsEqual(key),
                  !first.dropLast(key.count).contains(where: ASCIIBytes.isLetter) else { continue }
            let fields = line[firstEnd...].split(separator: 0x09)
            guard let count = fields.first(where: { $0.starts(with: clients) }).flatMap({ Int(String(decoding: $0.dropFirst(clients.count), as: UTF8.self)) })
            else { return nil }
            return Look(clients: count, ended: fields.contains { $0.starts(with: ended) })
        }
        return nil
    }
}
