import Glibc

/// A job's landing pages, `index.html` and `index.txt`: the seed's generateJobIndex. Rendering
/// is a pure function of a `Page`; only `artifacts(in:)` looks at the disk.
public enum JobIndex {
    /// One file in the job's `artifacts/` directory.
    public struct Artifact: Equatable, Sendable {
        public var name: String
        public var size: Int
        /// Unix seconds.
        public var modified: Int
        public init(name: String, size: Int, modified: Int) {
            self.name = name
            self.size = size
            self.modified = modified
        }
    }

    /// Everything a job's index shows.
    public struct Page: Sendable {
        public var job: JobRecord
        /// What to show as the job's state: the job's own, or the one it was published with.
        public var status: String
        public var artifacts: [Artifact]
        public var branch: String?
        public var commit: String?
        /// Why it ended so (JobRecord.reason): failed before launch, timed out, cancelled.
        public var reason: String?
        /// The job this one re-ran (`pici-run --rerun`), a job id of the same repository.
        public var rerunOf: String?
        /// The jobs that re-ran this one, oldest first.
        public var reruns: [String] = []
        /// Unix seconds: durations of running sessions are counted up to it.
        public var now: Int
        /// The newer push that cancelled this job, from its cancelled.json.
        public var supersededBy: Superseding? = nil

        public init(job: JobRecord, status: String? = nil, artifacts: [Artifact] = [], branch: String? = nil, commit: String? = nil, now: Int) {
            self.job = job
            self.status = status ?? job.status.rawValue
            self.artifacts = artifacts
            self.branch = branch
            self.commit = commit
            self.now = now
        }
    }

    /// One session as a row: the seed's sessionRow.
    struct Row {
        var session: SessionRecord
        var short: String
        /// The same file name pici-stage gives the session's pages.
        var file: String
        var status: String
        var exitCode: String
        var duration: String
    }

    static func rows(_ page: Page) -> [Row] {
        page.job.sessions.map { s in
            let status: String
            var exitCode = ""
            var duration: String
            if let ended = s.ended {
                // As the seed: exit 0 is success; anything else, even no code at all, failed.
                status = s.exitCode == 0 ? "success" : "failed"
                exitCode = s.exitCode.map(String.init) ?? ""
                duration = TimeFormat.duration(from: s.created > 0 ? s.created : nil, to: ended)
            } else if page.status == "cancelled" || page.status == "lost" || page.status == "timeout" {
                // It vanished while running: it shares the job's fate and has no end.
                status = page.status
                duration = "—"
            } else {
                status = s.status == .unreachable ? "unreachable" : "running"
                // The seed counted a running session up to now and then overwrote it with "—".
                duration = TimeFormat.duration(from: s.created > 0 ? s.created : nil, to: page.now)
            }
            if status == "unreachable" { duration = "—" }
            let short = s.short ?? JobName.cleanShort(s.name, repo: page.job.name, jobID: page.job.jobID)
            return Row(session: s, short: short, file: SessionFileName.of(s, in: page.job), status: status, exitCode: exitCode, duration: duration)
        }
    }

    /// The first line of `text`: the job and its status.
    public static func headline(_ page: Page) -> String {
        "Job: \(Terminal.visible(page.job.name)) (\(Terminal.visible(page.job.jobID))) \(Terminal.visible(page.status))"
    }

