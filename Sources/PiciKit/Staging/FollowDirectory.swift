import Glibc

/// `DIR/.pici/follow/<session>/`: what the followers of one session captured (see
/// `Follower`), one numbered directory per follower started for it.
public struct FollowDirectory {
    public let path: String
    public let session: String

    public init(artifactDir: String, session: String) {
        self.session = session
        path = FollowDirectory.root(artifactDir: artifactDir) + "/" + session
    }

    public static func root(artifactDir: String) -> String { artifactDir + "/.pici/follow" }

    public func generation(_ n: Int) -> String { path + "/\(n)" }

    /// The generations there are, oldest first.
    public var generations: [Int] { FileSystem.list(path).compactMap { Int($0) }.filter { $0 > 0 }.sorted() }

    public var exists: Bool { FileSystem.isDirectory(path) }

    /// Makes the session's directory; true only for the caller that made it, so that two
    /// passes (or pici-run and a pass) never start two followers.
    public func claim() -> Bool {
        try? FileSystem.makeDirectories(FileSystem.dirname(path))
        return mkdir(path, 0o755) == 0
    }

    /// Claims generation `n` (after a follower died): true for the caller that made it.
    public func claim(generation n: Int) -> Bool { mkdir(generation(n), 0o755) == 0 }

    /// The follower of generation `n`, while it runs: its pid, checked against its start time.
    public func livePID(_ n: Int) -> pid_t? {
        guard let text = try? FileSystem.readText(generation(n) + "/pid") else { return nil }
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard words.count == 2, let pid = pid_t(words[0]), pid > 1, let start = Int(words[1]) else { return nil }
        return ProcessStart.time(pid) == start ? pid : nil
    }

    /// Whether the first follower has taken its history. Until then its capture knows nothing
    /// of what the session printed before it, and must not replace a log staged from zmx's
    /// history.
    public var hasHead: Bool { generations.first.map { FileSystem.exists(generation($0) + "/head") } ?? false }

    public func isDone(_ n: Int) -> Bool { FileSystem.exists(generation(n) + "/done") }

    /// A generation whose follower has not written its pid yet: started under a second ago.
    public func isStarting(_ n: Int) -> Bool {
        guard !FileSystem.exists(generation(n) + "/pid"), let info = FileSystem.info(generation(n)) else { return false }
        return Clock.nowNanoseconds() - info.modifiedNanoseconds < 5_000_000_000
    }

    /// Whether some follower of the session still runs (or is about to).
    public var isFollowing: Bool { generations.last.map(isFollowing) ?? false }

    private func isFollowing(_ last: Int) -> Bool { !isDone(last) && (livePID(last) != nil || isStarting(last)) }

    /// Whether the session needs a new follower: the last one died (the machine restarted,
    /// someone killed it) before its `zmx tail` returned. One whose tail returned saw the task's
    /// marker, or the session go: nothing more will come, even while a listing taken a moment
    /// before still shows the session running (a new follower then took the whole history
    /// again, after a gap note). Except a tail over ssh that lost its connection (255).
    public var needsNewFollower: Bool {
        guard let last = generations.last, !isFollowing(last) else { return false }
        guard let done = try? FileSystem.readText(generation(last) + "/done") else { return true }
        return done == "exit 255\n"
    }

    /// Ends the session's followers: SIGTERM to their process groups (the follower and its
    /// `zmx tail`), SIGKILL to what is left after half a second.
    public func stop() {
        var pids: [pid_t] = []
        for n in generations { if let pid = livePID(n) { pids.append(pid) } }
        guard !pids.isEmpty else { return }
        for pid in pids { _ = kill(-pid, SIGTERM); _ = kill(pid, SIGTERM) }
        for _ in 0..<50 {
            if pids.allSatisfy({ ProcessStart.time($0) == nil }) { return }
            usleep(10_000)
        }
        for pid in pids { _ = kill(-pid, SIGKILL); _ = kill(pid, SIGKILL) }
    }

    /// Waits up to `seconds` for the followers to end by themselves (after the marker, zmx
    /// tail returns); true when none runs any more.
    public func waitForEnd(seconds: Double) -> Bool {
        let deadline = Clock.monotonicSeconds() + seconds
        while isFollowing {
            if Clock.monotonicSeconds() >= deadline { return false }
            usleep(20_000)
        }
        return true
    }

    /// Removes the directory and all in it.
    public func remove() { FollowDirectory.removeTree(path) }

    static func removeTree(_ path: String) {
        for name in FileSystem.list(path) {
            let p = path + "/" + name
            if let info = FileSystem.info(p), info.isDirectory { removeTree(p) } else { unlink(p) }
        }
        rmdir(path)
    }
}
