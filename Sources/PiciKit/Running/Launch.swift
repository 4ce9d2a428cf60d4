import Glibc

/// What pici-run's flags decide for one run.
public struct RunSettings: Sendable {
    public var artifactDir: String
    public var key: String?
    public var certificate: String?
    public var zmx: ZmxCommand
    public var syncTimeout: Double
    public var wait: Bool
    public var waitOptions: WaitReport.Options
    public var log: RunLog
    /// The build hosts (`--hosts`, `PICI_HOSTS`); one implicit local host without a file.
    public var hosts: Hosts = .implicit
    /// `--host NAME`: where a job goes when its event names none.
    public var host: String? = nil
    /// What the job's environment holds besides the basics (`--pass-env`, the env files).
    public var environment = JobEnvironment()
    /// `--job-timeout`: the deadline of a job whose event has no `timeout`.
    public var jobTimeout: Double? = nil
    /// `--rerun`: the job this one runs again.
    public var rerunOf: String? = nil
    /// `--cancel-scope`: a new event cancels its branch's running job (or its repository's).
    public var cancelScope: Superseding.Scope = .branch

    public init(
        artifactDir: String = "/tmp/pici-artifacts", key: String? = nil, certificate: String? = nil,
        zmx: ZmxCommand = ZmxCommand(), syncTimeout: Double = 600, wait: Bool = false,
        waitOptions: WaitReport.Options = WaitReport.Options(), log: RunLog = RunLog()
    ) {
        self.artifactDir = artifactDir
        self.key = key
        self.certificate = certificate
        self.zmx = zmx
        self.syncTimeout = syncTimeout
        self.wait = wait
        self.waitOptions = waitOptions
        self.log = log
    }
}

/// pici-run's command line, read and checked: which of its three jobs to do, and how.
public struct RunCommand: Sendable {
    public enum Mode: String, Sendable {
        case runner, cancel, gc, dispatch
        /// The seed's log message when this mode fails.
        public var failureMessage: String { "\(rawValue) failed" }
    }

    public var mode: Mode
    public var settings: RunSettings
    /// `--event`, else nil: the event is on stdin.
    public var event: String?
    public var gcAge: Double
    /// `--rerun NAME/JOB_ID`: the earlier job whose event.json is the event.
    public var rerun: Rerun.Source?
    /// `--gc --retain N` and `--retain-age DUR`.
    public var retention = Retention.Policy()

