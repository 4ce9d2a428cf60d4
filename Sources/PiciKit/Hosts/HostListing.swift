/// `zmx list` on every host at once: one child a host, all waited on by one poll, so a pass
/// over three hosts costs what the slowest listing costs, not the sum. A host that fails or
/// times out is a failure of its own; the others' listings stand.
public struct HostListing {
    public var host: Host
    /// nil when the host did not answer.
    public var list: ZmxList?
    public var failure: ZmxCommand.Failure?
    /// When its `zmx list` was started.
    public var startedNanoseconds: Int

    /// Lists every host; results in the hosts file's order.
    public static func listAll(_ hosts: Hosts, local: ZmxCommand, environment: [String]? = nil) -> [HostListing] {
        let pool = ChildPool(limit: hosts.hosts.count)
        var out: [HostListing] = []
        for (index, host) in hosts.hosts.enumerated() {
            let zmx = ZmxCommand.on(host, local: local)
            let started = Clock.nowNanoseconds()
            out.append(HostListing(host: host, list: nil, failure: nil, startedNanoseconds: started))
            do {
                pool.add(try zmx.start(["list"], environment: environment), tag: index)
            } catch let e as ZmxCommand.Failure {
                out[index].failure = e
            } catch {
                out[index].failure = .init(command: zmx.display, reason: "\(error)")
            }
        }
        while !pool.isEmpty {
            for (index, result) in pool.next() {
                let zmx = ZmxCommand.on(hosts.hosts[index], local: local)
                do {
                    out[index].list = ZmxList.parse(try zmx.checked(result, ["list"]).stdout)
                } catch let e as ZmxCommand.Failure {
                    out[index].failure = e
                } catch {
                    out[index].failure = .init(command: zmx.display, reason: "\(error)")
                }
            }
        }
        return out
    }
}

extension HostListing {
    /// pici-list over several hosts: every host's sessions tagged with `"host"`, in name order
    /// (equal names in hosts-file order), then one listing record whose `hosts` says which
    /// host's listing was complete. A host that failed is reported and its jobs are simply not
    /// in the stream; the listing says so, so no stage takes their absence for an end.
    public static func write(_ listings: [HostListing], all: Bool, to out: Output) throws -> ExitStatus {
        var status = ExitStatus.ok
        var sessions: [SessionRecord] = []
        var completeness: [(name: String, complete: Bool)] = []
        for listing in listings {
            guard let list = listing.list else {
                Diagnostics.error("host \(listing.host.name): \(listing.failure.map { "\($0)" } ?? "no answer"); its jobs are left as they are")
                completeness.append((listing.host.name, false))
                status = .unavailable
                continue
            }
            for bad in list.malformed { Diagnostics.error("host \(listing.host.name): \(bad)") }
            if !list.malformed.isEmpty && status == .ok { status = .dataError }
            // A bad line with a name holds that name's job (ZmxList.held); only one it cannot
            // pin on a session leaves the host's listing short.
            completeness.append((listing.host.name, list.accountsForEveryJob))
            for var s in list.listed where all || s.name.hasPrefix("ci.") {
                s.host = listing.host.name
                sessions.append(s)
            }
        }
        for s in SessionRecord.sortedByName(sessions) { try out.writeLine { s.write(into: &$0) } }
        let at = listings.map(\.startedNanoseconds).min() ?? Clock.nowNanoseconds()
        var listing = ListingRecord(complete: completeness.allSatisfy(\.complete), sessions: sessions.count, at: at / 1_000_000_000, atNanoseconds: at)
        listing.hosts = completeness
        try out.writeLine { listing.write(into: &$0) }
        return status
    }
}
