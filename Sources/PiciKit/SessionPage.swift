/// The page for one session's history, `<short>.html` in the job's directory: a whole HTML5
/// document around zmx's own `history --html` fragment, linking the job's index, the top
/// index, the stylesheet and the plain-text log. While the session runs it reloads itself.
public struct SessionPage: Equatable, Sendable {
    public var jobName: String
    public var jobID: String
    /// The full zmx session name.
    public var sessionName: String
    /// `runner` or the step name; also the page's file name.
    public var short: String
    public var status: SessionStatus
    public var duration: String
    public var exitCode: Int?
    /// zmx's `history --html` output, put on the page as it is: zmx has escaped it already.
    public var fragment: String

    public init(
        jobName: String, jobID: String, sessionName: String, short: String, status: SessionStatus,
        duration: String, exitCode: Int?, fragment: String
    ) {
        self.jobName = jobName
        self.jobID = jobID
        self.sessionName = sessionName
        self.short = short
        self.status = status
        self.duration = duration
        self.exitCode = exitCode
        self.fragment = fragment
    }

    /// The page for a session of a job: its duration runs from created to ended, or to `now`
    /// while it runs.
    public init(job: JobRecord, session: SessionRecord, short: String, fragment: String, now: Int = Clock.nowSeconds()) {
        self.init(
            jobName: job.name, jobID: job.jobID, sessionName: session.name, short: short, status: session.status,
            duration: session.created > 0 ? TimeFormat.duration(from: session.created, to: session.ended ?? now) : "—",
            exitCode: session.exitCode, fragment: fragment)
    }

    /// Seconds between reloads of a running session's page.
    public static let refreshSeconds = 5

    public var html: String {
        let job = HTML.escape(jobName), id = HTML.escape(jobID), name = HTML.escape(short)
        var out = ""
        out.reserveCapacity(fragment.utf8.count + 2048)
        out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        if status == .running {
            out += "<meta http-equiv=\"refresh\" content=\"\(SessionPage.refreshSeconds)\">\n"
        }
        out += "<title>\(Styles.icon(status.rawValue)) \(name) · \(job) \(id) · \(status.rawValue)</title>\n"
        out += "<link rel=\"stylesheet\" href=\"styles.css\">\n</head>\n<body>\n<header>\n"
        out += "<nav class=\"crumbs\"><a href=\"../../index.html\">pici</a> / <a href=\"index.html\">\(job) / \(id)</a> / \(name)</nav>\n"
        out += "<h1>\(Styles.badge(status.rawValue)) <span>\(name)</span></h1>\n"
        out += "<dl class=\"facts\">\n"
        out += "<div><dt>job</dt><dd><a href=\"index.html\">\(job)</a></dd></div>\n"
        out += "<div><dt>job id</dt><dd><code>\(id)</code></dd></div>\n"
        out += "<div><dt>session</dt><dd><code>\(HTML.escape(sessionName))</code></dd></div>\n"
        out += "<div><dt>step</dt><dd>\(name)</dd></div>\n"
        out += "<div><dt>status</dt><dd class=\"\(Styles.statusClass(status.rawValue))\">"
        out += "\(Styles.icon(status.rawValue)) \(status.rawValue)</dd></div>\n"
        out += "<div><dt>duration</dt><dd>\(HTML.escape(duration))</dd></div>\n"
        out += "<div><dt>exit code</dt><dd>\(exitCode.map(String.init) ?? "—")</dd></div>\n"
        out += "</dl>\n</header>\n<main>\n"
        out += "<p class=\"links\"><a href=\"\(HTML.linkSegment(short + ".txt"))\">plain text</a>"
        out += "<a href=\"index.html\">job</a><a href=\"../../index.html\">all jobs</a></p>\n"
        out += "<div class=\"log\">\n"
        out += fragment
        if !fragment.isEmpty && !fragment.hasSuffix("\n") { out += "\n" }
        out += "</div>\n</main>\n</body>\n</html>\n"
        return out
    }
}
