import Glibc

/// Sends what changed in each marked job's directory to its event's `artifact_dest`: one
/// rsync per destination (`--files-from`), none when nothing changed, several destinations
/// at once in a bounded `ChildPool`. It never runs inside the publishing of a status line:
/// pici-publish runs it after its lines are out (`runOnce`), and pici-monitor beside its
/// passes (`runLoop`, `pici-publish --sync-loop`), where a destination that fails is left
/// alone for a while (10 s, doubling to 10 min) so it costs the others nothing.
///
/// Jobs whose destinations end in `/<name>/<job_id>` under one base are one destination:
/// their files go in one rsync from the artifact dir to the base, each under its
/// `<name>/<job_id>/`. Any other destination gets the job's files at its top, as the seed's
/// rsync did. A destination may hold `{name}`, `{job_id}`, `{branch}` and `{commit}`
/// (ArtifactDestination); with a site (`--site-dest`, SiteSync.swift) every job also goes to
/// `SITE/<name>/<job_id>`, and the tree's own files to SITE.
public final class SyncRunner {
    let state: SyncState
    let artifactSync: ArtifactSync
    let backoff: Bool
    let report: (ExitStatus, String) -> Void
    let pool: ChildPool
    /// Whether the caller holds the artifact dir's publishing lock (pici-publish does); else
    /// it is taken, when free, to retire the markers of published jobs.
    let lockHeld: Bool
    /// `--site-dest`, nil without one.
    let site: String?

    private var backoffs: [String: SyncState.Backoff]
    private var busy: Set<String> = []
    /// Destinations found with changes and not started yet (the pool was full).
    private var queue: [Batch] = []
    private var batches: [Int: Batch] = [:]
    private var nextTag = 0
    private var destinations: [String: Target?] = [:]
    /// Every job of the tree was marked for the site (once a run, until the site has the tree).
    private var siteMarked = false
    /// rsyncs that ended, and how many failed.
    public private(set) var runs = 0
    public private(set) var failures = 0

    struct Member {
        var name: String
        var id: String
        var destination: String
        /// The changed files (path in the job dir → version), as found before rsync began.
        var changed: [String: String]
        /// The record of what reached `destination` (SyncState's sent files).
        var record: String
        var label: String { name.isEmpty ? "the site's front page, feed and badges" : "\(name) \(id)" }
    }

    struct Batch {
        var destination: String
        var source: String
        var files: [String]
        var members: [Member]
        /// rsync --mkpath: a templated destination's or the site's directories may not exist.
        var makePath = false
    }

    /// One place a job's files go, and the record of what reached it.
    struct Target {
        var destination: String
        var record: String
        var makePath: Bool
    }

    public init(artifactDir: String, artifactSync: ArtifactSync, limit: Int = 4, backoff: Bool, lockHeld: Bool,
                site: String? = nil, report: @escaping (ExitStatus, String) -> Void) {
        state = SyncState(root: artifactDir)
        self.site = site
        self.artifactSync = artifactSync
        self.backoff = backoff
        self.lockHeld = lockHeld
        self.report = report
        pool = ChildPool(limit: limit)
        backoffs = backoff ? state.backoffs() : [:]
    }

    /// One round, waited for: every destination with changes, then the markers of published
    /// jobs whose files have all arrived are removed. Ends early (its rsyncs stopped) once
    /// `stopped` says so.
    public func runOnce(stopped: () -> Bool = { false }) {
        scan(start: true)
        while !pool.isEmpty {
            if stopped() { stop(); return }
            for (tag, result) in pool.next() { finished(tag, result) }
            fill()
        }
        scan(start: false)
    }

    /// Rounds every `interval` seconds until `stopped` says so; then every rsync still
    /// running is ended (its whole process group, ssh included).
    public func runLoop(interval: Double, stopped: () -> Bool) {
        var nextScan = 0.0
        while !stopped() {
            let now = Clock.monotonicSeconds()
            if now >= nextScan {
                scan(start: true)
                nextScan = now + interval
            }
            for (tag, result) in pool.next(until: nextScan) { finished(tag, result) }
            fill()
        }
        stop()
    }