    public init(_ args: Arguments, stdoutIsTerminal: Bool = Terminal.colourAllowed(fd: 1), stdinIsTerminal: Bool = Terminal.isTerminal(0)) throws {
        func usage(_ message: String) -> Arguments.UsageError { Arguments.UsageError(message: message) }
        let modes = ["wait", "cancel", "gc", "dispatch"].filter { args.has($0) }
        if modes.count > 1 { throw usage("--\(modes[0]) and --\(modes[1]) do not go together") }
        mode = args.has("gc") ? .gc : args.has("cancel") ? .cancel : args.has("dispatch") ? .dispatch : .runner
        // `pici-run --cancel NAME`: the repository by name, what a person types (and what
        // --wait suggests on ^C); an event says the same as {"name":NAME}.
        var positionals = args.positionals[...]
        var cancelName: String? = nil
        if mode == .cancel, let name = positionals.first {
            guard args.value("event") == nil else { throw usage("--cancel NAME and --event do not go together") }
            cancelName = name
            positionals = positionals.dropFirst()
        }
        if let extra = positionals.first { throw usage("unexpected argument \(extra)") }
        let interval = try args.duration("interval", default: 1)
        let timeout = try args.duration("timeout", default: ZmxCommand.defaultTimeout)
        let syncTimeout = try args.duration("sync-timeout", default: 600)
        guard interval > 0 else { throw usage("--interval must be more than 0") }
        guard timeout > 0 else { throw usage("--timeout must be more than 0") }
        guard syncTimeout > 0 else { throw usage("--sync-timeout must be more than 0") }
        gcAge = try args.duration("gc-age", default: GarbageCollection.defaultAge)
        let artifactDir = ArtifactDir.resolve(args)
        guard !artifactDir.isEmpty else { throw usage("--artifact-dir is empty") }
        // Go's flag defaults: an empty -pk or -ck means none.
        let key = args.value("pk").flatMap { $0.isEmpty ? nil : $0 }
        let cert = args.value("ck").flatMap { $0.isEmpty ? nil : $0 }
        let seed = args.value("log-level").map { SeedLog.seed(level: .init(parsing: $0), key: key ?? "", certificate: cert ?? "") }
        let jobTimeout = try args.value("job-timeout").map { _ in try args.duration("job-timeout", default: 0) }
        if let t = jobTimeout, t <= 0 { throw usage("--job-timeout must be more than 0") }
        rerun = try args.value("rerun").map { try Rerun.Source(parsing: $0) }
        if rerun != nil && (mode != .runner || args.value("event") != nil) {
            throw usage("--rerun takes the event from the earlier job: no --event, --cancel or --gc")
        }
        retention = try Retention.Policy(args)
        if retention.isSet && mode != .gc { throw usage("--retain and --retain-age go with --gc") }
        event = args.value("event") ?? cancelName.map { JSONSerializer.string(.object(JSONObject(["name": .string($0)]))) }
        if mode != .gc && mode != .dispatch && event == nil && rerun == nil && stdinIsTerminal {
            throw usage("no event: pipe the event JSON to stdin or give --event JSON")
        }
        settings = RunSettings(
            artifactDir: artifactDir, key: key, certificate: cert,
            zmx: ZmxCommand(override: args.value("zmx"), timeout: timeout), syncTimeout: syncTimeout,
            wait: args.has("wait"), waitOptions: WaitReport.Options(interval: interval, inPlace: stdoutIsTerminal),
            log: RunLog(seed: seed))
        do {
            settings.hosts = try Hosts.load(flag: args.value("hosts"))
        } catch {
            throw usage("\(error)")
        }
        if let host = args.value("host") {
            guard settings.hosts[host] != nil else {
                throw usage("--host \(SafeName.quoted(host)): no such host (hosts: \(settings.hosts.hosts.map(\.name).joined(separator: ", ")))")
            }
            settings.host = host
        }
        settings.environment = JobEnvironment(
            passed: args.all("pass-env"), envFiles: args.all("env-file"), secretEnvFiles: args.all("secret-env-file"))
        settings.jobTimeout = jobTimeout
        settings.rerunOf = rerun?.jobID
        if let scope = args.value("cancel-scope") {
            guard let parsed = Superseding.Scope(rawValue: scope) else {
                throw usage("--cancel-scope: \(SafeName.quoted(scope)) is not branch or repo")
            }
            settings.cancelScope = parsed
        }
    }

    /// Does it; returns the exit status. What went wrong is reported (as the seed's log line
    /// with --log-level) and mapped to its status; only a closed stdout is thrown.
    public func run() throws -> Int32 {
        do {
            switch mode {
            case .gc:
                return try collectGarbage()
            case .cancel:
                let e = try Event.read(argument: event, for: .cancel)
                let log = settings.log.with([("cmd", "cancel"), ("repo", e.name), ("type", e.type)])
                log.info("cancelling running jobs for repo")
                let done = try Cancel.cancelRunning(
                    repo: e.name, branch: settings.cancelScope.branch(of: e), reason: .cancel, settings: settings, environment: Launch.zmxEnvironment(), log: log)
                for c in done { try progress(Cancel.line(c, reason: .cancel) + "\n") }
                let dropped = try Launch.dropQueued(repo: e.name, settings: settings)
                for id in dropped { try progress("dropped queued job ci.\(e.name).\(id)\n") }
                if done.isEmpty && dropped.isEmpty { try progress("nothing to cancel: no job of \(e.name) is running\n") }
                return 0
            case .dispatch:
                return try Launch.dispatch(settings: settings)
            case .runner:
                // The secrets first: masked from the first line printed; an env file that
                // cannot be read stops the job before anything is done.
                _ = try settings.environment.secrets(into: &Masking.active)
                for path in settings.environment.envFiles { _ = try JobEnvironment.read(path, flag: "--env-file") }
                let e = try rerun.map { try $0.event(artifactDir: settings.artifactDir) } ?? Event.read(argument: event, for: .run)
                return try Launch.run(e, settings: settings)
            }
        } catch let e as Output.WriteError {
            throw e
        } catch {
            settings.log.failure(mode.failureMessage, error)
            return RunExit.status(for: error).rawValue
        }
    }
}

