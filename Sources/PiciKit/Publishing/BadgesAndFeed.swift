/// Each repository's badge and the tree's Atom feed, written with the front page: atomically,
/// and only when their bytes change, so a reader's cache and an rsync see a change only
/// when a result did.
extension Publisher {
    static let badgeName = Badge.fileName
    static let feedName = "feed.xml"

    func writeBadges(_ entries: [TopIndex.Entry]) {
        for (name, newest) in Badge.newest(entries) where SafeName.isSafe(name) && FileSystem.isDirectory(root + "/" + name) {
            writeIfChanged(root + "/" + name + "/" + Publisher.badgeName, Badge.svg(name: name, status: newest.status, jobID: newest.jobID))
        }
    }

    func writeFeed() {
        writeIfChanged(root + "/" + Publisher.feedName, Feed.xml(Feed.scan(artifactDir: root), id: Feed.id(artifactDir: root), now: now))
    }

    func writeIfChanged(_ path: String, _ text: String) {
        let bytes = Array(text.utf8)
        if let current = try? FileSystem.readFile(path, limit: bytes.count + 1), current == bytes { return }
        do { try FileSystem.writeAtomically(path, bytes) } catch { report(.cannotCreate, "\(error)") }
    }

    /// The first step (in name order) that ended with a non-zero code, else the runner's, as
    /// `(short, code)`; nil when none failed.
    static func failedStep(_ line: JSONObject) -> (String, Int?)? {
        guard case .array(let sessions)? = line["sessions"] else { return nil }
        var runner: (String, Int?)? = nil
        for case .object(let s) in sessions {
            guard let short = s["short"]?.stringValue, let code = s["exit_code"]?.stringValue, !code.isEmpty, code != "0" else { continue }
            if short == "runner" {
                runner = runner ?? (short, Int(code))
            } else {
                return (short, Int(code))
            }
        }
        return runner
    }
}
