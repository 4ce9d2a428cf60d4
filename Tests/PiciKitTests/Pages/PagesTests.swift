import Foundation
import PiciKit
import XCTest

/// The HTML pages as a validator and a static host see them: valid HTML5 under tidy, the same
/// document skeleton everywhere, only relative links (which still resolve once the tree is
/// copied elsewhere), no external assets, and every name escaped.
final class PagesTests: XCTestCase {
    static let now = 1_795_823_700  // 2026-11-27 23:55:00 UTC

    // MARK: Fixtures

    static func session(_ name: String, created: Int, ended: Int? = nil, exit: Int? = nil) -> SessionRecord {
        let parsed = JobName.parse(name)
        let status: SessionStatus = ended == nil ? .running : (exit == 0 ? .success : .failed)
        return SessionRecord(
            name: name, repo: parsed?.repo, jobID: parsed?.jobID, short: parsed?.short, pid: 100, clients: 0,
            created: created, ended: ended, exitCode: exit, status: status, cwd: "/srv/ci")
    }

    static func finishedJob(_ name: String = "demo", _ id: String = "abcd1234", step: String = "lint") -> JobRecord {
        JobGrouping.job(name: name, jobID: id, sessions: [
            session("ci.\(name).\(id).runner", created: 1_795_823_657, ended: 1_795_823_660, exit: 0),
            session("ci.\(name).\(id).step.\(step)", created: 1_795_823_658, ended: 1_795_823_659, exit: 2),
        ], now: now)
    }

    static func runningJob(_ name: String = "demo", _ id: String = "beef0001") -> JobRecord {
        JobGrouping.job(name: name, jobID: id, sessions: [
            session("ci.\(name).\(id).runner", created: 1_795_823_650),
            session("ci.\(name).\(id).step.test", created: 1_795_823_651, ended: 1_795_823_655, exit: 0),
        ], now: now)
    }

    /// zmx's `history --html` fragment: a palette, then the escaped scrollback.
    static let fragment = """
        <style>:root{--vt-palette-0: #000000;}</style>
        <div style="font-family: monospace; white-space: pre;">make lint; echo ZMX_TASK_COMPLETED:dbd4:$?
        lint.c:3: warning: &lt;stdio.h&gt; &amp; &quot;x&quot;
        ZMX_TASK_COMPLETED:dbd4:2</div>

        """

    /// Every kind of page pici writes, rendered from records: (label, html).
    static func renderedPages() -> [(String, String)] {
        let done = finishedJob(), live = runningJob()
        var lost = runningJob("demo", "feed0002")
        lost.status = .lost
        var cancelled = runningJob("api", "00c0ffee")
        cancelled.status = .cancelled
        let artifacts: [JobIndex.Artifact] = [
            .init(name: "event.json", size: 512, modified: 1_795_823_600),
            .init(name: "workspace.tar", size: 1536 * 1024, modified: 1_795_823_601),
        ]
        return [
            ("job finished", JobIndex.html(.init(job: done, artifacts: artifacts, branch: "main", commit: "0123abc", now: now))),
            ("job running", JobIndex.html(.init(job: live, now: now))),
            ("job lost", JobIndex.html(.init(job: lost, now: now))),
            ("job without sessions", JobIndex.html(.init(job: JobGrouping.job(name: "x", jobID: "00000000", sessions: [], now: now), now: now))),
            ("top", TopIndex.html([done, live, lost, cancelled].map(TopIndex.Entry.init(job:)), now: now)),
            ("top empty", TopIndex.html([], now: now)),
            ("session failed", SessionPage(job: done, session: done.sessions[1], short: "lint", fragment: fragment, now: now).html),
            ("session running", SessionPage(job: live, session: live.sessions[0], short: "runner", fragment: fragment, now: now).html),
            ("session empty log", SessionPage(job: live, session: live.sessions[1], short: "test", fragment: "", now: now).html),
        ]
    }

    static let hostileRepo = "<script>alert(1)</script>"
    static let hostileStep = "a&b\"c"