/// Starting a job: the seed's eventHandler and JobEngine. Cancel the repo's running job, make
/// the workspace, record event and attestation, start `pico.sh` in the runner session
/// `ci.<name>.<id>.runner` with its steps prefixed `ci.<name>.<id>.step.`, confirm that zmx
/// really started it, and register it in the open set for pici-publish.
public enum Launch {
    public static let manifestName = "pico.sh"
    /// zmx exits 0 even when it refuses a session, so the runner must show up in a listing.
    public static let confirmSeconds = 2.0

    /// Runs the event; returns the exit status (with `--wait`, the job's). A failure before
    /// the job runs removes the workspace copy made for it and is recorded (LaunchFailure), so
    /// the job is still published, once, with the reason.
    public static func run(_ event: Event, settings: RunSettings) throws -> Int32 {
        var event = event
        // A host pici-run chose for an earlier run of this event (`--rerun`) is no request:
        // this job is placed as a new one, and its event.json says where it went.
        if event.hostPlaced { (event.host, event.hostPlaced) = ("", false) }
        var settings = settings
        let everyHost = settings
        let zmxEnvironment = Launch.zmxEnvironment()
        let log = settings.log.with([("repo", event.name), ("type", event.type)])
        let jobID = JobID.new(name: event.name, workspace: event.workspace)
        // An event naming no host of the file is refused as a bad event is: before anything
        // is written, so no job exists.
        if settings.hosts.configured, let requested = event.host.isEmpty ? settings.host : event.host,
           !requested.isEmpty, settings.hosts[requested] == nil {
            throw Placement.UnknownHost(name: requested, known: settings.hosts.hosts.map(\.name))
        }
        let startedAt = Clock.nowSeconds()
        let record = LaunchRecord.current(name: event.name, jobID: jobID, timeout: event.timeoutSeconds ?? settings.jobTimeout, now: startedAt)
        var recorded = false
        let host: Host
        do {
            switch try launch(&event, jobID: jobID, settings: &settings, everyHost: everyHost, zmxEnvironment: zmxEnvironment, log: log, record: record, recorded: &recorded) {
            case .queued(let status): return status
            case .launched(let on): host = on
            }
        } catch {
            // The record on disk knows the copy on the job's host, if one was made.
            var cleaner = WorkspaceCleaner(hosts: settings.hosts, timeout: 60)
            let cleaned = cleaner.remove(Launches.read(artifactDir: settings.artifactDir, name: event.name, jobID: jobID) ?? record)
            for problem in cleaned.problems + cleaned.waiting { log.warn(problem) }
            let code = error is Output.WriteError ? ExitStatus.ioError : RunExit.status(for: error)
            do {
                try LaunchFailure.record(
                    name: event.name, jobID: jobID, startedAt: startedAt, exitCode: code.rawValue,
                    reason: LaunchFailure.reason(for: error), artifactDir: settings.artifactDir)
                // Recorded and cleaned up: nothing is left for a later pass to find. A copy
                // left on a host keeps the record, for the reaper to remove once published.
                if recorded && cleaned.isComplete { try? Launches.remove(artifactDir: settings.artifactDir, name: event.name, jobID: jobID) }
            } catch let e {
                log.warn("cannot record that ci.\(event.name).\(jobID) failed before launch: \(e)")
            }
            throw error
        }
        return try afterLaunch(event, jobID: jobID, on: host, settings: settings, zmxEnvironment: zmxEnvironment, log: log)
    }

    enum Launched {
        case queued(Int32)
        case launched(Host)
    }

