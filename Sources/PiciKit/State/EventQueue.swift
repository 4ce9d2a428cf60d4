/// Events waiting for a free slot on a host: `DIR/.pici/queue/<queued_at_ns>.<name>.<job_id>.json`,
/// one file an event, written atomically, so a queue survives a kill -9 at any point. The job
/// id is fixed when the event is queued, so the queued job has its name on the pages and its
/// status line before it runs. A monitor pass dispatches them oldest first.
public struct QueuedEvent: Equatable, Sendable {
    public var event: Event
    public var jobID: String
    public var queuedAtNanoseconds: Int
    /// The host the event or `--host` asked for, if any.
    public var host: String?

    public init(event: Event, jobID: String, queuedAtNanoseconds: Int, host: String?) {
        self.event = event
        self.jobID = jobID
        self.queuedAtNanoseconds = queuedAtNanoseconds
        self.host = host
    }

    /// The file's name: the time first, so that names sort oldest first.
    public var fileName: String {
        let ns = String(queuedAtNanoseconds)
        return String(repeating: "0", count: max(0, 20 - ns.utf8.count)) + ns + "." + event.name + "." + jobID + ".json"
    }

    public var json: JSON {
        var o = JSONObject()
        o.append("event", .string(event.seedJSON))
        o.append("job_id", .string(jobID))
        o.append("queued_at_ns", .int(queuedAtNanoseconds))
        o.append("host", host.map(JSON.string) ?? .null)
        return .object(o)
    }

    public init(bytes: [UInt8]) throws {
        guard case .object(let o) = try JSONParser.parse(bytes) else { throw EventQueue.Corrupt(reason: "not an object") }
        guard let text = o["event"]?.stringValue else { throw EventQueue.Corrupt(reason: "no event") }
        guard let id = o["job_id"]?.stringValue, SafeName.isJobID(Substring(id)) else { throw EventQueue.Corrupt(reason: "no job id") }
        guard let at = o["queued_at_ns"]?.intValue else { throw EventQueue.Corrupt(reason: "no queued_at_ns") }
        self.init(event: try Event.parse(Array(text.utf8)), jobID: id, queuedAtNanoseconds: at, host: o["host"]?.stringValue)
    }
}

public enum EventQueue {
    public struct Corrupt: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { "not a queued event: \(reason)" }
    }

    public static func directory(artifactDir: String) -> String {
        FileSystem.join(artifactDir, ".pici", "queue")
    }

    public static func add(_ entry: QueuedEvent, artifactDir: String) throws {
        let dir = directory(artifactDir: artifactDir)
        try FileSystem.makeDirectories(dir)
        var bytes = JSONSerializer.bytes(entry.json)
        bytes.append(0x0A)
        try FileSystem.writeAtomically(dir + "/" + entry.fileName, bytes)
    }

    public static func remove(_ entry: QueuedEvent, artifactDir: String) throws {
        try FileSystem.remove(directory(artifactDir: artifactDir) + "/" + entry.fileName)
    }

    /// Every queued event, oldest first; a file that cannot be read is passed to `report`
    /// and left where it is for a person to look at.
    public static func all(artifactDir: String, report: (String, Error) -> Void = { _, _ in }) -> [QueuedEvent] {
        let dir = directory(artifactDir: artifactDir)
        var out: [QueuedEvent] = []
        for file in FileSystem.list(dir).sorted() where file.hasSuffix(".json") && !file.hasPrefix(".") {
            let path = dir + "/" + file
            do {
                out.append(try QueuedEvent(bytes: try FileSystem.readFile(path, limit: Event.maxSize + 4096)))
            } catch {
                report(path, error)
            }
        }
        return out
    }
}
