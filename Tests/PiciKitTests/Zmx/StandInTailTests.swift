import Foundation
import XCTest

/// `zmx tail NAME` as the real zmx 0.7 writes it: each chunk read from the PTY stripped by
/// ghostty's parser on its own (src/util.zig `stripAnsi`, src/terminal/parse_table.zig at the
/// commit zmx pins). Runs on the stand-in, and on the real zmx too when one is built
/// (`$PICI_REAL_ZMX`, else /opt/zmx-real/bin/zmx), so a difference shows up here.
final class StandInTailTests: XCTestCase {
    /// What `zmx tail` gave for the session's output (after it connected), CR LF as sent.
    func tail(_ zmx: String, _ script: String) throws -> String {
        let world = Support.ZmxWorld(self)
        var env = world.env
        env["PATH"] = (zmx as NSString).deletingLastPathComponent + ":" + (env["PATH"] ?? "")
        let dir = Support.tempDir(self, "ws")
        // The output comes once the tail is connected (counted as a client).
        try ("until [ -e '\(dir)/go' ] || [ ! -d '\(dir)' ]; do sleep 0.1; done\n" + script).write(toFile: dir + "/out.sh", atomically: true, encoding: .utf8)
        let started = Support.sh("""
            zmx run tail-check -d bash '\(dir)/out.sh' >/dev/null || exit
            timeout 20 zmx tail tail-check >'\(dir)/out' & tail=$!
            for _ in $(seq 1 200); do zmx list | grep -q 'name=tail-check.*clients=1' && break; sleep 0.1; done
            touch '\(dir)/go'
            wait $tail; rc=$?; cat '\(dir)/out'; exit $rc
            """, env: env)
        Support.sh("zmx kill tail-check >/dev/null 2>&1", env: env)
        XCTAssertEqual(started.status, 0, started.stderr)
        return started.stdout
    }

    /// A byte of UTF-8 that opens an OSC string (0x9D, in `❤` E2 9D A4) eats every byte up to
    /// an ESC, line ends and other UTF-8 included (0x9C in `本` does not end it): the line's
    /// text ends there and is glued to the text after the next colour code. One that opens a
    /// DCS or SOS string (0x90, 0x98) eats ASCII only, up to the next byte 0x80-0x9F. Every
    /// other byte above 0x7F is dropped.
    func testAStringOpeningByteEatsWhatTheRealTailEats() throws {
        let script = #"printf '11 \xc3\xa9 \xe2\x9c\x93 \xe2\x9d\xa4 \xe6\x97\xa5\xe6\x9c\xac ok\nline 12\n\033[31m14 red\033[0m\nline 15\n'; printf 'a\x90bc\x80de\x98fg\x9chi\x9bjk\n'"#
        for (label, zmx) in StandInHTMLTests.zmxes {
            let out = try tail(zmx, script)
            if label == "stand-in" {
                XCTAssertTrue(out.contains("\r\n11   14 red\r\nline 15\r\nadehik\r\n") || out.hasPrefix("11   14 red\r\nline 15\r\nadehik\r\n"), out.debugDescription)
                continue
            }
            // The real zmx's reads may also end inside the string (then the next read's text
            // follows: `11   line 12`, `11   ne 12`) or inside the second line.
            let glued = out.components(separatedBy: "\r\n").map { $0.hasPrefix("\r") ? String($0.dropFirst()) : $0 }.first { $0.hasPrefix("11   ") }.map { String($0.dropFirst(5)) }
            XCTAssertTrue(glued.map { $0 == "14 red" || (!$0.isEmpty && "line 12".hasSuffix($0)) } == true, "\(label): \(out.debugDescription)")
            XCTAssertTrue(out.contains("\r\nline 15\r\n") && !out.contains("ok"), "\(label): \(out.debugDescription)")
        }
    }
}
