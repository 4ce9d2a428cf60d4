import Glibc

/// The end of a job's life, once per monitor pass, after pici-stage has staged its logs:
/// - a running job past its deadline gets `timeout.json` and its sessions are killed, so
///   pici-publish publishes it `timeout` in the same pass, its logs staged up to that moment;
/// - a published job's sessions are killed once it has been published for `keep`, and its
///   workspace copy is removed with them;
/// - a job whose pici-run died before launching it is recorded as failed before launch.
///
/// All of it is decided from the stream and the state files alone: a pass in which nothing is
/// due makes no zmx call. Every kill of a pass is one `zmx kill`.
public struct Reaper {
    public struct Options: Sendable {
        public var artifactDir: String
        public var zmx: ZmxCommand
        /// The deadline of a job that recorded none (`pici-monitor --job-timeout`).
        public var jobTimeout: Double?
        /// How long a published job's sessions and workspace are kept; nil: for ever.
        public var keep: Double?
        /// A job's sessions are killed on the host its record names.
        public var hosts: Hosts = .implicit

        public init(artifactDir: String, zmx: ZmxCommand, jobTimeout: Double? = nil, keep: Double? = nil) {
            self.artifactDir = artifactDir
            self.zmx = zmx
            self.jobTimeout = jobTimeout
            self.keep = keep
        }

        /// From pici-stage's `--job-timeout DUR` and `--keep DUR`.
        public init(_ args: Arguments, artifactDir: String, zmx: ZmxCommand) throws {
            self.init(artifactDir: artifactDir, zmx: zmx)
            jobTimeout = try args.value("job-timeout").map { _ in try args.duration("job-timeout", default: 0) }
            if let t = jobTimeout, t <= 0 { throw Arguments.UsageError(message: "--job-timeout must be more than 0") }
            keep = try args.value("keep").map { _ in try args.duration("keep", default: 0) }
        }
    }

    let options: Options
    /// Unix seconds, fractional.
    let now: Double

    /// Jobs killed at their deadline, and published jobs whose sessions were killed.
    public private(set) var timedOut: [String] = []
    public private(set) var cleaned: [String] = []
    public private(set) var failures = 0
    private var queued: Set<String>? = nil
    private var cleaner: WorkspaceCleaner

    public init(options: Options, now: Double = Double(Clock.nowNanoseconds()) / 1e9) {
        self.options = options
        self.now = now
        cleaner = WorkspaceCleaner(hosts: options.hosts, timeout: options.zmx.timeout)
    }

    var root: String { options.artifactDir }

