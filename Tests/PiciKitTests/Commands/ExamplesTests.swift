import Foundation
import XCTest

/// What ships beside the commands: `make demo`'s script and the examples.
final class ExamplesTests: XCTestCase {
    /// `make demo` with a zmx on PATH (the stand-in, as if it were the person's real one) runs
    /// in a zmx world of its own: the person's own `ci.` sessions are neither published into
    /// the demo's pages nor killed, and the demo's sessions and ZMX_DIR are gone afterwards.
    func testDemoUsesItsOwnZmxWorldAndCleansUp() throws {
        let own = Support.ZmxWorld(self)
        XCTAssertEqual(own.sh("zmx run ci.mine.12345678.runner -d sleep 60").status, 0)
        let tmp = Support.tempDir(self, "demo-tmp")
        let art = Support.tempDir(self, "demo") + "/art"
        let ran = own.sh("TMPDIR='\(tmp)' PICI_DEMO_DIR='\(art)' '\(Support.root.path)/scripts/demo.sh'", timeout: 120)
        XCTAssertEqual(ran.status, 0, ran.stdout + ran.stderr)
        XCTAssertTrue(ran.stdout.contains("demo: using the real zmx at \(Support.standInDir)/zmx"), ran.stdout)
        XCTAssertTrue(ran.stdout.contains("job finished: success"), ran.stdout)
        XCTAssertTrue(ran.stdout.contains(#""name":"demo""#), "the demo job's status line: " + ran.stdout)
        XCTAssertFalse(ran.stdout.contains("mine"), ran.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: art + "/mine"), "the person's job was staged into the demo")
        XCTAssertTrue(FileManager.default.fileExists(atPath: art + "/index.html"))
        // The person's session runs on; the demo's world is gone.
        let list = own.sh("zmx list").stdout
        XCTAssertTrue(list.contains("name=ci.mine.12345678.runner\t") && !list.contains("ended="), list)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp).filter { $0.hasPrefix("pici-demo-zmx") }, [])
        XCTAssertFalse(ran.stderr.contains("no monitor has made a pass"), ran.stderr)
    }

    /// The service finds the user's zmx sessions through what systemd sets for a user service,
    /// not through a runtime dir written in for one uid.
    func testSystemdExampleHardCodesNoRuntimeDir() throws {
        let unit = try String(contentsOfFile: Support.root.path + "/examples/systemd/pici-monitor.service", encoding: .utf8)
        XCTAssertFalse(unit.contains("/run/user/"), unit)
        XCTAssertFalse(unit.contains("XDG_RUNTIME_DIR="), unit)
        XCTAssertTrue(unit.contains("WantedBy=default.target"), "a user service")
        XCTAssertTrue(unit.contains("PICI_ARTIFACT_DIR="), "pici-run is told the same dir the same way")
    }
}
