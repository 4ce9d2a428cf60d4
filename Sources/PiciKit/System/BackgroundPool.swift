import Glibc

/// `ChildPool`s run on threads of their own: the caller queues calls and takes their results
/// as they end, while the threads start the next call the moment one ends. What the caller
/// does with one call's output (pici-stage parses a history and writes two files) then never
/// leaves a slot empty, and the calls and the caller's work share the cores.
///
///     let pool = BackgroundPool(limit: 2)
///     defer { pool.stop() }
///     for (i, argv) in commands.enumerated() { pool.submit(tag: i) { try Spawn.start(argv) } }
///     while let ended = pool.next() { use(ended.tag, ended.result) }
///
/// At most `limit` calls run at once. Ended calls wait until the caller takes them: the
/// caller bounds what is held by how many calls it queues ahead. Without pidfds (a SIGCHLD
/// would wake one poll of two) or a thread, `next` runs the calls on the caller's thread, as a
/// `ChildPool` would. One thread owns a pool (submits, takes, stops) and must `stop` it: the
/// pool's threads hold it until then.
///
/// A spawn holds the thread that makes it until the child has exec'd (posix_spawn's vfork),
/// and the thread then wakes on the core where that child runs, often to wait there behind
/// it: one thread started a call every ~0.75 ms here, while two cores could run two at once.
/// So there are as many spawning threads as cores (`spawners`), each waiting on its own
/// calls, taking the queued ones from one queue and counting against one limit.
public final class BackgroundPool: @unchecked Sendable {
    public typealias Start = () throws -> Child

    /// A call that ended, or could not start.
    public struct Ended {
        public let tag: Int
        public let result: Result<Spawn.Result, any Error>
        /// When it was started (unix seconds).
        public let started: Int
    }

    public let limit: Int
    /// How many threads start and wait on the calls.
    public let spawners: Int
    private let mutex: UnsafeMutablePointer<pthread_mutex_t> = .allocate(capacity: 1)
    /// Broadcast when a call is queued or ends, and on `stop`.
    private let changed: UnsafeMutablePointer<pthread_cond_t> = .allocate(capacity: 1)

    // Shared, under `mutex`:
    private var queued = FIFO<(tag: Int, start: Start)>()
    private var ended = FIFO<Ended>()
    /// Taken from the queue and not yet ended.
    private var running = 0
    private var stopping = false

    /// One spawning thread: its own calls, waited on in its own poll(2).
    private final class Spawner {
        let pool: ChildPool
        /// A byte on this pipe wakes the thread in its poll (read end first).
        var wake: [Int32] = [-1, -1]
        var thread: pthread_t?
        /// Under the pool's mutex: the thread is in (or about to enter) its poll, and
        /// whether it was woken since.
        var polling = false
        var woken = false
        /// The thread's own.
        var startedAt: [Int: Int] = [:]

        init(limit: Int) { pool = ChildPool(limit: limit) }
    }

    private var threads: [Spawner] = []
    /// Without threads: the caller's own.
    private let inline: Spawner

