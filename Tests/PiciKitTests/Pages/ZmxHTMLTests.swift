import Foundation
import PiciKit
import XCTest

/// zmx's `history --html` fragment is read, never copied: what ghostty's formatter writes comes
/// back as pici's own markup, links only to http, https and mailto, and everything else a build
/// could smuggle in is text or nothing.
final class ZmxHTMLTests: XCTestCase {
    static let wrap = #"<div style="font-family: monospace; white-space: pre;">"#

    /// A fragment as zmx writes it: the palette, then one wrapper with `body` in it.
    static func fragment(_ body: String, palette: String = "--vt-palette-0: #1d1f21;--vt-palette-1: #cc6666;") -> String {
        "<style>:root{\(palette)}</style>" + wrap + body + "</div>"
    }

    static func link(_ href: String, _ text: String = "click for details") -> String {
        fragment("before <a href=\"\(href)\">\(text)</a> after")
    }

    // MARK: What zmx writes (ghostty's formatter tests, src/terminal/formatter.zig)

    func testPlainTextIsUnescapedIntoRunsAndEscapedBack() {
        let z = ZmxHTML(parsing: Self.fragment("&lt;tag&gt;&amp;&quot;&#39;text\nline 2"))
        XCTAssertEqual(z.runs, [ZmxHTML.Run("<tag>&\"'text\nline 2")])
        XCTAssertEqual(z.html, "<pre>\n&lt;tag&gt;&amp;&quot;&#39;text\nline 2</pre>")
    }

    func testNonASCIIComesAsNumericReferencesAndLeavesAsUTF8() {
        let z = ZmxHTML(parsing: Self.fragment("test &#9584;&#9472;&#10095; ok"))
        XCTAssertEqual(z.text, "test ╰─❯ ok")
        XCTAssertEqual(z.html, "<pre>\ntest ╰─❯ ok</pre>")
    }

