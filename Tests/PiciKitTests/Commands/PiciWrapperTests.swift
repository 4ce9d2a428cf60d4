import Foundation
import XCTest
@testable import PiciKit

/// bin/pici: the seed's command line over pici-run and pici-monitor.
final class PiciWrapperTests: XCTestCase {
    static let pici = Support.scriptsDir + "/pici"

    static let runnerHelp = #"""
        pici runner — execute a CI job from an event JSON payload.

        USAGE
          echo '<event-json>' | pici runner [flags]
          pici runner --event '<event-json>' [flags]
          echo '<event-json>' | pici runner --wait [flags]  # block until done

        EVENT JSON FIELDS
          type          (required) Event type, e.g. "push", "merge_request"
          name          (required) Repository name, used for session naming
          workspace     (required) SSH source path to rsync, e.g. "user@host:src/repo" or "/srv/src/repo"
          artifact_dest  (optional) SSH destination for artifact sync, e.g. "user@host:/path"


        EXAMPLE
          echo '{"type":"push","name":"myrepo","workspace":"user@host:src/myrepo"}' | pici runner

        ENV VARS IN pico.sh
          The runner exports these environment variables for your pico.sh script:
            PICO_CI_JOB_ID      Unique job identifier (e.g. "a3f2b8c1")
            PICO_CI_REPO        Repository name (from event "name" field)
            PICO_CI_EVENT_TYPE  Event type (from event "type" field)

          Note: pico.sh runs with the workspace as its working directory, so
          $(pwd) gives you the workspace path directly.

          Use them with defaults so pico.sh works standalone:
            JOB_ID="${PICO_CI_JOB_ID:-local}"
            REPO="${PICO_CI_REPO:-unknown}"

        FLAGS
          -pk <path>       SSH private key for authenticating with pico services
          -ck <path>       SSH certificate public key (required when using SSH certificates)
          -event <json>    Event JSON string (alternative to reading from stdin)
          -artifact-dir <path>  Local directory to stage artifacts (default: /tmp/pici-artifacts)
          -log-level <level>   Log level: debug, info, warn, error (default: info)
          -human           Human-readable output (default: enabled for runner)
          -wait            Block until job completes, printing session history and summary

        """#

    static let monitorHelp = #"""
        pici monitor — poll ci.* zmx sessions, stage artifacts, publish status.

        USAGE
          pici monitor [flags]                        # JSONL to stdout (pipe to webhooks)
          pici monitor --human                        # human-readable terminal output

        OUTPUT MODES
          Default (JSONL):  One JSON object per line, suitable for piping to notifications.
            pici monitor > status.jsonl
            pici monitor | ssh pipe.pico.sh "pub build.status -b=false"
            pici monitor | while read -r line; do curl -sd"$line" $WEBHOOK; done

          --human:          Selfci-style progress output for terminal viewing (do not pipe).
            pici monitor --human
            pici monitor --human --include-running
               myrepo       running, job a3f2b8c1
               test         running (1m23s)
               myrepo       success (2m34s)

        FLAGS
          -pk <path>               SSH private key for authenticating with pico services
          -ck <path>               SSH certificate public key
          -artifact-dir <path>     Local directory to stage artifacts (default: /tmp/pici-artifacts)
          -monitor-interval <dur>  Poll interval (default: 5s)
          -gc-interval <dur>       Garbage collection interval (default: 10m, 0 to disable)
          -include-running         Emit running status updates in addition to terminal (default: terminal only)
          -human                   Human-readable output instead of JSONL (for terminal, not piping)
          -log-level <level>       Log level: debug, info, warn, error (default: info)

