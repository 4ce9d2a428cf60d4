import Glibc

/// pici-status: status lines in, the same lines out, and for each job a commit status sent
/// to the forge. Every status is written to the outbox before it is tried, and tried again
/// with backoff until the forge takes it, also across restarts; while none is due the filter
/// just waits for input, so a quiet pipeline still retries on time.
public final class StatusFilter {
    public struct Options: Sendable {
        public var artifactDir: String
        public var client: ForgeClient
        /// `--owner`: the owner of a job's repository when its event has no `repo`.
        public var owner: String?
        /// `--url-base`: where the artifact tree is served, for each status's link.
        public var urlBase: String?
        public var context = "pici"

        public init(artifactDir: String, client: ForgeClient, owner: String? = nil, urlBase: String? = nil) {
            self.artifactDir = artifactDir
            self.client = client
            self.owner = owner
            self.urlBase = urlBase
        }
    }

    let options: Options
    let outbox: StatusOutbox
    let lockPath: String
    /// Entries not yet delivered, by file: what decides how long to wait for input.
    var pending: [String: StatusOutbox.Entry] = [:]
    var events: [String: Event?] = [:]
    /// Jobs already noted as having no commit status, so a running job is noted once.
    var noted: Set<String> = []
    /// A forge that did not answer is not asked again before this (seconds): each unanswered
    /// post holds the pipeline for up to --timeout, and the monitor upstream blocks once its
    /// pipe is full. Doubles with each unanswered round, like an entry's own backoff. In
    /// milliseconds: in whole seconds a 1 s wait could end a moment after it began (a post
    /// that timed out at x.999 s), and the next line asked the silent forge again.
    var forgeQuietUntilMilliseconds = 0
    var unansweredRounds = 0
    public private(set) var status: ExitStatus = .ok

    public init(options: Options) {
        self.options = options
        outbox = StatusOutbox(artifactDir: options.artifactDir, api: options.client.api)
        lockPath = outbox.directory + "/lock"
    }

    // MARK: The loop

