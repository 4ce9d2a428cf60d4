import Foundation
import PiciKit
import XCTest

/// The pages as a browser sees them: headless Chromium loads them from files and prints the
/// DOM it ends with (`--dump-dom`). A script that ran would have changed the title. No name
/// resolves in that browser, so no page can reach the network. Skipped when Chromium is not
/// installed (CI does not install it: `.ci/run`).
final class BrowserTests: XCTestCase {
    static let chromium: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            for name in ["chromium", "chromium-browser", "google-chrome"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
                return "\(dir)/\(name)"
            }
        }
        return nil
    }()

    /// The DOM of `file` once Chromium has loaded it (and run whatever it would run).
    static func dom(_ file: String, test: XCTestCase) throws -> String {
        guard let chromium else { throw XCTSkip("chromium is not installed") }
        let profile = Support.tempDir(test, "chromium")
        let ran = Support.sh(
            "exec '\(chromium)' --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir='\(profile)' "
                + "--host-resolver-rules='MAP * ~NOTFOUND' --disable-background-networking --disable-component-update "
                + "--dump-dom 'file://\(file)' 2>/dev/null",
            env: ProcessInfo.processInfo.environment, timeout: 90)
        XCTAssertEqual(ran.status, 0, "chromium failed on \(file)")
        return ran.stdout
    }

    static func title(_ dom: String) -> String? { PagesTests.matches(dom, "<title>([^<]*)</title>").first }

    /// A browser writes a title back escaping only & < >; pici also escapes quotes.
    static func unescapeQuotes(_ s: String) -> String {
        s.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
    }

    /// What the browser makes of `log` (HTML for the log box), judged by its own parser and URL
    /// parser, in a page of its own that may run the one script that looks: the links it
    /// finds, those that are not http, https or mailto, elements with an event handler,
    /// elements that load or run something, links to https://example.com/report with pici's
    /// rel, and dialogs opened.
    static func verdict(_ log: String, test: XCTestCase) throws -> String? {
        let dir = Support.tempDir(test, "harness")
        let page = """
            <!DOCTYPE html><html><head><meta charset="utf-8"><title>pending</title>
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
            <script>
            // A dialog would hang a headless browser: count them instead.
            let dialogs = 0;
            window.alert = window.confirm = window.prompt = () => { dialogs++; };
            </script></head><body><div id="log">\(log)</div>
            <script>
            window.addEventListener('load', () => {
            const log = document.getElementById('log');
            const links = [...log.querySelectorAll('a[href]')];
            const bad = links.filter(a => !['http:', 'https:', 'mailto:'].includes(a.protocol)).length;
            const handlers = [...log.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length;
            const scripts = log.querySelectorAll('script, img, iframe, object, embed, link, meta, base, form').length;
            const kept = links.filter(a => a.href === 'https://example.com/report' && a.rel === 'nofollow noopener noreferrer').length;
            document.title = `links=${links.length} bad=${bad} handlers=${handlers} scripts=${scripts} kept=${kept} dialogs=${dialogs}`;
            });
            </script></body></html>
            """
        try page.write(toFile: dir + "/harness.html", atomically: true, encoding: .utf8)
        return title(try dom(dir + "/harness.html", test: test))
    }

    /// A hostile page, with a script added after the fact, as a future bug in pici might let
    /// one in: the policy stops it. Without the policy the same script runs, so the check
    /// does see a script that ran.
    func testThePolicyStopsAScriptThatGotOntoAPage() throws {
        let dir = Support.tempDir(self, "site")
        try Styles.css.write(toFile: dir + "/styles.css", atomically: true, encoding: .utf8)
        let page = PagesTests.hostilePages().first { $0.0 == "hostile log" }!.1
        let title = try XCTUnwrap(BrowserTests.title(page))
        let injected = page.replacingOccurrences(
            of: "</main>", with: "<script>document.title='ran'</script><img src=\"missing.png\" alt=\"\" onerror=\"document.title='ran'\"></main>")
        try injected.write(toFile: dir + "/with-policy.html", atomically: true, encoding: .utf8)
        let policy = "<meta http-equiv=\"Content-Security-Policy\" content=\"\(HTML.escape(Styles.contentSecurityPolicy))\">\n"
        XCTAssertTrue(injected.contains(policy))
        try injected.replacingOccurrences(of: policy, with: "").write(toFile: dir + "/without-policy.html", atomically: true, encoding: .utf8)

        let guarded = try BrowserTests.dom(dir + "/with-policy.html", test: self)
        XCTAssertEqual(BrowserTests.title(guarded).map(BrowserTests.unescapeQuotes), BrowserTests.unescapeQuotes(title), "nothing ran")
        XCTAssertTrue(guarded.contains("the report</a>"), "the page was loaded")
        XCTAssertEqual(BrowserTests.title(try BrowserTests.dom(dir + "/without-policy.html", test: self)), "ran", "the check sees a script that ran")
    }

    /// The log as the browser parses it: every link is http, https or mailto, no element has
    /// an event handler, nothing loads or runs, no dialog opened. The raw fragment, judged
    /// the same way, fails each of these, so the judge does look.
    func testTheBrowserFindsNoScriptLinkInTheRewrittenLog() throws {
        // Each verdict outside an assertion: one that threw XCTSkip there would fail the test
        // instead of skipping it.
        let rewritten = try BrowserTests.verdict(ZmxHTML(parsing: PagesTests.hostileFragment).html, test: self)
        XCTAssertEqual(rewritten, "links=1 bad=0 handlers=0 scripts=0 kept=1 dialogs=0")
        let raw = try XCTUnwrap(try BrowserTests.verdict(PagesTests.hostileFragment, test: self))
        for clean in ["bad=0", "handlers=0", "scripts=0", "dialogs=0"] { XCTAssertFalse(raw.contains(clean), "the raw fragment: \(raw)") }
    }
}
