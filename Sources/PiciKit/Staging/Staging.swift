import Glibc

/// pici-stage's input: every record of the stream with its line number and its bytes as read,
/// read whole before anything is staged because the listing that dates the jobs comes last.
public struct StagingInput {
    /// The bytes are passed on as they came: no record is changed, so none is written anew.
    public var records: [(line: Int, record: Record, bytes: [UInt8])] = []
    /// Lines reported on stderr as not being records.
    public var malformed = 0
    /// The last listing record, if the stream carried one.
    public var listing: ListingRecord?

    public init() {}

    /// Reads the stream on `fd`, reporting each bad line as `line N: WHAT` and skipping it.
    public static func read(fd: Int32 = 0) -> StagingInput {
        var input = StagingInput()
        var lines = LineReader(fd: fd)
        while true {
            let line: LineReader.Line?
            do { line = try lines.next() } catch {
                Diagnostics.error("stdin: \(error)")
                input.malformed += 1
                break
            }
            guard let line else { break }
            switch line {
            case .tooLong(let length):
                input.malformed += 1
                Diagnostics.error("line \(lines.lineNumber): line is \(length) bytes, longer than \(LineReader.maxLineLength)")
            case .text(let bytes):
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                do {
                    let record = try Record.decode(bytes)
                    if case .listing(let l) = record { input.listing = l }
                    input.records.append((lines.lineNumber, record, bytes))
                } catch {
                    input.malformed += 1
                    Diagnostics.error("line \(lines.lineNumber): \(error)")
                }
            }
        }
        return input
    }
}

/// One pici-stage pass over job records: each session's history fetched from zmx when it may
/// have changed and written as `<short>.txt` and `<short>.html` under
/// `DIR/<name>/<job_id>/`, the job's `styles.css`, and the job's open-job state file.
///
/// Incremental: an ended session whose final history pici-stage recorded staging, from the
/// same `ended` and exit code (StagedLogs), and whose two files are there, is not fetched
/// again, so a pass over finished, staged jobs makes no zmx call and writes nothing. A
/// snapshot of a running session is dated one second before the fetch started.
public struct Staging {
    public static let defaultArtifactDir = "/tmp/pici-artifacts"

    public let artifactDir: String
    public let zmx: ZmxCommand
    /// The build hosts: a session is fetched from the host its record names.
    public var hosts: Hosts = .implicit
    /// When the jobs were seen, for their open-job files.
    public let seenAtNanoseconds: Int
    /// The clock for running sessions' durations (`PICI_NOW` in tests).
    public let now: Int

    /// Jobs skipped because a name would not be a safe path component.
    public private(set) var unsafeJobs = 0
    public private(set) var unsafeSessions = 0
    /// Sessions whose history could not be fetched.
    public private(set) var failedFetches = 0
    /// Artifact or state files that could not be written.
    public private(set) var failedWrites = 0
    /// zmx history calls made.
    public private(set) var fetches = 0
    /// How to follow running sessions with `zmx tail` (`StagingFollow.swift`); nil: only
    /// histories.
    public var follow: FollowSettings? = nil
    /// The sessions with a follow dir when the pass first asked (`StagingFollow.swift`).
    var followDirectories: Set<String>? = nil
    /// What `writeFollowedAhead` wrote, by session, for `follow` to take.
    var followedAhead: [String: Result<Bool, any Error>] = [:]
    /// The published jobs found at rest by the last pass (read at the first job), and by
    /// this one (`JobsAtRest`).
    var jobsAtRestBefore: JobsAtRest? = nil
    var jobsAtRest = JobsAtRest()
    /// What every snapshot's print starts from (`snapshotPrint`), made once.
    var snapshotBase: SnapshotPrint?
    /// The directories of files a commit of this pass left out (`afterCommit`).
    var leftOutDirectories: Set<String> = []
    /// Follow directories whose final logs and record wait for a commit (`removeOnceCommitted`).
    var followRemovals: [(dir: FollowDirectory, jobDir: String)] = []