    /// Reads `fd` to its end, passing every line on to stdout unchanged, and returns the
    /// exit status: 69 when a status is left undelivered (it stays in the outbox).
    public func run(fd: Int32 = 0) throws -> ExitStatus {
        try FileSystem.makeDirectories(outbox.directory)
        outbox.prune(now: Clock.nowSeconds())
        for (path, entry) in outbox.all() {
            guard let entry else {
                report(.dataError, "\(path): not a commit status entry; left alone")
                continue
            }
            if !entry.done { pending[path] = entry }
        }
        // What an earlier run left is tried at once: the backoff was that run's.
        deliverDue(all: true)

        var buffer: [UInt8] = []
        var skippingLongLine = false
        var lineNumber = 0
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, waitMilliseconds())
            if ready < 0 && errno != EINTR { throw LineReader.ReadError(errno: errno) }
            if ready > 0 {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
                if n < 0 { throw LineReader.ReadError(errno: errno) }
                if n == 0 { break }
                var start = 0
                for i in 0..<n where chunk[i] == 0x0A {
                    let piece = chunk[start...i]
                    start = i + 1
                    lineNumber += 1
                    if skippingLongLine {
                        try Output.writeAll(fd: 1, Array(piece))
                        skippingLongLine = false
                        continue
                    }
                    buffer.append(contentsOf: piece)
                    try line(buffer, number: lineNumber)
                    buffer.removeAll(keepingCapacity: true)
                    // Each line's status goes out before the next is read, so the forge sees
                    // every state a job passed through, in order.
                    deliverDue()
                }
                if start < n {
                    if skippingLongLine {
                        try Output.writeAll(fd: 1, Array(chunk[start..<n]))
                    } else {
                        buffer.append(contentsOf: chunk[start..<n])
                        if buffer.count > LineReader.maxLineLength {
                            // Passed on as it streams; too long to be a status line.
                            report(.dataError, "line \(lineNumber + 1): longer than \(LineReader.maxLineLength) bytes; passed on unread")
                            try Output.writeAll(fd: 1, buffer)
                            buffer.removeAll()
                            skippingLongLine = true
                        }
                    }
                }
            }
            deliverDue()
        }
        if !buffer.isEmpty { try line(buffer, number: lineNumber + 1) }
        deliverDue()
        if !pending.isEmpty {
            report(.unavailable, "\(pending.count) commit status\(pending.count == 1 ? "" : "es") not delivered yet; "
                + "kept in \(outbox.directory) for the next run")
        }
        return status
    }

    /// How long poll may wait: until the next retry is due, or for ever.
    func waitMilliseconds() -> Int32 {
        guard let due = pending.values.map(\.nextAt).min() else { return -1 }
        let next = max(due * 1000, forgeQuietUntilMilliseconds)
        let left = next - Clock.nowNanoseconds() / 1_000_000
        return Int32(max(0, min(left, 3_600_000)))
    }

    /// One input line (with its newline, if it had one): enqueued, then passed on.
    func line(_ bytes: [UInt8], number: Int) throws {
        var body = bytes
        if body.last == 0x0A { body.removeLast() }
        if body.last == 0x0D { body.removeLast() }
        if !body.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
            do {
                if case .object(let o) = try JSONParser.parse(body) { take(o) }
            } catch {
                report(.dataError, "line \(number): \(error); passed on")
            }
        }
        try Output.writeAll(fd: 1, bytes)
    }

    // MARK: Statuses

    /// Turns a status line into a commit status and writes it to the outbox, unless the
    /// outbox already holds a newer one, or the same, for that commit.
    func take(_ line: JSONObject) {
        if let type = line["type"], type.stringValue != "status" { return }
        guard let name = line["name"]?.stringValue, let jobID = line["job_id"]?.stringValue,
              line["status"]?.stringValue != nil else { return }
        guard SafeName.isSafe(name), SafeName.isSafe(jobID) else {
            note(name, jobID, "job \(SafeName.quoted(name)) \(SafeName.quoted(jobID)): unsafe name; no commit status")
            return
        }
        let made: CommitStatus
        do {
            made = try CommitStatus.make(
                line: line, event: event(name, jobID), owner: options.owner, urlBase: options.urlBase, context: options.context)
        } catch {
            note(name, jobID, "\(error)")
            return
        }
        do {
            let lock = try FileLock(path: lockPath)
            defer { lock.release() }
            let path = outbox.path(for: made)
            var entry = StatusOutbox.Entry(status: made)
            if let old = outbox.read(path) {
                if made.order <= old.status.order { return }
                if old.status.saysTheSame(as: made) {
                    if old.done { return }
                    entry = old
                    entry.status.order = made.order
                }
            }
            try outbox.write(entry)
            pending[path] = entry
        } catch {
            report(.cannotCreate, "job \(name) \(jobID): \(error); no commit status")
        }
    }

    /// Tries every entry whose time has come (every one, with `all`).
    func deliverDue(all: Bool = false) {
        let now = all ? Int.max : Clock.nowSeconds()
        if !all && Clock.nowNanoseconds() / 1_000_000 < forgeQuietUntilMilliseconds { return }
        for path in pending.keys.sorted() {
            guard let mine = pending[path], mine.nextAt <= now else { continue }
            do {
                let lock = try FileLock(path: lockPath)
                defer { lock.release() }
                // Another pici-status on this dir may have moved it on.
                guard var entry = outbox.read(path), !entry.done else {
                    pending[path] = nil
                    continue
                }
                guard entry.nextAt <= now else {
                    pending[path] = entry
                    continue
                }
                let s = entry.status
                let what = "\(s.repo) \(s.sha.prefix(12)) \(s.state.rawValue) (job \(s.name) \(s.jobID))"
                switch options.client.post(s) {
                case .delivered:
                    entry.done = true
                    entry.lastError = ""
                    unansweredRounds = 0
                case .retry(let reason, let answered):
                    entry.attempts += 1
                    let wait = StatusOutbox.backoff(attempts: entry.attempts)
                    entry.nextAt = Clock.nowSeconds() + wait
                    entry.lastError = reason
                    Diagnostics.error("forge: \(what): \(reason); retrying in \(wait)s")
                    if !answered {
                        // The others would wait as long: they go with a later round.
                        unansweredRounds += 1
                        forgeQuietUntilMilliseconds = Clock.nowNanoseconds() / 1_000_000 + 1000 * StatusOutbox.backoff(attempts: unansweredRounds)
                        try outbox.write(entry)
                        pending[path] = entry
                        return
                    }
                case .rejected(let reason):
                    entry.done = true
                    entry.lastError = reason
                    report(.unavailable, "forge: \(what): \(reason); not retried")
                }
                try outbox.write(entry)
                pending[path] = entry.done ? nil : entry
            } catch {
                report(.cannotCreate, "\(error)")
                pending[path] = nil
            }
        }
    }

    /// The job's event.json, read once; nil when there is none or it cannot be read.
    func event(_ name: String, _ jobID: String) -> Event? {
        let key = name + "\u{0}" + jobID
        if let cached = events[key] { return cached }
        if events.count > 4096 { events.removeAll() }
        let path = JobArtifacts.artifactsDir(artifactDir: options.artifactDir, name: name, jobID: jobID) + "/event.json"
        let found = (try? FileSystem.readFile(path, limit: Event.maxSize + 1)).flatMap { try? Event.parse($0, for: .cancel) }
        // A job without one is looked at again next time: pici-run may not have written it yet.
        if found != nil { events[key] = found }
        return found
    }

    func note(_ name: String, _ jobID: String, _ message: String) {
        guard noted.insert(name + "\u{0}" + jobID).inserted else { return }
        Diagnostics.error(message)
    }

    func report(_ outcome: ExitStatus, _ message: String) {
        Diagnostics.error(message)
        if outcome.rawValue > status.rawValue { status = outcome }
    }
}

