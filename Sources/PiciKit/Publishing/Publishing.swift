import Glibc

/// One pici-publish pass over the job records of a monitor pass: job index pages, the
/// terminal status of each finished or vanished job published exactly once, rsync of the
/// artifact tree, and the front page.
///
/// Exactly once: a terminal status is committed by writing it to the outbox
/// (`.pici/outbox/<name>.<job_id>.json`); the sentinel, the index, the printing of the line
/// and the removal of the outbox entry and of the open-job file follow, with SIGINT, SIGTERM
/// and SIGHUP blocked. Every pass starts, under the artifact dir's lock, by finishing every
/// entry left in the outbox by a pass that died, so a committed line is never lost; and a job
/// with a sentinel is never committed again, so it is never printed twice — except when a
/// pass is killed between writing the line and removing its entry, and stdout is not a
/// regular file in which the line can be found again.
public final class Publisher {
    public struct Options: Sendable {
        public var artifactDir: String
        public var human = false
        public var includeRunning = false
        /// rsync each job's directory to its event's `artifact_dest` (off with `--no-sync`).
        public var sync = true
        /// Run the rsyncs in the pass, after its lines are out; false leaves them to a
        /// `pici-publish --sync-loop` running beside the passes (`--sync-later`).
        public var syncInline = true
        public var artifactSync = ArtifactSync()
        /// `--site-dest`: where the whole tree goes, laid out as here (SiteSync.swift).
        public var siteDest: String? = nil
        /// The test hook `PICI_FAULT`: `after-outbox`, `after-sentinel` or `after-print` makes
        /// the process `_exit(137)` right after that step, as a SIGKILL would; `mid-print`
        /// after writing the first half of the line.
        public var fault: String? = nil

        public init(artifactDir: String) { self.artifactDir = artifactDir }
    }

    public static let defaultArtifactDir = "/tmp/pici-artifacts"
    public static let faultPoints = ["after-outbox", "after-sentinel", "mid-print", "after-print"]

    let options: Options
    let out = Output.standard
    /// Unix seconds for every time this pass writes (`PICI_NOW` in tests).
    let now: Int
    let tty: Bool
    let colour: Bool

    /// The worst outcome so far.
    public private(set) var status: ExitStatus = .ok
    /// How many terminal statuses this pass printed.
    public private(set) var published = 0
    private var changed = false
    var live: [TopIndex.Entry] = []
    var humanRunning: [String] = []
    var events: [String: Event?] = [:]
    /// This pass's listing record: only a listing complete for a job's host makes its
    /// terminal status final (a listing cut short, or with a line it could not pin on a
    /// session, may lack a failed step of a job that looks finished).
    var listing: ListingRecord? = nil

    public init(options: Options, now: Int = Clock.nowSeconds()) {
        self.options = options
        self.now = now
        tty = Terminal.isTerminal(1)
        colour = Terminal.colourAllowed()
    }

    // MARK: Paths

    var root: String { options.artifactDir }
    var stateDir: String { root + "/.pici" }
    var outboxDir: String { stateDir + "/outbox" }
    var syncDir: String { stateDir + "/sync" }
    var lockPath: String { stateDir + "/lock" }
    func jobDir(_ name: String, _ id: String) -> String { root + "/" + name + "/" + id }
    func artifactsDir(_ name: String, _ id: String) -> String { jobDir(name, id) + "/artifacts" }
    func sentinelPath(_ name: String, _ id: String) -> String { artifactsDir(name, id) + "/published.json" }
    func cancelledPath(_ name: String, _ id: String) -> String { artifactsDir(name, id) + "/cancelled.json" }
    func outboxPath(_ name: String, _ id: String) -> String { outboxDir + "/" + StateFileName.of(name: name, jobID: id) + ".json" }
    func syncMarkerPath(_ name: String, _ id: String) -> String { syncDir + "/" + StateFileName.of(name: name, jobID: id) }
    static func key(_ name: String, _ id: String) -> String { name + "\u{0}" + id }

