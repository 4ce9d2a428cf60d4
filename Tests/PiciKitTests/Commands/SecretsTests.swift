import Foundation
import PiciKit
import XCTest

/// Secrets (pici-stage(1) "Secrets", pici-run(1)): a secret from the mask file appears in no
/// file under the artifact dir or the rsync destination and in no printed line, however the
/// build printed it.
final class SecretsTests: XCTestCase {
    static let secret = "hunter2-T0k3n"
    static let envSecret = "s3cr&t-from-env"

    /// A mask file with a bare secret and an env line.
    func maskFile(_ dir: String) -> String {
        let path = dir + "/mask"
        try! "\(SecretsTests.secret)\nAPI_KEY=\(SecretsTests.envSecret)\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The step's log as pici writes it: every form of the secret masked.
    static let maskedLog = """
        whole: ***
        \(String(repeating: "0", count: 115))***
        <b>***</b> and &***& and <i>***</i>
        done

        """

    /// Under `base`: an artifact dir whose job `demo` `id` syncs to a destination, and a mask
    /// file.
    func demoJob(_ base: String, id: String) throws -> (art: String, dest: String, mask: String) {
        let art = base + "/art", dest = base + "/dest"
        try FileManager.default.createDirectory(atPath: dest, withIntermediateDirectories: true)
        let artifacts = "\(art)/demo/\(id)/artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        try #"{"type":"push","name":"demo","workspace":"/srv/ws","artifact_dest":"\#(dest)"}"#.write(toFile: artifacts + "/event.json", atomically: true, encoding: .utf8)
        return (art, dest, maskFile(base))
    }

    /// Every file under `dir` that holds any form of the secrets.
    func leaks(under dir: String) -> [String] {
        var found: [String] = []
        let forms = [SecretsTests.secret, SecretsTests.envSecret, "s3cr&amp;t-from-env", "s3cr\\u0026t"]
        for rel in FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? [] {
            guard let data = FileManager.default.contents(atPath: dir + "/" + rel) else { continue }
            let text = String(decoding: data, as: UTF8.self)
            if forms.contains(where: { text.contains($0) }) { found.append(rel) }
        }
        return found
    }

    /// The step prints the secret whole, split by a wrap at column 120, inside <b>…</b> and
    /// next to &; the other secret has an & of its own (escaped on the page).
    static let step = """
        s=\(secret); e='\(envSecret)'
        echo "whole: $s"
        printf '%0115d%s\\n' 0 "$s"
        echo "<b>$s</b> and &$s& and <i>$e</i>"
        echo "done"
        """

    func testASecretReachesNoFileAndNoLine() throws {
        let world = Support.ZmxWorld(self)
        let base = Support.tempDir(self, "secrets")
        let id = "0badc0de"
        let (art, dest, mask) = try demoJob(base, id: id)
        try SecretsTests.step.write(toFile: base + "/step.sh", atomically: true, encoding: .utf8)
        let started = world.sh("zmx run ci.demo.\(id).step.leaky -d bash '\(base)/step.sh' && zmx run ci.demo.\(id).runner -d sleep 0.3")
        XCTAssertEqual(started.status, 0, started.stderr)
        world.waitUntilEnded()

        var printed = ""
        for flags in ["", "--human"] {
            for _ in 0..<3 {
                let ran = world.sh("pici-monitor --once --artifact-dir '\(art)' --mask-file '\(mask)' \(flags)")
                printed += ran.stdout + ran.stderr
            }
        }
        XCTAssertTrue(printed.contains(#""status":"failed""#) || printed.contains(#""status":"success""#), printed)
        let txt = try String(contentsOfFile: "\(art)/demo/\(id)/leaky.txt", encoding: .utf8)
        XCTAssertEqual(txt, SecretsTests.maskedLog)
        let html = try String(contentsOfFile: "\(art)/demo/\(id)/leaky.html", encoding: .utf8)
        XCTAssertTrue(html.contains("&lt;b&gt;***&lt;/b&gt; and &amp;***&amp; and &lt;i&gt;***&lt;/i&gt;"), html)
        XCTAssertEqual(leaks(under: art), [])
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dest)/\(id)/leaky.txt") || FileManager.default.fileExists(atPath: "\(dest)/demo/\(id)/leaky.txt")
            || !(FileManager.default.enumerator(atPath: dest)?.allObjects.isEmpty ?? true), "nothing was rsynced")
        XCTAssertEqual(leaks(under: dest), [])
        XCTAssertFalse(printed.contains(SecretsTests.secret), printed)
        // Without the mask file the secret would be there: the test can fail.
        let plain = world.sh("zmx history ci.demo.\(id).step.leaky").stdout
        XCTAssertTrue(plain.contains(SecretsTests.envSecret), plain)
    }

    /// The same step followed while it runs (a monitor every second, its follower streaming):
    /// neither the follower's files nor the logs, pages, rsync copy or printed lines hold it,
    /// while the step runs or after.
    func testASecretInAFollowedSessionReachesNoFileAndNoLine() throws {
        let world = Support.ZmxWorld(self)
        let base = Support.tempDir(self, "secrets")
        let out = base + "/out"
        let id = "f0110bed"
        let (art, dest, mask) = try demoJob(base, id: id)
        let go = base + "/go", printed = base + "/printed"
        try """
            until [ -e '\(go)' ] || [ ! -d '\(base)' ]; do sleep 0.1; done
            \(SecretsTests.step)
            touch '\(printed)'; sleep 3
            """.write(toFile: base + "/step.sh", atomically: true, encoding: .utf8)
        let started = world.sh("zmx run ci.demo.\(id).step.leaky -d bash '\(base)/step.sh' && zmx run ci.demo.\(id).runner -d bash -c 'sleep 1; ZMX_SESSION_PREFIX=ci.demo.\(id).step. zmx wait leaky'")
        XCTAssertEqual(started.status, 0, started.stderr)
        let monitor = Process()
        monitor.executableURL = URL(fileURLWithPath: Support.scriptsDir + "/pici-monitor")
        monitor.arguments = ["--interval", "1s", "--artifact-dir", art, "--mask-file", mask]
        monitor.environment = world.env
        XCTAssertTrue(FileManager.default.createFile(atPath: out, contents: nil))
        monitor.standardOutput = FileHandle(forWritingAtPath: out)
        monitor.standardError = monitor.standardOutput
        monitor.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        try monitor.run()
        defer { if monitor.isRunning { monitor.terminate(); monitor.waitUntilExit() } }
        Support.waitFor("the follower's history", seconds: 60) { FileManager.default.fileExists(atPath: "\(art)/.pici/follow/ci.demo.\(id).step.leaky/1/head") }
        XCTAssertTrue(FileManager.default.createFile(atPath: go, contents: nil))
        Support.waitFor("the streamed lines", seconds: 60) {
            FileManager.default.fileExists(atPath: printed)
                && ((try? String(contentsOfFile: "\(art)/demo/\(id)/leaky.txt", encoding: .utf8)) ?? "").contains("done\n")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(art)/.pici/follow/ci.demo.\(id).step.leaky"), "followed while it runs")
        XCTAssertEqual(leaks(under: art), [], "while it runs")
        Support.waitFor("the job's status line", seconds: 60) { ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").contains("\"job_id\":\"\(id)\"") }
        Support.waitFor("the rsync", seconds: 60) { FileManager.default.fileExists(atPath: "\(dest)/leaky.txt") || FileManager.default.fileExists(atPath: "\(dest)/\(id)/leaky.txt") }
        monitor.terminate()
        monitor.waitUntilExit()
        let txt = try String(contentsOfFile: "\(art)/demo/\(id)/leaky.txt", encoding: .utf8)
        XCTAssertEqual(txt, SecretsTests.maskedLog)
        XCTAssertEqual(leaks(under: art), [])
        XCTAssertEqual(leaks(under: dest), [])
        let said = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertFalse(said.contains(SecretsTests.secret) || said.contains(SecretsTests.envSecret), said)
        XCTAssertTrue(world.sh("zmx history ci.demo.\(id).step.leaky").stdout.contains(SecretsTests.secret), "the test can fail")
    }

    func testPiciStageMasksWhatItPrintsToo() throws {
        let world = Support.ZmxWorld(self)
        let base = Support.tempDir(self)
        let mask = maskFile(base)
        // A record that carries the secret (in a label) passes on masked.
        let record = #"{"type":"job","name":"demo","job_id":"0badc0de","status":"running","exit_code":null,"started_at":null,"ended_at":null,"duration":"1s","session_count":0,"sessions":[],"note":"\#(SecretsTests.secret)"}"#
        let ran = world.sh("pici-stage --artifact-dir '\(base)/art' --mask-file '\(mask)'", input: record + "\n")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertFalse(ran.stdout.contains(SecretsTests.secret), ran.stdout)
        XCTAssertTrue(ran.stdout.contains(#""note":"***""#), ran.stdout)
        XCTAssertEqual(leaks(under: base + "/art"), [])
    }

    func testAMissingMaskFileStopsEveryCommandBeforeItWritesAnything() throws {
        let world = Support.ZmxWorld(self)
        let base = Support.tempDir(self)
        let art = base + "/art"
        let record = #"{"type":"job","name":"demo","job_id":"0badc0de","status":"running","exit_code":null,"started_at":null,"ended_at":null,"duration":"1s","session_count":0,"sessions":[]}"#
        for command in ["pici-stage --artifact-dir '\(art)'", "pici-publish --no-sync --artifact-dir '\(art)'",
                        "pici-run --artifact-dir '\(art)' --event '{}'", "pici-monitor --once --artifact-dir '\(art)'",
                        "pici monitor -artifact-dir '\(art)'"] {
            for how in ["--mask-file '\(base)/nope'", "PICI_MASK_FILE='\(base)/nope'"] {
                let line = how.hasPrefix("--") ? "\(command) \(how.replacingOccurrences(of: "--mask-file", with: command.hasPrefix("pici ") ? "-mask-file" : "--mask-file"))" : "\(how) \(command)"
                let ran = world.sh(line, input: record + "\n")
                XCTAssertEqual(ran.status, 66, "\(line): \(ran.stderr)")
                XCTAssertTrue(ran.stderr.contains("\(base)/nope"), "\(line): \(ran.stderr)")
                XCTAssertEqual(ran.stdout, "", line)
                XCTAssertFalse(FileManager.default.fileExists(atPath: art), "\(line) wrote \(art)")
            }
        }
    }

    func testASecretUnderFourBytesIsRefused() throws {
        let world = Support.ZmxWorld(self)
        let base = Support.tempDir(self)
        try "long-enough\nPW=abc\n".write(toFile: base + "/mask", atomically: true, encoding: .utf8)
        for command in ["pici-stage", "pici-publish --no-sync", "pici-monitor --once"] {
            let ran = world.sh("\(command) --artifact-dir '\(base)/art' --mask-file '\(base)/mask'", input: "")
            XCTAssertEqual(ran.status, 64, command)
            XCTAssertTrue(ran.stderr.contains("mask file \(base)/mask: line 2: a secret of 3 bytes is refused"), "\(command): \(ran.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: base + "/art"), command)
        }
    }

    /// pici-run --wait prints the failed step's log: only the build's output, masked.
    func testWaitTailsAreCleanAndMasked() throws {
        let world = Support.ZmxWorld(self)
        let base = Support.tempDir(self)
        let mask = maskFile(base)
        let ws = Support.tempDir(self, "ws")
        try """
            zmx run bad -d bash -c 'echo "token \(SecretsTests.secret)"; printf "no newline"; exit 3'
            zmx wait bad >/dev/null
            """.write(toFile: ws + "/pico.sh", atomically: true, encoding: .utf8)
        let ran = world.sh("TMPDIR='\(base)' pici-run --wait --interval 200ms --artifact-dir '\(base)/art' --mask-file '\(mask)'",
                           input: #"{"type":"push","name":"demo","workspace":"\#(ws)"}"#)
        XCTAssertEqual(ran.status, 3, ran.stdout + ran.stderr)
        let tail = ran.stdout.components(separatedBy: "Session: bad (exit 3)").last ?? ""
        XCTAssertTrue(tail.contains("\n\n   token ***\n   no newline\n\n"), tail)
        XCTAssertFalse(ran.stdout.contains("ZMX_TASK_COMPLETED"), ran.stdout)
        XCTAssertFalse(ran.stdout.contains(SecretsTests.secret), ran.stdout)
    }
}
