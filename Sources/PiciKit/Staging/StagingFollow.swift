import Glibc

/// How pici-stage starts followers (see `Follower`): its own executable and the flags a
/// follower needs to call the same zmx. Nil in `Staging.follow` means no following, only
/// histories, as before.
public struct FollowSettings: Sendable {
    public var executable: String
    public var extra: [String]
    /// Where a pass leaves the children that start its followers, to wait for them once at
    /// its end (`finishStarting`); nil: each is waited for at once (pici-run).
    public var starting: Follower.Starting? = nil

    public init(executable: String, extra: [String] = []) {
        self.executable = executable
        self.extra = extra
    }

    /// More followers than this for one session means they cannot run here: fall back to
    /// histories rather than start one every pass.
    static let maxGenerations = 20

    /// Claims `session` and starts its first follower; false when another process had
    /// claimed it or it could not be started (reported). In a pass (`starting`) both happen
    /// at its end, and this says only that it was asked for. `host`: the session's host in the
    /// hosts file, when it is another machine (its follower runs `zmx tail` over ssh).
    /// `clients`: the session's clients in the listing the caller just read, so that the
    /// follower need not list every session once more before its tail starts.
    @discardableResult
    public func start(
        session: String, job: String, jobID: String, short: String, artifactDir: String, host: String? = nil, clients: Int? = nil
    ) -> Bool {
        let dir = FollowDirectory(artifactDir: artifactDir, session: session)
        return begin(dir) {
            guard dir.claim() else { return nil }
            try? FileSystem.writeAtomically(dir.path + "/meta", "\(job)\t\(jobID)\t\(short)\n")
            if let host { try? FileSystem.writeAtomically(dir.path + "/host", host + "\n") }
            return self.claim(1, of: dir, artifactDir: artifactDir, host: host, clients: clients)
        }
    }

    /// Starts follower `n` of a session whose last one died.
    func startGeneration(_ n: Int, of dir: FollowDirectory, artifactDir: String) -> Bool {
        begin(dir) { self.claim(n, of: dir, artifactDir: artifactDir) }
    }

    /// Claims generation `n`: the follower's command line, or nil when another process had.
    /// `host` as given to `start`, else as it wrote it.
    private func claim(_ n: Int, of dir: FollowDirectory, artifactDir: String, host: String? = nil, clients: Int? = nil) -> [String]? {
        guard dir.claim(generation: n) else { return nil }
        var flags = extra
        if let clients { flags += ["--clients", String(clients)] }
        if let host = host ?? (try? FileSystem.readText(dir.path + "/host"))?.split(separator: "\n").first.map(String.init), SafeName.isSafe(host) {
            flags += ["--host", host]
        }
        return Follower.arguments(session: dir.session, generation: n, artifactDir: artifactDir, executable: executable, extra: flags)
    }

    /// Claims and starts now; in a pass (`starting`), both at its end, so that a pass killed
    /// before then leaves no claim whose follower never started.
    private func begin(_ dir: FollowDirectory, _ claim: @escaping () -> [String]?) -> Bool {
        if let starting {
            starting.ask(session: dir.session, claim)
            return true
        }
        guard let argv = claim() else { return false }
        do {
            try Follower.start(argv)
            return true
        } catch {
            Diagnostics.error("session \(SafeName.quoted(dir.session)): cannot start its follower: \(error)")
            return false
        }
    }
}

extension Staging {
    /// In `begin`, for a session that may be followed: starts a running session's follower
    /// (this pass still fetches its history) or, once one runs, writes its log from what the
    /// followers captured, with no zmx call. True when the session needs no fetch now. An
    /// ended session with followers is fetched once more, for zmx's colours and for any end
    /// its follower missed (`storeFollowed`).
    enum Following {
        /// Not followed: staged from its history, as before.
        case notFollowed
        /// Ended with followers: fetch its history once more, whatever the files' dates.
        case fetch
        /// Written (or left as it was) from the followers' capture, with no zmx call.
        case written(Bool)
    }

    mutating func follow(_ s: SessionRecord, short: String, job: JobRecord, jobDir: String, label: String) -> Following {
        guard let settings = follow else { return .notFollowed }
        // A session on another host is followed over the same ssh as every zmx call to it.
        let remote = s.host.flatMap { hosts[$0] }.flatMap { $0.isLocal ? nil : $0.name }
        let dir = FollowDirectory(artifactDir: artifactDir, session: s.name)
        if s.hasEnded {
            guard hadFollowDirectory(s.name) else { return .notFollowed }
            if !dir.waitForEnd(seconds: 2) { dir.stop() }
            return .fetch
        }
        // Written ahead: its dir was seen as below a moment ago, not listed again.
        if let ahead = followedAhead.removeValue(forKey: s.name) { return written(ahead, s, label: label) }
        guard dir.exists else {
            settings.start(session: s.name, job: job.name, jobID: job.jobID, short: short, artifactDir: artifactDir, host: remote, clients: s.clients)
            return .notFollowed
        }
        let generations = dir.generations
        guard generations.count <= FollowSettings.maxGenerations else { return .notFollowed }
        if dir.needsNewFollower {
            // Its follower died: a new one, and the history it takes joins its stream to the
            // old one's where they overlap.
            _ = settings.startGeneration((generations.last ?? 0) + 1, of: dir, artifactDir: artifactDir)
        }
        // Its first follower has not taken its history yet (it gives zmx tail a second to
        // connect; pici-run starts the runner's before any pass): a session with no log yet is
        // staged from its history meanwhile, as on the pass that starts a follower.
        if !dir.hasHead && !FileSystem.exists(jobDir + "/" + short + ".txt") { return .notFollowed }
        return written(Result { try writeFollowed(job: job, session: s, short: short, jobDir: jobDir, dir: dir, history: nil) }, s, label: label)
    }

