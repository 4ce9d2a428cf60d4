import Foundation
import PiciKit
import XCTest

/// `zmx history NAME --html` as the real zmx 0.7 writes it (ghostty's HTML formatter,
/// src/terminal/formatter.zig and style.zig at the commit zmx pins): the stand-in must write
/// the same, so that pici's tests see the styles and links production sees. Each check runs on
/// the stand-in, and on the real zmx too when one is built (`$PICI_REAL_ZMX`, else
/// /opt/zmx-real/bin/zmx), so a difference between the two shows up here.
final class StandInHTMLTests: XCTestCase {
    /// What the session prints: colours of every kind, text styles, OSC 8 links, OSC titles.
    static let script = #"""
        esc=$'\033'
        printf '%s\n' "${esc}[1;31mbold red${esc}[0m ${esc}[92mbright${esc}[0m ${esc}[38;5;208morange${esc}[0m ${esc}[48;5;22mbg256${esc}[0m"
        printf '%s\n' "${esc}[38;2;10;20;30mfg24${esc}[0m ${esc}[48;2;200;100;0mbg24${esc}[0m ${esc}[38:2::1:2:3mcolon${esc}[0m"
        printf '%s\n' "${esc}[3;4mital-under${esc}[0m ${esc}[4:3mcurly${esc}[24m ${esc}[9;53mlines${esc}[0m ${esc}[2mfaint${esc}[22m ${esc}[7minverse${esc}[27m done"
        printf '%s\n' "${esc}]8;;https://example.com/?a=1&b=2${esc}\\link ${esc}[32mgreen${esc}[0m${esc}]8;;${esc}\\ after"
        printf '%s\n' "${esc}]8;id=x;javascript:alert(\"x\")${esc}\\script link${esc}]8;;${esc}\\"
        printf '%s\n' "${esc}]0;<script>alert(1)</script>"$'\a'"title gone${esc}]2;<b>t</b>${esc}\\"
        printf 'caf\303\251 <&> "q" \047s\047\n'
        printf '%s\n' "${esc}[41mred bg" "still red bg${esc}[0m"
        """#

    static var zmxes: [(label: String, path: String)] {
        var all = [("stand-in", Support.standInDir + "/zmx")]
        let real = ProcessInfo.processInfo.environment["PICI_REAL_ZMX"] ?? "/opt/zmx-real/bin/zmx"
        if FileManager.default.isExecutableFile(atPath: real) { all.append(("real zmx", real)) }
        return all
    }

    /// The `--html` history of a session that ran `script` with `zmx`.
    func history(_ zmx: String, _ script: String) throws -> String {
        let world = Support.ZmxWorld(self)
        var env = world.env
        env["PATH"] = (zmx as NSString).deletingLastPathComponent + ":" + (env["PATH"] ?? "")
        let dir = Support.tempDir(self, "ws")
        try script.write(toFile: dir + "/colours.sh", atomically: true, encoding: .utf8)
        let started = Support.sh("zmx run html-check -d bash '\(dir)/colours.sh'", env: env)
        XCTAssertEqual(started.status, 0, started.stderr)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, !Support.sh("zmx list", env: env).stdout.contains("\tended=") { usleep(100_000) }
        let out = Support.sh("zmx history html-check --html", env: env)
        Support.sh("zmx kill html-check >/dev/null 2>&1", env: env)
        XCTAssertEqual(out.status, 0, out.stderr)
        return out.stdout
    }

    func testHistoryHTMLHasGhosttysShape() throws {
        for (label, zmx) in StandInHTMLTests.zmxes {
            let html = try history(zmx, "echo plain")
            XCTAssertTrue(html.hasPrefix("<style>:root{--vt-palette-0: #1d1f21;--vt-palette-1: #cc6666;"), label)
            // The 6x6x6 cube and the grey ramp, as ghostty computes them.
            for entry in ["--vt-palette-15: #eaeaea;", "--vt-palette-16: #000000;", "--vt-palette-67: #5f87af;",
                          "--vt-palette-231: #ffffff;", "--vt-palette-232: #080808;"] {
                XCTAssertTrue(html.contains(entry), "\(label): \(entry)")
            }
            XCTAssertTrue(html.contains("--vt-palette-255: #eeeeee;}</style><div style=\"font-family: monospace; white-space: pre;\">"), label)
            XCTAssertTrue(html.contains("\nplain\n"), label)
            XCTAssertTrue(html.hasSuffix("</div>"), "\(label): no newline after the fragment")
        }
    }

    func testColoursStylesLinksAndTitlesAsZmxRendersThem() throws {
        let expected = [
            // 16 colours (bright ones are palette 8-15), bold, 256 colours.
            #"<div style="display: inline;color: var(--vt-palette-1);font-weight: bold;">bold red</div> "#
                + #"<div style="display: inline;color: var(--vt-palette-10);">bright</div> "#
                + #"<div style="display: inline;color: var(--vt-palette-208);">orange</div> "#
                + #"<div style="display: inline;background-color: var(--vt-palette-22);">bg256</div>"# + "\n",
            // 24-bit colours, with ; and with : separators.
            "\n" + #"<div style="display: inline;color: rgb(10, 20, 30);">fg24</div> "#
                + #"<div style="display: inline;background-color: rgb(200, 100, 0);">bg24</div> "#
                + #"<div style="display: inline;color: rgb(1, 2, 3);">colon</div>"# + "\n",
            // Italic, underline styles, strike-through and overline, faint, inverse.
            "\n" + #"<div style="display: inline;text-decoration-line: underline;text-decoration-style: solid;font-style: italic;">ital-under</div> "#
                + #"<div style="display: inline;text-decoration-line: underline;text-decoration-style: wavy;">curly</div> "#
                + #"<div style="display: inline;text-decoration-line: line-through overline;">lines</div> "#
                + #"<div style="display: inline;opacity: 0.5;">faint</div> "#
                + #"<div style="display: inline;filter: invert(100%);">inverse</div> done"# + "\n",
            // OSC 8: the target escaped as an attribute, the style div inside the link.
            "\n" + #"<a href="https://example.com/?a=1&amp;b=2">link <div style="display: inline;color: var(--vt-palette-2);">green</div></a> after"# + "\n",
            // Any target at all: zmx does not judge it (pici does).
            "\n" + #"<a href="javascript:alert(&quot;x&quot;)">script link"# + "\n</a>",
            // OSC titles show nothing.
            "title gone\n",
            // Non-ASCII as numeric references, the five HTML characters escaped.
            "\ncaf&#233; &lt;&amp;&gt; &quot;q&quot; &#39;s&#39;\n",
            // A style is closed before each newline and opened again after it.
            "\n" + #"<div style="display: inline;background-color: var(--vt-palette-1);">red bg</div>"# + "\n"
                + #"<div style="display: inline;background-color: var(--vt-palette-1);">still red bg</div>"# + "\n",
        ]
        for (label, zmx) in StandInHTMLTests.zmxes {
            let html = try history(zmx, StandInHTMLTests.script)
            for piece in expected { XCTAssertTrue(html.contains(piece), "\(label): \(piece.debugDescription) not in\n\(html.suffix(2000))") }
            XCTAssertFalse(html.contains("&lt;script&gt;"), "\(label): a title is not shown")
            XCTAssertFalse(html.contains("&lt;b&gt;t"), "\(label): a title is not shown")
        }
    }

    func testPlainAndVTHistoriesAreUnchanged() throws {
        for (label, zmx) in StandInHTMLTests.zmxes where label == "stand-in" {
            let world = Support.ZmxWorld(self)
            let dir = Support.tempDir(self, "ws")
            try StandInHTMLTests.script.write(toFile: dir + "/colours.sh", atomically: true, encoding: .utf8)
            world.sh("'\(zmx)' run plain-check -d bash '\(dir)/colours.sh'")
            world.waitUntilEnded()
            let plain = world.sh("'\(zmx)' history plain-check").stdout
            XCTAssertTrue(plain.contains("\nbold red bright orange bg256\n"), plain)
            XCTAssertTrue(plain.contains("\nlink green after\nscript link\ntitle gone\ncafé <&> \"q\" 's'\n"), plain)
            let vt = world.sh("'\(zmx)' history plain-check --vt").stdout
            XCTAssertTrue(vt.contains("\u{1B}[1;31mbold red\u{1B}[0m"), vt)
        }
    }
    /// Plain `history` drops every row's trailing blanks, a wrapped row's too (so a line
    /// wrapped at a blank is a row of 119 columns and the rest); `--html` and `--vt` keep
    /// them. Measured on the real zmx 0.7 (2026-12-02); pici reads the text of `--html`.
    func testPlainHistoryDropsEachRowsTrailingBlanksTheOthersKeepThem() throws {
        for (label, zmx) in StandInHTMLTests.zmxes {
            let world = Support.ZmxWorld(self)
            var env = world.env
            env["PATH"] = (zmx as NSString).deletingLastPathComponent + ":" + (env["PATH"] ?? "")
            let dir = Support.tempDir(self, "ws")
            try "printf '%0119d %s\\n' 0 after-blank; printf 'blanks   \\n'\n".write(toFile: dir + "/blanks.sh", atomically: true, encoding: .utf8)
            XCTAssertEqual(Support.sh("zmx run blank-check -d bash '\(dir)/blanks.sh'", env: env).status, 0, label)
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline, !Support.sh("zmx list", env: env).stdout.contains("\tended=") { usleep(100_000) }
            let zeros = String(repeating: "0", count: 119)
            let plain = Support.sh("zmx history blank-check", env: env).stdout
            XCTAssertTrue(plain.contains("\n\(zeros)\nafter-blank\nblanks\n"), "\(label): \(plain)")
            let vt = Support.sh("zmx history blank-check --vt", env: env).stdout
            XCTAssertTrue(vt.contains("\n\(zeros) \r\nafter-blank\r\nblanks   \r\n") || vt.contains("\n\(zeros) \nafter-blank\nblanks   \n"), "\(label): \(vt)")
            let html = Support.sh("zmx history blank-check --html", env: env).stdout
            XCTAssertTrue(html.contains("\n\(zeros) \nafter-blank\nblanks   \n"), "\(label): \(html.suffix(300))")
            let text = HistoryText.plain(fromHTML: html)
            XCTAssertEqual(LogCleaner.unwrap(LogCleaner.rows(text)).filter { $0.hasSuffix("after-blank") || $0.hasPrefix("blanks") },
                           ["\(zeros) after-blank", "blanks   "], label)
            Support.sh("zmx kill blank-check >/dev/null 2>&1", env: env)
        }
    }
}
