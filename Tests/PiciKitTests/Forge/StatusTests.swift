import Foundation
import XCTest
@testable import PiciKit

/// pici-status as its manual describes it: lines through unchanged, a commit status per job
/// posted to a forge of the test's own, retried from the outbox, never older over newer.
final class StatusTests: XCTestCase {
    static let shaA = String(repeating: "a1", count: 20)
    static let shaB = String(repeating: "b2", count: 20)
    static let shaC = String(repeating: "c3", count: 20)

    struct Setup {
        let art: String
        let tokenFile: String
        let forge: FakeForge
        let env: [String: String]
        func sh(_ script: String, input: String = "") -> Support.Ran { Support.sh(script, env: env, input: input, timeout: 60) }
        func command(_ extra: String = "") -> String {
            "pici-status --forge gitea --api '\(forge.url)' --token-file '\(tokenFile)' --url-base https://ci.example/pici --artifact-dir '\(art)' \(extra)"
        }
    }

    static let token = "s3cr3t-t0ken-do-not-print"

    func setup(failFirst: Int = 0) -> Setup {
        let art = Support.tempDir(self, "art")
        let tokenFile = Support.tempDir(self, "tok") + "/token"
        try! (StatusTests.token + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let forge = FakeForge(token: StatusTests.token, failFirst: failFirst)
        addTeardownBlock { forge.stop() }
        return Setup(art: art, tokenFile: tokenFile, forge: forge, env: Support.environment(zmxDir: Support.tempDir(self, "zmx")))
    }

    /// A job's artifacts/event.json, as pici-run writes it.
    func job(_ s: Setup, _ name: String, _ id: String, commit: String, repo: String? = "alice/\("NAME")") {
        let dir = s.art + "/\(name)/\(id)/artifacts"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var event = #"{"type":"push","name":"\#(name)","workspace":"/w","branch":"main","commit":"\#(commit)","artifact_dest":""}"#
        if let repo {
            event = String(event.dropLast()) + #","repo":"\#(repo.replacingOccurrences(of: "NAME", with: name))"}"#
        }
        try! event.write(toFile: dir + "/event.json", atomically: true, encoding: .utf8)
    }

    /// A status line as pici-publish prints it.
    static func line(_ name: String, _ id: String, _ status: String, exit: Int? = nil, at: Int = 1_700_000_100, started: Int = 1_700_000_000, duration: String = "12s") -> String {
        let running = status == "running"
        var s = #"{"timestamp":"\#(TimeFormat.rfc3339(at))","name":"\#(name)","job_id":"\#(id)","status":"\#(status)","exit_code":\#(running ? "null" : exit.map(String.init) ?? "0"),"duration":"\#(duration)","started_at":"\#(TimeFormat.rfc3339(started))""#
        if !running { s += #","ended_at":"\#(TimeFormat.rfc3339(at))""# }
        return s + #","session_count":0,"sessions":[],"type":"status"}"#
    }

    // MARK: pure parts

    func testStatesAndDescriptionsFollowTheJobsStatus() throws {
        XCTAssertEqual(CommitStatus.state(for: "running"), .pending)
        XCTAssertEqual(CommitStatus.state(for: "queued"), .pending)
        XCTAssertEqual(CommitStatus.state(for: "success"), .success)
        XCTAssertEqual(CommitStatus.state(for: "failed"), .failure)
        for s in ["cancelled", "lost", "timeout"] { XCTAssertEqual(CommitStatus.state(for: s), .error, s) }
        XCTAssertNil(CommitStatus.state(for: "weird"))
        XCTAssertEqual(CommitStatus.describe(status: "failed", exitCode: 3, duration: "2m34s"), "failed (exit 3) in 2m34s")
        XCTAssertEqual(CommitStatus.describe(status: "success", exitCode: 0, duration: "12s"), "success in 12s")
        XCTAssertEqual(CommitStatus.describe(status: "running", exitCode: nil, duration: "3s"), "running")
        XCTAssertEqual(CommitStatus.describe(status: "timeout", exitCode: 124, duration: "10m0s"), "timed out in 10m0s")
        XCTAssertEqual(
            CommitStatus.targetURL(urlBase: "https://ci.example/x/", name: "a b", jobID: "0123abcd"),
            "https://ci.example/x/a%20b/0123abcd/index.html")
    }

    func testTheRepositoryComesFromTheEventElseTheOwnerAndTheCommitMustBeASha() throws {
        let line = try XCTUnwrap(JSONParser.parse(StatusTests.line("demo", "0123abcd", "failed", exit: 3)).objectValue)
        var event = Event(type: "push", name: "demo", workspace: "/w", commit: StatusTests.shaA.uppercased())
        let byOwner = try CommitStatus.make(line: line, event: event, owner: "bob", urlBase: nil)
        XCTAssertEqual(byOwner.repo, "bob/demo")
        XCTAssertEqual(byOwner.sha, StatusTests.shaA)
        XCTAssertEqual(byOwner.state, .failure)
        XCTAssertNil(byOwner.targetURL)
        event.repo = "alice/project"
        XCTAssertEqual(try CommitStatus.make(line: line, event: event, owner: "bob", urlBase: nil).repo, "alice/project")
        event.repo = ""
        XCTAssertThrowsError(try CommitStatus.make(line: line, event: event, owner: nil, urlBase: nil)) {
            XCTAssertEqual($0 as? CommitStatus.Skip, .noRepository(name: "demo", jobID: "0123abcd"))
        }
        event.commit = ""
        XCTAssertThrowsError(try CommitStatus.make(line: line, event: event, owner: "bob", urlBase: nil)) {
            XCTAssertEqual($0 as? CommitStatus.Skip, .noCommit(name: "demo", jobID: "0123abcd"))
        }
        event.commit = "main; rm -rf /"
        XCTAssertThrowsError(try CommitStatus.make(line: line, event: event, owner: "bob", urlBase: nil))
        XCTAssertFalse(ForgeRepository.isValid("alice/../x"))
        XCTAssertFalse(ForgeRepository.isValid("alice/x/y"))
        XCTAssertFalse(ForgeRepository.isValid("-x/y"))
        XCTAssertTrue(ForgeRepository.isValid("alice/my-repo.rs"))
        XCTAssertThrowsError(try Event.parse(Array(#"{"type":"push","name":"a","workspace":"/w","repo":"a/b?x=1"}"#.utf8)))
        let kept = try Event.parse(Array(#"{"type":"push","name":"a","workspace":"/w","repo":"alice/a"}"#.utf8))
        XCTAssertEqual(kept.repo, "alice/a")
        XCTAssertTrue(kept.seedJSON.hasSuffix(#","artifact_dest":"","repo":"alice/a"}"#), kept.seedJSON)
    }

    func testANewerJobWinsThenTheEndOfAJobOverItsRunning() {
        typealias O = CommitStatus.Order
        XCTAssertLessThan(O(started: 10, final: true, timestamp: 50, jobID: "aaaaaaaa"), O(started: 20, final: false, timestamp: 30, jobID: "bbbbbbbb"))
        XCTAssertLessThan(O(started: 10, final: false, timestamp: 60, jobID: "aaaaaaaa"), O(started: 10, final: true, timestamp: 50, jobID: "aaaaaaaa"))
        XCTAssertLessThan(O(started: 10, final: false, timestamp: 50, jobID: "aaaaaaaa"), O(started: 10, final: false, timestamp: 55, jobID: "aaaaaaaa"))
        // A queued line (no started_at, a later timestamp) never outranks its job's running or end.
        var queued = try! XCTUnwrap(JSONParser.parse(StatusTests.line("demo", "0123abcd", "queued", at: 1_700_000_900)).objectValue)
        queued["started_at"] = nil
        let event = Event(type: "push", name: "demo", workspace: "/w", commit: StatusTests.shaA)
        let q = try! CommitStatus.make(line: queued, event: event, owner: "o", urlBase: nil)
        let done = try! CommitStatus.make(line: XCTUnwrap(JSONParser.parse(StatusTests.line("demo", "0123abcd", "success", at: 1_700_000_950)).objectValue), event: event, owner: "o", urlBase: nil)
        XCTAssertLessThan(q.order, done.order)
        XCTAssertEqual(StatusOutbox.backoff(attempts: 1), 1)
        XCTAssertEqual(StatusOutbox.backoff(attempts: 4), 8)
        XCTAssertEqual(StatusOutbox.backoff(attempts: 40), 300)
    }

    func testCurlGetsTheTokenAndTheBodyInItsConfigQuoted() throws {
        let client = ForgeClient(kind: .github, api: "https://api.github.com/", token: "t\"k")
        let status = CommitStatus(
            repo: "o/r", sha: StatusTests.shaA, context: "pici", state: .failure, description: #"failed "x" \ y"#,
            targetURL: "https://ci/x", order: .init(started: 0, final: true, timestamp: 0, jobID: "j"), name: "r", jobID: "j")
        let config = client.curlConfig(for: status)
        XCTAssertTrue(config.contains(#"url = "https://api.github.com/repos/o/r/statuses/\#(StatusTests.shaA)""#), config)
        XCTAssertTrue(config.contains(#"header = "Authorization: Bearer t\"k""#), config)
        XCTAssertTrue(config.contains(#"data-binary = "{\"state\":\"failure\",\"target_url\":\"https://ci/x\",\"description\":\"failed \\\"x\\\" \\\\ y\",\"context\":\"pici\"}""#), config)
        XCTAssertTrue(ForgeClient(kind: .gitea, api: "x", token: "abc").headers().contains("Authorization: token abc"))
    }

    // MARK: end to end

    func testLinesPassUnchangedAndEachJobGetsItsCommitStatus() throws {
        let s = setup()
        job(s, "demo", "0123abcd", commit: StatusTests.shaA)
        job(s, "nocommit", "89abcdef", commit: "")
        let input = [
            StatusTests.line("demo", "0123abcd", "running", at: 1_700_000_050),
            #"{"type":"listing","complete":true}"#,
            StatusTests.line("nocommit", "89abcdef", "success"),
            StatusTests.line("demo", "0123abcd", "failed", exit: 3, duration: "2m34s"),
        ].joined(separator: "\n") + "\n"
        let ran = s.sh(s.command(), input: input)
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertEqual(ran.stdout, input)
        XCTAssertEqual(ran.stderr, "pici-status: job nocommit 89abcdef: its event has no commit; no commit status\n")
        let got = s.forge.requests
        XCTAssertEqual(got.map(\.state), ["pending", "failure"])
        for r in got {
            XCTAssertEqual(r.method, "POST")
            XCTAssertEqual(r.path, "/api/v1/repos/alice/demo/statuses/\(StatusTests.shaA)")
            XCTAssertEqual(r.headers["authorization"], "token \(StatusTests.token)")
            XCTAssertEqual(r.headers["content-type"], "application/json")
            XCTAssertEqual(r.json["context"] as? String, "pici")
            XCTAssertEqual(r.json["target_url"] as? String, "https://ci.example/pici/demo/0123abcd/index.html")
        }
        XCTAssertEqual(got.last?.json["description"] as? String, "failed (exit 3) in 2m34s")
    }

    func testTheTokenIsNeverOnACommandLineNorPrinted() throws {
        let s = setup()
        job(s, "demo", "0123abcd", commit: StatusTests.shaA)
        // A curl in front of the real one, recording the arguments it was given.
        let bin = Support.tempDir(self, "bin")
        let real = s.sh("command -v curl").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try! "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '\(bin)/argv'\nexec '\(real)' \"$@\"\n".write(toFile: bin + "/curl", atomically: true, encoding: .utf8)
        chmod(bin + "/curl", 0o755)
        let input = StatusTests.line("demo", "0123abcd", "success") + "\n"
        // The forge down: its message and curl's go to stderr, without the token.
        s.forge.stop()
        // A ~/.curlrc that would trace the request, headers and all, is not read.
        let home = Support.tempDir(self, "home")
        try "verbose\ntrace-ascii = \(home)/trace\n".write(toFile: home + "/.curlrc", atomically: true, encoding: .utf8)
        let ran = s.sh("HOME='\(home)' PATH='\(bin)':$PATH " + s.command(), input: input)
        XCTAssertFalse(FileManager.default.fileExists(atPath: home + "/trace"), "~/.curlrc was read")
        XCTAssertEqual(ran.status, 69, ran.stderr)
        XCTAssertTrue(ran.stderr.contains("retrying in 1s"), ran.stderr)
        XCTAssertTrue(ran.stderr.contains("kept in \(s.art)/.pici/forge for the next run"), ran.stderr)
        let argv = (try? String(contentsOfFile: bin + "/argv", encoding: .utf8)) ?? ""
        XCTAssertEqual(argv, "-q --config -\n")
        for text in [ran.stdout, ran.stderr, argv] { XCTAssertFalse(text.contains(StatusTests.token)) }
        let kept = try FileManager.default.contentsOfDirectory(atPath: s.art + "/.pici/forge").filter { $0.hasSuffix(".json") }
        XCTAssertEqual(kept.count, 1)
        XCTAssertFalse(try String(contentsOfFile: s.art + "/.pici/forge/" + kept[0], encoding: .utf8).contains(StatusTests.token))
    }

    func testAnOlderStatusNeverReplacesANewerOne() throws {
        let s = setup()
        job(s, "demo", "0123abcd", commit: StatusTests.shaA)
        job(s, "demo", "11111111", commit: StatusTests.shaA)
        let input = [
            StatusTests.line("demo", "0123abcd", "success", at: 1_700_000_100),
            StatusTests.line("demo", "0123abcd", "running", at: 1_700_000_200),  // a late running line
            StatusTests.line("demo", "0123abcd", "success", at: 1_700_000_300),  // repeated: said already
            StatusTests.line("demo", "11111111", "running", at: 1_700_000_400, started: 1_700_000_350),
            StatusTests.line("demo", "11111111", "running", at: 1_700_000_405, started: 1_700_000_350),
        ].joined(separator: "\n") + "\n"
        let ran = s.sh(s.command(), input: input)
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertEqual(s.forge.requests.map(\.state), ["success", "pending"])
        XCTAssertEqual(s.forge.requests.last?.json["target_url"] as? String, "https://ci.example/pici/demo/11111111/index.html")
        // A second run remembers what was sent: the old job's line is still older.
        let again = s.sh(s.command(), input: StatusTests.line("demo", "0123abcd", "failed", exit: 1, at: 1_700_000_500) + "\n")
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(s.forge.requests.count, 2)
    }

    func testMalformedLinesArePassedOnAndReported() throws {
        let s = setup()
        let input = "not json\n{\"type\":\"job\"}\n"
        let ran = s.sh(s.command(), input: input)
        XCTAssertEqual(ran.status, 65)
        XCTAssertEqual(ran.stdout, input)
        XCTAssertTrue(ran.stderr.hasPrefix("pici-status: line 1: invalid JSON"), ran.stderr)
        XCTAssertEqual(s.forge.requests.count, 0)
    }

    func testUsageAndTokenFileErrors() throws {
        let s = setup()
        XCTAssertEqual(s.sh("pici-status --api http://127.0.0.1:1 --token-file x </dev/null").status, 64)
        XCTAssertEqual(s.sh("pici-status --forge gitlab --api http://127.0.0.1:1 --token-file x </dev/null").status, 64)
        XCTAssertEqual(s.sh("pici-status --forge gitea --api ftp://x --token-file x </dev/null").status, 64)
        XCTAssertEqual(s.sh("pici-status --forge gitea --api http://127.0.0.1:1 --token-file '\(s.tokenFile)' --owner '../x' </dev/null").status, 64)
        let missing = s.sh("pici-status --forge gitea --api http://127.0.0.1:1 --token-file /nonexistent/token </dev/null")
        XCTAssertEqual(missing.status, 66)
        XCTAssertEqual(missing.stderr, "pici-status: --token-file /nonexistent/token: No such file or directory\n")
    }

    /// The forge refuses the first five requests, and pici-status is killed (-9) in the middle
    /// and started again: every commit ends at its final state, and no commit is ever sent an
    /// older state after a newer one.
    func testForgeDownAndARestartLoseNothingAndNeverGoBack() throws {
        let s = setup(failFirst: 5)
        job(s, "demo", "aaaaaaaa", commit: StatusTests.shaA)
        job(s, "demo", "bbbbbbbb", commit: StatusTests.shaB)
        job(s, "other", "cccccccc", commit: StatusTests.shaC)
        let first = [
            StatusTests.line("demo", "aaaaaaaa", "running", at: 1_700_000_010, started: 1_700_000_000),
            StatusTests.line("demo", "aaaaaaaa", "success", at: 1_700_000_020, started: 1_700_000_000),
            StatusTests.line("demo", "bbbbbbbb", "running", at: 1_700_000_030, started: 1_700_000_025),
        ]
        let second = [
            StatusTests.line("demo", "aaaaaaaa", "running", at: 1_700_000_015, started: 1_700_000_000),  // replayed, older
            StatusTests.line("demo", "bbbbbbbb", "failed", exit: 2, at: 1_700_000_040, started: 1_700_000_025),
            StatusTests.line("other", "cccccccc", "running", at: 1_700_000_041, started: 1_700_000_040),
            StatusTests.line("other", "cccccccc", "cancelled", at: 1_700_000_050, started: 1_700_000_040),
        ]
        let dir = Support.tempDir(self, "fifo")
        let script = """
            mkfifo '\(dir)/in'
            \(s.command()) < '\(dir)/in' > '\(dir)/out1' 2> '\(dir)/err1' &
            pid=$!
            exec 3> '\(dir)/in'
            printf '%s\\n' \(first.map { "'\($0)'" }.joined(separator: " ")) >&3
            # Let it meet the forge down, twice for two of them (after 1s of backoff).
            for _ in $(seq 100); do [ "$(grep -c retrying '\(dir)/err1')" -ge 5 ] && break; sleep 0.1; done
            kill -9 "$pid"
            exec 3>&-
            wait "$pid" 2>/dev/null
            printf '%s\\n' \(second.map { "'\($0)'" }.joined(separator: " ")) | \(s.command()) > '\(dir)/out2'
            echo "second exit $?"
            cat '\(dir)/out1' '\(dir)/out2'
            """
        let ran = s.sh(script)
        XCTAssertTrue(ran.stdout.hasPrefix("second exit 0\n"), ran.stdout + ran.stderr)
        XCTAssertEqual(ran.stdout, "second exit 0\n" + (first + second).joined(separator: "\n") + "\n")
        let err1 = (try? String(contentsOfFile: dir + "/err1", encoding: .utf8)) ?? ""
        XCTAssertEqual(err1.components(separatedBy: "HTTP 500").count - 1, 5, err1)
        let all = s.forge.requests
        XCTAssertEqual(all.filter { $0.answered == 500 }.count, 5)
        func states(_ sha: String) -> [String] { s.forge.accepted.filter { $0.path.hasSuffix("/" + sha) }.map(\.state) }
        // The old job's running line and A's replayed one never reach the forge after the ends.
        XCTAssertEqual(states(StatusTests.shaA), ["success"])
        XCTAssertEqual(states(StatusTests.shaB).last, "failure")
        XCTAssertEqual(states(StatusTests.shaC), ["pending", "error"])
        XCTAssertEqual(s.forge.accepted.first { $0.state == "error" }?.json["description"] as? String, "cancelled in 12s")
        XCTAssertEqual(s.forge.accepted.filter { $0.path.contains("/alice/other/") }.count, 2)
    }

    /// A forge that takes the connection and never answers: one post waits out --timeout, the
    /// others due are not tried in the same round (each would hold the pipeline as
    /// long, and the monitor upstream blocks once its pipe is full); all are kept, and a later
    /// run delivers them.
    func testAForgeThatNeverAnswersHoldsTheLinesForOnePostNotOneEach() throws {
        let s = setup()
        // Listening on 127.0.0.1 and never accepting: connections complete and wait.
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(silent) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(silent, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        XCTAssertEqual(listen(silent, 16), 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(silent, $0, &len) } }
        let port = Int(UInt16(bigEndian: addr.sin_port))
        let ids = ["a1111111", "b2222222", "c3333333"]
        for (i, id) in ids.enumerated() { job(s, "demo", id, commit: [StatusTests.shaA, StatusTests.shaB, StatusTests.shaC][i]) }
        let bin = Support.tempDir(self, "bin")
        let real = s.sh("command -v curl").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try "#!/bin/sh\necho call >> '\(bin)/calls'\nexec '\(real)' \"$@\"\n".write(toFile: bin + "/curl", atomically: true, encoding: .utf8)
        chmod(bin + "/curl", 0o755)
        let input = ids.map { StatusTests.line("demo", $0, "success") }.joined(separator: "\n") + "\n"
        let command = "pici-status --forge gitea --api 'http://127.0.0.1:\(port)/api/v1' --token-file '\(s.tokenFile)' --url-base https://ci.example/pici --artifact-dir '\(s.art)' --timeout 1s"
        let ran = s.sh("PATH='\(bin)':$PATH " + command, input: input)
        XCTAssertEqual(ran.status, 69, ran.stderr)
        XCTAssertEqual(ran.stdout, input, "every line passed on")
        XCTAssertEqual(((try? String(contentsOfFile: bin + "/calls", encoding: .utf8)) ?? "").split(separator: "\n").count, 1, ran.stderr)
        XCTAssertTrue(ran.stderr.contains("timed out"), ran.stderr)
        XCTAssertTrue(ran.stderr.contains("3 commit statuses not delivered yet"), ran.stderr)
        // The forge back (the test's own, answering): the next run sends all three at once.
        let again = s.sh(s.command(), input: "")
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(s.forge.accepted.count, 3)
    }

}
