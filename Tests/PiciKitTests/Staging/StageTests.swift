import Foundation
import PiciKit
import XCTest

/// pici-stage: HistoryText, SessionPage, OpenJobs, and the executable against the stand-in zmx.
final class StageTests: XCTestCase {
    // MARK: HistoryText

    func testHistoryTextDecodesEntities() {
        let html = "<div>&amp; &lt; &gt; &quot; &#39; &apos; &nbsp;|</div>"
        XCTAssertEqual(HistoryText.plain(fromHTML: html), "& < > \" ' ' \u{A0}|\n")
    }

    func testHistoryTextNumericEntities() {
        XCTAssertEqual(HistoryText.plain(fromHTML: "<div>&#65;&#x42;&#X43;&#x263a;&#128640;&#0065;</div>"), "ABC☺🚀A\n")
        // Not characters: NUL, surrogates, beyond U+10FFFF, absurdly long.
        XCTAssertEqual(
            HistoryText.plain(fromHTML: "<div>&#0;&#xD800;&#x110000;&#99999999999;&#x00000000041;</div>"),
            "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}A\n")
        // Not references at all: left as text.
        XCTAssertEqual(
            HistoryText.plain(fromHTML: "<div>&#; &#x; &#12a; &unknown; &amp &AMP; & ; a&&b;</div>"),
            "&#; &#x; &#12a; &unknown; &amp &AMP; & ; a&&b;\n")
    }

    func testHistoryTextStripsTagsAndStyle() {
        let html = """
            <style>:root{--vt-palette-0: #000000;} div > span { color: red }</style>
            <div style="font-family: monospace; white-space: pre;"><span style="color: #ff0000">red</span> \
            <b title="a>b">bold</b> &lt;b&gt;not a tag&lt;/b&gt;
            line two<br>line three</div>

            """
        XCTAssertEqual(HistoryText.plain(fromHTML: html), "red bold <b>not a tag</b>\nline two\nline three\n")
        // Style in any case, with text that looks like markup inside it.
        XCTAssertEqual(HistoryText.plain(fromHTML: "<STYLE type=x>a<div>b</div></Style >ok"), "ok\n")
        // A style that never closes hides the rest.
        XCTAssertEqual(HistoryText.plain(fromHTML: "x<style>y<div>z</div>"), "x\n")
        // Comments and doctypes are not text.
        XCTAssertEqual(HistoryText.plain(fromHTML: "<!doctype html><div>a<!-- <div>b</div> -->c</div>"), "ac\n")
    }

    func testHistoryTextKeepsTextThatIsNotMarkup() {
        XCTAssertEqual(HistoryText.plain(fromHTML: "<div>a < b, c <= d, 1 <2, </ e</div>"), "a < b, c <= d, 1 <2, </ e\n")
        // Without a div the whole fragment is the text.
        XCTAssertEqual(HistoryText.plain(fromHTML: "plain &amp; simple\n"), "plain & simple\n")
        // Nested divs: all their text, in order; text outside a div is dropped once there is one.
        XCTAssertEqual(HistoryText.plain(fromHTML: "out<div>a<div>b</div>c</div>gone<div>d</div>"), "abcd\n")
    }

    func testHistoryTextEndsWithOneNewline() {
        XCTAssertEqual(HistoryText.plain(fromHTML: ""), "")
        XCTAssertEqual(HistoryText.plain(fromHTML: "<div></div>"), "")
        XCTAssertEqual(HistoryText.plain(fromHTML: "<div>x</div>"), "x\n")
        XCTAssertEqual(HistoryText.plain(fromHTML: "<div>x\n</div>\n"), "x\n")
        XCTAssertEqual(HistoryText.plain(fromHTML: "<div>x\n\n</div>"), "x\n\n")
    }

