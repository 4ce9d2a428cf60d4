/// What pici-run is asked to run: the seed's Event JSON (`type`, `name`, `workspace`, `branch`,
/// `commit`, `artifact_dest`, `force_push`). Only a checked event exists: the name becomes
/// session names and paths, the workspace and destination become rsync arguments.
public struct Event: Equatable, Sendable {
    public var type: String
    public var name: String
    public var workspace: String
    public var branch: String
    public var commit: String
    public var artifactDest: String
    public var forcePush: Bool
    /// The build host to run on (a name from the hosts file); empty: pici-run chooses.
    public var host: String = ""
    /// `host_placed`: pici-run chose `host` itself (the event named none), as event.json
    /// records it. Such a host is where the job ran, not a request: run again (`--rerun`),
    /// the event is placed as a new one would be.
    public var hostPlaced = false
    /// `env_file`: a file of the workspace, relative to its root, whose NAME=VALUE lines are
    /// added to the job's environment; empty when the event names none.
    public var envFile = ""
    /// The job's time limit as written (`90s`, `30m`, `2h`); empty for none.
    public var timeout: String = ""

    /// `timeout` in seconds, nil for none.
    public var timeoutSeconds: Double? { timeout.isEmpty ? nil : TimeFormat.parseDuration(timeout) }
    /// The forge repository, `owner/name`, that pici-status posts commit statuses to; empty
    /// when the event names none.
    public var repo: String = ""

    public init(
        type: String, name: String, workspace: String, branch: String = "", commit: String = "",
        artifactDest: String = "", forcePush: Bool = false
    ) {
        self.type = type
        self.name = name
        self.workspace = workspace
        self.branch = branch
        self.commit = commit
        self.artifactDest = artifactDest
        self.forcePush = forcePush
    }

    /// What an event must carry: a job needs all three of the seed's required fields, a
    /// cancellation only the repository name.
    public enum Purpose: Sendable {
        case run, cancel
    }

    /// The longest event text read; real ones are a few hundred bytes.
    public static let maxSize = 1 << 20

    /// Parses and checks an event. Throws one EventError, for the first thing wrong, in the
    /// order: the text, each field's JSON type, the required fields, each field's value.
    public static func parse(_ bytes: [UInt8], for purpose: Purpose = .run) throws -> Event {
        if bytes.count > maxSize { throw EventError(field: nil, reason: "longer than \(maxSize) bytes") }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            throw EventError(field: nil, reason: "empty (give the event JSON on stdin or with --event)")
        }
        let value: JSON
        do { value = try JSONParser.parse(bytes) } catch let e as JSONError {
            throw EventError(field: nil, reason: e.description)
        }
        guard case .object(let object) = value else { throw EventError(field: nil, reason: "not a JSON object") }

        var strings: [String: String] = [:]
        for key in ["type", "name", "workspace", "branch", "commit", "artifact_dest", "host", "timeout", "repo"] {
            switch member(object, key) {
            case nil, .null?: break
            case .string(let s)?: strings[key] = s
            default: throw EventError(field: key, reason: "not a string")
            }
        }
        var forcePush = false
        switch member(object, "force_push") {
        case nil, .null?: break
        case .bool(let b)?: forcePush = b
        default: throw EventError(field: "force_push", reason: "not true or false")
        }

        var hostPlaced = false
        switch member(object, "host_placed") {
        case nil, .null?: break
        case .bool(let b)?: hostPlaced = b
        default: throw EventError(field: "host_placed", reason: "not true or false")
        }

        var envFile = ""
        switch member(object, "env_file") {
        case nil, .null?: break
        case .string(let s)?: envFile = s
        default: throw EventError(field: "env_file", reason: "not a string")
        }

