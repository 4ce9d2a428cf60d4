import Foundation
import XCTest
@testable import PiciKit

/// From `git push` to a green check: a bare repository with examples/git/post-receive, a
/// clone that pushes, the job it starts, monitor passes, and pici-status posting to a forge
/// of the test's own.
final class PushTests: XCTestCase {
    static let hook = Support.root.appendingPathComponent("examples/git/post-receive").path

    struct World {
        let zmx: Support.ZmxWorld
        let base: String
        let art: String
        let forge: FakeForge
        let tokenFile: String
        var bare: String { base + "/demo.git" }
        var clone: String { base + "/work" }
        var spool: String { base + "/spool" }

        func sh(_ script: String) -> Support.Ran { zmx.sh("export TMPDIR='\(base)/tmp'\n" + script) }

        /// One monitor pass with running jobs, its lines through pici-status.
        func pass() -> Support.Ran {
            sh("""
                pici-monitor --once --include-running --no-sync --artifact-dir '\(art)' |
                  pici-status --forge gitea --api '\(forge.url)' --token-file '\(tokenFile)' \
                    --url-base https://ci.example --artifact-dir '\(art)'
                """)
        }

        var sessions: String { zmx.sh("zmx list 2>/dev/null").stdout }
    }

    func world() -> World {
        let base = Support.tempDir(self, "push")
        let tokenFile = base + "/token"
        try! "tok3n\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let forge = FakeForge(token: "tok3n")
        addTeardownBlock { forge.stop() }
        let w = World(zmx: Support.ZmxWorld(self), base: base, art: base + "/art", forge: forge, tokenFile: tokenFile)
        try! FileManager.default.createDirectory(atPath: base + "/tmp", withIntermediateDirectories: true)
        let setup = w.sh("""
            set -e
            export GIT_CONFIG_NOSYSTEM=1 HOME='\(base)'
            git config --global user.email ci@example.org
            git config --global user.name CI
            git config --global init.defaultBranch main
            git init -q --bare '\(w.bare)'
            cp '\(PushTests.hook)' '\(w.bare)/hooks/post-receive'
            git -C '\(w.bare)' config pici.artifactdir '\(w.art)'
            git -C '\(w.bare)' config pici.spool '\(w.spool)'
            git -C '\(w.bare)' config pici.repo alice/demo
            git clone -q '\(w.bare)' '\(w.clone)' 2>/dev/null
            """)
        XCTAssertEqual(setup.status, 0, setup.stderr)
        return w
    }

    /// Commits `pico` as pico.sh and pushes it to `branch`; returns the sha and the push's output.
    func push(_ w: World, _ pico: String, branch: String = "main") -> (sha: String, output: String) {
        try! pico.write(toFile: w.clone + "/pico.sh", atomically: true, encoding: .utf8)
        let ran = w.sh("""
            set -e
            export GIT_CONFIG_NOSYSTEM=1 HOME='\(w.base)'
            cd '\(w.clone)'
            git add pico.sh
            git commit -qm 'ci: \(branch)'
            git push -q origin HEAD:\(branch) 2>&1
            git rev-parse HEAD
            """)
        XCTAssertEqual(ran.status, 0, ran.stdout + ran.stderr)
        let lines = ran.stdout.split(separator: "\n").map(String.init)
        return (lines.last ?? "", lines.dropLast().joined(separator: "\n"))
    }

