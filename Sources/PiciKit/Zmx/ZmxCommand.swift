/// How pici calls zmx: the words of `$PICI_ZMX` (default `zmx`), or of `--zmx CMD`, so that
/// `PICI_ZMX="ssh builder1 zmx"` watches another host.
public struct ZmxCommand: Sendable {
    public var words: [String]
    /// Seconds one zmx call may take before it is killed and reported.
    public var timeout: Double
    /// The words are `ssh … DESTINATION`: zmx's arguments go to the remote shell quoted.
    public var remote = false

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
    /// carry zmx's own message. On a remote host `cwd` becomes a `cd` on the host and
    /// `hostEnvironment` (NAME=VALUE) is set there for zmx; here `environment` is the whole
    /// environment of the process started (zmx, or ssh). `cutOK` as for `checked`.
    public func run(_ args: [String], cwd: String? = nil, environment: [String]? = nil, hostEnvironment: [String] = [], check: Bool = true, cutOK: Bool = false) throws -> Spawn.Result {
        try checked(try start(args, cwd: cwd, environment: environment, hostEnvironment: hostEnvironment).wait(), args, check: check, cutOK: cutOK)
    }

    /// Starts one zmx command for a `ChildPool`; `checked` reads its result as `run` does.
    public func start(_ args: [String], cwd: String? = nil, environment: [String]? = nil, hostEnvironment: [String] = []) throws -> Child {
        let argv = argv(args, cwd: cwd, hostEnvironment: hostEnvironment)
        do {
            return try Spawn.start(argv, cwd: remote ? nil : cwd, environment: environment, timeout: timeout)
        } catch let e as Spawn.Failure {
            throw Failure(command: display(args), reason: e.errno == 2 ? "command not found (set PICI_ZMX or --zmx)" : e.description)
        }
    }

    /// The words to run for zmx command `args`: over ssh, one quoted line for the remote shell.
    public func argv(_ args: [String], cwd: String? = nil, hostEnvironment: [String] = []) -> [String] {
        remote ? words + [RemoteShell.line(["zmx"] + args, cwd: cwd, environment: hostEnvironment)] : words + args
    }

    /// The command as a person would type it, for messages.
    func display(_ args: [String]) -> String {
        ([display] + (remote ? ["zmx"] : []) + args).joined(separator: " ")
    }

    /// How the zmx command `args` ended: its result, or a Failure for a timeout, for output
    /// past `Child.captureLimit` (unless `cutOK`: the caller keeps the head and says it was
    /// cut), or (with `check`) a non-zero exit, with zmx's (or ssh's) last words.
    public func checked(_ result: Spawn.Result, _ args: [String], check: Bool = true, cutOK: Bool = false) throws -> Spawn.Result {
        if result.cut {
            guard cutOK else { throw Failure(command: display(args), reason: "printed more than \(Child.captureLimit >> 20) MiB and was killed") }
            return result
        }
        if result.timedOut { throw Failure(command: display(args), reason: "timed out after \(TimeFormat.seconds(timeout)) and was killed") }
        if check && result.status != 0 {
            let message = result.stderrText.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
            throw Failure(command: display(args), reason: "exit \(result.status)" + (message.isEmpty ? "" : ": \(message)"))
        }
        return result
    }

    /// A session's history as plain text, its rows as the terminal holds them: the text of
    /// `history NAME --html` (`HistoryText`). Plain `zmx history` drops each row's trailing
    /// blanks, a wrapped row's too, so a line wrapped at a blank would read as two lines (a
    /// typed command line among them), and a line the build ended with blanks would differ
    /// from the same line through `zmx tail`.
    public func historyText(_ session: String, environment: [String]? = nil) throws -> String {
        HistoryText.plain(fromHTML: try run(["history", session, "--html"], environment: environment).stdout)
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
