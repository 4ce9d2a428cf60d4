/// What pici-run does on every host at once: cancelling a repository's running job and gc.
extension RunSettings {
    /// zmx on each host, in hosts-file order; the one local zmx without a hosts file.
    public var zmxByHost: [(host: Host, zmx: ZmxCommand)] {
        hosts.hosts.map { ($0, ZmxCommand.on($0, local: zmx)) }
    }
}

extension Cancel {
    /// `cancelRunning` on every host. Without a hosts file a zmx failure is thrown as before;
    /// with one, a host that does not answer is logged and the others are still cancelled
    /// (its job, if any, goes on: nothing can reach it).
    public static func cancelRunning(
        repo: String, branch: String? = nil, supersededBy: Superseding? = nil, reason: Reason, settings: RunSettings,
        environment: [String], log: RunLog
    ) throws -> [Cancelled] {
        var done: [Cancelled] = []
        for (host, zmx) in settings.zmxByHost {
            do {
                done += try cancelRunning(
                    repo: repo, branch: branch, supersededBy: supersededBy, reason: reason, zmx: zmx, environment: environment,
                    artifactDir: settings.artifactDir, log: log)
            } catch let e as ZmxCommand.Failure where settings.hosts.configured {
                log.warn("cannot cancel on host \(host.name): \(e)")
            }
        }
        return done
    }
}