    func testHistoryTextNeverFailsOnMalformedHTML() {
        let fragment = """
            <style>:root{--vt-palette-0: #000000;}</style>
            <div style="font-family: monospace; white-space: pre;">a &amp; b &#x263a; <span a='1>2'>c</span>&#65;</div>

            """
        // Every truncation of a real fragment.
        let bytes = Array(fragment.utf8)
        for n in 0...bytes.count {
            let text = HistoryText.plain(fromHTML: Array(bytes[0..<n]))
            XCTAssertFalse(text.contains("<span"), "prefix \(n)")
        }
        // Random soup of the characters markup is made of, and invalid UTF-8.
        var rng = SeededRandom(seed: 42)
        let alphabet = Array("<>&;#xX/!-\"'= divstylebrspan0123456789aFz\n".utf8) + [0xFF, 0xC3, 0x80, 0x00]
        for _ in 0..<3000 {
            let soup = (0..<Int.random(in: 0...60, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            let text = HistoryText.plain(fromHTML: soup)
            XCTAssertLessThanOrEqual(text.utf8.count, soup.count * 3 + 1)
        }
        XCTAssertEqual(HistoryText.plain(fromHTML: "<div"), "")
        XCTAssertEqual(HistoryText.plain(fromHTML: "<div>x<span style=\"unterminated"), "x\n")
        XCTAssertEqual(HistoryText.plain(fromHTML: "<div>&#x"), "&#x\n")
        XCTAssertEqual(HistoryText.plain(fromHTML: "</div></div>x"), "x\n")
    }

    /// The stand-in zmx prints the same canned history as plain text and as HTML: the text we
    /// derive from its HTML must be byte for byte what it prints as plain text.
    func testHistoryTextMatchesTheStandInsPlainHistory() throws {
        let world = Support.ZmxWorld(self)
        let history = """
            echo '<a href="x">&amp;</a>' "quoted" 'single' ünïcödé ✓ 🚀; echo ZMX_TASK_COMPLETED:ab12:$?
            ci@buildhost:/srv/ci/work$ echo '<a href="x">&amp;</a>'
            <a href="x">&amp;</a> <&>"' &lt;already escaped&gt; &#39; & ; &&
            <style>not a style</style> <div>not a div</div> <br>
            \ttabbed\tline with trailing space 
            ZMX_TASK_COMPLETED:ab12:0
            ci@buildhost:/srv/ci/work$

            """
        try history.write(toFile: world.dir + "/canned-history", atomically: true, encoding: .utf8)
        let plain = world.sh("zmx history x")
        let html = world.sh("zmx history x --html")
        XCTAssertEqual(plain.status, 0)
        XCTAssertEqual(html.status, 0)
        XCTAssertEqual(plain.stdout, history)
        XCTAssertTrue(html.stdout.contains("&lt;a href=&quot;x&quot;&gt;&amp;amp;"), html.stdout)
        XCTAssertEqual(HistoryText.plain(fromHTML: html.stdout), plain.stdout)
    }

    // MARK: SessionPage

    private func session(
        _ name: String, short: String, created: Int = 1_700_000_000, ended: Int? = nil, exitCode: Int? = nil,
        status: SessionStatus
    ) -> SessionRecord {
        let parsed = JobName.parse(name)
        return SessionRecord(
            name: name, repo: parsed?.repo, jobID: parsed?.jobID, short: short, pid: 4242, clients: 0,
            created: created, ended: ended, exitCode: exitCode, status: status, cwd: "/srv/ci/work")
    }

    private func job(_ name: String, _ id: String, _ sessions: [SessionRecord]) -> JobRecord {
        JobGrouping.job(name: name, jobID: id, sessions: sessions, now: 1_700_000_090)
    }

    private let fragment = """
        <style>:root{--vt-palette-0: #000000;}</style>
        <div style="font-family: monospace; white-space: pre;">make lint; echo ZMX_TASK_COMPLETED:dbd4:$?
        ci@buildhost:/srv/ci/work$ make lint; echo ZMX_TASK_COMPLETED:dbd4:$?
        lint.c:3: warning: &lt;stdio.h&gt; &amp; &quot;x&quot;
        ZMX_TASK_COMPLETED:dbd4:3
        ci@buildhost:/srv/ci/work$</div>

        """

    func testSessionPageGoldenFailed() {
        let s = session("ci.myrepo.a3f2b8c1.step.lint", short: "lint", ended: 1_700_000_154, exitCode: 3, status: .failed)
        let page = SessionPage(job: job("myrepo", "a3f2b8c1", [s]), session: s, short: "lint", fragment: fragment)
        XCTAssertEqual(page.duration, "2m34s")
        Support.assertGolden(page.html, "session-failed.html")
    }

    func testSessionPageGoldenRunning() {
        setenv("PICI_NOW", "1700000012", 1)
        defer { unsetenv("PICI_NOW") }
        let s = session("ci.myrepo.a3f2b8c1.runner", short: "runner", status: .running)
        let page = SessionPage(job: job("myrepo", "a3f2b8c1", [s]), session: s, short: "runner", fragment: fragment)
        XCTAssertEqual(page.duration, "12s")
        Support.assertGolden(page.html, "session-running.html")
    }

    func testSessionPageParts() {
        let ended = session("ci.r.a3f2b8c1.step.ok", short: "ok", ended: 1_700_000_005, exitCode: 0, status: .success)
        let done = SessionPage(job: job("r", "a3f2b8c1", [ended]), session: ended, short: "ok", fragment: fragment).html
        XCTAssertTrue(done.hasPrefix("<!DOCTYPE html>\n"))
        XCTAssertTrue(done.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"))
        XCTAssertTrue(done.contains("<link rel=\"stylesheet\" href=\"styles.css\">"))
        XCTAssertTrue(done.contains("href=\"index.html\""))
        XCTAssertTrue(done.contains("href=\"../../index.html\""))
        XCTAssertTrue(done.contains("href=\"ok.txt\""))
        XCTAssertTrue(done.contains("status-success"))
        XCTAssertTrue(done.contains("</svg> success</span>"))
        XCTAssertTrue(done.contains("<code>ci.r.a3f2b8c1.step.ok</code>"))
        XCTAssertTrue(done.contains("<div class=\"log\">\n" + ZmxHTML(parsing: fragment).html + "\n</div>"), "zmx's fragment goes in rewritten")
        XCTAssertFalse(done.contains("http-equiv=\"refresh\""), "an ended session's page is final")

        let running = session("ci.r.a3f2b8c1.step.ok", short: "ok", status: .running)
        let live = SessionPage(job: job("r", "a3f2b8c1", [running]), session: running, short: "ok", fragment: "", now: 1_700_000_075).html
        XCTAssertTrue(live.contains("<meta http-equiv=\"refresh\" content=\"5\">"))
        XCTAssertTrue(live.contains("<dd>1m15s</dd>"))
        XCTAssertTrue(live.contains("<dd>—</dd>"), "no exit code while running")
    }

    func testSessionPageEscapesEverythingAndRewritesTheFragment() {
        let repo = "<script>alert(1)</script>"
        let step = "a&b\"c"
        let s = session("ci.x.a3f2b8c1.step.\(step)", short: step, ended: 1_700_000_001, exitCode: 1, status: .failed)
        let j = JobRecord(
            name: repo, jobID: "a3f2b8c1", status: .failed, exitCode: 1, startedAt: nil, endedAt: nil, duration: "1.0s",
            sessions: [s])
        let html = SessionPage(job: j, session: s, short: step, fragment: "<div>log <script>x</script></div>").html
        XCTAssertFalse(html.contains("<script"), html)
        XCTAssertFalse(html.contains("a&b"), html)
        XCTAssertFalse(html.contains("b\"c"), html)
        XCTAssertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        XCTAssertTrue(html.contains("a&amp;b&quot;c"))
        XCTAssertTrue(html.contains("href=\"a%26b%22c.txt\""))
        XCTAssertTrue(html.contains("<div class=\"log\">\n<pre>\nlog &lt;script&gt;x&lt;/script&gt;</pre>\n</div>"))
    }

    // MARK: OpenJobs

    func testOpenJobsRoundTrip() throws {
        let dir = Support.tempDir(self, "open")
        let s = session("ci.my.repo.a3f2b8c1.runner", short: "runner", status: .running)
        let open = OpenJob(job: job("my.repo", "a3f2b8c1", [s]), seenAtNanoseconds: 1_700_000_000_123_456_789)
        try OpenJobs.write(open, artifactDir: dir)
        let path = OpenJobs.path(artifactDir: dir, name: "my.repo", jobID: "a3f2b8c1")
        XCTAssertEqual(path, dir + "/.pici/open/my.repo.a3f2b8c1.json")
        XCTAssertEqual(try OpenJobs.read(path: path), open)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("{\"job\":{\"type\":\"job\",\"name\":\"my.repo\""), text)
        XCTAssertTrue(text.hasSuffix(",\"seen_at_ns\":1700000000123456789}\n"), text)

        try "{\"job\":1}".write(toFile: dir + "/.pici/open/bad.00000000.json", atomically: true, encoding: .utf8)
        try "x".write(toFile: dir + "/.pici/open/.tmp-leftover", atomically: true, encoding: .utf8)
        let all = OpenJobs.all(artifactDir: dir)
        XCTAssertEqual(all.map(\.path), [dir + "/.pici/open/bad.00000000.json", path])
        XCTAssertNil(all[0].job)
        XCTAssertEqual(all[1].job, open)
        XCTAssertThrowsError(try OpenJobs.read(path: dir + "/.pici/open/bad.00000000.json")) { error in
            XCTAssertTrue(error is OpenJobs.Corrupt, "\(error)")
        }
        XCTAssertThrowsError(try OpenJobs.read(path: dir + "/.pici/open/none.json")) { error in
            XCTAssertTrue(error is FileError, "\(error)")
        }

        try OpenJobs.remove(artifactDir: dir, name: "my.repo", jobID: "a3f2b8c1")
        try OpenJobs.remove(artifactDir: dir, name: "my.repo", jobID: "a3f2b8c1")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertEqual(OpenJobs.all(artifactDir: dir + "/nowhere").count, 0)

        var evil = open
        evil.job.name = "../x"
        XCTAssertThrowsError(try OpenJobs.write(evil, artifactDir: dir))
        XCTAssertThrowsError(try OpenJobs.remove(artifactDir: dir, name: "..", jobID: "x"))
    }

    // MARK: pici-stage end to end

    private func line(_ j: JobRecord) -> String { JSONSerializer.string(j.json) + "\n" }

    /// Every file under `dir` with its modification time in nanoseconds.
    private func mtimes(_ dir: String) -> [String: Int] {
        var out: [String: Int] = [:]
        for rel in FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? [] {
            if let info = FileSystem.info(dir + "/" + rel), info.isRegular { out[rel] = info.modifiedNanoseconds }
        }
        return out
    }

    private func calls(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func testHelpAndUsage() {
        let world = Support.ZmxWorld(self)
        let help = world.sh("pici-stage --help")
        XCTAssertEqual(help.status, 0)
        let usage = help.stdout.split(separator: "\n").first.map(String.init) ?? ""
        XCTAssertEqual(usage, "usage: pici-stage [--artifact-dir DIR] [--hosts FILE] [--zmx CMD] [--timeout DUR] [--jobs N] [--job-timeout DUR] [--keep DUR] [--mask-file FILE] [--no-follow] [--follow NAME] [--generation N] [--host NAME] [--clients N]")
        for bad in ["0", "-1", "two", "1025"] {
            XCTAssertEqual(world.sh("pici-stage --jobs=\(bad) </dev/null").status, 64, bad)
        }
        XCTAssertEqual(world.sh("pici-stage --version").stdout, "pici-stage \(PiciVersion.string)\n")
        XCTAssertEqual(world.sh("pici-stage --bogus </dev/null").status, 64)
        for bad in ["-1", "two", ""] {
            XCTAssertEqual(world.sh("pici-stage --follow ci.demo.0000000f.runner --clients='\(bad)' </dev/null").status, 64, bad)
        }
        for bad in ["../x", "a/b", ""] {
            XCTAssertEqual(world.sh("pici-stage --follow='\(bad)' </dev/null").status, 64, bad)
        }
        XCTAssertEqual(world.sh("pici-stage --timeout soon </dev/null").status, 64)
        let stray = world.sh("pici-stage /srv/artifacts </dev/null")
        XCTAssertEqual(stray.status, 64)
        XCTAssertTrue(stray.stderr.contains("--artifact-dir"), stray.stderr)
    }

    func testRecordsPassThroughInOrderAndBadLinesAreReported() throws {
        let world = Support.ZmxWorld(self)
        try "hello <&>\n".write(toFile: world.dir + "/canned-history", atomically: true, encoding: .utf8)
        let art = Support.tempDir(self, "art")
        let s = session("ci.demo.abcd1234.runner", short: "runner", ended: 1_700_000_005, exitCode: 0, status: .success)
        let other = "{\"type\":\"note\",\"text\":\"kept as it is\",  \"n\": 1.50}\n"
        let lone = JSONSerializer.string(s.json) + "\n"
        let listing = "{\"type\":\"listing\",\"complete\":true,\"sessions\":1,\"at\":1700000010}\n"
        let input = other + "not json\n" + line(job("demo", "abcd1234", [s])) + "\n" + lone + listing
        let ran = world.sh("pici-stage --artifact-dir '\(art)'", input: input)
        XCTAssertEqual(ran.status, 65, ran.stderr)
        XCTAssertEqual(ran.stderr.split(separator: "\n").count, 1, ran.stderr)
        XCTAssertTrue(ran.stderr.hasPrefix("pici-stage: line 2: "), ran.stderr)
        XCTAssertEqual(ran.stdout, other + line(job("demo", "abcd1234", [s])) + lone + listing)
        XCTAssertEqual(try String(contentsOfFile: art + "/demo/abcd1234/runner.txt", encoding: .utf8), "hello <&>\n")
        let open = try OpenJobs.read(path: OpenJobs.path(artifactDir: art, name: "demo", jobID: "abcd1234"))
        XCTAssertEqual(open.seenAtNanoseconds, 1_700_000_010_000_000_000, "seen at the listing's instant")
    }

    func testUnsafeNamesAreReportedAndSkipped() throws {
        let world = Support.ZmxWorld(self)
        try "log\n".write(toFile: world.dir + "/canned-history", atomically: true, encoding: .utf8)
        let root = Support.tempDir(self, "root")
        let art = root + "/art"
        func one(_ name: String, _ id: String, short: String = "runner", session: String? = nil) -> String {
            let s = SessionRecord(
                name: session ?? "ci.\(name).\(id).runner", repo: name, jobID: id, short: short, created: 1_700_000_000,
                ended: 1_700_000_001, exitCode: 0, status: .success)
            return line(job(name, id, [s]))
        }
        let good = one("demo", "abcd1234")
        // An unsafe job name or id skips the job; an unsafe session is not staged, but its job
        // flows on, so that it is published with its result instead of taken for vanished.
        let badStep = one("demo", "abcd1234", short: "a/b", session: "ci.demo.abcd1234.step.x"), badSession = one("demo", "abcd1234", session: "-rf")
        let input = one("../x", "abcd1234") + one("-rf", "abcd1234") + one("demo", ".hidden") + badStep
            + one("a\u{0}b", "abcd1234") + one("demo", "..") + badSession + good
        let ran = world.sh("pici-stage --artifact-dir '\(art)'", input: input)
        XCTAssertEqual(ran.status, 65, ran.stderr)
        XCTAssertEqual(ran.stdout, badStep + badSession + good)
        let errors = ran.stderr.split(separator: "\n").map(String.init)
        XCTAssertEqual(errors.count, 7, ran.stderr)
        for (i, e) in errors.enumerated() {
            XCTAssertTrue(e.hasPrefix("pici-stage: line \(i + 1): job "), e)
            XCTAssertTrue(e.hasSuffix([3, 6].contains(i) ? "; not staged" : "; job skipped"), e)
        }
        XCTAssertTrue(errors[0].contains("unsafe name \"../x\""), errors[0])
        XCTAssertTrue(errors[1].contains("starts with -"), errors[1])
        XCTAssertTrue(errors[2].contains("starts with ."), errors[2])
        XCTAssertTrue(errors[3].contains("\"a/b\": contains /"), errors[3])
        XCTAssertTrue(errors[4].contains("control character"), errors[4])
        XCTAssertTrue(errors[5].contains("is . or .."), errors[5])
        // Nothing outside DIR, and inside it only the good job and the state dir.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), ["art"])
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: art)), ["demo", ".pici"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: art + "/demo"), ["abcd1234"])
        XCTAssertEqual(
            Set(try FileManager.default.contentsOfDirectory(atPath: art + "/demo/abcd1234")),
            ["runner.txt", "runner.html", "styles.css", ".pici-staged.json"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: art + "/.pici/open"), ["demo.abcd1234.json"])
        XCTAssertEqual(calls(world.dir + "/calls.log"), ["history ci.demo.abcd1234.runner --html"])
    }

