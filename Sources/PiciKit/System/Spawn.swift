import Glibc

/// Runs an external command with posix_spawn, feeds it stdin, reads stdout and stderr
/// concurrently through pipes, and waits for its exit in the same poll(2) (`Child`,
/// `ChildPool`): nothing sleeps, so a call costs what the command costs. Foundation's Process
/// is slow on Linux and waits for EOF, which never comes when the child leaves a daemon
/// holding the pipe (`zmx run -d` does); here the child's exit ends the wait and the pipes
/// are drained then.
public enum Spawn {
    /// glibc's pipe2(2), which the Glibc module leaves out: a pipe made close-on-exec at once,
    /// so that no spawn by another thread inherits it before an fcntl.
    @_silgen_name("pipe2")
    static func pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32

    /// glibc's posix_spawn_file_actions_addchdir_np (2.29), which the Glibc module leaves out.
    @_silgen_name("posix_spawn_file_actions_addchdir_np")
    static func addChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: UnsafePointer<CChar>) -> Int32

    /// The child gets default signal handling (we ignore SIGPIPE) and an empty mask, with
    /// `flags` (a process group, a session) besides.
    static func resetSignals(_ attr: inout posix_spawnattr_t, flags: Int32) {
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | flags))
    }

    public struct Result: Sendable {
        /// The exit code, or 128 + the signal that ended the child.
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        public var timedOut: Bool
        /// The child printed more than `Child.captureLimit` on stdout or stderr: what it had
        /// printed up to there is kept, and it was killed.
        public var cut = false

        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var command: String
        public var errno: Int32
        public var description: String {
            errno == ENOENT ? "\(command): command not found" : "\(command): \(String(cString: strerror(errno)))"
        }
    }

    /// What to do with the child's stdout or stderr.
    public enum Sink: Sendable {
        case capture
        /// Pass our own descriptor through (the child writes straight to our stdout/stderr).
        case inherit
        case discard
    }

    /// Runs `argv` (looked up on PATH) and returns how it ended. Throws only when it could not
    /// be started; a non-zero exit is a Result. On timeout the child's process group is killed.
    public static func run(
        _ argv: [String], input: [UInt8]? = nil, cwd: String? = nil, environment: [String]? = nil,
        stdout: Sink = .capture, stderr: Sink = .capture, timeout: Double? = nil
    ) throws -> Result {
        try start(argv, input: input, cwd: cwd, environment: environment, stdout: stdout, stderr: stderr, timeout: timeout).wait()
    }

    /// Starts `argv` and returns at once; a `ChildPool` (or `Child.wait`) feeds it, reads it
    /// and reaps it. The child has a process group of its own, so a timeout or a stop can end
    /// everything it started.
    public static func start(
        _ argv: [String], input: [UInt8]? = nil, cwd: String? = nil, environment: [String]? = nil,
        stdout: Sink = .capture, stderr: Sink = .capture, timeout: Double? = nil
    ) throws -> Child {
        precondition(!argv.isEmpty, "empty command")
        ExitNotice.prepare()
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        func closeAll() {
            for fd in inPipe + outPipe + errPipe where fd >= 0 { close(fd) }
        }
        // Close-on-exec, so that no other child started meanwhile keeps a pipe open.
        func makePipe() -> [Int32]? {
            var fds: [Int32] = [-1, -1]
            guard Spawn.pipe2(&fds, O_CLOEXEC) == 0 else { return nil }
            return fds
        }
        for (wanted, which) in [(input != nil, 0), (stdout == .capture, 1), (stderr == .capture, 2)] where wanted {
            guard let fds = makePipe() else {
                let e = errno
                closeAll()
                throw Failure(command: argv[0], errno: e)
            }
            switch which {
            case 0: inPipe = fds
            case 1: outPipe = fds
            default: errPipe = fds
            }
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if input != nil {
            posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        switch stdout {
        case .capture: posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        case .discard: posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        case .inherit: break
        }
        switch stderr {
        case .capture: posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        case .discard: posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        case .inherit: break
        }
        // The child steps into the directory, not this process: another thread may be
        // spawning meanwhile (pici-stage's `BackgroundPool`). Checked here first, so that a
        // missing directory is reported as such rather than as a missing command.
        if let cwd {
            var st = stat()
            var e: Int32 = 0
            if stat(cwd, &st) != 0 {
                e = errno
            } else if st.st_mode & S_IFMT != S_IFDIR {
                e = ENOTDIR
            } else if access(cwd, X_OK) != 0 {
                e = errno
            }
            guard e == 0 else {
                closeAll()
                throw Failure(command: "cd \(cwd)", errno: e)
            }
            guard Spawn.addChdir(&actions, cwd) == 0 else {
                closeAll()
                throw Failure(command: "cd \(cwd)", errno: ENOMEM)
            }
        }

        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // A process group of its own so a timeout can kill everything it started.
        posix_spawnattr_setpgroup(&attr, 0)
        Spawn.resetSignals(&attr, flags: POSIX_SPAWN_SETPGROUP)

        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var cEnv: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup($0) } + [nil] }
        defer { if let e = cEnv { for p in e { free(p) } } }

        var pid: pid_t = 0
        let rc: Int32
        if cEnv != nil {
            rc = cEnv!.withUnsafeMutableBufferPointer { env in
                posix_spawnp(&pid, argv[0], &actions, &attr, &cArgs, env.baseAddress)
            }
        } else {
            rc = posix_spawnp(&pid, argv[0], &actions, &attr, &cArgs, environ)
        }
        // Our copies of the child's ends must go, or we would never see EOF.
        if inPipe[0] >= 0 { close(inPipe[0]); inPipe[0] = -1 }
        if outPipe[1] >= 0 { close(outPipe[1]); outPipe[1] = -1 }
        if errPipe[1] >= 0 { close(errPipe[1]); errPipe[1] = -1 }
        guard rc == 0 else {
            closeAll()
            throw Failure(command: argv[0], errno: rc)
        }
        return Child(
            pid: pid, command: argv[0], input: input ?? [], inFD: inPipe[1], outFD: outPipe[0], errFD: errPipe[0],
            timeout: timeout)
    }
}

/// Wall and monotonic time, in the units the records use.
public enum Clock {
    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public static func nowNanoseconds() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
    }

    /// `PICI_NOW` (unix seconds) stands in for the clock, so rendered output can be compared
    /// with golden files.
    public static func nowSeconds() -> Int {
        if let fixed = getenv("PICI_NOW").flatMap({ Int(String(cString: $0)) }) { return fixed }
        return nowNanoseconds() / 1_000_000_000
    }
}
