import Glibc

/// One child started by `Spawn.start`: its pid, a descriptor that becomes readable when it
/// exits (a pidfd), the pipes it is fed and read through, and, once it has ended, its Result.
/// A `ChildPool` waits on many of these in one poll(2); `Spawn.run` on one.
public final class Child {
    public let pid: pid_t
    /// The program, for messages.
    public let command: String
    /// Monotonic seconds after which the child's process group is killed.
    public let deadline: Double?
    /// Set once the child has exited and been reaped.
    public private(set) var result: Spawn.Result?

    /// Readable once the child has exited; -1 where pidfd_open(2) is unavailable, and then a
    /// SIGCHLD wakes the poll instead (`ExitNotice`).
    private var pidfd: Int32
    private var inFD: Int32
    private var outFD: Int32
    private var errFD: Int32
    private let input: [UInt8]
    private var written = 0
    private var out: [UInt8] = []
    private var err: [UInt8] = []
    private var cut = false

    /// The most one call may return on stdout or on stderr. More is not read: the child is
    /// killed and its result marked `cut`, so a zmx that prints forever costs 8 MiB, not
    /// all the memory there is (no `zmx list` or `zmx history` comes near it).
    public static let captureLimit = 8 << 20

    init(pid: pid_t, command: String, input: [UInt8], inFD: Int32, outFD: Int32, errFD: Int32, timeout: Double?) {
        self.pid = pid
        self.command = command
        self.input = input
        self.inFD = inFD
        self.outFD = outFD
        self.errFD = errFD
        deadline = timeout.map { Clock.monotonicSeconds() + $0 }
        pidfd = ExitNotice.open(pid)
        for fd in [inFD, outFD, errFD] where fd >= 0 {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        if self.inFD >= 0 && input.isEmpty { closeFD(&self.inFD) }
    }

    deinit {
        // A child dropped unwaited (its owner threw) is killed rather than left running.
        if result == nil {
            _ = kill(SIGKILL)
            _ = reapStatus(block: true)
        }
        closeAll()
    }

    public var hasEnded: Bool { result != nil }

    /// Sends `signal` to the child's whole process group (it has one of its own).
    @discardableResult
    public func signal(_ signal: Int32) -> Bool {
        guard result == nil else { return false }
        _ = Glibc.kill(-pid, signal)
        return Glibc.kill(pid, signal) == 0
    }

    /// Waits for this child alone.
    public func wait() -> Spawn.Result {
        let pool = ChildPool(limit: 1)
        pool.add(self, tag: 0)
        while result == nil { _ = pool.next() }
        return result!
    }

    // MARK: For ChildPool's poll loop

    /// What the child needs watched: its exit, its output, room in its stdin.
    func requests(into fds: inout [pollfd], owners: inout [Child]) {
        guard result == nil else { return }
        if pidfd >= 0 { fds.append(pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)); owners.append(self) }
        if outFD >= 0 { fds.append(pollfd(fd: outFD, events: Int16(POLLIN), revents: 0)); owners.append(self) }
        if errFD >= 0 { fds.append(pollfd(fd: errFD, events: Int16(POLLIN), revents: 0)); owners.append(self) }
        if inFD >= 0 { fds.append(pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0)); owners.append(self) }
    }

    /// Handles what poll said about one of this child's descriptors.
    func handle(_ p: pollfd) {
        guard p.revents != 0, result == nil else { return }
        if p.fd == pidfd {
            _ = reap(block: false)
        } else if p.fd == outFD {
            if !drain(outFD, into: &out) { closeFD(&outFD) }
        } else if p.fd == errFD {
            if !drain(errFD, into: &err) { closeFD(&errFD) }
        } else if p.fd == inFD {
            if p.revents & Int16(POLLERR | POLLHUP) != 0 { closeFD(&inFD); return }
            let n = input.withUnsafeBytes { write(inFD, $0.baseAddress! + written, $0.count - written) }
            if n > 0 { written += n }
            if (n < 0 && errno != EAGAIN && errno != EINTR) || written == input.count { closeFD(&inFD) }
        }
    }

    /// Without a pidfd, after a SIGCHLD: whether this child is the one that exited.
    func reapIfExited() {
        if result == nil { _ = reap(block: false) }
    }

    /// Kills the child's process group when its deadline has passed.
    func expireIfDue(now: Double) {
        guard result == nil, let deadline, now >= deadline else { return }
        _ = kill(SIGKILL)
        finish(status: reapStatus(block: true) ?? 128 + SIGKILL, timedOut: true)
    }

    var isWaitingOnExitOnly: Bool { pidfd < 0 }

    // MARK: Internals

    private func kill(_ sig: Int32) -> Bool { signal(sig) }

    private func reap(block: Bool) -> Bool {
        guard let status = reapStatus(block: block) else { return false }
        finish(status: status, timedOut: false)
        return true
    }

    private func reapStatus(block: Bool) -> Int32? {
        var status: Int32 = 0
        while true {
            let r = waitpid(pid, &status, block ? 0 : WNOHANG)
            if r == 0 { return nil }
            if r < 0 { if errno == EINTR { continue }; return 70 }
            let low = status & 0x7F
            return low == 0 ? (status >> 8) & 0xFF : 128 + low
        }
    }

    /// The child is gone; take what its pipes hold now, without waiting for an EOF that a
    /// daemon it left behind (`zmx run -d`) may hold back forever.
    private func finish(status: Int32, timedOut: Bool) {
        if outFD >= 0 { _ = drain(outFD, into: &out) }
        if errFD >= 0 { _ = drain(errFD, into: &err) }
        closeAll()
        result = Spawn.Result(status: status, stdout: out, stderr: err, timedOut: timedOut, cut: cut)
        out = []
        err = []
    }

    /// Reads until the pipe is empty; false at EOF or on an error.
    private func drain(_ fd: Int32, into sink: inout [UInt8]) -> Bool {
        // A history comes in several reads: scratch memory, not a zeroed buffer each time.
        FileSystem.withScratch { buffer in
            while true {
                let n = read(fd, buffer.baseAddress!, buffer.count)
                if n > 0 {
                    let room = Child.captureLimit - sink.count
                    if n > room {
                        sink.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<max(0, room)]))
                        cut = true
                        _ = kill(SIGKILL)
                        return false
                    }
                    sink.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<n]))
                    continue
                }
                if n == 0 { return false }
                if errno == EINTR { continue }
                return errno == EAGAIN || errno == EWOULDBLOCK
            }
        }
    }

    private func closeFD(_ fd: inout Int32) {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    private func closeAll() {
        closeFD(&pidfd)
        closeFD(&inFD)
        closeFD(&outFD)
        closeFD(&errFD)
    }
}

