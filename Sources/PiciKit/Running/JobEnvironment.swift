/// The environment a job starts with: a known one, not the caller's. Whoever runs pici-run
/// may hold tokens in their shell; a step that runs `env` must not print them.
///
/// In order, a later entry replacing an earlier one of the same name:
/// - `PATH`, `HOME`, `USER`, `LANG` and `TERM` as the caller has them;
/// - zmx's own variables (`ZMX_*`, such as `ZMX_DIR`) and `XDG_RUNTIME_DIR` and `TMPDIR`,
///   which say where zmx keeps its sockets: the steps' `zmx run` must reach the same ones;
/// - each `--pass-env NAME` the caller has;
/// - the `NAME=VALUE` lines of `--env-file` files, then of the event's `env_file`;
/// - the lines of `--secret-env-file` files, whose values are also masked;
/// - `PICO_CI_JOB_ID`, `PICO_CI_REPO`, `PICO_CI_EVENT_TYPE`; then, added by `Launch.start`,
///   JobFiles' `PICO_CI_BRANCH`, `PICO_CI_COMMIT`, `PICO_CI_EVENT`, `PICO_CI_ARTIFACTS`.
/// `ZMX_SESSION_PREFIX` and `ZMX_SESSION` never pass: zmx run sets what the job needs.
public struct JobEnvironment: Sendable {
    public static let kept = ["PATH", "HOME", "USER", "LANG", "TERM", "XDG_RUNTIME_DIR", "TMPDIR"]

    public var passed: [String] = []
    public var envFiles: [String] = []
    public var secretEnvFiles: [String] = []

    public init(passed: [String] = [], envFiles: [String] = [], secretEnvFiles: [String] = []) {
        self.passed = passed
        self.envFiles = envFiles
        self.secretEnvFiles = secretEnvFiles
    }

    /// Why an env file could not be used.
    public struct Problem: Error, CustomStringConvertible, Equatable {
        public var message: String
        /// 66 for a file that cannot be read, 65 for one that is not NAME=VALUE lines, 64 for
        /// a secret too short to mask.
        public var status: ExitStatus
        public var description: String { message }
    }

    /// Checks the flags' names and reads the secret files, adding their values to `masker`:
    /// done before anything is printed or written, so that no secret is shown even once.
    public func secrets(into masker: inout Masker) throws -> [(name: String, value: String)] {
        for name in passed where !EnvFile.isName(name) {
            throw Problem(message: "--pass-env: \(SafeName.quoted(name)) is not a variable name", status: .usage)
        }
        var out: [(String, String)] = []
        for path in secretEnvFiles {
            let pairs = try JobEnvironment.read(path, flag: "--secret-env-file")
            for (i, pair) in pairs.enumerated() {
                do { try masker.add(pair.value, origin: "--secret-env-file \(path): \(pair.name)") } catch {
                    throw Problem(message: "\(error) (entry \(i + 1))", status: .usage)
                }
                out.append(pair)
            }
        }
        return out
    }

    /// An env file's assignments, its problems as `Problem`s.
    public static func read(_ path: String, flag: String) throws -> [(name: String, value: String)] {
        do {
            return try EnvFile.read(path)
        } catch let e as FileError {
            throw Problem(message: "\(flag) \(path): \(String(cString: strerror(e.errno)))", status: .noInput)
        } catch {
            throw Problem(message: "\(flag) \(error)", status: .dataError)
        }
    }

    /// The environment for `zmx run`: `current` is the caller's (`NAME=VALUE` entries),
    /// `files` the assignments of the env files in order, `secrets` those of the secret files.
    public func entries(
        current: [String], files: [(name: String, value: String)], secrets: [(name: String, value: String)],
        event: Event, jobID: String
    ) -> [String] {
        var order: [String] = []
        var values: [String: String] = [:]
        func set(_ name: String, _ value: String) {
            if values[name] == nil { order.append(name) }
            values[name] = value
        }
        let wanted = Set(JobEnvironment.kept + passed)
        for entry in current {
            guard let eq = entry.firstIndex(of: "=") else { continue }
            let name = String(entry[..<eq])
            let zmxOwn = name.hasPrefix("ZMX_") && name != "ZMX_SESSION_PREFIX" && name != "ZMX_SESSION"
            if wanted.contains(name) || zmxOwn { set(name, String(entry[entry.index(after: eq)...])) }
        }
        for (name, value) in files + secrets where name != "ZMX_SESSION_PREFIX" && name != "ZMX_SESSION" {
            set(name, value)
        }
        set("PICO_CI_JOB_ID", jobID)
        set("PICO_CI_REPO", event.name)
        set("PICO_CI_EVENT_TYPE", event.type)
        return order.map { "\($0)=\(values[$0]!)" }
    }
}

import Glibc
