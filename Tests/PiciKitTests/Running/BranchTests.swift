import Foundation
import XCTest
@testable import PiciKit

/// One job per repository and branch: a push cancels only its own branch's running job, the
/// cancelled job's page names the push that superseded it, and pico.sh learns the branch,
/// the commit, its event and a directory for files of its own, which end up on its page.
final class BranchTests: XCTestCase {
    struct Setup {
        let world: Support.ZmxWorld
        let art: String
        let tmp: String
        func sh(_ script: String, input: String = "") -> Support.Ran {
            world.sh("export TMPDIR='\(tmp)'\n" + script, input: input)
        }
        var sessions: [String] {
            world.sh("zmx list 2>/dev/null").stdout.split(separator: "\n").compactMap { line in
                line.split(separator: "\t").first.flatMap { f in f.range(of: "name=").map { String(f[$0.upperBound...]) } }
            }
        }
    }

    func setup() -> Setup {
        Setup(world: Support.ZmxWorld(self), art: Support.tempDir(self, "art"), tmp: Support.tempDir(self, "tmp"))
    }

    func workspace(_ pico: String) -> String {
        let dir = Support.tempDir(self, "ws")
        try! pico.write(toFile: dir + "/pico.sh", atomically: true, encoding: .utf8)
        return dir
    }

    static func event(_ ws: String, branch: String, commit: String = String(repeating: "ab", count: 20)) -> String {
        #"{"type":"push","name":"demo","workspace":"\#(ws)","branch":"\#(branch)","commit":"\#(commit)"}"#
    }

    /// The id of the job a pici-run output started.
    func started(_ out: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        guard let l = out.split(separator: "\n").first(where: { $0.hasPrefix("starting job ci.demo.") }) else {
            XCTFail("no start line in: \(out)", file: file, line: line)
            return "none"
        }
        return String(l.suffix(8))
    }

