/// Jobs that wait for a slot. When every host is full, pici-run queues the event (with the job
/// id it will run under) and exits 0; each monitor pass runs `pici-run --dispatch`, which
/// starts queued events oldest first as slots free up, through the same `Launch.launch` as a
/// job started at once. A newer push for the same repository and branch replaces a queued
/// event that has not started: the replaced job is published once, `cancelled`.
extension Launch {
    /// Held while a job is placed and started on a host, by pici-run and by `--dispatch`.
    static func placementLockPath(_ artifactDir: String) -> String {
        FileSystem.join(artifactDir, ".pici", "placement.lock")
    }

    /// The job's own variables for another machine: the host's shell has its own PATH, HOME
    /// and the rest, and ssh carries no environment, so only the job's are set there.
    static func hostVariables(_ environment: [String]) -> [String] {
        environment.filter { $0.hasPrefix("PICO_CI_") }
    }

    /// Queues the event (replacing queued ones of the same repository and branch, as it
    /// would cancel running ones: `Superseding.Scope.branch(of:)`) and says
    /// so; with `--wait`, once `placing` is released, waits for a pass to start it.
    static func enqueue(_ event: Event, jobID: String, requestedHost: String?, settings: RunSettings, placing: FileLock?, log: RunLog) throws -> Int32 {
        let now = Clock.nowNanoseconds()
        let branch = settings.cancelScope.branch(of: event)
        for older in EventQueue.all(artifactDir: settings.artifactDir) where older.event.name == event.name
            && (branch == nil || older.event.branch == branch) {
            try supersede(older, by: Superseding(jobID: jobID, branch: event.branch, commit: event.commit), settings: settings)
            try progress("queued job ci.\(older.event.name).\(older.jobID) replaced by ci.\(event.name).\(jobID)\n")
        }
        let entry = QueuedEvent(event: event, jobID: jobID, queuedAtNanoseconds: now, host: requestedHost)
        // The job's directory and event.json now, so its pages and its status line can name it.
        try Attestation.write(
            event: event, attestation: Attestation.forEvent(event, workspaceChecksum: ""),
            artifactDir: settings.artifactDir, jobID: jobID)
        try EventQueue.add(entry, artifactDir: settings.artifactDir)
        try progress("""
            queued job ci.\(event.name).\(jobID): \(requestedHost.map { "host \($0) is" } ?? "every host is") full
               a monitor pass starts it when a slot is free

            """)
        log.info("job queued", [("job_id", jobID)])
        placing?.release()
        if settings.wait {
            return try waitForDispatch(entry, settings: settings, log: log)
        }
        return 0
    }

    /// A queued event that a newer push replaced: out of the queue, and an open job with
    /// its cancelled marker, so the next monitor pass publishes it `cancelled`, once.
    static func supersede(_ entry: QueuedEvent, by newer: Superseding, settings: RunSettings) throws {
        try settle(entry, reason: .superseded, supersededBy: newer, settings: settings)
    }

    /// Out of the queue, and published `cancelled` by the next pass: its cancelled marker and
    /// an open job with no sessions, which the next complete listing proves gone.
    static func settle(_ entry: QueuedEvent, reason: Cancel.Reason, supersededBy: Superseding? = nil, settings: RunSettings) throws {
        var job = JobGrouping.job(name: entry.event.name, jobID: entry.jobID, sessions: [], now: Clock.nowSeconds())
        job.status = .running
        job.exitCode = nil
        try Cancel.writeMarker(artifactDir: settings.artifactDir, name: entry.event.name, jobID: entry.jobID, reason: reason, supersededBy: supersededBy)
        try OpenJobs.write(OpenJob(job: job, seenAtNanoseconds: Clock.nowNanoseconds()), artifactDir: settings.artifactDir)
        try EventQueue.remove(entry, artifactDir: settings.artifactDir)
    }

    /// `pici-run --cancel NAME` also drops NAME's queued events, each published `cancelled`.
    static func dropQueued(repo: String, settings: RunSettings) throws -> [String] {
        var dropped: [String] = []
        for entry in EventQueue.all(artifactDir: settings.artifactDir) where entry.event.name == repo {
            try settle(entry, reason: .cancel, settings: settings)
            dropped.append(entry.jobID)
        }
        return dropped
    }