    /// Everything up to a running (or queued) job.
    static func launch(_ event: inout Event, jobID: String, settings: inout RunSettings, everyHost: RunSettings, zmxEnvironment: [String], log: RunLog, record: LaunchRecord, recorded: inout Bool) throws -> Launched {
        // Before anything is touched: a name zmx would refuse is known from the socket dir,
        // when zmx runs here (`ssh host zmx` has a socket dir of its own).
        if !settings.hosts.configured && settings.zmx.words.count == 1 {
            try checkSessionName("ci.\(event.name).\(jobID).runner", socketDirectory: socketDirectory())
        }
        // An artifact dir we cannot write is known now, not after a workspace sync that may
        // take minutes; and one no monitor has seen is likely not the one the monitor watches.
        try ArtifactDir.checkWritable(settings.artifactDir)
        if !ArtifactDir.hasMonitorState(settings.artifactDir) {
            log.warn("no monitor has made a pass over \(settings.artifactDir) yet: give pici-monitor the same --artifact-dir (or \(ArtifactDir.variable)), or its status is never published")
        }
        // First, so that a job that fails from here on has its event beside it (for its page
        // and for --rerun).
        try Attestation.writeEvent(event, artifactDir: settings.artifactDir, jobID: jobID)
        if let old = settings.rerunOf { try Rerun.writeLink(artifactDir: settings.artifactDir, name: event.name, jobID: jobID, rerunOf: old) }
        // Before any workspace copy exists: whatever happens to this process from here, the
        // deadline is known and the copy is found again.
        try Launches.write(record, artifactDir: settings.artifactDir)
        recorded = true

        // The previous job goes first: its slot is free for this one.
        let cancelled = try Cancel.cancelRunning(
            repo: event.name, branch: settings.cancelScope.branch(of: event),
            supersededBy: Superseding(jobID: jobID, branch: event.branch, commit: event.commit), reason: .superseded,
            settings: everyHost, environment: zmxEnvironment, log: log)
        for c in cancelled { try progress(Cancel.line(c, reason: .superseded) + "\n") }

        var host = settings.hosts.hosts[0]
        var placing: FileLock? = nil
        defer { placing?.release() }
        if settings.hosts.configured {
            let requested = event.host.isEmpty ? settings.host : event.host
            try FileSystem.makeDirectories(FileSystem.join(settings.artifactDir, ".pici"))
            placing = try FileLock(path: placementLockPath(settings.artifactDir))
            // Events already waiting go first: a new push queues behind them.
            if !EventQueue.all(artifactDir: settings.artifactDir).isEmpty {
                return .queued(try enqueue(event, jobID: jobID, requestedHost: requested, settings: settings, placing: placing, log: log))
            }
            switch try HostChoice.place(
                settings.hosts, requested: requested, local: settings.zmx, environment: zmxEnvironment,
                artifactDir: settings.artifactDir, log: log
            ).choice {
            case .run(let chosen): host = chosen
            case .queue: return .queued(try enqueue(event, jobID: jobID, requestedHost: requested, settings: settings, placing: placing, log: log))
            }
            settings.zmx = ZmxCommand.on(host, local: settings.zmx)
            event.hostPlaced = event.host.isEmpty
            event.host = host.name
            if host.isLocal && settings.zmx.words.count == 1 {
                try checkSessionName("ci.\(event.name).\(jobID).runner", socketDirectory: socketDirectory())
            }
        }
        try launchJob(event, jobID: jobID, on: host, settings: settings, zmxEnvironment: zmxEnvironment, log: log, record: record)
        return .launched(host)
    }

