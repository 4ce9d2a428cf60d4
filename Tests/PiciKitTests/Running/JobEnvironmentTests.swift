import Foundation
import PiciKit
import XCTest

/// pici-run(1) "The job's environment": a known one, not the caller's; secrets go in masked.
final class JobEnvironmentTests: XCTestCase {
    func testOnlyTheBasicsTheFilesAndWhatIsPassed() throws {
        let env = JobEnvironment(passed: ["KEEP_ME"]).entries(
            current: ["PATH=/bin", "HOME=/root", "MY_SECRET=hunter2", "KEEP_ME=yes", "ZMX_DIR=/z", "ZMX_SESSION=x",
                      "ZMX_SESSION_PREFIX=ci.", "PICO_CI_REPO=stale", "LANG=C.UTF-8", "SSH_AUTH_SOCK=/s"],
            files: [("FOO", "bar"), ("PATH", "/opt/bin:/bin")], secrets: [("TOKEN", "tok-1234")],
            event: Event(type: "push", name: "demo", workspace: "/w"), jobID: "a3f2b8c1")
        XCTAssertEqual(env, [
            "PATH=/opt/bin:/bin", "HOME=/root", "KEEP_ME=yes", "ZMX_DIR=/z", "LANG=C.UTF-8", "FOO=bar", "TOKEN=tok-1234",
            "PICO_CI_JOB_ID=a3f2b8c1", "PICO_CI_REPO=demo", "PICO_CI_EVENT_TYPE=push",
        ])
    }

    func testSecretsAreCheckedAndMasked() throws {
        let dir = Support.tempDir(self)
        try "# deploy\nDEPLOY_TOKEN=tok-abc-123\n".write(toFile: dir + "/secret.env", atomically: true, encoding: .utf8)
        try "SHORT=abc\n".write(toFile: dir + "/short.env", atomically: true, encoding: .utf8)
        var masker = Masker()
        let pairs = try JobEnvironment(secretEnvFiles: [dir + "/secret.env"]).secrets(into: &masker)
        XCTAssertEqual(pairs.map(\.name), ["DEPLOY_TOKEN"])
        XCTAssertEqual(masker.mask("DEPLOY_TOKEN=tok-abc-123"), "DEPLOY_TOKEN=***")
        XCTAssertThrowsError(try JobEnvironment(secretEnvFiles: [dir + "/short.env"]).secrets(into: &masker)) {
            XCTAssertEqual(($0 as? JobEnvironment.Problem)?.status, .usage, "\($0)")
        }
        XCTAssertThrowsError(try JobEnvironment(secretEnvFiles: [dir + "/none.env"]).secrets(into: &masker)) {
            XCTAssertEqual(($0 as? JobEnvironment.Problem)?.status, .noInput, "\($0)")
        }
        XCTAssertThrowsError(try JobEnvironment(passed: ["NOT A NAME"]).secrets(into: &masker))
    }

    /// A step that runs `env`: nothing of the caller's that was not passed on purpose; a
    /// --secret-env-file value reaches it and is masked in its staged log without any mask
    /// file given to the monitor.
    func testAStepThatRunsEnv() throws {
        let world = Support.ZmxWorld(self, extra: ["MY_SECRET": "hunter2-caller", "KEEP_ME": "kept-on-purpose"])
        let base = Support.tempDir(self)
        let art = base + "/art", ws = base + "/ws"
        try FileManager.default.createDirectory(atPath: ws, withIntermediateDirectories: true)
        try """
            zmx run envstep -d bash -c 'env | sort; echo "token is $DEPLOY_TOKEN"'
            zmx wait "*"

            """.write(toFile: ws + "/pico.sh", atomically: true, encoding: .utf8)
        try "DEPLOY_TOKEN=tok-abc-123\n".write(toFile: base + "/secret.env", atomically: true, encoding: .utf8)
        try "FROM_FILE=plain-value\nPICO_CI_BRANCH=from-the-file\n".write(toFile: base + "/common.env", atomically: true, encoding: .utf8)
        try "FROM_EVENT=event-value\n".write(toFile: ws + "/ci.env", atomically: true, encoding: .utf8)
        let ran = world.sh("""
            TMPDIR='\(base)' pici-run --wait --interval 200ms --artifact-dir '\(art)' --secret-env-file '\(base)/secret.env' \
              --env-file '\(base)/common.env' --pass-env KEEP_ME
            """, input: #"{"type":"push","name":"demo","workspace":"\#(ws)","branch":"main","env_file":"ci.env"}"#)
        XCTAssertEqual(ran.status, 0, ran.stdout + ran.stderr)
        for _ in 0..<2 { world.sh("pici-monitor --once --no-sync --artifact-dir '\(art)'") }
        let dirs = try FileManager.default.contentsOfDirectory(atPath: art + "/demo").filter { $0 != "badge.svg" }
        XCTAssertEqual(dirs.count, 1)
        let log = try String(contentsOfFile: "\(art)/demo/\(dirs[0])/envstep.txt", encoding: .utf8)
        XCTAssertFalse(log.contains("MY_SECRET"), log)
        XCTAssertTrue(log.contains("KEEP_ME=kept-on-purpose\n"), log)
        XCTAssertTrue(log.contains("FROM_FILE=plain-value\n"), log)
        XCTAssertTrue(log.contains("FROM_EVENT=event-value\n"), log)
        XCTAssertTrue(log.contains("DEPLOY_TOKEN=***\n"), log)
        XCTAssertTrue(log.contains("token is ***\n"), log)
        XCTAssertTrue(log.contains("PICO_CI_REPO=demo\n"), log)
        // The event's own variables come after the env files' (JobFiles), on the local host all four.
        XCTAssertTrue(log.contains("PICO_CI_EVENT=\(art)/demo/\(dirs[0])/artifacts/event.json\n"), log)
        XCTAssertTrue(log.contains("PICO_CI_BRANCH=main\n"), log)
        XCTAssertFalse(log.contains("from-the-file"), log)
        // In the job's copy of the workspace (under TMPDIR).
        XCTAssertNotNil(log.range(of: "PICO_CI_ARTIFACTS=\(base)/pici-[^/\n]+/.pici-artifacts\n", options: .regularExpression), log)
        // The token reached the step (the stand-in's own log holds it) but no file of ours.
        XCTAssertTrue(world.sh("zmx history ci.demo.\(dirs[0]).step.envstep").stdout.contains("token is tok-abc-123"))
        let leaked = world.sh("grep -rl 'tok-abc-123' '\(art)' || true").stdout
        XCTAssertEqual(leaked, "")
    }

    func testAnEventEnvFileStaysInTheWorkspace() {
        for bad in ["/etc/passwd", "../x", "a/../../x"] {
            XCTAssertThrowsError(try Event.parse(Array(#"{"type":"push","name":"demo","workspace":"/w","env_file":"\#(bad)"}"#.utf8))) {
                XCTAssertTrue("\($0)".contains("\"env_file\""), "\($0)")
            }
        }
        XCTAssertEqual(try Event.parse(Array(#"{"type":"push","name":"demo","workspace":"/w","env_file":".ci/env"}"#.utf8)).envFile, ".ci/env")
    }
}