    /// `threaded: false` runs the calls on the caller's thread (tests).
    public init(limit: Int, threaded: Bool = true) {
        self.limit = max(1, limit)
        spawners = min(self.limit, ChildPool.onlineCPUs)
        inline = Spawner(limit: self.limit)
        wantsThread = threaded
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    /// Whether threads are still to be tried, at the first call (none for a pass that makes
    /// no call).
    private var wantsThread: Bool

    /// At the first call, by the caller's thread. A thread or pipe that cannot be had leaves
    /// fewer spawners; none leaves the calls to the caller's thread.
    private func startThreads() {
        wantsThread = false
        // Before any thread may spawn: the SIGCHLD handler, where there are no pidfds.
        ExitNotice.prepare()
        guard ExitNotice.signalFD < 0 else { return }
        for _ in 0..<spawners {
            let spawner = Spawner(limit: limit)
            guard Spawn.pipe2(&spawner.wake, O_CLOEXEC | O_NONBLOCK) == 0 else { break }
            // Listed before it runs: `submit` and `stop` find it under the mutex.
            locked { threads.append(spawner) }
            guard let thread = Parallel.thread({ self.run(spawner) }) else {
                locked { threads.removeLast() }
                for fd in spawner.wake { close(fd) }
                break
            }
            spawner.thread = thread
        }
    }

    deinit {
        for spawner in threads { for fd in spawner.wake where fd >= 0 { close(fd) } }
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    /// Queues a call; `start` runs on a pool's thread once a slot is free.
    public func submit(tag: Int, _ start: @escaping Start) {
        if wantsThread { startThreads() }
        locked {
            queued.append((tag, start))
            pthread_cond_broadcast(changed)
            if running < limit { wakeOne() }
        }
    }

    /// The next call to end, in the order they end; nil once every queued call has been
    /// handed back.
    public func next() -> Ended? {
        guard !threads.isEmpty else { return nextInline() }
        return locked {
            while ended.isEmpty {
                if running == 0 && queued.isEmpty { return nil }
                pthread_cond_wait(changed, mutex)
            }
            return ended.removeFirst()
        }
    }

    /// Whether `next` would return at once: a call has ended and waits to be taken, or none
    /// is left. Without a thread, `next` runs the calls itself, so false while any is queued.
    public var hasEnded: Bool {
        guard !threads.isEmpty else { return false }
        return locked { !ended.isEmpty || (running == 0 && queued.isEmpty) }
    }

    /// Drops what is queued, ends what runs (SIGTERM, then SIGKILL, to each call's process
    /// group) and waits for the threads. A stopped pool starts and hands back nothing more.
    public func stop() {
        let spawners: [Spawner] = locked {
            stopping = true
            pthread_cond_broadcast(changed)
            for spawner in threads { wake(spawner) }
            return threads
        }
        for spawner in spawners {
            if let t = spawner.thread { pthread_join(t, nil) }
            spawner.thread = nil
        }
        _ = inline.pool.stopAll(grace: 0)
        locked {
            queued = FIFO()
            ended = FIFO()
            running = 0
            pthread_cond_broadcast(changed)
        }
    }

    // MARK: The pool's threads

    private func run(_ spawner: Spawner) {
        while true {
            var call: (tag: Int, start: Start)?
            let stop: Bool = locked {
                // Nothing of its own to wait on and nothing it may start: another thread's
                // call ending, a call queued, or stop wakes it.
                while !stopping && spawner.pool.isEmpty && (queued.isEmpty || running >= limit) {
                    pthread_cond_wait(changed, mutex)
                }
                // One at a time: while this thread waits for its child's exec, another
                // thread starts the next.
                call = takeStart()
                if call != nil && running < limit && !queued.isEmpty {
                    pthread_cond_broadcast(changed)
                    wakeOne()
                }
                spawner.polling = !stopping && call == nil
                return stopping
            }
            if stop { break }
            if let call {
                start(call, on: spawner)
                continue
            }
            let done = spawner.pool.next(wake: spawner.wake[0])
            locked {
                spawner.polling = false
                if spawner.woken {
                    var bytes = [UInt8](repeating: 0, count: 16)
                    while read(spawner.wake[0], &bytes, bytes.count) > 0 {}
                    spawner.woken = false
                }
            }
            if !done.isEmpty { finish(done, on: spawner) }
        }
        _ = spawner.pool.stopAll(grace: 0)
    }

    /// Under `mutex`: the next queued call, if there is room for it, counted as running.
    private func takeStart() -> (tag: Int, start: Start)? {
        guard !stopping && running < limit && !queued.isEmpty else { return nil }
        running += 1
        return queued.removeFirst()
    }

    /// Under `mutex`: the queued calls there is room for, counted as running.
    private func takeStarts() -> [(tag: Int, start: Start)] {
        var starts: [(tag: Int, start: Start)] = []
        while let call = takeStart() { starts.append(call) }
        return starts
    }

    /// Under `mutex`: wakes one thread out of its poll, to start what was queued. A thread
    /// that is not polling takes the queue on its own at its next turn.
    private func wakeOne() {
        if let spawner = threads.first(where: { $0.polling && !$0.woken }) { wake(spawner) }
    }

    /// Under `mutex`: wakes `spawner` out of its poll, once.
    private func wake(_ spawner: Spawner) {
        guard spawner.polling && !spawner.woken else { return }
        spawner.woken = true
        var one: UInt8 = 1
        _ = write(spawner.wake[1], &one, 1)
    }

    private func start(_ call: (tag: Int, start: Start), on spawner: Spawner) {
        let started = Clock.nowNanoseconds() / 1_000_000_000
        do {
            spawner.pool.add(try call.start(), tag: call.tag)
            spawner.startedAt[call.tag] = started
        } catch {
            locked {
                ended.append(Ended(tag: call.tag, result: .failure(error), started: started))
                running -= 1
                pthread_cond_broadcast(changed)
            }
        }
    }

    private func finish(_ done: [(tag: Int, result: Spawn.Result)], on spawner: Spawner) {
        let results = done.map { Ended(tag: $0.tag, result: .success($0.result), started: spawner.startedAt.removeValue(forKey: $0.tag) ?? 0) }
        locked {
            for r in results { ended.append(r) }
            running -= results.count
            pthread_cond_broadcast(changed)
        }
    }

    /// Without a thread: the caller starts the calls and waits for them itself.
    private func nextInline() -> Ended? {
        while true {
            if !ended.isEmpty { return ended.removeFirst() }
            for call in locked({ takeStarts() }) { start(call, on: inline) }
            if !ended.isEmpty { continue }  // a call that could not start
            if running == 0 { return nil }
            if !inline.pool.isEmpty { finish(inline.pool.next(), on: inline) }
        }
    }

    private func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }
}

/// A first-in, first-out queue that hands out in order without moving what is left, and
/// keeps nothing it handed out (a history is let go as soon as the caller has it).
struct FIFO<Element> {
    private var items: [Element?] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }

    mutating func append(_ item: Element) { items.append(item) }

    /// The oldest item; the queue must not be empty.
    mutating func removeFirst() -> Element {
        let item = items[head].take()!
        head += 1
        // The emptied slots go once they are most of the array: a queue that is never empty
        // does not grow with every item it ever held.
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return item
    }
}