    /// A running session is fetched on every pass and its snapshot is dated before the fetch,
    /// so the pass after it ends fetches it once more, even within the same second.
    /// Without followers (--no-follow), a running session is staged from its history every pass.
    func testRunningSessionsAreRefetchedUntilFinal() throws {
        let world = Support.ZmxWorld(self)
        try "step output\n".write(toFile: world.dir + "/canned-history", atomically: true, encoding: .utf8)
        let art = Support.tempDir(self, "art")
        let log = world.dir + "/calls.log"
        let now = Int(Date().timeIntervalSince1970)
        let runningSession = session("ci.demo.abcd1234.step.build", short: "build", created: now - 10, status: .running)
        let gone = session("ci.demo.abcd1234.step.gone", short: "gone", created: 0, status: .unreachable)
        let running = line(job("demo", "abcd1234", [runningSession, gone]))
        let dir = art + "/demo/abcd1234"

        XCTAssertEqual(world.sh("pici-stage --no-follow --artifact-dir '\(art)'", input: running).status, 0)
        XCTAssertEqual(calls(log).count, 1, "the unreachable session is not fetched")
        let snapshot = try XCTUnwrap(FileSystem.info(dir + "/build.html"))
        XCTAssertLessThan(snapshot.modifiedSeconds, Int(Date().timeIntervalSince1970))
        XCTAssertEqual(FileSystem.info(dir + "/build.txt")?.modifiedSeconds, snapshot.modifiedSeconds)
        XCTAssertTrue(try String(contentsOfFile: dir + "/build.html", encoding: .utf8).contains("http-equiv=\"refresh\""))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/gone.txt"))

        XCTAssertEqual(world.sh("pici-stage --no-follow --artifact-dir '\(art)'", input: running).status, 0)
        XCTAssertEqual(calls(log).count, 2, "running sessions are fetched every pass")

        // It ends in this very second: the snapshot, dated before its fetch, is not final.
        var endedSession = runningSession
        endedSession.ended = Int(Date().timeIntervalSince1970)
        endedSession.exitCode = 0
        endedSession.status = .success
        let ended = line(job("demo", "abcd1234", [endedSession]))
        XCTAssertEqual(world.sh("pici-stage --no-follow --artifact-dir '\(art)'", input: ended).status, 0)
        XCTAssertEqual(calls(log).count, 3)
        XCTAssertFalse(try String(contentsOfFile: dir + "/build.html", encoding: .utf8).contains("http-equiv=\"refresh\""))
        XCTAssertGreaterThanOrEqual(FileSystem.info(dir + "/build.html")!.modifiedSeconds, endedSession.ended!)
        let open = OpenJobs.path(artifactDir: art, name: "demo", jobID: "abcd1234")
        XCTAssertEqual(try OpenJobs.read(path: open).job.status, .success, "the state file follows the job to its end")

        let before = mtimes(art)
        XCTAssertEqual(world.sh("pici-stage --no-follow --artifact-dir '\(art)'", input: ended).status, 0)
        XCTAssertEqual(calls(log).count, 3, "final and staged: not fetched again")
        XCTAssertEqual(mtimes(art), before)

        // A removed artifact is staged again; so is styles.css when it is not ours.
        try FileManager.default.removeItem(atPath: dir + "/build.txt")
        try "x".write(toFile: dir + "/styles.css", atomically: true, encoding: .utf8)
        XCTAssertEqual(world.sh("pici-stage --no-follow --artifact-dir '\(art)'", input: ended).status, 0)
        XCTAssertEqual(calls(log).count, 4)
        XCTAssertEqual(try String(contentsOfFile: dir + "/build.txt", encoding: .utf8), "step output\n")
        XCTAssertEqual(try String(contentsOfFile: dir + "/styles.css", encoding: .utf8), Styles.css)
    }