    private mutating func written(_ result: Result<Bool, any Error>, _ s: SessionRecord, label: String) -> Following {
        switch result {
        case .success(let wrote): return .written(wrote)
        case .failure(let error):
            writeFailed("\(label): session \(SafeName.quoted(s.name)): \(error)")
            return .written(false)
        }
    }

    /// Before the pass walks its records: the logs of the running sessions whose followers
    /// have their head, written on `jobs` threads (`follow` takes each result). In a pass with
    /// followers this is most of the work, and it ran on one core (189 sessions: ~120 ms).
    /// Only what `follow` would write as it is; a session whose follower must be started again
    /// is left to it.
    mutating func writeFollowedAhead(_ records: [InputRecord], jobs: Int) {
        guard follow != nil, jobs > 1 else { return }
        var tasks: [(job: JobRecord, session: SessionRecord, short: String, jobDir: String, dir: FollowDirectory)] = []
        for (_, record, _) in records {
            guard case .job(let job) = record, SafeName.isSafe(job.name), SafeName.isSafe(job.jobID) else { continue }
            let jobDir = artifactDir + "/" + job.name + "/" + job.jobID
            for s in job.sessions where !s.hasEnded && s.status != .unreachable && SafeName.isSafe(s.name) {
                let short = SessionFileName.of(s, in: job)
                let dir = FollowDirectory(artifactDir: artifactDir, session: s.name)
                guard SafeName.isSafe(short), dir.hasHead, dir.generations.count <= FollowSettings.maxGenerations, !dir.needsNewFollower
                else { continue }
                tasks.append((job, s, short, jobDir, dir))
            }
        }
        guard tasks.count > 1 else { return }
        let results = UnsafeMutableBufferPointer<Result<Bool, any Error>?>.allocate(capacity: tasks.count)
        results.initialize(repeating: nil)
        defer {
            _ = results.deinitialize()
            results.deallocate()
        }
        let staging = self
        Parallel.forEach(tasks.count, threads: jobs) { i in
            let t = tasks[i]
            results[i] = Result { try staging.writeFollowed(job: t.job, session: t.session, short: t.short, jobDir: t.jobDir, dir: t.dir, history: nil) }
        }
        for (i, t) in tasks.enumerated() { followedAhead[t.session.name] = results[i] }
    }

    /// Whether an ended session's follow dir was there when the pass first asked: one listing
    /// a pass, not a stat for every ended session (a fifth of an all-finished pass). One made
    /// since is found by `storeFollowed`, which looks again.
    mutating func hadFollowDirectory(_ session: String) -> Bool {
        if followDirectories == nil { followDirectories = Set(FileSystem.list(FollowDirectory.root(artifactDir: artifactDir))) }
        return followDirectories!.contains(session)
    }

    /// In `store`, for an ended session with followers: its final log from their capture and
    /// the last history; the follow dir goes once written. Nil when it has no followers, else
    /// whether its log was written (a failure is reported).
    mutating func storeFollowed(_ fragment: [UInt8], of s: SessionRecord, short: String, job: JobRecord, jobDir: String, label: String) -> Bool? {
        guard follow != nil, s.hasEnded else { return nil }
        let dir = FollowDirectory(artifactDir: artifactDir, session: s.name)
        guard dir.exists else { return nil }
        guard dir.hasHead else {
            // Its follower saw nothing before it connected: the history is all there is.
            dir.remove()
            return nil
        }
        do {
            // The capture stays until the job's record of this final log is committed (`finish`).
            _ = try writeFollowed(job: job, session: s, short: short, jobDir: jobDir, dir: dir, history: fragment)
            return true
        } catch {
            writeFailed("\(label): session \(SafeName.quoted(s.name)): \(error)")
            return false
        }
    }

    /// A capture goes only once the final log written from it, and the job's record of that
    /// log (`.pici-staged.json`), are committed: a kill -9 or a failed commit before then
    /// leaves it for the next pass, which writes the log again from it. Without the record
    /// the next pass would take the session for one never followed, and write its log from
    /// the last history alone.
    mutating func removeOnceCommitted(_ dir: FollowDirectory, jobDir: String) {
        if SyncBatch.isOpen { followRemovals.append((dir, jobDir)) } else { dir.remove() }
    }

