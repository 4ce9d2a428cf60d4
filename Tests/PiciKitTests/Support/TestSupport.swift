import Foundation
import XCTest
@testable import PiciKit

/// What the end-to-end tests share: where the built tools and the stand-in zmx are, a private
/// ZMX_DIR per test, and a way to run a shell pipeline and see everything it did.
enum Support {
    /// The package root, found from this file's path.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Where the built executables are: `$PICI_BIN`, else next to the test bundle.
    static let binDir: String = {
        if let env = ProcessInfo.processInfo.environment["PICI_BIN"], !env.isEmpty { return env }
        var url = Bundle.main.bundleURL
        if url.pathExtension == "xctest" { url.deleteLastPathComponent() }
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("pici-list").path) { return url.path }
        for candidate in [".build/debug", ".build/release"] {
            let dir = root.appendingPathComponent(candidate).path
            if FileManager.default.fileExists(atPath: dir + "/pici-list") { return dir }
        }
        return url.path
    }()

    static let standInDir = root.appendingPathComponent("Tests/Support/bin").path
    static let scriptsDir = root.appendingPathComponent("bin").path
    static let goldenDir = root.appendingPathComponent("Tests/PiciKitTests/Golden").path

    /// A fresh temp directory, removed when the test ends, with the workspace copies of the
    /// jobs an artifact dir in it recorded.
    /// Polls `condition` every 0.1 s until it holds; a failure naming `what` at the caller's
    /// line when it has not after `seconds`.
    static func waitFor(_ what: String, seconds: Double = 30, file: StaticString = #filePath, line: UInt = #line, _ condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return }
            usleep(100_000)
        }
        if !condition() { XCTFail("timed out waiting for \(what)", file: file, line: line) }
    }

    static func tempDir(_ test: XCTestCase, _ label: String = "pici") -> String {
        let path = NSTemporaryDirectory() + "\(label)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        test.addTeardownBlock {
            removeWorkspaceCopies(under: path)
            try? FileManager.default.removeItem(atPath: path)
        }
        return path
    }

    /// A job's workspace copies live outside its artifact dir: in the temp dir of the machine
    /// that ran pici-run, and on a host in its /tmp/pici-XXXXXX, and are removed only `--keep`
    /// after the job is published, or by gc. A test's jobs rarely live that long, so the
    /// copies its artifact dirs (`DIR` or `DIR/*`) recorded go with the test. The tests'
    /// hosts are sshd on 127.0.0.1: their copies are on this machine too. Only a path of the
    /// shapes pici-run makes is removed, so another test's files are never touched.
    static func removeWorkspaceCopies(under dir: String) {
        let fm = FileManager.default
        let subdirs = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).map { dir + "/" + $0 }
        for artifactDir in [dir] + subdirs {
            let launches = Launches.directory(artifactDir: artifactDir)
            for file in (try? fm.contentsOfDirectory(atPath: launches)) ?? [] where file.hasSuffix(".json") {
                guard let bytes = try? FileSystem.readFile(launches + "/" + file, limit: 1 << 20),
                      case .object(let o)? = try? JSONParser.parse(bytes), let record = try? LaunchRecord(json: o)
                else { continue }
                for copy in record.workspaces() { _ = Workspace.remove(copy) }
                if let remote = record.remoteWorkspace, RemoteWorkspace.isCopyPath(remote) { try? fm.removeItem(atPath: remote) }
            }
        }
    }

    /// A fresh artifact dir that a monitor has passed over (it has pici-publish's lock file),
    /// so pici-run does not warn that no monitor watches it.
    static func artifactDir(_ test: XCTestCase) -> String {
        let path = tempDir(test, "art")
        try! FileManager.default.createDirectory(atPath: path + "/.pici", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path + "/.pici/lock", contents: nil)
        return path
    }

    /// What `body` writes on this process's stderr (our Diagnostics), instead of showing it.
    static func capturingStderr(_ body: () throws -> Void) throws -> String {
        let file = NSTemporaryDirectory() + "pici-stderr-\(UUID().uuidString)"
        let fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw FileError("open", file) }
        defer { try? FileManager.default.removeItem(atPath: file) }
        let saved = dup(2)
        dup2(fd, 2)
        close(fd)
        defer {
            dup2(saved, 2)
            close(saved)
        }
        try body()
        return (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
    }

    struct Ran {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// An environment with the built tools, bin/ and the stand-in zmx first on PATH (and the
    /// tools in PICI_BIN), a private ZMX_DIR, and no inherited zmx or pici variables.
    static func environment(zmxDir: String, extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = [binDir, scriptsDir, standInDir, env["PATH"] ?? "/usr/bin:/bin"].joined(separator: ":")
        env["ZMX_DIR"] = zmxDir
        // The wrappers in bin/ look here before the checkout's .build/release, which may be stale.
        env["PICI_BIN"] = binDir
        env.removeValue(forKey: "ZMX_SESSION")
        env.removeValue(forKey: "ZMX_SESSION_PREFIX")
        env.removeValue(forKey: "PICI_ZMX")
        env.removeValue(forKey: "PICI_ARTIFACT_DIR")
        env["NO_COLOR"] = "1"
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// Runs `script` with bash, stdin from `input`, and returns what it did.
    @discardableResult
    static func sh(_ script: String, env: [String: String], input: String = "", cwd: String? = nil, timeout: TimeInterval = 120) -> Ran {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script]
        p.environment = env
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let outFile = NSTemporaryDirectory() + "pici-out-\(UUID().uuidString)"
        let errFile = NSTemporaryDirectory() + "pici-err-\(UUID().uuidString)"
        let inFile = NSTemporaryDirectory() + "pici-in-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: outFile, contents: nil)
        _ = FileManager.default.createFile(atPath: errFile, contents: nil)
        _ = FileManager.default.createFile(atPath: inFile, contents: Data(input.utf8))
        defer { for f in [outFile, errFile, inFile] { try? FileManager.default.removeItem(atPath: f) } }
        // Files, not pipes: a zmx daemon the script leaves behind must not hold our reads open.
        p.standardOutput = FileHandle(forWritingAtPath: outFile)
        p.standardError = FileHandle(forWritingAtPath: errFile)
        p.standardInput = FileHandle(forReadingAtPath: inFile)
        try! p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning { p.terminate(); usleep(200_000) }
        p.waitUntilExit()
        let out = (try? String(contentsOfFile: outFile, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? ""
        return Ran(status: p.terminationStatus, stdout: out, stderr: err)
    }

    /// A private zmx world for one test: its own ZMX_DIR, killed and removed at the end.
    final class ZmxWorld {
        let dir: String
        let env: [String: String]
        init(_ test: XCTestCase, extra: [String: String] = [:]) {
            dir = Support.tempDir(test, "zmx")
            env = Support.environment(zmxDir: dir, extra: extra)
            let env = self.env
            test.addTeardownBlock { Support.sh("zmx kill 'ci.*' '*' >/dev/null 2>&1 || true", env: env) }
        }

        @discardableResult
        func sh(_ script: String, input: String = "", cwd: String? = nil, timeout: TimeInterval = 120) -> Ran {
            Support.sh(script, env: env, input: input, cwd: cwd, timeout: timeout)
        }

        /// Waits until `zmx list` shows no running session matching `pattern` (a grep -E).
        func waitUntilEnded(_ pattern: String = "^", seconds: Double = 30) {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                let out = sh("zmx list 2>/dev/null").stdout
                let running = out.split(separator: "\n").filter { line in
                    line.range(of: pattern, options: .regularExpression) != nil && !line.contains("\tended=")
                }
                if running.isEmpty { return }
                usleep(100_000)
            }
        }
    }

    /// Compares `actual` with the golden file `name`; `PICI_UPDATE_GOLDEN=1` rewrites it.
    static func assertGolden(_ actual: String, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        let path = goldenDir + "/" + name
        if ProcessInfo.processInfo.environment["PICI_UPDATE_GOLDEN"] == "1" {
            try? FileManager.default.createDirectory(atPath: goldenDir, withIntermediateDirectories: true)
            try! actual.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        guard let expected = try? String(contentsOfFile: path, encoding: .utf8) else {
            XCTFail("no golden file \(name); run with PICI_UPDATE_GOLDEN=1", file: file, line: line)
            return
        }
        XCTAssertEqual(actual, expected, "differs from golden \(name)", file: file, line: line)
    }

    /// The JSON objects of a JSON Lines text, failing the test on a bad line.
    static func jsonLines(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { l in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any] else {
                XCTFail("not a JSON object: \(l)", file: file, line: line)
                return nil
            }
            return obj
        }
    }
}