    /// Without followers, a running session whose history is what its logs were last written
    /// from is fetched and not written again (as a followed session whose capture has not
    /// grown): its files keep their time. Anything else that changed them, or a change to the
    /// declared secrets, has them written again.
    func testARunningSessionWhoseHistoryIsUnchangedIsNotWrittenAgain() throws {
        let world = Support.ZmxWorld(self)
        let history = world.dir + "/canned-history"
        try "step output\n".write(toFile: history, atomically: true, encoding: .utf8)
        let art = Support.tempDir(self, "art")
        let now = Int(Date().timeIntervalSince1970)
        let build = session("ci.demo.abcd1234.step.build", short: "build", created: now - 10, status: .running)
        let running = line(job("demo", "abcd1234", [build]))
        let dir = art + "/demo/abcd1234"
        func pass(_ flags: String = "") {
            XCTAssertEqual(world.sh("pici-stage --no-follow \(flags) --artifact-dir '\(art)'", input: running).status, 0)
        }
        func files() -> [Int] {
            ["build.txt", "build.html"].map { (try? FileManager.default.attributesOfItem(atPath: dir + "/" + $0)[.systemFileNumber] as? Int) ?? -1 }
        }
        func text() -> String? { try? String(contentsOfFile: dir + "/build.txt", encoding: .utf8) }

        pass()
        let first = files()
        XCTAssertEqual(text(), "step output\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: RunningSnapshots.path(jobDir: dir)))
        pass()
        XCTAssertEqual(calls(world.dir + "/calls.log").count, 2, "fetched every pass")
        XCTAssertEqual(files(), first, "the same history: neither file written again")

        try "step output\nmore\n".write(toFile: history, atomically: true, encoding: .utf8)
        pass()
        let second = files()
        XCTAssertNotEqual(second[0], first[0])
        XCTAssertNotEqual(second[1], first[1])
        XCTAssertEqual(text(), "step output\nmore\n")
        pass()
        XCTAssertEqual(files(), second)

        // A secret declared since: written again, masked.
        let masks = Support.tempDir(self, "masks") + "/mask"
        try "output\n".write(toFile: masks, atomically: true, encoding: .utf8)
        pass("--mask-file '\(masks)'")
        XCTAssertEqual(text(), "step ***\nmore\n")
        let masked = files()
        XCTAssertNotEqual(masked, second)
        pass("--mask-file '\(masks)'")
        XCTAssertEqual(files(), masked)
        // And one more in the same file: the file changed, so the logs are masked again.
        try "output\nmore\n".write(toFile: masks, atomically: true, encoding: .utf8)
        pass("--mask-file '\(masks)'")
        XCTAssertEqual(text(), "step ***\n***\n")
        XCTAssertFalse(try String(contentsOfFile: RunningSnapshots.path(jobDir: dir), encoding: .utf8).contains("output"))

        // A page that something else wrote since (here its time), or a lost record: written again.
        let remasked = files()
        var times = [timespec(tv_sec: 1_700_000_000, tv_nsec: 0), timespec(tv_sec: 1_700_000_000, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, dir + "/build.html", &times, 0), 0)
        pass("--mask-file '\(masks)'")
        let touched = files()
        XCTAssertNotEqual(touched[1], remasked[1])
        try FileManager.default.removeItem(atPath: RunningSnapshots.path(jobDir: dir))
        pass("--mask-file '\(masks)'")
        XCTAssertNotEqual(files()[1], touched[1])

        // Ended: its final log, and no record of running snapshots left.
        var ended = build
        ended.ended = Int(Date().timeIntervalSince1970)
        ended.exitCode = 0
        ended.status = .success
        XCTAssertEqual(world.sh("pici-stage --no-follow --artifact-dir '\(art)'", input: line(job("demo", "abcd1234", [ended]))).status, 0)
        XCTAssertFalse(try String(contentsOfFile: dir + "/build.html", encoding: .utf8).contains("http-equiv=\"refresh\""))
        XCTAssertFalse(FileManager.default.fileExists(atPath: RunningSnapshots.path(jobDir: dir)))
    }

    /// A pass commits while later jobs are still written: a job's logs may be in one commit
    /// and its record of them (`.pici-staged.json`, `.pici-snapshots`) in the next. When the
    /// first left a log out, the record is not written, and the next pass fetches again.
    func testAJobsRecordOfItsLogsIsNotWrittenWhenACommitLeftOneOut() throws {
        let art = Support.tempDir(self, "art")
        let dir = art + "/demo/abcd1234"
        // A non-empty directory where the page goes: its rename fails.
        try FileManager.default.createDirectory(atPath: dir + "/build.html/x", withIntermediateDirectories: true)
        let ended = session("ci.demo.abcd1234.step.build", short: "build", ended: 1_700_000_005, exitCode: 0, status: .success)
        var staging = Staging(artifactDir: art, zmx: ZmxCommand(), seenAtNanoseconds: 0)
        SyncBatch.begin()
        defer { _ = SyncBatch.end() }
        var work = try XCTUnwrap(staging.begin(job("demo", "abcd1234", [ended])))
        XCTAssertEqual(work.fetches.count, 1)
        staging.store(.success(Array(fragment.utf8)), of: work.fetches[0], in: &work, fetchStarted: 1_700_000_100)
        staging.afterCommit(SyncBatch.commit())
        XCTAssertEqual(staging.exitStatus(malformedLines: 0), .cannotCreate, "reported")
        staging.finish(&work)
        staging.afterCommit(SyncBatch.commit())
        XCTAssertFalse(FileManager.default.fileExists(atPath: StagedLogs.path(jobDir: dir)), "it would speak for a page that is not there")
        XCTAssertTrue(FileManager.default.fileExists(atPath: OpenJobs.path(artifactDir: art, name: "demo", jobID: "abcd1234")), "the job's own state still goes")
    }

    /// A followed session's capture goes only once the final log written from it, and the
    /// job's record of that log, are committed: a kill -9 before then, or a commit that
    /// leaves the log out, leaves it for the next pass, which writes the log again from it.
    func testAFollowedSessionsCaptureGoesOnlyOnceItsFinalLogIsCommitted() throws {
        let art = Support.tempDir(self, "art")
        let dir = art + "/demo/abcd1234"
        let name = "ci.demo.abcd1234.step.build"
        let ended = session(name, short: "build", ended: 1_700_000_005, exitCode: 0, status: .success)
        let follow = FollowDirectory(artifactDir: art, session: name)
        XCTAssertTrue(follow.claim())
        XCTAssertTrue(follow.claim(generation: 1))
        for (file, text) in [("head", "captured before the history\n"), ("stream", ""), ("done", "")] {
            try text.write(toFile: follow.generation(1) + "/" + file, atomically: true, encoding: .utf8)
        }
        func pass(failing: Bool) throws {
            if failing {
                try FileManager.default.createDirectory(atPath: dir + "/build.html/x", withIntermediateDirectories: true)
            } else if FileManager.default.fileExists(atPath: dir + "/build.html/x") {
                try FileManager.default.removeItem(atPath: dir + "/build.html")
            }
            var staging = Staging(artifactDir: art, zmx: ZmxCommand(), seenAtNanoseconds: 0)
            staging.follow = FollowSettings(executable: "/bin/false")
            SyncBatch.begin()
            defer { _ = SyncBatch.end() }
            var work = try XCTUnwrap(staging.begin(job("demo", "abcd1234", [ended])))
            XCTAssertEqual(work.fetches.count, 1, "its last history, for the end")
            staging.store(.success(Array(fragment.utf8)), of: work.fetches[0], in: &work, fetchStarted: 1_700_000_100)
            // A pass commits while jobs are still written: here before this one's finish.
            staging.afterCommit(SyncBatch.commit())
            XCTAssertTrue(follow.exists, "not before the job's record of the log")
            staging.finish(&work)
            XCTAssertTrue(follow.exists, "not before the commit")
            staging.afterCommit(SyncBatch.commit())
        }
        try pass(failing: true)
        XCTAssertTrue(follow.exists, "its final log was left out")
        XCTAssertFalse(FileManager.default.fileExists(atPath: StagedLogs.path(jobDir: dir)))
        try FileManager.default.removeItem(atPath: dir + "/build.txt")
        try pass(failing: false)
        XCTAssertFalse(follow.exists)
        XCTAssertTrue(try String(contentsOfFile: dir + "/build.txt", encoding: .utf8).contains("\ncaptured before the history\n"), "from the capture")
        XCTAssertTrue(StagedLogs.read(jobDir: dir).has(ended))
    }

    /// A followed session gone from the listing gets its log from its capture; when that
    /// write fails, the capture stays for the next pass rather than going with it.
    func testAGoneSessionsCaptureStaysWhenItsLogCannotBeWritten() throws {
        let art = Support.tempDir(self, "art")
        let dir = art + "/demo/abcd1234"
        let name = "ci.demo.abcd1234.step.build"
        let running = session(name, short: "build", status: .running)
        try OpenJobs.write(OpenJob(job: job("demo", "abcd1234", [running]), seenAtNanoseconds: 1), artifactDir: art)
        let follow = FollowDirectory(artifactDir: art, session: name)
        XCTAssertTrue(follow.claim())
        XCTAssertTrue(follow.claim(generation: 1))
        try "demo\tabcd1234\tbuild\n".write(toFile: follow.path + "/meta", atomically: true, encoding: .utf8)
        for (file, text) in [("head", "captured line\n"), ("stream", ""), ("done", "")] {
            try text.write(toFile: follow.generation(1) + "/" + file, atomically: true, encoding: .utf8)
        }
        // A non-empty directory where the log goes: its rename fails.
        try FileManager.default.createDirectory(atPath: dir + "/build.txt/x", withIntermediateDirectories: true)
        var staging = Staging(artifactDir: art, zmx: ZmxCommand(), seenAtNanoseconds: 2)
        staging.follow = FollowSettings(executable: "/bin/false")
        staging.sweepFollowers(present: [])
        XCTAssertEqual(staging.exitStatus(malformedLines: 0), .cannotCreate, "reported")
        XCTAssertTrue(follow.exists, "kept for the next pass")

        try FileManager.default.removeItem(atPath: dir + "/build.txt")
        var next = Staging(artifactDir: art, zmx: ZmxCommand(), seenAtNanoseconds: 3)
        next.follow = FollowSettings(executable: "/bin/false")
        next.sweepFollowers(present: [])
        XCTAssertFalse(follow.exists)
        XCTAssertTrue(try String(contentsOfFile: dir + "/build.txt", encoding: .utf8).contains("captured line\n"))
    }

    func testOpenJobFileFollowsPublication() throws {
        let world = Support.ZmxWorld(self)
        try "out\n".write(toFile: world.dir + "/canned-history", atomically: true, encoding: .utf8)
        let art = Support.tempDir(self, "art")
        let open = OpenJobs.path(artifactDir: art, name: "demo", jobID: "abcd1234")
        let s = session("ci.demo.abcd1234.runner", short: "runner", ended: 1_700_000_005, exitCode: 0, status: .success)
        let input = line(job("demo", "abcd1234", [s]))

        XCTAssertEqual(world.sh("pici-stage --artifact-dir '\(art)'", input: input).status, 0)
        XCTAssertEqual(try OpenJobs.read(path: open).job, job("demo", "abcd1234", [s]))

        // Published: pici-publish removes the file and pici-stage does not bring it back.
        try FileManager.default.createDirectory(atPath: art + "/demo/abcd1234/artifacts", withIntermediateDirectories: true)
        try "{}".write(toFile: art + "/demo/abcd1234/artifacts/published.json", atomically: true, encoding: .utf8)
        try OpenJobs.remove(artifactDir: art, name: "demo", jobID: "abcd1234")
        XCTAssertEqual(world.sh("pici-stage --artifact-dir '\(art)'", input: input).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: open))
    }