    /// Ends the followers of sessions that are gone (killed, cancelled, collected): their
    /// `zmx tail` may not notice. Their logs are written once more from what was captured.
    /// Only after a complete listing: absence means something only then.
    public mutating func sweepFollowers(present: Set<String>) {
        let root = FollowDirectory.root(artifactDir: artifactDir)
        for name in FileSystem.list(root) where !present.contains(name) && !name.hasPrefix(".") {
            let dir = FollowDirectory(artifactDir: artifactDir, session: name)
            dir.stop()
            if let meta = try? FileSystem.readText(dir.path + "/meta") {
                let f = meta.split(separator: "\n").first?.split(separator: "\t").map(String.init) ?? []
                if f.count == 3, f.allSatisfy(SafeName.isSafe),
                   let open = try? OpenJobs.read(path: OpenJobs.path(artifactDir: artifactDir, name: f[0], jobID: f[1])),
                   let session = open.job.sessions.first(where: { $0.name == name }) {
                    let jobDir = artifactDir + "/" + f[0] + "/" + f[1]
                    do { _ = try writeFollowed(job: open.job, session: session, short: f[2], jobDir: jobDir, dir: dir, history: nil, force: true) } catch {
                        // The capture is the log's only whole copy: kept for the next pass.
                        writeFailed("session \(SafeName.quoted(name)): \(error)")
                        continue
                    }
                }
            }
            dir.remove()
        }
    }

    /// The followers' shared listings (`SharedListing`) go with the last of them, at the end
    /// of a pass (after its sweep and its final logs).
    public func removeIdleListings() {
        let root = FollowDirectory.root(artifactDir: artifactDir)
        let left = FileSystem.list(root)
        guard !left.contains(where: { !$0.hasPrefix(".") }) else { return }
        for name in left where name.hasPrefix(".listing-") && !name.hasSuffix(".taking") { unlink(root + "/" + name) }
    }

    /// Writes `<short>.txt` and `.html` from the followers' capture (and the final history
    /// when given), unless nothing changed since the last time. True when written.
    func writeFollowed(
        job: JobRecord, session s: SessionRecord, short: String, jobDir: String, dir: FollowDirectory,
        history: [UInt8]?, force: Bool = false
    ) throws -> Bool {
        let generations = dir.generations
        let signature = generations.map { n in
            "\(n):" + ["head", "bridge", "stream"].map { "\(FileSystem.info(dir.generation(n) + "/" + $0)?.size ?? -1)" }.joined(separator: ":")
        }.joined(separator: " ") + (history == nil ? "" : " final") + "\n"
        let txt = jobDir + "/" + short + ".txt", html = jobDir + "/" + short + ".html"
        guard dir.hasHead else { return false }
        if !force, history == nil, (try? FileSystem.readText(dir.path + "/composed")) == signature, FileSystem.exists(txt) {
            return false
        }
        try FileSystem.makeDirectories(jobDir)
        let masker = Masking.active
        let file = try AtomicFile(txt)
        var composer = LogComposer(fd: file.fd, hex: nil)
        for (i, n) in generations.enumerated() {
            var head: [String] = []
            if let bytes = try? FileSystem.readFile(dir.generation(n) + "/head") {
                head = LogCleaner.rows(String(decoding: bytes, as: UTF8.self))
            }
            // An empty head: nothing known of what came before the stream.
            if i == 0 { composer.headLost = head.first.map { LogCleaner.typedLineEnd(Array($0.utf8)) == nil } ?? true }
            composer.add(head, gapIfNoOverlap: i > 0)
            // A head taken after the tail connected is followed by the stream, overlapping or
            // not; one taken before it is proven has a bridge, taken after the stream's first
            // bytes, and each must begin inside what came before it, or rows were lost there
            // and the log says so (`FollowCapture`).
            let bridge = try? FileSystem.readFile(dir.generation(n) + "/bridge")
            if let bridge { composer.add(LogCleaner.rows(String(decoding: bridge, as: UTF8.self)), gapIfNoOverlap: true) }
            composer.add(streamFile: dir.generation(n) + "/stream", gapIfNoOverlap: bridge != nil)
        }
        var rows: HistoryRows? = nil
        if let history {
            let r = HistoryRows(fragment: history)
            rows = r
            if !composer.endsWithMarker(exitCode: s.exitCode) {
                composer.add(r.plainLines.map { masker.mask($0) }, gapIfNoOverlap: true)
            }
        }
        let end = composer.finish(exitCode: s.exitCode)
        guard end.error == 0 else {
            file.abandon()
            throw FileError("write", txt, end.error)
        }
        try file.commit()
        var page = SessionPage(
            job: job, session: s, short: Staging.short(of: s, in: job), file: short,
            log: LogFragment.log(lines: end.lines, history: rows, masker: masker), now: now)
        page.hiddenLines = max(0, composer.written - end.lines.count)
        try FileSystem.writeAtomically(html, page.bytes)
        try? FileSystem.writeAtomically(dir.path + "/composed", signature)
        return true
    }
}