    // MARK: The pass

    /// What `take` leaves to `end`, in input order: the lines go out in the stream's order.
    enum Pending {
        /// Running, its pages written: only its running line (`--include-running`) is left.
        case running(JobRecord)
        /// Anything else (finished and not at rest, timed out, published before): all of it
        /// is left, since a terminal status is final only once the stream's listing is read.
        /// A finished job's times were taken as it came (`SettledJobs.Times`).
        case job(JobRecord, times: SettledJobs.Times?)
    }

    /// The pass's state between `begin` and `end`.
    struct PassState {
        var lock: FileLock? = nil
        /// Whether the lines of `--human --include-running` the last pass left on the screen
        /// were erased (just before this pass first prints).
        var erased = false
        var pending: [Pending] = []
        /// The jobs of the stream, by their state files' names (`StateFileName`).
        var inStream: [String: (name: String, jobID: String)] = [:]
        var settledBefore = SettledJobs()
        var settled = SettledJobs()
        /// The jobs published before, for the front page, read while the stream comes once a
        /// running job says the page will be written (`TopIndex.published`); and the jobs
        /// published since.
        var published: [TopIndex.Entry]? = nil
        var publishedNow: [(String, String)] = []
    }
    var pass = PassState()

    /// Starts a pass, before its first record: the lock, and what a pass that died left.
    /// The lock is held from here to the end of the pass, so also while the stages before
    /// this one still work: another pici-publish on the same directory waits that long.
    public func begin() throws {
        try FileSystem.makeDirectories(outboxDir)
        try FileSystem.makeDirectories(syncDir)
        let lock = try FileLock(path: lockPath)
        pass.lock = lock
        do { try beginLocked() } catch {
            lock.release()
            pass.lock = nil
            throw error
        }
    }

    private func beginLocked() throws {
        // The head of a line a pass killed mid-write left in a stdout file goes first, so
        // that what this pass writes starts on a line of its own.
        let cut = WholeLines.cutPartialLastLine(1)
        if cut > 0 { Diagnostics.error("stdout: removed the first \(cut) bytes of a line a killed pass left unfinished") }

        // The running lines a person sees are erased just before this pass first prints
        // (here only when a dead pass's lines are to be printed again), not while it reads:
        // a pass takes as long as its records take to come.
        if redraw, FileSystem.list(outboxDir).contains(where: { $0.hasSuffix(".json") && !$0.hasPrefix(".") }) { try eraseRunningLines() }
        try recoverOutbox()
        for dir in [root, stateDir, outboxDir, syncDir, OpenJobs.directory(artifactDir: root)] { TempFiles.removeLeftovers(in: dir) }

        // The jobs at rest (`SettledJobs`); the file keeps only the jobs of this stream.
        pass.settledBefore = SettledJobs.read(artifactDir: root)
    }

    /// One job record of the stream, as it comes. A running job's pages are written at once,
    /// while the stages before this one still work; the rest waits for `end`.
    public func take(_ job: JobRecord) {
        do {
            try SafeName.check(job.name)
            try SafeName.check(job.jobID)
        } catch {
            report(.dataError, "job \(SafeName.quoted(job.name)) \(SafeName.quoted(job.jobID)): \(error); skipped")
            return
        }
        pass.inStream[StateFileName.of(name: job.name, jobID: job.jobID)] = (job.name, job.jobID)
        if job.status.isTerminal {
            // Published jobs at rest are not looked at again (`SettledJobs`).
            let key = SettledJobs.key(job.name, job.jobID)
            let times = SettledJobs.Times(jobDir: jobDir(job.name, job.jobID))
            if let times, pass.settledBefore.isSettled(key, times) {
                pass.settled.record(key, times)
                return
            }
            pass.pending.append(.job(job, times: times))
        } else if prepareRunning(job) {
            pass.pending.append(.running(job))
        } else {
            pass.pending.append(.job(job, times: nil))
        }
    }