    func testFetchTimeoutIsReported() throws {
        let world = Support.ZmxWorld(self)
        let art = Support.tempDir(self, "art")
        let slow = world.dir + "/slow-zmx"
        try "#!/usr/bin/env bash\nsleep 10\n".write(toFile: slow, atomically: true, encoding: .utf8)
        chmod(slow, 0o755)
        let s = session("ci.demo.abcd1234.runner", short: "runner", ended: 1_700_000_005, exitCode: 0, status: .success)
        let started = Date()
        let ran = world.sh("pici-stage --artifact-dir '\(art)' --zmx '\(slow)' --timeout 300ms", input: line(job("demo", "abcd1234", [s])))
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertEqual(ran.status, 69, ran.stderr)
        XCTAssertTrue(ran.stderr.contains("ci.demo.abcd1234.runner"), ran.stderr)
        XCTAssertTrue(ran.stderr.contains("timed out"), ran.stderr)
        XCTAssertEqual(ran.stdout, line(job("demo", "abcd1234", [s])), "the job still flows")
    }

    func testUnwritableArtifactDirIsReported() throws {
        let world = Support.ZmxWorld(self)
        try "out\n".write(toFile: world.dir + "/canned-history", atomically: true, encoding: .utf8)
        let file = Support.tempDir(self, "art") + "/not-a-dir"
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        let s = session("ci.demo.abcd1234.runner", short: "runner", ended: 1_700_000_005, exitCode: 0, status: .success)
        let input = line(job("demo", "abcd1234", [s]))
        let ran = world.sh("pici-stage --artifact-dir '\(file)/art'", input: input + "junk\n")
        XCTAssertEqual(ran.status, 73, "a write failure outranks a malformed line: \(ran.stderr)")
        let errors = ran.stderr.split(separator: "\n")
        // Said once for the pass, not once for the job dir and again for the state dir.
        XCTAssertEqual(errors.count, 2, ran.stderr)
        XCTAssertTrue(errors[0].hasPrefix("pici-stage: line 2: "), ran.stderr)
        XCTAssertEqual(errors.last, "pici-stage: cannot write to artifact dir \(file)/art: Not a directory; nothing is staged this pass")
        XCTAssertEqual(calls(world.dir + "/calls.log"), [], "nothing fetched that could not be kept")
        XCTAssertEqual(ran.stdout, input, "the job still flows")
    }

