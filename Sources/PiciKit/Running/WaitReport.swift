import Glibc

/// `pici-run --wait`: the seed's waitAndReport. Polls `zmx list` until every session of the job
/// has ended, showing one line per session, then prints the tail of each failed session's
/// history and a summary. Unlike the seed it exits with the job's status, stops on ^C with 130,
/// and gives up on a job whose sessions vanished instead of waiting forever.
public enum WaitReport {
    public struct Options: Sendable {
        /// Seconds between two `zmx list` calls (the seed's monitor-interval).
        public var interval: Double
        /// How long the job may take to show its first session.
        public var startTimeout: Double
        /// How long zmx may keep failing before the wait gives up.
        public var outageTimeout: Double
        /// Redraw the lines in place (stdout is a terminal): cursor up, rewrite, clear.
        public var inPlace: Bool
        public var historyLines: Int

        public init(interval: Double = 1, startTimeout: Double = 10, outageTimeout: Double = 60, inPlace: Bool = false, historyLines: Int = 25) {
            self.interval = interval
            self.startTimeout = startTimeout
            self.outageTimeout = outageTimeout
            self.inPlace = inPlace
            self.historyLines = historyLines
        }
    }

    /// Waits for job `ci.<name>.<jobID>` and reports it. Returns the exit status: 0 for
    /// success, the job's code (1 when it has none in 1…255) for failure, 130 on SIGINT.
    /// A job whose sessions vanish is looked up in `artifactDir`: one pici-run cancelled, for a
    /// newer event say, is reported as such rather than as lost.
    public static func run(name: String, jobID: String, zmx: ZmxCommand, environment: [String], options: Options, artifactDir: String? = nil, log: RunLog) throws -> Int32 {
        let interrupt = InterruptWatch()
        try progress("\nwaiting for completion...\n")
        var board = WaitBoard()
        var seen: Set<String> = []
        var vanished: Set<String> = []
        var current: [SessionRecord] = []
        let started = Clock.monotonicSeconds()
        var failingSince: Double? = nil

        while true {
            if interrupt.check() { return try stoppedWaiting(name: name) }
            var complete = false
            var mine: [SessionRecord] = []
            do {
                let result = try zmx.run(["list"], environment: environment)
                let list = ZmxList.parse(result.stdout)
                complete = list.malformed.isEmpty
                mine = list.sessions.filter { $0.repo == name && $0.jobID == jobID }
                failingSince = nil
            } catch let e as ZmxCommand.Failure {
                // Say it once per outage; absence in a failed listing proves nothing. An outage
                // that does not end is an error, not a reason to wait forever.
                let now = Clock.monotonicSeconds()
                if let since = failingSince {
                    if now - since >= options.outageTimeout { throw e }
                } else {
                    log.warn("\(e)")
                    failingSince = now
                }
            }
            if interrupt.check() { return try stoppedWaiting(name: name) }

            if complete {
                let present = Set(mine.map(\.name))
                vanished.formUnion(seen.subtracting(present))
                if !seen.isEmpty && mine.isEmpty {
                    try progress(board.render(current, vanished: vanished, now: Clock.nowSeconds(), inPlace: options.inPlace))
                    // Killed at its deadline: timeout.json is written before the kill.
                    if let ending = artifactDir.flatMap({ JobEnding.read(artifactDir: $0, name: name, jobID: jobID) }), ending.status == .timeout {
                        try progress("\njob timeout: \(Terminal.visible(ending.reason))\n")
                        return Int32(JobEnding.timeoutExitCode)
                    }
                    if let marker = artifactDir.flatMap({ cancelMarker(artifactDir: $0, name: name, jobID: jobID) }) {
                        try progress("\n\(marker.summary)\n")
                    } else {
                        try progress("\njob vanished: its sessions are gone (killed or cancelled)\n")
                    }
                    return ExitStatus.failure.rawValue
                }
            }
            if !mine.isEmpty {
                seen.formUnion(mine.map(\.name))
                // Keep the vanished ones in view, as what they were last seen as.
                current = mine + current.filter { vanished.contains($0.name) && !mine.map(\.name).contains($0.name) }
                try progress(board.render(current, vanished: vanished, now: Clock.nowSeconds(), inPlace: options.inPlace))
                if mine.allSatisfy(\.hasEnded) { break }
            } else if seen.isEmpty && Clock.monotonicSeconds() - started >= options.startTimeout {
                try progress("\njob never started: no session of ci.\(name).\(jobID) appeared in \(TimeFormat.seconds(options.startTimeout))\n")
                return 1
            }
            if interrupt.sleep(options.interval) { return try stoppedWaiting(name: name) }
        }
        if interrupt.check() { return try stoppedWaiting(name: name) }

        let finished = current.filter { !vanished.contains($0.name) }
        try progress("\n")
        for s in finished where s.hasEnded && s.exitCode != 0 {
            try progress(failureBlock(s, zmx: zmx, environment: environment, lines: options.historyLines))
        }
        let job = JobGrouping.job(name: name, jobID: jobID, sessions: finished)
        var code = job.exitCode ?? 1
        if job.status == .success && !vanished.isEmpty { code = 1 }
        try progress(summary(code: code, duration: job.duration))
        return code == 0 ? 0 : (1...255).contains(code) ? Int32(code) : 1
    }