    /// Ends the pass once the stream has: the terminal statuses (with `listing`, the stream's
    /// listing record, if it carried one: only a complete listing lets a job missing from the
    /// stream be declared vanished), the front page, and the syncs.
    public func end(listing: ListingRecord?, malformedInput: Bool = false) throws -> ExitStatus {
        defer { pass.lock?.release() }
        if malformedInput { worsen(.dataError) }
        self.listing = listing
        try eraseRunningLines()
        for pending in pass.pending {
            switch pending {
            case .running(let job):
                // pici-stage's reaper kills a job at its deadline after handing on its record
                // (its logs staged first): published in this pass, as when it is read late.
                if FileSystem.info(JobEnding.timeoutPath(artifactDir: root, name: job.name, jobID: job.jobID)) != nil,
                   let ending = JobEnding.read(artifactDir: root, name: job.name, jobID: job.jobID), ending.status == .timeout {
                    live.removeAll { $0.name == job.name && $0.jobID == job.jobID }
                    try publish(ending.applied(to: job))
                } else {
                    try printRunning(job)
                }
            case .job(let job, let times): try decide(job, times: times)
            }
        }
        pass.pending = []
        if pass.settled.jobs != pass.settledBefore.jobs { pass.settled.write(artifactDir: root) }
        try settleOpenJobs(inStream: pass.inStream, listing: listing)
        try showQueue()

        // At a terminal each line is cut to its width: one row a line, as the next pass
        // erases them (the last column is left free, as a terminal may wrap on it).
        let columns = redraw ? Terminal.columns(1) : 0
        if columns > 0 { humanRunning = humanRunning.map { DisplayWidth.fit($0, columns: columns - 1) } }
        let text = humanRunning.isEmpty ? "" : humanRunning.joined(separator: "\n") + "\n"
        if redraw {
            // Drawn and counted together, so that `RunningLines.printAbove` erases all of them
            // or none, and draws them again.
            var failure: (any Error)?
            try RunningLines.locked(stateDir: stateDir) {
                try out.write(text)
                try out.flush()
                do { try RunningLines.setDrawn(text, count: humanRunning.count, stateDir: stateDir) } catch { failure = error }
            }
            // Said once the lock is free: the message may go through `printAbove`, which
            // waits for it.
            if let failure { report(.cannotCreate, "\(failure)") }
        } else if !text.isEmpty {
            try out.write(text)
        }
        writeTopIndex()
        try out.flush()
        // Only now: no line waits for an rsync.
        if options.sync && options.syncInline { runSync() }
        return status
    }

    /// Whether running lines are redrawn: a person at a terminal.
    var redraw: Bool { options.human && options.includeRunning && tty }

    /// Erases the lines the last pass left, as many as are on the screen now: none when
    /// something was printed above them since (`RunningLines.printAbove`).
    func eraseRunningLines() throws {
        guard redraw, !pass.erased else { return }
        pass.erased = true
        var failure: (any Error)?
        try RunningLines.locked(stateDir: stateDir) {
            let lines = RunningLines.count(stateDir: stateDir)
            guard lines > 0 else { return }
            try out.write(HumanOutput.erase(lines: lines))
            // Gone from the screen: a pass stopped before it prints its own must not erase
            // again, over what came since.
            try out.flush()
            do { try RunningLines.setCount(0, stateDir: stateDir) } catch { failure = error }
        }
        if let failure { report(.cannotCreate, "\(failure)") }
    }

    /// A job finished and not at rest, or running but published before or killed at its
    /// deadline.
    func decide(_ job: JobRecord, times: SettledJobs.Times?) throws {
        // What a killed writer left in the job's directory; a write still going in
        // pici-stage has a live writer and stays.
        let left = TempFiles.sweep(in: jobDir(job.name, job.jobID)).left + TempFiles.sweep(in: artifactsDir(job.name, job.jobID)).left
        if job.status.isTerminal {
            if try finished(job), left == 0, let times { pass.settled.record(SettledJobs.key(job.name, job.jobID), times) }
        } else {
            try running(job)
        }
    }

