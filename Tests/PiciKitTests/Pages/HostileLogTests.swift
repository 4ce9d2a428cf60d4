import Foundation
import PiciKit
import XCTest

/// A build that prints OSC 8 links to scripts, OSC titles holding markup and colour codes
/// around attribute text, run for real (pici-run, the stand-in zmx, pici-monitor): its
/// published page holds no script URL, no `<script>`, no event handler; its https link is
/// kept and clickable; and, when Chromium is installed, nothing runs in a browser.
final class HostileLogTests: XCTestCase {
    static let step = #"""
        link() { printf '\033]8;;%s\033\\%s\033]8;;\033\\\n' "$1" "$2"; }
        link 'javascript:alert(document.domain)' 'click for details'
        link 'JaVaScRiPt:alert(document.domain)' 'mixed case'
        link ' javascript:alert(1)' 'leading space'
        link $'java\tscript:alert(1)' 'embedded tab'
        link $'\001javascript:alert(1)' 'control character'
        link '&#106;avascript:alert(1)' 'entity'
        link 'javascript&colon;alert(1)' 'named entity'
        link 'data:text/html,<script>alert(1)</script>' 'data URL'
        link 'vbscript:msgbox(1)' 'vbscript'
        link 'https://example.com/x"onmouseover="alert(1)' 'quote in the URL'
        link 'https://example.com/report' 'the report'
        printf '\033]0;<script>alert(1)</script>\007'
        printf '\033]2;<img src=x onerror=alert(1)>\033\\'
        printf '\033[31m"onmouseover=alert(1) x="\033[0m <b>bold?</b>\n'
        printf '\033[1;38;2;255;0;0mred bold\033[0m \033[48;5;22mdark green\033[0m\n'
        """#

    static let pico = """
        #!/usr/bin/env bash
        set -euo pipefail
        zmx run links -d bash links.sh
        zmx wait "*"

        """

    func testAHostileBuildLogIsPublishedHarmless() throws {
        let world = Support.ZmxWorld(self)
        let tmp = Support.tempDir(self, "tmp"), art = Support.tempDir(self, "art") + "/A"
        let ws = Support.tempDir(self, "ws")
        try HostileLogTests.pico.write(toFile: ws + "/pico.sh", atomically: true, encoding: .utf8)
        try HostileLogTests.step.write(toFile: ws + "/links.sh", atomically: true, encoding: .utf8)
        let event = #"{"type":"push","name":"evil","workspace":"\#(ws)","branch":"main","commit":"0123abc"}"#
        let run = world.sh("export TMPDIR='\(tmp)'; pici-run --wait --interval 200ms --artifact-dir '\(art)' --event '\(event)'")
        XCTAssertEqual(run.status, 0, run.stderr)
        let pass = world.sh("pici-monitor --once --no-sync --artifact-dir '\(art)'")
        XCTAssertEqual(pass.status, 0, pass.stderr)

        let pages = try FileManager.default.subpathsOfDirectory(atPath: art).filter { $0.hasSuffix("/links.html") }
        XCTAssertEqual(pages.count, 1, "\(pages)")
        let file = art + "/" + pages[0]
        let html = try String(contentsOfFile: file, encoding: .utf8)

        XCTAssertEqual(PagesTests.structureProblems(html), [])
        XCTAssertFalse(html.lowercased().contains("<script"))
        XCTAssertFalse(html.lowercased().contains("<img"))
        XCTAssertTrue(PagesTests.matches(html, #"(<[^>]*\son[a-z]+\s*=[^>]*>)"#).isEmpty, "an event handler")
        for href in PagesTests.hrefs(html) {
            XCTAssertFalse(["javascript", "vbscript", "data:"].contains { href.lowercased().contains($0) }, href)
        }
        let buildLinks = PagesTests.matches(html, #"(<a href="[^"]*" rel="nofollow noopener noreferrer">[^<]*</a>)"#)
        XCTAssertEqual(buildLinks, [
            #"<a href="https://example.com/x&quot;onmouseover=&quot;alert(1)" rel="nofollow noopener noreferrer">quote in the URL</a>"#,
            #"<a href="https://example.com/report" rel="nofollow noopener noreferrer">the report</a>"#,
        ])
        for text in ["click for details", "mixed case", "leading space", "embedded tab", "control character", "entity", "data URL", "vbscript"] {
            XCTAssertTrue(html.contains("\n\(text)\n"), "the refused link's text is kept: \(text)")
        }
        XCTAssertTrue(html.contains(#"<span style="color: var(--vt-palette-1);">&quot;onmouseover=alert(1) x=&quot;</span> &lt;b&gt;bold?&lt;/b&gt;"#))
        XCTAssertTrue(html.contains(#"<span style="color: rgb(255, 0, 0);font-weight: bold;">red bold</span> <span style="background-color: var(--vt-palette-22);">dark green</span>"#))

        // The plain-text log keeps every word and no escape sequence.
        let txt = try String(contentsOfFile: String(file.dropLast(".html".count)) + ".txt", encoding: .utf8)
        XCTAssertTrue(txt.hasPrefix("click for details\nmixed case\n"), txt)
        XCTAssertFalse(txt.contains("\u{1B}"))

        guard BrowserTests.chromium != nil else { return }
        let dom = try BrowserTests.dom(file, test: self)
        XCTAssertEqual(BrowserTests.title(dom).map(BrowserTests.unescapeQuotes), BrowserTests.title(html).map(BrowserTests.unescapeQuotes),
                       "nothing ran")
        XCTAssertTrue(dom.contains("the report</a>"), "the page was loaded")
        let log = try XCTUnwrap(PagesTests.matches(html, #"<div class="log">\n([\s\S]*?)\n</div>\n</section>"#).first)
        XCTAssertEqual(try BrowserTests.verdict(log, test: self), "links=2 bad=0 handlers=0 scripts=0 kept=1 dialogs=0")
    }
}
