import Glibc

/// At most `limit` children in flight, all waited on by one poll(2): their exits (pidfds),
/// their pipes and their deadlines. Nothing sleeps: a child's exit wakes the poll at once.
///
///     let pool = ChildPool(limit: 4)
///     for (i, argv) in commands.enumerated() {
///         while pool.isFull { for (tag, result) in pool.next() { use(tag, result) } }
///         pool.add(try Spawn.start(argv, timeout: 30), tag: i)
///     }
///     while !pool.isEmpty { for (tag, result) in pool.next() { use(tag, result) } }
///
/// Results come back in the order the children end; the tag says whose they are.
public final class ChildPool {
    public let limit: Int
    private var children: [(tag: Int, child: Child)] = []

    /// The online CPUs: a pool's usual size.
    public static var onlineCPUs: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    public init(limit: Int) {
        self.limit = max(1, limit)
    }

    public var count: Int { children.count }
    public var isFull: Bool { children.count >= limit }
    public var isEmpty: Bool { children.isEmpty }
    public var tags: [Int] { children.map(\.tag) }

    /// Adds a started child. The caller keeps to the limit (`isFull`); the pool only counts.
    public func add(_ child: Child, tag: Int) {
        children.append((tag, child))
    }

    /// Waits until at least one child has ended, or until `deadline` (monotonic seconds) has
    /// passed, or `wake` is readable (another thread's word), and returns the children that
    /// ended, with their tags. Empty when the pool is empty or the deadline or wake came first.
    public func next(until deadline: Double? = nil, wake: Int32 = -1) -> [(tag: Int, result: Spawn.Result)] {
        while true {
            let ended = collect()
            // An empty pool with a deadline waits for it, so a loop can wait on its timer here.
            if !ended.isEmpty || (children.isEmpty && deadline == nil) { return ended }
            let now = Clock.monotonicSeconds()
            if let deadline, now >= deadline { return [] }

            var fds: [pollfd] = []
            var owners: [Child] = []
            fds.reserveCapacity(children.count * 3 + 1)
            for (_, child) in children { child.requests(into: &fds, owners: &owners) }
            let signalFD = ExitNotice.signalFD
            if signalFD >= 0 { fds.append(pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0)) }
            if wake >= 0 { fds.append(pollfd(fd: wake, events: Int16(POLLIN), revents: 0)) }

            // Until the nearest deadline: the caller's or a child's timeout.
            var until = deadline
            for (_, child) in children {
                if let d = child.deadline { until = min(until ?? d, d) }
            }
            let wait: Int32 = until.map { Int32(clamping: Int(max(0, ($0 - now) * 1000).rounded(.up))) } ?? -1
            let ready = poll(&fds, nfds_t(fds.count), wait)
            // A signal ends the wait: the caller may have been asked to stop.
            if ready < 0 && errno != EAGAIN { return collect() }
            if ready > 0 {
                for (i, p) in fds.enumerated() where p.revents != 0 {
                    if i < owners.count { owners[i].handle(p) }
                }
            }
            if signalFD >= 0 {
                // Without pidfds a SIGCHLD says only that some child exited: ask each.
                ExitNotice.drainSignals()
                for (_, child) in children { child.reapIfExited() }
            }
            let after = Clock.monotonicSeconds()
            for (_, child) in children { child.expireIfDue(now: after) }
            if wake >= 0, ready > 0, fds[fds.count - 1].revents != 0 { return collect() }
        }
    }

    /// Sends `signal` to every child's process group (SIGTERM when the caller is stopped).
    public func signalAll(_ signal: Int32) {
        for (_, child) in children { child.signal(signal) }
    }

    /// Ends every child: SIGTERM to each process group, SIGKILL to what is left after
    /// `grace` seconds, and reaps them all.
    public func stopAll(grace: Double = 1) -> [(tag: Int, result: Spawn.Result)] {
        var ended: [(tag: Int, result: Spawn.Result)] = []
        signalAll(SIGTERM)
        let until = Clock.monotonicSeconds() + grace
        while !children.isEmpty && Clock.monotonicSeconds() < until {
            ended += next(until: until)
        }
        signalAll(SIGKILL)
        while !children.isEmpty { ended += next() }
        return ended
    }

    private func collect() -> [(tag: Int, result: Spawn.Result)] {
        var ended: [(tag: Int, result: Spawn.Result)] = []
        children.removeAll { entry in
            guard let r = entry.child.result else { return false }
            ended.append((entry.tag, r))
            return true
        }
        return ended
    }
}