    /// Makes the workspace, copies it to `host` when that is another machine, and starts the
    /// job there; the path of `pici-run` and of a queued event dispatched by a monitor pass.
    /// `record`, when pici-run made one, learns where the workspace copies are.
    static func launchJob(_ event: Event, jobID: String, on host: Host, settings: RunSettings, zmxEnvironment: [String], log: RunLog, record: LaunchRecord?) throws {
        let jobLog = log.with([("job_id", jobID)])
        try progress("""
            starting job ci.\(event.name).\(jobID)\(settings.hosts.configured ? " on \(host.name)" : "")
               event: type=\(event.type) name=\(event.name) workspace=\(event.workspace)
               \(event.seedJSON)
            syncing workspace \(event.workspace)

            """)
        let workspace = try Workspace.prepare(
            source: event.workspace,
            options: Workspace.Options(key: settings.key, certificate: settings.certificate, timeout: settings.syncTimeout),
            label: jobID)
        var record = record
        if record != nil {
            record!.workspace = workspace.dir
            if settings.hosts.configured { record!.host = host.name }
            try Launches.write(record!, artifactDir: settings.artifactDir)
        }
        try progress("workspace ready \(workspace.dir)\n")

        try Attestation.write(
            event: event, attestation: Attestation.forEvent(event, workspaceChecksum: workspace.checksum),
            artifactDir: settings.artifactDir, jobID: jobID)

        var directory = workspace.dir
        var manifest = FileSystem.join(workspace.dir, manifestName)
        guard FileSystem.exists(manifest) else {
            try progress("no \(manifestName) found in \(workspace.dir)\n\n" + noManifestHelp)
            throw LaunchError.noManifest(directory: workspace.dir)
        }
        try progress("found \(manifest)\n")
        let jobEnvironment = try environment(for: event, jobID: jobID, workspace: workspace.dir, settings: settings)
        if !host.isLocal {
            // The host gets its own copy; ours is not needed once it is there.
            defer { _ = try? Spawn.run(["rm", "-rf", "--", workspace.dir], stdout: .discard, stderr: .discard, timeout: 60) }
            directory = try RemoteWorkspace.copy(workspace.dir, to: host, timeout: settings.syncTimeout) { made in
                // Recorded before anything is copied: the reaper and gc remove it from here on.
                guard var r = record else { return }
                r.remoteWorkspace = made
                try Launches.write(r, artifactDir: settings.artifactDir)
            }
            manifest = directory + "/" + manifestName
            try progress("workspace copied to \(host.name):\(directory)\n")
        }
        try progress("launching sessions...\n")
        do {
            try start(
                event: event, jobID: jobID, directory: directory, manifest: manifest, host: host, settings: settings,
                zmxEnvironment: zmxEnvironment, jobEnvironment: jobEnvironment, log: jobLog)
        } catch {
            if !host.isLocal { RemoteWorkspace.remove(directory, on: host) }
            throw error
        }
        // The job runs from here on: a stdout closed or full now must not undo it (the
        // caller's cleanup is for a job that never started); what follows reports it.
        _ = try? progress("job launched\n")
    }

    /// The path of a queued event dispatched by a monitor pass: the job started on `host`,
    /// then (with --wait) waited for.
    static func launch(_ event: Event, jobID: String, on host: Host, settings: RunSettings, zmxEnvironment: [String], log: RunLog) throws -> Int32 {
        // pici-run recorded the job when it queued the event; the record learns the copies.
        let record = Launches.read(artifactDir: settings.artifactDir, name: event.name, jobID: jobID)
        try launchJob(event, jobID: jobID, on: host, settings: settings, zmxEnvironment: zmxEnvironment, log: log, record: record)
        return try afterLaunch(event, jobID: jobID, on: host, settings: settings, zmxEnvironment: zmxEnvironment, log: log)
    }

    /// `--wait`, or the seed's hints.
    static func afterLaunch(_ event: Event, jobID: String, on host: Host, settings: RunSettings, zmxEnvironment: [String], log: RunLog) throws -> Int32 {
        let runner = "ci.\(event.name).\(jobID).runner"
        if settings.wait {
            return try WaitReport.run(
                name: event.name, jobID: jobID, zmx: settings.zmx, environment: zmxEnvironment,
                options: settings.waitOptions, artifactDir: settings.artifactDir, log: log.with([("job_id", jobID)]))
        }
        let on = host.isLocal ? "" : " (on \(host.name))"
        try progress("   zmx tail \(runner)\(on)\n   zmx history \(runner)\(on)\n   zmx attach \(runner)\(on)\n")
        return 0
    }

    /// The seed's JobEngine.Run, then the confirmation and the open-set entry.
    /// The job's environment (`JobEnvironment`): the env files read now, the event's from the
    /// workspace; the secret files' paths recorded for the stages that mask their values.
    static func environment(for event: Event, jobID: String, workspace: String, settings: RunSettings) throws -> [String] {
        var files = try settings.environment.envFiles.flatMap { try JobEnvironment.read($0, flag: "--env-file") }
        if !event.envFile.isEmpty {
            files += try JobEnvironment.read(FileSystem.join(workspace, event.envFile), flag: "event env_file")
        }
        let secrets = try settings.environment.secrets(into: &Masking.active)
        try Masking.recordJobMasks(
            artifactDir: settings.artifactDir, name: event.name, jobID: jobID, files: settings.environment.secretEnvFiles)
        return settings.environment.entries(current: currentEnvironment(), files: files, secrets: secrets, event: event, jobID: jobID)
    }

