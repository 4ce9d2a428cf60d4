/// Where a new job runs: the event's `host`, else `--host NAME`, else the host with the
/// fewest running `ci.` sessions (ties: the first in the hosts file). A host whose running
/// jobs fill its slots takes no new job; when every candidate is full the job is queued.
public enum Placement {
    /// What one host is doing now, from its last complete listing.
    public struct Load: Sendable, Equatable {
        public var runningSessions: Int
        /// Jobs whose runner has not ended.
        public var runningJobs: Int
        public var slots: Int

        public init(runningSessions: Int, runningJobs: Int, slots: Int) {
            self.runningSessions = runningSessions
            self.runningJobs = runningJobs
            self.slots = slots
        }

        public var isFull: Bool { runningJobs >= slots }
    }

    public enum Choice: Sendable, Equatable {
        case run(Host)
        /// Every candidate is full (or, for a named host, that host is).
        case queue
    }

    public struct UnknownHost: Error, CustomStringConvertible {
        public var name: String
        public var known: [String]
        public var description: String { "no host named \(SafeName.quoted(name)) (hosts: \(known.joined(separator: ", ")))" }
    }

    /// Chooses among `hosts` by `loads` (a host without a load is not answering and is never
    /// chosen unless named).
    public static func choose(_ hosts: Hosts, requested: String?, loads: [String: Load]) throws -> Choice {
        if let requested, !requested.isEmpty {
            guard let host = hosts[requested] else { throw UnknownHost(name: requested, known: hosts.hosts.map(\.name)) }
            if let load = loads[host.name], load.isFull { return .queue }
            return .run(host)
        }
        var best: (host: Host, sessions: Int)? = nil
        for host in hosts.hosts {
            guard let load = loads[host.name], !load.isFull else { continue }
            if best == nil || load.runningSessions < best!.sessions { best = (host, load.runningSessions) }
        }
        return best.map { .run($0.host) } ?? .queue
    }

    /// A host's load from its sessions: running `ci.` sessions, and the jobs whose runner
    /// (`ci.<repo>.<job_id>.runner`) is still running.
    public static func load(of sessions: [SessionRecord], slots: Int) -> Load {
        var running = 0
        var jobs = Set<String>()
        for s in sessions where s.name.hasPrefix("ci.") && s.status == .running {
            running += 1
            if s.short == "runner", let repo = s.repo, let id = s.jobID { jobs.insert(repo + "\u{0}" + id) }
        }
        return Load(runningSessions: running, runningJobs: jobs.count, slots: slots)
    }
}