    public init(artifactDir: String, zmx: ZmxCommand, seenAtNanoseconds: Int, now: Int = Clock.nowSeconds()) {
        self.artifactDir = artifactDir
        self.zmx = zmx
        self.seenAtNanoseconds = seenAtNanoseconds
        self.now = now
    }

    private static let stylesBytes = Array(Styles.css.utf8)

    /// Stages one job and reports what failed on stderr. Returns false when the job must not
    /// be passed on: its name or job id is not a safe path component. A session whose name
    /// or step name is unsafe is reported and not staged, but its job still flows, so the job
    /// is published with its real result rather than taken for vanished.
    public mutating func stage(_ job: JobRecord, line: Int? = nil) -> Bool {
        guard var work = begin(job, line: line) else { return false }
        for fetch in work.fetches {
            let fetchStarted = Clock.nowNanoseconds() / 1_000_000_000
            fetches += 1
            store(Result { try fetchHistory(fetch.session.name, host: fetch.session.host) }, of: fetch, in: &work, fetchStarted: fetchStarted)
        }
        finish(&work)
        return true
    }

    /// A job between `begin` and `finish`: the histories it still needs, and how many of
    /// them were written.
    public struct Work {
        public let job: JobRecord
        /// The job's input line, for messages.
        let line: Int?
        let jobDir: String
        /// How messages name the job: `line N: job NAME ID`.
        var label: String { Work.label(job, line: line) }
        static func label(_ job: JobRecord, line: Int?) -> String {
            "\(line.map { "line \($0): " } ?? "")job \(SafeName.quoted(job.name)) \(SafeName.quoted(job.jobID))"
        }
        var dir: DirectoryHandle
        /// The sessions whose history is to be fetched, in the job's order.
        public internal(set) var fetches: [Fetch] = []
        var staged = 0
        /// The sessions whose final history is staged (StagedLogs), and whether this pass
        /// added one.
        var finals: StagedLogs
        var finalsChanged = false
        /// The follow directories of sessions whose final log this pass wrote from them.
        var captures: [FollowDirectory] = []
        /// What its running sessions' logs were last written from, read when first needed.
        var snapshots: RunningSnapshots?
        var snapshotsChanged = false
        /// Whether the job's directory was made (true), could not be (false), or not tried.
        var dirMade: Bool?
        /// The job directory's time before the look (`JobsAtRest`).
        var dirTime: Int?
        /// At rest since the last pass: not looked at.
        var atRest = false
        /// Every session ended and found staged from its final history: nothing to do.
        var allStaged = false
    }

    public struct Fetch {
        public let session: SessionRecord
        public let short: String
    }

