/// The seed's runGC: kill every `ci.` session created more than an age ago (3 h by default),
/// running or not, in one `zmx kill`. Each job that lost sessions this way and was never
/// published is marked cancelled (reason `gc`), so pici-publish reports it as such.
public enum GarbageCollection {
    public static let defaultAge = 3.0 * 3600

    /// The `ci.` sessions created before `now - age`; a session with no creation time (an
    /// unreachable one) is left alone, as the seed did, and so is one whose name ends in `*`:
    /// `zmx kill` would take it for a pattern and kill every session it prefixes.
    public static func expired(_ sessions: [SessionRecord], now: Int, age: Double) -> [SessionRecord] {
        let cutoff = now - Int(age)
        return sessions.filter { $0.name.hasPrefix("ci.") && !$0.name.hasSuffix("*") && $0.created > 0 && $0.created < cutoff }
    }

    /// Kills the expired sessions; returns their names. Throws ZmxCommand.Failure when zmx
    /// fails; a marker that cannot be written is reported and the rest carry on.
    public static func run(zmx: ZmxCommand, environment: [String], artifactDir: String, age: Double, now: Int = Clock.nowSeconds(), log: RunLog) throws -> [String] {
        log.debug("running garbage collection")
        pruneJobMasks(artifactDir: artifactDir, now: now, age: age)
        let listing = try zmx.run(["list"], environment: environment)
        let old = expired(ZmxList.parse(listing.stdout).sessions, now: now, age: age)
        for s in old { log.debug("session expired, scheduling for gc", [("session", s.name), ("created", String(s.created))]) }
        guard !old.isEmpty else {
            log.debug("no sessions to garbage collect")
            return []
        }
        let names = old.map(\.name)
        _ = try zmx.run(["kill"] + names, environment: environment)
        var marked: Set<String> = []
        for s in old {
            guard let repo = s.repo, let jobID = s.jobID, SafeName.isSafe(repo), !marked.contains(repo + "\u{0}" + jobID) else { continue }
            marked.insert(repo + "\u{0}" + jobID)
            let jobDir = JobArtifacts.jobDir(artifactDir: artifactDir, name: repo, jobID: jobID)
            // Only jobs this artifact dir knows, and only while their status is unpublished.
            guard FileSystem.isDirectory(jobDir),
                  !FileSystem.exists(jobDir + "/artifacts/published.json"),
                  !FileSystem.exists(jobDir + "/artifacts/cancelled.json")
            else { continue }
            do {
                try Cancel.writeMarker(artifactDir: artifactDir, name: repo, jobID: jobID, reason: .gc, at: now)
            } catch {
                log.warn("gc: \(error)")
            }
        }
        log.debug("garbage collection complete", [("killed", String(names.count))])
        return names
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
