/// The seed's runGC: kill every `ci.` session created more than an age ago (3 h by default),
/// running or not, in one `zmx kill`. Each job that lost sessions this way and was never
/// published is marked: `timeout` when it had a deadline, else cancelled (reason `gc`), with
/// "gc: older than 3h" as the reason on its page. Then, with every host's sessions known, the
/// workspace copies of jobs that are over (no session left, their pici-run gone) are removed,
/// on this machine and on the job's host: what a crash or a host that was away left behind.
public enum GarbageCollection {
    public static let defaultAge = 3.0 * 3600

    /// What one host's gc did: the sessions it killed, and those it left (for `removeLeftovers`).
    public struct Result: Equatable, Sendable {
        public var killed: [String] = []
        public var remaining: [SessionRecord] = []
    }

    /// The `ci.` sessions created before `now - age`; a session with no creation time (an
    /// unreachable one) is left alone, as the seed did, and so is one whose name ends in `*`:
    /// `zmx kill` would take it for a pattern and kill every session it prefixes.
    public static func expired(_ sessions: [SessionRecord], now: Int, age: Double) -> [SessionRecord] {
        let cutoff = now - Int(age)
        return sessions.filter { $0.name.hasPrefix("ci.") && !$0.name.hasSuffix("*") && $0.created > 0 && $0.created < cutoff }
    }

    /// Kills the expired sessions of one zmx (one host). Throws ZmxCommand.Failure when zmx
    /// fails; a marker that cannot be written is reported and the rest carry on. `jobTimeout`
    /// is the deadline of jobs that recorded none. Then, once every host has had its turn,
    /// `removeLeftovers` with all the sessions left.
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
        result.remaining = sessions.filter { !killed.contains($0.name) }
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

    /// The recorded jobs nothing is launching, taken BEFORE any host is listed: no pici-run
    /// (or `--dispatch`) runs for them and none waits in the event queue. A job that was
    /// being launched then and is running by the time its host is listed was not one; one
    /// that was over then, and not in a listing made later, is over. (Taken after the
    /// listing, a job launched in between, or a queued event a `--dispatch` was still
    /// copying, would look over and lose its workspace.)
    public static func leftoverCandidates(artifactDir: String) -> [LaunchRecord] {
        let queued = Set(EventQueue.all(artifactDir: artifactDir).map { $0.event.name + "\u{0}" + $0.jobID })
        return Launches.all(artifactDir: artifactDir).compactMap { $0.record }.filter {
            !queued.contains($0.name + "\u{0}" + $0.jobID) && !Launcher.isAlive($0)
        }
    }

    /// Removes the workspace copies, here and on the job's host, of every `candidate` (see
    /// `leftoverCandidates`) that is over: none of its sessions in `remaining` (every
    /// host's, listed after the candidates were taken). A
    /// job whose host could not be listed (`unlisted`) is left for the next gc, and so is,
    /// when any host could not, a job that names none. A published job's record goes once
    /// its copies are gone (also one whose dir --retain removed); an unpublished one's stays
    /// for the monitor pass that publishes it.
    public static func removeLeftovers(artifactDir: String, candidates: [LaunchRecord], remaining: [SessionRecord], unlisted: Set<String> = [], cleaner: inout WorkspaceCleaner, log: RunLog) -> [String] {
        var live = Set<String>()
        for s in remaining { if let r = s.repo, let id = s.jobID { live.insert(r + "\u{0}" + id) } }
        var removed: [String] = []
        for record in candidates {
            guard !live.contains(record.name + "\u{0}" + record.jobID) else { continue }
            if record.host.map({ unlisted.contains($0) }) ?? !unlisted.isEmpty { continue }
            let outcome = cleaner.remove(record)
            removed += outcome.removed
            for problem in outcome.problems + outcome.waiting { log.warn("gc: \(problem)") }
            let published = record.jobRemoved
                || FileSystem.exists(JobArtifacts.artifactsDir(artifactDir: artifactDir, name: record.name, jobID: record.jobID) + "/published.json")
            if outcome.isComplete && published { try? Launches.remove(artifactDir: artifactDir, name: record.name, jobID: record.jobID) }
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