    /// Checks the job's names and decides which histories must be fetched (the ended
    /// sessions already staged are not); nil when the job is not to be passed on.
    public mutating func begin(_ job: JobRecord, line: Int? = nil) -> Work? {
        // Made when a message needs it: most jobs have none.
        var label: String { Work.label(job, line: line) }
        do {
            try SafeName.check(job.name)
            try SafeName.check(job.jobID)
        } catch {
            unsafeJobs += 1
            Diagnostics.error("\(label): \(error); job skipped")
            return nil
        }
        let jobDir = artifactDir + "/" + job.name + "/" + job.jobID
        // Only a job whose sessions have all ended can be at rest: no stat for the others.
        let dirTime = job.sessions.allSatisfy(\.hasEnded) ? FileSystem.info(jobDir)?.modifiedNanoseconds : nil
        if jobsAtRestBefore == nil { jobsAtRestBefore = JobsAtRest.read(artifactDir: artifactDir) }
        let ends = dirTime == nil ? nil : JobsAtRest.ends(of: job)
        if let dirTime, jobsAtRestBefore!.holds(job, dirTime: dirTime, ends: ends) {
            jobsAtRest.record(job, dirTime: dirTime, ends: ends)
            var work = Work(job: job, line: line, jobDir: jobDir, dir: DirectoryHandle(path: jobDir), finals: StagedLogs())
            work.atRest = true
            return work
        }
        var work = Work(job: job, line: line, jobDir: jobDir, dir: DirectoryHandle(path: jobDir),
                        finals: job.sessions.contains(where: \.hasEnded) ? StagedLogs.read(jobDir: jobDir) : StagedLogs())
        work.dirTime = dirTime
        var allStaged = !job.sessions.isEmpty
        for s in job.sessions {
            allStaged = allStaged && s.hasEnded && s.status != .unreachable
            let short = SessionFileName.of(s, in: job)
            do {
                try SafeName.check(s.name)  // it becomes an argument of zmx
                try SafeName.check(short)
            } catch {
                unsafeSessions += 1
                Diagnostics.error("\(label): session \(SafeName.quoted(s.name)): \(error); not staged")
                allStaged = false
                continue
            }
            if s.status == .unreachable { continue }
            switch follow(s, short: short, job: job, jobDir: jobDir, label: label) {
            case .written(let wrote):
                if wrote { work.staged += 1 }
                allStaged = false
                continue
            case .fetch:
                work.fetches.append(Fetch(session: s, short: short))
                continue
            case .notFollowed:
                break
            }
            // Staged from this very end before, by pici's own record: not by comparing zmx's
            // `ended` with file times, which may come from another host's clock.
            if work.finals.has(s), work.dir.info(short + ".txt")?.isRegular == true, work.dir.info(short + ".html")?.isRegular == true {
                continue
            }
            work.fetches.append(Fetch(session: s, short: short))
        }
        work.allStaged = allStaged && work.fetches.isEmpty
        // A job dir that cannot be made is reported once and its histories are not fetched
        // for nothing.
        if !work.fetches.isEmpty && !makeJobDir(&work) { work.fetches = [] }
        return work
    }

    /// Made only when something is to be written, and reported once when it cannot be.
    private mutating func makeJobDir(_ work: inout Work) -> Bool {
        if let made = work.dirMade { return made }
        do {
            try FileSystem.makeDirectories(work.jobDir)
            work.dirMade = true
        } catch {
            writeFailed("\(work.label): \(error)")
            work.dirMade = false
        }
        return work.dirMade!
    }

    /// Writes one fetched history as `<short>.txt` and `<short>.html`, or reports why it
    /// could not be fetched. `fetchStarted` (unix seconds) dates a running session's snapshot.
    public mutating func store(_ history: Result<[UInt8], any Error>, of fetch: Fetch, in work: inout Work, fetchStarted: Int) {
        let s = fetch.session
        let fragment: [UInt8]
        switch history {
        case .success(let bytes): fragment = bytes
        case .failure(let error):
            failedFetches += 1
            Diagnostics.error("\(work.label): session \(SafeName.quoted(s.name)): history not staged: \(error)")
            return
        }
        if s.hasEnded { forgetSnapshot(of: s, in: &work) }
        if let written = storeFollowed(fragment, of: s, short: fetch.short, job: work.job, jobDir: work.jobDir, label: work.label) {
            if written {
                work.finals.add(s)
                work.finalsChanged = true
                work.staged += 1
                work.captures.append(FollowDirectory(artifactDir: artifactDir, session: s.name))
            }
            return
        }
        let base = work.jobDir + "/" + fetch.short
        let txt = base + ".txt", html = base + ".html"
        let print = s.hasEnded ? nil : snapshotPrint(of: fragment, session: s, file: fetch.short, job: work.job)
        if let print, wroteBefore(print, of: s, file: fetch.short, in: &work) { return }
        let log = SessionLog(history: fragment, session: s)
        var page = SessionPage(
            job: work.job, session: s, short: Staging.short(of: s, in: work.job), file: fetch.short, log: log.log, now: now)
        page.hiddenLines = log.hiddenLines
        let text = log.text
        do {
            // A running session's snapshot is dated a second before its fetch started.
            let modified = s.hasEnded ? nil : fetchStarted - 1
            try FileSystem.writeAtomically(txt, text, modified: modified)
            try FileSystem.writeAtomically(html, page.bytes, modified: modified)
            if s.hasEnded {
                work.finals.add(s)
                work.finalsChanged = true
            }
            if let print, let modified { remember(print, modified: modified, of: s, in: &work) }
            work.staged += 1
        } catch {
            writeFailed("\(work.label): session \(SafeName.quoted(s.name)): \(error)")
        }
    }