    static func start(
        event: Event, jobID: String, directory: String, manifest: String, host: Host, settings: RunSettings,
        zmxEnvironment: [String], jobEnvironment: [String], log: RunLog
    ) throws {
        let prefix = "ci.\(event.name).\(jobID)."
        let runner = prefix + "runner"
        log.debug("starting runner session", [("manifest", manifest), ("prefix", prefix), ("session", runner)])
        // The event file and PICO_CI_ARTIFACTS are on this machine: another host gets the
        // branch and the commit only. They replace any an env file set.
        let files = host.isLocal
            ? try JobFiles.prepare(event: event, jobID: jobID, workspace: directory, artifactDir: settings.artifactDir)
            : Array(JobFiles.variables(event: event, eventFile: "", artifactsDir: "").prefix(2))
        let environment = JobFiles.replacing(in: jobEnvironment, with: files)
        let result = try settings.zmx.run(
            ["run", runner, "-d", "ZMX_SESSION_PREFIX=\(prefix)step.", "bash", manifest],
            cwd: directory, environment: environment, hostEnvironment: host.isLocal ? [] : hostVariables(environment))

        let deadline = Clock.monotonicSeconds() + confirmSeconds
        while true {
            let listedAt = Clock.nowNanoseconds()
            let listing = try settings.zmx.run(["list"], environment: zmxEnvironment)
            let mine = ZmxList.parse(listing.stdout).sessions.filter { $0.repo == event.name && $0.jobID == jobID }
            if mine.contains(where: { $0.name == runner }) {
                var job = JobGrouping.job(name: event.name, jobID: jobID, sessions: mine, now: listedAt / 1_000_000_000)
                if settings.hosts.configured { job.host = host.name }
                // The job runs now, so this is no reason to fail; pici-stage registers it too
                // when it next sees it.
                do {
                    try OpenJobs.write(OpenJob(job: job, seenAtNanoseconds: listedAt), artifactDir: settings.artifactDir)
                } catch {
                    log.warn("cannot register ci.\(event.name).\(jobID) in the open set: \(error)")
                }
                // Its output from the start, however long: a follower, before any pass.
                if host.isLocal {
                    FollowSettings(executable: Follower.stageExecutable(), extra: ["--zmx", settings.zmx.display])
                        .start(session: runner, job: event.name, jobID: jobID, short: "runner", artifactDir: settings.artifactDir)
                }
                return
            }
            if Clock.monotonicSeconds() >= deadline {
                var said = (result.stderrText + result.stdoutText).split(separator: "\n").filter {
                    !$0.hasPrefix("session ") && $0 != "command sent!"
                }.joined(separator: "; ")
                if said.isEmpty { said = "it is not in zmx list after \(TimeFormat.seconds(confirmSeconds))" }
                // Should it show up after all, it must not run in a workspace about to go.
                _ = try? settings.zmx.run(Cancel.killArguments(name: event.name, jobID: jobID), environment: zmxEnvironment)
                throw LaunchError.runnerNotStarted(session: runner, reason: said)
            }
            usleep(100_000)
        }
    }

    /// Our environment without ZMX_SESSION_PREFIX: zmx prepends it to the names we pass, so
    /// pici-run started from inside a job's step would otherwise act on the wrong sessions.
    public static func zmxEnvironment() -> [String] {
        currentEnvironment().filter { !$0.hasPrefix("ZMX_SESSION_PREFIX=") }
    }

    /// The environment for `pico.sh` with no flags: see `JobEnvironment`.
    public static func jobEnvironment(event: Event, jobID: String) -> [String] {
        JobEnvironment().entries(current: currentEnvironment(), files: [], secrets: [], event: event, jobID: jobID)
    }

    static func currentEnvironment() -> [String] {
        var out: [String] = []
        var p: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = environ
        while let entry = p.pointee {
            out.append(String(cString: entry))
            p += 1
        }
        return out
    }