    /// Reaps after one pass. `jobs` are the jobs pici-stage passed on; `listing` the stream's.
    public mutating func run(jobs: [JobRecord], listing: ListingRecord?) {
        let records = Dictionary(
            Launches.all(artifactDir: root).compactMap { $0.record.map { (Reaper.key($0.name, $0.jobID), $0) } },
            uniquingKeysWith: { a, _ in a })
        // The names to kill, by host ("" for this machine's zmx).
        var kill: [String: [String]] = [:]
        var killedKeys = Set<String>()
        var inStream = Set<String>()

        for job in jobs where SafeName.isSafe(job.name) && SafeName.isSafe(job.jobID) {
            let key = Reaper.key(job.name, job.jobID)
            inStream.insert(key)
            // Without --keep only a running job can be killed: a finished one's sentinel is
            // not even looked for (most of a pass's jobs, at the end of pici-stage's pass).
            if options.keep == nil && job.status != .running { continue }
            // Its sentinel is read only for --keep: every finished job of an all-finished pass
            // has one, and parsing them all was a tenth of the pass's pici-stage.
            if isPublished(job.name, job.jobID) {
                if let keep = options.keep, !job.sessions.isEmpty, let published = publishedAt(job.name, job.jobID), published + keep <= now {
                    kill[job.host ?? "", default: []] += Cancel.killArguments(name: job.name, jobID: job.jobID).dropFirst()
                    killedKeys.insert(key)
                    cleaned.append("ci.\(job.name).\(job.jobID)")
                } else if job.status == .running, FileSystem.info(JobEnding.timeoutPath(artifactDir: root, name: job.name, jobID: job.jobID)) != nil {
                    // Published as timed out, but a kill failed: again, until it is gone.
                    kill[job.host ?? "", default: []] += Cancel.killArguments(name: job.name, jobID: job.jobID).dropFirst()
                    killedKeys.insert(key)
                }
                continue
            }
            guard job.status == .running,
                  let deadline = Deadlines.deadline(job: job, record: records[key], defaultTimeout: options.jobTimeout),
                  now >= deadline.at
            else { continue }
            // The marker first: a crash before the kill ends in `timeout` all the same.
            let marker = JobEnding.timeoutPath(artifactDir: root, name: job.name, jobID: job.jobID)
            if FileSystem.info(marker) == nil {
                do {
                    try JobEnding.writeTimeout(artifactDir: root, name: job.name, jobID: job.jobID, reason: Deadlines.reason(timeout: deadline.timeout))
                } catch {
                    report("job \(job.name) \(job.jobID): \(error); not killed at its deadline this pass")
                    continue
                }
            }
            kill[job.host ?? "", default: []] += Cancel.killArguments(name: job.name, jobID: job.jobID).dropFirst()
            killedKeys.insert(key)
            timedOut.append("ci.\(job.name).\(job.jobID)")
        }

        var failedHosts = Set<String>()
        for (host, names) in kill.sorted(by: { $0.key < $1.key }) {
            let zmx = options.hosts[host].map { ZmxCommand.on($0, local: options.zmx) } ?? options.zmx
            do { try zmx.kill(names) } catch {
                failedHosts.insert(host)
                report("\(error)")
            }
        }
        let hostOf = Dictionary(jobs.map { (Reaper.key($0.name, $0.jobID), $0.host ?? "") }, uniquingKeysWith: { a, _ in a })

        let complete = listing?.complete == true
        for (key, record) in records.sorted(by: { $0.key < $1.key }) {
            let gone = complete && !inStream.contains(key) || (killedKeys.contains(key) && !failedHosts.contains(hostOf[key] ?? ""))
            if let published = publishedAt(record.name, record.jobID) {
                guard let keep = options.keep, published + keep <= now, gone else { continue }
                removeWorkspaces(record, dropRecord: true)
            } else if record.jobRemoved {
                // Published and then removed by --retain, which left a copy it could not
                // remove (its host was away): only that is left to do, once nothing runs.
                if gone { removeWorkspaces(record, dropRecord: true) }
            } else if gone && !inStream.contains(key), !FileSystem.exists(OpenJobs.path(artifactDir: root, name: record.name, jobID: record.jobID)),
                      !Launcher.isAlive(record), !isQueued(key) {
                // pici-run died between making the job and registering it: nothing runs.
                do {
                    try LaunchFailure.record(
                        name: record.name, jobID: record.jobID, startedAt: record.launchedAt, exitCode: nil,
                        reason: "pici-run (pid \(record.pid)) ended before the job was launched", artifactDir: root,
                        now: Int(now))
                } catch {
                    report("job \(record.name) \(record.jobID): \(error)")
                    continue
                }
                removeWorkspaces(record, dropRecord: false)
            }
        }
    }

    /// Whether the job waits in the event queue for a free host (pici-run exited on purpose).
    mutating func isQueued(_ key: String) -> Bool {
        if queued == nil { queued = Set(EventQueue.all(artifactDir: root).map { Reaper.key($0.event.name, $0.jobID) }) }
        return queued!.contains(key)
    }

    /// Removes the record's workspace copies, here and on its host; then, when asked and all
    /// are gone, the record. A copy on a host that is away stays recorded for a later pass.
    mutating func removeWorkspaces(_ record: LaunchRecord, dropRecord: Bool) {
        let outcome = cleaner.remove(record)
        for problem in outcome.problems { report(problem) }
        guard dropRecord, outcome.isComplete else { return }
        do { try Launches.remove(artifactDir: root, name: record.name, jobID: record.jobID) } catch { report("\(error)") }
    }

    func isPublished(_ name: String, _ jobID: String) -> Bool { FileSystem.info(sentinel(name, jobID)) != nil }

    func sentinel(_ name: String, _ jobID: String) -> String {
        JobArtifacts.artifactsDir(artifactDir: root, name: name, jobID: jobID) + "/published.json"
    }

    /// When the job's status was published: its sentinel's `finished_at`, else its mtime.
    func publishedAt(_ name: String, _ jobID: String) -> Double? {
        let sentinel = sentinel(name, jobID)
        guard let info = FileSystem.info(sentinel) else { return nil }
        if let bytes = try? FileSystem.readFile(sentinel, limit: 1 << 16), case .object(let o)? = try? JSONParser.parse(bytes),
           let at = o["finished_at"]?.stringValue.flatMap(TimeFormat.parseRFC3339) {
            return Double(at)
        }
        return Double(info.modifiedNanoseconds) / 1e9
    }

    mutating func report(_ message: String) {
        failures += 1
        Diagnostics.error(message)
    }

    static func key(_ name: String, _ id: String) -> String { name + "\u{0}" + id }
}
