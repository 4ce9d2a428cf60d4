import Glibc

/// pici-run's choice of a host for a new job: every host listed at once, each one's load
/// (its running `ci.` sessions and jobs) and slots, then `Placement`.
public enum HostChoice {
    /// The slots of a host without `slots=N`: its CPU count, asked once over ssh and kept in
    /// `DIR/.pici/hosts/<name>.cpus` (a host's CPU count does not change under a running CI).
    public static func slots(of host: Host, artifactDir: String, timeout: Double) -> Int {
        if let n = host.slots { return n }
        guard let ssh = host.sshWords else { return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
        let cache = FileSystem.join(artifactDir, ".pici", "hosts", host.name + ".cpus")
        if let text = try? FileSystem.readText(cache), let n = Int(text.split(separator: "\n").first ?? ""), n >= 1, n <= 4096 {
            return n
        }
        guard let result = try? Spawn.run(ssh + ["nproc"], timeout: timeout), result.status == 0,
              let n = Int(result.stdoutText.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == " " }).first ?? ""), n >= 1, n <= 4096
        else { return 1 }
        try? FileSystem.makeDirectories(FileSystem.dirname(cache))
        try? FileSystem.writeAtomically(cache, "\(n)\n")
        return n
    }

    /// Lists every host and chooses; a host that did not answer is reported and passed over.
    public static func place(
        _ hosts: Hosts, requested: String?, local: ZmxCommand, environment: [String]?, artifactDir: String, log: RunLog
    ) throws -> (choice: Placement.Choice, listings: [HostListing]) {
        let listings = HostListing.listAll(hosts, local: local, environment: environment)
        var loads: [String: Placement.Load] = [:]
        for listing in listings {
            guard let list = listing.list else {
                log.warn("host \(listing.host.name) did not answer: \(listing.failure.map { "\($0)" } ?? "")")
                continue
            }
            loads[listing.host.name] = Placement.load(of: list.sessions, slots: slots(of: listing.host, artifactDir: artifactDir, timeout: local.timeout))
        }
        return (try Placement.choose(hosts, requested: requested, loads: loads), listings)
    }
}
