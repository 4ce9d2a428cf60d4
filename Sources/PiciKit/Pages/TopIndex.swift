/// The artifact dir's front page, `index.html`: the newest jobs of each repository, newest
/// first, each linking to its own index. Built from the tree itself (each job's
/// `published.json`) plus the jobs still live, so it needs no state of its own.
public enum TopIndex {
    /// One job as the front page shows it.
    public struct Entry: Equatable, Sendable {
        public var name: String
        public var jobID: String
        public var status: String
        public var startedAt: String?
        public var endedAt: String?
        public var duration: String
        /// The build host, with a hosts file.
        public var host: String? = nil
        /// When pici-run wrote the job's event (the mtime of `artifacts/event.json`, ns): of
        /// two jobs started in the same second, which came last (`scan` sets it).
        public var launched: Int? = nil

        public init(name: String, jobID: String, status: String, startedAt: String?, endedAt: String?, duration: String) {
            self.name = name
            self.jobID = jobID
            self.status = status
            self.startedAt = startedAt
            self.endedAt = endedAt
            self.duration = duration
        }

        public init(job: JobRecord) {
            self.init(name: job.name, jobID: job.jobID, status: job.status.rawValue, startedAt: job.startedAt,
                      endedAt: job.status.isTerminal ? job.endedAt : nil, duration: job.duration)
            host = job.host
        }

        /// From a job's `published.json`; nil when it has no status.
        public init?(name: String, jobID: String, sentinel o: JSONObject) {
            guard let status = o["status"]?.stringValue else { return nil }
            self.init(name: name, jobID: jobID, status: status, startedAt: o["started_at"]?.stringValue,
                      endedAt: o["ended_at"]?.stringValue ?? o["finished_at"]?.stringValue,
                      duration: o["duration"]?.stringValue ?? "")
            host = o["host"]?.stringValue
        }
    }

    public static let perRepository = 20

    /// The jobs of one repository, newest first (RFC 3339 UTC sorts as text), unknown start
    /// last; in one second, the one launched last first (a push right after another).
    static func newestFirst(_ a: Entry, _ b: Entry) -> Bool {
        let sa = a.startedAt ?? "", sb = b.startedAt ?? ""
        if sa != sb { return sa > sb }
        if let la = a.launched, let lb = b.launched, la != lb { return la > lb }
        return a.jobID > b.jobID
    }

    /// Seconds between reloads of the front page while a job runs.
    public static let refreshSeconds = 10

    /// The front page: a count of jobs by status, then a table per repository (each with an
    /// anchor the job pages link back to), newest job first.
    public static func html(_ entries: [Entry], now: Int, perRepository: Int = TopIndex.perRepository) -> String {
        let e = HTML.escape
        var byRepo: [String: [Entry]] = [:]
        for entry in entries { byRepo[entry.name, default: []].append(entry) }
        let repos = byRepo.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let running = entries.contains { $0.status == "running" || $0.status == "queued" }
        var out = Styles.head(title: "pici", refreshSeconds: running ? refreshSeconds : nil)
        out += "<header>\n<h1>pici</h1>\n"
        var counts: [String: Int] = [:]
        for entry in entries { counts[entry.status, default: 0] += 1 }
        let known = ["running", "queued", "failed", "timeout", "lost", "cancelled", "success"]
        let tally = known.compactMap { s in
            counts[s].map { "<span class=\"badge \(Styles.statusClass(s))\">\(Styles.mark(s)) \($0) \(s)</span>" }
        }
        out += "<p class=\"summary\"><span class=\"total\">\(repos.count) \(repos.count == 1 ? "repository" : "repositories"), "
            + "\(entries.count) \(entries.count == 1 ? "job" : "jobs")</span>\(tally.joined())</p>\n"
        out += "</header>\n<main>\n"
        if repos.isEmpty { out += "<p class=\"empty\">No jobs yet.</p>\n" }
        // Rendered at the end of every pass while a job runs, after everything else: the
        // page is grown in place, and what each status and repository shows is made once.
        out.reserveCapacity(out.utf8.count + 1024 + entries.count * 1024)
        var rowOpen: [String: String] = [:], badge: [String: String] = [:]
        for repo in repos {
            let jobs = byRepo[repo]!.sorted(by: newestFirst)
            let shown = jobs.prefix(perRepository)
            let link = HTML.linkSegment(repo)
            out += "<section>\n<h2 id=\"repo-\(link)\">\(e(repo)) <span class=\"count\">"
            out += jobs.count > shown.count ? "newest \(shown.count) of \(jobs.count)" : "\(jobs.count) \(jobs.count == 1 ? "job" : "jobs")"
            // The repository's badge, beside its jobs, for a README.
            out += "</span><span class=\"more\"><a href=\"\(link)/badge.svg\">badge</a></span></h2>\n"
            out += "<div class=\"table-wrap\">\n<table class=\"cards jobs\">\n"
            out += "<thead><tr><th scope=\"col\">job</th><th scope=\"col\">status</th><th scope=\"col\">started</th>"
            out += "<th scope=\"col\">duration</th><th scope=\"col\">ended</th></tr></thead>\n<tbody>\n"
            for j in shown {
                if rowOpen[j.status] == nil {
                    rowOpen[j.status] = Styles.rowOpen(j.status)
                    badge[j.status] = Styles.badge(j.status)
                }
                out += rowOpen[j.status]!
                out += "<td class=\"lead\" data-label=\"job\"><a href=\""
                out += link
                out += "/"
                out += HTML.linkSegment(j.jobID)
                out += "/index.html\"><code>"
                out += e(j.jobID)
                out += "</code></a>"
                if let host = j.host {
                    out += " <span class=\"host\">on "
                    out += e(host)
                    out += "</span>"
                }
                out += "</td><td class=\"state\" data-label=\"status\">"
                out += badge[j.status]!
                out += "</td><td class=\"time\" data-label=\"started\">"
                out += TimeFormat.timestamp(j.startedAt.flatMap(TimeFormat.parseRFC3339))
                out += "</td><td class=\"num\" data-label=\"duration\">"
                out += j.duration.isEmpty ? "—" : e(j.duration)
                out += "</td><td class=\"time\" data-label=\"ended\">"
                out += TimeFormat.timestamp(j.endedAt.flatMap(TimeFormat.parseRFC3339))
                out += "</td></tr>\n"
            }
            out += "</tbody>\n</table>\n</div>\n</section>\n"
        }
        out += "</main>\n<footer><a href=\"feed.xml\" type=\"application/atom+xml\">feed of finished jobs</a>"
        out += "<span>times in UTC · generated \(TimeFormat.timestamp(now))</span>"
        if running { out += "<span>updates every \(refreshSeconds) s while a job runs</span>" }
        out += "</footer>\n</body>\n</html>\n"
        return out
    }