    /// A job whose sessions have all ended: published unless its sentinel says it was. True
    /// when it was published before and its pages show its result: it is at rest.
    @discardableResult
    func finished(_ job: JobRecord) throws -> Bool {
        let dir = jobDir(job.name, job.jobID)
        let sentinel = dir + "/artifacts/published.json"  // sentinelPath, with the dir made once
        if FileSystem.exists(sentinel) {
            // A published job's pages are made again until they show its result: missing, or
            // still "running" when the disk filled up between the sentinel and the index.
            var shown = job
            if let s = readSentinelStatus(sentinel) { shown.status = s }
            if pagesShow(shown, in: dir) { return true }
            renderIndex(shown)
            return false
        }
        guard listing?.isComplete(forHost: job.host) == true else {
            // Not final yet: shown as running until a complete listing confirms it.
            var undecided = job
            undecided.status = .running
            undecided.exitCode = nil
            try running(undecided)
            return false
        }
        try publish(JobEnding.read(artifactDir: root, name: job.name, jobID: job.jobID)?.applied(to: job) ?? job)
        return false
    }

    func running(_ job: JobRecord) throws {
        // A job already published (as lost, say) that shows up again stays published.
        if FileSystem.exists(sentinelPath(job.name, job.jobID)) { return }
        // Killed at its deadline this pass (pici-stage staged its logs first): published now.
        if let ending = JobEnding.read(artifactDir: root, name: job.name, jobID: job.jobID), ending.status == .timeout {
            return try publish(ending.applied(to: job))
        }
        renderRunning(job)
        try printRunning(job)
    }

    /// `running` ahead of the stream's end, without the line: false, with nothing done, for a
    /// job published already (it stays so) or killed at its deadline (`running` publishes it).
    func prepareRunning(_ job: JobRecord) -> Bool {
        if FileSystem.exists(sentinelPath(job.name, job.jobID)) { return false }
        if let ending = JobEnding.read(artifactDir: root, name: job.name, jobID: job.jobID), ending.status == .timeout { return false }
        // What a killed writer left in the job's directory; a write still going in
        // pici-stage has a live writer and stays.
        _ = TempFiles.sweep(in: jobDir(job.name, job.jobID))
        _ = TempFiles.sweep(in: artifactsDir(job.name, job.jobID))
        renderRunning(job)
        return true
    }

    /// A running job's pages, and its place on the front page and in the syncs.
    func renderRunning(_ job: JobRecord) {
        if pass.published == nil { pass.published = TopIndex.published(artifactDir: root) }
        live.append(TopIndex.Entry(job: job))
        renderIndex(job)
        if options.sync { markForSync(job.name, job.jobID) }
    }

    /// Its running line, with `--include-running`.
    func printRunning(_ job: JobRecord) throws {
        guard options.includeRunning else { return }
        if options.human {
            humanRunning += HumanOutput.runningLines(job: job, now: now, colour: colour)
        } else {
            try out.writeLine(StatusLine.bytes(for: job, timestamp: Clock.nowSeconds()))
        }
    }