    /// zmx's socket dir: `$ZMX_DIR`, else `$XDG_RUNTIME_DIR/zmx`, else `${TMPDIR:-/tmp}/zmx-$UID`.
    public static func socketDirectory(environment: (String) -> String? = FileSystem.environment) -> String {
        func nonEmpty(_ name: String) -> String? { environment(name).flatMap { $0.isEmpty ? nil : $0 } }
        var dir: String
        if let d = nonEmpty("ZMX_DIR") {
            dir = d
        } else if let x = nonEmpty("XDG_RUNTIME_DIR") {
            dir = x + "/zmx"
        } else {
            dir = (nonEmpty("TMPDIR") ?? "/tmp") + "/zmx-\(getuid())"
        }
        while dir.count > 1 && dir.hasSuffix("/") { dir.removeLast() }
        return FileSystem.absolute(dir)
    }

    /// A socket path (dir + "/" + name) must fit sun_path: fewer than 108 bytes.
    public static let maxSocketPath = 107

    public static func checkSessionName(_ session: String, socketDirectory dir: String) throws {
        let bytes = dir.utf8.count + 1 + session.utf8.count
        if bytes > maxSocketPath {
            throw LaunchError.nameTooLong(session: session, socketDirectory: dir, bytes: bytes)
        }
    }

    /// The seed's advice when a workspace has no pico.sh (printed after the "no pico.sh found"
    /// line), but for the session prefix: the seed's `${ZMX_SESSION_PREFIX:-ci.}` made a
    /// script run by hand wait on every CI job's steps.
    public static let noManifestHelp = #"""
        Create a pico.sh script in your workspace root:

          #!/usr/bin/env bash
          set -euo pipefail

          # pici-run sets the prefix to ci.<repo>.<job_id>.step.; run by hand,
          # keep the steps apart from CI jobs' (with a bare "ci.", zmx wait "*"
          # would wait on the steps of every job).
          export ZMX_SESSION_PREFIX="${ZMX_SESSION_PREFIX:-local.myrepo.}"

          # Run your CI steps as zmx sessions
          zmx run lint -d <your lint command>
          zmx run test -d <your test command>

          # Wait for all steps to complete
          zmx wait "*"

          printf "\x1b[32msuccess!\x1b[0m\n"

        Each 'zmx run' spawns a parallel session. 'zmx wait "*"' blocks
        until all child sessions finish.

        You can also run this script in isolation without the runner.

        See: https://github.com/picosh/pici


        """#
}

/// Why a job could not be started.
public enum LaunchError: Error, Equatable, CustomStringConvertible {
    case noManifest(directory: String)
    /// The runner's socket path would not fit; `bytes` is its length.
    case nameTooLong(session: String, socketDirectory: String, bytes: Int)
    /// `zmx run` returned but the runner never showed up; `reason` is what zmx said.
    case runnerNotStarted(session: String, reason: String)

    public var description: String {
        switch self {
        case .noManifest(let dir): return "no \(Launch.manifestName) found in \(dir)"
        case .nameTooLong(let session, let dir, let bytes):
            return "event: \"name\": too long for zmx's socket dir \(dir): the runner's socket path \(dir)/\(session) "
                + "would be \(bytes) bytes, the limit is \(Launch.maxSocketPath) (use a shorter name or ZMX_DIR)"
        case .runnerNotStarted(let session, let reason): return "zmx did not start \(session): \(reason)"
        }
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .noManifest: return .noInput
        case .nameTooLong: return .dataError
        case .runnerNotStarted: return .unavailable
        }
    }
}

/// pici-run's exit status for what went wrong.
public enum RunExit {
    public static func status(for error: Error) -> ExitStatus {
        switch error {
        case is EventError, is SafeName.Unsafe, is TarError, is Placement.UnknownHost: return .dataError
        case let e as JobEnvironment.Problem: return e.status
        case let e as RerunError:
            if case .noEvent = e { return .noInput }
            return .dataError
        case let e as LaunchError: return e.exitStatus
        case let e as WorkspaceError: return e.exitStatus
        case is ZmxCommand.Failure: return .unavailable
        case is FileError: return .cannotCreate
        case is Arguments.UsageError: return .usage
        default: return .software
        }
    }
}

/// Progress goes out at once, line by line: a user watches it while rsync runs.
func progress(_ text: String) throws {
    try Output.writeAll(fd: 1, Array(text.utf8))
}
