/// The page for one session's history, `<short>.html` in the job's directory: a whole HTML5
/// document around the log that zmx's `history --html` fragment holds (read and written back
/// by `ZmxHTML`, never copied), linking the job's index, the top
/// index, the stylesheet and the plain-text log. While the session runs it reloads itself.
public struct SessionPage: Equatable, Sendable {
    public var jobName: String
    public var jobID: String
    /// The full zmx session name.
    public var sessionName: String
    /// `runner` or the step name; also the page's file name.
    public var short: String
    /// The pages' file name without extension (SessionFileName); `short` unless it had to
    /// differ.
    public var file: String
    public var status: SessionStatus
    public var duration: String
    public var exitCode: Int?
    /// Unix seconds the session was created and ended, when known.
    public var started: Int?
    public var ended: Int?
    /// The log as read from zmx's `history --html` output (untrusted, like all of a job's
    /// output) or composed by pici (`LogFragment.log`): only values, written back by `ZmxHTML`.
    public var log: ZmxHTML
    /// Lines of the log before those the page shows: the page then says so and links the
    /// whole `.txt`.
    public var hiddenLines = 0

    public init(
        jobName: String, jobID: String, sessionName: String, short: String, status: SessionStatus,
        duration: String, exitCode: Int?, started: Int? = nil, ended: Int? = nil, fragment: String
    ) {
        self.init(
            jobName: jobName, jobID: jobID, sessionName: sessionName, short: short, status: status, duration: duration,
            exitCode: exitCode, started: started, ended: ended, log: ZmxHTML(parsing: fragment))
    }

    public init(
        jobName: String, jobID: String, sessionName: String, short: String, status: SessionStatus,
        duration: String, exitCode: Int?, started: Int? = nil, ended: Int? = nil, log: ZmxHTML
    ) {
        self.jobName = jobName
        self.jobID = jobID
        self.sessionName = sessionName
        self.short = short
        file = short
        self.status = status
        self.duration = duration
        self.exitCode = exitCode
        self.started = started
        self.ended = ended
        self.log = log
    }

    /// The page for a session of a job: its duration runs from created to ended, or to `now`
    /// while it runs.
    public init(job: JobRecord, session: SessionRecord, short: String, file: String? = nil, fragment: String, now: Int = Clock.nowSeconds()) {
        self.init(job: job, session: session, short: short, file: file, log: ZmxHTML(parsing: fragment), now: now)
    }

    public init(job: JobRecord, session: SessionRecord, short: String, file: String? = nil, log: ZmxHTML, now: Int = Clock.nowSeconds()) {
        self.init(
            jobName: job.name, jobID: job.jobID, sessionName: session.name, short: short, status: session.status,
            duration: session.created > 0 ? TimeFormat.duration(from: session.created, to: session.ended ?? now) : "—",
            exitCode: session.exitCode, started: session.created > 0 ? session.created : nil, ended: session.ended,
            log: log)
        self.file = file ?? short
    }

    /// Seconds between reloads of a running session's page.
    public static let refreshSeconds = 5

    /// The page: breadcrumbs back to the job and the front page, the session's facts, then
    /// the log, which scrolls sideways in its own box rather than widening the page.
    public var html: String { String(decoding: bytes, as: UTF8.self) }

