/// `pici-run --gc`, on every host: old sessions killed (GarbageCollection), then, once every
/// host has been listed, the workspace copies of jobs that are over removed, here and on
/// their hosts, and with `--retain`/`--retain-age` the old job dirs (Retention).
extension RunCommand {
    func collectGarbage() throws -> Int32 {
        var status: Int32 = 0
        // Before any listing: what is being launched or waits in the queue now is no leftover.
        let candidates = GarbageCollection.leftoverCandidates(artifactDir: settings.artifactDir)
        var remaining: [SessionRecord] = []
        var unlisted = Set<String>()
        for (host, zmx) in settings.zmxByHost {
            do {
                let gc = try GarbageCollection.run(
                    zmx: zmx, environment: Launch.zmxEnvironment(), artifactDir: settings.artifactDir,
                    age: gcAge, jobTimeout: settings.jobTimeout, log: settings.log.with([("cmd", "gc")]))
                for name in gc.killed { try progress("killed session \(name)\(settings.hosts.configured ? " on \(host.name)" : "")\n") }
                remaining += gc.remaining
            } catch let e as ZmxCommand.Failure where settings.hosts.configured {
                // One host away must not keep the others' old sessions alive.
                settings.log.failure("gc on \(host.name) failed", e)
                status = ExitStatus.unavailable.rawValue
                unlisted.insert(host.name)
            }
        }
        // After every host: a job is over only when no host lists it.
        var cleaner = WorkspaceCleaner(hosts: settings.hosts, timeout: settings.zmx.timeout)
        let removed = GarbageCollection.removeLeftovers(
            artifactDir: settings.artifactDir, candidates: candidates, remaining: remaining, unlisted: unlisted, cleaner: &cleaner, log: settings.log.with([("cmd", "gc")]))
        for dir in removed { try progress("removed workspace \(dir)\n") }
        if retention.isSet {
            let live = Set(remaining.compactMap { s in s.repo.flatMap { r in s.jobID.map { r + "\u{0}" + $0 } } })
            let removed = try Retention.run(retention, artifactDir: settings.artifactDir, hosts: settings.hosts, live: live, unlisted: unlisted)
            for job in removed { try progress("removed job \(job)\n") }
        }
        return status
    }
}