/// pici-status's flag values, checked before anything is read: each becomes part of a URL or
/// of the JSON the forge shows.
public enum StatusOptions {
    /// The options of a command line; throws a UsageError, or ForgeClient.Refused for the
    /// token file.
    public static func parse(_ args: Arguments) throws -> StatusFilter.Options {
        func usage(_ message: String) -> Arguments.UsageError { Arguments.UsageError(message: message) }
        if let extra = args.positionals.first { throw usage("unexpected argument \(extra)") }
        guard let forgeName = args.value("forge") else { throw usage("--forge gitea|github is required") }
        guard let kind = ForgeClient.Kind(rawValue: forgeName) else {
            throw usage("--forge: \(SafeName.quoted(forgeName)) is not gitea or github")
        }
        guard let api = args.value("api") else { throw usage("--api URL is required") }
        guard let tokenFile = args.value("token-file") else { throw usage("--token-file FILE is required") }
        let timeout = try args.duration("timeout", default: ForgeClient.defaultTimeout)
        guard timeout > 0 else { throw usage("--timeout must be more than 0") }
        try check(owner: args.value("owner"), urlBase: args.value("url-base"), context: args.value("context"), api: api)
        let artifactDir = args.value("artifact-dir") ?? FileSystem.environment("PICI_ARTIFACT_DIR").flatMap { $0.isEmpty ? nil : $0 }
            ?? "/tmp/pici-artifacts"
        guard !artifactDir.isEmpty else { throw usage("--artifact-dir is empty") }
        var options = StatusFilter.Options(
            artifactDir: artifactDir,
            client: ForgeClient(kind: kind, api: api, token: try ForgeClient.token(fromFile: tokenFile), timeout: timeout),
            owner: args.value("owner"), urlBase: args.value("url-base"))
        if let context = args.value("context") { options.context = context }
        return options
    }

    public static func check(owner: String?, urlBase: String?, context: String?, api: String) throws {
        func usage(_ message: String) -> Arguments.UsageError { Arguments.UsageError(message: message) }
        do { try ForgeClient.checkAPI(api) } catch { throw usage("\(error)") }
        if let owner, !ForgeRepository.isValidPart(owner) {
            throw usage("--owner \(SafeName.quoted(owner)): letters, digits, ., _ and - only")
        }
        if let urlBase {
            guard urlBase.hasPrefix("https://") || urlBase.hasPrefix("http://"),
                  !urlBase.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F })
            else { throw usage("--url-base \(SafeName.quoted(urlBase)): not an http:// or https:// URL") }
        }
        if let context {
            guard !context.isEmpty, context.utf8.count <= 100,
                  !context.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
            else { throw usage("--context \(SafeName.quoted(context)): empty, too long or holds a control character") }
        }
    }
}