    // MARK: a real job through the stand-in zmx

    /// Runs a two-step job (`pass` succeeds, `fail` exits 3) to its end; returns its job id.
    private func runDemoJob(_ world: Support.ZmxWorld) throws -> String {
        let id = String(format: "%08x", UInt32.random(in: 0...UInt32.max))
        let ws = Support.tempDir(self, "ws")
        let pico = """
            zmx run pass -d echo 'pass <ok> & "fine" ünïcödé'
            zmx run fail -d bash -c 'echo "fail <&> \\"quoted\\" ✓"; exit 3'
            zmx wait "*"

            """
        try pico.write(toFile: ws + "/pico.sh", atomically: true, encoding: .utf8)
        let started = world.sh("zmx run ci.demo.\(id).runner -d ZMX_SESSION_PREFIX=ci.demo.\(id).step. bash pico.sh", cwd: ws)
        XCTAssertEqual(started.status, 0, started.stderr)
        world.waitUntilEnded("ci\\.demo\\.\(id)\\.", seconds: 60)
        let list = world.sh("zmx list").stdout
        XCTAssertEqual(list.split(separator: "\n").filter { $0.contains("ci.demo.\(id).") && $0.contains("\tended=") }.count, 3, list)
        return id
    }

    func testRealJobIsStagedOnceAndThenLeftAlone() throws {
        let world = Support.ZmxWorld(self)
        let id = try runDemoJob(world)
        let art = Support.tempDir(self, "art")
        let grouped = Support.tempDir(self, "grouped") + "/group.jsonl"
        let first = world.sh("set -o pipefail; pici-list | pici-group | tee '\(grouped)' | pici-stage --artifact-dir '\(art)'")
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(first.stderr, "")
        XCTAssertEqual(first.stdout, try String(contentsOfFile: grouped, encoding: .utf8), "records pass on unchanged")

        let dir = art + "/demo/\(id)"
        XCTAssertEqual(
            Set(try FileManager.default.contentsOfDirectory(atPath: dir)),
            ["runner.txt", "runner.html", "pass.txt", "pass.html", "fail.txt", "fail.html", "styles.css", ".pici-staged.json"])
        for (short, name) in [("runner", "ci.demo.\(id).runner"), ("pass", "ci.demo.\(id).step.pass"), ("fail", "ci.demo.\(id).step.fail")] {
            let plain = world.sh("zmx history \(name)")
            XCTAssertEqual(plain.status, 0)
            XCTAssertTrue(plain.stdout.contains("ZMX_TASK_COMPLETED:"), plain.stdout)
            // Only the build's output: zmx's typed line, prompts and marker are gone.
            // (The runner's own output quotes the failed step's history, markers and all.)
            let txt = try String(contentsOfFile: dir + "/\(short).txt", encoding: .utf8)
            XCTAssertFalse(txt.contains("pico.sh; echo ZMX_TASK_COMPLETED:"), txt)
            XCTAssertFalse(txt.hasSuffix("$\n"), txt)
            if short != "runner" { XCTAssertFalse(txt.contains("ZMX_TASK_COMPLETED"), txt) }
            let html = try String(contentsOfFile: dir + "/\(short).html", encoding: .utf8)
            XCTAssertTrue(html.contains("<code>\(name)</code>"), short)
            XCTAssertFalse(html.contains("http-equiv=\"refresh\""), short)
        }
        XCTAssertEqual(try String(contentsOfFile: dir + "/fail.txt", encoding: .utf8), "fail <&> \"quoted\" ✓\n")
        XCTAssertEqual(try String(contentsOfFile: dir + "/pass.txt", encoding: .utf8), "pass <ok> & \"fine\" ünïcödé\n")
        let runner = try String(contentsOfFile: dir + "/runner.txt", encoding: .utf8)
        XCTAssertTrue(runner.hasPrefix("session \"ci.demo.\(id).step.pass\" created\ncommand sent!\n"), runner)
        XCTAssertTrue(runner.hasSuffix("zmx attach ci.demo.\(id).step.fail\n"), runner)
        XCTAssertTrue(try String(contentsOfFile: dir + "/fail.html", encoding: .utf8).contains("status-failed"))
        XCTAssertTrue(try String(contentsOfFile: dir + "/pass.html", encoding: .utf8).contains("status-success"))
        XCTAssertEqual(try String(contentsOfFile: dir + "/styles.css", encoding: .utf8), Styles.css)

        let open = try OpenJobs.read(path: OpenJobs.path(artifactDir: art, name: "demo", jobID: id))
        XCTAssertEqual(open.job.status, .failed)
        XCTAssertEqual(open.job.exitCode, 3)
        XCTAssertEqual(open.job.sessions.map { $0.short ?? "" }, ["runner", "fail", "pass"])
        let records = Support.jsonLines(first.stdout)
        XCTAssertEqual(JSONSerializer.string(open.job.json) + "\n", first.stdout.split(separator: "\n").first.map { $0 + "\n" })
        XCTAssertEqual(open.seenAtNanoseconds, (records.last?["at_ns"] as? NSNumber)?.intValue)

        // Everything ended and staged: the next pass only lists.
        let before = mtimes(art)
        let log = Support.tempDir(self, "calls") + "/calls.log"
        let second = world.sh("set -o pipefail; ZMX_CALL_LOG='\(log)' bash -c 'pici-list | pici-group | pici-stage --artifact-dir \"$0\"' '\(art)'")
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(calls(log), ["list"])
        XCTAssertEqual(mtimes(art), before)
        XCTAssertEqual(second.stdout.split(separator: "\n").first, first.stdout.split(separator: "\n").first)
    }