    /// `--wait` on a queued job: until a monitor pass starts it, then as any other job.
    static func waitForDispatch(_ entry: QueuedEvent, settings: RunSettings, log: RunLog) throws -> Int32 {
        let queued = EventQueue.directory(artifactDir: settings.artifactDir) + "/" + entry.fileName
        let event = JobArtifacts.artifactsDir(artifactDir: settings.artifactDir, name: entry.event.name, jobID: entry.jobID) + "/event.json"
        let interrupt = InterruptWatch()
        while FileSystem.exists(queued) {
            if interrupt.sleep(settings.waitOptions.interval) {
                try progress("stopped waiting; the job stays queued (pici-run --cancel \(entry.event.name) to drop it)\n")
                return ExitStatus.interrupted.rawValue
            }
        }
        // Dispatched: event.json now names the host it went to.
        var zmx = settings.zmx
        if let bytes = try? FileSystem.readFile(event, limit: Event.maxSize), let e = try? Event.parse(bytes), let host = settings.hosts[e.host] {
            zmx = ZmxCommand.on(host, local: settings.zmx)
        }
        return try WaitReport.run(
            name: entry.event.name, jobID: entry.jobID, zmx: zmx, environment: zmxEnvironment(),
            options: settings.waitOptions, artifactDir: settings.artifactDir, log: log.with([("job_id", entry.jobID)]))
    }

    /// One monitor pass's dispatch: queued events oldest first, each started on a host with a
    /// free slot, until none has one. Each is out of the queue only once it runs (or failed
    /// for good); a kill -9 between launching and dequeuing is seen next time by the job's
    /// runner already being listed, and the event is not started twice.
    public static func dispatch(settings: RunSettings) throws -> Int32 {
        guard !EventQueue.all(artifactDir: settings.artifactDir).isEmpty else { return 0 }
        // One placer at a time: a dispatch left running by a monitor killed -9, or a pici-run
        // placing a new job, would otherwise start the same event twice or fill a slot twice.
        guard let lock = try FileLock.tryLock(path: placementLockPath(settings.artifactDir)) else {
            settings.log.info("another pici-run is placing jobs; the queue waits for the next pass")
            return 0
        }
        defer { lock.release() }
        let queue = EventQueue.all(artifactDir: settings.artifactDir) { path, error in
            settings.log.warn("\(path): \(error); left alone")
        }
        guard !queue.isEmpty else { return 0 }
        let zmxEnvironment = Launch.zmxEnvironment()
        var status: Int32 = 0
        for entry in queue {
            let log = settings.log.with([("repo", entry.event.name), ("job_id", entry.jobID)])
            let (choice, listings) = try HostChoice.place(
                settings.hosts, requested: entry.host, local: settings.zmx, environment: zmxEnvironment,
                artifactDir: settings.artifactDir, log: log)
            let runner = "ci.\(entry.event.name).\(entry.jobID).runner"
            if listings.contains(where: { $0.list?.sessions.contains(where: { $0.name == runner }) ?? false }) {
                try EventQueue.remove(entry, artifactDir: settings.artifactDir)
                continue
            }
            guard case .run(let host) = choice else {
                // Oldest first: a later event does not overtake one that waits for any host.
                if entry.host == nil { break } else { continue }
            }
            var event = entry.event
            event.hostPlaced = event.host.isEmpty
            event.host = host.name
            var onHost = settings
            onHost.zmx = ZmxCommand.on(host, local: settings.zmx)
            onHost.wait = false
            do {
                _ = try launch(event, jobID: entry.jobID, on: host, settings: onHost, zmxEnvironment: zmxEnvironment, log: log)
            } catch let e as Output.WriteError {
                throw e
            } catch {
                log.failure("dispatch failed", error)
                status = RunExit.status(for: error).rawValue
                if case .unavailable = RunExit.status(for: error) { continue }
            }
            try EventQueue.remove(entry, artifactDir: settings.artifactDir)
        }
        return status
    }
}

extension Publisher {
    /// Queued events as jobs with status `queued`: on the top index, in `--human`, and with
    /// `--include-running` as status lines, until a pass starts them.
    func showQueue() throws {
        for entry in EventQueue.all(artifactDir: root, report: { path, error in self.report(.dataError, "\(path): \(error); left alone") }) {
            guard !FileSystem.exists(sentinelPath(entry.event.name, entry.jobID)) else { continue }
            var job = JobRecord(name: entry.event.name, jobID: entry.jobID, status: .queued, exitCode: nil, startedAt: nil, endedAt: nil, duration: "", sessions: [])
            job.host = entry.host
            live.append(TopIndex.Entry(job: job))
            if !FileSystem.exists(jobDir(job.name, job.jobID) + "/index.html") { renderIndex(job) }
            guard options.includeRunning else { continue }
            if options.human {
                humanRunning += HumanOutput.runningLines(job: job, now: now, colour: colour)
            } else {
                try out.writeLine(StatusLine.bytes(for: job, timestamp: now))
            }
        }
    }
}
