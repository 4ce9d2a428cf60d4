/// `DIR/feed.xml`: an Atom feed (RFC 4287) of the last finished jobs, newest first, built from
/// their `published.json`, so a feed reader shows each result as it comes.
public enum Feed {
    public static let size = 50

    /// One finished job as the feed shows it.
    public struct Entry: Equatable, Sendable {
        public var name: String
        public var jobID: String
        public var status: String
        public var exitCode: Int?
        public var duration: String
        /// Unix seconds: when it ended (or was published).
        public var updated: Int
        /// The first failed step and its exit code, when one failed.
        public var failedStep: String?
        public var failedStepExit: Int?

        public init(name: String, jobID: String, status: String, exitCode: Int?, duration: String, updated: Int,
                    failedStep: String? = nil, failedStepExit: Int? = nil) {
            self.name = name
            self.jobID = jobID
            self.status = status
            self.exitCode = exitCode
            self.duration = duration
            self.updated = updated
            self.failedStep = failedStep
            self.failedStepExit = failedStepExit
        }

        /// From a job's `published.json`.
        public init?(name: String, jobID: String, sentinel o: JSONObject) {
            guard let status = o["status"]?.stringValue,
                  let updated = (o["ended_at"]?.stringValue ?? o["finished_at"]?.stringValue).flatMap(TimeFormat.parseRFC3339)
            else { return nil }
            self.init(name: name, jobID: jobID, status: status, exitCode: o["exit_code"]?.intValue,
                      duration: o["duration"]?.stringValue ?? "", updated: updated,
                      failedStep: o["failed_step"]?.stringValue, failedStepExit: o["failed_step_exit_code"]?.intValue)
        }

        /// "failed (exit 3) in 2m34s; step test failed with exit 3".
        public var summary: String {
            var out = CommitStatus.describe(status: status, exitCode: exitCode, duration: duration)
            if let step = failedStep {
                out += "; step \(step) failed" + (failedStepExit.map { " with exit \($0)" } ?? "")
            }
            return out
        }
    }

    /// The feed. `id` names the feed for readers; links are relative to the feed, which sits
    /// at the top of the artifact tree.
    public static func xml(_ entries: [Entry], id: String, now: Int) -> String {
        let x = HTML.escape
        let shown = entries.sorted { ($0.updated, $0.name, $0.jobID) > ($1.updated, $1.name, $1.jobID) }.prefix(size)
        var out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n"
        out += "<title>pici</title>\n<id>\(x(id))</id>\n"
        out += "<updated>\(TimeFormat.rfc3339(shown.first?.updated ?? now))</updated>\n"
        out += "<link rel=\"self\" href=\"feed.xml\"/>\n<link rel=\"alternate\" type=\"text/html\" href=\"index.html\"/>\n"
        out += "<author><name>pici</name></author>\n<generator>pici</generator>\n"
        for e in shown {
            let href = HTML.linkSegment(e.name) + "/" + HTML.linkSegment(e.jobID) + "/index.html"
            out += "<entry>\n<title>\(x(Terminal.visible("\(e.name) \(e.jobID): \(e.status)")))</title>\n"
            out += "<id>\(x(id)):\(HTML.linkSegment(e.name)):\(HTML.linkSegment(e.jobID))</id>\n"
            out += "<link rel=\"alternate\" type=\"text/html\" href=\"\(href)\"/>\n"
            out += "<updated>\(TimeFormat.rfc3339(e.updated))</updated>\n"
            out += "<summary>\(x(Terminal.visible(e.summary)))</summary>\n</entry>\n"
        }
        return out + "</feed>\n"
    }

    /// Every finished job the tree holds a `published.json` for.
    public static func scan(artifactDir: String) -> [Entry] {
        var entries: [Entry] = []
        for repo in FileSystem.list(artifactDir) where SafeName.isSafe(repo) && FileSystem.isDirectory(artifactDir + "/" + repo) {
            for jobID in FileSystem.list(artifactDir + "/" + repo) where SafeName.isSafe(jobID) && jobID != Badge.fileName {
                let sentinel = artifactDir + "/" + repo + "/" + jobID + "/artifacts/published.json"
                guard let bytes = try? FileSystem.readFile(sentinel, limit: 1 << 20),
                      case .object(let o)? = try? JSONParser.parse(bytes),
                      let entry = Entry(name: repo, jobID: jobID, sentinel: o) else { continue }
                entries.append(entry)
            }
        }
        return entries
    }

    /// The feed's id: the artifact dir's absolute path as a URN, the same on every pass.
    public static func id(artifactDir: String) -> String {
        "urn:pici:" + FileSystem.absolute(artifactDir).split(separator: "/").map { HTML.linkSegment(String($0)) }.joined(separator: ":")
    }
}