    /// Open jobs (staged, not yet published) that this stream did not carry: vanished, when a
    /// complete listing taken after they were last seen proves it. The files of the jobs in
    /// the stream are not read, since nothing is done with them: only one left behind by a
    /// job published already goes.
    func settleOpenJobs(inStream: [String: (name: String, jobID: String)], listing: ListingRecord?) throws {
        for (name, path) in OpenJobs.files(artifactDir: root) {
            if let job = inStream[name] {
                // Published already; a stage running beside a publish can leave this behind.
                if FileSystem.exists(sentinelPath(job.name, job.jobID)) {
                    do { try FileSystem.remove(path) } catch { report(.cannotCreate, "\(error)") }
                }
                continue
            }
            guard let open = try? OpenJobs.read(path: path) else {
                report(.dataError, "\(path): not a readable open-job file; left alone")
                continue
            }
            let job = open.job
            guard SafeName.isSafe(job.name), SafeName.isSafe(job.jobID) else {
                report(.dataError, "\(path): unsafe job name \(SafeName.quoted(job.name)) \(SafeName.quoted(job.jobID)); left alone")
                continue
            }
            if FileSystem.exists(sentinelPath(job.name, job.jobID)) {
                // Published already; a stage running beside a publish can leave this behind.
                do { try FileSystem.remove(path) } catch { report(.cannotCreate, "\(error)") }
                continue
            }
            if inStream[StateFileName.of(name: job.name, jobID: job.jobID)] != nil { continue }
            // With several hosts, absence is proved host by host: a host that did not answer
            // proves nothing about its jobs. A job that never had a session (it failed before
            // launch) needs no listing to prove it gone.
            let neverRan = job.status.isTerminal && job.sessions.isEmpty
            let proved = listing.map { $0.isComplete(forHost: job.host) && open.seenAtNanoseconds < $0.instantNanoseconds } ?? false
            guard neverRan || proved else {
                live.append(TopIndex.Entry(job: job))
                continue
            }
            TempFiles.removeLeftovers(in: jobDir(job.name, job.jobID))
            TempFiles.removeLeftovers(in: artifactsDir(job.name, job.jobID))
            var gone = job
            if let ending = JobEnding.read(artifactDir: root, name: job.name, jobID: job.jobID) {
                gone = ending.applied(to: job)
                if ending.status == .cancelled { gone.exitCode = nil }
            } else if !job.status.isTerminal {
                gone.status = .lost
                gone.exitCode = nil
            }
            // A job last staged as finished keeps the outcome it was seen with.
            try publish(gone)
        }
    }

    // MARK: Publishing, exactly once

    /// Commits `job` (its terminal status set) to the outbox and carries the commit through.
    func publish(_ job: JobRecord) throws {
        try out.flush()
        collectOwnArtifacts(job.name, job.jobID)
        // The moment it is printed (the print follows the commit at once), not the pass's start.
        let line = StatusLine.object(for: job, timestamp: Clock.nowSeconds())
        let text: String
        if options.human {
            text = HumanOutput.finalBlock(job: job, workspace: event(job.name, job.jobID)?.workspace, artifactDir: root, colour: colour)
        } else {
            text = JSONSerializer.string(.object(line)) + "\n"
        }
        let entry = OutboxEntry(status: line, job: job, text: text, human: options.human, mark: StdoutMark.current())
        let outbox = outboxPath(job.name, job.jobID)
        do {
            let saved = Signals.blockStops()
            defer { Signals.restore(saved) }
            do {
                try FileSystem.writeAtomically(outbox, entry.bytes)
            } catch {
                report(.cannotCreate, "job \(job.name) \(job.jobID): \(error); its status will be published by a later pass")
                return
            }
            fault("after-outbox")
            _ = try complete(entry, outbox: outbox, recovering: false)
        }
    }