/// How a waiting poll learns that a child exited: a pidfd per child (Linux 5.3+), or, where
/// the kernel or a sandbox refuses pidfd_open, one self-pipe that a SIGCHLD handler writes to.
enum ExitNotice {
    /// pidfd_open(2) by number: glibc wraps it only from 2.36, the kernel has had it since
    /// 5.3, and its number is the same on every architecture.
    @_silgen_name("syscall")
    private static func syscall2(_ number: Int, _ a: Int, _ b: Int) -> Int
    private static let pidfdOpen = 434

    /// Tests set this to exercise the SIGCHLD path on a kernel that has pidfds.
    nonisolated(unsafe) static var forceSignalPath = false { didSet { checked = false } }
    nonisolated(unsafe) private static var checked = false
    nonisolated(unsafe) private static var pidfdWorks = false

    /// Decided before the first spawn, so that the SIGCHLD handler, when it is needed, is in
    /// place before any child can exit.
    static func prepare() {
        if checked { return }
        checked = true
        if !forceSignalPath {
            let fd = Int32(truncatingIfNeeded: syscall2(pidfdOpen, Int(getpid()), 0))
            if fd >= 0 { close(fd); pidfdWorks = true; return }
        }
        pidfdWorks = false
        installHandler()
    }

    static func open(_ pid: pid_t) -> Int32 {
        guard pidfdWorks else { return -1 }
        let fd = Int32(truncatingIfNeeded: syscall2(pidfdOpen, Int(pid), 0))
        return fd  // close-on-exec by default
    }

    /// The read end of the SIGCHLD self-pipe, or -1 while pidfds are used.
    static var signalFD: Int32 { pidfdWorks ? -1 : selfPipe.read }

    /// Empties the self-pipe after a wake-up.
    static func drainSignals() {
        var byte = [UInt8](repeating: 0, count: 64)
        while byte.withUnsafeMutableBytes({ read(selfPipe.read, $0.baseAddress!, $0.count) }) > 0 {}
    }

    nonisolated(unsafe) private static var selfPipe: (read: Int32, write: Int32) = (-1, -1)

    private static func installHandler() {
        guard selfPipe.read < 0 else { return }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        selfPipe = (fds[0], fds[1])
        sigchldWriteFD = fds[1]
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            let saved = errno
            var one: UInt8 = 1
            _ = write(sigchldWriteFD, &one, 1)
            errno = saved
        }
        action.sa_flags = SA_RESTART | SA_NOCLDSTOP
        sigemptyset(&action.sa_mask)
        sigaction(SIGCHLD, &action, nil)
    }
}

/// The self-pipe's write end, where the signal handler (a C function, no captures) finds it.
nonisolated(unsafe) private var sigchldWriteFD: Int32 = -1