    /// A history as zmx would give it for a build out to put a script on the site: OSC 8 links
    /// to every refused target, colour codes around an attribute, markup zmx never writes.
    static let hostileFragment = ZmxHTMLTests.fragment(
        ZmxHTMLTests.refusedTargets.map { "<a href=\"\($0)\">click for details</a>\n" }.joined()
            + #"<div style="display: inline;color: var(--vt-palette-1);">&quot;onmouseover=alert(1) x=&quot;</div>"#
            + #"<div onmouseover="alert(1)" style="display: inline;background-color: url(javascript:alert(1))">y</div>"#
            + #"<script>alert(1)</script><img src=x onerror=alert(1)>"#
            + "\n<a href=\"https://example.com/report\">the report</a>",
        palette: "--vt-palette-1: #ff0000;} body{background:url(https://evil.example/x.png)}")

    /// The three pages of a job whose repository and step names are markup.
    static func hostilePages() -> [(String, String)] {
        let job = finishedJob(hostileRepo, "abcd1234", step: hostileStep)
        let page = JobIndex.Page(
            job: job, artifacts: [.init(name: "<img src=x onerror=alert(1)>.txt", size: 1, modified: 0)],
            branch: "'x'\"y\"", commit: "<b>", now: now)
        return [
            ("hostile job", JobIndex.html(page)),
            ("hostile top", TopIndex.html([TopIndex.Entry(job: job)], now: now)),
            ("hostile session", SessionPage(job: job, session: job.sessions[1], short: hostileStep, fragment: fragment, now: now).html),
            ("hostile log", SessionPage(job: job, session: job.sessions[0], short: "runner", fragment: hostileFragment, now: now).html),
        ]
    }

