import Glibc

/// A child that dies with the process that started it: fork, prctl(PR_SET_PDEATHSIG), exec.
/// posix_spawn cannot ask for that. A follower killed by hand (kill -9 too) left its
/// `zmx tail` running, counted as a client, until its session ended or a pass swept it.
enum TiedChild {
    /// prctl(2) as Swift can call it: Swift imports no variadic C function, and on Linux's
    /// x86_64 and arm64 ABIs integer arguments of a variadic call are passed as fixed ones.
    /// Linked by name, as `SyncBatch`'s sync_file_range: looked up with dlsym it was not
    /// found in the static release executables, and the child was not tied.
    @_silgen_name("prctl")
    private static func prctl(_ option: Int32, _ arg2: UInt, _ arg3: UInt, _ arg4: UInt, _ arg5: UInt) -> Int32
    private static let setParentDeathSignal: Int32 = 1  // PR_SET_PDEATHSIG

    /// Starts `argv` (its first word looked up on PATH) with stdin and stderr on /dev/null and
    /// stdout on `stdout`. When the calling thread ends (the whole process, in a
    /// single-threaded tool) it gets SIGTERM. Throws when it cannot be started.
    static func start(_ argv: [String], stdout: Int32) throws -> pid_t {
        let parent = getpid()
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard devNull >= 0 else { throw Spawn.Failure(command: argv[0], errno: errno) }
        defer { close(devNull) }
        // An exec that failed says why through a close-on-exec pipe; EOF means it ran.
        var report: [Int32] = [-1, -1]
        guard pipe(&report) == 0 else { throw Spawn.Failure(command: argv[0], errno: errno) }
        for fd in report { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        let writeEnd = report[1]
        // Everything is built before the fork; the child makes only system calls.
        let pid = cArgs.withUnsafeMutableBufferPointer { args -> pid_t in
            let pid = fork()
            guard pid == 0 else { return pid }
            _ = prctl(setParentDeathSignal, UInt(SIGTERM), 0, 0, 0)
            // We died before it was set: the signal would never come.
            if getppid() != parent { _exit(127) }
            if dup2(devNull, 0) < 0 || dup2(stdout, 1) < 0 || dup2(devNull, 2) < 0 { _exit(127) }
            execvp(args[0]!, args.baseAddress!)
            var e = errno
            _ = write(writeEnd, &e, MemoryLayout<Int32>.size)
            _exit(127)
        }
        close(report[1])
        defer { close(report[0]) }
        guard pid > 0 else { throw Spawn.Failure(command: argv[0], errno: errno) }
        var e: Int32 = 0
        var n: Int
        repeat { n = read(report[0], &e, MemoryLayout<Int32>.size) } while n < 0 && errno == EINTR
        guard n != MemoryLayout<Int32>.size else {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            throw Spawn.Failure(command: argv[0], errno: e)
        }
        return pid
    }
}