    /// The job's styles.css and open-job file, once its histories are stored.
    public mutating func finish(_ work: inout Work) {
        defer { work.dir.close() }
        if work.atRest { return }
        let job = work.job
        // The job's records of its logs only if none of them was left out of a commit: a pass
        // commits while later jobs are written, so they may follow their logs a commit later.
        // Within one commit they come after them, and a file left out leaves out all after it.
        let logsLanded = !leftOutDirectories.contains(work.jobDir)
        if work.finalsChanged, logsLanded {
            do {
                try work.finals.write(jobDir: work.jobDir)
                for dir in work.captures { removeOnceCommitted(dir, jobDir: work.jobDir) }
            } catch {
                writeFailed("\(work.label): \(error)")
            }
        }
        if work.snapshotsChanged, logsLanded, let snapshots = work.snapshots {
            if snapshots.sessions.isEmpty {
                unlink(RunningSnapshots.path(jobDir: work.jobDir))
            } else {
                do { try snapshots.write(jobDir: work.jobDir) } catch { writeFailed("\(work.label): \(error)") }
            }
        }
        if work.dir.info("styles.css")?.size != Staging.stylesBytes.count, makeJobDir(&work) {
            do {
                try FileSystem.writeAtomically(work.jobDir + "/styles.css", Staging.stylesBytes)
            } catch {
                writeFailed("\(work.label): \(error)")
            }
        }

        // Until pici-publish has published the job, its state file holds the newest record:
        // rewritten while it runs and whenever a session was staged (it may just have ended).
        let published = work.dir.info("artifacts/published.json") != nil
        // Anything this pass changed in the directory changed its time since `dirTime`: the
        // next pass then looks again, and finds it at rest if it is.
        if published, work.allStaged, let dirTime = work.dirTime { jobsAtRest.record(job, dirTime: dirTime) }
        if !published {
            let open = OpenJobs.path(artifactDir: artifactDir, name: job.name, jobID: job.jobID)
            if job.status == .running || work.staged > 0 || FileSystem.info(open) == nil {
                do {
                    try OpenJobs.write(OpenJob(job: job, seenAtNanoseconds: seenAtNanoseconds), artifactDir: artifactDir)
                } catch {
                    writeFailed("\(work.label): \(error)")
                }
            }
        }
    }

    /// Writes `.pici/at-rest` when this pass found other jobs at rest than the last one.
    public func saveJobsAtRest() {
        guard let before = jobsAtRestBefore, before != jobsAtRest else { return }
        jobsAtRest.write(artifactDir: artifactDir)
    }

    /// Counts a history call made on the caller's behalf (`StagingPool`).
    mutating func countFetch() { fetches += 1 }

    /// Set once the artifact dir itself was found unwritable and said so.
    private var unwritableDirSaid = false

    /// Counts a failed write and reports it, unless the artifact dir itself cannot be
    /// written: that is said once a pass, not once for each job and file (a read-only dir
    /// would otherwise print every job's errors on every pass).
    mutating func writeFailed(_ message: String) {
        failedWrites += 1
        if unwritableDirSaid { return }
        if access(artifactDir, W_OK | X_OK) != 0 {
            unwritableDirSaid = true
            Diagnostics.error("\(FileError("cannot write to artifact dir", artifactDir)); nothing is staged this pass")
            return
        }
        Diagnostics.error(message)
    }