    /// `pici-publish --sync-loop`: rounds every second, with backoff, until stopped; one
    /// loop per artifact dir (another one already running makes this one exit at once).
    public static func loop(artifactDir: String, artifactSync: ArtifactSync, site: String? = nil, interval: Double = 1) throws -> ExitStatus {
        let state = SyncState(root: artifactDir)
        try FileSystem.makeDirectories(state.markerDir)
        let stop = StopSignal.install()
        // A stop is how the loop ends: exit 0.
        defer { stop.restore(reraise: false) }
        guard let lock = try FileLock.tryLock(path: state.stateDir + "/sync-loop.lock") else {
            Diagnostics.error("another pici-publish --sync-loop is syncing \(artifactDir)")
            return .ok
        }
        defer { lock.release() }
        let runner = SyncRunner(
            artifactDir: artifactDir, artifactSync: artifactSync, backoff: true, lockHeld: false, site: site,
            report: { _, message in Diagnostics.error(message) })
        // A monitor killed -9 cannot stop its loop: the loop stops itself once its parent is
        // gone (it is re-parented), so no orphan syncs forever beside the next monitor's.
        let parent = getppid()
        runner.runLoop(interval: interval, stopped: { StopSignal.received || getppid() != parent })
        return .ok
    }

    private func stop() {
        for (tag, result) in pool.stopAll(grace: 1) {
            // Stopped, not failed: no backoff, the next run sends it again.
            if let batch = batches.removeValue(forKey: tag) { busy.remove(batch.destination) }
            _ = result
        }
    }

    // MARK: A round

    /// Finds what changed for every marked job; starts an rsync for each destination that is
    /// free and not backing off; retires published jobs that have nothing left to send.
    func scan(start: Bool) {
        let lock: FileLock?
        if lockHeld {
            lock = nil
        } else {
            lock = try? FileLock.tryLock(path: state.stateDir + "/lock")
        }
        let mayRetire = lockHeld || lock != nil
        defer { lock?.release() }

        var groups: [String: Batch] = [:]
        var order: [String] = []
        let now = Clock.nowSeconds()
        /// Adds a member to its destination's batch, unless that destination backs off or is
        /// another job's very own this round.
        func add(_ base: String, source: String, prefix: String, _ member: Member, makePath: Bool) {
            if backoff, let b = backoffs[base], b.retryAt > now { return }
            if groups[base] == nil {
                groups[base] = Batch(destination: base, source: source, files: [], members: [], makePath: makePath)
                order.append(base)
            } else if groups[base]!.source != source {
                // Another job with the very same destination: its turn comes next round.
                return
            }
            groups[base]!.files += member.changed.keys.sorted().map { prefix + $0 }
            groups[base]!.members.append(member)
            if makePath { groups[base]!.makePath = true }
        }
        if let site, !siteMarked, state.sent(at: state.siteTopSentPath)?.destination != site {
            state.markAll(report: { report(.cannotCreate, $0) })
            siteMarked = true
        }
        for (name, id) in state.markers(report: { report(.dataError, $0) }) {
            let targets = self.targets(name, id)
            if targets.isEmpty {
                // No destination (any more): nothing to send.
                if mayRetire { retire(name, id) }
                continue
            }
            // Read before the files: a job published after this holds pages not yet seen.
            let published = FileSystem.exists(state.jobDir(name, id) + "/artifacts/published.json")
            let versions = SyncState.versions(under: state.jobDir(name, id))
            var pending = false
            for target in targets {
                let (base, source, prefix) = SyncRunner.route(artifactDir: state.root, name: name, id: id, destination: target.destination)
                if busy.contains(base) {
                    pending = true
                    continue
                }
                let sent = state.sent(at: target.record)
                var changed: [String: String] = [:]
                for (path, version) in versions where sent?.destination != target.destination || sent?.files[path] != version {
                    changed[path] = version
                }
                if changed.isEmpty { continue }
                pending = true
                guard start else { continue }
                add(base, source: source, prefix: prefix,
                    Member(name: name, id: id, destination: target.destination, changed: changed, record: target.record),
                    makePath: target.makePath)
            }
            if !pending && published && mayRetire { retire(name, id) }
        }
        // The tree's own files, in the same rsync as the jobs' at the site.
        if start, let site, case let base = SyncRunner.trimmed(site), !busy.contains(base) {
            let sent = state.sent(at: state.siteTopSentPath)
            var changed: [String: String] = [:]
            for (path, version) in state.topVersions() where sent?.destination != site || sent?.files[path] != version {
                changed[path] = version
            }
            if !changed.isEmpty {
                add(base, source: state.root, prefix: "",
                    Member(name: "", id: "", destination: site, changed: changed, record: state.siteTopSentPath), makePath: true)
            }
        }
        queue = order.map { groups[$0]! }
        fill()
    }

    /// Starts queued destinations while the pool has room.
    private func fill() {
        while !pool.isFull && !queue.isEmpty {
            let batch = queue.removeFirst()
            if !busy.contains(batch.destination) { launch(batch) }
        }
    }