    /// The seed's final line.
    public static func summary(code: Int, duration: String) -> String {
        code == 0 ? "job finished: success (\(duration))\n" : "job failed: exit \(code) (\(duration))\n"
    }

    /// The seed's block for a failed session: a rule, its name and code, a rule, and the last
    /// lines of its history's text, indented.
    static func failureBlock(_ s: SessionRecord, zmx: ZmxCommand, environment: [String], lines count: Int) -> String {
        let rule = String(repeating: "─", count: 50)
        let short = s.short ?? s.name
        var out = "\(rule)\nSession: \(short) (exit \(s.exitCode.map(String.init) ?? "?"))\n\(rule)\n\n"
        do {
            let history = try zmx.historyText(s.name, environment: environment)
            out += historyTail(buildOutput(history, exitCode: s.exitCode), lines: count)
        } catch {
            out += "   (history unavailable: \(error))\n"
        }
        return out + "\n"
    }

    /// Only what the build printed of a plain history (see `LogCleaner`), wrapped rows
    /// joined and secrets masked, as text.
    public static func buildOutput(_ history: String, exitCode: Int?, masker: Masker = Masking.active) -> String {
        let lines = LogCleaner.clean(history: history, exitCode: exitCode).lines
        return lines.map { masker.mask($0) + "\n" }.joined()
    }

    /// The last `lines` lines of a history, each indented by three spaces, blank ones dropped,
    /// after a note of how many came before. (The seed counted the empty string after the final
    /// newline as a line, so it showed one line fewer.)
    public static func historyTail(_ text: String, lines count: Int) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        var out = ""
        if lines.count > count {
            out += "   ... (\(lines.count - count) lines omitted)\n"
            lines = Array(lines.suffix(count))
        }
        for line in lines where !line.isEmpty { out += "   \(line)\n" }
        return out
    }

    /// ^C stops the waiting, not the job: say so, and how to stop the job too.
    private static func stoppedWaiting(name: String) throws -> Int32 {
        try progress("\nstopped waiting; the job goes on (pici-run --cancel \(Terminal.visible(name)) to stop it)\n")
        return ExitStatus.interrupted.rawValue
    }

    /// pici-run kills a job's sessions and then writes its cancelled.json, so a wait that sees
    /// them gone gives the marker a moment to appear.
    static func cancelMarker(artifactDir: String, name: String, jobID: String, patience: Double = 2) -> Cancel.Marker? {
        let deadline = Clock.monotonicSeconds() + patience
        while true {
            if let marker = Cancel.readMarker(artifactDir: artifactDir, name: name, jobID: jobID) { return marker }
            if Clock.monotonicSeconds() >= deadline { return nil }
            usleep(100_000)
        }
    }
}

/// The live lines of `--wait`: one per session, in the order they first appeared, as the seed's
/// `   %-12s ICON status[, exit N] (duration)`. On a terminal the lines are redrawn in place
/// each poll; elsewhere a session's line is printed again only when its state changes.
public struct WaitBoard: Sendable {
    struct Entry: Equatable, Sendable {
        var short: String
        var status: String
        var exitCode: Int?
        var duration: String
    }