    static func goldenPages() throws -> [(String, String)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: Support.goldenDir).filter { $0.hasSuffix(".html") }.sorted()
        return try names.map { ($0, try String(contentsOfFile: Support.goldenDir + "/" + $0, encoding: .utf8)) }
    }

    // MARK: Checks

    /// What is wrong with a page's skeleton, links and assets; empty when nothing is.
    static func structureProblems(_ html: String) -> [String] {
        var problems: [String] = []
        func need(_ ok: Bool, _ what: String) { if !ok { problems.append(what) } }
        need(html.hasPrefix("<!DOCTYPE html>\n"), "does not start with <!DOCTYPE html>")
        need(html.range(of: #"<html lang="[a-z]{2,3}(-[A-Za-z0-9]+)?">"#, options: .regularExpression) != nil, "no <html lang=…>")
        need(html.contains("<meta charset=\"utf-8\">"), "no <meta charset=\"utf-8\">")
        need(html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"), "no viewport meta")
        need(html.contains("<link rel=\"stylesheet\" href=\"styles.css\">"), "does not link styles.css")
        need(matches(html, #"<title>[^<]+</title>"#).count == 1, "not exactly one non-empty <title>")
        need(matches(html, #"<h1[ >]"#).count == 1, "not exactly one <h1>")
        need(html.hasSuffix("</html>\n"), "does not end with </html>")
        need(html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"\(HTML.escape(Styles.contentSecurityPolicy))\">"),
             "no Content-Security-Policy")
        need(html.range(of: #"<head>\n<meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy""#, options: .regularExpression) != nil,
             "the policy is not at the top of <head>")
        // pici's own links are relative; a link the build printed (OSC 8) is absolute and
        // marked as the build's.
        let buildLink = #" rel="nofollow noopener noreferrer">"#
        for tag in matches(html, #"(<a [^>]*>)"#) {
            let href = matches(tag, #"href="([^"]*)""#).first ?? ""
            if tag.hasSuffix(buildLink) {
                need(["http:", "https:", "mailto:"].contains { href.hasPrefix($0) }, "build link is not http, https or mailto: \(href)")
            } else {
                let scheme = href.range(of: #"^[A-Za-z][A-Za-z0-9+.-]*:"#, options: .regularExpression) != nil
                need(!scheme && !href.hasPrefix("/"), "link is not relative: \(href)")
            }
        }
        need(matches(html, #"(<[^>]*\son[a-z]+\s*=[^>]*>)"#).isEmpty, "an event handler attribute")
        // Inside tags and style sheets only: a log or a name may say "http://" as text.
        let markup = matches(html, #"(<[^>]+>)"#).filter { !$0.hasSuffix(buildLink) } + matches(html, #"<style>([^<]*)</style>"#)
        for asset in ["http://", "https://", "url(", "@import", " src=", "<script", "<img", "<iframe", "<object", "<embed"] {
            need(!markup.contains { $0.lowercased().contains(asset) }, "refers to an asset or runs code: \(asset)")
        }
        return problems
    }

    static func matches(_ text: String, _ pattern: String) -> [String] {
        let re = try! NSRegularExpression(pattern: pattern)
        let ns = text as NSString
        return re.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { m in
            ns.substring(with: m.numberOfRanges > 1 ? m.range(at: 1) : m.range)
        }
    }

    static func hrefs(_ html: String) -> [String] { matches(html, #"href="([^"]*)""#) }

    static let tidyPath: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { $0 + "/tidy" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// tidy's errors and warnings for a page, one a line.
    func tidyProblems(_ html: String) throws -> [String] {
        guard let tidy = PagesTests.tidyPath else { throw XCTSkip("tidy is not installed (apt-get install tidy)") }
        let file = Support.tempDir(self, "tidy") + "/page.html"
        try html.write(toFile: file, atomically: true, encoding: .utf8)
        let ran = Support.sh("'\(tidy)' -q -e --show-warnings yes '\(file)'", env: ProcessInfo.processInfo.environment)
        var lines = ran.stderr.split(separator: "\n").map(String.init)
        if ran.status > 1 && lines.isEmpty { lines.append("tidy exited \(ran.status)") }
        return lines
    }

    // MARK: Validity and structure

    func testGoldenPagesAreValidHTML5() throws {
        let pages = try PagesTests.goldenPages()
        XCTAssertGreaterThanOrEqual(pages.count, 4, "the golden pages are missing")
        for (name, html) in pages {
            XCTAssertEqual(try tidyProblems(html), [], name)
        }
    }

    func testRenderedPagesAreValidHTML5() throws {
        for (label, html) in PagesTests.renderedPages() + PagesTests.hostilePages() {
            XCTAssertEqual(try tidyProblems(html), [], label)
        }
        // And tidy does object: an unclosed element, an element where it may not be.
        let good = PagesTests.renderedPages()[0].1
        XCTAssertNotEqual(try tidyProblems(good.replacingOccurrences(of: "</section>\n</main>", with: "</main>")), [])
        XCTAssertNotEqual(try tidyProblems(good.replacingOccurrences(of: "<dl><dt>", with: "<dl><div>x</div><dt>")), [])
    }

    func testEveryPageHasTheSkeletonAndOnlyRelativeLinks() throws {
        for (label, html) in try PagesTests.goldenPages() + PagesTests.renderedPages() + PagesTests.hostilePages() {
            XCTAssertEqual(PagesTests.structureProblems(html), [], label)
        }
    }

    func testTheStructureCheckCatchesWhatItLooksFor() {
        let good = PagesTests.renderedPages()[0].1
        XCTAssertEqual(PagesTests.structureProblems(good), [])
        let broken = [
            good.replacingOccurrences(of: "<!DOCTYPE html>", with: "<html>"),
            good.replacingOccurrences(of: "<meta charset=\"utf-8\">", with: ""),
            good.replacingOccurrences(of: "href=\"styles.css\"", with: "href=\"https://cdn.example/x.css\""),
            good.replacingOccurrences(of: "href=\"../../index.html\"", with: "href=\"/index.html\""),
            good.replacingOccurrences(of: "</main>", with: "<h1>again</h1></main>"),
            good.replacingOccurrences(of: "</main>", with: "<img src=\"logo.png\" alt=\"\"></main>"),
            good.replacingOccurrences(of: "</head>", with: "<style>body{background:url(x.png)}</style></head>"),
        ]
        for page in broken { XCTAssertNotEqual(PagesTests.structureProblems(page), [], page.prefix(80) + "…") }
    }

    func testStylesheetIsSelfContainedAndAdapts() {
        let css = Styles.css
        for asset in ["http:", "https:", "url(", "@import", "@font-face"] {
            XCTAssertFalse(css.contains(asset), asset)
        }
        XCTAssertTrue(css.contains("@media (prefers-color-scheme: dark)"), "dark mode")
        XCTAssertTrue(css.contains("@media (max-width: 40rem)"), "a phone layout")
        XCTAssertNotNil(css.range(of: #"\.log \{[^}]*overflow-x: auto"#, options: .regularExpression), "a long log line scrolls in its box")
        XCTAssertNotNil(css.range(of: #"\.table-wrap \{[^}]*overflow-x: auto"#, options: .regularExpression), "a wide table scrolls in its box")
        // Braces balance, so no rule swallows the ones after it.
        XCTAssertEqual(css.filter { $0 == "{" }.count, css.filter { $0 == "}" }.count)
    }

    /// A status shows as a colour, a mark and its word. The mark is an inline SVG, not an
    /// emoji, which shows as an empty box where no emoji font is installed.
    func testEveryStatusShowsColourMarkAndWord() {
        var marks: Set<String> = []
        for status in ["success", "failed", "running", "cancelled", "lost", "unreachable"] {
            let badge = Styles.badge(status)
            XCTAssertTrue(badge.contains("class=\"badge status-\(status)\""), badge)
            XCTAssertTrue(badge.hasSuffix("</svg> \(status)</span>"), badge)
            let mark = Styles.mark(status)
            XCTAssertTrue(mark.hasPrefix("<svg class=\"mark\" ") && mark.contains("aria-hidden=\"true\"") && mark.contains("stroke=\"currentColor\""), mark)
            marks.insert(mark)
            XCTAssertTrue(Styles.css.contains(".status-\(status)"), "no colour for \(status)")
        }
        XCTAssertEqual(marks.count, 6, "each status has a mark of its own")
        XCTAssertEqual(Styles.badge("<b>"), "<span class=\"badge status-unknown\">\(Styles.mark("<b>")) &lt;b&gt;</span>")
    }

    /// No page, text file or terminal line pici writes has a character outside the blocks
    /// every system font draws: emoji and symbols (U+2190 and up, but for the dashes and
    /// arrows of the text itself) are the boxes a person without an emoji font sees.
    func testPagesHaveNoEmoji() throws {
        let done = PagesTests.finishedJob()
        var lost = PagesTests.runningJob("demo", "feed0002")
        lost.status = .lost
        var texts = PagesTests.renderedPages().map(\.1)
        texts += [JobIndex.text(.init(job: done, now: PagesTests.now)), JobIndex.text(.init(job: lost, status: "lost", now: PagesTests.now))]
        texts += [HumanOutput.finalBlock(job: done, workspace: "/w", artifactDir: "/a", colour: true)]
        texts += HumanOutput.runningLines(job: PagesTests.runningJob(), now: PagesTests.now, colour: true)
        for text in texts {
            let odd = text.unicodeScalars.filter { $0.value >= 0x2190 && !["—", "·"].contains(Character($0)) }
            XCTAssertEqual(String(String.UnicodeScalarView(odd)), "", String(text.prefix(200)))
        }
    }

    /// A cancelled or lost job's running session page is settled: no reload, the job's fate
    /// where it said running, and zmx's log untouched even where it says the same words.
    func testARunningSessionPageIsSettledWithItsJobsFate() throws {
        let live = PagesTests.runningJob()
        let log = "<div>build running; <span>updates every 5 s while running</span></div>\n"
        let page = SessionPage(job: live, session: live.sessions[0], short: "runner", fragment: log, now: PagesTests.now).html
        let settled = try XCTUnwrap(SessionPage.settled(page, as: "cancelled"))
        XCTAssertFalse(settled.contains("http-equiv=\"refresh\""))
        XCTAssertTrue(settled.contains("<title>runner · demo beef0001 · cancelled</title>"), settled)
        XCTAssertTrue(settled.contains("<h1>\(Styles.badge("cancelled")) <span>runner</span></h1>"), settled)
        XCTAssertFalse(settled.contains(Styles.badge("running")))
        XCTAssertTrue(settled.contains("<div class=\"log\">\n" + ZmxHTML(parsing: log).html + "\n</div>"), "the log as it was")
        XCTAssertTrue(settled.contains("build running; updates every 5 s while running</pre>"), settled)
        XCTAssertTrue(settled.hasSuffix("<span>times in UTC</span></footer>\n</body>\n</html>\n"), settled)
        XCTAssertEqual(try tidyProblems(settled), [])
        // Settled already, or a page that was never running: nothing to do.
        XCTAssertNil(SessionPage.settled(settled, as: "lost"))
        let done = PagesTests.finishedJob()
        XCTAssertNil(SessionPage.settled(SessionPage(job: done, session: done.sessions[1], short: "lint", fragment: log, now: PagesTests.now).html, as: "lost"))
    }

    // MARK: Escaping

    func testNamesAppearOnlyEscaped() {
        for (label, html) in PagesTests.hostilePages() {
            XCTAssertFalse(html.contains("<script"), label)
            XCTAssertFalse(html.contains("alert(1)</"), label)
            XCTAssertFalse(html.contains("<img"), label)
            XCTAssertFalse(html.contains("<b>"), label)
            XCTAssertFalse(html.contains("a&b"), label)
            XCTAssertFalse(html.contains("b\"c"), label)
            XCTAssertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), label)
        }
        let (job, top, session) = (PagesTests.hostilePages()[0].1, PagesTests.hostilePages()[1].1, PagesTests.hostilePages()[2].1)
        XCTAssertTrue(job.contains(">a&amp;b&quot;c</a>"))
        XCTAssertTrue(job.contains("href=\"a%26b%22c.html\""))
        XCTAssertTrue(job.contains("&#39;x&#39;&quot;y&quot;"))
        XCTAssertTrue(job.contains("href=\"../../index.html#repo-%3Cscript%3Ealert%281%29%3C%2Fscript%3E\""))
        XCTAssertTrue(top.contains("id=\"repo-%3Cscript%3Ealert%281%29%3C%2Fscript%3E\""), "the job pages' anchor")
        XCTAssertTrue(top.contains("href=\"%3Cscript%3Ealert%281%29%3C%2Fscript%3E/abcd1234/index.html\""))
        XCTAssertTrue(session.contains("<title>a&amp;b&quot;c · &lt;script&gt;alert(1)&lt;/script&gt; abcd1234 · failed</title>"))
        XCTAssertTrue(session.contains("href=\"a%26b%22c.txt\""))
    }

    func testABuildsLogCannotPutAScriptOnThePage() {
        let html = PagesTests.hostilePages().first { $0.0 == "hostile log" }!.1
        XCTAssertEqual(PagesTests.structureProblems(html), [])
        XCTAssertFalse(html.lowercased().contains("<script"))
        for scheme in ["javascript:", "vbscript:", "data:", "file:"] {
            XCTAssertFalse(PagesTests.hrefs(html).contains { $0.lowercased().contains(scheme) }, scheme)
        }
        XCTAssertTrue(PagesTests.matches(html, #"(<[^>]*\son[a-z]+\s*=[^>]*>)"#).isEmpty)
        XCTAssertFalse(html.contains("url("), "no CSS from the log reaches the page")
        // The build's words are all there, as text; its one good link is kept and clickable.
        XCTAssertEqual(html.components(separatedBy: "click for details\n").count - 1, ZmxHTMLTests.refusedTargets.count)
        XCTAssertTrue(html.contains(#"<span style="color: var(--vt-palette-1);">&quot;onmouseover=alert(1) x=&quot;</span>"#))
        XCTAssertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"))
        XCTAssertTrue(html.contains(#"<a href="https://example.com/report" rel="nofollow noopener noreferrer">the report</a>"#))
        XCTAssertTrue(html.contains(#"<pre style="--vt-palette-1: #ff0000;">"#))
        // And the check sees a script link when there is one.
        let bad = html.replacingOccurrences(of: "https://example.com/report", with: "javascript:alert(1)")
        XCTAssertNotEqual(PagesTests.structureProblems(bad), [])
        let handler = html.replacingOccurrences(of: "<pre style=", with: "<pre onclick=\"x\" style=")
        XCTAssertNotEqual(PagesTests.structureProblems(handler), [])
    }

    // MARK: A real run

    /// A job that stays running: one quick step with long and awkward output, one that sleeps.
    static let slowJob = """
        #!/usr/bin/env bash
        set -euo pipefail
        zmx run quick -d bash -c 'echo "<b>&amp; \\"quoted\\"</b>"; printf "%0300d\\n" 7'
        zmx run slow -d sleep 30
        zmx wait "*"

        """

    func testPagesOfARealRunAreValidAndTheirLinksWorkInACopy() throws {
        let world = Support.ZmxWorld(self)
        let tmp = Support.tempDir(self, "tmp"), art = Support.tempDir(self, "art") + "/A"
        let examples = Support.root.appendingPathComponent("examples").path
        func run(_ name: String, _ workspace: String, wait: Bool) -> Support.Ran {
            let event = #"{"type":"push","name":"\#(name)","workspace":"\#(workspace)","branch":"main","commit":"0123abc"}"#
            return world.sh("export TMPDIR='\(tmp)'; pici-run \(wait ? "--wait --interval 200ms" : "") --artifact-dir '\(art)' --event '\(event)'")
        }
        XCTAssertEqual(run("demo", examples + "/failing", wait: true).status, 3)
        XCTAssertEqual(run("demo", examples + "/hello", wait: true).status, 0)
        let slow = Support.tempDir(self, "ws")
        try PagesTests.slowJob.write(toFile: slow + "/pico.sh", atomically: true, encoding: .utf8)
        let started = run("slow", slow, wait: false)
        XCTAssertEqual(started.status, 0, started.stderr)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, !world.sh("zmx list 2>/dev/null").stdout.split(separator: "\n").contains(where: {
            $0.contains(".step.quick\t") && $0.contains("\tended=")
        }) { usleep(100_000) }
        let pass = world.sh("pici-monitor --once --include-running --no-sync --artifact-dir '\(art)'")
        XCTAssertEqual(pass.status, 0, pass.stderr)

        // A copy elsewhere, as a static host would hold it (as the sync sends it: no `.pici*`,
        // no temp file; the slow job's followers still write under `.pici`, and a file copied
        // there could vanish mid-copy): every check runs on the copy.
        let copy = Support.tempDir(self, "host") + "/site"
        let copied = world.sh("rsync -a --exclude='.pici*' --exclude='\(TempFiles.pattern)' '\(art)/' '\(copy)/'")
        XCTAssertEqual(copied.status, 0, copied.stderr)
        let pages = try FileManager.default.subpathsOfDirectory(atPath: copy)
            .filter { $0.hasSuffix(".html") && !$0.hasPrefix(".pici") }.sorted()
        let jobs = pages.filter { $0.hasSuffix("/index.html") }
        XCTAssertEqual(jobs.count, 3, "\(pages)")
        XCTAssertEqual(pages.count, 1 + 3 + 9, "the top index, three job indexes, three sessions each: \(pages)")

        for page in pages {
            let html = try String(contentsOfFile: copy + "/" + page, encoding: .utf8)
            XCTAssertEqual(PagesTests.structureProblems(html), [], page)
            XCTAssertEqual(try tidyProblems(html), [], page)
            for problem in brokenLinks(html, page: page, root: copy) { XCTFail("\(page): \(problem)") }
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: copy + "/styles.css"))

        let slowJob = try String(contentsOfFile: copy + "/" + jobs.first { $0.hasPrefix("slow/") }!, encoding: .utf8)
        XCTAssertTrue(slowJob.contains("<meta http-equiv=\"refresh\""), "a running job's page reloads itself")
        XCTAssertTrue(slowJob.contains("status-running"))
        let quick = try String(contentsOfFile: copy + "/" + pages.first { $0.hasSuffix("/quick.html") }!, encoding: .utf8)
        XCTAssertTrue(quick.contains("&lt;b&gt;&amp;amp; &quot;quoted&quot;&lt;/b&gt;"), "the log is escaped by zmx")
        XCTAssertFalse(quick.contains("http-equiv=\"refresh\""), "an ended step's page is final")
        let top = try String(contentsOfFile: copy + "/index.html", encoding: .utf8)
        for status in ["running", "failed", "success"] { XCTAssertTrue(top.contains("status-\(status)"), status) }
    }

    /// The links of `page` (a path under `root`) that do not resolve to a file in `root`, or
    /// whose `#fragment` names no id in the page it points at.
    func brokenLinks(_ html: String, page: String, root: String) -> [String] {
        var broken: [String] = []
        let dir = (page as NSString).deletingLastPathComponent
        for href in PagesTests.hrefs(html) where !["http:", "https:", "mailto:"].contains(where: { href.hasPrefix($0) }) {
            let parts = href.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard let path = parts[0].removingPercentEncoding else {
                broken.append("bad percent-encoding: \(href)")
                continue
            }
            // Resolved by hand, as a browser does, so that a `..` past the root is caught.
            var segments: [Substring] = []
            var escapes = false
            for segment in ((path.isEmpty ? page : (dir.isEmpty ? path : dir + "/" + path))).split(separator: "/") {
                if segment == "." { continue }
                if segment == ".." {
                    if segments.isEmpty { escapes = true } else { segments.removeLast() }
                } else {
                    segments.append(segment)
                }
            }
            if escapes {
                broken.append("leaves the tree: \(href)")
                continue
            }
            let target = segments.joined(separator: "/")
            guard FileManager.default.fileExists(atPath: root + "/" + target) else {
                broken.append("no such file: \(href)")
                continue
            }
            if parts.count == 2 {
                let text = (try? String(contentsOfFile: root + "/" + target, encoding: .utf8)) ?? ""
                if !text.contains("id=\"\(parts[1])\"") { broken.append("no id \(parts[1]) in \(target)") }
            }
        }
        return broken
    }
}
