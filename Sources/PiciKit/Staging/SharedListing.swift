import Glibc

/// One `zmx list` shared by the followers of an artifact dir (per zmx command line, so per
/// host). A follower proves its `zmx tail` connected by a listing taken after the tail started
/// (`FollowCapture`), and the real zmx answers `list` by probing every session's daemon: about
/// 1 ms of CPU a session, so 189 followers started by one pass, each listing 1,000 sessions
/// for itself, would cost minutes of CPU. A follower uses a listing another one began after
/// the moment it needs, waits while such a one is being taken, or takes one itself; one at a
/// time per command line.
///
/// Files, beside the session dirs in `DIR/.pici/follow/`: `.listing-<key>` (the moment its
/// `zmx list` began, in ns, on the first line, then what zmx printed, masked) and
/// `.listing-<key>.taking` while a follower takes the next.
struct SharedListing {
    let path: String
    let zmx: ZmxCommand

    init(artifactDir: String, zmx: ZmxCommand) {
        self.zmx = zmx
        path = FollowDirectory.root(artifactDir: artifactDir) + "/.listing-" + SharedListing.key(zmx.words)
    }

    /// A lock left by a follower killed while it listed is taken over after this long.
    var staleAfter: Double { zmx.timeout + 5 }

    /// What a `zmx list` begun at or after `since` (CLOCK_REALTIME ns) printed; nil when zmx
    /// failed or none came by `deadline` (monotonic seconds).
    func listing(since: Int, deadline: Double) -> [UInt8]? {
        let taking = path + ".taking"
        while true {
            if let (began, bytes) = read(), began >= since { return bytes }
            let fd = open(taking, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            // Ours to take; or, where none can be shared (no follow dir), taken unshared.
            if fd >= 0 || errno != EEXIST {
                if fd >= 0 { close(fd) }
                defer { if fd >= 0 { unlink(taking) } }
                let began = Clock.nowNanoseconds()
                guard let result = try? zmx.run(["list"]), result.status == 0 else { return nil }
                if fd >= 0 { try? FileSystem.writeAtomically(path, Array("\(began)\n".utf8) + result.stdout) }
                return result.stdout
            }
            // Another follower is listing: its listing will do if it began late enough, else
            // the next one, taken once it is done.
            if let info = FileSystem.info(taking),
               Double(Clock.nowNanoseconds() - info.modifiedNanoseconds) / 1e9 > staleAfter {
                unlink(taking)
                continue
            }
            if Clock.monotonicSeconds() >= deadline { return nil }
            usleep(10_000)
        }
    }

    private func read() -> (Int, [UInt8])? {
        guard let bytes = try? FileSystem.readFile(path), let newline = bytes.firstIndex(of: 0x0A),
              let began = Int(String(decoding: bytes[..<newline], as: UTF8.self)) else { return nil }
        return (began, Array(bytes[(newline + 1)...]))
    }

    /// A file-name-safe key for a zmx command line (FNV-1a, hex).
    static func key(_ words: [String]) -> String {
        var hash = FNV1a()
        hash.add(words.joined(separator: "\u{0}").utf8)
        return String(hash.value, radix: 16)
    }
}
