/// `pici-run --gc --retain N` and `--retain-age DUR`: published jobs beyond the newest N of
/// their repository, or that ended longer ago than DUR, are removed from the artifact dir,
/// and the front page is written again without them. A job not yet published is never
/// removed. A job dir is renamed out of sight (`.removing.<job_id>`) before it is deleted, so
/// a crash half-way leaves nothing the pages or a later pass take for a job; gc deletes it.
public enum Retention {
    public struct Policy: Equatable, Sendable {
        public var keep: Int?
        public var maxAge: Double?

        public init(keep: Int? = nil, maxAge: Double? = nil) {
            self.keep = keep
            self.maxAge = maxAge
        }

        public init(_ args: Arguments) throws {
            if let text = args.value("retain") {
                guard let n = Int(text), n >= 0 else {
                    throw Arguments.UsageError(message: "--retain: \(SafeName.quoted(text)) is not a number of jobs")
                }
                keep = n
            }
            if args.value("retain-age") != nil {
                let age = try args.duration("retain-age", default: 0)
                guard age > 0 else { throw Arguments.UsageError(message: "--retain-age must be more than 0") }
                maxAge = age
            }
        }

        public var isSet: Bool { keep != nil || maxAge != nil }
    }

    /// The published jobs the policy removes. Pure.
    public static func expired(_ entries: [TopIndex.Entry], policy: Policy, now: Int) -> [TopIndex.Entry] {
        var byRepo: [String: [TopIndex.Entry]] = [:]
        for e in entries { byRepo[e.name, default: []].append(e) }
        var out: [TopIndex.Entry] = []
        for name in byRepo.keys.sorted() {
            for (i, e) in byRepo[name]!.sorted(by: TopIndex.newestFirst).enumerated() {
                let tooMany = policy.keep.map { i >= $0 } ?? false
                let ended = e.endedAt.flatMap(TimeFormat.parseRFC3339)
                let tooOld = policy.maxAge.map { age in ended.map { Double(now - $0) > age } ?? false } ?? false
                if tooMany || tooOld { out.append(e) }
            }
        }
        return out
    }

    /// Applies the policy; returns `name/job_id` of each job removed.
    /// A job's workspace copy on its host goes too; one on a host that is away keeps the
    /// job's launch record, from which the next monitor pass or gc removes it. A job that
    /// still has sessions (`live`, as gc found them, `name\0job_id`; kept for `--keep`) stays
    /// until they are gone: a pass would stage it again and publish it a second time. So does
    /// one that may have sessions on a host gc could not list (`unlisted`).
    public static func run(
        _ policy: Policy, artifactDir: String, hosts: Hosts = .implicit, live: Set<String> = [], unlisted: Set<String> = [],
        now: Int = Clock.nowSeconds()
    ) throws -> [String] {
        let root = artifactDir
        // Under pici-publish's lock: a pass must not publish into, or index, a dir going away.
        try FileSystem.makeDirectories(root + "/.pici")
        let lock = try FileLock(path: root + "/.pici/lock")
        defer { lock.release() }
        removeLeftovers(artifactDir: root)
        let published = TopIndex.scan(artifactDir: root, live: [])
        var removed: [String] = []
        var cleaner = WorkspaceCleaner(hosts: hosts)
        for e in expired(published, policy: policy, now: now) {
            if live.contains(e.name + "\u{0}" + e.jobID) { continue }
            let record = Launches.read(artifactDir: root, name: e.name, jobID: e.jobID)
            if let record, record.host.map({ unlisted.contains($0) }) ?? !unlisted.isEmpty { continue }
            // Before its dir goes, its launch record (if any) says the job was published:
            // without published.json, a record with no job would read as a launch that died.
            if var record, !record.jobRemoved {
                record.jobRemoved = true
                try Launches.write(record, artifactDir: root)
            }
            let dir = JobArtifacts.jobDir(artifactDir: root, name: e.name, jobID: e.jobID)
            let hidden = JobArtifacts.jobDir(artifactDir: root, name: e.name, jobID: ".removing." + e.jobID)
            try FileSystem.move(dir, hidden)
            // Whatever else names the job goes with it: its pending sync, its launch record
            // (after its workspace copies; one on a host that is away keeps it), its open-job
            // file should one be left.
            try? FileSystem.remove(root + "/.pici/sync/" + e.name + "." + e.jobID)
            if let record {
                let outcome = cleaner.remove(record)
                for problem in outcome.problems + outcome.waiting { Diagnostics.error(problem) }
                if outcome.isComplete { try? Launches.remove(artifactDir: root, name: e.name, jobID: e.jobID) }
            }
            try? OpenJobs.remove(artifactDir: root, name: e.name, jobID: e.jobID)
            removeTree(hidden)
            removed.append(e.name + "/" + e.jobID)
        }
        if !removed.isEmpty {
            let live = OpenJobs.all(artifactDir: root).compactMap { file in file.job.map { TopIndex.Entry(job: $0.job) } }
            try FileSystem.writeAtomically(root + "/index.html", TopIndex.html(TopIndex.scan(artifactDir: root, live: live), now: now))
        }
        return removed
    }

    /// Deletes what an earlier run renamed and did not get to delete.
    static func removeLeftovers(artifactDir: String) {
        for repo in FileSystem.list(artifactDir) where SafeName.isSafe(repo) {
            let repoDir = artifactDir + "/" + repo
            for entry in FileSystem.list(repoDir) where entry.hasPrefix(".removing.") { removeTree(repoDir + "/" + entry) }
        }
    }

    static func removeTree(_ path: String) {
        _ = try? Spawn.run(["rm", "-rf", "--", path], stdout: .discard, stderr: .discard, timeout: 600)
    }
}