    /// Steps (c) to (g) of a commit: sentinel, index, sync marker, the line on stdout, then
    /// the outbox entry and the open-job file removed. False when the sentinel could not be
    /// written: the entry stays and a later pass finishes it.
    func complete(_ entry: OutboxEntry, outbox: String, recovering: Bool) throws -> Bool {
        let job = entry.job
        let sentinel = sentinelPath(job.name, job.jobID)
        if !FileSystem.exists(sentinel) {
            do {
                try FileSystem.makeDirectories(artifactsDir(job.name, job.jobID))
                try FileSystem.writeAtomically(sentinel, Publisher.sentinelBytes(entry.status))
            } catch {
                report(.cannotCreate, "job \(job.name) \(job.jobID): \(error); its status will be published by a later pass")
                return false
            }
        }
        fault("after-sentinel")
        renderIndex(job)
        settleSessionPages(job)
        if options.sync, options.siteDest != nil || !(event(job.name, job.jobID)?.artifactDest ?? "").isEmpty {
            let marker = JSONObject(["name": .string(job.name), "job_id": .string(job.jobID)])
            do {
                try FileSystem.writeAtomically(syncMarkerPath(job.name, job.jobID), JSONSerializer.bytes(.object(marker)) + [0x0A])
            } catch {
                report(.cannotCreate, "\(error)")
            }
        }
        // A pass restarted with or without --human prints in its own form.
        let sameForm = entry.human == options.human
        let bytes: [UInt8]
        if sameForm {
            bytes = Array(entry.text.utf8)
        } else if options.human {
            bytes = Array(HumanOutput.finalBlock(job: job, workspace: event(job.name, job.jobID)?.workspace, artifactDir: root, colour: colour).utf8)
        } else {
            bytes = JSONSerializer.bytes(.object(entry.status)) + [0x0A]
        }
        if recovering && sameForm, let mark = entry.mark, mark.holds(bytes) {
            // The pass that died had written it: stdout is the same file and holds it there.
        } else {
            try out.flush()
            if recovering && !WholeLines.isRegularFile(1) {
                // Through a pipe the pass that died may have written part of this line: the
                // repeat starts on a new line, so the reader can drop the fragment as a line
                // of its own (pici-records(5)); else it costs one empty line.
                try Output.writeAll(fd: 1, [0x0A] + bytes)
            } else if options.fault == "mid-print" {
                try Output.writeAll(fd: 1, Array(bytes.prefix(bytes.count / 2)))
                _exit(137)
            } else {
                try Output.writeAll(fd: 1, bytes)
            }
        }
        fault("after-print")
        do { try FileSystem.remove(outbox) } catch { report(.cannotCreate, "\(error)") }
        do { try OpenJobs.remove(artifactDir: root, name: job.name, jobID: job.jobID) } catch { report(.cannotCreate, "\(error)") }
        published += 1
        pass.publishedNow.append((job.name, job.jobID))
        changed = true
        return true
    }

    /// Finishes what a pass that died left in the outbox, before anything else is published.
    func recoverOutbox() throws {
        for file in FileSystem.list(outboxDir) where file.hasSuffix(".json") && !file.hasPrefix(".") {
            let path = outboxDir + "/" + file
            let entry: OutboxEntry
            do {
                entry = try OutboxEntry.read(path)
                try SafeName.check(entry.job.name)
                try SafeName.check(entry.job.jobID)
            } catch {
                report(.dataError, "\(path): \(error); left alone")
                continue
            }
            let saved = Signals.blockStops()
            defer { Signals.restore(saved) }
            _ = try complete(entry, outbox: path, recovering: true)
        }
    }

    /// `published.json`: the seed's fields (status, exit_code, job_id, finished_at) and the
    /// job's name and times for the front page, in Go's map order (sorted keys), as the seed
    /// wrote it.
    static func sentinelBytes(_ line: JSONObject) -> [UInt8] {
        var o = JSONObject()
        if let d = line["duration"] { o.append("duration", d) }
        if let e = line["ended_at"] { o.append("ended_at", e) }
        o.append("exit_code", line["exit_code"] ?? .null)
        // For the feed: which step failed, since the sentinel keeps no sessions.
        if let (step, code) = Publisher.failedStep(line) {
            o.append("failed_step", .string(step))
            o.append("failed_step_exit_code", .optionalInt(code))
        }
        o.append("finished_at", line["timestamp"] ?? .null)
        if let h = line["host"] { o.append("host", h) }
        o.append("job_id", line["job_id"] ?? .null)
        o.append("name", line["name"] ?? .null)
        if let s = line["started_at"] { o.append("started_at", s) }
        o.append("status", line["status"] ?? .null)
        return JSONSerializer.bytes(.object(o)) + [0x0A]
    }