    func testStyledRunsBecomeSpansWithTheSameDeclarations() {
        let z = ZmxHTML(parsing: Self.fragment(
            #"<div style="display: inline;font-weight: bold;">bold</div>"#
                + #"<div style="display: inline;font-weight: bold;font-style: italic;">italic</div> "#
                + #"<div style="display: inline;color: var(--vt-palette-1);background-color: var(--vt-palette-4);">colored</div>"#
                + #"<div style="display: inline;color: rgb(255, 128, 64);">rgb</div>"#))
        var bold = TerminalStyle()
        bold.bold = true
        var italic = bold
        italic.italic = true
        var colored = TerminalStyle()
        colored.foreground = .palette(1)
        colored.background = .palette(4)
        var rgb = TerminalStyle()
        rgb.foreground = .rgb(255, 128, 64)
        XCTAssertEqual(z.runs, [
            .init("bold", style: bold), .init("italic", style: italic), .init(" "), .init("colored", style: colored),
            .init("rgb", style: rgb),
        ])
        XCTAssertEqual(z.html, "<pre>\n"
            + #"<span style="font-weight: bold;">bold</span><span style="font-weight: bold;font-style: italic;">italic</span> "#
            + #"<span style="color: var(--vt-palette-1);background-color: var(--vt-palette-4);">colored</span>"#
            + #"<span style="color: rgb(255, 128, 64);">rgb</span></pre>"#)
    }

    func testEveryPropertyGhosttyWritesRoundTrips() {
        let css = "color: var(--vt-palette-9);background-color: rgb(0, 0, 255);text-decoration-color: var(--vt-palette-3);"
            + "text-decoration-line: underline line-through overline blink;text-decoration-style: wavy;"
            + "font-weight: bold;font-style: italic;opacity: 0.5;visibility: hidden;filter: invert(100%);"
        let style = TerminalStyle(css: "display: inline;" + css)
        XCTAssertEqual(style.css, css)
        XCTAssertEqual(style.underline, .wavy)
        XCTAssertTrue(style.lineThrough && style.overline && style.blink && style.bold && style.italic)
        XCTAssertTrue(style.faint && style.invisible && style.inverse)
        for u in TerminalStyle.Underline.allCases {
            let one = "text-decoration-line: underline;text-decoration-style: \(u.rawValue);"
            XCTAssertEqual(TerminalStyle(css: one).css, one)
        }
        XCTAssertEqual(TerminalStyle(css: "text-decoration-line: underline;").underline, .solid)
    }

    func testLinksAreKeptWithRelAndStyledLinksNestProperly() {
        // ghostty opens a style before a link and closes it inside: "<div…><a…>bold link</div></a>".
        let z = ZmxHTML(parsing: Self.fragment(
            #"<div style="display: inline;font-weight: bold;"><a href="https://example.com?a=1&amp;b=2">bold link</div></a> plain"#))
        XCTAssertEqual(z.html, "<pre>\n"
            + #"<a href="https://example.com?a=1&amp;b=2" rel="nofollow noopener noreferrer"><span style="font-weight: bold;">bold link</span></a> plain</pre>"#)
        let two = ZmxHTML(parsing: Self.fragment(#"<a href="https://first.com">first</a> <a href="https://second.com">second</a>"#))
        XCTAssertEqual(two.html, "<pre>\n"
            + #"<a href="https://first.com" rel="nofollow noopener noreferrer">first</a> "#
            + #"<a href="https://second.com" rel="nofollow noopener noreferrer">second</a></pre>"#)
    }

    func testSeveralPagesOfScrollbackAreOneLog() {
        // Each page of zmx's scrollback is its own wrapper; the next one starts with its newline.
        let z = ZmxHTML(parsing: Self.fragment("one") + Self.wrap + "\ntwo</div>")
        XCTAssertEqual(z.html, "<pre>\none\ntwo</pre>")
        XCTAssertEqual(z.text, "one\ntwo")
    }

    func testTheLogsTextIsThePlainTextLog() {
        let f = Self.fragment(#"a &lt;b&gt; <div style="display: inline;color: var(--vt-palette-1);">red</div> <a href="javascript:x">c</a> &#233;"#)
        XCTAssertEqual(ZmxHTML(parsing: f).text + "\n", HistoryText.plain(fromHTML: f))
    }

    // MARK: Links a build can print (OSC 8)

    /// Every spelling of a script link from the issue, and then some. Each must lose its link
    /// and keep its text.
    static let refusedTargets = [
        "javascript:alert(document.domain)",
        "JaVaScRiPt:alert(document.domain)",
        "JAVASCRIPT:alert(1)",
        " javascript:alert(1)",
        "\t\n javascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "javas\rcript:alert(1)",
        "\u{1}\u{1F}javascript:alert(1)",
        "&#106;avascript:alert(1)",
        "&#x6A;&#x61;vascript:alert(1)",
        "&#0000106;avascript:alert(1)",
        "javascript&#58;alert(1)",
        "javascript&colon;alert(1)",
        "jav&#x09;ascript:alert(1)",
        "&#32;javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;",
        "DATA:text/html,x",
        "vbscript:msgbox(1)",
        "VbScRiPt:msgbox(1)",
        "file:///etc/passwd",
        "ftp://example.com/",
        "//evil.example/x",
        "relative/path.html",
        "#top",
        "",
        "https",
        ":https://x",
        "1https://x",
        "http\u{2028}s://x",
    ]

    func testScriptAndOtherTargetsLoseTheLinkButKeepTheText() {
        for target in Self.refusedTargets {
            let z = ZmxHTML(parsing: Self.link(target))
            XCTAssertEqual(z.runs, [ZmxHTML.Run("before click for details after")], target)
            XCTAssertEqual(z.html, "<pre>\nbefore click for details after</pre>", target)
        }
    }

    func testHTTPHTTPSAndMailtoAreKeptAfterTheBrowsersNormalisation() {
        let kept: [(String, String)] = [
            ("https://example.com/build/42", "https://example.com/build/42"),
            ("http://example.com", "http://example.com"),
            ("HTTPS://EXAMPLE.COM/A", "https://EXAMPLE.COM/A"),
            ("  https://example.com\t", "https://example.com"),
            ("ht\ttps://exa\nmple.com", "https://example.com"),
            ("&#104;ttps://example.com", "https://example.com"),
            ("mailto:ci@example.com?subject=build failed", "mailto:ci@example.com?subject=build%20failed"),
            ("https://example.com/\u{1}x\u{7F}", "https://example.com/%01x%7F"),
        ]
        for (target, normalised) in kept {
            XCTAssertEqual(LinkTarget.safe(target.replacingOccurrences(of: "&#104;", with: "h")), normalised, target)
            let z = ZmxHTML(parsing: Self.link(target))
            XCTAssertEqual(z.html, "<pre>\nbefore <a href=\"\(HTML.escape(normalised))\" rel=\"nofollow noopener noreferrer\">"
                + "click for details</a> after</pre>", target)
        }
    }

    func testAQuoteInTheTargetStaysInsideTheAttribute() {
        for target in [#"https://x.example/&quot;onmouseover=&quot;alert(1)"#, "https://x.example/&#39; onmouseover=&#39;alert(1)",
                       #"https://x.example/"><script>alert(1)</script>"#] {
            let html = ZmxHTML(parsing: Self.link(target)).html
            Self.assertOnlyPicisMarkup(html, target)
            XCTAssertEqual(Self.hrefs(html).count, 1, html)
            XCTAssertTrue(Self.hrefs(html)[0].hasPrefix("https://x.example/"), html)
        }
    }

    // MARK: Anything else

    func testUnknownMarkupIsShownAsText() {
        let z = ZmxHTML(parsing: Self.fragment(
            #"<script>alert(1)</script><img src=x onerror="alert(1)"><!-- c --><iframe src="javascript:alert(1)"></iframe><b>b</b><div"#))
        XCTAssertEqual(z.text, #"<script>alert(1)</script><img src=x onerror="alert(1)"><!-- c --><iframe src="javascript:alert(1)"></iframe><b>b</b><div</div>"#)
        XCTAssertEqual(ZmxHTML(parsing: "<div style=\"display: inline").text, "<div style=\"display: inline", "an unfinished tag")
        Self.assertOnlyPicisMarkup(z.html, "unknown markup")
        XCTAssertTrue(z.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"), z.html)
    }

    func testOnlyKnownAttributesAndDeclarationsAreKept() {
        let z = ZmxHTML(parsing: Self.fragment(
            #"<div onmouseover="alert(1)" class="x" style="display: inline;color: red;background-color: url(javascript:alert(1));"#
                + #"background-image: url(https://evil.example/);font-weight: bold;color: expression(alert(1))">a</div>"#
                + #"<div style="display: inline;color: var(--vt-palette-256);background-color: rgb(1, 2, 300);font-style: oblique">b</div>"#
                + #"<a href="https://ok.example" onclick="alert(1)" target="_top" rel="opener">c</a>"#
                + #"<span style="color: var(--vt-palette-2)" id="s">d</span>"#))
        var bold = TerminalStyle()
        bold.bold = true
        var green = TerminalStyle()
        green.foreground = .palette(2)
        XCTAssertEqual(z.runs, [.init("a", style: bold), .init("b"), .init("c", link: "https://ok.example"), .init("d", style: green)])
        Self.assertOnlyPicisMarkup(z.html, "attributes")
    }

    func testThePaletteKeepsOnlyColourEntriesAndOnlyTheChangedOnesReachThePage() {
        let palette = "--vt-palette-0: #1d1f21;--vt-palette-1: #ff0000;--vt-palette-2: url(x);--vt-palette-300: #000000;"
            + "--vt-palette-3: #abc;} body{background:url(https://evil.example/x.png)} :root{--vt-palette-4: #81A2BE;"
        let z = ZmxHTML(parsing: Self.fragment("x", palette: palette))
        XCTAssertEqual(z.palette.entries, [0: .init(0x1d, 0x1f, 0x21), 1: .init(0xff, 0, 0), 3: .init(0xaa, 0xbb, 0xcc), 4: .init(0x81, 0xa2, 0xbe)])
        XCTAssertEqual(z.html, #"<pre style="--vt-palette-1: #ff0000;--vt-palette-3: #aabbcc;">"# + "\nx</pre>")
        // The default palette lives in the stylesheet, for the .log box the <pre> is in.
        XCTAssertTrue(Styles.css.contains("--vt-palette-0: #1d1f21;"))
        XCTAssertTrue(Styles.css.contains("--vt-palette-16: #000000;"))
        XCTAssertTrue(Styles.css.contains("--vt-palette-231: #ffffff;"))
        XCTAssertTrue(Styles.css.contains("--vt-palette-255: #eeeeee;"))
        XCTAssertEqual(TerminalPalette.defaults.count, 256)
    }

    func testControlCharactersAreNotWrittenToThePage() {
        let z = ZmxHTML(parsing: Self.fragment("a&#1;b\u{7}c&#x9b;d\te"))
        XCTAssertEqual(z.html, "<pre>\na\u{FFFD}b\u{FFFD}c\u{FFFD}d\te</pre>")
    }

    func testMalformedInputNeverFailsAndNeverYieldsForeignMarkup() {
        var rng = SeededRandom(seed: 15)
        let pieces = [
            "<", ">", "</", "<a", " href=", "\"", "'", "javascript:", "https://x", "<div style=\"", "display: inline;",
            "color: var(--vt-palette-1);", "</div>", "</a>", "<a href=\"", "&", "&#", "&#x6a;", ";", "<style>", "</style>",
            "<script>", "onerror=", "=", " ", "\n", "<!--", "-->", "<br>", "<span", "é", "\u{0}",
        ]
        for _ in 0..<2000 {
            var f = ""
            for _ in 0..<Int(rng.next() % 24) { f += pieces[Int(rng.next() % UInt64(pieces.count))] }
            let html = ZmxHTML(parsing: f).html
            Self.assertOnlyPicisMarkup(html, f)
        }
    }

    func testGoldenLog() {
        let f = Self.fragment(
            "$ make test\n"
                + #"<div style="display: inline;color: var(--vt-palette-2);font-weight: bold;">ok</div> 12 tests "#
                + #"<div style="display: inline;color: rgb(255, 135, 0);text-decoration-line: underline;text-decoration-style: wavy;">warn</div>"#
                + "\nsee <a href=\"https://ci.example/42?a=1&amp;b=2\">the report</a>, "
                + "<a href=\"javascript:alert(document.domain)\">click for details</a>\n&lt;done&gt; &#10003;",
            palette: "--vt-palette-0: #1d1f21;--vt-palette-2: #00ff00;")
        Support.assertGolden(ZmxHTML(parsing: f).html + "\n", "zmx-log.html.part")
    }

    // MARK: Checks

    static func hrefs(_ html: String) -> [String] { PagesTests.matches(html, #"href="([^"]*)""#) }

    /// Fails unless every tag in `html` is pici's: `<pre>` (palette style), `<span style>`,
    /// `<a href rel>` with an allowed target, and their end tags.
    static func assertOnlyPicisMarkup(_ html: String, _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        for tag in PagesTests.matches(html, #"(<[^>]*>?)"#) {
            let ok = tag.range(of: #"^(</?pre>|<pre style="(--vt-palette-[0-9]+: #[0-9a-f]{6};)+">|</span>|</a>|<span style="[a-z0-9 ();:%.,#()-]+">|<a href="[^"<>]*" rel="nofollow noopener noreferrer">)$"#,
                                 options: .regularExpression) != nil
            XCTAssertTrue(ok, "not pici's markup: \(tag) in \(label.debugDescription)", file: file, line: line)
            if tag.hasPrefix("<span") { XCTAssertFalse(tag.contains("url("), tag, file: file, line: line) }
        }
        for href in hrefs(html) {
            let decoded = href.replacingOccurrences(of: "&amp;", with: "&")
            XCTAssertTrue(["http:", "https:", "mailto:"].contains { decoded.hasPrefix($0) }, "href \(href)", file: file, line: line)
            XCTAssertFalse(href.contains { $0.asciiValue.map { $0 < 0x21 } ?? false }, "href \(href.debugDescription)", file: file, line: line)
        }
        XCTAssertFalse(html.contains("<script"), label, file: file, line: line)
        // Text is escaped, so a bare < or > is only ever part of a tag.
        XCTAssertEqual(html.filter { $0 == "<" }.count, html.filter { $0 == ">" }.count, html, file: file, line: line)
    }
}