    /// The front page's jobs: `live` (the jobs of this pass still running, or shown so) and
    /// every other job published under `artifactDir`.
    public static func scan(artifactDir: String, live: [Entry]) -> [Entry] {
        merge(live: live, published: published(artifactDir: artifactDir, except: Set(live.map(key))), artifactDir: artifactDir)
    }

    /// `live` first, then each of `published` not among them; `launched` set for the live.
    public static func merge(live: [Entry], published: [Entry], artifactDir: String) -> [Entry] {
        let seen = Set(live.map(key))
        var entries = live.map { entry in
            var e = entry
            if SafeName.isSafe(e.name) && SafeName.isSafe(e.jobID) { e.launched = launched(artifactDir, e.name, e.jobID) }
            return e
        }
        for entry in published where !seen.contains(key(entry)) { entries.append(entry) }
        return entries
    }

    /// Every job under `artifactDir` with a status in its `published.json`, but those of
    /// `except` (`key`s), in no order. `jobs` limits the look to those jobs (name, job id).
    public static func published(artifactDir: String, except: Set<String> = [], jobs: [(String, String)]? = nil) -> [Entry] {
        var entries: [Entry] = []
        func look(_ repo: String, _ jobID: String) {
            guard !except.contains(repo + "\u{0}" + jobID) else { return }
            let sentinel = artifactDir + "/" + repo + "/" + jobID + "/artifacts/published.json"
            guard let bytes = try? FileSystem.readFile(sentinel, limit: 1 << 20),
                  case .object(let o)? = try? JSONParser.parse(bytes),
                  var entry = Entry(name: repo, jobID: jobID, sentinel: o)
            else { return }
            entry.launched = launched(artifactDir, repo, jobID)
            entries.append(entry)
        }
        if let jobs {
            for (repo, jobID) in jobs where SafeName.isSafe(repo) && SafeName.isSafe(jobID) { look(repo, jobID) }
            return entries
        }
        for repo in FileSystem.list(artifactDir) where SafeName.isSafe(repo) {
            let repoDir = artifactDir + "/" + repo
            guard FileSystem.isDirectory(repoDir) else { continue }
            // The repository's badge is no job: not looked into for one.
            for jobID in FileSystem.list(repoDir) where SafeName.isSafe(jobID) && jobID != Badge.fileName { look(repo, jobID) }
        }
        return entries
    }

    static func key(_ e: Entry) -> String { e.name + "\u{0}" + e.jobID }

    /// When pici-run wrote the job's event: the mtime of its `artifacts/event.json` (ns).
    static func launched(_ artifactDir: String, _ repo: String, _ jobID: String) -> Int? {
        FileSystem.info(artifactDir + "/" + repo + "/" + jobID + "/artifacts/event.json")?.modifiedNanoseconds
    }
}