    /// The seed's plain-text layout (its 70- and 60-dash rules), with the status as a word
    /// rather than an emoji (which is an empty box without an emoji font) and dates as the
    /// pages show them rather than raw unix seconds. Control characters in names are shown
    /// as `?`, since this file is read with cat and less.
    public static func text(_ page: Page) -> String {
        var out = headline(page) + "\n"
        if let host = page.job.host { out += "Host: \(Terminal.visible(host))\n" }
        if let reason = page.reason { out += "Reason: \(Terminal.visible(reason))\n" }
        if let old = page.rerunOf { out += "Re-run of: \(Terminal.visible(old))\n" }
        if !page.reruns.isEmpty { out += rerunsLine(page.reruns) + "\n" }
        out += "Sessions: \(page.job.sessions.count)\n"
        out += String(repeating: "-", count: 70) + "\n"
        for r in rows(page) {
            let ended = r.session.ended.map { TimeFormat.timestamp($0) + " UTC" } ?? "-"
            let duration = r.duration == "—" ? "-" : r.duration
            out += "  \(Terminal.padRight(r.status, 11)) \(Terminal.padRight(Terminal.visible(r.short), 20))  exit: \(Terminal.padRight(r.exitCode.isEmpty ? "-" : r.exitCode, 5))"
            out += "  duration: \(Terminal.padRight(duration, 8))  ended: \(ended)\n"
        }
        out += String(repeating: "-", count: 60) + "\n"
        return out
    }

    /// index.txt's line naming the re-runs; a page that lacks it is made again.
    public static func rerunsLine(_ ids: [String]) -> String {
        "Re-run as: " + ids.map(Terminal.visible).joined(separator: " ")
    }

    /// Seconds between reloads of a running job's page.
    public static let refreshSeconds = 10

    /// The job's `index.html`: its status and facts, a row per session linking its log, and
    /// the files in `artifacts/`. Every link is relative to the job's directory.
    public static func html(_ page: Page) -> String {
        let job = page.job
        let e = HTML.escape
        let running = page.status == "running"
        var out = Styles.head(
            title: "\(job.name) \(job.jobID) · \(page.status)",
            refreshSeconds: running ? refreshSeconds : nil)
        out += "<header>\n"
        out += Styles.crumbs([
            ("pici", "../../index.html"),
            (job.name, "../../index.html#repo-" + HTML.linkSegment(job.name)),
            (job.jobID, nil),
        ])
        out += "<h1>\(Styles.badge(page.status)) <span>\(e(job.name))</span> <code class=\"id\">\(e(job.jobID))</code></h1>\n"
        out += "<div class=\"facts\">\n"
        out += Styles.fact("exit code", running ? "—" : job.exitCode.map(String.init) ?? "—")
        out += Styles.fact("duration", job.duration.isEmpty ? "—" : e(job.duration))
        out += Styles.fact("started", TimeFormat.timestamp(job.startedAt.flatMap(TimeFormat.parseRFC3339)))
        out += Styles.fact("ended", running ? "—" : TimeFormat.timestamp(job.endedAt.flatMap(TimeFormat.parseRFC3339)))
        if let h = job.host { out += Styles.fact("host", "<code>\(e(h))</code>") }
        if let r = page.reason { out += Styles.fact("reason", e(r)) }
        if let old = page.rerunOf { out += Styles.fact("re-run of", "<a href=\"../\(HTML.linkSegment(old))/index.html\"><code>\(e(old))</code></a>") }
        if !page.reruns.isEmpty {
            out += Styles.fact("re-run as", page.reruns.map { "<a href=\"../\(HTML.linkSegment($0))/index.html\"><code>\(e($0))</code></a>" }.joined(separator: " "))
        }
        if let b = page.branch, !b.isEmpty { out += Styles.fact("branch", "<code>\(e(b))</code>") }
        if let c = page.commit, !c.isEmpty { out += Styles.fact("commit", "<code>\(e(c))</code>") }
        if let by = page.supersededBy {
            var push = "<a href=\"../\(HTML.linkSegment(by.jobID))/index.html\"><code>\(e(by.jobID))</code></a>"
            if !by.branch.isEmpty { push += " on <code>\(e(by.branch))</code>" }
            if !by.commit.isEmpty { push += " at <code>\(e(String(by.commit.prefix(12))))</code>" }
            out += Styles.fact("superseded by", push)
        }
        out += "</div>\n</header>\n<main>\n"

        out += "<section>\n<h2>Sessions <span class=\"count\">\(job.sessions.count)</span></h2>\n"
        let rows = rows(page)
        if rows.isEmpty {
            out += "<p class=\"empty\">No sessions.</p>\n"
        } else {
            out += "<div class=\"table-wrap\">\n<table class=\"cards\">\n"
            out += "<thead><tr><th scope=\"col\">step</th><th scope=\"col\">status</th><th scope=\"col\">exit</th>"
            out += "<th scope=\"col\">duration</th><th scope=\"col\">started</th><th scope=\"col\">ended</th><th scope=\"col\">log</th></tr></thead>\n"
            out += "<tbody>\n"
            for r in rows {
                let link = HTML.linkSegment(r.file)
                out += Styles.rowOpen(r.status)
                out += Styles.cell("lead", "step", "<a href=\"\(link).html\" title=\"\(e(r.session.name))\">\(e(r.short))</a>")
                out += Styles.cell("state", "status", Styles.badge(r.status))
                out += Styles.cell("num", "exit", r.exitCode.isEmpty ? "—" : e(r.exitCode))
                out += Styles.cell("num", "duration", e(r.duration))
                out += Styles.cell("time", "started", TimeFormat.timestamp(r.session.created > 0 ? r.session.created : nil))
                out += Styles.cell("time", "ended", TimeFormat.timestamp(r.session.ended))
                out += Styles.cell("links", "log", "<a href=\"\(link).html\">html</a><a href=\"\(link).txt\">txt</a>")
                out += "</tr>\n"
            }
            out += "</tbody>\n</table>\n</div>\n"
        }
        out += "</section>\n"

        out += "<section>\n<h2>Artifacts <span class=\"count\">\(page.artifacts.count)</span></h2>\n"
        if page.artifacts.isEmpty {
            out += "<p class=\"empty\">No artifacts.</p>\n"
        } else {
            out += "<div class=\"table-wrap\">\n<table class=\"cards\">\n"
            out += "<thead><tr><th scope=\"col\">file</th><th scope=\"col\">size</th><th scope=\"col\">modified</th></tr></thead>\n"
            out += "<tbody>\n"
            for a in page.artifacts {
                out += "<tr><td class=\"lead full\" data-label=\"file\"><a href=\"artifacts/\(HTML.linkSegment(a.name))\">\(e(a.name))</a></td>"
                out += Styles.cell("num", "size", formatFileSize(a.size))
                out += "<td class=\"time\" data-label=\"modified\">\(TimeFormat.timestamp(a.modified))</td></tr>\n"
            }
            out += "</tbody>\n</table>\n</div>\n"
        }
        out += "</section>\n</main>\n"
        out += "<footer><a href=\"index.txt\">index.txt</a><a href=\"../../index.html\">all jobs</a>"
        out += "<span>times in UTC · generated \(TimeFormat.timestamp(page.now))</span>"
        if running { out += "<span>updates every \(refreshSeconds) s while running</span>" }
        out += "</footer>\n</body>\n</html>\n"
        return out
    }