    private var order: [String] = []
    private var entries: [String: Entry] = [:]
    private var printed: [String: String] = [:]
    private var liveLines = 0

    public init() {}

    /// The lines as they stand after this poll.
    public mutating func update(_ sessions: [SessionRecord], vanished: Set<String>, now: Int) {
        for s in sessions {
            if entries[s.name] == nil { order.append(s.name) }
            let short = s.short ?? s.name
            let entry: Entry
            if vanished.contains(s.name) {
                entry = Entry(short: short, status: "vanished", exitCode: nil, duration: "")
            } else if s.hasEnded {
                entry = Entry(
                    short: short, status: s.exitCode == 0 ? "success" : "failed", exitCode: s.exitCode,
                    duration: TimeFormat.duration(from: s.created, to: s.ended))
            } else if s.status == .unreachable {
                entry = Entry(short: short, status: "unreachable", exitCode: nil, duration: "")
            } else {
                entry = Entry(short: short, status: "running", exitCode: nil, duration: TimeFormat.duration(from: s.created, to: now))
            }
            entries[s.name] = entry
        }
    }

    public var lines: [String] { order.compactMap { entries[$0].map { WaitBoard.line($0) } } }

    /// `   lint         failed, exit 2 (1.0s)`: the seed's line with the status as a word
    /// (coloured on a terminal) where it had an emoji, which some fonts cannot draw.
    static func line(_ e: Entry, colour: Bool = false) -> String {
        var detail = ""
        if e.status == "failed", let code = e.exitCode { detail = ", exit \(code)" }
        if !e.duration.isEmpty && e.duration != "—" { detail += " (\(e.duration))" }
        return "   " + WaitBoard.pad(e.short, 12) + " " + HumanOutput.paint(e.status, e.status == "vanished" ? "failed" : e.status, colour) + detail
    }

    /// Go's `%-12s`: the width counts code points.
    static func pad(_ s: String, _ width: Int) -> String {
        let n = s.unicodeScalars.count
        return n >= width ? s : s + String(repeating: " ", count: width - n)
    }

    /// Updates and returns what to print for this poll.
    public mutating func render(_ sessions: [SessionRecord], vanished: Set<String>, now: Int, inPlace: Bool) -> String {
        update(sessions, vanished: vanished, now: now)
        var out = ""
        if inPlace {
            // In place means a terminal that allows colour (pici-run decides both at once).
            let lines = order.compactMap { entries[$0].map { WaitBoard.line($0, colour: true) } }
            if liveLines > 0 {
                out += String(repeating: Terminal.cursorUp, count: liveLines)
                out += lines.map { $0 + Terminal.clearToEndOfLine }.joined(separator: "\n") + "\n"
            } else {
                for line in lines { out += line + "\n" }
            }
            liveLines = lines.count
            return out
        }
        for name in order {
            guard let e = entries[name] else { continue }
            let key = e.status + "/" + (e.exitCode.map(String.init) ?? "")
            if printed[name] != key {
                printed[name] = key
                out += WaitBoard.line(e) + "\n"
            }
        }
        return out
    }
}

/// ^C while waiting: SIGINT is blocked and taken with sigtimedwait, so the poll's sleep ends
/// the moment it comes and no signal handler (with its async-signal-safety rules) is needed.
/// Children get an empty mask from Spawn, so zmx itself is not affected.
struct InterruptWatch {
    private var set = sigset_t()

    init() {
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigprocmask(SIG_BLOCK, &set, nil)
    }

    /// Sleeps up to `seconds`; true as soon as SIGINT has come.
    func sleep(_ seconds: Double) -> Bool {
        let deadline = Clock.monotonicSeconds() + max(0, seconds)
        var set = self.set
        while true {
            let left = max(0, deadline - Clock.monotonicSeconds())
            var ts = timespec(tv_sec: Int(left), tv_nsec: Int((left - left.rounded(.down)) * 1e9))
            let r = sigtimedwait(&set, nil, &ts)
            if r == SIGINT { return true }
            if r < 0 && errno == EINTR && left > 0 { continue }
            return false
        }
    }

    /// Whether SIGINT has come, without waiting.
    func check() -> Bool { sleep(0) }
}