    /// After each commit of the pass (`SyncBatch.commit`): reports the files it left out and
    /// remembers their directories, so that no job's record of its logs speaks for one of
    /// them; removes the follow directories whose final logs it committed.
    public mutating func afterCommit(_ failures: [FileError]) {
        for failure in failures {
            writeFailed("\(failure)")
            leftOutDirectories.insert(FileSystem.dirname(failure.path))
        }
        for (dir, jobDir) in followRemovals where !leftOutDirectories.contains(jobDir) { dir.remove() }
        followRemovals = []
    }

    /// The worst of what went wrong: a write failure (73), then malformed input or an unsafe
    /// name (65), then a zmx failure (69).
    public func exitStatus(malformedLines: Int) -> ExitStatus {
        if failedWrites > 0 { return .cannotCreate }
        if malformedLines > 0 || unsafeJobs > 0 || unsafeSessions > 0 { return .dataError }
        if failedFetches > 0 { return .unavailable }
        return .ok
    }

    /// `runner` or the step name: the record's `short`, else what the seed's cleanSessionShort
    /// makes of the session name.
    public static func short(of session: SessionRecord, in job: JobRecord) -> String {
        session.short ?? JobName.cleanShort(session.name, repo: job.name, jobID: job.jobID)
    }

    /// One `zmx history NAME --html`. Empty output is a failure: real zmx exits 0 with nothing
    /// on stdout when the session's daemon does not answer.
    func fetchHistory(_ name: String, host: String? = nil) throws -> [UInt8] {
        let zmx = zmx(on: host)
        return try Staging.history(try zmx.run(Staging.historyArguments(name), cutOK: true), of: name, zmx: zmx)
    }

    /// zmx on the session's host (the local zmx without a hosts file).
    func zmx(on host: String?) -> ZmxCommand {
        guard let host, let h = hosts[host] else { return zmx }
        return ZmxCommand.on(h, local: zmx)
    }

    static func historyArguments(_ name: String) -> [String] { ["history", name, "--html"] }

    /// The fragment of a finished `zmx history NAME --html`, or why there is none.
    static func history(_ result: Spawn.Result, of name: String, zmx: ZmxCommand) throws -> [UInt8] {
        guard !result.stdout.isEmpty else {
            let message = result.stderrText.split(separator: "\n").last.map(String.init) ?? ""
            throw ZmxCommand.Failure(
                command: ([zmx.display, "history", name, "--html"]).joined(separator: " "),
                reason: "printed no history" + (message.isEmpty ? "" : ": \(message)"))
        }
        if result.cut {
            // The log says where it stops, and why.
            return result.stdout + Array("\n[pici: the log is cut here: zmx history printed more than \(Child.captureLimit >> 20) MiB]\n".utf8)
        }
        return result.stdout
    }
}

/// A job's directory, opened once (lazily) so that the files in it are looked up by their
/// short names: a pass over staged jobs is mostly these lookups, and one relative to an open
/// directory costs the kernel far less than one that walks the whole path again.
struct DirectoryHandle {
    let path: String
    /// -2 until the first lookup opens it; -1 when it could not be opened (it may not exist
    /// yet), in which case lookups go by the full path, as before.
    private var fd: Int32 = -2

    init(path: String) { self.path = path }

    /// lstat of `name` in the directory, as FileSystem.info gives it.
    mutating func info(_ name: String) -> FileSystem.Info? {
        if fd == -2 { fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { return FileSystem.info(path + "/" + name) }
        var st = stat()
        guard name.withCString({ fstatat(fd, $0, &st, AT_SYMLINK_NOFOLLOW) }) == 0 else { return nil }
        let type = st.st_mode & S_IFMT
        return FileSystem.Info(
            size: Int(st.st_size),
            modifiedNanoseconds: Int(st.st_mtim.tv_sec) * 1_000_000_000 + Int(st.st_mtim.tv_nsec),
            isDirectory: type == S_IFDIR, isRegular: type == S_IFREG, isSymlink: type == S_IFLNK)
    }

    func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
    }
}