    func waitUntil(_ what: String, _ condition: () -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if condition() { return }
            usleep(100_000)
        }
        XCTFail("timed out waiting for \(what)", file: file, line: line)
    }

    static let sleeper = "#!/usr/bin/env bash\nzmx run a -d sleep 30\nzmx wait \"*\"\n"

    func testAPushToFeatureXLeavesMainAloneAndASecondPushToMainCancelsIt() throws {
        let s = setup()
        let ws = workspace(BranchTests.sleeper)
        let main1 = s.sh("pici-run --artifact-dir '\(s.art)'", input: BranchTests.event(ws, branch: "main"))
        XCTAssertEqual(main1.status, 0, main1.stderr)
        let id1 = started(main1.stdout)
        waitUntil("main's step") { s.sessions.contains("ci.demo.\(id1).step.a") }

        let feature = s.sh("pici-run --artifact-dir '\(s.art)'", input: BranchTests.event(ws, branch: "feature-x"))
        XCTAssertEqual(feature.status, 0, feature.stderr)
        XCTAssertFalse(feature.stdout.contains("cancelled"), feature.stdout)
        let id2 = started(feature.stdout)
        XCTAssertTrue(s.sessions.contains("ci.demo.\(id1).runner"), "\(s.sessions)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(s.art)/demo/\(id1)/artifacts/cancelled.json"))

        let newCommit = String(repeating: "cd", count: 20)
        let main2 = s.sh("pici-run --artifact-dir '\(s.art)'", input: BranchTests.event(ws, branch: "main", commit: newCommit))
        XCTAssertEqual(main2.status, 0, main2.stderr)
        let id3 = started(main2.stdout)
        XCTAssertTrue(main2.stdout.hasPrefix("cancelled ci.demo.\(id1) (superseded, "), main2.stdout)
        let left = s.sessions
        XCTAssertFalse(left.contains { $0.hasPrefix("ci.demo.\(id1).") }, "\(left)")
        XCTAssertTrue(left.contains("ci.demo.\(id2).runner"), "feature-x was cancelled too: \(left)")
        let marker = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(s.art)/demo/\(id1)/artifacts/cancelled.json"))) as? [String: Any]
        XCTAssertEqual(marker?["superseded_by"] as? String, id3)
        XCTAssertEqual(marker?["superseded_by_branch"] as? String, "main")
        XCTAssertEqual(marker?["superseded_by_commit"] as? String, newCommit)

        // The monitor publishes it cancelled, and its page names the push that took its place.
        let pass = s.sh("pici-monitor --once --no-sync --artifact-dir '\(s.art)'")
        XCTAssertEqual(pass.status, 0, pass.stderr)
        XCTAssertTrue(pass.stdout.contains(#""job_id":"\#(id1)","status":"cancelled""#), pass.stdout)
        let page = (try? String(contentsOfFile: "\(s.art)/demo/\(id1)/index.html", encoding: .utf8)) ?? ""
        XCTAssertTrue(page.contains("<dt>superseded by</dt><dd><a href=\"../\(id3)/index.html\"><code>\(id3)</code></a> on <code>main</code> at <code>cdcdcdcdcdcd</code></dd>"), page)

        // --cancel-scope repo: the original's one job per repository.
        let repoWide = s.sh("pici-run --cancel-scope repo --artifact-dir '\(s.art)'", input: BranchTests.event(ws, branch: "feature-y"))
        XCTAssertEqual(repoWide.status, 0, repoWide.stderr)
        XCTAssertTrue(repoWide.stdout.contains("cancelled ci.demo.\(id2) (superseded"), repoWide.stdout)
        XCTAssertTrue(repoWide.stdout.contains("cancelled ci.demo.\(id3) (superseded"), repoWide.stdout)
        XCTAssertEqual(s.sh("pici-run --cancel-scope trunk --artifact-dir '\(s.art)'", input: BranchTests.event(ws, branch: "x")).status, 64)
    }

    func testCancelWithABranchCancelsOnlyThatBranch() throws {
        let s = setup()
        let ws = workspace(BranchTests.sleeper)
        let a = started(s.sh("pici-run --artifact-dir '\(s.art)'", input: BranchTests.event(ws, branch: "main")).stdout)
        let b = started(s.sh("pici-run --artifact-dir '\(s.art)'", input: BranchTests.event(ws, branch: "dev")).stdout)
        let cancel = s.sh("pici-run --cancel --artifact-dir '\(s.art)'", input: #"{"name":"demo","branch":"dev"}"#)
        XCTAssertTrue(cancel.stdout.hasPrefix("cancelled ci.demo.\(b) (cancel, "), cancel.stdout + cancel.stderr)
        XCTAssertEqual(cancel.stdout.split(separator: "\n").count, 1, cancel.stdout)
        XCTAssertTrue(s.sessions.contains("ci.demo.\(a).runner"))
        let all = s.sh("pici-run --cancel --artifact-dir '\(s.art)'", input: #"{"name":"demo"}"#)
        XCTAssertTrue(all.stdout.hasPrefix("cancelled ci.demo.\(a) (cancel, "), all.stdout)
    }

    /// pici-run(1): an event without a branch names no branch, so a push cancels what
    /// `--cancel` does with it: every running job of its repository, as the original pici.
    func testABranchlessPushCancelsWhatABranchlessCancelDoes() throws {
        let s = setup()
        let ws = workspace(BranchTests.sleeper)
        let a = started(s.sh("pici-run --artifact-dir '\(s.art)'", input: BranchTests.event(ws, branch: "main")).stdout)
        let b = started(s.sh("pici-run --artifact-dir '\(s.art)'", input: BranchTests.event(ws, branch: "dev")).stdout)
        let push = s.sh("pici-run --artifact-dir '\(s.art)'", input: #"{"type":"push","name":"demo","workspace":"\#(ws)"}"#)
        XCTAssertEqual(push.status, 0, push.stderr)
        let c = started(push.stdout)
        for id in [a, b] { XCTAssertTrue(push.stdout.contains("cancelled ci.demo.\(id) (superseded, "), push.stdout) }
        // A push to a branch leaves the branch-less job alone; a branch-less --cancel ends it.
        let d = started(s.sh("pici-run --artifact-dir '\(s.art)'", input: BranchTests.event(ws, branch: "main")).stdout)
        XCTAssertTrue(s.sessions.contains("ci.demo.\(c).runner"), "\(s.sessions)")
        let cancel = s.sh("pici-run --cancel --artifact-dir '\(s.art)'", input: #"{"name":"demo"}"#)
        for id in [c, d] { XCTAssertTrue(cancel.stdout.contains("cancelled ci.demo.\(id) (cancel, "), cancel.stdout) }
    }

    func testPicoShGetsTheBranchCommitEventAndADirectoryWhoseFilesArePublished() throws {
        let s = setup()
        let ws = workspace("""
            #!/usr/bin/env bash
            printf '%s\\n' "$PICO_CI_BRANCH" "$PICO_CI_COMMIT" "$PICO_CI_EVENT" > "$PICO_CI_ARTIFACTS/env.txt"
            echo '<p>coverage</p>' > "$PICO_CI_ARTIFACTS/coverage.html"
            ln -s /etc/passwd "$PICO_CI_ARTIFACTS/passwd"
            for marker in published timeout cancelled rerun event attestation; do
              echo '{"job_id":"00000000","status":"timeout"}' > "$PICO_CI_ARTIFACTS/$marker.json"
            done
            mkdir "$PICO_CI_ARTIFACTS/sub"
            truncate -s 51M "$PICO_CI_ARTIFACTS/huge.bin"
            zmx run ok -d echo fine
            zmx wait "*"

            """)
        let commit = String(repeating: "ef", count: 20)
        let run = s.sh("pici-run --wait --interval 100ms --artifact-dir '\(s.art)'", input: BranchTests.event(ws, branch: "feature/x", commit: commit))
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        let id = started(run.stdout)
        let pass = s.sh("pici-monitor --once --no-sync --artifact-dir '\(s.art)'")
        XCTAssertEqual(pass.status, 0, pass.stderr)
        let dir = "\(s.art)/demo/\(id)/artifacts"
        let env = (try? String(contentsOfFile: dir + "/env.txt", encoding: .utf8)) ?? ""
        let eventPath = "\(s.art)/demo/\(id)/artifacts/event.json"
        XCTAssertEqual(env, "feature/x\n\(commit)\n\(eventPath)\n")
        XCTAssertEqual(try String(contentsOfFile: dir + "/coverage.html", encoding: .utf8), "<p>coverage</p>\n")
        for refused in ["passwd", "sub", "huge.bin"] { XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/" + refused), refused) }
        XCTAssertTrue(try String(contentsOfFile: dir + "/published.json", encoding: .utf8).contains(#""status":"success""#))
        XCTAssertTrue(pass.stderr.contains(#"artifact "passwd" not copied: a symbolic link"#), pass.stderr)
        XCTAssertTrue(pass.stderr.contains(#"artifact "huge.bin" not copied: over the 50 MB"#), pass.stderr)
        for marker in ["published", "timeout", "cancelled", "rerun", "event", "attestation"] {
            XCTAssertTrue(pass.stderr.contains(#"artifact "\#(marker).json" not copied"#), pass.stderr)
            XCTAssertFalse(((try? String(contentsOfFile: dir + "/\(marker).json", encoding: .utf8)) ?? "").contains("00000000"), marker)
        }
        let statusLine = Support.jsonLines(pass.stdout).first { $0["job_id"] as? String == id }
        XCTAssertEqual(statusLine?["status"] as? String, "success", pass.stdout)
        XCTAssertEqual(s.sh("pici-monitor --once --no-sync --artifact-dir '\(s.art)'").stdout, "", "published once")
        let page = (try? String(contentsOfFile: "\(s.art)/demo/\(id)/index.html", encoding: .utf8)) ?? ""
        XCTAssertTrue(page.contains(#"<a href="artifacts/coverage.html">coverage.html</a>"#), page)
        XCTAssertTrue(page.contains(#"<a href="artifacts/env.txt">env.txt</a>"#), page)
    }

    func testBranchAndCommitWithControlCharactersAreRefused() {
        XCTAssertThrowsError(try Event.parse(Array(#"{"type":"push","name":"a","workspace":"/w","branch":"x\u001b[2J"}"#.utf8)))
        XCTAssertThrowsError(try Event.parse(Array(#"{"type":"push","name":"a","workspace":"/w","commit":"a\nb"}"#.utf8)))
    }
}