    /// `html` as UTF-8: the log's bytes between pici's markup, with no String of the whole page.
    public var bytes: [UInt8] {
        let e = HTML.escape
        let state = status.rawValue
        var out = ""
        out += Styles.head(
            title: "\(short) · \(jobName) \(jobID) · \(state)",
            refreshSeconds: status == .running ? SessionPage.refreshSeconds : nil)
        out += "<header>\n"
        out += Styles.crumbs([
            ("pici", "../../index.html"),
            (jobName, "../../index.html#repo-" + HTML.linkSegment(jobName)),
            (jobID, "index.html"),
            (short, nil),
        ])
        out += "<h1>\(Styles.badge(state)) <span>\(e(short))</span></h1>\n"
        out += "<div class=\"facts\">\n"
        out += Styles.fact("duration", e(duration))
        out += Styles.fact("exit code", exitCode.map(String.init) ?? "—")
        out += Styles.fact("started", TimeFormat.timestamp(started))
        out += Styles.fact("ended", TimeFormat.timestamp(ended))
        out += "<dl class=\"wide\"><dt>session</dt><dd><code>\(e(sessionName))</code></dd></dl>\n"
        out += "</div>\n</header>\n<main>\n"
        out += "<section>\n<h2>Log <span class=\"more\"><a href=\"\(HTML.linkSegment(file + ".txt"))\">plain text</a>"
        out += "<a href=\"#end\">end of log</a></span></h2>\n"
        if hiddenLines > 0 {
            let txt = HTML.linkSegment(short + ".txt")
            out += "<p class=\"more\">The first \(hiddenLines) lines are not shown here: "
            out += "<a href=\"\(txt)\">the whole log</a> is plain text.</p>\n"
        }
        out += "<div class=\"log\">\n"
        var page: [UInt8] = []
        page.reserveCapacity(out.utf8.count + log.byteCountEstimate + 1024)
        page.append(utf8: out)
        log.write(to: &page)
        out = "\n</div>\n</section>\n</main>\n"
        out += "<footer id=\"end\"><a href=\"index.html\">job \(e(jobID))</a><a href=\"../../index.html\">all jobs</a>"
        out += "<span>times in UTC</span>"
        if status == .running { out += "<span>updates every \(SessionPage.refreshSeconds) s while running</span>" }
        out += "</footer>\n</body>\n</html>\n"
        page.append(utf8: out)
        return page
    }
}

extension SessionPage {
    /// The page of a session that was running when its job was cancelled or lost, now final:
    /// no reload, and the job's fate where it said running. Only pici's own markup is touched
    /// (the head and header before the log, the footer after it), never zmx's fragment, so a
    /// log that prints "running" stays as it was. Nil when the page is not a running one.
    public static func settled(_ html: String, as fate: String) -> String? {
        let page = Array(html.utf8)
        let refresh = Array("<meta http-equiv=\"refresh\" content=\"\(refreshSeconds)\">\n".utf8)
        guard let logStart = find(Array("<div class=\"log\">".utf8), in: page),
              let footer = findLast(Array("<footer id=\"end\">".utf8), in: page), logStart <= footer,
              let meta = find(refresh, in: page), meta < logStart
        else { return nil }
        var top = Array(page[..<meta]) + page[(meta + refresh.count)..<logStart]
        top = replacing(Array(" · running</title>".utf8), with: Array(" · \(HTML.escape(fate))</title>".utf8), in: top)
        top = replacing(Array(Styles.badge("running").utf8), with: Array(Styles.badge(fate).utf8), in: top)
        let bottom = replacing(
            Array("<span>updates every \(refreshSeconds) s while running</span>".utf8), with: [], in: Array(page[footer...]))
        return String(decoding: top + page[logStart..<footer] + bottom, as: UTF8.self)
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int = 0) -> Int? {
        guard !needle.isEmpty, bytes.count >= needle.count, start <= bytes.count - needle.count else { return nil }
        for i in start...(bytes.count - needle.count) where bytes[i] == needle[0] && bytes[i..<(i + needle.count)].elementsEqual(needle) {
            return i
        }
        return nil
    }

    private static func findLast(_ needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard !needle.isEmpty, bytes.count >= needle.count else { return nil }
        for i in stride(from: bytes.count - needle.count, through: 0, by: -1) where bytes[i..<(i + needle.count)].elementsEqual(needle) {
            return i
        }
        return nil
    }

    private static func replacing(_ needle: [UInt8], with replacement: [UInt8], in bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while let at = find(needle, in: bytes, from: i) {
            out += bytes[i..<at]
            out += replacement
            i = at + needle.count
        }
        return out + bytes[i...]
    }
}
