import Glibc

/// A `ChildPool` run on a thread of its own: the caller queues calls and takes their results
/// as they end, while the thread starts the next call the moment one ends. What the caller
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
/// pool's thread holds it until then.
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
    private let mutex: UnsafeMutablePointer<pthread_mutex_t> = .allocate(capacity: 1)
    /// Broadcast when a call is queued or ends, and on `stop`.
    private let changed: UnsafeMutablePointer<pthread_cond_t> = .allocate(capacity: 1)
    /// The pool's thread waits in poll(2) on its calls: a byte on this pipe wakes it there
    /// (read end first).
    private var wake: [Int32] = [-1, -1]
    private var thread: pthread_t?

    // Shared, under `mutex`:
    private var queued = FIFO<(tag: Int, start: Start)>()
    private var ended = FIFO<Ended>()
    /// Taken from the queue and not yet ended.
    private var running = 0
    private var stopping = false
    /// The thread is in (or about to enter) its poll, and whether it was woken since.
    private var polling = false
    private var woken = false

    // The thread's own (the caller's without a thread):
    private let pool: ChildPool
    private var startedAt: [Int: Int] = [:]

    /// `threaded: false` runs the calls on the caller's thread (tests).
    public init(limit: Int, threaded: Bool = true) {
        self.limit = max(1, limit)
        pool = ChildPool(limit: self.limit)
        wantsThread = threaded
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
    }

    /// Whether a thread is still to be tried, at the first call (none for a pass that makes
    /// no call).
    private var wantsThread: Bool

    /// At the first call, by the caller's thread.
    private func startThread() {
        wantsThread = false
        // Before any thread may spawn: the SIGCHLD handler, where there are no pidfds.
        ExitNotice.prepare()
        guard ExitNotice.signalFD < 0, Spawn.pipe2(&wake, O_CLOEXEC | O_NONBLOCK) == 0 else { return }
        thread = Parallel.thread { self.run() }
    }

    deinit {
        for fd in wake where fd >= 0 { close(fd) }
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    /// Queues a call; `start` runs on the pool's thread once a slot is free.
    public func submit(tag: Int, _ start: @escaping Start) {
        if wantsThread { startThread() }
        locked {
            queued.append((tag, start))
            pthread_cond_broadcast(changed)
            if running < limit { wakeThread() }
        }
    }

    /// The next call to end, in the order they end; nil once every queued call has been
    /// handed back.
    public func next() -> Ended? {
        guard thread != nil else { return nextInline() }
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
        guard thread != nil else { return false }
        return locked { !ended.isEmpty || (running == 0 && queued.isEmpty) }
    }

    /// Drops what is queued, ends what runs (SIGTERM, then SIGKILL, to each call's process
    /// group) and waits for the thread. A stopped pool starts and hands back nothing more.
    public func stop() {
        locked {
            stopping = true
            pthread_cond_broadcast(changed)
            wakeThread()
        }
        if let t = thread {
            pthread_join(t, nil)
            thread = nil
        } else {
            _ = pool.stopAll(grace: 0)
        }
        locked {
            queued = FIFO()
            ended = FIFO()
            running = 0
            pthread_cond_broadcast(changed)
        }
    }

    // MARK: The pool's thread

    private func run() {
        while true {
            var starts: [(tag: Int, start: Start)] = []
            let stop: Bool = locked {
                while !stopping && running == 0 && queued.isEmpty {
                    pthread_cond_wait(changed, mutex)
                }
                starts = takeStarts()
                polling = !stopping
                return stopping
            }
            if stop { break }
            for call in starts { start(call) }
            let done = pool.isEmpty ? [] : pool.next(wake: wake[0])
            locked {
                polling = false
                if woken {
                    var bytes = [UInt8](repeating: 0, count: 16)
                    while read(wake[0], &bytes, bytes.count) > 0 {}
                    woken = false
                }
            }
            if !done.isEmpty { finish(done) }
        }
        _ = pool.stopAll(grace: 0)
    }

    /// Under `mutex`: the queued calls there is room for, counted as running.
    private func takeStarts() -> [(tag: Int, start: Start)] {
        var starts: [(tag: Int, start: Start)] = []
        while !stopping && running < limit && !queued.isEmpty {
            starts.append(queued.removeFirst())
            running += 1
        }
        return starts
    }

    /// Under `mutex`: wakes the thread out of its poll, once.
    private func wakeThread() {
        guard polling && !woken else { return }
        woken = true
        var one: UInt8 = 1
        _ = write(wake[1], &one, 1)
    }

    private func start(_ call: (tag: Int, start: Start)) {
        let started = Clock.nowNanoseconds() / 1_000_000_000
        do {
            pool.add(try call.start(), tag: call.tag)
            startedAt[call.tag] = started
        } catch {
            locked {
                ended.append(Ended(tag: call.tag, result: .failure(error), started: started))
                running -= 1
                pthread_cond_broadcast(changed)
            }
        }
    }

    private func finish(_ done: [(tag: Int, result: Spawn.Result)]) {
        let results = done.map { Ended(tag: $0.tag, result: .success($0.result), started: startedAt.removeValue(forKey: $0.tag) ?? 0) }
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
            for call in locked({ takeStarts() }) { start(call) }
            if !ended.isEmpty { continue }  // a call that could not start
            if running == 0 { return nil }
            if !pool.isEmpty { finish(pool.next()) }
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
