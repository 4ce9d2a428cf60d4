import Glibc

/// Work spread over threads, for what is pure CPU and lands in distinct places: no Dispatch
/// in PiciKit, only pthreads.
enum Parallel {
    /// Runs `body(i)` for every `i` in `0..<count` on up to `threads` threads (the caller's
    /// among them), each taking the next index, and returns when all are done. `body` must be
    /// safe to run for different indexes at once.
    static func forEach(_ count: Int, threads: Int, _ body: @escaping (Int) -> Void) {
        let n = min(threads, count)
        guard n > 1 else {
            for i in 0..<count { body(i) }
            return
        }
        let work = Work(count: count, body: body)
        // A thread that cannot be had leaves its share to the others.
        let started = (1..<n).compactMap { _ in thread { work.run() } }
        work.run()
        for thread in started { pthread_join(thread, nil) }
    }

    /// Runs `body` on a new thread, to be joined; nil when no thread can be had.
    static func thread(_ body: @escaping () -> Void) -> pthread_t? {
        final class Body: @unchecked Sendable {
            let run: () -> Void
            init(_ run: @escaping () -> Void) { self.run = run }
        }
        var t = pthread_t()
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        let rc = pthread_create(&t, nil, { context in
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            return nil
        }
        return t
    }

    /// The indexes still to run, handed out under a lock.
    private final class Work: @unchecked Sendable {
        private let mutex: UnsafeMutablePointer<pthread_mutex_t> = .allocate(capacity: 1)
        private var next = 0
        private let count: Int
        private let body: (Int) -> Void

        init(count: Int, body: @escaping (Int) -> Void) {
            self.count = count
            self.body = body
            pthread_mutex_init(mutex, nil)
        }

        deinit {
            pthread_mutex_destroy(mutex)
            mutex.deallocate()
        }

        func run() {
            while let i = take() { body(i) }
        }

        private func take() -> Int? {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            guard next < count else { return nil }
            next += 1
            return next - 1
        }
    }
}
