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
/// - `head`: the history taken a second after `zmx tail` started (rows joined, masked);
/// - `stream`: `zmx tail`'s lines, CR LF made LF, masked, appended as they come;
/// - `done`: written when `zmx tail` returned, with its exit status.
/// Nothing a secret could be in is written unmasked.
public enum Follower {
    /// Seconds between starting `zmx tail` and taking the history: the tail must be connected
    /// first, so that what the history lacks the stream has.
    public static let headDelay = 1.0

    /// The follower's own work: runs until `zmx tail` returns. Returns the status to exit with.
    public static func run(session: String, artifactDir: String, generation: Int, zmx: ZmxCommand, masker: Masker = Masking.active) -> ExitStatus {
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
        let tail: (pid: pid_t, fd: Int32)
        do {
            tail = try Follower.spawnReading(zmx.words + ["tail", session])
        } catch {
            Diagnostics.error("\(error)")
            return .unavailable
        }
        var lines = StreamLines(masker: masker)
        let started = Clock.monotonicSeconds()
        var headTaken = false
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        func takeHead() {
            headTaken = true
            // No history (the session is gone): no head, so that this capture, which knows
            // nothing of what came before, never replaces a log staged from a history.
            guard let result = try? zmx.run(["history", session]), result.status == 0 else { return }
            var head: [UInt8] = []
            for line in LogCleaner.unwrap(LogCleaner.rows(result.stdoutText)) {
                head += masker.mask(Array(line.utf8))
                head.append(0x0A)
            }
            try? FileSystem.writeAtomically(dir + "/head", head)
        }
        while true {
            if !headTaken {
                let left = started + headDelay - Clock.monotonicSeconds()
                if left <= 0 { takeHead(); continue }
                var p = pollfd(fd: tail.fd, events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, Int32(left * 1000) + 1) == 0 { continue }
            }
            let n = buffer.withUnsafeMutableBytes { read(tail.fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            let ready = lines.feed(buffer[0..<n])
            if !ready.isEmpty { try? Output.writeAll(fd: out, ready) }
        }
        let rest = lines.finish()
        if !rest.isEmpty { try? Output.writeAll(fd: out, rest) }
        close(tail.fd)
        var status: Int32 = 0
        while waitpid(tail.pid, &status, 0) < 0 && errno == EINTR {}
        if !headTaken { takeHead() }
        let code = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        try? FileSystem.writeAtomically(dir + "/done", "exit \(code)\n")
        return .ok
    }

    /// Starts `argv` with its stdout on a pipe we read; stdin and stderr /dev/null.
    static func spawnReading(_ argv: [String]) throws -> (pid: pid_t, fd: Int32) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw Spawn.Failure(command: argv[0], errno: errno) }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        // Room for a burst while the history is fetched (F_SETPIPE_SZ).
        _ = fcntl(fds[0], 1031, Int32(1 << 20))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, &cArgs, environ)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw Spawn.Failure(command: argv[0], errno: rc)
        }
        return (pid, fds[0])
    }

    /// Starts a follower for `session`, detached: a session of its own, nothing of ours open.
    /// `executable` is pici-stage; `extra` its other flags (`--zmx`, `--mask-file`).
    public static func start(
        session: String, generation: Int, artifactDir: String, executable: String, extra: [String] = [],
        environment: [String] = Launch.zmxEnvironment()
    ) throws {
        let argv = [executable, "--follow", session, "--generation", String(generation), "--artifact-dir", artifactDir] + extra
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setsigmask(&attr, &none)
        // POSIX_SPAWN_SETSID (glibc 2.26): a session and process group of its own.
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | 0x80))
        var pid: pid_t = 0
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var cEnv: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { for p in cEnv { free(p) } }
        let rc = posix_spawnp(&pid, executable, &actions, &attr, &cArgs, &cEnv)
        guard rc == 0 else { throw Spawn.Failure(command: executable, errno: rc) }
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

/// A stream of bytes from `zmx tail` to masked lines: CR LF (and a lone CR's overwrite) made
/// one LF line. A line longer than `maxLine` is written in pieces, the last bytes that could
/// start a secret held back for the next piece.
struct StreamLines {
    let masker: Masker
    static let maxLine = 1 << 20
    private var partial: [UInt8] = []

    init(masker: Masker) { self.masker = masker }

    mutating func feed(_ chunk: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        for b in chunk {
            if b == 0x0A {
                out += line(partial)
                out.append(0x0A)
                partial.removeAll(keepingCapacity: true)
            } else {
                partial.append(b)
            }
        }
        if partial.count > StreamLines.maxLine {
            let keep = max(0, masker.longest - 1)
            let piece = Array(partial[0..<(partial.count - keep)])
            out += masker.mask(piece)
            partial.removeFirst(partial.count - keep)
        }
        return out
    }

    mutating func finish() -> [UInt8] {
        guard !partial.isEmpty else { return [] }
        defer { partial = [] }
        return line(partial) + [0x0A]
    }

    /// A terminal shows what follows the last CR of a line; the CR of CR LF goes.
    private func line(_ raw: [UInt8]) -> [UInt8] {
        var end = raw.count
        while end > 0 && raw[end - 1] == 0x0D { end -= 1 }
        var start = 0
        if let cr = raw[0..<end].lastIndex(of: 0x0D) { start = cr + 1 }
        return masker.mask(Array(raw[start..<end]))
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
