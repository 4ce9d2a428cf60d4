/// How pici calls zmx: the words of `$PICI_ZMX` (default `zmx`), or of `--zmx CMD`, so that
/// `PICI_ZMX="ssh builder1 zmx"` watches another host.
public struct ZmxCommand: Sendable {
    public var words: [String]
    /// Seconds one zmx call may take before it is killed and reported.
    public var timeout: Double

    public static let defaultTimeout = 30.0

    public init(override: String? = nil, timeout: Double = ZmxCommand.defaultTimeout) {
        let text = override ?? FileSystem.environment("PICI_ZMX") ?? "zmx"
        let split = text.split(separator: " ").map(String.init)
        words = split.isEmpty ? ["zmx"] : split
        self.timeout = timeout
    }

    public var display: String { words.joined(separator: " ") }

    public struct Failure: Error, CustomStringConvertible {
        public var command: String
        public var reason: String
        public var description: String { "\(command): \(reason)" }
    }

    /// Runs one zmx command; a start failure, a timeout and a non-zero exit are Failures that
    /// carry zmx's own message.
    public func run(_ args: [String], cwd: String? = nil, environment: [String]? = nil, check: Bool = true) throws -> Spawn.Result {
        try checked(try start(args, cwd: cwd, environment: environment).wait(), args, check: check)
    }

    /// Starts one zmx command for a `ChildPool`; `checked` reads its result as `run` does.
    public func start(_ args: [String], cwd: String? = nil, environment: [String]? = nil) throws -> Child {
        do {
            return try Spawn.start(words + args, cwd: cwd, environment: environment, timeout: timeout)
        } catch let e as Spawn.Failure {
            let display = ([self.display] + args).joined(separator: " ")
            throw Failure(command: display, reason: e.errno == 2 ? "command not found (set PICI_ZMX or --zmx)" : e.description)
        }
    }

    /// How the zmx command `args` ended: its result, or a Failure for a timeout or (with
    /// `check`) a non-zero exit.
    public func checked(_ result: Spawn.Result, _ args: [String], check: Bool = true) throws -> Spawn.Result {
        let display = ([self.display] + args).joined(separator: " ")
        if result.timedOut { throw Failure(command: display, reason: "timed out after \(TimeFormat.seconds(timeout)) and was killed") }
        if check && result.status != 0 {
            let message = result.stderrText.split(separator: "\n").last.map(String.init) ?? ""
            throw Failure(command: display, reason: "exit \(result.status)" + (message.isEmpty ? "" : ": \(message)"))
        }
        return result
    }

    /// `zmx list`, parsed.
    public func list() throws -> (list: ZmxList, startedNanoseconds: Int) {
        let started = Clock.nowNanoseconds()
        let result = try run(["list"])
        return (ZmxList.parse(result.stdout), started)
    }

    public func kill(_ names: [String]) throws {
        guard !names.isEmpty else { return }
        _ = try run(["kill"] + names)
    }
}

extension TimeFormat {
    /// A timeout for messages: `30s`, `1.5s`.
    public static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))s" : "\(value)s"
    }
}