        let required = purpose == .run ? ["type", "name", "workspace"] : ["name"]
        for key in required {
            guard let s = strings[key] else { throw EventError(field: key, reason: "missing (required)") }
            if s.isEmpty { throw EventError(field: key, reason: "empty (required)") }
        }
        var event = Event(
            type: strings["type"] ?? "", name: strings["name"] ?? "", workspace: strings["workspace"] ?? "",
            branch: strings["branch"] ?? "", commit: strings["commit"] ?? "",
            artifactDest: strings["artifact_dest"] ?? "", forcePush: forcePush)
        event.host = strings["host"] ?? ""
        event.hostPlaced = hostPlaced && !event.host.isEmpty
        event.timeout = strings["timeout"] ?? ""
        event.repo = strings["repo"] ?? ""
        try event.check()
        try Event.checkEnvFile(envFile)
        return event.with(envFile: envFile)
    }

    /// Reads the event from the `--event` text when given, else from all of stdin.
    public static func read(argument: String?, for purpose: Purpose = .run) throws -> Event {
        let bytes = try argument.map { Array($0.utf8) } ?? FileSystem.readAll(fd: 0)
        return try parse(bytes, for: purpose)
    }

    /// Go's encoding/json matches keys case-insensitively when no key matches exactly, and the
    /// last of several wins; the seed read events that way, so we do too.
    private static func member(_ object: JSONObject, _ key: String) -> JSON? {
        if let exact = object[key] { return exact }
        return object.members.last(where: { $0.key.lowercased() == key })?.value
    }

    /// The value checks: a name safe as a path component, a zmx session name part and a shell
    /// word; a type without control characters; a workspace and a destination that rsync
    /// cannot take for options.
    public func check() throws {
        if !name.isEmpty {
            do { try SafeName.checkRepository(name) } catch let e as SafeName.Unsafe {
                throw EventError(field: "name", reason: e.reason)
            }
            // Session names are split back into repo and job id by shape; a name that holds a
            // job id followed by `runner` or `step` would be read back as another repo.
            if JobName.parse("ci.\(name).00000000.runner")?.repo != name {
                throw EventError(field: "name", reason: "contains a job id followed by runner or step")
            }
        }
        if !host.isEmpty && !Host.isValidName(host) {
            throw EventError(field: "host", reason: "not a host name (letters, digits, . _ -)")
        }
        if !timeout.isEmpty {
            guard let seconds = TimeFormat.parseDuration(timeout), seconds > 0 else {
                throw EventError(field: "timeout", reason: "not a duration above 0 (like 90s, 30m, 2h)")
            }
        }
        // The type is printed on the terminal and exported to pico.sh as it is.
        if type.unicodeScalars.contains(where: Event.isControl) {
            throw EventError(field: "type", reason: "contains a control character")
        }
        if !repo.isEmpty && !ForgeRepository.isValid(repo) {
            throw EventError(field: "repo", reason: "not owner/name (letters, digits, ., _ and - only)")
        }
        // Both are exported to pico.sh and shown on pages; a branch also names a destination.
        for (key, value) in [("branch", branch), ("commit", commit)] where value.unicodeScalars.contains(where: Event.isControl) {
            throw EventError(field: key, reason: "contains a control character")
        }
        do { try ArtifactDestination.check(artifactDest, branch: branch, commit: commit) } catch {
            throw EventError(field: "artifact_dest", reason: "\(error)")
        }
        for (key, value) in [("workspace", workspace), ("artifact_dest", artifactDest)] {
            if value.hasPrefix("-") { throw EventError(field: key, reason: "starts with -") }
            if value.unicodeScalars.contains(where: Event.isControl) {
                throw EventError(field: key, reason: "contains a control character")
            }
        }
    }

    /// An `env_file` names a file inside the workspace: relative, without `..`.
    static func checkEnvFile(_ path: String) throws {
        if path.isEmpty { return }
        if path.hasPrefix("/") { throw EventError(field: "env_file", reason: "not relative to the workspace") }
        if path.split(separator: "/").contains(where: { $0 == ".." }) { throw EventError(field: "env_file", reason: "goes out of the workspace (..)") }
        if path.unicodeScalars.contains(where: Event.isControl) { throw EventError(field: "env_file", reason: "contains a control character") }
    }

    func with(envFile: String) -> Event {
        var copy = self
        copy.envFile = envFile
        return copy
    }

    static func isControl(_ u: Unicode.Scalar) -> Bool {
        u.value < 0x20 || u.value == 0x7F || (0x80...0x9F).contains(u.value)
    }

    /// The event as the seed's json.Marshal wrote it (event.json and the progress line): the
    /// fields in declaration order, `force_push` only when true, Go's string escaping.
    public var seedJSON: String {
        var out = "{"
        out += "\"type\":" + GoJSON.quote(type)
        out += ",\"name\":" + GoJSON.quote(name)
        out += ",\"workspace\":" + GoJSON.quote(workspace)
        out += ",\"branch\":" + GoJSON.quote(branch)
        out += ",\"commit\":" + GoJSON.quote(commit)
        out += ",\"artifact_dest\":" + GoJSON.quote(artifactDest)
        if forcePush { out += ",\"force_push\":true" }
        // Beyond the seed's fields, and only when set, so the seed's line stays as it was.
        // Every field pici-run reads is here: event.json is what --rerun and the queue run.
        if !host.isEmpty { out += ",\"host\":" + GoJSON.quote(host) }
        if hostPlaced && !host.isEmpty { out += ",\"host_placed\":true" }
        if !timeout.isEmpty { out += ",\"timeout\":" + GoJSON.quote(timeout) }
        if !envFile.isEmpty { out += ",\"env_file\":" + GoJSON.quote(envFile) }
        if !repo.isEmpty { out += ",\"repo\":" + GoJSON.quote(repo) }
        return out + "}"
    }
}

/// Why an event was refused: the field (nil for the text as a whole) and what is wrong.
public struct EventError: Error, Equatable, CustomStringConvertible {
    public var field: String?
    public var reason: String

    public init(field: String?, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String {
        if let field { return "event: \"\(field)\": \(reason)" }
        return "event: \(reason)"
    }
}
