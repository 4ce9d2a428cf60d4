import Foundation
import PiciKit
import XCTest

/// Names, steps, events and destinations made to break out — path traversal, options, shell
/// code, quotes, newlines, terminal escapes and markup — sent through every command. Each must
/// be refused and reported, or carried through as plain data: nothing written outside the
/// artifact dir, nothing run, every page escaped.
final class HostileInputTests: XCTestCase {
    /// One test's private ground: the artifact dir `art` inside `base`, an empty working
    /// directory and TMPDIR, and a marker file name that only injected code would create.
    final class Scene {
        let world: Support.ZmxWorld
        let base: String
        let art: String
        let work: String
        let tmp: String
        /// In every hostile name, so that anything they create can be found.
        let token: String
        /// The file injected code would touch: `/tmp/<pwned>` or `<cwd>/<pwned>`.
        let pwned: String
        let callLog: String
        private let tmpBefore: Set<String>

        init(_ test: XCTestCase) {
            world = Support.ZmxWorld(test)
            base = Support.tempDir(test, "hostile")
            art = base + "/art"
            work = base + "/work"
            tmp = base + "/tmp"
            for d in [work, tmp] { try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
            let id = UUID().uuidString.lowercased()
            token = "tok" + id.prefix(6)
            pwned = "pwned-" + id
            callLog = world.dir + "/calls.log"
            tmpBefore = Set((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? [])
            let pwned = self.pwned
            test.addTeardownBlock { try? FileManager.default.removeItem(atPath: "/tmp/" + pwned) }
        }

        /// Runs `script` in `work`, with the scene's variables and the stand-in's call log.
        func sh(_ script: String, _ extra: [String: String] = [:], input: String = "") -> Support.Ran {
            var env = world.env
            env["D"] = art
            env["TMPDIR"] = tmp
            env["ZMX_CALL_LOG"] = callLog
            for (k, v) in extra { env[k] = v }
            return Support.sh(script, env: env, input: input, cwd: work)
        }

        var calls: [String] {
            ((try? String(contentsOfFile: callLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        /// Every path under `dir`, relative to it.
        func tree(_ dir: String) -> [String] {
            (FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? []).sorted()
        }

        /// What must hold whatever was fed in: nothing outside `art` (and `also`) was
        /// written, no marker file exists anywhere, no path under the artifact dirs climbs out
        /// or reads as an option, and no page carries live markup.
        func assertContained(also: [String] = [], file: StaticString = #filePath, line: UInt = #line) {
            let outside = tree(base).filter { p in !([art] + also).contains { base + "/" + p == $0 || (base + "/" + p).hasPrefix($0 + "/") } }
            XCTAssertEqual(outside.filter { $0 != "work" && $0 != "tmp" }, [], "written outside the artifact dir", file: file, line: line)
            XCTAssertEqual(tree(work), [], "written in the working directory", file: file, line: line)
            XCTAssertEqual(tree(tmp), [], "written in TMPDIR", file: file, line: line)
            let tmpNow = Set((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? [])
            XCTAssertEqual(tmpNow.subtracting(tmpBefore).filter { $0.contains(token) || $0.contains(pwned) }, [], "written in /tmp", file: file, line: line)
            XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/" + pwned), "injected code ran", file: file, line: line)
            for dir in [base, world.dir] {
                let hits = tree(dir).filter { ($0 as NSString).lastPathComponent == pwned }
                XCTAssertEqual(hits, [], "injected code ran in \(dir)", file: file, line: line)
            }
            for dir in [art] + also {
                for p in tree(dir) {
                    let parts = p.split(separator: "/", omittingEmptySubsequences: false)
                    XCTAssertFalse(parts.contains { $0 == ".." || $0 == "." || $0.isEmpty || $0.hasPrefix("-") }, "path \(p)", file: file, line: line)
                    XCTAssertFalse(p.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "path \(p.debugDescription)", file: file, line: line)
                    guard p.hasSuffix(".html"), let html = try? String(contentsOfFile: dir + "/" + p, encoding: .utf8) else { continue }
                    let lower = html.lowercased()
                    XCTAssertFalse(lower.contains("<script") || lower.contains("<img"), "live markup in \(p)", file: file, line: line)
                }
            }
        }
    }

    /// Strings made to escape: `token` marks them, `pwned` is what their code would create.
    static func hostile(token: String, pwned: String) -> [String] {
        [
            "../\(token)", "..", ".", "\(token)/x", "/tmp/\(token)", "-\(token)", "--rsync-path=touch \(token)",
            ".\(token)", "a b \(token)", "q'\"\(token)", "$(touch \(pwned))", "$(touch /tmp/\(pwned))",
            ";touch \(pwned)", ";touch /tmp/\(pwned)", "`touch \(pwned)`", "`touch /tmp/\(pwned)`",
            "\(token)\nx", "\(token)\u{1B}[2J", "<script>alert('\(token)')</script>", "<script>\(token)",
            "\"><img src=x onerror=alert(1)>\(token)",
        ]
    }

    /// Distinct job ids, none of them the token's shape.
    static func jobIDs(_ n: Int) -> [String] {
        var ids: [String] = []
        while ids.count < n {
            let id = String(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(8))
            if !ids.contains(id) { ids.append(id) }
        }
        return ids
    }

    static func listLine(_ name: String, created: Int, ended: Int?, exitCode: Int = 0) -> String {
        "  name=\(name)\tpid=4242\tclients=0\tcreated=\(created)\tcwd=file://h/srv/ci" + (ended.map { "\tended=\($0)\texit_code=\(exitCode)" } ?? "")
    }

    /// A complete listing that proves no job gone: a finished job's status is final only in a
    /// stream that ends with a complete listing.
    static let completeListing = #"{"type":"listing","complete":true,"sessions":0,"at":0}"# + "\n"

    /// The status lines of an output file.
    static func statuses(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    static func json(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// A bash word that is exactly `value`: ANSI-C quoting keeps newlines and escapes intact.
    static func shellWord(_ value: String) -> String {
        var out = "$'"
        for u in value.unicodeScalars {
            switch u {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\n": out += "\\n"
            default:
                if u.value < 0x20 || u.value == 0x7F { out += String(format: "\\x%02x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "'"
    }

    // MARK: (a) pici-run and pici refuse hostile events before touching anything

    func testRunRefusesHostileEventsAndCreatesNothing() {
        let scene = Scene(self)
        let names = HostileInputTests.hostile(token: scene.token, pwned: scene.pwned) + ["", "x.deadbeef.runner"]
        let ws = "/srv/ws"
        var events: [(event: String, field: String)] = names.map {
            (HostileInputTests.json(["type": "push", "name": $0, "workspace": ws]), "name")
        }
        for w in ["-e sh", "--rsync-path=touch /tmp/\(scene.pwned)", "-\(scene.token)", "/srv/ws\n-e sh", "\u{1B}]0;x\u{7}"] {
            events.append((HostileInputTests.json(["type": "push", "name": "demo", "workspace": w]), "workspace"))
        }
        for d in ["--rsync-path=touch /tmp/\(scene.pwned)", "-e sh -c 'touch /tmp/\(scene.pwned)'", "x\n--rsync-path=touch"] {
            events.append((HostileInputTests.json(["type": "push", "name": "demo", "workspace": ws, "artifact_dest": d]), "artifact_dest"))
        }
        events.append((HostileInputTests.json(["type": "push\u{1B}[2J", "name": "demo", "workspace": ws]), "type"))

        for (event, field) in events {
            for (how, script) in [
                ("--event", "pici-run --artifact-dir \"$D\" --event \"$EVENT\""),
                ("stdin", "printf '%s' \"$EVENT\" | pici-run --artifact-dir \"$D\" --wait"),
                ("--cancel", "pici-run --cancel --artifact-dir \"$D\" --event \"$EVENT\""),
            ] {
                // A cancellation needs only the name; its other fields are still checked.
                let ran = scene.sh(script, ["EVENT": event])
                XCTAssertEqual(ran.status, 65, "\(how) \(event): \(ran.stdout) \(ran.stderr)")
                XCTAssertTrue(ran.stderr.hasPrefix("pici-run: event: \"\(field)\": "), "\(how) \(event): \(ran.stderr)")
                XCTAssertEqual(ran.stdout, "", "\(how) \(event)")
            }
            // The seed's command line: its exit status 1 and its log line.
            let seed = scene.sh("pici runner -artifact-dir \"$D\" -event \"$EVENT\"", ["EVENT": event])
            XCTAssertEqual(seed.status, 1, event)
            XCTAssertTrue(seed.stderr.contains("level=ERROR msg=\"runner failed\""), seed.stderr)
            XCTAssertTrue(seed.stderr.contains("err=\"event: \\\"\(field)\\\": "), seed.stderr)
        }
        XCTAssertEqual(scene.calls, [], "zmx was called for a refused event")
        XCTAssertFalse(FileManager.default.fileExists(atPath: scene.art), "the artifact dir was made")
        scene.assertContained()
    }

    // MARK: (b) hostile zmx sessions through the monitor pipeline

    /// The canned listing of one hostile job per string as repository, and one per string as
    /// a step of repository `demo<token>`; returns (name, job id, as step) per job.
    private func cannedHostileWorld(_ scene: Scene, now: Int) throws -> [(value: String, id: String, step: Bool)] {
        let values = HostileInputTests.hostile(token: scene.token, pwned: scene.pwned)
        let ids = HostileInputTests.jobIDs(values.count * 2)
        var jobs: [(String, String, Bool)] = []
        var lines: [String] = []
        for (i, v) in values.enumerated() {
            lines.append(HostileInputTests.listLine("ci.\(v).\(ids[i]).runner", created: now - 100, ended: now - 50))
            jobs.append((v, ids[i], false))
            let id = ids[values.count + i]
            lines.append(HostileInputTests.listLine("ci.demo\(scene.token).\(id).runner", created: now - 100, ended: now - 50))
            lines.append(HostileInputTests.listLine("ci.demo\(scene.token).\(id).step.\(v)", created: now - 90, ended: now - 60))
            jobs.append((v, id, true))
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: scene.world.dir + "/canned-list", atomically: true, encoding: .utf8)
        let history = "$ echo '<script>alert(1)</script>' $(touch \(scene.pwned))\n<script>alert(1)</script>\n<img src=x onerror=alert(1)>\n"
        try history.write(toFile: scene.world.dir + "/canned-history", atomically: true, encoding: .utf8)
        return jobs
    }

    /// What a pass over the hostile jobs must have done in `art` and said on `stderr`.
    private func assertHostileJobsHandled(
        _ jobs: [(value: String, id: String, step: Bool)], scene: Scene, art: String, out: String, stderr: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let printed = HostileInputTests.statuses(out)
        let index = (try? String(contentsOfFile: art + "/index.html", encoding: .utf8)) ?? ""
        for (value, id, step) in jobs {
            let what = "\(step ? "step" : "repo") \(value.debugDescription)"
            let mine = printed.filter { $0["job_id"] as? String == id }
            let repo = step ? "demo\(scene.token)" : value
            if value.unicodeScalars.contains(where: { $0.value < 0x20 }) {
                // A newline breaks zmx's line in two, neither half a session; an escape is a
                // control character in a name. Both are reported, never read as fields, and
                // hold their job (issue 16 case 3): a step's job is not published while it
                // lives, and a repo's never appears.
                XCTAssertTrue(stderr.contains("pici-list: line "), "\(what): \(stderr)", file: file, line: line)
                XCTAssertEqual(mine.count, 0, what, file: file, line: line)
            } else if SafeName.isSafe(value) {
                XCTAssertEqual(mine.count, 1, "\(what): \(out)", file: file, line: line)
                XCTAssertEqual(mine.first?["name"] as? String, repo, what, file: file, line: line)
                XCTAssertEqual(mine.first?["status"] as? String, "success", what, file: file, line: line)
                let short = step ? value : "runner"
                for f in ["index.html", "index.txt", short + ".html", short + ".txt"] {
                    XCTAssertTrue(FileManager.default.fileExists(atPath: "\(art)/\(repo)/\(id)/\(f)"), "\(what): \(f)", file: file, line: line)
                }
                XCTAssertTrue(index.contains(HTML.escape(repo)), "\(what) on the front page", file: file, line: line)
                if step {
                    let jobIndex = (try? String(contentsOfFile: "\(art)/\(repo)/\(id)/index.html", encoding: .utf8)) ?? ""
                    XCTAssertTrue(jobIndex.contains(">\(HTML.escape(value))</a>"), "\(what) in its job's index", file: file, line: line)
                    XCTAssertTrue(jobIndex.contains("href=\"\(HTML.linkSegment(value)).html\""), "\(what) linked", file: file, line: line)
                }
            } else if step {
                // The unsafe step is reported and never staged; its job still flows and is
                // published once with its real result (not taken for vanished).
                XCTAssertTrue(stderr.contains(SafeName.quoted(value)), "\(what) not reported: \(stderr)", file: file, line: line)
                XCTAssertEqual(mine.count, 1, "\(what): \(out)", file: file, line: line)
                XCTAssertEqual(mine.first?["status"] as? String, "success", what, file: file, line: line)
                let fetched = scene.calls.filter { $0.hasPrefix("history ") && $0.contains(id) }
                XCTAssertTrue(fetched.allSatisfy { $0 == "history ci.\(repo).\(id).runner --html" }, "\(what): \(fetched)", file: file, line: line)
                let made = Set(scene.tree(art).filter { $0.contains(id) }.map { ($0 as NSString).lastPathComponent })
                XCTAssertTrue(made.isSubset(of: [id, "index.html", "index.txt", "runner.html", "runner.txt", "styles.css", "artifacts", "published.json", ".pici-staged.json"]),
                              "\(what): files made \(made)", file: file, line: line)
            } else {
                XCTAssertTrue(stderr.contains(SafeName.quoted(value)), "\(what) not reported: \(stderr)", file: file, line: line)
                XCTAssertEqual(mine.count, 0, what, file: file, line: line)
                XCTAssertFalse(scene.tree(art).contains { $0.contains(id) }, "\(what): files made", file: file, line: line)
                XCTAssertFalse(scene.calls.contains { $0.hasPrefix("history ") && $0.contains(id) }, "\(what): its history fetched", file: file, line: line)
            }
        }
    }

    func testHostileSessionNamesThroughThePipelineAreRefusedOrCarriedAsData() throws {
        let scene = Scene(self)
        let now = Int(Date().timeIntervalSince1970)
        let jobs = try cannedHostileWorld(scene, now: now)
        let out = scene.world.dir + "/out.jsonl"
        let pipeline = """
            pici-list | pici-group | pici-stage --artifact-dir "$D" | pici-publish --artifact-dir "$D" >>"$OUT"
            echo "${PIPESTATUS[*]}"
            """
        let first = scene.sh(pipeline, ["OUT": out])
        XCTAssertEqual(first.stdout, "65 0 65 0\n", first.stderr)
        let printed = try String(contentsOfFile: out, encoding: .utf8)
        assertHostileJobsHandled(jobs, scene: scene, art: scene.art, out: printed, stderr: first.stderr)
        let histories = scene.calls.filter { $0.hasPrefix("history ") }
        XCTAssertTrue(histories.allSatisfy { $0.hasPrefix("history ci.") && $0.hasSuffix(" --html") }, "\(histories)")
        scene.assertContained()

        // Exactly once, hostile or not: the next pass prints nothing and fetches nothing.
        let before = scene.calls.count
        let second = scene.sh(pipeline, ["OUT": out])
        XCTAssertEqual(second.stdout, "65 0 65 0\n", second.stderr)
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), printed)
        XCTAssertEqual(scene.calls.dropFirst(before).filter { $0.hasPrefix("history ") }, [])
        scene.assertContained()

        // pici-monitor runs the same pass, and says which stages failed.
        let art2 = scene.base + "/art2"
        let out2 = scene.world.dir + "/out2.jsonl"
        let monitor = scene.sh("pici-monitor --once --artifact-dir \"$D2\" >\"$OUT\"", ["D2": art2, "OUT": out2])
        XCTAssertEqual(monitor.status, 65, "--once: the first failed stage's status; " + monitor.stderr)
        XCTAssertTrue(monitor.stderr.contains("pici-monitor: pass failed: pici-list exit 65, pici-stage exit 65\n"), monitor.stderr)
        let printed2 = try String(contentsOfFile: out2, encoding: .utf8)
        assertHostileJobsHandled(jobs, scene: scene, art: art2, out: printed2, stderr: monitor.stderr)
        XCTAssertEqual(
            Set(HostileInputTests.statuses(printed2).map { "\($0["name"]!)/\($0["job_id"]!)" }),
            Set(HostileInputTests.statuses(printed).map { "\($0["name"]!)/\($0["job_id"]!)" }))
        scene.assertContained(also: [art2])
    }

    /// The same names given to a zmx that really runs them, where zmx takes the name at all.
    func testHostileNamesOfRealSessionsAreRefusedOrCarriedAsData() throws {
        let scene = Scene(self)
        // zmx refuses `/`, `.` and `..`; a newline makes a session zmx list cannot show.
        let values = HostileInputTests.hostile(token: scene.token, pwned: scene.pwned).filter { !$0.contains("/") && !$0.contains("\n") && $0 != "." && $0 != ".." }
        let ids = HostileInputTests.jobIDs(values.count * 2)
        var jobs: [(value: String, id: String, step: Bool)] = []
        var names: [String] = []
        for (i, v) in values.enumerated() {
            names.append("ci.\(v).\(ids[i]).runner")
            jobs.append((v, ids[i], false))
            let id = ids[values.count + i]
            names += ["ci.demo\(scene.token).\(id).runner", "ci.demo\(scene.token).\(id).step.\(v)"]
            jobs.append((v, id, true))
        }
        // Each session prints markup and shell code; zmx's --html must escape it.
        var script = ""
        for (i, n) in names.enumerated() {
            script += "N\(i)=\(HostileInputTests.shellWord(n)); zmx run \"$N\(i)\" -d printf '%s\\n' '<script>alert(1)</script>' '$(touch \(scene.pwned))' >/dev/null || echo \"refused $N\(i)\"\n"
        }
        let started = scene.sh(script)
        XCTAssertEqual(started.stdout, "", started.stderr)
        scene.world.waitUntilEnded()
        let listed = scene.sh("zmx list").stdout
        for n in names { XCTAssertTrue(listed.contains("name=\(n)\t"), "zmx did not list \(n.debugDescription)") }

        let out = scene.world.dir + "/out.jsonl"
        let ran = scene.sh("""
            pici-list | pici-group | pici-stage --artifact-dir "$D" | pici-publish --artifact-dir "$D" >"$OUT"
            echo "${PIPESTATUS[*]}"
            """, ["OUT": out])
        XCTAssertEqual(ran.stdout, "65 0 65 0\n", ran.stderr)
        assertHostileJobsHandled(jobs, scene: scene, art: scene.art, out: try String(contentsOfFile: out, encoding: .utf8), stderr: ran.stderr)
        // The sessions' own output reached the logs as text.
        let safe = jobs.first { SafeName.isSafe($0.value) && !$0.step }!
        let log = try String(contentsOfFile: "\(scene.art)/\(safe.value)/\(safe.id)/runner.txt", encoding: .utf8)
        XCTAssertTrue(log.contains("<script>alert(1)</script>\n$(touch \(scene.pwned))\n"), log)
        scene.assertContained()
    }

    func testGarbageCollectionOfHostileSessionsWritesOnlyInsideTheArtifactDir() throws {
        let scene = Scene(self)
        let values = HostileInputTests.hostile(token: scene.token, pwned: scene.pwned)
        let ids = HostileInputTests.jobIDs(values.count)
        var lines: [String] = []
        for (v, id) in zip(values, ids) {
            lines.append(HostileInputTests.listLine("ci.\(v).\(id).runner", created: 1000, ended: nil))
            // gc marks only jobs the artifact dir knows: make those it could reach.
            if SafeName.isSafe(v) {
                try FileManager.default.createDirectory(atPath: "\(scene.art)/\(v)/\(id)", withIntermediateDirectories: true)
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: scene.world.dir + "/canned-list", atomically: true, encoding: .utf8)
        let ran = scene.sh("pici-run --gc --artifact-dir \"$D\"")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertEqual(scene.calls.filter { $0.hasPrefix("kill ") }.count, 1, "\(scene.calls)")
        for (v, id) in zip(values, ids) where SafeName.isSafe(v) && !v.contains("\n") {
            let marker = "\(scene.art)/\(v)/\(id)/artifacts/cancelled.json"
            XCTAssertTrue(FileManager.default.fileExists(atPath: marker), "no cancelled.json for \(v.debugDescription)")
            XCTAssertTrue(ran.stdout.contains("killed session ci.\(v).\(id).runner\n"), ran.stdout)
        }
        scene.assertContained()
    }

    /// zmx takes a trailing `*` as a prefix pattern, so an expired session named `ci.x*`
    /// handed to `zmx kill` as it is would take every `ci.x…` session with it.
    func testGarbageCollectionDoesNotKillYoungSessionsThroughAPatternShapedName() throws {
        let scene = Scene(self)
        let keep = "ci.keep\(scene.token).\(HostileInputTests.jobIDs(1)[0]).runner"
        let old = "ci.keep*"
        let started = scene.sh("""
            zmx run "$KEEP" -d sleep 30 >/dev/null && zmx run "$OLD" -d true >/dev/null || exit 1
            for _ in $(seq 50); do grep -q ended= "$ZMX_DIR/$OLD/state" 2>/dev/null && break; sleep 0.1; done
            sed -i 's/created=[0-9]*/created=1000/' "$ZMX_DIR/$OLD/state"
            zmx list
            """, ["KEEP": keep, "OLD": old])
        XCTAssertTrue(started.stdout.contains("name=\(old)\t") && started.stdout.contains("created=1000"), started.stdout + started.stderr)
        let gc = scene.sh("pici-run --gc --gc-age 1h --artifact-dir \"$D\"")
        XCTAssertEqual(gc.status, 0, gc.stderr)
        let after = scene.sh("zmx list").stdout
        XCTAssertTrue(after.contains("name=\(keep)\t"), "gc killed a young session: \(gc.stdout)\(after)")
        scene.assertContained()
    }

    // MARK: (c) a hostile artifact_dest reaches rsync only as a path after --

    func testPublishNeverGivesRsyncAHostileDestinationAsAnOption() throws {
        let scene = Scene(self)
        let now = Int(Date().timeIntervalSince1970)
        let dest = scene.base + "/dest"
        try FileManager.default.createDirectory(atPath: dest, withIntermediateDirectories: true)
        let refused = ["--rsync-path=touch /tmp/\(scene.pwned)", "-e sh -c 'touch /tmp/\(scene.pwned)'", "-\(scene.token)"]
        // Not options: each is one new directory under dest, made as it is spelled.
        let literal = ["x --rsync-path=touch \(scene.pwned)", "$(touch \(scene.pwned))", "`touch \(scene.pwned)`", "a;touch \(scene.pwned)", "a b \(scene.token)"]
        let dests = refused + literal.map { dest + "/" + $0 }
        let ids = HostileInputTests.jobIDs(dests.count)
        let repo = "demo\(scene.token)"
        var lines: [String] = []
        for (d, id) in zip(dests, ids) {
            lines.append(HostileInputTests.listLine("ci.\(repo).\(id).runner", created: now - 100, ended: now - 50))
            let dir = "\(scene.art)/\(repo)/\(id)/artifacts"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            // As an older pici-run, or anyone who can write the artifact dir, could have left it.
            let event = HostileInputTests.json(["type": "push", "name": repo, "workspace": "/srv/ws", "artifact_dest": d])
            try event.write(toFile: dir + "/event.json", atomically: true, encoding: .utf8)
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: scene.world.dir + "/canned-list", atomically: true, encoding: .utf8)
        try "built\n".write(toFile: scene.world.dir + "/canned-history", atomically: true, encoding: .utf8)

        let out = scene.world.dir + "/out.jsonl"
        let ran = scene.sh("""
            pici-list | pici-group | pici-stage --artifact-dir "$D" | pici-publish --artifact-dir "$D" >"$OUT"
            echo "${PIPESTATUS[*]}"
            """, ["OUT": out])
        XCTAssertEqual(ran.stdout, "0 0 0 65\n", ran.stderr)
        let printed = HostileInputTests.statuses(try String(contentsOfFile: out, encoding: .utf8))
        for (d, id) in zip(dests, ids) {
            // The status is published whatever the destination.
            XCTAssertEqual(printed.filter { $0["job_id"] as? String == id }.count, 1, d)
            if refused.contains(d) {
                XCTAssertTrue(ran.stderr.contains("\"artifact_dest\": starts with -"), ran.stderr)
                XCTAssertFalse(FileManager.default.fileExists(atPath: "\(scene.art)/.pici/sync/\(repo).\(id)"), d)
            } else {
                XCTAssertTrue(FileManager.default.fileExists(atPath: d + "/index.html"), "not copied to \(d): \(ran.stderr)")
            }
        }
        XCTAssertEqual(ran.stderr.components(separatedBy: "\"artifact_dest\": starts with -").count - 1, refused.count, ran.stderr)
        XCTAssertEqual(Set(scene.tree(dest).filter { !$0.contains("/") }), Set(literal))
        scene.assertContained(also: [dest])
    }

    // MARK: pici-publish fed hostile job records directly, as a filter of one's own could

    private func jobRecord(name: String, id: String, short: String, session: String? = nil, status: String = "failed") -> String {
        let s: [String: Any] = [
            "type": "session", "name": session ?? "ci.\(name).\(id).step.\(short)", "repo": name, "job_id": id, "short": short,
            "pid": 1, "clients": 0, "created": 1_795_823_657, "ended": 1_795_823_660, "exit_code": 2, "status": "failed",
            "cwd": NSNull(), "labels": [String: Any](),
        ]
        return HostileInputTests.json([
            "type": "job", "name": name, "job_id": id, "status": status, "exit_code": 2,
            "started_at": "2026-11-27T23:54:17Z", "ended_at": "2026-11-27T23:54:20Z", "duration": "3.0s",
            "session_count": 1, "sessions": [s],
        ])
    }

    func testPublishRefusesUnsafeJobNamesAndKeepsStepNamesInsideTheJob() throws {
        let scene = Scene(self)
        let values = HostileInputTests.hostile(token: scene.token, pwned: scene.pwned)
        let ids = HostileInputTests.jobIDs(values.count * 2)
        var input = ""
        for (i, v) in values.enumerated() {
            input += jobRecord(name: v, id: ids[i], short: "lint") + "\n"
            input += jobRecord(name: "demo\(scene.token)", id: ids[values.count + i], short: v) + "\n"
        }
        let ran = scene.sh("pici-publish --artifact-dir \"$D\" --no-sync", input: input + Self.completeListing)
        XCTAssertEqual(ran.status, 65, ran.stderr)
        let printed = HostileInputTests.statuses(ran.stdout)
        for (i, v) in values.enumerated() {
            let named = printed.filter { $0["job_id"] as? String == ids[i] }
            if SafeName.isSafe(v) {
                XCTAssertEqual(named.count, 1, v.debugDescription)
            } else {
                XCTAssertEqual(named.count, 0, v.debugDescription)
                XCTAssertTrue(ran.stderr.contains(SafeName.quoted(v)), "\(v.debugDescription) not reported: \(ran.stderr)")
            }
            // A step's name is never a path here: the job is published, its pages stay in its dir.
            XCTAssertEqual(printed.filter { $0["job_id"] as? String == ids[values.count + i] }.count, 1, v.debugDescription)
        }
        scene.assertContained()
    }

    /// Text that reaches a terminal — `--human` on stdout, `index.txt` under `cat` — must not
    /// carry a record's control characters: an escape sequence in a step name would rewrite
    /// the reader's screen.
    func testPublishPrintsNoControlCharacterFromARecord() throws {
        let scene = Scene(self)
        let id = HostileInputTests.jobIDs(1)[0]
        let short = "x\u{1B}]0;\(scene.token)\u{7}\u{1B}[2J"
        let input = jobRecord(name: "demo", id: id, short: short) + "\n"
        let human = scene.sh("pici-publish --artifact-dir \"$D\" --no-sync --human", input: input + Self.completeListing)
        XCTAssertEqual(human.status, 0, human.stderr)
        XCTAssertTrue(human.stdout.contains("failed"), human.stdout)
        XCTAssertFalse(human.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, human.stdout.debugDescription)
        let text = try String(contentsOfFile: "\(scene.art)/demo/\(id)/index.txt", encoding: .utf8)
        XCTAssertFalse(text.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, text.debugDescription)
        scene.assertContained()
    }

    /// A step whose name pici-stage will not stage must not turn its running job into a
    /// `lost` one: the job is still in zmx's listing, and its real outcome is still to come.
    func testAnUnsafeStepDoesNotMakeARunningJobLost() throws {
        let scene = Scene(self)
        let id = HostileInputTests.jobIDs(1)[0]
        let runner = "ci.demo\(scene.token).\(id).runner"
        let pass = "pici-monitor --once --artifact-dir \"$D\""
        XCTAssertEqual(scene.sh("zmx run \"$R\" -d sleep 30 >/dev/null", ["R": runner]).status, 0)
        let first = scene.sh(pass)
        XCTAssertEqual(first.stdout, "", first.stderr)
        XCTAssertEqual(scene.sh("zmx run \"$S\" -d sleep 30 >/dev/null", ["S": "ci.demo\(scene.token).\(id).step.-rf"]).status, 0)
        usleep(1_100_000)  // the next listing is a second newer than the job was last seen
        let second = scene.sh(pass)
        XCTAssertTrue(second.stderr.contains(SafeName.quoted("-rf")), second.stderr)
        XCTAssertEqual(HostileInputTests.statuses(second.stdout).compactMap { $0["status"] as? String }, [], "a running job was published: \(second.stdout)")
        XCTAssertTrue(scene.sh("zmx list").stdout.contains("name=\(runner)\t"))
        scene.assertContained()
    }
}