    /// The seed's formatFileSize: `512 B`, `1.5 KB`, `3.0 MB`.
    public static func formatFileSize(_ bytes: Int) -> String {
        let unit = 1024
        if bytes < unit { return "\(bytes) B" }
        var div = unit, exp = 0
        var n = bytes / unit
        while n >= unit {
            div *= unit
            exp += 1
            n /= unit
        }
        let units = ["KB", "MB", "GB", "TB", "PB", "EB"]
        return oneDecimal(Double(bytes) / Double(div)) + " " + units[min(exp, units.count - 1)]
    }

    /// `%.1f` as Go and C print it (round half to even on the exact binary value).
    static func oneDecimal(_ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        _ = withVaList([value]) { args in
            buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress!, 64, "%.1f", args) }
        }
        return String(cString: buffer)
    }

    /// The files in a job's `artifacts/` directory, by name: the seed's scan, without
    /// directories and without dot files (the temporaries of atomic writes).
    public static func artifacts(in directory: String) -> [Artifact] {
        FileSystem.list(directory).compactMap { name in
            guard !name.hasPrefix("."), let info = FileSystem.info(directory + "/" + name), !info.isDirectory else { return nil }
            return Artifact(name: name, size: info.size, modified: info.modifiedSeconds)
        }
    }
}
