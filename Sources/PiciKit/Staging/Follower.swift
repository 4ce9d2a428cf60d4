import Glibc

/// A running session's output captured whole: `zmx tail NAME` streams everything printed after
/// it connects, and `zmx history NAME` holds what came before (at most ~750 rows), so a
/// follower started while the session runs, plus one history taken after it connected, is
/// the complete log. zmx's scrollback alone would lose the head of any long build.
///
/// A follower is `pici-stage --follow NAME`, started detached (a session of its own, so a
/// monitor's stop or restart does not end it) by pici-run for the runner and by pici-stage for
/// each step on the first pass that sees it running. Its files, under
/// `DIR/.pici/follow/NAME/` (`FollowDirectory`), are one generation per follower started for
/// the session (`1/`, `2/` when one had to be started again):
/// - `pid`: the follower's pid and start time, to tell it from a reused pid;
/// - `head`: the history taken once `zmx tail` has shown it is connected (its first bytes),
///   or a second after it started when the session prints nothing (rows joined, masked);
/// - `bridge`: when the head was taken before that proof, the history taken when the first
///   bytes came: it joins the head to the stream, or shows that rows were lost between them;
/// - `stream`: `zmx tail`'s lines, rendered as the history shows them and put right against a
///   history taken while they are still in it (`StreamRepair`), masked, appended as they come;
/// - `done`: written when `zmx tail` returned, with its exit status (`exit N`), or `no tail`
///   when the session's task had ended before the follower could start one.
/// Nothing a secret could be in is written unmasked.
public enum Follower {
    /// The follower's own work: runs until `zmx tail` returns. Returns the status to exit with.
    /// `clientsBefore`: the session's clients in a listing taken before this follower was
    /// started (the pass's), else it lists them itself before its tail starts.
    public static func run(
        session: String, artifactDir: String, generation: Int, zmx: ZmxCommand, clientsBefore given: Int? = nil,
        masker: Masker = Masking.active
    ) -> ExitStatus {
        // Keep no descriptor of whoever started us (a monitor's pipes must reach EOF).
        for fd in Int32(3)..<Int32(1024) { _ = close(fd) }
        let dir = FollowDirectory(artifactDir: artifactDir, session: session).generation(generation)
        do {
            // Its directory was made by whoever started it; gone means swept meanwhile (its
            // session ended): nothing to follow, and nothing to leave behind.
            guard FileSystem.isDirectory(dir) else { return .ok }
            try FileSystem.writeAtomically(dir + "/pid", "\(getpid()) \(ProcessStart.time(getpid()) ?? 0)\n")
        } catch {
            Diagnostics.error("\(error)")
            return .cannotCreate
        }
        let out = open(dir + "/stream", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard out >= 0 else {
            Diagnostics.error("\(FileError("open", dir + "/stream"))")
            return .cannotCreate
        }
        defer { close(out) }
        // The pass that started it saw the session running in its listing (`given`); else it
        // looks itself. A task that ended since is seen by the look that proves the tail.
        let before = given.map { FollowCapture.Look(clients: $0, ended: false) } ?? FollowCapture.look(at: session, zmx: zmx)
        let started = Clock.monotonicSeconds()
        var capture = FollowCapture(
            session: session, dir: dir, out: out, zmx: zmx, masker: masker, clientsBefore: before?.clients, started: started,
            listing: SharedListing(artifactDir: artifactDir, zmx: zmx), tailStarted: Clock.nowNanoseconds())
        // Its task has ended already (the session ended between the pass that saw it running
        // and now): a tail would wait for a next task for good (ZMX.md), and the pass that sees
        // the end would wait for this follower. The history holds everything.
        if before?.ended == true {
            capture.finish()
            try? FileSystem.writeAtomically(dir + "/done", "no tail\n")
            return .ok
        }
        let tail: (pid: pid_t, fd: Int32)
        do {
            tail = try Follower.spawnReading(zmx.argv(["tail", session]))
        } catch {
            Diagnostics.error("\(error)")
            return .unavailable
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var endedTail = false
        while true {
            let wait = capture.timeout(started: started)
            var p = pollfd(fd: tail.fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, wait.map { Int32(max(0, $0) * 1000) + 1 } ?? -1)
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 {
                capture.timedOut(started: started)
                // It connected after the task ended and waits for a next one: ended here, its
                // pipe then reaches EOF, and what it captured is finished as for any tail.
                if capture.tailWillNotReturn && !endedTail {
                    endedTail = true
                    _ = kill(tail.pid, SIGTERM)
                }
                continue
            }
            let n = buffer.withUnsafeMutableBytes { read(tail.fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            capture.received(buffer[0..<n])
            var more = pollfd(fd: tail.fd, events: Int16(POLLIN), revents: 0)
            if poll(&more, 1, 0) == 0 { capture.caughtUp() }
        }
        close(tail.fd)
        var status: Int32 = 0
        while waitpid(tail.pid, &status, 0) < 0 && errno == EINTR {}
        capture.finish()
        let code = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        try? FileSystem.writeAtomically(dir + "/done", "exit \(code)\n")
        return .ok
    }

    /// Starts `argv` with its stdout on a pipe we read; stdin and stderr /dev/null. It dies
    /// with us (`TiedChild`): a follower killed by hand takes its `zmx tail` with it.
    static func spawnReading(_ argv: [String]) throws -> (pid: pid_t, fd: Int32) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw Spawn.Failure(command: argv[0], errno: errno) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        // Room for a burst while the history is fetched (F_SETPIPE_SZ).
        _ = fcntl(fds[0], 1031, Int32(1 << 20))
        defer { close(fds[1]) }
        do {
            return (try TiedChild.start(argv, stdout: fds[1]), fds[0])
        } catch {
            close(fds[0])
            throw error
        }
    }

    /// A follower's command line: `executable` is pici-stage; `extra` its other flags
    /// (`--zmx`, `--mask-file`).
    static func arguments(session: String, generation: Int, artifactDir: String, executable: String, extra: [String] = []) -> [String] {
        [executable, "--follow", session, "--generation", String(generation), "--artifact-dir", artifactDir] + extra
    }

    /// Starts a follower for `session`, detached: a session of its own, nothing of ours open,
    /// and no child of ours.
    public static func start(
        session: String, generation: Int, artifactDir: String, executable: String, extra: [String] = [],
        environment: [String] = Launch.zmxEnvironment()
    ) throws {
        try start(arguments(session: session, generation: generation, artifactDir: artifactDir, executable: executable, extra: extra), environment: environment)
    }

    static func start(_ argv: [String], environment: [String] = Launch.zmxEnvironment()) throws {
        let starter = try Starting.fork([argv], environment: environment)
        if let rc = starter.wait().first?.errno { throw Spawn.Failure(command: argv[0], errno: rc) }
    }

    /// The followers a pass asks for, started together by one child at its end (`launch`).
    /// Started as the pass met their sessions, 189 followers (their start-up, their `zmx
    /// tail`s, the histories they take) shared two cores with the pass's own 1,000 history
    /// fetches and held every status line of a monitor's first pass back by ~0.4 s.
    public final class Starting: @unchecked Sendable {
        private var asked: [(session: String, claim: () -> [String]?)] = []
        private var launched: (starter: Starter, sessions: [String], executables: [String])? = nil

        public init() {}

        /// Asks for a follower of `session`: at `launch`, `claim` claims it and gives its
        /// command line, or nil when another process had claimed it meanwhile.
        public func ask(session: String, _ claim: @escaping () -> [String]?) {
            asked.append((session, claim))
        }

        /// Claims and starts every follower asked so far, from one child; `wait` says which
        /// could not start. With no `SyncBatch` open: the claims' files are synced together.
        public func launch(environment: [String] = Launch.zmxEnvironment()) {
            wait()
            SyncBatch.begin()
            let starts = asked.compactMap { a in a.claim().map { (session: a.session, argv: $0) } }
            for failure in SyncBatch.end() { Diagnostics.error("\(failure)") }
            asked = []
            guard !starts.isEmpty else { return }
            do {
                launched = (try Starting.fork(starts.map(\.argv), environment: environment), starts.map(\.session), starts.map { $0.argv[0] })
            } catch {
                for s in starts { Diagnostics.error("session \(SafeName.quoted(s.session)): cannot start its follower: \(error)") }
            }
        }

        /// Waits for the child `launch` started; reports each follower that could not be started.
        public func wait() {
            guard let l = launched else { return }
            launched = nil
            for f in l.starter.wait() {
                Diagnostics.error("session \(SafeName.quoted(l.sessions[f.index])): cannot start its follower: \(Spawn.Failure(command: l.executables[f.index], errno: f.errno))")
            }
        }

        /// Forks a child that starts each of `argvs` (posix_spawnp: a session of its own,
        /// stdin, stdout and stderr /dev/null) and exits; the followers are init's once it has.
        /// It keeps nothing of ours open (a pass's stdout must reach EOF while it runs) but a
        /// pipe on which it reports each start: its index and posix_spawnp's result. Everything
        /// is built before the fork, down to the record a failure is written from: the child
        /// of a process with threads only makes system calls (no allocation, no Swift
        /// metadata, which a debug build would look up there).
        static func fork(_ argvs: [[String]], environment: [String]) throws -> Starter {
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
            var attr = posix_spawnattr_t()
            posix_spawnattr_init(&attr)
            defer { posix_spawnattr_destroy(&attr) }
            // POSIX_SPAWN_SETSID (glibc 2.26): a session and process group of its own.
            Spawn.resetSignals(&attr, flags: 0x80)
            // Every argv, each ending in nil, in one block; `starts[i]`: where argv i begins.
            let words = argvs.map { $0.count + 1 }.reduce(0, +)
            let args = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: words)
            let starts = UnsafeMutablePointer<Int>.allocate(capacity: argvs.count)
            let env = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: environment.count + 1)
            // A start as the child reports it: the argv's index and posix_spawnp's result.
            let failure = UnsafeMutablePointer<Int32>.allocate(capacity: 2)
            var k = 0, copied = true
            for (i, argv) in argvs.enumerated() {
                starts[i] = k
                for word in argv {
                    args[k] = strdup(word)
                    copied = copied && args[k] != nil
                    k += 1
                }
                args[k] = nil
                k += 1
            }
            for (i, entry) in environment.enumerated() {
                env[i] = strdup(entry)
                copied = copied && env[i] != nil
            }
            env[environment.count] = nil
            defer {
                for i in 0..<words { free(args[i]) }
                for i in 0..<environment.count { free(env[i]) }
                args.deallocate()
                starts.deallocate()
                env.deallocate()
                failure.deallocate()
            }
            guard copied else { throw Spawn.Failure(command: argvs.first?.first ?? "pici-stage", errno: ENOMEM) }
            // Each argv and its program, unwrapped and found here, not in the child; and every
            // kind of pointer it reads or writes used once here, so that a debug build has
            // their metadata before the fork.
            let programs = UnsafeMutablePointer<UnsafeMutablePointer<CChar>>.allocate(capacity: argvs.count)
            let argvAt = UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>.allocate(capacity: argvs.count)
            defer {
                programs.deallocate()
                argvAt.deallocate()
            }
            for i in argvs.indices {
                programs[i] = args[starts[i]]!
                argvAt[i] = args + starts[i]
            }
            failure[0] = Int32(truncatingIfNeeded: argvs.count)
            failure[1] = 0
            var fds: [Int32] = [-1, -1]
            guard Spawn.pipe2(&fds, O_CLOEXEC) == 0 else { throw Spawn.Failure(command: argvs.first?.first ?? "pici-stage", errno: errno) }
            let (readEnd, writeEnd) = (fds[0], fds[1])
            let null = open("/dev/null", O_RDWR | O_CLOEXEC)
            let count = argvs.count
            let child = Glibc.fork()
            let forkErrno = errno
            if child == 0 {
                _ = dup2(null, 0)
                _ = dup2(writeEnd, 1)
                var fd: Int32 = 3
                while fd < 1024 {
                    _ = close(fd)
                    fd += 1
                }
                var i = 0
                while i < count {
                    var pid: pid_t = 0
                    failure[0] = Int32(truncatingIfNeeded: i)
                    failure[1] = posix_spawnp(&pid, programs[i], &actions, &attr, argvAt[i], env)
                    _ = write(1, failure, 8)
                    i += 1
                }
                _exit(0)
            }
            close(writeEnd)
            if null >= 0 { close(null) }
            guard child > 0 else {
                close(readEnd)
                throw Spawn.Failure(command: argvs.first?.first ?? "pici-stage", errno: forkErrno)
            }
            return Starter(pid: child, failures: readEnd, count: argvs.count)
        }
    }

    /// The child that starts followers, and the pipe on which it reports each start.
    struct Starter {
        let pid: pid_t
        let failures: Int32
        /// How many it was to start.
        let count: Int

        /// Reads its reports to their end, reaps it, and returns the starts that failed. One it
        /// did not report (it was killed, or it trapped) failed with EIO; a later pass sees
        /// that follower dead (`needsNewFollower`) and starts another.
        func wait() -> [(index: Int, errno: Int32)] {
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(failures, $0.baseAddress!, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                bytes += buffer[0..<n]
            }
            close(failures)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            var result = [Int32](repeating: EIO, count: count)
            bytes.withUnsafeBytes { b in
                for at in stride(from: 0, to: b.count - b.count % 8, by: 8) {
                    let index = Int(b.loadUnaligned(fromByteOffset: at, as: Int32.self))
                    if index >= 0 && index < count { result[index] = b.loadUnaligned(fromByteOffset: at + 4, as: Int32.self) }
                }
            }
            return result.indices.filter { result[$0] != 0 }.map { (index: $0, errno: result[$0]) }
        }
    }

    /// pici-stage, for pici-run: the one beside our own executable, else the one on PATH.
    public static func stageExecutable() -> String {
        let beside = FileSystem.dirname(ownExecutable()) + "/pici-stage"
        return access(beside, X_OK) == 0 ? beside : "pici-stage"
    }

    /// The running executable's path (/proc/self/exe), else argv[0].
    public static func ownExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 { return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return CommandLine.arguments.first ?? "pici-stage"
    }
}

/// The start time of a process (field 22 of /proc/PID/stat), to tell a pid from its reuse.
enum ProcessStart {
    static func time(_ pid: pid_t) -> Int? {
        guard let stat = try? FileSystem.readFile("/proc/\(pid)/stat", limit: 4096) else { return nil }
        guard let close = stat.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = stat[(close + 1)...].split(separator: UInt8(ascii: " "))
        // fields[0] is the state (field 3), so field 22 is fields[19].
        guard fields.count > 19 else { return nil }
        let state = fields[0].first ?? 0
        if state == UInt8(ascii: "Z") || state == UInt8(ascii: "X") { return nil }
        return Int(String(decoding: fields[19], as: UTF8.self))
    }
}