    private func launch(_ batch: Batch) {
        do {
            let child = try artifactSync.start(
                source: batch.source, destination: batch.destination, files: batch.files, makePath: batch.makePath)
            batches[nextTag] = batch
            busy.insert(batch.destination)
            pool.add(child, tag: nextTag)
            nextTag += 1
        } catch {
            failed(batch, error)
        }
    }

    private func finished(_ tag: Int, _ result: Spawn.Result) {
        guard let batch = batches.removeValue(forKey: tag) else { return }
        busy.remove(batch.destination)
        runs += 1
        do {
            try artifactSync.check(result, source: batch.source, destination: batch.destination)
        } catch {
            failed(batch, error)
            return
        }
        for m in batch.members {
            var sent = state.sent(at: m.record)
            if sent?.destination != m.destination { sent = SyncState.Sent(destination: m.destination, files: [:]) }
            for (path, version) in m.changed { sent!.files[path] = version }
            do {
                if m.record.hasPrefix(state.siteSentDir + "/") { try FileSystem.makeDirectories(state.siteSentDir) }
                try state.writeSent(at: m.record, sent!)
            } catch { report(.cannotCreate, "\(error)") }
        }
        if backoff, backoffs.removeValue(forKey: batch.destination) != nil { saveBackoffs() }
    }

    private func failed(_ batch: Batch, _ error: Error) {
        failures += 1
        let jobs = batch.members.map(\.label).joined(separator: ", ")
        if backoff {
            let n = (backoffs[batch.destination]?.failures ?? 0) + 1
            let delay = SyncState.delay(afterFailures: n)
            backoffs[batch.destination] = SyncState.Backoff(failures: n, retryAt: Clock.nowSeconds() + delay)
            saveBackoffs()
            report(.unavailable, "job \(jobs): sync: \(error); will retry in \(delay)s")
        } else {
            report(.unavailable, "job \(jobs): sync: \(error); will retry next pass")
        }
    }

    private func saveBackoffs() {
        do { try state.writeBackoffs(backoffs) } catch { report(.cannotCreate, "\(error)") }
    }

    /// Everything of a published job has arrived: its marker and record of what was sent go.
    private func retire(_ name: String, _ id: String) {
        do {
            try FileSystem.remove(state.markerPath(name, id))
            for path in [state.sentPath(name, id), state.siteSentPath(name, id)] where FileSystem.exists(path) {
                try FileSystem.remove(path)
            }
        } catch {
            report(.cannotCreate, "\(error)")
        }
        destinations[Publisher.key(name, id)] = nil
    }

    /// The job's `artifact_dest` with its values put in, read once from its event.json; nil
    /// when it has none or it cannot be filled in (reported).
    private func destination(_ name: String, _ id: String) -> Target? {
        let key = Publisher.key(name, id)
        if let cached = destinations[key] { return cached }
        let path = state.jobDir(name, id) + "/artifacts/event.json"
        var target: Target? = nil
        if let bytes = try? FileSystem.readFile(path, limit: Event.maxSize + 1),
           let event = try? Event.parse(bytes, for: .cancel), !event.artifactDest.isEmpty {
            do {
                let dest = try ArtifactDestination.expand(
                    event.artifactDest, name: name, jobID: id, branch: event.branch, commit: event.commit)
                target = Target(destination: dest, record: state.sentPath(name, id),
                                makePath: ArtifactDestination.isTemplate(event.artifactDest))
            } catch {
                report(.dataError, "job \(name) \(id): artifact_dest: \(error); not synced there")
            }
        }
        destinations[key] = target
        return target
    }

    /// Every place the job's files go: its destination, and the site's place for it unless
    /// that is the same.
    private func targets(_ name: String, _ id: String) -> [Target] {
        var out: [Target] = []
        if let own = destination(name, id) { out.append(own) }
        if let site {
            let dest = SyncRunner.siteDestination(site, name: name, id: id)
            if !out.contains(where: { SyncRunner.same($0.destination, dest) }) {
                out.append(Target(destination: dest, record: state.siteSentPath(name, id), makePath: true))
            }
        }
        return out
    }

    /// Where a job's files go: the rsync destination, the source directory, and the prefix
    /// of the job's files under that source.
    static func route(artifactDir: String, name: String, id: String, destination: String)
        -> (destination: String, source: String, prefix: String)
    {
        var dest = Substring(destination)
        while dest.count > 1 && dest.hasSuffix("/") { dest = dest.dropLast() }
        let tail = "/" + name + "/" + id
        if dest.hasSuffix(tail) {
            let base = String(dest.dropLast(tail.count))
            if !base.isEmpty && !base.hasSuffix(":") {
                return (base, artifactDir, name + "/" + id + "/")
            }
        }
        return (destination, artifactDir + "/" + name + "/" + id, "")
    }
}