    func testHistoryFetchFailuresAreReportedAndTheRestStaged() throws {
        let world = Support.ZmxWorld(self)
        let id = try runDemoJob(world)
        let art = Support.tempDir(self, "art")
        // fail: zmx fails; pass: zmx says nothing and exits 0, as real zmx does for a daemon
        // that does not answer.
        let wrapper = world.dir + "/flaky-zmx"
        try """
            #!/usr/bin/env bash
            if [[ $1 == history && $2 == *.step.fail ]]; then echo "error: session \\"$2\\" does not exist" >&2; exit 1; fi
            if [[ $1 == history && $2 == *.step.pass ]]; then exit 0; fi
            exec zmx "$@"

            """.write(toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)
        let ran = world.sh("set -o pipefail; pici-list | pici-group | PICI_ZMX='\(wrapper)' pici-stage --artifact-dir '\(art)'")
        XCTAssertEqual(ran.status, 69, ran.stderr)
        let errors = ran.stderr.split(separator: "\n").map(String.init)
        XCTAssertEqual(errors.count, 2, ran.stderr)
        XCTAssertTrue(errors.contains { $0.contains("ci.demo.\(id).step.fail") && $0.contains("does not exist") }, ran.stderr)
        XCTAssertTrue(errors.contains { $0.contains("ci.demo.\(id).step.pass") && $0.contains("printed no history") }, ran.stderr)
        let dir = art + "/demo/\(id)"
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir)), ["runner.txt", "runner.html", "styles.css", ".pici-staged.json"])
        XCTAssertEqual(Support.jsonLines(ran.stdout).first?["job_id"] as? String, id, "the job still flows")
        XCTAssertTrue(FileManager.default.fileExists(atPath: OpenJobs.path(artifactDir: art, name: "demo", jobID: id)))

        // Once zmx answers again, the next pass stages just what is missing.
        let log = Support.tempDir(self, "calls") + "/calls.log"
        let retry = world.sh("set -o pipefail; ZMX_CALL_LOG='\(log)' bash -c 'pici-list | pici-group | pici-stage --artifact-dir \"$0\"' '\(art)'")
        XCTAssertEqual(retry.status, 0, retry.stderr)
        XCTAssertEqual(calls(log).sorted(), ["history ci.demo.\(id).step.fail --html", "history ci.demo.\(id).step.pass --html", "list"])
    }

    // MARK: --jobs

    /// A zmx whose history calls log when they start and end, the earlier sessions slower than
    /// the later ones, so that calls in flight together end out of order.
    private func slowZmx(_ world: Support.ZmxWorld) throws -> (zmx: String, log: String) {
        let log = world.dir + "/spans.log"
        let zmx = world.dir + "/slow-zmx"
        try """
            #!/usr/bin/env bash
            n=${2##*.s}
            echo "start $n" >>'\(log)'
            sleep "0.$(( 9 - n % 10 ))"
            echo "end $n" >>'\(log)'
            printf '<div>history of %s</div>' "$2"

            """.write(toFile: zmx, atomically: true, encoding: .utf8)
        chmod(zmx, 0o755)
        return (zmx, log)
    }

    /// How many calls were in flight at most, from the start/end log.
    private func mostInFlight(_ log: String) -> Int {
        var now = 0, most = 0
        for l in calls(log) {
            now += l.hasPrefix("start") ? 1 : -1
            most = max(most, now)
        }
        return most
    }

    func testJobsFetchSeveralHistoriesAtOnceAndKeepInputOrder() throws {
        let world = Support.ZmxWorld(self)
        let (zmx, log) = try slowZmx(world)
        let art = Support.tempDir(self, "art")
        // Six jobs of two sessions, a note between them, and the listing last.
        var input = "", expected = ""
        for j in 0..<6 {
            let id = String(format: "%08x", j)
            let sessions = (0..<2).map { k in
                session("ci.demo.\(id).s\(j * 2 + k)", short: "s\(j * 2 + k)", ended: 1_700_000_005, exitCode: 0, status: .success)
            }
            input += line(job("demo", id, sessions))
            if j == 2 { input += "{\"type\":\"note\",\"n\":1}\n" }
        }
        input += "{\"type\":\"listing\",\"complete\":true,\"sessions\":12,\"at\":1700000010}\n"
        expected = input
        let ran = world.sh("PICI_ZMX='\(zmx)' pici-stage --jobs 3 --artifact-dir '\(art)'", input: input)
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertEqual(ran.stdout, expected, "records leave in input order")
        XCTAssertEqual(calls(log).count, 24)
        XCTAssertEqual(mostInFlight(log), 3, "at most --jobs calls at once, and that many")
        for n in 0..<12 {
            let id = String(format: "%08x", n / 2)
            XCTAssertEqual(
                try String(contentsOfFile: art + "/demo/\(id)/s\(n).txt", encoding: .utf8), "history of ci.demo.\(id).s\(n)\n")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: art + "/.pici/open").count, 6)

        // --jobs 1: one call at a time, as before.
        try? FileManager.default.removeItem(atPath: log)
        let serialArt = Support.tempDir(self, "art1")
        let serial = world.sh("PICI_ZMX='\(zmx)' pici-stage --jobs 1 --artifact-dir '\(serialArt)'", input: input)
        XCTAssertEqual(serial.stdout, expected)
        XCTAssertEqual(mostInFlight(log), 1)

        // No --jobs: one call more than there are online CPUs, one for each CPU while the
        // histories that came back are written.
        try? FileManager.default.removeItem(atPath: log)
        let defaultArt = Support.tempDir(self, "artD")
        let byDefault = world.sh("PICI_ZMX='\(zmx)' pici-stage --artifact-dir '\(defaultArt)'", input: input)
        XCTAssertEqual(byDefault.stdout, expected)
        // The first 8 calls take 0.2 s or more, so that many overlap whatever the machine;
        // past 8 a fast call may end before a slow one starts.
        let most = mostInFlight(log)
        XCTAssertEqual(min(most, 8), min(8, ChildPool.onlineCPUs + 1))
        XCTAssertLessThanOrEqual(most, ChildPool.onlineCPUs + 1)
    }

    func testAJobsRecordGoesOnOnceItsFilesAreCommittedNotAtTheEnd() throws {
        let world = Support.ZmxWorld(self)
        let flag = world.dir + "/go-on"
        let zmx = world.dir + "/held-zmx"
        // The second job's history waits (up to 20 s) until the reader has the first record.
        try """
            #!/usr/bin/env bash
            case $2 in *.00000001.*) i=0; until [ -e '\(flag)' ] || [ $i -ge 400 ]; do i=$((i + 1)); sleep 0.05; done ;; esac
            printf '<div>history of %s</div>' "$2"

            """.write(toFile: zmx, atomically: true, encoding: .utf8)
        chmod(zmx, 0o755)
        let art = Support.tempDir(self, "art")
        var input = ""
        for j in 0..<2 {
            let id = String(format: "%08x", j)
            input += line(job("demo", id, [session("ci.demo.\(id).s\(j)", short: "s\(j)", ended: 1_700_000_005, exitCode: 0, status: .success)]))
        }
        input += "{\"type\":\"listing\",\"complete\":true,\"sessions\":2,\"at\":1700000010}\n"
        let ran = world.sh("""
            PICI_ZMX='\(zmx)' pici-stage --jobs 2 --artifact-dir '\(art)' | {
              IFS= read -r -t 10 first || echo TIMEOUT >&2
              [ -f '\(art)/demo/00000000/s0.txt' ] && echo 'first log in place' >&2
              touch '\(flag)'
              printf '%s\\n' "$first"; cat
            }
            """, input: input)
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertFalse(ran.stderr.contains("TIMEOUT"), "the first job's record waited for the second job's history")
        XCTAssertTrue(ran.stderr.contains("TIMEOUT") || ran.stderr.contains("first log in place"), "a record went on before its job's files were in place")
        XCTAssertEqual(ran.stdout, input)
    }

    func testJobsKeepFailuresAndUnsafeJobsAsTheyWere() throws {
        // A failing call among calls in flight is reported against its own session, an unsafe
        // job is still dropped, and the exit status is what one call at a time gives.
        let world = Support.ZmxWorld(self)
        let zmx = world.dir + "/mixed-zmx"
        try """
            #!/usr/bin/env bash
            case $2 in *.s1) sleep 0.3; echo "error: no such session" >&2; exit 1 ;; *.s2) exit 0 ;; esac
            printf '<div>ok</div>'

            """.write(toFile: zmx, atomically: true, encoding: .utf8)
        chmod(zmx, 0o755)
        let ids = ["0000000a", "0000000b", "0000000c"]
        let jobs = ids.enumerated().map { i, id in
            job("demo", id, [session("ci.demo.\(id).s\(i)", short: "s\(i)", ended: 1_700_000_005, exitCode: 0, status: .success)])
        }
        let unsafe = line(job("demo", "..", [session("ci.demo.x.s3", short: "s3", ended: 1_700_000_005, exitCode: 0, status: .success)]))
        let input = line(jobs[0]) + unsafe + line(jobs[1]) + line(jobs[2])
        for n in [1, 4] {
            let art = Support.tempDir(self, "art\(n)")
            let ran = world.sh("PICI_ZMX='\(zmx)' pici-stage --jobs \(n) --artifact-dir '\(art)'", input: input)
            XCTAssertEqual(ran.status, 65, ran.stderr)
            XCTAssertEqual(ran.stdout, line(jobs[0]) + line(jobs[1]) + line(jobs[2]), "jobs \(n)")
            let errors = ran.stderr.split(separator: "\n").map(String.init)
            XCTAssertEqual(errors.count, 3, ran.stderr)
            XCTAssertTrue(errors.contains { $0.hasPrefix("pici-stage: line 2: ") && $0.hasSuffix("job skipped") }, ran.stderr)
            XCTAssertTrue(errors.contains { $0.contains("ci.demo.0000000b.s1") && $0.contains("no such session") }, ran.stderr)
            XCTAssertTrue(errors.contains { $0.contains("ci.demo.0000000c.s2") && $0.contains("printed no history") }, ran.stderr)
            XCTAssertTrue(FileManager.default.fileExists(atPath: art + "/demo/0000000a/s0.html"))
        }
    }
}