    func waitUntil(_ what: String, seconds: Double = 20, _ condition: () -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return }
            usleep(100_000)
        }
        XCTFail("timed out waiting for \(what)", file: file, line: line)
    }

    func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    func testAPushRunsAJobAndTheForgeSeesPendingThenSuccessThenAFailingPushFails() throws {
        let w = world()
        let gate = w.base + "/gate"
        let (sha, said) = push(w, """
            #!/usr/bin/env bash
            zmx run build -d bash -c 'while [ ! -e \(gate) ]; do sleep 0.1; done; echo built'
            zmx wait "*"

            """)
        // The push returns at once and names the log.
        XCTAssertTrue(said.contains("remote: pici: demo main \(sha.prefix(12)): job starting; log: \(w.spool)/demo-\(sha.prefix(12))-"), said)
        guard let log = said.split(separator: " ").last.map(String.init), log.hasSuffix(".log") else { return XCTFail(said) }
        waitUntil("pici-run to finish") { read(log).contains("pici: pici-run exit 0") }
        XCTAssertTrue(read(log).contains("job launched"), read(log))
        // The log, and the tar and event a queued start or a rerun builds from.
        let base = ((log as NSString).lastPathComponent as NSString).deletingPathExtension
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: w.spool).sorted(), [base + ".json", base + ".log", base + ".tar"])
        let id = String(read(log).split(separator: "\n").first { $0.hasPrefix("starting job ci.demo.") }?.suffix(8) ?? "")
        XCTAssertEqual(id.count, 8, read(log))

        let running = w.pass()
        XCTAssertEqual(running.status, 0, running.stderr)
        XCTAssertTrue(running.stdout.contains(#""job_id":"\#(id)","status":"running""#), running.stdout)
        XCTAssertEqual(w.forge.accepted.map(\.state), ["pending"])

        XCTAssertTrue(FileManager.default.createFile(atPath: gate, contents: nil))
        w.zmx.waitUntilEnded("ci\\.demo\\.")
        let done = w.pass()
        XCTAssertEqual(done.status, 0, done.stderr)
        let line = Support.jsonLines(done.stdout).first { $0["job_id"] as? String == id }
        XCTAssertEqual(line?["status"] as? String, "success")
        let event = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(w.art)/demo/\(id)/artifacts/event.json"))) as? [String: Any]
        XCTAssertEqual(event?["branch"] as? String, "main")
        XCTAssertEqual(event?["commit"] as? String, sha)
        XCTAssertEqual(event?["type"] as? String, "push")
        XCTAssertEqual(event?["repo"] as? String, "alice/demo")
        let statuses = w.forge.accepted
        XCTAssertEqual(statuses.map(\.state), ["pending", "success"])
        for s in statuses {
            XCTAssertEqual(s.path, "/api/v1/repos/alice/demo/statuses/\(sha)")
            XCTAssertEqual(s.json["target_url"] as? String, "https://ci.example/demo/\(id)/index.html")
        }

        XCTAssertTrue(read(w.art + "/demo/badge.svg").contains(">passing \(id)<"), read(w.art + "/demo/badge.svg"))
        XCTAssertTrue(read(w.art + "/feed.xml").contains("<title>demo \(id): success</title>"), read(w.art + "/feed.xml"))

        // A failing push: the forge gets failure, the badge turns to failing.
        let (sha2, said2) = push(w, "#!/usr/bin/env bash\nzmx run build -d bash -c 'echo broken; exit 3'\nzmx wait \"*\"\n")
        guard let log2 = said2.split(separator: " ").last.map(String.init) else { return XCTFail(said2) }
        waitUntil("the second pici-run") { read(log2).contains("pici: pici-run exit 0") }
        let id2 = String(read(log2).split(separator: "\n").first { $0.hasPrefix("starting job ci.demo.") }?.suffix(8) ?? "")
        waitUntil("the second job to end") {
            let mine = w.sessions.split(separator: "\n").filter { $0.contains("ci.demo.\(id2).") }
            return mine.count >= 2 && mine.allSatisfy { $0.contains("\tended=") }
        }
        let failed = w.pass()
        XCTAssertEqual(failed.status, 0, failed.stderr)
        XCTAssertTrue(failed.stdout.contains(#""job_id":"\#(id2)","status":"failed""#), failed.stdout + failed.stderr + w.sessions)
        let last = w.forge.accepted.last
        XCTAssertEqual(last?.path, "/api/v1/repos/alice/demo/statuses/\(sha2)")
        XCTAssertEqual(last?.state, "failure")
        XCTAssertTrue((last?.json["description"] as? String)?.hasPrefix("failed (exit 3) in ") ?? false, "\(String(describing: last?.json))")
        XCTAssertTrue(read(w.art + "/demo/badge.svg").contains(">failing "), read(w.art + "/demo/badge.svg"))
        XCTAssertTrue(read(w.art + "/feed.xml").contains("; step build failed with exit 3</summary>"), read(w.art + "/feed.xml"))
    }

    func testAPushsTarStaysForARerunAndEachPushDropsItsRepositorysOldOnes() throws {
        let w = world()
        try FileManager.default.createDirectory(atPath: w.spool, withIntermediateDirectories: true)
        for old in ["demo-0123456789ab-OLDxxx.tar", "demo-0123456789ab-OLDxxx.log", "other-0123456789ab-OLDxxx.tar"] {
            XCTAssertTrue(FileManager.default.createFile(atPath: w.spool + "/" + old, contents: Data("old\n".utf8)))
            XCTAssertEqual(w.sh("touch -d '10 days ago' '\(w.spool)/\(old)'").status, 0)
        }
        XCTAssertTrue(FileManager.default.createFile(atPath: w.spool + "/demo-0123456789ab-NEWxxx.tar", contents: Data("new\n".utf8)))
        let (_, said) = push(w, "#!/usr/bin/env bash\nzmx run build -d echo built\nzmx wait \"*\"\n")
        guard let log = said.split(separator: " ").last.map(String.init), log.hasSuffix(".log") else { return XCTFail(said) }
        waitUntil("pici-run to finish") { read(log).contains("pici: pici-run exit 0") }
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: w.spool))
        XCTAssertFalse(left.contains("demo-0123456789ab-OLDxxx.tar"), "\(left)")
        XCTAssertFalse(left.contains("demo-0123456789ab-OLDxxx.log"), "\(left)")
        XCTAssertTrue(left.contains("demo-0123456789ab-NEWxxx.tar"), "newer than pici.spooldays: kept")
        XCTAssertTrue(left.contains("other-0123456789ab-OLDxxx.tar"), "another repository's: kept")
        let id = String(read(log).split(separator: "\n").first { $0.hasPrefix("starting job ci.demo.") }?.suffix(8) ?? "")
        w.zmx.waitUntilEnded("ci\\.demo\\.")
        let rerun = w.sh("pici-run --artifact-dir '\(w.art)' --rerun demo/\(id)")
        XCTAssertEqual(rerun.status, 0, rerun.stdout + rerun.stderr)
        XCTAssertTrue(rerun.stdout.contains("job launched"), rerun.stdout)
    }

    func testADeletedBranchStartsNothing() throws {
        let w = world()
        _ = push(w, "#!/usr/bin/env bash\nzmx run build -d true\nzmx wait \"*\"\n", branch: "gone")
        w.zmx.waitUntilEnded("ci\\.demo\\.")
        let before = try FileManager.default.contentsOfDirectory(atPath: w.spool).count
        let ran = w.sh("export HOME='\(w.base)'; cd '\(w.clone)' && git push -q origin :gone 2>&1")
        XCTAssertEqual(ran.status, 0, ran.stdout)
        XCTAssertFalse(ran.stdout.contains("job starting"), ran.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: w.spool).count, before)
    }
}
