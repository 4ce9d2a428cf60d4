/// The seed's runGC: kill every `ci.` session created more than an age ago (3 h by default),
/// running or not, in one `zmx kill`. Each job that lost sessions this way and was never
/// published is marked: `timeout` when it had a deadline, else cancelled (reason `gc`), with
/// "gc: older than 3h" as the reason on its page. Then the workspace copies of jobs that are
/// over (no session left, their pici-run gone) are removed: what a crash left behind.
public enum GarbageCollection {
    public static let defaultAge = 3.0 * 3600

    /// What one gc did: the sessions it killed and the workspace copies it removed.
    public struct Result: Equatable, Sendable {
        public var killed: [String] = []
        public var removed: [String] = []
    }

    /// The `ci.` sessions created before `now - age`; a session with no creation time (an
    /// unreachable one) is left alone, as the seed did, and so is one whose name ends in `*`:
    /// `zmx kill` would take it for a pattern and kill every session it prefixes.
    public static func expired(_ sessions: [SessionRecord], now: Int, age: Double) -> [SessionRecord] {
        let cutoff = now - Int(age)
        return sessions.filter { $0.name.hasPrefix("ci.") && !$0.name.hasSuffix("*") && $0.created > 0 && $0.created < cutoff }
    }

    /// Kills the expired sessions and removes leftover workspaces. Throws ZmxCommand.Failure
    /// when zmx fails; a marker or workspace that cannot be written or removed is reported and
    /// the rest carry on. `jobTimeout` is the deadline of jobs that recorded none.
    public static func run(zmx: ZmxCommand, environment: [String], artifactDir: String, age: Double, jobTimeout: Double? = nil, now: Int = Clock.nowSeconds(), log: RunLog) throws -> Result {
        log.debug("running garbage collection")
        pruneJobMasks(artifactDir: artifactDir, now: now, age: age)
        let listing = try zmx.run(["list"], environment: environment)
        let sessions = ZmxList.parse(listing.stdout).sessions
        let old = expired(sessions, now: now, age: age)
        for s in old { log.debug("session expired, scheduling for gc", [("session", s.name), ("created", String(s.created))]) }
        var result = Result()
        if old.isEmpty {
            log.debug("no sessions to garbage collect")
        } else {
            result.killed = old.map(\.name)
            _ = try zmx.run(["kill"] + result.killed, environment: environment)
            mark(old, artifactDir: artifactDir, age: age, jobTimeout: jobTimeout, now: now, log: log)
        }
        let killed = Set(result.killed)
        result.removed = removeLeftovers(artifactDir: artifactDir, remaining: sessions.filter { !killed.contains($0.name) }, log: log)
        log.debug("garbage collection complete", [("killed", String(result.killed.count))])
        return result
    }

    static func mark(_ old: [SessionRecord], artifactDir: String, age: Double, jobTimeout: Double?, now: Int, log: RunLog) {
        var marked: Set<String> = []
        let why = "gc: older than \(TimeFormat.span(age))"
        for s in old {
            guard let repo = s.repo, let jobID = s.jobID, SafeName.isSafe(repo), SafeName.isSafe(jobID), !marked.contains(repo + "\u{0}" + jobID) else { continue }
            marked.insert(repo + "\u{0}" + jobID)
            let jobDir = JobArtifacts.jobDir(artifactDir: artifactDir, name: repo, jobID: jobID)
            // Only jobs this artifact dir knows, and only while their status is unpublished.
            guard FileSystem.isDirectory(jobDir),
                  !FileSystem.exists(jobDir + "/artifacts/published.json"),
                  !FileSystem.exists(jobDir + "/artifacts/cancelled.json"),
                  !FileSystem.exists(jobDir + "/artifacts/timeout.json")
            else { continue }
            do {
                if Launches.read(artifactDir: artifactDir, name: repo, jobID: jobID)?.timeout != nil || jobTimeout != nil {
                    try JobEnding.writeTimeout(artifactDir: artifactDir, name: repo, jobID: jobID, reason: why, at: now)
                } else {
                    try Cancel.writeMarker(artifactDir: artifactDir, name: repo, jobID: jobID, reason: .gc, message: why, at: now)
                }
            } catch {
                log.warn("gc: \(error)")
            }
        }
    }

    /// Removes the workspace copies of every recorded job that is over: none of its sessions
    /// in `remaining` and its pici-run gone. A published job's record goes with them; an
    /// unpublished one's stays for the monitor pass that publishes it.
    static func removeLeftovers(artifactDir: String, remaining: [SessionRecord], log: RunLog) -> [String] {
        var live = Set<String>()
        for s in remaining { if let r = s.repo, let id = s.jobID { live.insert(r + "\u{0}" + id) } }
        var removed: [String] = []
        for (_, record) in Launches.all(artifactDir: artifactDir) {
            guard let record, !live.contains(record.name + "\u{0}" + record.jobID), !Launcher.isAlive(record) else { continue }
            var left = 0
            for dir in record.workspaces() {
                if Workspace.remove(dir) { removed.append(dir) } else {
                    left += 1
                    log.warn("gc: cannot remove the workspace \(dir)")
                }
            }
            let published = FileSystem.exists(JobArtifacts.artifactsDir(artifactDir: artifactDir, name: record.name, jobID: record.jobID) + "/published.json")
            if left == 0 && published { try? Launches.remove(artifactDir: artifactDir, name: record.name, jobID: record.jobID) }
        }
        return removed
    }

    /// The secret-env-file names of jobs older than the age: their sessions are gone, so
    /// nothing of theirs is staged any more.
    static func pruneJobMasks(artifactDir: String, now: Int, age: Double) {
        let dir = Masking.jobMasksDirectory(artifactDir: artifactDir)
        for entry in FileSystem.list(dir) {
            if let info = FileSystem.info(dir + "/" + entry), info.isRegular, info.modifiedSeconds < now - Int(age) {
                try? FileSystem.remove(dir + "/" + entry)
            }
        }
    }
}
