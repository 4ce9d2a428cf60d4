/// Removes every workspace copy a launch record names: the ones on this machine, and the one
/// pici-run made on the job's host. Used by the reaper, gc and `--retain`, which drop the
/// record only once everything is gone, so a copy on a host that is away is removed by a
/// later pass. A host that fails once is not tried again by the same cleaner: one host away
/// costs a pass one ssh timeout, not one per job.
public struct WorkspaceCleaner {
    public let hosts: Hosts
    /// How long one `ssh HOST rm -rf` may take.
    public let timeout: Double
    /// Hosts that could not be reached (or are not in the hosts file) during this cleaner's life.
    public private(set) var away: Set<String> = []

    public init(hosts: Hosts, timeout: Double = 30) {
        self.hosts = hosts
        self.timeout = timeout
    }

    /// What one record's removal did: the copies removed (`host:/path` for a host's), and
    /// what could not be, each as one line to report.
    public struct Outcome: Equatable, Sendable {
        public var removed: [String] = []
        public var problems: [String] = []
        /// Copies left on a host the hosts file does not name (perhaps for now): not a
        /// failure of this pass; gc says so.
        public var waiting: [String] = []
        /// Copies left for a later try (the record must stay).
        public var left = 0
        public var isComplete: Bool { left == 0 }
    }

    public mutating func remove(_ record: LaunchRecord) -> Outcome {
        var outcome = Outcome()
        for dir in record.workspaces() {
            if Workspace.remove(dir) { outcome.removed.append(dir) } else {
                outcome.left += 1
                outcome.problems.append("job \(record.name) \(record.jobID): cannot remove its workspace \(dir)")
            }
        }
        guard let dir = record.remoteWorkspace, let name = record.host else { return outcome }
        guard RemoteWorkspace.isCopyPath(dir) else {
            // Not a path pici-run made: never sent to a shell, and never tried again.
            outcome.problems.append("job \(record.name) \(record.jobID): \(SafeName.quoted(dir)) on \(SafeName.quoted(name)) is not a workspace copy; left alone")
            return outcome
        }
        if away.contains(name) {
            outcome.left += 1
            return outcome
        }
        guard let host = hosts[name] else {
            outcome.left += 1
            outcome.waiting.append("job \(record.name) \(record.jobID): host \(SafeName.quoted(name)) is not in the hosts file; its workspace copy \(dir) is left until it is")
            return outcome
        }
        do {
            try RemoteWorkspace.remove([dir], on: host, timeout: timeout)
            outcome.removed.append(host.isLocal ? dir : "\(name):\(dir)")
        } catch {
            away.insert(name)
            outcome.left += 1
            outcome.problems.append("job \(record.name) \(record.jobID): cannot remove its workspace copy on \(name) (tried again later): \(error)")
        }
        return outcome
    }
}
