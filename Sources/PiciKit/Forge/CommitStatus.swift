/// A forge repository as `owner/name`: what the event's `repo` field, or `--owner` and the
/// job's name, give. Both parts become a path of the forge's API, so only the characters
/// GitHub and Gitea allow in them are taken.
public enum ForgeRepository {
    public static func isValid(_ value: String) -> Bool {
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { isValidPart(String($0)) }
    }

    public static func isValidPart(_ part: String) -> Bool {
        guard !part.isEmpty, part.utf8.count <= 100, part != ".", part != "..",
              !part.hasPrefix("-"), !part.hasPrefix(".") else { return false }
        return part.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
        }
    }
}

/// One commit status as a forge keeps it: a state for a commit under a context, with a
/// description and a link. Made from a status line and the job's event; pure.
public struct CommitStatus: Equatable, Sendable {
    /// The forge's words (the same for GitHub and Gitea).
    public enum State: String, Sendable {
        case pending, success, failure, error
    }

    public var repo: String
    public var sha: String
    public var context: String
    public var state: State
    public var description: String
    public var targetURL: String?
    /// Which of two statuses for one commit is newer: compared as a whole, the larger wins.
    public var order: Order
    /// The job it reports, for messages.
    public var name: String
    public var jobID: String

    /// Newer jobs win over older ones (by start), a job's end over its running, then the
    /// later line. The seconds are those of the status line's RFC 3339 times.
    public struct Order: Comparable, Equatable, Sendable {
        public var started: Int
        public var final: Bool
        public var timestamp: Int
        public var jobID: String

        public init(started: Int, final: Bool, timestamp: Int, jobID: String) {
            self.started = started
            self.final = final
            self.timestamp = timestamp
            self.jobID = jobID
        }

        public static func < (a: Order, b: Order) -> Bool {
            if a.started != b.started { return a.started < b.started }
            if a.jobID != b.jobID { return a.jobID < b.jobID }
            if a.final != b.final { return !a.final }
            return a.timestamp < b.timestamp
        }
    }

    /// The forge state of a pici status: `pending` while queued or running, `failure` for a
    /// failed job, `error` for one that never finished on its own.
    public static func state(for status: String) -> State? {
        switch status {
        case "running", "queued": return .pending
        case "success": return .success
        case "failed": return .failure
        case "cancelled", "lost", "timeout": return .error
        default: return nil
        }
    }

    /// "failed (exit 3) in 2m34s", "success in 12s", "running": what the forge shows beside
    /// the mark. A running job's says no more, so that every pass's running line is the same
    /// status and is not sent again.
    public static func describe(status: String, exitCode: Int?, duration: String) -> String {
        var out: String
        switch status {
        case "running": return "running"
        case "queued": return "queued"
        case "failed": out = exitCode.map { "failed (exit \($0))" } ?? "failed"
        case "timeout": out = "timed out"
        default: out = status
        }
        if !duration.isEmpty && status != "lost" { out += " in \(duration)" }
        return out
    }

    /// Why a status line yields no commit status; the line itself is still passed on.
    public enum Skip: Error, Equatable, CustomStringConvertible {
        case notAStatus
        case unknownStatus(String)
        case noEvent(name: String, jobID: String)
        case noCommit(name: String, jobID: String)
        case badCommit(name: String, jobID: String, commit: String)
        case noRepository(name: String, jobID: String)

        public var description: String {
            switch self {
            case .notAStatus: return "not a status line"
            case .unknownStatus(let s): return "status \(SafeName.quoted(s)) has no forge state"
            case .noEvent(let n, let j): return "job \(n) \(j): no readable artifacts/event.json; no commit status"
            case .noCommit(let n, let j): return "job \(n) \(j): its event has no commit; no commit status"
            case .badCommit(let n, let j, let c): return "job \(n) \(j): commit \(SafeName.quoted(c)) is not a hex sha; no commit status"
            case .noRepository(let n, let j):
                return "job \(n) \(j): its event has no repo (owner/name) and there is no --owner; no commit status"
            }
        }
    }

    /// A full git object name: 40 hex digits (SHA-1) or 64 (SHA-256), lowercased.
    public static func normalizedSHA(_ text: String) -> String? {
        let lower = text.lowercased()
        guard lower.utf8.count == 40 || lower.utf8.count == 64,
              lower.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else { return nil }
        return lower
    }

    /// The link to a job's page under `urlBase`, the artifact tree's address.
    public static func targetURL(urlBase: String, name: String, jobID: String) -> String {
        var base = urlBase
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/" + HTML.linkSegment(name) + "/" + HTML.linkSegment(jobID) + "/index.html"
    }

    /// The commit status for one status line, given the job's event (nil when it has none).
    public static func make(
        line: JSONObject, event: Event?, owner: String?, urlBase: String?, context: String = "pici"
    ) throws -> CommitStatus {
        guard let name = line["name"]?.stringValue, let jobID = line["job_id"]?.stringValue,
              let status = line["status"]?.stringValue else { throw Skip.notAStatus }
        guard let state = state(for: status) else { throw Skip.unknownStatus(status) }
        guard let event else { throw Skip.noEvent(name: name, jobID: jobID) }
        if event.commit.isEmpty { throw Skip.noCommit(name: name, jobID: jobID) }
        guard let sha = normalizedSHA(event.commit) else { throw Skip.badCommit(name: name, jobID: jobID, commit: event.commit) }
        let repo: String
        if !event.repo.isEmpty {
            repo = event.repo
        } else if let owner, ForgeRepository.isValid(owner + "/" + name) {
            repo = owner + "/" + name
        } else {
            throw Skip.noRepository(name: name, jobID: jobID)
        }
        let timestamp = line["timestamp"]?.stringValue.flatMap(TimeFormat.parseRFC3339) ?? 0
        // A queued job has not started: older than any job that has, so its end still wins.
        let started = line["started_at"]?.stringValue.flatMap(TimeFormat.parseRFC3339) ?? 0
        return CommitStatus(
            repo: repo, sha: sha, context: context, state: state,
            description: describe(status: status, exitCode: line["exit_code"]?.intValue, duration: line["duration"]?.stringValue ?? ""),
            targetURL: urlBase.map { targetURL(urlBase: $0, name: name, jobID: jobID) },
            order: Order(started: started, final: state != .pending, timestamp: timestamp, jobID: jobID),
            name: name, jobID: jobID)
    }

    /// Whether the forge would show the same thing for both: then the newer need not be sent.
    public func saysTheSame(as other: CommitStatus) -> Bool {
        state == other.state && description == other.description && targetURL == other.targetURL && jobID == other.jobID
    }
}