        """#

    /// The lines of the seed's help that misled a new user, and what stands in their place.
    static let fixedHelpLines: [(String, String)] = [
        (#"SSH source path to rsync, e.g. "git@github.com:user/repo.git""#, #"SSH source path to rsync, e.g. "user@host:src/repo" or "/srv/src/repo""#),
        (#""workspace":"git@github.com:user/myrepo.git""#, #""workspace":"user@host:src/myrepo""#),
        ("    [2/3] 🚀 running: myrepo (1m23s)\n    [3/3] ✅ success: myrepo (2m34s)\n",
         "       myrepo       running, job a3f2b8c1\n       test         running (1m23s)\n       myrepo       success (2m34s)\n"),
    ]

    /// Runs bin/pici; workspaces go to a temp dir of the test's, not to /tmp.
    private func pici(_ world: Support.ZmxWorld, _ args: String, input: String = "") -> Support.Ran {
        world.sh("TMPDIR='\(Support.tempDir(self, "tmp"))' '\(PiciWrapperTests.pici)' \(args)", input: input)
    }

    /// The seed's text printed by fmt.Println in `function`, when the seed is at hand.
    private func seedText(_ function: String) -> String? {
        let path = Support.root.appendingPathComponent("../shared/seed/000_fdf84b0f8cc72edb.txt").path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let source = text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(2).map { String($0.dropFirst(4)) }.joined(separator: "\n")
        guard let f = source.range(of: "func \(function)()"), let open = source.range(of: "fmt.Println(`", range: f.upperBound..<source.endIndex),
              let close = source.range(of: "`)", range: open.upperBound..<source.endIndex) else { return nil }
        return String(source[open.upperBound..<close.lowerBound]) + "\n"
    }

    // MARK: help

    func testRunnerAndMonitorHelpAreTheSeedsTextsButWhereTheyMisled() {
        let world = Support.ZmxWorld(self)
        for (args, expected) in [
            ("runner --help", PiciWrapperTests.runnerHelp), ("help runner", PiciWrapperTests.runnerHelp),
            ("-wait runner help", PiciWrapperTests.runnerHelp), ("monitor --help", PiciWrapperTests.monitorHelp),
            ("--help monitor -human", PiciWrapperTests.monitorHelp),
        ] {
            let ran = pici(world, args)
            XCTAssertEqual(ran.status, 0, args)
            XCTAssertEqual(ran.stdout, expected, args)
            XCTAssertEqual(ran.stderr, "", args)
        }
        // The seed's texts but where they misled: a workspace rsync cannot fetch (a git URL) and
        // an output format nothing prints.
        func fixed(_ text: String) -> String {
            PiciWrapperTests.fixedHelpLines.reduce(text) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
        }
        if let seed = seedText("printRunnerHelp") { XCTAssertEqual(fixed(seed), PiciWrapperTests.runnerHelp) }
        if let seed = seedText("printMonitorHelp") { XCTAssertEqual(fixed(seed), PiciWrapperTests.monitorHelp) }
    }

    func testOtherCommandsHaveAShortHelp() {
        let world = Support.ZmxWorld(self)
        XCTAssertTrue(pici(world, "cancel --help").stdout.hasPrefix("pici cancel — "))
        XCTAssertTrue(pici(world, "gc --help").stdout.hasPrefix("pici gc — "))
        let general = pici(world, "--help")
        XCTAssertEqual(general.status, 0)
        XCTAssertTrue(general.stdout.hasPrefix("usage: pici runner|cancel|gc|monitor|status|orca [-pk path] "), general.stdout)
        XCTAssertEqual(pici(world, "--version").stdout, "pici \(PiciVersion.string)\n")
        for command in ["runner", "cancel", "gc", "monitor", "status", "orca"] {
            XCTAssertTrue(general.stdout.contains("\n  \(command) "), command)
        }
    }

    /// The flags of a man page's SYNOPSIS, as `-name`.
    private func synopsisFlags(_ page: String) throws -> Set<String> {
        let text = try String(contentsOfFile: Support.root.appendingPathComponent("man/" + page).path, encoding: .utf8)
        let synopsis = text.components(separatedBy: ".Sh SYNOPSIS")[1].components(separatedBy: ".Sh DESCRIPTION")[0]
        var flags: Set<String> = []
        for line in synopsis.split(separator: "\n") {
            let words = line.split(separator: " ")
            // `Fl -wait | -cancel`: Fl applies past the `|` delimiters.
            var inFl = false
            for w in words {
                let isMacro = w.first!.isUppercase && (2...3).contains(w.count)
                if w == "Fl" { inFl = true } else if w == "|" { continue } else if isMacro { inFl = false } else if inFl { flags.insert("-" + w) }
            }
        }
        return flags
    }

    private func usageFlags(_ usage: String) -> Set<String> {
        Set(usage.split(whereSeparator: { " []|".contains($0) }).filter { $0.hasPrefix("-") }.map(String.init))
    }

    func testUsageLinesListTheFlagsOfTheManPagesSynopsis() throws {
        let world = Support.ZmxWorld(self)
        let run = world.sh("pici-run --help").stdout.split(separator: "\n").first.map(String.init) ?? ""
        XCTAssertTrue(run.hasPrefix("usage: pici-run "), run)
        XCTAssertEqual(usageFlags(run), try synopsisFlags("pici-run.1").subtracting(["--help", "--version"]))
        XCTAssertEqual(world.sh("pici-run --version").stdout, "pici-run \(PiciVersion.string)\n")
        let wrapper = pici(world, "--help").stdout.split(separator: "\n").first.map(String.init) ?? ""
        XCTAssertEqual(usageFlags(wrapper), try synopsisFlags("pici.1").subtracting(["--help", "--version"]))
    }

    // MARK: running through the wrapper

    func testRunnerWaitRunsTheExampleJobsEndToEnd() {
        let world = Support.ZmxWorld(self)
        let art = Support.artifactDir(self)
        let hello = pici(world, "runner --wait -artifact-dir=\(art)", input: #"{"type":"push","name":"demo","workspace":"\#(Support.root.path)/examples/hello"}"#)
        XCTAssertEqual(hello.status, 0, hello.stdout + hello.stderr)
        XCTAssertEqual(hello.stderr, "")
        for line in ["   lint         success (", "   test         success (", "   runner       success (", "\njob finished: success ("] {
            XCTAssertTrue(hello.stdout.contains(line), line + " in " + hello.stdout)
        }
        let failing = pici(world, "--artifact-dir \(art) -wait runner", input: #"{"type":"push","name":"demo","workspace":"\#(Support.root.path)/examples/failing"}"#)
        XCTAssertEqual(failing.status, 1, failing.stdout + failing.stderr)
        XCTAssertTrue(failing.stdout.contains("   add 2 2: want 4, got 5\n"), failing.stdout)
        XCTAssertTrue(failing.stdout.contains("\njob failed: exit 3 ("), failing.stdout)
        // No error is logged for a job that ran and failed: its summary says so.
        XCTAssertEqual(failing.stderr, "")
    }

    func testCancelAndGCWorkThroughTheWrapper() throws {
        let world = Support.ZmxWorld(self)
        let art = Support.artifactDir(self)
        let ws = Support.tempDir(self, "ws")
        try "#!/usr/bin/env bash\nzmx run a -d sleep 30\nzmx wait \"*\"\n".write(toFile: ws + "/pico.sh", atomically: true, encoding: .utf8)
        let started = pici(world, "runner -artifact-dir \(art)", input: #"{"type":"push","name":"demo","workspace":"\#(ws)"}"#)
        XCTAssertEqual(started.status, 0, started.stderr)
        let id = String(started.stdout.split(separator: "\n").first?.suffix(8) ?? "")
        let cancel = pici(world, "cancel -artifact-dir \(art)", input: #"{"type":"push","name":"demo"}"#)
        XCTAssertEqual(cancel.status, 0, cancel.stderr)
        XCTAssertTrue(cancel.stdout.hasPrefix("cancelled ci.demo.\(id) (cancel, "), cancel.stdout)
        XCTAssertNotNil(cancel.stderr.range(of: #"^time=\S+ level=INFO msg="cancelling running jobs for repo" service=ci key_loc="" cert_loc="" cmd=cancel repo=demo type=push\n$"#, options: .regularExpression), cancel.stderr)
        XCTAssertFalse(world.sh("zmx list 2>/dev/null").stdout.contains("ci.demo.\(id)."))
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(art)/demo/\(id)/artifacts/cancelled.json"))

        XCTAssertEqual(world.sh("zmx run ci.old.12345678.runner -d sleep 30 >/dev/null && zmx run ci.new.12345678.runner -d sleep 30 >/dev/null").status, 0)
        let old = Int(Date().timeIntervalSince1970) - 4 * 3600
        world.sh("sed -i 's/\\tcreated=[0-9]*/\\tcreated=\(old)/' '\(world.dir)/ci.old.12345678.runner/state'")
        let gc = pici(world, "gc -artifact-dir \(art)")
        XCTAssertEqual(gc.status, 0, gc.stderr)
        // The cancelled job is over: gc removes its workspace copy too.
        XCTAssertTrue(gc.stdout.hasPrefix("killed session ci.old.12345678.runner\nremoved workspace "), gc.stdout)
        XCTAssertTrue(gc.stdout.contains("/pici-\(id)-"), gc.stdout)
        XCTAssertEqual(gc.stderr, "")
        let left = world.sh("zmx list 2>/dev/null").stdout
        XCTAssertTrue(left.contains("name=ci.new.12345678.runner\t") && !left.contains("ci.old."), left)
    }

    // MARK: logs and flags

    static let stamp = #"time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"#

    func testLogLinesAreTheSeedsSlogText() {
        let world = Support.ZmxWorld(self)
        let none = pici(world, "")
        XCTAssertEqual(none.status, 1)
        XCTAssertEqual(none.stdout, "")
        XCTAssertNotNil(none.stderr.range(of: "^" + PiciWrapperTests.stamp + #" level=ERROR msg="must provide command: runner, cancel, gc, monitor, status, or orca" service=ci key_loc="" cert_loc=""\n$"#, options: .regularExpression), none.stderr)
        let unknown = pici(world, "deploy")
        XCTAssertEqual(unknown.status, 1)
        XCTAssertNotNil(unknown.stderr.range(of: "^" + PiciWrapperTests.stamp + #" level=ERROR msg="unknown command deploy: want runner, cancel, gc, monitor, status, or orca" service=ci"#, options: .regularExpression), unknown.stderr)

        let bad = pici(world, "runner -pk /keys/ci", input: #"{"type":"push","name":"a/b","workspace":"/w"}"#)
        XCTAssertEqual(bad.status, 1)
        XCTAssertNotNil(bad.stderr.range(of: "^" + PiciWrapperTests.stamp + #" level=ERROR msg="runner failed" service=ci key_loc=/keys/ci cert_loc="" err="event: \\"name\\": contains /"\n$"#, options: .regularExpression), bad.stderr)

        let debug = pici(world, "-log-level debug orca")
        XCTAssertEqual(debug.status, 0)
        XCTAssertEqual(debug.stdout, "")
        let lines = debug.stderr.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2, debug.stderr)
        XCTAssertNotNil(lines.first?.range(of: "^" + PiciWrapperTests.stamp + #" level=DEBUG msg="running cmd" service=ci key_loc="" cert_loc="" cmd=orca$"#, options: .regularExpression), debug.stderr)
        XCTAssertNotNil(lines.last?.range(of: #" level=DEBUG msg="starting orchestrator" service=ci"#), debug.stderr)
        XCTAssertEqual(pici(world, "orca").stderr, "")
        XCTAssertEqual(pici(world, "orca -log-level=ERROR").status, 0)
    }

    /// The placeholder `status` of the original is pici-status: the rest of the line is its.
    func testStatusRunsPiciStatusWithTheRestOfTheLine() {
        let world = Support.ZmxWorld(self)
        let help = pici(world, "status --help")
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.hasPrefix("usage: pici-status --forge "), help.stdout)
        XCTAssertEqual(pici(world, "status --version").stdout, "pici-status \(PiciVersion.string)\n")
        let art = Support.tempDir(self, "art")
        let ran = pici(world, "-artifact-dir '\(art)' status --forge gitea --api http://127.0.0.1:9 --token-file /nonexistent", input: "")
        XCTAssertEqual(ran.status, 66, ran.stderr)
        XCTAssertTrue(ran.stderr.hasSuffix("pici-status: --token-file /nonexistent: No such file or directory\n"), ran.stderr)
        XCTAssertEqual(pici(world, "status").status, 64)
    }

    func testTheWrapperQuotesValuesAsSlogDoes() {
        let world = Support.ZmxWorld(self)
        for value in ["", "plain", "a b", "x=y", "q\"q", "tab\tx", "nl\nx", "back\\slash", "esc\u{1B}x", "é/ü", "/k/ci.pem",
                      "d\u{7F}l", "n\u{85}l", "nb\u{A0}sp", "c1\u{90}", "😀"] {
            // Whatever the caller's locale: LC_ALL=C too.
            for locale in ["", "LC_ALL=C "] {
                let ran = world.sh("\(locale)'\(PiciWrapperTests.pici)' -log-level debug -pk \"$(cat)\" status", input: value)
                let first = ran.stderr.split(separator: "\n").first.map(String.init) ?? ""
                XCTAssertTrue(first.hasSuffix(" service=ci key_loc=\(SeedLog.value(value)) cert_loc=\"\" cmd=status"), "\(locale)\(value.debugDescription): \(first)")
            }
        }
    }

    func testSeedLogFormatsLikeGo() {
        let log = SeedLog.seed(level: .info, key: "", certificate: "/c.pub")
        XCTAssertEqual(log.line(.error, "runner failed", [("err", "event: \"name\": contains /")], nanoseconds: 1795823657_123_999_999),
                       #"time=2026-11-27T23:54:17.123Z level=ERROR msg="runner failed" service=ci key_loc="" cert_loc=/c.pub err="event: \"name\": contains /""#)
        XCTAssertEqual(SeedLog.value("ok"), "ok")
        XCTAssertEqual(SeedLog.value(""), "\"\"")
        XCTAssertEqual(SeedLog.value("a\\b"), "a\\b")
        XCTAssertEqual(SeedLog.value("a\u{7F}b"), "a\u{7F}b")
        XCTAssertEqual(SeedLog.value("a\u{A0}b"), "\"a\\u00a0b\"")
        XCTAssertEqual(SeedLog.value("x\u{1B}\u{7F}\n"), "\"x\\x1b\\x7f\\n\"")
        XCTAssertEqual(SeedLog.value("😀"), "😀")
        XCTAssertEqual(SeedLog.Level(parsing: "DEBUG"), .debug)
        XCTAssertEqual(SeedLog.Level(parsing: "verbose"), .info)
        XCTAssertFalse(log.enabled(.debug))
        XCTAssertTrue(log.enabled(.warn))
    }

    func testFlagsTakeEveryGoFormAndMapOntoPiciRunAndPiciMonitor() throws {
        let world = Support.ZmxWorld(self)
        // A copy of the wrapper with stand-ins beside it, which it must prefer to PATH's.
        let dir = Support.tempDir(self, "wrap")
        try FileManager.default.copyItem(atPath: PiciWrapperTests.pici, toPath: dir + "/pici")
        for tool in ["pici-run", "pici-monitor"] {
            try "#!/usr/bin/env bash\nprintf '%s|' \(tool) \"$@\"; echo\nexit ${FAKE_RC:-0}\n".write(toFile: dir + "/" + tool, atomically: true, encoding: .utf8)
            XCTAssertEqual(chmod(dir + "/" + tool, 0o755), 0)
        }
        func run(_ args: String, env: String = "") -> Support.Ran { world.sh("\(env) '\(dir)/pici' \(args)") }

        XCTAssertEqual(run("runner").stdout, "pici-run|--artifact-dir|/tmp/pici-artifacts|--log-level|info|\n")
        XCTAssertEqual(run("-wait -monitor-interval=3s --event '{\"a\":1}' runner -pk k -ck=c -artifact-dir /a -log-level debug -human").stdout,
                       "pici-run|--wait|--interval|3s|--artifact-dir|/a|--log-level|debug|-pk|k|-ck|c|--event|{\"a\":1}|\n")
        XCTAssertEqual(run("runner -wait=false --wait=0").stdout, "pici-run|--artifact-dir|/tmp/pici-artifacts|--log-level|info|\n")
        // PICI_ARTIFACT_DIR is the default, as for every command; the flag wins.
        XCTAssertEqual(run("runner", env: "PICI_ARTIFACT_DIR=/e").stdout, "pici-run|--artifact-dir|/e|--log-level|info|\n")
        XCTAssertEqual(run("runner -artifact-dir /f", env: "PICI_ARTIFACT_DIR=/e").stdout, "pici-run|--artifact-dir|/f|--log-level|info|\n")
        XCTAssertEqual(run("monitor", env: "PICI_ARTIFACT_DIR=/e").stdout, "pici-monitor|--interval|5s|--gc-interval|10m|--artifact-dir|/e|\n")
        XCTAssertEqual(run("cancel -event '{}'").stdout, "pici-run|--cancel|--artifact-dir|/tmp/pici-artifacts|--log-level|info|--event|{}|\n")
        XCTAssertEqual(run("gc -event '{}' -artifact-dir=/g").stdout, "pici-run|--gc|--artifact-dir|/g|--log-level|info|\n")
        XCTAssertEqual(run("monitor").stdout, "pici-monitor|--interval|5s|--gc-interval|10m|--artifact-dir|/tmp/pici-artifacts|\n")
        XCTAssertEqual(run("--monitor-interval 2s monitor -gc-interval=0 -human=true -include-running -pk /k -ck /c").stdout,
                       "pici-monitor|--interval|2s|--gc-interval|0|--artifact-dir|/tmp/pici-artifacts|--human|--include-running|-pk|/k|-ck|/c|\n")
        // Any failure of pici-run is exit 1, as the seed; ^C while waiting stays 130.
        XCTAssertEqual(run("runner", env: "FAKE_RC=66").status, 1)
        XCTAssertEqual(run("runner", env: "FAKE_RC=130").status, 130)
        XCTAssertEqual(run("monitor", env: "FAKE_RC=69").status, 69)

        let unknown = run("runner -bogus")
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.hasPrefix("flag provided but not defined: -bogus\n"), unknown.stderr)
        let badBool = run("runner -wait=maybe")
        XCTAssertEqual(badBool.status, 2)
        XCTAssertTrue(badBool.stderr.hasPrefix("invalid boolean value \"maybe\" for -wait: parse error\n"), badBool.stderr)
        XCTAssertTrue(run("runner -event").stderr.hasPrefix("flag needs an argument: -event\n"))
        XCTAssertTrue(run("monitor -monitor-interval soon").stderr.hasPrefix("invalid value \"soon\" for flag -monitor-interval: parse error\n"))
        XCTAssertEqual(run("runner extra").status, 2)
        XCTAssertEqual(run("status").stdout, "")
        XCTAssertEqual(run("orca").status, 0)
    }
}
