/// Stopping a repository's running jobs, as the seed's cancelRunningJobs and runCancel, with
/// two fixes: the repo is compared exactly (the seed's prefix `ci.demo.` also hit repo
/// `demo.x`), and the job's step sessions are killed with its runner (the seed left them
/// running). Each job killed gets `artifacts/cancelled.json`, which tells pici-publish that
/// its vanished sessions were cancelled, not lost.
public enum Cancel {
    /// Why a job was stopped, as written in cancelled.json.
    public enum Reason: String, Sendable {
        /// A newer event for the same repository.
        case superseded
        /// `pici-run --cancel`.
        case cancel
        /// `pici-run --gc`: its sessions were older than --gc-age.
        case gc
    }

    /// One job that was cancelled.
    public struct Cancelled: Equatable, Sendable {
        public var name: String
        public var jobID: String
        public var sessionsKilled: Int
    }

    /// The job ids of `repo`'s jobs whose runner is still running, in listing order.
    public static func runningJobs(of repo: String, in sessions: [SessionRecord]) -> [String] {
        var ids: [String] = []
        for s in sessions where s.status == .running {
            guard let parsed = JobName.parse(s.name), parsed.repo == repo, parsed.short == "runner",
                  s.name == "ci.\(repo).\(parsed.jobID).runner", !ids.contains(parsed.jobID)
            else { continue }
            ids.append(parsed.jobID)
        }
        return ids
    }

    /// The zmx kill arguments for a job: its runner and every step.
    public static func killArguments(name: String, jobID: String) -> [String] {
        ["kill", "ci.\(name).\(jobID).runner", "ci.\(name).\(jobID).step.*"]
    }

    /// Lists sessions, kills every running job of `repo` (of its `branch` only, when given)
    /// and marks it cancelled, naming the push that superseded it. Throws
    /// ZmxCommand.Failure when zmx fails, FileError when a marker cannot be written.
    /// `supersededBy`, the new job that replaces them, is written to the marker so that a
    /// `--wait` on an old job can say what became of it and its page can name the push.
    public static func cancelRunning(
        repo: String, branch: String? = nil, supersededBy: Superseding? = nil, reason: Reason,
        zmx: ZmxCommand, environment: [String], artifactDir: String, log: RunLog
    ) throws -> [Cancelled] {
        let listing = try zmx.run(["list"], environment: environment)
        let sessions = ZmxList.parse(listing.stdout).sessions
        var ids = runningJobs(of: repo, in: sessions)
        if let branch {
            ids = ids.filter { Superseding.branch(artifactDir: artifactDir, name: repo, jobID: $0) == branch }
        }
        if ids.isEmpty {
            log.debug("no running jobs to cancel")
            return []
        }
        log.debug("found running jobs to cancel", [("count", String(ids.count))])
        var done: [Cancelled] = []
        for id in ids {
            log.debug("cancelling job", [("job_id", id), ("runner", "ci.\(repo).\(id).runner")])
            let killed = try zmx.run(killArguments(name: repo, jobID: id), environment: environment)
            let count = killed.stdoutText.split(separator: "\n").filter { $0.hasPrefix("killed session ") }.count
            try writeMarker(artifactDir: artifactDir, name: repo, jobID: id, reason: reason, supersededBy: supersededBy)
            done.append(Cancelled(name: repo, jobID: id, sessionsKilled: count))
        }
        return done
    }

    /// `{"job_id":…,"cancelled_at":RFC3339,"reason":…}`, plus `"superseded_by":JOB_ID`,
    /// `"superseded_by_branch"` and `"superseded_by_commit"` when a newer job replaced it,
    /// and `"message"` when given.
    public static func markerJSON(jobID: String, cancelledAt: Int, reason: Reason, supersededBy: Superseding? = nil, message: String? = nil) -> String {
        var o = JSONObject([
            "job_id": .string(jobID), "cancelled_at": .string(TimeFormat.rfc3339(cancelledAt)),
            "reason": .string(reason.rawValue),
        ])
        if let by = supersededBy {
            o["superseded_by"] = .string(by.jobID)
            o["superseded_by_branch"] = .string(by.branch)
            o["superseded_by_commit"] = .string(by.commit)
        }
        if let message { o["message"] = .string(message) }
        return JSONSerializer.string(.object(o))
    }

    /// What a job's cancelled.json says: why, and by which job when superseded.
    public struct Marker: Equatable, Sendable {
        public var reason: String
        public var supersededBy: String?
        /// What its page says, when the canceller said more than the reason (gc's age).
        public var message: String? = nil

        /// The line `--wait` ends with for a job cancelled while it waited.
        public var summary: String {
            switch reason {
            case Reason.superseded.rawValue:
                return "cancelled: superseded by " + (supersededBy.map { "job \(Terminal.visible($0))" } ?? "a newer job")
            case Reason.cancel.rawValue: return "cancelled: by pici-run --cancel"
            case Reason.gc.rawValue: return "cancelled: by gc (its sessions were older than --gc-age)"
            default: return "cancelled: \(Terminal.visible(reason))"
            }
        }
    }

    /// The job's cancelled.json, when there is one that can be read.
    public static func readMarker(artifactDir: String, name: String, jobID: String) -> Marker? {
        guard SafeName.isSafe(name), SafeName.isSafe(jobID),
              let bytes = try? FileSystem.readFile(markerPath(artifactDir: artifactDir, name: name, jobID: jobID), limit: 1 << 16),
              case .object(let o)? = try? JSONParser.parse(bytes), let reason = o["reason"]?.stringValue
        else { return nil }
        return Marker(reason: reason, supersededBy: o["superseded_by"]?.stringValue, message: o["message"]?.stringValue)
    }

    public static func markerPath(artifactDir: String, name: String, jobID: String) -> String {
        JobArtifacts.artifactsDir(artifactDir: artifactDir, name: name, jobID: jobID) + "/cancelled.json"
    }

    /// Writes `DIR/<name>/<job_id>/artifacts/cancelled.json` atomically.
    public static func writeMarker(artifactDir: String, name: String, jobID: String, reason: Reason, supersededBy: Superseding? = nil, message: String? = nil, at: Int = Clock.nowSeconds()) throws {
        try SafeName.check(name)
        try SafeName.check(jobID)
        let dir = JobArtifacts.artifactsDir(artifactDir: artifactDir, name: name, jobID: jobID)
        try FileSystem.makeDirectories(dir)
        try FileSystem.writeAtomically(dir + "/cancelled.json", markerJSON(jobID: jobID, cancelledAt: at, reason: reason, supersededBy: supersededBy, message: message) + "\n")
    }

    /// The line pici-run prints for a job it cancelled.
    public static func line(_ c: Cancelled, reason: Reason) -> String {
        "cancelled ci.\(c.name).\(c.jobID) (\(reason.rawValue), \(c.sessionsKilled) session\(c.sessionsKilled == 1 ? "" : "s") killed)"
    }
}