    /// Whether the job's pages exist and show its status, and its re-runs (started since it
    /// was published, while its sessions are kept). index.txt is written after index.html, so
    /// its lines vouch for both.
    func pagesShow(_ job: JobRecord, in dir: String) -> Bool {
        guard FileSystem.exists(dir + "/index.html"),
              let text = try? FileSystem.readFile(dir + "/index.txt", limit: 1 << 16)
        else { return false }
        let head = Array(JobIndex.headline(JobIndex.Page(job: job, now: now)).utf8)
        guard text.starts(with: head + [0x0A]) else { return false }
        let reruns = Rerun.reruns(artifactDir: root, name: job.name, jobID: job.jobID)
        return reruns.isEmpty || String(decoding: text, as: UTF8.self).contains("\n" + JobIndex.rerunsLine(reruns) + "\n")
    }

    func readSentinelStatus(_ path: String) -> JobStatus? {
        guard let bytes = try? FileSystem.readFile(path, limit: 1 << 20),
              case .object(let o)? = try? JSONParser.parse(bytes),
              let s = o["status"]?.stringValue else { return nil }
        return JobStatus(rawValue: s)
    }

    func fault(_ point: String) {
        if options.fault == point { _exit(137) }
    }

    // MARK: Pages

    /// Writes the job's index.html and index.txt (and its styles.css when missing).
    func renderIndex(_ job: JobRecord) {
        let dir = jobDir(job.name, job.jobID)
        let ev = event(job.name, job.jobID)
        var page = JobIndex.Page(
            job: job, artifacts: JobIndex.artifacts(in: dir + "/artifacts"), branch: ev?.branch, commit: ev?.commit, now: now)
        page.reason = job.reason
        page.rerunOf = Rerun.rerunOf(artifactDir: root, name: job.name, jobID: job.jobID)
        if job.status == .cancelled { page.supersededBy = supersededBy(job.name, job.jobID) }
        page.reruns = Rerun.reruns(artifactDir: root, name: job.name, jobID: job.jobID)
        do {
            try FileSystem.makeDirectories(dir)
            try FileSystem.writeAtomically(dir + "/index.html", JobIndex.html(page))
            try FileSystem.writeAtomically(dir + "/index.txt", JobIndex.text(page))
            if !FileSystem.exists(dir + "/styles.css") { try FileSystem.writeAtomically(dir + "/styles.css", Styles.css) }
        } catch {
            report(.cannotCreate, "job \(job.name) \(job.jobID): index: \(error)")
        }
    }

    /// The front page, when something on it may have changed: a job was published, one is
    /// running, or the page is missing. A quiet pass writes nothing.
    func writeTopIndex() {
        let page = root + "/index.html", styles = root + "/styles.css"
        let running = live.contains { $0.status == "running" }
        guard changed || running || !FileSystem.exists(page) || !FileSystem.exists(styles) else { return }
        let entries: [TopIndex.Entry]
        if let before = pass.published {
            // Read while the stream came: only the jobs published since are read now.
            let since = TopIndex.published(artifactDir: root, except: Set(before.map(TopIndex.key)), jobs: pass.publishedNow)
            entries = TopIndex.merge(live: live, published: before + since, artifactDir: root)
        } else {
            entries = TopIndex.scan(artifactDir: root, live: live)
        }
        let html = TopIndex.html(entries, now: now)
        writeBadges(entries)
        if changed || !FileSystem.exists(root + "/" + Publisher.feedName) { writeFeed() }
        do {
            try FileSystem.writeAtomically(page, html)
            let current = try? FileSystem.readFile(styles)
            if current != Array(Styles.css.utf8) { try FileSystem.writeAtomically(styles, Styles.css) }
        } catch {
            report(.cannotCreate, "\(error)")
        }
    }

    // MARK: Reporting

    func report(_ outcome: ExitStatus, _ message: String) {
        Diagnostics.error(message)
        worsen(outcome)
    }

    func worsen(_ outcome: ExitStatus) {
        if outcome.rawValue > status.rawValue { status = outcome }
    }
}

